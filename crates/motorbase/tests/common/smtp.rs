//! An SMTP sink for the mail tests: a loopback server that speaks enough SMTP to accept
//! messages from the server under test and keeps them for the test to read. No TLS, no auth
//! (unless asked for: then it accepts any `AUTH PLAIN`/`AUTH LOGIN`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One delivered message: envelope and decoded content.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The raw DATA, headers included.
    pub raw: String,
    /// The headers and every part's body, with quoted-printable and base64 undone.
    pub decoded: String,
}

impl Mail {
    /// The `Subject:` header.
    pub fn subject(&self) -> String {
        self.raw
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or("")
            .to_string()
    }

    /// The text after `marker` (`/confirm-verification/`), up to the next character that cannot
    /// be in a token.
    pub fn after(&self, marker: &str) -> Option<String> {
        let start = self.decoded.find(marker)? + marker.len();
        let token: String = self.decoded[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
            .collect();
        (!token.is_empty()).then_some(token)
    }

    /// The first run of `len` digits inside `<strong>` (how our OTP template shows the code).
    pub fn code(&self) -> Option<String> {
        let start = self.decoded.find("<strong>")? + "<strong>".len();
        let code: String = self.decoded[start..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        (!code.is_empty()).then_some(code)
    }
}

pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    arrived: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP sink");
        let port = listener.local_addr().expect("sink address").port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(Notify::new());
        let (m, a) = (mails.clone(), arrived.clone());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (m, a) = (m.clone(), a.clone());
                tokio::spawn(async move {
                    let _ = session(socket, m, a).await;
                });
            }
        });
        SmtpSink {
            port,
            mails,
            arrived,
            task,
        }
    }

    /// Every message so far.
    pub fn all(&self) -> Vec<Mail> {
        self.mails.lock().expect("sink lock").clone()
    }

    /// Messages to `address` so far.
    pub fn to(&self, address: &str) -> Vec<Mail> {
        self.all()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// Waits (up to 10 s) until `address` has received `count` messages; returns the last one.
    pub async fn wait_for(&self, address: &str, count: usize) -> Mail {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.arrived.notified();
            let got = self.to(address);
            if got.len() >= count {
                return got[count - 1].clone();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "no mail #{count} to {address} within 10s; got {} in all: {:?}",
                    got.len(),
                    self.all()
                        .iter()
                        .map(|m| (&m.to, m.subject()))
                        .collect::<Vec<_>>()
                );
            }
        }
    }

    /// Asserts that nothing more reaches `address` within `wait`.
    pub async fn assert_quiet(&self, address: &str, count: usize, wait: Duration) {
        tokio::time::sleep(wait).await;
        let got = self.to(address);
        assert_eq!(
            got.len(),
            count,
            "expected {count} mails to {address}, got {:?}",
            got.iter().map(|m| m.subject()).collect::<Vec<_>>()
        );
    }
}

async fn session(
    socket: tokio::net::TcpStream,
    mails: Arc<Mutex<Vec<Mail>>>,
    arrived: Arc<Notify>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("HELO") {
            b"250 sink.test\r\n"
        } else if upper.starts_with("AUTH PLAIN") {
            if upper.trim() == "AUTH PLAIN" {
                write.write_all(b"334 \r\n").await?;
                line.clear();
                lines.read_line(&mut line).await?;
            }
            b"235 2.7.0 Authentication successful\r\n"
        } else if upper.starts_with("AUTH LOGIN") {
            write.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
            line.clear();
            lines.read_line(&mut line).await?;
            write.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
            line.clear();
            lines.read_line(&mut line).await?;
            b"235 2.7.0 Authentication successful\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = angle(&cmd);
            to.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(angle(&cmd));
            b"250 OK\r\n"
        } else if upper == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut raw = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                // Undo dot-stuffing.
                let l = line.strip_prefix('.').unwrap_or(&line);
                raw.push_str(l);
            }
            let mail = Mail {
                from: from.clone(),
                to: to.clone(),
                decoded: decode(&raw),
                raw,
            };
            mails.lock().expect("sink lock").push(mail);
            arrived.notify_waiters();
            b"250 OK queued\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else if upper.starts_with("RSET") || upper.starts_with("NOOP") {
            b"250 OK\r\n"
        } else {
            b"502 Command not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}

fn angle(cmd: &str) -> String {
    cmd.split_once('<')
        .and_then(|(_, r)| r.split_once('>'))
        .map(|(a, _)| a.to_string())
        .unwrap_or_default()
}

/// The message with every part's transfer encoding undone (enough MIME for lettre's output).
fn decode(raw: &str) -> String {
    let mut out = String::new();
    let mut encoding = String::new();
    let mut body = String::new();
    let mut in_headers = true;
    let flush = |out: &mut String, body: &mut String, encoding: &str| {
        match encoding {
            "quoted-printable" => out.push_str(&quoted_printable(body)),
            "base64" => {
                let joined: String = body.split_whitespace().collect();
                out.push_str(&String::from_utf8_lossy(&base64(&joined)));
            }
            _ => out.push_str(body),
        }
        body.clear();
    };
    for line in raw.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed.starts_with("--") && !trimmed.contains(' ') && trimmed.len() > 2 {
            flush(&mut out, &mut body, &encoding);
            out.push_str(line);
            in_headers = true;
            encoding.clear();
            continue;
        }
        if in_headers {
            out.push_str(line);
            if let Some(v) = trimmed
                .to_ascii_lowercase()
                .strip_prefix("content-transfer-encoding:")
            {
                encoding = v.trim().to_string();
            }
            if trimmed.is_empty() {
                in_headers = false;
            }
        } else {
            body.push_str(line);
        }
    }
    flush(&mut out, &mut body, &encoding);
    out
}

fn quoted_printable(text: &str) -> String {
    let mut bytes = Vec::new();
    let raw = text.replace("=\r\n", "").replace("=\n", "");
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&raw[i + 1..i + 3], 16) {
                bytes.push(v);
                i += 3;
                continue;
            }
        }
        bytes.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        })
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        let Some(v) = value(c) else { continue };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}
