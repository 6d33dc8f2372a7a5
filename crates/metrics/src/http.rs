//! The admin HTTP endpoints and the periodic queue scan behind them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::{Metrics, disk_usage, scan_queue};

/// The OpenMetrics text format's content type (OpenMetrics 1.0, "Overall Structure").
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Where [`serve_with`] looks, and how often.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The outbound queue directory (`DATA/spool/outbound` in calm).
    pub outbound_dir: PathBuf,
    /// The directory whose files make up `calm_spool_disk_usage_bytes` (`DATA/spool`).
    pub spool_dir: PathBuf,
    /// Time between queue scans.
    pub scan_interval: Duration,
}

/// Serves `GET /metrics` and `GET /healthz` on `listener`, and scans the queue at
/// `outbound_dir` every 5 seconds. The spool's disk usage is measured over the parent of
/// `outbound_dir` (calm keeps the outbound queue in `spool/outbound`). Returns when the
/// listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    outbound_dir: PathBuf,
) -> std::io::Result<()> {
    let spool_dir = outbound_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| outbound_dir.clone(), |p| p.to_path_buf());
    let options = ServeOptions {
        outbound_dir,
        spool_dir,
        scan_interval: Duration::from_secs(5),
    };
    serve_with(listener, metrics, options).await
}

/// [`serve`] with explicit directories and scan interval.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    options: ServeOptions,
) -> std::io::Result<()> {
    let scanner = AbortOnDrop(tokio::spawn(scan_loop(metrics.clone(), options)));
    let app = router(metrics);
    let result = axum::serve(listener, app).await;
    drop(scanner);
    result
}

/// The routes, for embedding in a larger admin router.
fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(healthz))
        .with_state(metrics)
}

async fn metrics_handler(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render())
}

async fn healthz() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok\n",
    )
}

/// Scans the queue now and then every `scan_interval`; the directory walk runs on the
/// blocking pool so a large queue never stalls the HTTP side.
async fn scan_loop(metrics: Arc<Metrics>, options: ServeOptions) {
    let mut tick = tokio::time::interval(options.scan_interval.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let opts = options.clone();
        let scanned = tokio::task::spawn_blocking(move || {
            let mut snap = scan_queue(&opts.outbound_dir, unix_now());
            snap.spool_bytes = disk_usage(&opts.spool_dir);
            snap
        })
        .await;
        match scanned {
            Ok(snap) => metrics.set_queue(snap),
            Err(e) => tracing::warn!(error = %e, "queue scan for metrics failed"),
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Stops the scan task when `serve` returns or its future is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
