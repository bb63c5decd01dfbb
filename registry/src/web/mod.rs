//! The registry's web face: server-rendered HTML pages beside the API (docs/web.md).
//!
//! Minimal until the `web` branch's skeleton is merged: only the portfolio's pages.

mod chart;
pub(crate) mod layout;
mod portfolio;
pub(crate) mod session;

use axum::Router;

use crate::api::AppState;

/// The routes of every page.
pub(crate) fn router() -> Router<AppState> {
    Router::new().merge(portfolio::router())
}
