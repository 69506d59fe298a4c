//! HTTP: the JSON API under `/api/v1` (described at `/api/openapi.json`),
//! the staff console (server-rendered HTML), `/healthz`. Only this crate
//! knows HTTP and HTML.

mod api;
mod api_booking;
mod api_collect;
mod api_evidence;
mod api_reports;
mod collector;
mod console;
mod error;
mod front;
mod openapi;
mod owner;
mod receipts;
mod server;
mod session;
mod ui;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use doorstep_app::App;

pub use error::WebError;
pub use front::{Cidr, FrontConfig};

/// The content type of .xlsx workbooks.
pub(crate) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A file to save: its type, and its name in ASCII and in UTF-8 (Chinese
/// names survive every browser); never cached.
pub(crate) fn download(bytes: Vec<u8>, mime: &'static str, name: &str) -> axum::response::Response {
    use axum::http::header;
    let disposition = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        name.replace(
            |c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '-',
            "_"
        ),
        ui::enc(name)
    );
    (
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}
pub use openapi::openapi_document;

/// The whole HTTP application with the default front settings.
pub fn router(app: App) -> Router {
    router_with(app, FrontConfig::default())
}

/// The whole HTTP application behind the front (`front.rs`).
pub fn router_with(app: App, cfg: FrontConfig) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/favicon.ico", get(favicon))
        .route("/favicon.svg", get(favicon))
        .route(
            "/api/openapi.json",
            get(|| async { axum::Json(openapi_document()) }),
        )
        // Bearer tokens only (the front drops session cookies here).
        .nest("/api/v1", api_routes())
        // The same operations for our own pages (the collector app, the
        // console's downloads): the session cookie, with the front's
        // same-origin check on every change.
        .nest(COOKIE_API, api_routes())
        .merge(api_collect::notify_router())
        .merge(console::router())
        .merge(owner::router())
        .merge(receipts::router())
        .merge(collector::router())
        .layer(axum::middleware::from_fn(trace))
        .layer(axum::middleware::from_fn(run_to_completion))
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(cfg),
            front::front,
        ))
        .with_state(app)
}

/// Where our own pages reach the JSON API with their session cookie.
pub(crate) const COOKIE_API: &str = "/c/api/v1";

fn api_routes() -> Router<App> {
    api::router()
        .merge(api_booking::router())
        .merge(api_collect::router())
        .merge(api_evidence::router())
        .merge(api_reports::router())
}

const FAVICON: &str = include_str!("../assets/favicon.svg");

async fn favicon() -> axum::response::Response {
    use axum::http::header;
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
        .into_response()
}

/// Runs each request on its own task, so a client that hangs up cannot
/// cancel a handler halfway through a database transaction: the work either
/// completes or rolls back, never stops between two statements.
async fn run_to_completion(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match tokio::spawn(next.run(req)).await {
        Ok(res) => res,
        Err(e) => {
            tracing::error!(error = %e, "request task failed");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// One log line per request with stable field names; never bodies or tokens.
async fn trace(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16();
    let ms = started.elapsed().as_millis() as u64;
    let provider_answer = res
        .extensions()
        .get::<api_collect::ProviderAnswer>()
        .is_some();
    if status >= 500 && provider_answer {
        tracing::warn!(%method, %path, status, ms, "request");
    } else if status >= 500 {
        tracing::error!(%method, %path, status, ms, "request");
    } else {
        tracing::info!(%method, %path, status, ms, "request");
    }
    res
}

async fn healthz(
    axum::extract::State(app): axum::extract::State<App>,
) -> Result<&'static str, WebError> {
    // Touch the database so a broken connection shows here.
    app.store
        .estate_by_code("-")
        .await
        .map_err(|e| WebError::from(doorstep_app::AppError::from(e)))?;
    Ok("ok")
}

/// Serves on `listener` with the default front settings until ctrl-c or SIGTERM.
pub async fn serve(listener: tokio::net::TcpListener, app: App) -> std::io::Result<()> {
    serve_with(listener, app, FrontConfig::default()).await
}

/// Serves on `listener` until ctrl-c or SIGTERM, with the background jobs.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    app: App,
    cfg: FrontConfig,
) -> std::io::Result<()> {
    spawn_order_poller(app.clone(), std::time::Duration::from_secs(15));
    spawn_checkpointer(app.clone(), std::time::Duration::from_secs(60));
    spawn_sequencer(app.clone(), std::time::Duration::from_millis(200));
    if !app.gateways.is_empty() {
        let sender = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
            loop {
                tick.tick().await;
                if let Err(e) = sender.deliver_due().await {
                    tracing::error!(error = %e, "delivering the outbox failed");
                }
            }
        });
    }
    serve_only(listener, app, cfg, shutdown()).await
}

/// Serves HTTP only (no background jobs) until `stop` resolves.
pub async fn serve_only(
    listener: tokio::net::TcpListener,
    app: App,
    cfg: FrontConfig,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let router = router_with(app, cfg.clone());
    server::accept_loop(listener, router, &cfg, stop).await
}

/// Queries open payment orders in the background (the fallback for a
/// notification that never comes; closes expired QR orders at the
/// provider), and after 10:00 China time reconciles yesterday's QR takings
/// of every merchant account against its bill file. A job lease in the database lets one instance poll at a time;
/// a crashed instance's lease expires after a minute.
pub fn spawn_order_poller(app: App, every: std::time::Duration) {
    let holder = format!("{}-{:08x}", std::process::id(), rand_u32());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = app.poll_open_orders(&holder).await {
                tracing::warn!(error = %e, "polling open payment orders failed");
            }
            if let Err(e) = app.reconcile_yesterday(&holder).await {
                tracing::warn!(error = %e, "the daily reconciliation failed");
            }
        }
    });
}

/// Takes up what payments queued (receipt numbers, evidence records) every
/// `every`, signs the pending receipts in batches (one instance at a time,
/// by job lease), and folds the running totals' deltas every 25 passes.
/// Every instance runs one; their batches never overlap (row locks, skipped
/// when held), and a request that needs its row at once does not wait for
/// this.
pub fn spawn_sequencer(app: App, every: std::time::Duration) {
    let holder = format!("{}-{:08x}", std::process::id(), rand_u32());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pass: u64 = 0;
        loop {
            tick.tick().await;
            pass += 1;
            if let Err(e) = app.store.sequence().await {
                tracing::warn!(error = %e, "the sequencer pass failed");
            }
            if let Err(e) = app.issue_pending_receipts(&holder).await {
                tracing::warn!(error = %e, "issuing pending receipts failed");
            }
            if pass.is_multiple_of(25)
                && let Err(e) = app.store.fold_totals(20_000).await
            {
                tracing::warn!(error = %e, "folding the running totals failed");
            }
        }
    });
}

/// Signs a checkpoint of every evidence log that grew, every `every`
/// (one instance at a time, by job lease).
pub fn spawn_checkpointer(app: App, every: std::time::Duration) {
    let holder = format!("{}-{:08x}", std::process::id(), rand_u32());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = app.run_checkpointer(&holder).await {
                tracing::warn!(error = %e, "signing evidence checkpoints failed");
            }
        }
    });
}

fn rand_u32() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    t ^ std::process::id().rotate_left(16)
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
