use std::path::Path;

use motorbase_core::Backend;
use tokio::net::TcpListener;

pub async fn run(http: &str, dir: &Path, avatar_private_hosts: bool) -> Result<(), String> {
    // Every realtime subscriber holds a socket: allow as many as the system lets us.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!("cannot raise the open-files limit: {e}");
    }
    let backend = Backend::open(dir).await.map_err(|e| e.to_string())?;
    backend
        .auth
        .allow_oauth2_avatar_private_hosts(avatar_private_hosts);
    let listener = TcpListener::bind(http)
        .await
        .map_err(|e| format!("cannot listen on {http}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("Server started at http://{addr}");
    println!("├─ REST API:  http://{addr}/api/");
    println!("└─ Dashboard: http://{addr}/_/");
    if !backend.has_superuser().await.map_err(|e| e.to_string())? {
        print_install_link(&backend, addr, dir).await;
    }
    let app = motorbase_api::router(backend.clone());
    let signal = async move {
        shutdown().await;
        // Realtime streams never finish by themselves: end them so the server can stop.
        backend.broker.disconnect_all();
    };
    motorbase_api::serve(listener, app, signal).await;
    Ok(())
}

/// With no superuser yet, the dashboard's one-time "create the first superuser" link.
async fn print_install_link(backend: &Backend, addr: std::net::SocketAddr, dir: &Path) {
    let token = backend
        .install
        .issue(motorbase_core::install::TOKEN_TTL)
        .await;
    // A wildcard address cannot be opened in a browser; the same port on loopback can.
    let host = if addr.ip().is_unspecified() {
        std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
    } else {
        addr
    };
    let minutes = motorbase_core::install::TOKEN_TTL.as_secs() / 60;
    println!();
    println!("(!) No superuser yet. Open this one-time link within {minutes} minutes to create the first one:");
    println!("http://{host}/_/#/install/{token}");
    println!(
        "(or run `motorbase superuser upsert EMAIL PASSWORD --dir {}`)",
        dir.display()
    );
}

/// Resolves on SIGINT or SIGTERM so in-flight requests can finish.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
