//! The server loop: the router on hyper HTTP/1.1 connections, configured by us rather than by
//! `axum::serve` because realtime holds thousands of connections open and each one's buffers
//! count.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

/// How long open connections (realtime streams never finish on their own) may take to end
/// after the shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves `app` until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve<A, F>(listener: TcpListener, app: A, shutdown: F)
where
    A: crate::App,
    F: Future<Output = ()> + Send + 'static,
{
    // `stop` closes when shutdown begins; every connection task holds a `done` receiver.
    let (stop_tx, stop_rx) = watch::channel(());
    tokio::spawn(async move {
        shutdown.await;
        drop(stop_rx);
    });
    let (done_tx, done_rx) = watch::channel(());
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait for connections to close.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop_tx.closed() => break,
        };
        let _ = stream.set_nodelay(true);
        let stream = Arc::new(stream);
        let peer = Peer(stream.clone());
        let router = app.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(remote));
            req.extensions_mut().insert(peer.clone());
            router.clone().oneshot(req)
        });
        let stop = stop_tx.clone();
        let done = done_rx.clone();
        tokio::spawn(async move {
            // Half-close: while a response streams, hyper does not read (it would hold an 8 KiB
            // buffer per realtime subscriber just to notice the client hanging up); the realtime
            // stream watches its [`Peer`] for that instead.
            let conn = http1::Builder::new()
                .half_close(true)
                .serve_connection(TokioIo::new(Shared(stream)), service)
                .with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.closed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn.as_mut()).await;
                }
            }
            drop(done);
        });
    }
    drop(done_rx);
    drop(listener);
    done_tx.closed().await;
}

/// The connection's socket, for a long response that must notice the client going away while
/// hyper is not reading (see `half_close` above).
#[derive(Clone)]
pub(crate) struct Peer(Arc<TcpStream>);

impl Peer {
    /// Resolves when the client has closed the connection (or it failed). Bytes the client
    /// sends meanwhile are read and dropped: nothing is expected from it during a stream.
    pub(crate) async fn closed(&self) {
        let mut scrap = [0u8; 64];
        loop {
            if self.0.readable().await.is_err() {
                return;
            }
            match self.0.try_read(&mut scrap) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    }
}

/// The socket shared by hyper (reading and writing) and [`Peer`] (watching for hang-ups),
/// through tokio's readiness API, which takes `&TcpStream`.
struct Shared(Arc<TcpStream>);

impl AsyncRead for Shared {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.0.poll_read_ready(cx))?;
            match self.0.try_read_buf(buf) {
                Ok(_) => return Poll::Ready(Ok(())),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl Shared {
    /// Runs the non-blocking write `op` once the socket is writable, again while it would block.
    fn poll_written(
        &self,
        cx: &mut Context<'_>,
        op: impl Fn(&TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match op(&self.0) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => return Poll::Ready(other),
            }
        }
    }
}

impl AsyncWrite for Shared {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_written(cx, |s| s.try_write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_written(cx, |s| s.try_write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Nothing to do: the socket closes when hyper drops the connection, right after.
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
