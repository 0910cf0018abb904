//! The real `motorbase` binary on a free port with a throwaway data folder, and the
//! scenario-table helpers the API tests are written with.
//!
//! `MOTORBASE_TEST_BIN=/path/to/pocketbase cargo test -p motorbase` runs the same tests
//! against another server binary with the same command line (PocketBase 0.40.6, from
//! `../shared/peers/pocketbase.sh bin`): the expectations here are PocketBase's answers,
//! and that is how they were checked.

pub mod oidc;
pub mod smtp;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use tempfile::TempDir;

pub const SUPERUSER_EMAIL: &str = "admin@example.com";
pub const SUPERUSER_PASSWORD: &str = "AdminPass123!";

/// Another server binary to run the suite against (PocketBase, to check the expectations).
const PEER_BIN_VAR: &str = "MOTORBASE_TEST_BIN";
const START_TIMEOUT: Duration = Duration::from_secs(20);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

pub struct TestApp {
    base: String,
    client: reqwest::Client,
    superuser_token: tokio::sync::OnceCell<String>,
    /// Extra `serve` arguments, kept for restarts.
    serve_args: Vec<String>,
    /// Declared before the folder it uses, so it stops first.
    server: Option<Server>,
    root: TempDir,
}

/// A running `serve` process, killed on drop.
struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn data_dir(root: &Path) -> PathBuf {
    root.join("data")
}

fn log_path(root: &Path) -> PathBuf {
    root.join("server.log")
}

fn binary() -> PathBuf {
    match std::env::var_os(PEER_BIN_VAR) {
        Some(bin) => PathBuf::from(bin),
        None => PathBuf::from(env!("CARGO_BIN_EXE_motorbase")),
    }
}

/// The `--http` address to ask for. Motorbase prints the address it really bound, so port 0
/// is fine; PocketBase prints the address it was given, so it gets a port picked here.
fn http_addr() -> String {
    if std::env::var_os(PEER_BIN_VAR).is_none() {
        return "127.0.0.1:0".to_string();
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("local addr").port();
    format!("127.0.0.1:{port}")
}

fn extra_serve_args() -> Vec<&'static str> {
    if std::env::var_os(PEER_BIN_VAR).is_some() {
        // Collections created over the API must not write migration files.
        vec!["--automigrate=false"]
    } else {
        Vec::new()
    }
}

fn upsert_superuser(root: &Path) {
    let out = Command::new(binary())
        .args([
            "superuser",
            "upsert",
            SUPERUSER_EMAIL,
            SUPERUSER_PASSWORD,
            "--dir",
        ])
        .arg(data_dir(root))
        .current_dir(root)
        .output()
        .expect("run `superuser upsert`");
    assert!(
        out.status.success(),
        "`superuser upsert` failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts `serve` on the data folder under `root` and waits for its "Server started at URL"
/// line.
fn start_server(root: &Path, args: &[String]) -> (Server, String) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path(root))
        .expect("open the server log");
    let child = Command::new(binary())
        .args(["serve", "--http", &http_addr(), "--dir"])
        .arg(data_dir(root))
        .args(extra_serve_args())
        .args(args)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("spawn `serve`");
    let mut server = Server { child };
    let stdout = server.child.stdout.take().expect("piped stdout");

    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        // Keep draining after the banner so the server never blocks on a full pipe.
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent {
                if let Some(url) = banner_url(&line) {
                    let _ = tx.send(url);
                    sent = true;
                }
            }
        }
    });

    match rx.recv_timeout(START_TIMEOUT) {
        Ok(url) => (server, url),
        Err(err) => {
            let _ = server.child.kill();
            let _ = server.child.wait();
            panic!(
                "the server did not print \"Server started at\" ({err}); its stderr:\n{}",
                std::fs::read_to_string(log_path(root)).unwrap_or_default()
            );
        }
    }
}

/// `Server started at http://127.0.0.1:PORT` (PocketBase puts a timestamp in front).
fn banner_url(line: &str) -> Option<String> {
    let (_, rest) = line.split_once("Server started at ")?;
    let url = rest.split_whitespace().next()?;
    Some(url.trim_end_matches('/').to_string())
}

/// SIGTERM, then wait for a graceful exit.
fn stop_gracefully(mut server: Server) {
    let pid = server.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -TERM {pid} failed");
    let deadline = Instant::now() + STOP_TIMEOUT;
    loop {
        if server.child.try_wait().expect("try_wait").is_some() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop within {STOP_TIMEOUT:?} of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl TestApp {
    /// A fresh data folder with the superuser, and a server on it.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with_args(&[]).await
    }

    /// Like `spawn`, with extra `serve` arguments (Motorbase's own flags).
    pub async fn spawn_with_args(args: &[&str]) -> TestApp {
        let serve_args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let start_args = serve_args.clone();
        let root = tempfile::Builder::new()
            .prefix("motorbase-test-")
            .tempdir()
            .expect("create a temporary folder");
        let path = root.path().to_path_buf();
        let (server, base) = tokio::task::spawn_blocking(move || {
            upsert_superuser(&path);
            start_server(&path, &start_args)
        })
        .await
        .expect("start the server");
        TestApp {
            base,
            client: reqwest::Client::new(),
            superuser_token: tokio::sync::OnceCell::new(),
            serve_args,
            server: Some(server),
            root,
        }
    }

    /// Stops the server with SIGTERM (it must exit gracefully) and starts it again on the
    /// same data folder. The address changes; tokens stay valid.
    pub async fn restart(&mut self) {
        self.restart_after(stop_gracefully).await;
    }

    /// Kills the server with SIGKILL (no chance to flush or close anything) and starts it
    /// again on the same data folder, as after a crash.
    pub async fn kill_and_restart(&mut self) {
        // Dropping a `Server` sends SIGKILL and reaps it.
        self.restart_after(drop).await;
    }

    async fn restart_after(&mut self, stop: fn(Server)) {
        let running = self.server.take().expect("a running server");
        let path = self.root.path().to_path_buf();
        let args = self.serve_args.clone();
        let (server, base) = tokio::task::spawn_blocking(move || {
            stop(running);
            start_server(&path, &args)
        })
        .await
        .expect("restart the server");
        self.server = Some(server);
        self.base = base;
        // Pooled connections went to the old process.
        self.client = reqwest::Client::new();
    }

    /// The server's data folder (`--dir`), to look at what it stored.
    pub fn data_dir(&self) -> PathBuf {
        data_dir(self.root.path())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.header("Authorization", token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        send(req).await
    }

    /// A request whose body is sent as given, for malformed input.
    pub async fn request_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: &str,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, self.url(path))
            .header("Content-Type", content_type)
            .body(body.to_string());
        if let Some(token) = token {
            req = req.header("Authorization", token);
        }
        send(req).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.request(Method::POST, path, token, Some(&body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.request(Method::PATCH, path, token, Some(&body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.request(Method::DELETE, path, token, None).await
    }

    /// A superuser token, obtained once per app.
    pub async fn superuser_token(&self) -> String {
        self.superuser_token
            .get_or_init(|| async {
                let (status, body) = self
                    .post(
                        "/api/collections/_superusers/auth-with-password",
                        None,
                        json!({"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD}),
                    )
                    .await;
                assert_eq!(status, 200, "superuser auth-with-password: {body}");
                body["token"].as_str().expect("a token").to_string()
            })
            .await
            .clone()
    }

    /// Creates a collection as the superuser; panics unless PocketBase-style 200.
    pub async fn create_collection(&self, collection: Value) -> Value {
        let token = self.superuser_token().await;
        let (status, body) = self
            .post("/api/collections", Some(&token), collection.clone())
            .await;
        assert_eq!(status, 200, "create collection {collection}: {body}");
        body
    }

    /// Creates a record as the superuser; panics unless 200. Returns the record.
    pub async fn create_record(&self, collection: &str, record: Value) -> Value {
        let token = self.superuser_token().await;
        let path = format!("/api/collections/{collection}/records");
        let (status, body) = self.post(&path, Some(&token), record.clone()).await;
        assert_eq!(
            status, 200,
            "create record in {collection} {record}: {body}"
        );
        body
    }

    /// Deletes a record as the superuser; panics unless 204.
    pub async fn delete_record(&self, collection: &str, id: &str) {
        let token = self.superuser_token().await;
        let path = format!("/api/collections/{collection}/records/{id}");
        let (status, body) = self.delete(&path, Some(&token)).await;
        assert_eq!(status, 204, "delete {collection}/{id}: {body}");
    }

    /// Turns batch requests on with the given `batch` settings, as the superuser.
    pub async fn enable_batch(&self, batch: Value) {
        let token = self.superuser_token().await;
        let (status, body) = self
            .patch("/api/settings", Some(&token), json!({ "batch": batch }))
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// Creates a `users` record and signs it in. Returns (id, token).
    pub async fn create_user(&self, email: &str, password: &str) -> (String, String) {
        let record = self
            .create_record(
                "users",
                json!({"email": email, "password": password, "passwordConfirm": password}),
            )
            .await;
        let id = record["id"].as_str().expect("a record id").to_string();
        let token = self.auth_with_password("users", email, password).await;
        (id, token)
    }

    pub async fn auth_with_password(&self, collection: &str, identity: &str, pw: &str) -> String {
        let path = format!("/api/collections/{collection}/auth-with-password");
        let (status, body) = self
            .post(&path, None, json!({"identity": identity, "password": pw}))
            .await;
        assert_eq!(status, 200, "auth-with-password {identity}: {body}");
        body["token"].as_str().expect("a token").to_string()
    }

    /// Runs a scenario table. Every case runs; the failures are reported together.
    pub async fn run(&self, cases: &[Case]) {
        let superuser = self.superuser_token().await;
        let mut failures = Vec::new();
        for case in cases {
            let token = match &case.auth {
                Auth::Guest => None,
                Auth::Superuser => Some(superuser.as_str()),
                Auth::Token(token) => Some(token.as_str()),
            };
            let (status, body) = match &case.body {
                Body::None => {
                    self.request(case.method.clone(), &case.path, token, None)
                        .await
                }
                Body::Json(json) => {
                    self.request(case.method.clone(), &case.path, token, Some(json))
                        .await
                }
                Body::Raw { content_type, text } => {
                    self.request_raw(case.method.clone(), &case.path, token, content_type, text)
                        .await
                }
            };
            let mut problems = Vec::new();
            if status != case.status {
                problems.push(format!("status {status}, expected {}", case.status));
            }
            if let Some(expected) = &case.fragment {
                if let Err(why) = fragment_mismatch(&body, expected) {
                    problems.push(why);
                }
            }
            for key in &case.absent {
                if let Some(at) = find_absent(&body, key) {
                    problems.push(format!("{key:?} must be absent but is at {at}"));
                }
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "[{}] {} {}\n    {}\n    body: {}",
                    case.name,
                    case.method,
                    case.path,
                    problems.join("\n    "),
                    body
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} cases failed:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }
}

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.expect("send the request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("read the response body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

pub enum Auth {
    Guest,
    Superuser,
    Token(String),
}

pub enum Body {
    None,
    Json(Value),
    Raw { content_type: String, text: String },
}

/// One row of a scenario table.
pub struct Case {
    pub name: &'static str,
    pub method: Method,
    pub path: String,
    pub auth: Auth,
    pub body: Body,
    pub status: u16,
    /// Must be a subset of the response (see `fragment_mismatch`).
    pub fragment: Option<Value>,
    /// Keys that must appear nowhere in the response (`password`), or dotted paths that
    /// must not exist (`expand.secret`).
    pub absent: Vec<&'static str>,
}

impl Case {
    fn new(name: &'static str, method: Method, path: impl Into<String>) -> Case {
        Case {
            name,
            method,
            path: path.into(),
            auth: Auth::Guest,
            body: Body::None,
            status: 200,
            fragment: None,
            absent: Vec::new(),
        }
    }
    pub fn get(name: &'static str, path: impl Into<String>) -> Case {
        Case::new(name, Method::GET, path)
    }
    pub fn post(name: &'static str, path: impl Into<String>, body: Value) -> Case {
        Case::new(name, Method::POST, path).json(body)
    }
    pub fn patch(name: &'static str, path: impl Into<String>, body: Value) -> Case {
        Case::new(name, Method::PATCH, path).json(body)
    }
    pub fn delete(name: &'static str, path: impl Into<String>) -> Case {
        Case::new(name, Method::DELETE, path)
    }
    pub fn json(mut self, body: Value) -> Case {
        self.body = Body::Json(body);
        self
    }
    pub fn raw(mut self, content_type: &str, text: &str) -> Case {
        self.body = Body::Raw {
            content_type: content_type.to_string(),
            text: text.to_string(),
        };
        self
    }
    pub fn superuser(mut self) -> Case {
        self.auth = Auth::Superuser;
        self
    }
    pub fn token(mut self, token: &str) -> Case {
        self.auth = Auth::Token(token.to_string());
        self
    }
    /// The expected status and a fragment of the expected body.
    pub fn expect(mut self, status: u16, fragment: Value) -> Case {
        self.status = status;
        self.fragment = Some(fragment);
        self
    }
    /// The expected status, body unchecked.
    pub fn status(mut self, status: u16) -> Case {
        self.status = status;
        self
    }
    pub fn absent(mut self, keys: &[&'static str]) -> Case {
        self.absent.extend_from_slice(keys);
        self
    }
}

/// `Ok` when `expected` is a subset of `actual`: objects need only the expected keys (and
/// recursively so) except that `{}` expects an empty object, arrays must have the same length
/// and match element by element, numbers compare by value (1 == 1.0), everything else by
/// equality.
pub fn fragment_mismatch(actual: &Value, expected: &Value) -> Result<(), String> {
    fragment_at(actual, expected, "$")
}

fn fragment_at(actual: &Value, expected: &Value, at: &str) -> Result<(), String> {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            if e.is_empty() && !a.is_empty() {
                return Err(format!("{at} is {actual}, expected {{}}"));
            }
            for (key, e_value) in e {
                let Some(a_value) = a.get(key) else {
                    return Err(format!("{at}.{key} is missing (expected {e_value})"));
                };
                fragment_at(a_value, e_value, &format!("{at}.{key}"))?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                return Err(format!(
                    "{at} has {} elements, expected {}: {actual} vs {expected}",
                    a.len(),
                    e.len()
                ));
            }
            for (i, (a_value, e_value)) in a.iter().zip(e).enumerate() {
                fragment_at(a_value, e_value, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Number(a), Value::Number(e)) if a.as_f64() == e.as_f64() => Ok(()),
        _ if actual == expected => Ok(()),
        _ => Err(format!("{at} is {actual}, expected {expected}")),
    }
}

#[track_caller]
pub fn assert_fragment(actual: &Value, expected: &Value) {
    if let Err(why) = fragment_mismatch(actual, expected) {
        panic!("{why}\n  actual: {actual}");
    }
}

/// Where `key` occurs, if anywhere: a plain key anywhere in the tree, a dotted path only
/// from the top.
fn find_absent(body: &Value, key: &str) -> Option<String> {
    if !key.contains('.') {
        return find_key(body, key, "$");
    }
    let mut at = body;
    for part in key.split('.') {
        at = at.as_object()?.get(part)?;
    }
    Some(format!("$.{key}"))
}

/// Where `key` occurs as an object key, if anywhere.
fn find_key(value: &Value, key: &str, at: &str) -> Option<String> {
    match value {
        Value::Object(map) => {
            if map.contains_key(key) {
                return Some(format!("{at}.{key}"));
            }
            map.iter()
                .find_map(|(k, v)| find_key(v, key, &format!("{at}.{k}")))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_key(v, key, &format!("{at}[{i}]"))),
        _ => None,
    }
}

/// `path?k=v&...` with the values percent-encoded.
pub fn with_query(path: &str, params: &[(&str, &str)]) -> String {
    let mut out = path.to_string();
    for (i, (key, value)) in params.iter().enumerate() {
        out.push(if i == 0 && !path.contains('?') {
            '?'
        } else {
            '&'
        });
        out.push_str(&encode(key));
        out.push('=');
        out.push_str(&encode(value));
    }
    out
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A field value of each item of a list response, in order.
pub fn item_values<'a>(list: &'a Value, field: &str) -> Vec<&'a Value> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list response: {list}"))
        .iter()
        .map(|item| &item[field])
        .collect()
}
