//! The dashboard's server side against the real binary: the embedded files at `/_/`, and the
//! first-run install link (single use, refused once a superuser exists, expiring).
//! Motorbase's own behaviour: these do not run against PocketBase.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_motorbase");

/// A `serve` process on a fresh data folder; killed on drop.
struct Served {
    child: Child,
    url: String,
    install_link: Option<String>,
    dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn start(dir: tempfile::TempDir) -> Served {
        let mut child = Command::new(BIN)
            .args(["serve", "--http", "127.0.0.1:0", "--dir"])
            .arg(dir.path().join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut url = None;
        let mut install_link = None;
        // The banner, then (without a superuser) a blank line, the notice, the link, the hint.
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(20)) {
            if let Some(rest) = line.split("Server started at ").nth(1) {
                url = Some(rest.trim().trim_end_matches('/').to_string());
            }
            if line.contains("/_/#/install/") {
                install_link = Some(line.trim().to_string());
            }
            if line.contains("Dashboard:") && url.is_some() {
                // Give the install notice (printed right after) a moment to arrive.
                while let Ok(next) = rx.recv_timeout(Duration::from_millis(500)) {
                    if next.contains("/_/#/install/") {
                        install_link = Some(next.trim().to_string());
                        break;
                    }
                }
                break;
            }
        }
        Served {
            child,
            url: url.expect("the server printed its address"),
            install_link,
            dir,
        }
    }

    fn token(&self) -> String {
        let link = self.install_link.as_deref().expect("an install link");
        link.split("/install/").nth(1).expect("a token").to_string()
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let res = reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn fresh_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("motorbase-dashboard-")
        .tempdir()
        .expect("temp dir")
}

fn credentials(token: &str, email: &str) -> Value {
    json!({"token": token, "email": email, "password": "FirstPass123", "passwordConfirm": "FirstPass123"})
}

#[tokio::test]
async fn dashboard_files_are_served_with_their_types_and_client_routes_fall_back() {
    let s = Served::start(fresh_dir());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let get = |path: &str| client.get(format!("{}{path}", s.url)).send();

    let res = get("/_").await.expect("GET /_");
    assert_eq!(res.status().as_u16(), 307);
    assert_eq!(res.headers()["location"], "/_/");

    let cases = [
        (
            "/_/",
            "text/html; charset=utf-8",
            "<title>Motorbase</title>",
        ),
        ("/_/app.css", "text/css; charset=utf-8", ":root"),
        ("/_/js/main.js", "text/javascript; charset=utf-8", "import"),
        ("/_/favicon.svg", "image/svg+xml", "<svg"),
        // A client route (no extension) is the app itself.
        (
            "/_/collections/posts",
            "text/html; charset=utf-8",
            "/_/js/main.js",
        ),
    ];
    for (path, ctype, fragment) in cases {
        let res = get(path).await.expect("GET");
        assert_eq!(res.status().as_u16(), 200, "{path}");
        assert_eq!(res.headers()["content-type"], ctype, "{path}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert!(res.headers().contains_key("content-security-policy"));
        let etag = res.headers()["etag"].to_str().expect("etag").to_string();
        let body = res.text().await.expect("body");
        assert!(body.contains(fragment), "{path} lacks {fragment:?}");

        let again = client
            .get(format!("{}{path}", s.url))
            .header("If-None-Match", &etag)
            .send()
            .await
            .expect("conditional GET");
        assert_eq!(again.status().as_u16(), 304, "{path} revalidates");
    }

    let missing = get("/_/js/nope.js").await.expect("GET");
    assert_eq!(missing.status().as_u16(), 404);
    let body: Value = missing.json().await.expect("json");
    assert_eq!(body["message"], "File not found.");
}

#[tokio::test]
async fn install_link_creates_the_first_superuser_once() {
    let s = Served::start(fresh_dir());
    let link = s.install_link.clone().expect("an install link is printed");
    assert!(
        link.starts_with(&format!("{}/_/#/install/", s.url)),
        "{link}"
    );
    let token = s.token();

    let cases: [(&str, Value, u16, &str); 4] = [
        ("a wrong token", json!({"token": "nope"}), 403, "invalid"),
        ("no token", json!({}), 403, "invalid"),
        (
            "a short password",
            json!({"token": token, "email": "first@example.com", "password": "short", "passwordConfirm": "short"}),
            400,
            "password",
        ),
        (
            "passwords that differ",
            json!({"token": token, "email": "first@example.com", "password": "FirstPass123", "passwordConfirm": "Other12345"}),
            400,
            "passwordConfirm",
        ),
    ];
    for (name, body, status, fragment) in cases {
        let (got, answer) = s.post("/api/install", body).await;
        assert_eq!(got, status, "{name}: {answer}");
        assert!(answer.to_string().contains(fragment), "{name}: {answer}");
    }

    // Refused input left the link usable.
    let (status, _) = s.post("/api/install/check", json!({"token": token})).await;
    assert_eq!(status, 204);
    let (status, _) = s.post("/api/install/check", json!({"token": "nope"})).await;
    assert_eq!(status, 403);

    let (status, record) = s
        .post("/api/install", credentials(&token, "first@example.com"))
        .await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["email"], "first@example.com");
    assert!(record.get("password").is_none() && record.get("tokenKey").is_none());

    let (status, auth) = s
        .post(
            "/api/collections/_superusers/auth-with-password",
            json!({"identity": "first@example.com", "password": "FirstPass123"}),
        )
        .await;
    assert_eq!(status, 200, "the new superuser signs in: {auth}");

    // Single use.
    let (status, body) = s
        .post("/api/install", credentials(&token, "second@example.com"))
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = s.post("/api/install/check", json!({"token": token})).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn install_link_is_refused_once_a_superuser_exists_however_made() {
    let s = Served::start(fresh_dir());
    let token = s.token();
    let out = Command::new(BIN)
        .args([
            "superuser",
            "upsert",
            "cli@example.com",
            "CliPass12345",
            "--dir",
        ])
        .arg(s.dir.path().join("data"))
        .output()
        .expect("superuser upsert");
    assert!(out.status.success());
    let (status, body) = s
        .post("/api/install", credentials(&token, "late@example.com"))
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["message"],
        "The install link is invalid, was already used or has expired."
    );
}

#[tokio::test]
async fn no_install_link_when_a_superuser_exists() {
    let dir = fresh_dir();
    let out = Command::new(BIN)
        .args([
            "superuser",
            "upsert",
            "a@example.com",
            "APass123456",
            "--dir",
        ])
        .arg(dir.path().join("data"))
        .output()
        .expect("superuser upsert");
    assert!(out.status.success());
    let s = Served::start(dir);
    assert!(s.install_link.is_none());
    let (status, _) = s.post("/api/install/check", json!({"token": ""})).await;
    assert_eq!(status, 403);
}
