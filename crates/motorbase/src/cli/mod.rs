//! Commands, mirroring PocketBase's: `serve`, `superuser upsert|delete`, `--version`.

mod serve;
mod superuser;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "motorbase",
    version,
    about = "A PocketBase-compatible backend in one binary"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Starts the web server (API and dashboard).
    Serve {
        /// Address to listen on (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:8090")]
        http: String,
        /// The data folder.
        #[arg(long, default_value = "./mb_data")]
        dir: PathBuf,
        /// Lets OAuth2 sign-ups download avatars from loopback and private network addresses,
        /// refused by default as in PocketBase (for tests and closed networks).
        #[arg(long)]
        oauth2_avatar_private_hosts: bool,
    },
    /// Manages superusers.
    Superuser {
        #[command(subcommand)]
        action: SuperuserAction,
    },
}

#[derive(Subcommand)]
enum SuperuserAction {
    /// Creates a superuser, or sets the password of an existing one.
    Upsert {
        email: String,
        password: String,
        #[arg(long, default_value = "./mb_data")]
        dir: PathBuf,
    },
    /// Deletes a superuser.
    Delete {
        email: String,
        #[arg(long, default_value = "./mb_data")]
        dir: PathBuf,
    },
}

pub async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve {
            http,
            dir,
            oauth2_avatar_private_hosts,
        } => serve::run(&http, &dir, oauth2_avatar_private_hosts).await,
        Command::Superuser { action } => match action {
            SuperuserAction::Upsert {
                email,
                password,
                dir,
            } => superuser::upsert(&dir, &email, &password).await,
            SuperuserAction::Delete { email, dir } => superuser::delete(&dir, &email).await,
        },
    }
}
