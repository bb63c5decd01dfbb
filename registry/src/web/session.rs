//! Signing in to the web pages with an API token: `/login` checks the token as the API does
//! (scope `portfolio`) and sets the cookie `tp_session` to a new random session id, kept here
//! in memory with the token's id and hash (never the token) until the token expires or 12 h
//! pass; `/logout` ends it. Both are POSTs checked against cross-site requests (`same_origin`
//! beside the cookie's `SameSite=Strict`).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ct_codecs::{Encoder, Hex};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{Page, error_page, render};
use crate::api::AppState;
use crate::api::auth::token_by_hash;
use crate::api::portfolio::require_portfolio;
use crate::store::TokenRecord;
use crate::tokens::hash_token;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "tp_session";

/// The longest a session lives, whatever the token's expiry.
pub(crate) const MAX_SESSION_SECONDS: i64 = 12 * 3600;

/// Sessions kept at most: the memory is bounded whoever signs in; past it, the session
/// closest to its end goes first.
const MAX_SESSIONS: usize = 10_000;

/// The longest token a sign-in form takes (tokens are 68 characters).
const MAX_TOKEN_CHARS: usize = 256;

/// The sessions of one registry, by session id.
#[derive(Default)]
pub(crate) struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
}

#[derive(Debug, Clone)]
struct Session {
    token_id: i64,
    /// What the store looks the token up by (`hash_token`): its revocation ends the session.
    token_hash: String,
    /// Unix seconds.
    expires_at: i64,
}

impl Sessions {
    /// A new session for `token` (whose hash is `token_hash`); returns its id and its end.
    fn create(
        &self,
        token: &TokenRecord,
        token_hash: String,
        now: i64,
    ) -> Result<(String, i64), String> {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|error| format!("no random source: {error}"))?;
        let id = Hex::encode_to_string(random).map_err(|error| error.to_string())?;
        let expires_at = token
            .expires_at
            .map_or(now + MAX_SESSION_SECONDS, |expires_at| {
                expires_at.min(now + MAX_SESSION_SECONDS)
            });
        let mut sessions = self.lock();
        sessions.retain(|_, session| session.expires_at > now);
        if sessions.len() >= MAX_SESSIONS
            && let Some(first_to_end) = sessions
                .iter()
                .min_by_key(|(_, session)| session.expires_at)
                .map(|(id, _)| id.clone())
        {
            sessions.remove(&first_to_end);
        }
        sessions.insert(
            id.clone(),
            Session {
                token_id: token.id,
                token_hash,
                expires_at,
            },
        );
        Ok((id, expires_at))
    }

    /// The live session `id`, if any.
    fn get(&self, id: &str, now: i64) -> Option<Session> {
        let mut sessions = self.lock();
        match sessions.get(id) {
            Some(session) if session.expires_at > now => Some(session.clone()),
            Some(_) => {
                sessions.remove(id);
                None
            }
            None => None,
        }
    }

    fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the map leaves it consistent (each change is one call).
        self.by_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The token of the request's session, when it has a live one whose token is still valid and
/// has the `portfolio` scope. Pages that show data under a token call this.
pub(crate) async fn viewer(state: &AppState, headers: &HeaderMap) -> Option<TokenRecord> {
    let id = session_id(headers)?;
    let now = threatpack::time::now();
    let session = state.sessions.get(&id, now)?;
    match token_by_hash(state, session.token_hash.clone()).await {
        Ok(token) if token.id == session.token_id && require_portfolio(&token).is_ok() => {
            Some(token)
        }
        _ => {
            state.sessions.remove(&id);
            None
        }
    }
}

/// A redirection to the sign-in page that comes back to `next` (a path of this site).
pub(crate) fn to_login(next: &str) -> Response {
    let location = format!("/login?next={}", percent_encode(next));
    redirect(&location)
}

/// The session id of the request's `tp_session` cookie, when it has the shape of one.
fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|value| value.len() == 64 && value.bytes().all(|byte| byte.is_ascii_hexdigit()))
}

/// The sign-in and sign-out routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
    next: Option<String>,
}

async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LoginQuery>, QueryRejection>,
) -> Response {
    let next = safe_next(query.ok().and_then(|Query(query)| query.next).as_deref());
    let signed_in = viewer(&state, &headers).await.is_some();
    login_page(StatusCode::OK, &next, None, signed_in)
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    if let Some(refusal) = refuse_cross_site(&headers) {
        return refusal;
    }
    let Ok(Form(form)) = form else {
        return login_page(
            StatusCode::BAD_REQUEST,
            "/portfolio",
            Some("the form was not sent as a sign-in form: reload the page and try again"),
            false,
        );
    };
    let next = safe_next(form.next.as_deref());
    let token = form.token.trim();
    if token.is_empty() || token.chars().count() > MAX_TOKEN_CHARS {
        return login_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &next,
            Some("paste an API token: `threatpack-registry token create --scopes portfolio`"),
            false,
        );
    }
    let hash = hash_token(token);
    let record = match token_by_hash(&state, hash.clone()).await {
        Ok(record) => record,
        Err(error) => {
            let (status, detail) = error.parts();
            return login_page(status, &next, Some(detail), false);
        }
    };
    if let Err(error) = require_portfolio(&record) {
        let (status, detail) = error.parts();
        return login_page(status, &next, Some(detail), false);
    }
    // Signing in again replaces the browser's session: the old id stops working.
    if let Some(old) = session_id(&headers) {
        state.sessions.remove(&old);
    }
    let now = threatpack::time::now();
    let (id, expires_at) = match state.sessions.create(&record, hash, now) {
        Ok(created) => created,
        Err(detail) => {
            tracing::error!(detail = %detail, "no session");
            return login_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                &next,
                Some("the registry could not start a session; its log says why"),
                false,
            );
        }
    };
    let secure = if over_https(&headers, &uri) {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        expires_at - now
    );
    let mut response = redirect(&next);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(refusal) = refuse_cross_site(&headers) {
        return refusal;
    }
    if let Some(id) = session_id(&headers) {
        state.sessions.remove(&id);
    }
    let mut response = redirect("/");
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("tp_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    response
}

fn login_page(status: StatusCode, next: &str, problem: Option<&str>, signed_in: bool) -> Response {
    let body: Markup = html! {
        p {
            "The portfolio shows the projects an API token with the " code { "portfolio" }
            " scope may read. Paste such a token; the registry keeps a session for it (at most 12 hours, never past the token's expiry), not the token."
        }
        @if signed_in { p { "You are signed in; signing in again replaces the session." } }
        @if let Some(problem) = problem {
            p class="error" role="alert" { (problem) }
        }
        form method="post" action="/login" {
            input type="hidden" name="next" value=(next);
            label for="token" { "API token" }
            input id="token" name="token" type="password" autocomplete="off" required;
            button type="submit" { "Sign in" }
        }
    };
    let mut response = render(
        Page {
            title: "Sign in",
            crumbs: vec![("Home".to_string(), "/".to_string())],
            json: None,
            signed_in,
        },
        body,
    );
    *response.status_mut() = status;
    response
}

/// Where to go after signing in: a path of the portfolio, else the portfolio itself (never
/// another site: `//host` and `/\host` are refused).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(next)
            if (next == "/portfolio" || next.starts_with("/portfolio/"))
                && !next.contains(['\\', '\r', '\n'])
                && next.len() <= 1024 =>
        {
            next.to_string()
        }
        _ => "/portfolio".to_string(),
    }
}

/// A POST from a page of this site: its `Origin` (or, without one, its `Referer`) names the
/// host the request was sent to. Browsers send `Origin` with every form POST; a request
/// with neither is refused.
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok());
    let origin = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|value| value.to_str().ok());
    match (host, origin) {
        (Some(host), Some(origin)) => ["http://", "https://"].iter().any(|scheme| {
            origin
                .strip_prefix(scheme)
                .and_then(|rest| rest.strip_prefix(host))
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        }),
        _ => false,
    }
}

/// The 403 page for a POST `same_origin` refuses, if it does.
fn refuse_cross_site(headers: &HeaderMap) -> Option<Response> {
    if same_origin(headers) {
        return None;
    }
    Some(error_page(
        StatusCode::FORBIDDEN,
        "Refused",
        Some(
            "This form must be sent from a page of this registry. Go back, reload the page and try again.",
        ),
    ))
}

/// The request reached the registry over https: directly, or through a proxy that says so.
/// Only the cookie's `Secure` attribute depends on it.
fn over_https(headers: &HeaderMap, uri: &Uri) -> bool {
    uri.scheme_str() == Some("https")
        || headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
        || headers
            .get(header::ORIGIN)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|origin| origin.starts_with("https://"))
}

fn redirect(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `text` for a query value: unreserved characters and `/` as they are, the rest as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(expires_at: Option<i64>) -> TokenRecord {
        TokenRecord {
            id: 7,
            scopes: vec![crate::tokens::Scope::Portfolio],
            namespaces: vec!["acme/*".to_string()],
            expires_at,
            revoked_at: None,
        }
    }

    #[test]
    fn a_session_ends_with_its_token_or_after_twelve_hours() {
        let sessions = Sessions::default();
        let (id, end) = sessions
            .create(&token(Some(1_000 + 60)), "h".to_string(), 1_000)
            .expect("a session");
        assert_eq!(end, 1_060);
        assert!(sessions.get(&id, 1_059).is_some());
        assert!(sessions.get(&id, 1_060).is_none());
        let (id, end) = sessions
            .create(&token(None), "h".to_string(), 1_000)
            .expect("a session");
        assert_eq!(end, 1_000 + MAX_SESSION_SECONDS);
        assert_eq!(id.len(), 64);
        sessions.remove(&id);
        assert!(sessions.get(&id, 1_001).is_none());
    }

    #[test]
    fn sessions_are_bounded() {
        let sessions = Sessions::default();
        for _ in 0..MAX_SESSIONS + 5 {
            sessions
                .create(&token(None), "h".to_string(), 1_000)
                .expect("a session");
        }
        assert_eq!(sessions.lock().len(), MAX_SESSIONS);
    }

    #[test]
    fn only_portfolio_paths_are_followed_after_signing_in() {
        for (next, expected) in [
            (
                Some("/portfolio/projects/acme/shop"),
                "/portfolio/projects/acme/shop",
            ),
            (Some("//evil.example/portfolio"), "/portfolio"),
            (Some("https://evil.example/"), "/portfolio"),
            (Some("/portfolio/\\evil"), "/portfolio"),
            (Some("/portfolios"), "/portfolio"),
            (None, "/portfolio"),
        ] {
            assert_eq!(safe_next(next), expected, "{next:?}");
        }
    }

    #[test]
    fn a_post_must_come_from_this_site() {
        let headers = |pairs: &[(header::HeaderName, &str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(name.clone(), HeaderValue::from_str(value).expect("a value"));
            }
            map
        };
        let host = (header::HOST, "127.0.0.1:8080");
        assert!(same_origin(&headers(&[
            host.clone(),
            (header::ORIGIN, "http://127.0.0.1:8080")
        ])));
        assert!(same_origin(&headers(&[
            host.clone(),
            (header::REFERER, "http://127.0.0.1:8080/login")
        ])));
        for origin in [
            "http://127.0.0.1:8080.evil.example",
            "https://evil.example",
            "null",
        ] {
            assert!(
                !same_origin(&headers(&[host.clone(), (header::ORIGIN, origin)])),
                "{origin}"
            );
        }
        assert!(
            !same_origin(&headers(&[host])),
            "neither Origin nor Referer"
        );
    }

    #[test]
    fn the_cookie_is_read_among_others_and_only_in_its_shape() {
        let id = "a".repeat(64);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("theme=dark; {COOKIE}={id}")).expect("a value"),
        );
        assert_eq!(session_id(&headers), Some(id));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("tp_session=<script>"),
        );
        assert_eq!(session_id(&headers), None);
    }
}
