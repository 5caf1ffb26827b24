//! The console's HTTP listener: header-read timeout and connection limit.
//!
//! [`serve`] replaces `axum::serve` for the web console and the daemon's
//! `--listen` (`/healthz`, `/metrics`). It is built on hyper's HTTP/1
//! connection directly, so that it can bound what `axum::serve` does not:
//!
//! - **Header-read timeout.** A client has [`ListenLimits::header_read_timeout`]
//!   to send a request's head, counted from the moment the server starts
//!   waiting for it: on a new connection, and again on a kept-alive
//!   connection after each response (hyper restarts the timer when the
//!   connection goes idle). So a slow-header client, and an idle kept-alive
//!   connection, are closed after that time; this is also the idle timeout.
//! - **Connection limit.** At most [`ListenLimits::max_connections`]
//!   connections are served at once. When all slots are taken, the next
//!   connection accepted takes the slot of the *oldest connection with no
//!   request in flight* (one that is idle, has sent nothing yet, or is still
//!   sending its request head), which is closed. A connection whose request
//!   is being handled, or whose response body is being sent, is never closed
//!   this way. Only when every slot has a request in flight does the
//!   listener stop accepting until one ends; new connections then wait in
//!   the kernel's listen backlog.
//!
//! The guarantee: while fewer than `max_connections` requests are in flight,
//! a new connection (say, a `/healthz` probe) is served at once, however
//! many idle or slow-header connections are open. Evicting the oldest idle
//! connection rather than refusing the newest keeps the probes answering:
//! refusing would let `max_connections` idle sockets lock everybody out
//! for up to the header-read timeout. (The tests measure it with 1,000 idle
//! connections and a limit of 100.)
//!
//! Accept errors (out of file descriptors, …) are logged and retried after
//! a short pause; they never end the loop. Sockets get `TCP_NODELAY`. The
//! client's address is given to handlers as
//! `axum::extract::ConnectInfo<SocketAddr>`.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

/// How long the accept loop pauses after an accept error (e.g. `EMFILE`).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The limits [`serve`] enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenLimits {
    /// The time a client has to send a request's head, on a new connection
    /// and between requests on a kept-alive one (so also the idle timeout).
    /// Default 10 s.
    pub header_read_timeout: Duration,
    /// The most connections served at once (at least 1). Default 512.
    pub max_connections: usize,
    /// After the shutdown signal, how long requests in flight have to end
    /// before their connections are dropped. Default 10 s.
    pub shutdown_grace: Duration,
}

impl Default for ListenLimits {
    fn default() -> Self {
        ListenLimits {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 512,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// One live connection as the accept loop sees it.
struct Slot {
    /// Requests in flight (from the handler's call to the end of the
    /// response body).
    busy: Arc<AtomicUsize>,
    /// Asks the connection to close (eviction or shutdown).
    stop: Arc<Notify>,
}

/// The live connections, oldest first.
#[derive(Default)]
struct Registry {
    next_id: u64,
    slots: BTreeMap<u64, Slot>,
}

type Shared = Arc<Mutex<Registry>>;

fn lock(r: &Shared) -> std::sync::MutexGuard<'_, Registry> {
    r.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Registry {
    fn insert(&mut self, busy: Arc<AtomicUsize>, stop: Arc<Notify>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.slots.insert(id, Slot { busy, stop });
        id
    }

    /// Asks the oldest connection with no request in flight to close, and
    /// forgets it; false if every connection has a request in flight.
    fn evict_oldest_idle(&mut self) -> bool {
        let victim = self
            .slots
            .iter()
            .find(|(_, s)| s.busy.load(Ordering::SeqCst) == 0)
            .map(|(id, _)| *id);
        match victim.and_then(|id| self.slots.remove(&id)) {
            Some(slot) => {
                slot.stop.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Removes a connection from the registry when its task ends.
struct Deregister {
    registry: Shared,
    id: u64,
}

impl Drop for Deregister {
    fn drop(&mut self) {
        lock(&self.registry).slots.remove(&self.id);
    }
}

/// Counts one request in flight until dropped.
struct BusyGuard(Arc<AtomicUsize>);

impl BusyGuard {
    fn new(busy: &Arc<AtomicUsize>) -> Self {
        busy.fetch_add(1, Ordering::SeqCst);
        BusyGuard(busy.clone())
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that keeps its request counted as in flight until the
/// body is finished or dropped.
struct TrackedBody {
    inner: Body,
    _busy: BusyGuard,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Serves `router` on `listener` over HTTP/1.1 within `limits` (see the
/// module documentation for the guarantees) until `shutdown` completes.
///
/// On shutdown the listener is closed, connections with no request in
/// flight are closed at once, and the others finish their request (without
/// keep-alive) within [`ListenLimits::shutdown_grace`], after which they are
/// dropped; then `serve` returns `Ok(())`. Accept errors are logged and
/// retried, so the `Result` is only for the caller's convenience today.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: ListenLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max = limits.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(max));
    let registry: Shared = Arc::default();
    let mut tasks = JoinSet::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        while tasks.try_join_next().is_some() {}
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, addr) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!("accepting a connection failed (retrying): {e}");
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                }
            }
        };
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = take_slot(&permits, &registry) => permit,
        };
        let Some(permit) = permit else { break };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(%addr, "setting TCP_NODELAY failed: {e}");
        }
        let conn = Conn {
            stream,
            addr,
            router: router.clone(),
            builder: builder.clone(),
            registry: registry.clone(),
        };
        tasks.spawn(conn.run(permit));
    }
    drop(listener);
    // Ask every connection to close: idle ones at once, the others after
    // their request.
    for slot in std::mem::take(&mut lock(&registry).slots).into_values() {
        slot.stop.notify_one();
    }
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.shutdown_grace, drain)
        .await
        .is_err()
    {
        tracing::warn!(
            connections = tasks.len(),
            "connections still busy after the shutdown grace period: dropped"
        );
        tasks.shutdown().await;
    }
    Ok(())
}

/// A free connection slot: at once if there is one, else after evicting the
/// oldest connection with no request in flight, else when a request ends.
/// `None` only if the semaphore is closed (never, today).
async fn take_slot(permits: &Arc<Semaphore>, registry: &Shared) -> Option<OwnedSemaphorePermit> {
    if let Ok(p) = permits.clone().try_acquire_owned() {
        return Some(p);
    }
    if !lock(registry).evict_oldest_idle() {
        tracing::debug!("every connection has a request in flight: waiting for one to end");
    }
    permits.clone().acquire_owned().await.ok()
}

/// One accepted connection, about to be served.
struct Conn {
    stream: TcpStream,
    addr: SocketAddr,
    router: axum::Router,
    builder: http1::Builder,
    registry: Shared,
}

impl Conn {
    /// Serves the connection until it ends or is asked to stop, holding
    /// `permit` (its slot) meanwhile.
    async fn run(self, permit: OwnedSemaphorePermit) {
        let _permit = permit;
        let busy = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(Notify::new());
        let id = lock(&self.registry).insert(busy.clone(), stop.clone());
        let _deregister = Deregister {
            registry: self.registry.clone(),
            id,
        };
        let addr = self.addr;
        let router = self.router;
        let tracked = busy.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(addr));
            let guard = BusyGuard::new(&tracked);
            let call =
                hyper::service::Service::call(&TowerToHyperService::new(router.clone()), req);
            async move {
                let response = call.await?;
                Ok::<_, std::convert::Infallible>(response.map(|inner| TrackedBody {
                    inner,
                    _busy: guard,
                }))
            }
        });
        let conn = self
            .builder
            .serve_connection(TokioIo::new(self.stream), service);
        tokio::pin!(conn);
        let result = tokio::select! {
            result = conn.as_mut() => result,
            () = stop.notified() => {
                if busy.load(Ordering::SeqCst) == 0 {
                    // Idle, or still sending its head: closed now.
                    return;
                }
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(e) = result {
            tracing::debug!(%addr, "connection ended: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn router() -> axum::Router {
        axum::Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route(
                "/whoami",
                get(|ConnectInfo(a): ConnectInfo<SocketAddr>| async move { a.to_string() }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "slow"
                }),
            )
    }

    /// Starts `serve` on 127.0.0.1; returns its address, the trigger of its
    /// shutdown and its task.
    async fn start(
        limits: ListenLimits,
    ) -> (
        SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<std::io::Result<()>>,
    ) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, router(), limits, async {
            let _ = rx.await;
        }));
        (addr, tx, task)
    }

    /// A GET of `path` on a new connection: the whole response as text.
    async fn get_text(addr: SocketAddr, path: &str) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    /// Whether the server closed `s` (end of file or reset) within `within`.
    async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
        let mut buf = [0u8; 1024];
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, s.read(&mut buf)).await {
                Err(_) => return false,
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue, // e.g. a 408 response before the close
            }
        }
    }

    #[tokio::test]
    async fn slow_header_client_is_cut_while_healthz_answers() {
        let limits = ListenLimits {
            header_read_timeout: Duration::from_millis(300),
            ..ListenLimits::default()
        };
        let (addr, _tx, _task) = start(limits).await;
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let started = Instant::now();

        let t = Instant::now();
        let health = get_text(addr, "/healthz").await;
        assert!(health.starts_with("HTTP/1.1 200"), "{health}");
        assert!(health.ends_with("ok"), "{health}");
        let latency = t.elapsed();
        eprintln!("/healthz beside a slow-header client: {latency:?}");
        assert!(latency < Duration::from_millis(200), "{latency:?}");
        let who = get_text(addr, "/whoami").await;
        assert!(who.contains("\r\n\r\n127.0.0.1:"), "{who}");

        assert!(closed_within(&mut slow, Duration::from_secs(3)).await);
        let cut = started.elapsed();
        eprintln!("slow-header client cut after {cut:?}");
        assert!(cut >= Duration::from_millis(250), "cut after {cut:?}");
        assert!(cut < Duration::from_secs(2), "cut after {cut:?}");
    }

    /// Raises the soft limit on open files to the hard limit (the test opens
    /// about 2,100 descriptors in this process: both ends of each socket).
    fn raise_nofile() {
        // SAFETY: getrlimit/setrlimit on a local struct.
        unsafe {
            let mut l = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
                l.rlim_cur = l.rlim_max;
                libc::setrlimit(libc::RLIMIT_NOFILE, &l);
            }
        }
    }

    #[tokio::test]
    async fn healthz_answers_within_a_second_past_1000_idle_connections() {
        raise_nofile();
        let limits = ListenLimits {
            max_connections: 100,
            ..ListenLimits::default() // 10 s: the header timeout does not help here
        };
        let (addr, _tx, _task) = start(limits).await;
        let mut idle = Vec::new();
        for _ in 0..1000 {
            idle.push(TcpStream::connect(addr).await.unwrap());
        }
        // A request in flight on an older connection is not evicted.
        let mut busy = TcpStream::connect(addr).await.unwrap();
        busy.write_all(b"GET /slow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();

        let t = Instant::now();
        let health = tokio::time::timeout(Duration::from_secs(1), get_text(addr, "/healthz"))
            .await
            .expect("/healthz within 1 s");
        let latency = t.elapsed();
        assert!(health.starts_with("HTTP/1.1 200"), "{health}");
        eprintln!("/healthz past 1,000 idle connections: {latency:?}");

        let mut out = String::new();
        busy.read_to_string(&mut out).await.unwrap();
        assert!(
            out.starts_with("HTTP/1.1 200") && out.ends_with("slow"),
            "{out}"
        );

        // The oldest idle connections were closed to make room: all but
        // the slots' worth (100, less the two requests above) at most.
        let mut closed = 0;
        for s in &mut idle {
            if closed_within(s, Duration::from_millis(1)).await {
                closed += 1;
            }
        }
        assert!(closed >= 900, "{closed} idle connections closed");
    }

    #[tokio::test]
    async fn graceful_shutdown_ends_serve() {
        let (addr, tx, task) = start(ListenLimits::default()).await;
        let mut idle = TcpStream::connect(addr).await.unwrap();
        let in_flight = tokio::spawn(get_text(addr, "/slow"));
        tokio::time::sleep(Duration::from_millis(100)).await;
        tx.send(()).unwrap();

        let t = Instant::now();
        let ended = tokio::time::timeout(Duration::from_secs(3), task).await;
        ended.expect("serve ends").unwrap().unwrap();
        assert!(t.elapsed() < Duration::from_secs(2));
        let out = in_flight.await.unwrap();
        assert!(
            out.starts_with("HTTP/1.1 200") && out.ends_with("slow"),
            "{out}"
        );
        assert!(closed_within(&mut idle, Duration::from_millis(500)).await);
        assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
    }
}
