//! The stylesheet, compiled into the binary and served under a path holding its digest, so
//! that browsers may keep it forever (a new stylesheet is a new path). No scripts: the pages
//! need none.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// Light and dark (`prefers-color-scheme`), narrow screens, visible focus; colours chosen for
/// WCAG AA contrast on their background.
const STYLESHEET: &str = r#":root {
  color-scheme: light dark;
  --bg: #ffffff; --fg: #1b1f24; --muted: #4f5863; --line: #d0d7de; --panel: #f6f8fa;
  --link: #0550ae; --focus: #bf3989; --bad: #a40e26; --warn: #7d4e00; --good: #116329;
  --code-keyword: #8250df; --code-string: #0a3069; --code-number: #953800; --code-operator: #cf222e;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9da7b3; --line: #3d444d; --panel: #161b22;
    --link: #79c0ff; --focus: #ff7bc6; --bad: #ff8182; --warn: #e3b341; --good: #56d364;
    --code-keyword: #d2a8ff; --code-string: #a5d6ff; --code-number: #ffa657; --code-operator: #ff7b72;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
a { color: var(--link); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible {
  outline: 3px solid var(--focus); outline-offset: 2px;
}
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: .5rem; z-index: 1; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
header.site { border-bottom: 1px solid var(--line); background: var(--panel); }
nav.site { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; max-width: 72rem; margin: 0 auto; padding: .5rem 1rem; }
nav.site .brand { font-weight: 700; text-decoration: none; color: var(--fg); }
form.search { display: flex; gap: .25rem; flex: 1 1 14rem; }
form.search input { flex: 1; min-width: 0; }
form.inline { display: inline; }
input, select, button { font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--muted); border-radius: 4px; padding: .25rem .5rem; }
button { cursor: pointer; background: var(--panel); }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
footer.site { max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: var(--muted); border-top: 1px solid var(--line); }
nav.crumbs ol { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: .25rem; color: var(--muted); }
nav.crumbs li + li::before { content: "/"; margin-right: .25rem; }
h1 { font-size: 1.75rem; margin: .5rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.35rem; margin-top: 2rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.1rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--line); }
th { background: var(--panel); }
td { overflow-wrap: anywhere; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
pre { background: var(--panel); border: 1px solid var(--line); padding: .75rem; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.tag { display: inline-block; border: 1px solid var(--line); border-radius: 1rem; padding: 0 .5rem; margin: 0 .25rem .25rem 0; font-size: .85em; }
.yanked, .severity-critical, .severity-high { color: var(--bad); font-weight: 600; }
.deprecated, .severity-medium { color: var(--warn); font-weight: 600; }
.verified { color: var(--good); font-weight: 600; }
.severity-low, .severity-info { color: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
form.filter { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; margin: 1rem 0; }
form.filter label { display: flex; flex-direction: column; }
ul.plain { list-style: none; padding: 0; }
.cel .keyword { color: var(--code-keyword); font-weight: 600; }
.cel .string { color: var(--code-string); }
.cel .number { color: var(--code-number); }
.cel .operator { color: var(--code-operator); }
.cel .identifier { color: var(--fg); }
@media (max-width: 40rem) {
  dl.facts { grid-template-columns: 1fr; }
  dl.facts dd { margin-bottom: .5rem; }
  th, td { padding: .25rem; }
  h1 { font-size: 1.4rem; }
}
"#;

/// The first 16 hex digits of the stylesheet's sha256: enough to tell versions apart.
static STYLESHEET_DIGEST: LazyLock<String> = LazyLock::new(|| {
    threatpack::digest::sha256_hex(STYLESHEET.as_bytes())
        .chars()
        .take(16)
        .collect()
});

static STYLESHEET_PATH: LazyLock<String> =
    LazyLock::new(|| format!("/static/{}/site.css", STYLESHEET_DIGEST.as_str()));

/// Where pages link the stylesheet.
pub fn stylesheet_path() -> &'static str {
    STYLESHEET_PATH.as_str()
}

/// The digest in the stylesheet's path, for ETags of pages that embed its path.
pub(crate) fn stylesheet_digest() -> &'static str {
    STYLESHEET_DIGEST.as_str()
}

/// `GET /static/{digest}/site.css`: the stylesheet, cached for a year; another digest is a 404
/// (an old page asking for a stylesheet this build no longer has).
pub(crate) async fn stylesheet(Path(digest): Path<String>) -> Response {
    if digest != STYLESHEET_DIGEST.as_str() {
        return super::layout::not_found("stylesheet");
    }
    let mut response = STYLESHEET.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    super::layout::security_headers(headers);
    response
}

/// `/favicon.ico`: the site has no icon. No page names one, and without an answer browsers
/// log the 404 of the one they ask for on every page: 204, cached for a day.
pub(crate) async fn no_icon() -> Response {
    let mut response = axum::http::StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}
