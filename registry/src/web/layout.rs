//! The page around every page's content (stand-in with the layout contract of DESIGN-17.md
//! until the `web` branch's layout is merged).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

/// The Content-Security-Policy of every HTML page.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub struct Page<'a> {
    pub title: &'a str,
    /// (label, href)
    pub crumbs: Vec<(String, String)>,
    /// The href of the same data as JSON.
    pub json: Option<String>,
    pub signed_in: bool,
}

/// A 200 HTML page with the security headers.
pub fn render(page: Page<'_>, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (page.title) " · threatpack registry" }
            }
            body {
                header {
                    nav aria-label="Breadcrumbs" {
                        a href="/" { "threatpack registry" }
                        @for (label, href) in &page.crumbs { " / " a href=(href) { (label) } }
                    }
                    @if page.signed_in {
                        form method="post" action="/logout" { button type="submit" { "Sign out" } }
                    }
                }
                main { (body) }
                footer { @if let Some(json) = &page.json { a href=(json) { "This page as JSON" } } }
            }
        }
    };
    let mut response = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// A 404 HTML page.
pub fn not_found(what: &str) -> Response {
    let page = Page {
        title: "Not found",
        crumbs: Vec::new(),
        json: None,
        signed_in: false,
    };
    let mut response = render(page, html! { h1 { "Not found" } p { (what) } });
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}
