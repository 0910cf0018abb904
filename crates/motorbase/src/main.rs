//! The `motorbase` binary: PocketBase's command line over the Motorbase server.
#![deny(unsafe_code)]

mod cli;
mod memory;

use clap::Parser;

fn main() -> std::process::ExitCode {
    memory::return_freed_memory_promptly();
    // With huge pages the allocator's arenas grow resident memory 2 MiB at a time: thousands of
    // idle realtime connections then cost ~60% more memory each (measured: 32 KB vs 20 KB per
    // SSE subscriber). Small pages keep memory proportional to what is in use.
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        eprintln!("warning: cannot turn transparent huge pages off: {e}");
    }
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    // Database reads run on the async workers (see `SqliteStore::read`): one worker per core
    // plus one per read connection, so that reads in progress never leave the other requests
    // without a worker.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores + motorbase_core::READ_CONNECTIONS)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
