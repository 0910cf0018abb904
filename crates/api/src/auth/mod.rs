//! `/api/collections/{c}/auth-*`, `request-*`, `confirm-*` and `impersonate`.

pub mod confirm_email_change;
pub mod confirm_password_reset;
pub mod confirm_verification;
pub mod impersonate;
pub mod methods;
pub mod oauth2_providers;
pub mod oauth2_redirect;
pub mod refresh;
pub mod request_email_change;
pub mod request_otp;
pub mod request_password_reset;
pub mod request_verification;
pub mod with_oauth2;
pub mod with_otp;
pub mod with_password;

use std::sync::Arc;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use motorbase_core::auth::alert::Origin;
use motorbase_core::auth::respond::{finish, SignIn};
use motorbase_core::auth::AuthError;
use motorbase_core::collections::Collection;
use motorbase_core::rules::{AuthInfo, RequestCtx};
use motorbase_core::CoreError;
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::extract::Body;
use crate::AppState;

/// The auth collection named in the URL, with PocketBase's 404s for a missing or non-auth one.
pub fn auth_collection(state: &AppState, name: &str) -> Result<Arc<Collection>, ApiError> {
    let not_found = |m: &str| ApiError::new(StatusCode::NOT_FOUND, m);
    let c = state
        .backend
        .schema()
        .get(name)
        .ok_or_else(|| not_found("Missing or invalid collection context."))?;
    if !c.is_auth() {
        return Err(not_found("Missing or invalid auth collection context."));
    }
    Ok(c)
}

/// An auth endpoint's failure: an API error, or the 401 `{mfaId}` that asks for a second factor.
#[derive(Debug)]
pub enum AuthReplyError {
    Api(ApiError),
    MfaRequired(String),
}

pub type AuthReply<T> = Result<T, AuthReplyError>;

impl From<ApiError> for AuthReplyError {
    fn from(e: ApiError) -> Self {
        AuthReplyError::Api(e)
    }
}

impl From<CoreError> for AuthReplyError {
    fn from(e: CoreError) -> Self {
        AuthReplyError::Api(e.into())
    }
}

/// One arm per outcome of the auth flows.
impl From<AuthError> for AuthReplyError {
    fn from(e: AuthError) -> Self {
        let api = match e {
            AuthError::BadRequest(m) => ApiError::new(StatusCode::BAD_REQUEST, m),
            AuthError::Invalid(data) => ApiError {
                status: StatusCode::BAD_REQUEST,
                message: "An error occurred while validating the submitted data.".into(),
                data,
            },
            AuthError::Unauthorized(m) => ApiError::new(StatusCode::UNAUTHORIZED, m),
            AuthError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            AuthError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, m),
            AuthError::TooManyRequests(m) => ApiError::new(StatusCode::TOO_MANY_REQUESTS, m),
            AuthError::MfaRequired { mfa_id } => return AuthReplyError::MfaRequired(mfa_id),
            AuthError::Core(core) => core.into(),
        };
        AuthReplyError::Api(api)
    }
}

impl IntoResponse for AuthReplyError {
    fn into_response(self) -> Response {
        match self {
            AuthReplyError::Api(e) => e.into_response(),
            AuthReplyError::MfaRequired(id) => {
                (StatusCode::UNAUTHORIZED, Json(json!({"mfaId": id}))).into_response()
            }
        }
    }
}

/// A request body, with PocketBase's wording for one that cannot be read.
pub fn form(body: Result<Body, ApiError>) -> Result<Map<String, Value>, ApiError> {
    body.map(|Body(b)| b)
        .map_err(|e| e.reword_bad_request("An error occurred while loading the submitted data."))
}

/// A text field of a form; other JSON types read as empty, as PocketBase's binding leaves them.
pub fn field(body: &Map<String, Value>, key: &str) -> String {
    match body.get(key) {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

/// Lets the record in (authRule, hooks, MFA) and answers `{token, record}`.
pub async fn sign_in(
    state: &AppState,
    c: &Arc<Collection>,
    full: Map<String, Value>,
    how: SignIn,
    ctx: RequestCtx,
) -> AuthReply<Json<Value>> {
    sign_in_with_meta(state, c, full, how, ctx, None).await
}

/// [`sign_in`], with the `meta` an OAuth2 sign-in adds to the answer.
pub async fn sign_in_with_meta(
    state: &AppState,
    c: &Arc<Collection>,
    full: Map<String, Value>,
    how: SignIn,
    mut ctx: RequestCtx,
    meta: Option<Value>,
) -> AuthReply<Json<Value>> {
    let token = finish(&state.backend, c, &full, how, &ctx).await?;
    ctx.auth = Some(AuthInfo {
        collection: c.clone(),
        record: full.clone(),
    });
    let record = motorbase_core::auth::respond::present(&state.backend, c, full, &ctx).await?;
    let mut answer = Map::new();
    answer.insert("token".into(), Value::String(token));
    answer.insert("record".into(), record);
    if let Some(m) = meta {
        answer.insert("meta".into(), m);
    }
    motorbase_core::auth::respond::pick_fields(&mut answer, &ctx);
    Ok(Json(Value::Object(answer)))
}

/// Where a request came from (the address as the rate limits read it, and the user agent),
/// for new-location alerts.
pub struct ClientOrigin(pub Origin);

impl FromRequestParts<Arc<AppState>> for ClientOrigin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        let ip = crate::access::client_ip(&state.backend.settings(), &parts.headers, peer);
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        Ok(ClientOrigin(Origin { ip, user_agent }))
    }
}

/// The `mfaId` a second factor brings: from the query, else from the body.
pub fn mfa_id(ctx: &RequestCtx, body: &Map<String, Value>) -> String {
    ctx.query
        .get("mfaId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| field(body, "mfaId"))
}
