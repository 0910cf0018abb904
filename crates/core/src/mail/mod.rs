//! Outgoing mail. PocketBase's `smtp` and `meta` settings drive a lettre SMTP transport; the
//! auth flows render their messages from the collection's templates ([`template`]).

pub mod template;

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::Value as Json;
use thiserror::Error;

/// How long one delivery may take before it is given up (an unreachable server must not hold a
/// request or a background task forever).
const SEND_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Error)]
pub enum MailError {
    /// No SMTP server is configured, so nothing can be delivered.
    #[error("SMTP is not enabled in the settings")]
    Disabled,
    #[error("invalid mail address {0:?}")]
    Address(String),
    #[error("cannot build the message: {0}")]
    Build(String),
    /// The server refused or could not be reached. lettre's messages carry no credentials.
    #[error("SMTP delivery failed: {0}")]
    Transport(String),
}

/// One message to one recipient, HTML with a plain-text alternative derived from it.
#[derive(Debug, Clone)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub html: String,
}

fn text<'a>(settings: &'a Json, section: &str, key: &str) -> &'a str {
    settings
        .get(section)
        .and_then(|s| s.get(key))
        .and_then(Json::as_str)
        .unwrap_or("")
}

/// The sender from `meta.senderName` / `meta.senderAddress`.
fn sender(settings: &Json) -> Result<Mailbox, MailError> {
    let address = text(settings, "meta", "senderAddress");
    let parsed = address
        .parse()
        .map_err(|_| MailError::Address(address.to_string()))?;
    let name = text(settings, "meta", "senderName");
    Ok(Mailbox::new(
        (!name.is_empty()).then(|| name.to_string()),
        parsed,
    ))
}

fn transport(settings: &Json) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let smtp = settings.get("smtp").cloned().unwrap_or(Json::Null);
    if smtp.get("enabled").and_then(Json::as_bool) != Some(true) {
        return Err(MailError::Disabled);
    }
    let host = text(settings, "smtp", "host").to_string();
    let port = smtp.get("port").and_then(Json::as_u64).unwrap_or(587) as u16;
    let params = TlsParameters::new(host.clone()).map_err(|e| MailError::Build(e.to_string()))?;
    // As PocketBase: `tls` means implicit TLS; otherwise STARTTLS when the server offers it.
    let tls = if smtp.get("tls").and_then(Json::as_bool) == Some(true) {
        Tls::Wrapper(params)
    } else {
        Tls::Opportunistic(params)
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .tls(tls)
        .timeout(Some(SEND_TIMEOUT));
    let local_name = text(settings, "smtp", "localName");
    if !local_name.is_empty() {
        builder = builder.hello_name(ClientId::Domain(local_name.to_string()));
    }
    let username = text(settings, "smtp", "username");
    if !username.is_empty() {
        let mechanism = match text(settings, "smtp", "authMethod") {
            "LOGIN" => Mechanism::Login,
            _ => Mechanism::Plain,
        };
        builder = builder
            .credentials(Credentials::new(
                username.to_string(),
                text(settings, "smtp", "password").to_string(),
            ))
            .authentication(vec![mechanism]);
    }
    Ok(builder.build())
}

/// Delivers `msg` through the SMTP server the settings name.
pub async fn send(settings: &Json, msg: Message) -> Result<(), MailError> {
    let transport = transport(settings)?;
    let to: Mailbox = msg
        .to
        .parse()
        .map_err(|_| MailError::Address(msg.to.clone()))?;
    // Quoted-printable keeps long tokens intact for any reader, and is what most clients expect.
    let part = |kind: ContentType, body: String| {
        SinglePart::builder()
            .header(kind)
            .header(ContentTransferEncoding::QuotedPrintable)
            .body(body)
    };
    let email = lettre::Message::builder()
        .from(sender(settings)?)
        .to(to)
        .subject(msg.subject)
        .multipart(
            MultiPart::alternative()
                .singlepart(part(
                    ContentType::TEXT_PLAIN,
                    template::html_to_text(&msg.html),
                ))
                .singlepart(part(ContentType::TEXT_HTML, msg.html)),
        )
        .map_err(|e| MailError::Build(e.to_string()))?;
    transport
        .send(email)
        .await
        .map(|_| ())
        .map_err(|e| MailError::Transport(e.to_string()))
}
