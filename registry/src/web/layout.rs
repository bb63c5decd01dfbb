//! The frame of every HTML page (header, search, breadcrumbs, main, footer) and the headers
//! every HTML answer carries: the Content-Security-Policy and its companions.
//!
//! The page's `title` is its one `h1`; the body comes after it, inside `main`, and uses `h2`
//! and below.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

/// No inline script or style, nothing from another origin, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What the frame needs to know of a page.
pub struct Page<'a> {
    pub title: &'a str,
    /// `(label, href)` from the home page down to the page's parent.
    pub crumbs: Vec<(String, String)>,
    /// The href of the same data as JSON, linked from the page.
    pub json: Option<String>,
    pub signed_in: bool,
}

/// The page in its frame: 200, `text/html; charset=utf-8`, the security headers, and
/// `cache-control: no-cache` (a caller serving an immutable page sets its own).
pub fn render(page: Page<'_>, body: Markup) -> Response {
    html_response(StatusCode::OK, document(&page, body))
}

/// The 404 page: "no such `what`".
pub fn not_found(what: &str) -> Response {
    error_page(StatusCode::NOT_FOUND, &format!("No such {what}"), None)
}

/// An error as a page: the status, a heading and, when there is one, a sentence saying why.
pub fn error_page(status: StatusCode, heading: &str, detail: Option<&str>) -> Response {
    let page = Page {
        title: heading,
        crumbs: vec![("Home".to_string(), "/".to_string())],
        json: None,
        signed_in: false,
    };
    let body = html! {
        @if let Some(detail) = detail { p { (detail) } }
        p { "Search the packs from the " a href="/" { "home page" } "." }
    };
    html_response(status, document(&page, body))
}

/// Adds the headers every HTML answer carries.
pub fn security_headers(headers: &mut HeaderMap) {
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
}

fn html_response(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, without_controls(markup.into_string())).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    security_headers(headers);
    response
}

/// `html` with every control character (C0 but tab and line ends, DEL, C1) and every
/// bidirectional override replaced by U+FFFD: maud escapes markup, not these, and a pack's
/// text may hold them to garble or disguise what a page shows. The templates hold none.
fn without_controls(html: String) -> String {
    let unsafe_character = |character: char| {
        (character.is_control() && !matches!(character, '\t' | '\n' | '\r'))
            || matches!(character, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if !html.contains(unsafe_character) {
        return html;
    }
    html.chars()
        .map(|character| {
            if unsafe_character(character) {
                '\u{FFFD}'
            } else {
                character
            }
        })
        .collect()
}

fn document(page: &Page<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (page.title) " · threatpack registry" }
                link rel="stylesheet" href=(super::assets::stylesheet_path());
                @if let Some(json) = &page.json {
                    link rel="alternate" type="application/json" href=(json);
                }
            }
            body {
                a.skip href="#main" { "Skip to the content" }
                header.site {
                    nav.site aria-label="Site" {
                        a.brand href="/" { "threatpack registry" }
                        form.search action="/search" method="get" role="search" {
                            label {
                                span.visually-hidden { "Search packs" }
                                input type="search" name="q" placeholder="Search packs";
                            }
                            button type="submit" { "Search" }
                        }
                        a href="/portfolio" { "Portfolio" }
                        @if page.signed_in {
                            form.inline action="/logout" method="post" {
                                button type="submit" { "Sign out" }
                            }
                        } @else {
                            a href="/login" { "Sign in" }
                        }
                    }
                }
                main #main {
                    @if !page.crumbs.is_empty() {
                        nav.crumbs aria-label="Breadcrumb" {
                            ol {
                                @for (label, href) in &page.crumbs {
                                    li { a href=(href) { (label) } }
                                }
                            }
                        }
                    }
                    h1 { (page.title) }
                    (body)
                }
                footer.site {
                    @if let Some(json) = &page.json {
                        p { a href=(json) { "This page's data as JSON" } }
                    }
                    p { "threatpack registry · " a href="/api/v1/health" { "API" } }
                }
            }
        }
    }
}
