//! Realtime load: holds N SSE subscribers on one collection of a PocketBase-compatible server
//! while a writer creates records at a fixed rate, and measures how long each event takes to
//! reach each subscriber. Works against PocketBase and Motorbase alike (same API).
//!
//! Subscribers speak raw HTTP/1.1 over tokio sockets so that the client, not the server, is
//! never the bottleneck; the client's own CPU time is reported next to the results.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Parser)]
struct Args {
    /// Server address, e.g. 127.0.0.1:8090.
    #[arg(long)]
    addr: String,
    #[arg(long, default_value = "admin@example.com")]
    email: String,
    #[arg(long, default_value = "AdminPass123!")]
    password: String,
    /// Number of SSE subscribers.
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Records created per second while measuring.
    #[arg(long, default_value_t = 2.0)]
    rate: f64,
    /// Seconds of measured writes.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// PID of the server, to read its memory from /proc.
    #[arg(long)]
    pid: Option<u32>,
    /// Name printed in the result line.
    #[arg(long, default_value = "server")]
    label: String,
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// CPU seconds this process has used (user + system).
fn own_cpu_seconds() -> f64 {
    cpu_seconds("self")
}

/// CPU seconds a process has used (user + system); `who` is a pid or `self`.
fn cpu_seconds(who: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{who}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// Decodes HTTP/1.1 chunked transfer encoding incrementally.
#[derive(Default)]
struct Dechunk {
    raw: Vec<u8>,
    remaining: usize,
    out: Vec<u8>,
}

impl Dechunk {
    fn push(&mut self, data: &[u8]) {
        self.raw.extend_from_slice(data);
        loop {
            if self.remaining > 0 {
                let take = self.remaining.min(self.raw.len());
                self.out.extend_from_slice(&self.raw[..take]);
                self.raw.drain(..take);
                self.remaining -= take;
                if self.remaining > 0 {
                    return;
                }
            }
            // A chunk header: optional CRLF from the previous chunk, hex size, CRLF.
            while self.raw.starts_with(b"\r\n") {
                self.raw.drain(..2);
            }
            let Some(end) = self.raw.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let size = std::str::from_utf8(&self.raw[..end])
                .ok()
                .and_then(|h| {
                    usize::from_str_radix(h.split(';').next().unwrap_or("").trim(), 16).ok()
                })
                .unwrap_or(0);
            self.raw.drain(..end + 2);
            if size == 0 {
                return;
            }
            self.remaining = size;
        }
    }
}

/// What one subscriber measured. One per subscriber, so that thousands of them never contend
/// on a shared lock or counter (the client must not be what limits the run).
#[derive(Default)]
struct Tally {
    latencies: Mutex<Vec<u32>>,
    received: AtomicU64,
}

/// Opens the stream and returns the socket, the decoder holding what was read, and the client id.
async fn open(addr: &str) -> std::io::Result<(TcpStream, Dechunk, String)> {
    let mut sock = TcpStream::connect(addr).await?;
    sock.set_nodelay(true)?;
    let req =
        format!("GET /api/realtime HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
    sock.write_all(req.as_bytes()).await?;
    let mut head = Vec::new();
    let mut buf = vec![0u8; 4096];
    let body_start = loop {
        let n = sock.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::other("closed before headers"));
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(p) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let chunked = String::from_utf8_lossy(&head[..body_start])
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let mut dec = Dechunk::default();
    let rest = head[body_start..].to_vec();
    if chunked {
        dec.push(&rest);
    } else {
        dec.out.extend_from_slice(&rest);
    }
    loop {
        if let Some(id) = client_id(&dec.out) {
            return Ok((sock, dec, id));
        }
        let n = sock.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::other("closed before PB_CONNECT"));
        }
        if chunked {
            dec.push(&buf[..n]);
        } else {
            dec.out.extend_from_slice(&buf[..n]);
        }
    }
}

fn client_id(out: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(out).ok()?;
    let i = s.find("\"clientId\":\"")? + 12;
    let j = s[i..].find('"')? + i;
    Some(s[i..j].to_string())
}

/// Reads events until the socket closes, recording each event's delivery latency.
async fn listen(mut sock: TcpStream, mut dec: Dechunk, chunked: bool, tally: Arc<Tally>) {
    let mut buf = vec![0u8; 4096];
    loop {
        let mut start = 0;
        while let Some(end) = dec.out[start..].windows(2).position(|w| w == b"\n\n") {
            let frame = &dec.out[start..start + end];
            start += end + 2;
            if let Ok(text) = std::str::from_utf8(frame) {
                if let Some(i) = text.find("\"title\":\"t") {
                    let rest = &text[i + 10..];
                    if let Some(sent) = rest.split('"').next().and_then(|v| v.parse::<u64>().ok()) {
                        let lat = now_micros().saturating_sub(sent).min(u32::MAX as u64) as u32;
                        if let Ok(mut l) = tally.latencies.lock() {
                            l.push(lat);
                        }
                        tally.received.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        dec.out.drain(..start);
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if chunked {
                    dec.push(&buf[..n]);
                } else {
                    dec.out.extend_from_slice(&buf[..n]);
                }
            }
        }
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let base = format!("http://{}", args.addr);
    let auth: Value = http
        .post(format!(
            "{base}/api/collections/_superusers/auth-with-password"
        ))
        .json(&json!({"identity": args.email, "password": args.password}))
        .send()
        .await?
        .json()
        .await?;
    let token = auth["token"]
        .as_str()
        .ok_or("superuser sign-in failed")?
        .to_string();
    let collection = format!("bench_rt_{}", now_micros());
    let created = http
        .post(format!("{base}/api/collections"))
        .header("Authorization", &token)
        .json(&json!({"name": collection, "type": "base", "listRule": "", "viewRule": "", "createRule": "",
                      "fields": [{"name": "title", "type": "text"}]}))
        .send()
        .await?;
    if !created.status().is_success() {
        return Err(format!("create collection: {}", created.text().await?).into());
    }

    let rss_before = args.pid.map(rss_kb).unwrap_or(0);
    let mut tallies: Vec<Arc<Tally>> = Vec::with_capacity(args.subscribers);
    let topic = format!("{collection}/*");
    let mut tasks = Vec::with_capacity(args.subscribers);
    let connect_start = Instant::now();
    // Connect in waves so the listen backlog never overflows.
    for wave in (0..args.subscribers).collect::<Vec<_>>().chunks(500) {
        let mut opened = Vec::new();
        for _ in wave {
            let addr = args.addr.clone();
            opened.push(tokio::spawn(async move { open(&addr).await }));
        }
        for o in opened {
            let (sock, dec, id) = o.await??;
            let resp = http
                .post(format!("{base}/api/realtime"))
                .json(&json!({"clientId": id, "subscriptions": [topic]}))
                .send()
                .await?;
            if resp.status().as_u16() != 204 {
                return Err(format!("subscribe: {}", resp.status()).into());
            }
            let chunked = true;
            let tally = Arc::new(Tally::default());
            tallies.push(tally.clone());
            tasks.push(tokio::spawn(listen(sock, dec, chunked, tally)));
        }
    }
    let connect_secs = connect_start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_connected = args.pid.map(rss_kb).unwrap_or(0);

    let cpu_before = own_cpu_seconds();
    let server_cpu = || args.pid.map(|p| cpu_seconds(&p.to_string())).unwrap_or(0.0);
    let server_cpu_before = server_cpu();
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let writes = (args.rate * args.seconds as f64).round() as u64;
    let mut ticker = tokio::time::interval(interval);
    let url = format!("{base}/api/collections/{collection}/records");
    let mut pending = Vec::new();
    for _ in 0..writes {
        ticker.tick().await;
        let http = http.clone();
        let url = url.clone();
        pending.push(tokio::spawn(async move {
            let title = format!("t{}", now_micros());
            http.post(&url)
                .json(&json!({"title": title}))
                .send()
                .await
                .map(|r| r.status().is_success())
        }));
    }
    let mut write_errors = 0;
    for p in pending {
        if !matches!(p.await, Ok(Ok(true))) {
            write_errors += 1;
        }
    }
    let expected = writes * args.subscribers as u64;
    let received = || -> u64 {
        tallies
            .iter()
            .map(|t| t.received.load(Ordering::Relaxed))
            .sum()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while received() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_peak = args.pid.map(rss_kb).unwrap_or(0);
    let client_cpu = own_cpu_seconds() - cpu_before;
    let server_cpu_used = server_cpu() - server_cpu_before;
    for t in &tasks {
        t.abort();
    }
    let mut lat: Vec<u32> = tallies
        .iter()
        .flat_map(|t| t.latencies.lock().map(|l| l.clone()).unwrap_or_default())
        .collect();
    let received = received();
    lat.sort_unstable();
    let per_sub_kb = if args.subscribers > 0 && rss_connected > rss_before {
        (rss_connected - rss_before) as f64 / args.subscribers as f64
    } else {
        f64::NAN
    };
    // One JSON line, collected into the Markdown table by bench/realtime.sh.
    println!(
        "{}",
        json!({
            "label": args.label, "subscribers": args.subscribers, "rate": args.rate, "seconds": args.seconds,
            "writes": writes, "write_errors": write_errors, "expected": expected, "received": received,
            "p50_ms": percentile(&lat, 0.50), "p99_ms": percentile(&lat, 0.99), "max_ms": percentile(&lat, 1.0),
            "rss_before_kb": rss_before, "rss_connected_kb": rss_connected, "rss_peak_kb": rss_peak,
            "kb_per_subscriber": per_sub_kb, "client_cpu_s": client_cpu, "server_cpu_s": server_cpu_used,
            "connect_s": connect_secs
        })
    );
    Ok(())
}
