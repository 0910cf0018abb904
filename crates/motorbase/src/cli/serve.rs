use std::path::Path;

use motorbase_core::Backend;
use tokio::net::TcpListener;

pub async fn run(http: &str, dir: &Path) -> Result<(), String> {
    let backend = Backend::open(dir).await.map_err(|e| e.to_string())?;
    let listener = TcpListener::bind(http)
        .await
        .map_err(|e| format!("cannot listen on {http}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("Server started at http://{addr}");
    println!("├─ REST API:  http://{addr}/api/");
    println!("└─ Dashboard: http://{addr}/_/");
    if !backend.has_superuser().await.map_err(|e| e.to_string())? {
        println!("No superuser yet: create one with `motorbase superuser upsert EMAIL PASSWORD --dir {}`", dir.display());
    }
    let app = motorbase_api::router(backend);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await
    .map_err(|e| e.to_string())
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
