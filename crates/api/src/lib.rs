//! The HTTP API: PocketBase's routes over axum. Handlers parse, call one core function, map.
#![forbid(unsafe_code)]

mod access;
mod admin;
mod auth;
mod batch;
mod collections;
pub mod error;
mod extract;
mod files;
mod front;
mod health;
mod json;
mod logs;
mod realtime;
mod records;
mod request_log;
mod serve;
mod settings;

pub use serve::serve;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use motorbase_core::Backend;

use error::ApiError;

/// What [`router`] builds and [`serve`] runs.
pub trait App:
    tower::Service<
        axum::extract::Request,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future: Send,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> App for S where
    S: tower::Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
            Future: Send,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

pub struct AppState {
    pub backend: Arc<Backend>,
}

/// Every route behind the front middleware, as one service for [`serve`].
pub fn router(backend: Arc<Backend>) -> impl App {
    let state = Arc::new(AppState { backend });
    let routes = Router::new()
        .route("/api/health", get(health::health).head(health::health))
        .route(
            "/api/collections",
            get(collections::list::handler).post(collections::create::handler),
        )
        .route(
            "/api/collections/{collection}",
            get(collections::view::handler)
                .patch(collections::update::handler)
                .delete(collections::delete::handler),
        )
        .route(
            "/api/collections/{collection}/truncate",
            axum::routing::delete(collections::truncate::handler),
        )
        .route(
            "/api/collections/import",
            axum::routing::put(collections::import::handler),
        )
        .route(
            "/api/collections/meta/scaffolds",
            get(collections::scaffolds::handler),
        )
        .route(
            "/api/collections/meta/dry-run-view",
            post(collections::dry_run_view::handler),
        )
        .route(
            "/api/collections/{collection}/records",
            get(records::list::handler).post(records::create::handler),
        )
        .route(
            "/api/collections/{collection}/records/{id}",
            get(records::view::handler)
                .patch(records::update::handler)
                .delete(records::delete::handler),
        )
        .route(
            "/api/collections/{collection}/auth-with-password",
            post(auth::with_password::handler),
        )
        .route(
            "/api/collections/{collection}/auth-methods",
            get(auth::methods::handler),
        )
        .route(
            "/api/collections/{collection}/auth-refresh",
            post(auth::refresh::handler),
        )
        .route(
            "/api/collections/{collection}/request-verification",
            post(auth::request_verification::handler),
        )
        .route(
            "/api/collections/{collection}/confirm-verification",
            post(auth::confirm_verification::handler),
        )
        .route(
            "/api/collections/{collection}/request-password-reset",
            post(auth::request_password_reset::handler),
        )
        .route(
            "/api/collections/{collection}/confirm-password-reset",
            post(auth::confirm_password_reset::handler),
        )
        .route(
            "/api/collections/{collection}/request-email-change",
            post(auth::request_email_change::handler),
        )
        .route(
            "/api/collections/{collection}/confirm-email-change",
            post(auth::confirm_email_change::handler),
        )
        .route(
            "/api/collections/{collection}/request-otp",
            post(auth::request_otp::handler),
        )
        .route(
            "/api/collections/{collection}/auth-with-otp",
            post(auth::with_otp::handler),
        )
        .route(
            "/api/collections/{collection}/impersonate/{id}",
            post(auth::impersonate::handler),
        )
        .route(
            "/api/collections/{collection}/auth-with-oauth2",
            post(auth::with_oauth2::handler),
        )
        .route(
            "/api/collections/meta/oauth2-providers",
            get(auth::oauth2_providers::handler),
        )
        .route(
            "/api/oauth2-redirect",
            get(auth::oauth2_redirect::handler).post(auth::oauth2_redirect::handler),
        )
        .route("/api/logs", get(logs::list::handler))
        .route("/api/logs/stats", get(logs::stats::handler))
        .route("/api/logs/{id}", get(logs::view::handler))
        .route(
            "/api/realtime",
            get(realtime::connect::handler).post(realtime::subscribe::handler),
        )
        .route("/api/realtime/ws", get(realtime::ws::handler))
        .route("/api/files/token", post(files::token::handler))
        .route(
            "/api/files/{collection}/{record}/{filename}",
            get(files::download::handler),
        )
        .route(
            "/api/batch",
            // The batch applies its own body limit, from the settings.
            post(batch::send::handler).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/api/settings/test/s3", post(settings::test_s3::handler))
        .route(
            "/api/settings/test/email",
            post(settings::test_email::handler),
        )
        .route(
            "/api/settings",
            get(settings::get::handler).patch(settings::update::handler),
        )
        .route("/_", get(admin::assets::redirect))
        .route("/_/", get(admin::assets::index))
        .route("/_/{*path}", get(admin::assets::handler))
        .route("/api/install", post(admin::install::handler))
        .route("/api/install/check", post(admin::install_check::handler))
        // PocketBase serves static files for every other path, so a miss reads "File not found.".
        .fallback(|| async { ApiError::new(axum::http::StatusCode::NOT_FOUND, "File not found.") })
        .with_state(state.clone());
    // The middleware wraps the router once rather than each route (`Router::layer`): a layered
    // route is a box around a box per layer, and that chain was cloned on every request. The
    // stack is served as it is: wrapped in a `Router` again (`fallback_service`), every request
    // went through a second router, matched a catch-all and had its path parameters collected
    // twice (~1.5k instructions).
    tower::ServiceBuilder::new()
        .layer(axum::middleware::from_fn_with_state(
            state,
            front::middleware,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(extract::MAX_BODY))
        .service(routes)
}
