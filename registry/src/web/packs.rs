//! The pages of packs: home, search, a pack, a version's knowledge, one entity, attack pattern
//! or mitigation, a version's changelog and the diff of two versions.
//!
//! Handlers read the store (the same calls as the API) and the bundle (`super::knowledge`),
//! then call a pure `*_body` function that turns the data into markup; the template tests call
//! those with hostile content.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use threatpack::compile::{
    CompiledAttackPattern, CompiledEntity, CompiledMitigation, KnowledgeBase,
};
use threatpack::model::{References, Status};
use threatpack::wire::{BumpLevel, Dependent, IndexVersion, SearchHit, SemverDecision};

use super::condition::highlight;
use super::layout::{Page, render};
use super::{
    Knowledge, WebError, WebResult, computed_text, immutable, knowledge, query_value, segment,
};
use crate::api::{AppState, blocking, pack_name};
use crate::store::{PackIndex, Release};

/// Packs per page of search results (and on the home page).
const PER_PAGE: u64 = 20;
/// Releases on the home page.
const RECENT_RELEASES: u64 = 10;

// ------------------------------------------------------------------------------------------
// Home and search

pub(super) async fn home(State(state): State<AppState>) -> WebResult {
    let (recent, (total, packs)) = blocking(&state, |store| {
        Ok((
            store.recent_releases(RECENT_RELEASES)?,
            store.search("", 0, PER_PAGE)?,
        ))
    })
    .await?;
    Ok(render(
        Page {
            title: "Threat-modeling knowledge packs",
            crumbs: Vec::new(),
            json: Some("/api/v1/packs".to_string()),
            signed_in: false,
        },
        home_body(&recent, total, &packs),
    ))
}

pub(crate) fn home_body(recent: &[Release], total: u64, packs: &[SearchHit]) -> Markup {
    html! {
        p { "Knowledge bases of entities, attack patterns and mitigations, published and signed by their authors. Find one by name, description or tag:" }
        (search_form(""))
        h2 { "Recent releases" }
        @if recent.is_empty() {
            p { "Nothing is published yet." }
        } @else {
            ul {
                @for release in recent {
                    li {
                        a href=(version_href(&release.pack, &release.version)) { (release.pack) " " (release.version) }
                        " · " span.muted { (release.published_at) }
                        @if release.yanked { " " span.yanked { "yanked" } }
                        @if !release.description.is_empty() { " — " (release.description) }
                    }
                }
            }
        }
        h2 { "Packs" }
        (pack_list(packs))
        @if total > packs.len() as u64 {
            p { a href="/search?q=&page=2" { "All " (total) " packs" } }
        }
    }
}

fn search_form(query: &str) -> Markup {
    html! {
        form.filter action="/search" method="get" role="search" {
            label { "Search text" input type="search" name="q" value=(query); }
            button type="submit" { "Search" }
        }
    }
}

fn pack_list(packs: &[SearchHit]) -> Markup {
    html! {
        @if packs.is_empty() {
            p { "No packs." }
        } @else {
            ul.plain {
                @for hit in packs {
                    li {
                        h3 { a href=(pack_href(&hit.name)) { (hit.name) } }
                        p {
                            @if let Some(latest) = &hit.latest_version { span.muted { "latest " (latest) } " · " }
                            (hit.description)
                        }
                        @if !hit.tags.is_empty() {
                            p { @for tag in &hit.tags { a.tag href={ "/search?q=" (query_value(tag)) } { (tag) } } }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    #[serde(default)]
    q: String,
    page: Option<u64>,
}

pub(super) async fn search(
    State(state): State<AppState>,
    Query(query): Query<SearchQuery>,
) -> WebResult {
    let chars = query.q.chars().count();
    if chars > crate::api::search::MAX_QUERY_CHARS {
        return Err(WebError::BadRequest(format!(
            "the search text has {chars} characters; at most {} are searched",
            crate::api::search::MAX_QUERY_CHARS
        )));
    }
    let page = query.page.unwrap_or(1).max(1);
    let offset = (page - 1).saturating_mul(PER_PAGE);
    let text = query.q.clone();
    let (total, packs) =
        blocking(&state, move |store| store.search(&text, offset, PER_PAGE)).await?;
    let title = if query.q.is_empty() {
        "All packs".to_string()
    } else {
        format!("Packs matching “{}”", query.q)
    };
    let more = offset.saturating_add(packs.len() as u64) < total;
    let here = |page: u64| format!("/search?q={}&page={page}", query_value(&query.q));
    Ok(render(
        Page {
            title: &title,
            crumbs: vec![("Home".to_string(), "/".to_string())],
            json: Some(format!(
                "/api/v1/packs?q={}&page={page}&per_page={PER_PAGE}",
                query_value(&query.q)
            )),
            signed_in: false,
        },
        html! {
            (search_form(&query.q))
            p { (total) " packs" @if total > 0 { ", page " (page) } "." }
            (pack_list(&packs))
            nav aria-label="Pages" {
                @if page > 1 { a href=(here(page - 1)) rel="prev" { "Previous page" } " " }
                @if more { a href=(here(page + 1)) rel="next" { "Next page" } }
            }
        },
    ))
}

// ------------------------------------------------------------------------------------------
// A pack

/// The pack's name from the path, or a 404 (a malformed name is no pack).
fn checked_pack(namespace: &str, name: &str) -> Result<String, WebError> {
    pack_name(namespace, name).map_err(|_| WebError::NotFound(format!("pack `{namespace}/{name}`")))
}

async fn pack_index(state: &AppState, pack: &str) -> Result<PackIndex, WebError> {
    let lookup = pack.to_string();
    blocking(state, move |store| store.index(&lookup))
        .await?
        .ok_or_else(|| WebError::NotFound(format!("pack `{pack}`")))
}

/// The newest version not yanked, else the newest.
fn latest(index: &PackIndex) -> Option<&IndexVersion> {
    index
        .versions
        .iter()
        .rev()
        .find(|record| !record.yanked)
        .or_else(|| index.versions.last())
}

pub(super) async fn pack(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> WebResult {
    let pack = checked_pack(&namespace, &name)?;
    let index = pack_index(&state, &pack).await?;
    let lookup = namespace.clone();
    let owners = blocking(&state, move |store| store.namespace(&lookup))
        .await?
        .map(|namespace| namespace.owners)
        .unwrap_or_default();
    let latest_knowledge = match latest(&index) {
        Some(record) => Some(knowledge(&state, sha256_of(record)).await?),
        None => None,
    };
    // Dependents need a signed-in viewer whose token may read them (the portfolio's
    // session); without one the section is left out.
    let dependents = super::portfolio::viewer_dependents(&state, &headers, &pack).await;
    let page = render(
        Page {
            title: &pack,
            crumbs: vec![("Home".to_string(), "/".to_string())],
            json: Some(format!("/api/v1/packs/{pack}")),
            signed_in: dependents.is_some(),
        },
        pack_body(
            &pack,
            &index,
            &owners,
            latest_knowledge.as_deref(),
            dependents.as_deref(),
        ),
    );
    Ok(match dependents {
        Some(_) => super::portfolio::private(page),
        None => page,
    })
}

pub(crate) fn pack_body(
    pack: &str,
    index: &PackIndex,
    owners: &[String],
    latest_knowledge: Option<&Knowledge>,
    dependents: Option<&[Dependent]>,
) -> Markup {
    let latest = latest(index);
    let manifest = latest_knowledge.map(|knowledge| &knowledge.manifest);
    let info = latest_knowledge.and_then(|knowledge| {
        knowledge
            .kb
            .packs
            .iter()
            .find(|info| info.name == knowledge.kb.pack)
    });
    html! {
        @if let Some(manifest) = manifest { p { (manifest.description) } }
        dl.facts {
            @if let Some(record) = latest {
                dt { "Latest version" }
                dd { a href=(version_href(pack, &record.version)) { (record.version) } }
            }
            @if let Some(manifest) = manifest {
                dt { "Licence" } dd { (manifest.license) }
            }
            @if let Some(info) = info {
                @if !info.authors.is_empty() { dt { "Authors" } dd { (info.authors.join(", ")) } }
                @if let Some(homepage) = &info.homepage { dt { "Homepage" } dd { (external_link(homepage)) } }
                @if let Some(repository) = &info.repository { dt { "Repository" } dd { (external_link(repository)) } }
            }
            dt { "Owners" }
            dd { @if owners.is_empty() { "none listed" } @else { (owners.join(", ")) } }
        }
        @if let Some(record) = latest {
            h2 { "Use it" }
            p { "In your project's " code { "threatpack.toml" } ", then " code { "threatpack lock" } ":" }
            pre { code { (dependency_line(pack, record)) } }
        }
        h2 { "Versions" }
        div.table-wrap {
            table {
                thead { tr {
                    th scope="col" { "Version" } th scope="col" { "Published" } th scope="col" { "Tier" }
                    th scope="col" { "Signer key" } th scope="col" { "Semver check" }
                    th scope="col" { "Transparency log" } th scope="col" { "History" }
                } }
                tbody {
                    @for (position, record) in index.versions.iter().enumerate().rev() {
                        tr {
                            th scope="row" {
                                a href=(version_href(pack, &record.version)) { (record.version) }
                                @if record.yanked {
                                    " " span.yanked { "yanked" }
                                    @if let Some(reason) = &record.yank_reason { br; span.muted { (reason) } }
                                }
                                @if let Some(deprecated) = &record.deprecated {
                                    " " span.yanked { "deprecated" }
                                    br; span.muted { (deprecated.message)
                                        @if let Some(replacement) = &deprecated.replacement {
                                            " (use " a href=(version_href(pack, replacement)) { (replacement) } ")"
                                        }
                                    }
                                }
                            }
                            td { (record.published_at) }
                            td { (record.tier.as_deref().unwrap_or("all")) }
                            td {
                                code { (record.signer_key_id) }
                                @if record.signer_key_removed { " " span.deprecated { "key removed" } }
                            }
                            td { (semver_words(record.semver.as_ref())) }
                            td { @match record.log_index { Some(entry) => { "entry " (entry) }, None => span.muted { "not logged" } } }
                            td {
                                a href={ (version_href(pack, &record.version)) "/changelog" } { "changelog" }
                                @if let Some(previous) = position.checked_sub(1).and_then(|previous| index.versions.get(previous)) {
                                    " · " a href=(diff_href(pack, &previous.version, &record.version)) { "diff with " (previous.version) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if index.versions.len() > 1 {
            h2 { "Compare two versions" }
            form.filter action={ (pack_href(pack)) "/diff" } method="get" {
                label { "Old" select name="old" {
                    @for (position, record) in index.versions.iter().enumerate() {
                        option value=(record.version) selected[position + 2 == index.versions.len()] { (record.version) }
                    }
                } }
                label { "New" select name="new" {
                    @for (position, record) in index.versions.iter().enumerate() {
                        option value=(record.version) selected[position + 1 == index.versions.len()] { (record.version) }
                    }
                } }
                button type="submit" { "Show the diff" }
            }
        }
        @if let Some(dependents) = dependents {
            h2 { "Dependents" }
            @if dependents.is_empty() {
                p { "No project you may read uses this pack." }
            } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Project" } th scope="col" { "Version used" } th scope="col" { "Latest report" } } }
                    tbody {
                        @for dependent in dependents {
                            tr {
                                th scope="row" { (dependent.project) }
                                td { a href=(version_href(pack, &dependent.version)) { (dependent.version) } }
                                td { (dependent.received_at) }
                            }
                        }
                    }
                } }
            }
        }
        @if let Some(record) = latest {
            h2 { "Dependencies of " (record.version) }
            @if record.dependencies.is_empty() {
                p { "None." }
            } @else {
                ul {
                    @for dependency in &record.dependencies {
                        li {
                            a href=(pack_href(&dependency.name)) { (dependency.name) }
                            " " (dependency.requirement) ", built with "
                            a href=(version_href(&dependency.name, &dependency.version)) { (dependency.version) }
                        }
                    }
                }
            }
        }
    }
}

/// `"ns/name" = "^1.2.0"` (with the tier when the version is built for one).
fn dependency_line(pack: &str, record: &IndexVersion) -> String {
    match &record.tier {
        Some(tier) => format!(
            "\"{pack}\" = {{ version = \"^{}\", tier = \"{tier}\" }}",
            record.version
        ),
        None => format!("\"{pack}\" = \"^{}\"", record.version),
    }
}

fn bump_word(level: BumpLevel) -> &'static str {
    match level {
        BumpLevel::None => "no",
        BumpLevel::Patch => "patch",
        BumpLevel::Minor => "minor",
        BumpLevel::Major => "major",
    }
}

/// What the semver gate decided at publish, in words.
fn semver_words(decision: Option<&SemverDecision>) -> Markup {
    let Some(decision) = decision else {
        return html! { span.muted { "first version (or published before the check)" } };
    };
    html! {
        @if let Some(required) = decision.required {
            (bump_word(required)) " bump required"
            @if !decision.baseline.is_empty() { " over " (decision.baseline) }
            @if let Some(declared) = decision.declared { ", " (bump_word(declared)) " bump declared" }
        }
        @if let Some(note) = &decision.note { " " span.muted { (note) } }
        @if let Some(reason) = &decision.allowed_violation {
            br; span.deprecated { "accepted under-bump: " } (reason)
        }
    }
}

// ------------------------------------------------------------------------------------------
// A version's knowledge

#[derive(Deserialize, Default)]
pub(super) struct KnowledgeFilter {
    tier: Option<String>,
    category: Option<String>,
}

/// The published version `version` of `pack`, and its knowledge.
struct Loaded {
    pack: String,
    index: PackIndex,
    record: IndexVersion,
    knowledge: Arc<Knowledge>,
}

impl Loaded {
    /// The version's knowledge as JSON (`knowledge_json`).
    fn knowledge_json_href(&self) -> String {
        format!(
            "{}/knowledge.json",
            version_href(&self.pack, &self.record.version)
        )
    }

    /// Where the version's items link to.
    fn urls(&self) -> Urls<'_> {
        Urls {
            pack: &self.pack,
            base: version_href(&self.pack, &self.record.version),
        }
    }
}

async fn load_version(
    state: &AppState,
    namespace: &str,
    name: &str,
    version: &str,
) -> Result<Loaded, WebError> {
    let pack = checked_pack(namespace, name)?;
    let index = pack_index(state, &pack).await?;
    let record = index
        .versions
        .iter()
        .find(|record| record.version == version)
        .cloned()
        .ok_or_else(|| WebError::NotFound(format!("version {version} of `{pack}`")))?;
    let knowledge = knowledge(state, sha256_of(&record)).await?;
    Ok(Loaded {
        pack,
        index,
        record,
        knowledge,
    })
}

fn sha256_of(record: &IndexVersion) -> &str {
    record.digest.trim_start_matches("sha256:")
}

/// What an immutable page of a version depends on besides the bundle: its yank and
/// deprecation state.
fn yank_state(record: &IndexVersion) -> String {
    let deprecated = record.deprecated.as_ref();
    format!(
        "yanked={} reason={} deprecated={} use={}",
        record.yanked,
        record.yank_reason.as_deref().unwrap_or(""),
        deprecated.map_or("", |deprecated| deprecated.message.as_str()),
        deprecated
            .and_then(|deprecated| deprecated.replacement.as_deref())
            .unwrap_or("")
    )
}

pub(super) async fn version(
    State(state): State<AppState>,
    Path((namespace, name, version)): Path<(String, String, String)>,
    Query(filter): Query<KnowledgeFilter>,
    headers: HeaderMap,
) -> WebResult {
    let loaded = load_version(&state, &namespace, &name, &version).await?;
    let log = match loaded.record.log_index {
        Some(entry) => Some(log_status(&state, entry, &loaded.record).await?),
        None => None,
    };
    let log_state = log.as_ref().map(|status| status.text()).unwrap_or_default();
    let tier = filter.tier.unwrap_or_default();
    let category = filter.category.unwrap_or_default();
    Ok(immutable(
        &headers,
        &[
            sha256_of(&loaded.record),
            &yank_state(&loaded.record),
            &log_state,
            &tier,
            &category,
        ],
        || {
            let title = format!("{} {}", loaded.pack, loaded.record.version);
            render(
                Page {
                    title: &title,
                    crumbs: vec![
                        ("Home".to_string(), "/".to_string()),
                        (loaded.pack.clone(), pack_href(&loaded.pack)),
                    ],
                    json: Some(loaded.knowledge_json_href()),
                    signed_in: false,
                },
                version_body(
                    &loaded.pack,
                    &loaded.index,
                    &loaded.record,
                    &loaded.knowledge,
                    log.as_ref(),
                    &tier,
                    &category,
                ),
            )
        },
    ))
}

/// What the transparency log says of a version's publish entry, checked here: the entry's
/// inclusion proof against the log's root now, and that it names this version's digest and
/// signer.
pub(crate) enum LogStatus {
    Verified { entry: u64, size: u64 },
    Failed { entry: u64, why: String },
}

impl LogStatus {
    fn text(&self) -> String {
        match self {
            LogStatus::Verified { entry, size } => format!("verified {entry} {size}"),
            LogStatus::Failed { entry, why } => format!("failed {entry} {why}"),
        }
    }
}

async fn log_status(
    state: &AppState,
    entry: u64,
    record: &IndexVersion,
) -> Result<LogStatus, WebError> {
    use threatpack::transparency::log::{Entry, Event, verify_inclusion};
    let (size, root, proof, bytes) = blocking(state, move |store| {
        let (size, root) = store.log_head()?;
        let proof = store.log_inclusion(entry, size)?;
        let bytes = store.log_entries(entry, 1)?.pop().unwrap_or_default();
        Ok((size, root, proof, bytes))
    })
    .await?;
    let failed = |why: String| LogStatus::Failed { entry, why };
    if let Err(why) = verify_inclusion(&proof, size, root, entry, &bytes) {
        return Ok(failed(why));
    }
    let matches = match Entry::parse(&bytes) {
        Ok(Entry {
            event:
                Event::Publish {
                    version,
                    sha256,
                    signer,
                    ..
                },
            ..
        }) => {
            version == record.version
                && sha256 == sha256_of(record)
                && signer == record.signer_key_id
        }
        _ => false,
    };
    if !matches {
        return Ok(failed(
            "the entry does not record this version's digest and signer".to_string(),
        ));
    }
    Ok(LogStatus::Verified { entry, size })
}

pub(crate) fn version_body(
    pack: &str,
    index: &PackIndex,
    record: &IndexVersion,
    knowledge: &Knowledge,
    log: Option<&LogStatus>,
    tier: &str,
    category: &str,
) -> Markup {
    let kb = &knowledge.kb;
    let base = version_href(pack, &record.version);
    let urls = Urls {
        pack: &kb.pack,
        base: base.clone(),
    };
    let previous = index
        .versions
        .iter()
        .position(|known| known.version == record.version)
        .and_then(|position| position.checked_sub(1))
        .and_then(|previous| index.versions.get(previous));
    let mut categories: Vec<&str> = kb
        .attack_patterns
        .iter()
        .flat_map(|pattern| pattern.categories.iter().map(String::as_str))
        .collect();
    categories.sort_unstable();
    categories.dedup();
    // Links per mitigation, counted once (not once per mitigation: a large pack has thousands).
    let mut counters: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for link in &kb.links {
        *counters.entry(link.mitigation.as_str()).or_default() += 1;
    }
    let shown: Vec<&CompiledAttackPattern> = kb
        .attack_patterns
        .iter()
        .filter(|pattern| tier.is_empty() || pattern.tier == tier)
        .filter(|pattern| {
            category.is_empty() || pattern.categories.iter().any(|known| known == category)
        })
        .collect();
    html! {
        @if record.yanked {
            p.yanked { "This version is yanked"
                @if let Some(reason) = &record.yank_reason { ": " (reason) }
                "." }
        }
        @if let Some(deprecated) = &record.deprecated {
            p.yanked { "This version is deprecated: " (deprecated.message)
                @if let Some(replacement) = &deprecated.replacement { " Use " (replacement) " instead." } }
        }
        p { (knowledge.manifest.description) }
        dl.facts {
            dt { "Licence" } dd { (knowledge.manifest.license) }
            dt { "Built for tier" } dd { (record.tier.as_deref().unwrap_or("all (every tier)")) }
            @if !kb.tiers.is_empty() { dt { "Tiers" } dd { (kb.tiers.join(", ")) } }
            dt { "Published" } dd { (record.published_at) }
            dt { "Digest" } dd { code { (record.digest) } }
            dt { "Signer key" } dd { code { (record.signer_key_id) }
                @if record.signer_key_removed { " " span.deprecated { "key removed since" } } }
            dt { "Semver check" } dd { (semver_words(record.semver.as_ref())) }
            dt { "Transparency log" }
            dd {
                @match log {
                    Some(LogStatus::Verified { entry, size }) => {
                        span.verified { "verified" } ": entry " (entry) " is in the log of " (size)
                        " entries (inclusion proof checked against its root) and records this digest and signer"
                    },
                    Some(LogStatus::Failed { entry, why }) => {
                        span.yanked { "does not verify" } ": entry " (entry) ": " (why)
                    },
                    None => span.muted { "no entry (published before the log)" },
                }
            }
            dt { "Bundle" } dd { a href={ "/api/v1/blobs/sha256/" (sha256_of(record)) } { "download" } }
        }
        p {
            a href={ (base) "/changelog" } { "Changelog" }
            @if let Some(previous) = previous {
                " · " a href=(diff_href(pack, &previous.version, &record.version)) { "Diff with " (previous.version) }
            }
        }
        @if !knowledge.manifest.dependencies.is_empty() {
            h2 { "Compiled in" }
            ul {
                @for dependency in &knowledge.manifest.dependencies {
                    li { a href=(version_href(&dependency.name, &dependency.version)) { (dependency.name) " " (dependency.version) } " (" (dependency.requirement) ")" }
                }
            }
        }
        h2 { "Entities (" (kb.entities.len()) ")" }
        div.table-wrap { table {
            thead { tr { th scope="col" { "Entity" } th scope="col" { "Kind" } th scope="col" { "Parent" } th scope="col" { "Properties" } } }
            tbody {
                @for entity in &kb.entities {
                    tr {
                        th scope="row" { a href=(urls.item("entity", &entity.id)) { (entity.name) } (status_mark(entity.status)) }
                        td { (entity.kind.as_str()) }
                        td { @if let Some(parent) = &entity.parent { (urls.entity(kb, parent)) } }
                        td { (entity.properties.len()) }
                    }
                }
            }
        } }
        h2 { "Attack patterns (" (shown.len()) " of " (kb.attack_patterns.len()) ")" }
        form.filter action=(base) method="get" {
            label { "Tier" select name="tier" {
                option value="" { "any" }
                @for known in &kb.tiers { option value=(known) selected[known == tier] { (known) } }
            } }
            label { "Category" select name="category" {
                option value="" { "any" }
                @for known in &categories { option value=(known) selected[*known == category] { (known) } }
            } }
            button type="submit" { "Filter" }
        }
        @if !categories.is_empty() {
            p { "Category: "
                @for known in &categories {
                    a.tag href={ (base) "?category=" (query_value(known)) "&tier=" (query_value(tier)) } { (known) }
                }
                a.tag href=(base) { "all" }
            }
        }
        div.table-wrap { table {
            thead { tr { th scope="col" { "Attack pattern" } th scope="col" { "Categories" } th scope="col" { "Severity" } th scope="col" { "Tier" } th scope="col" { "Applies to" } } }
            tbody {
                @for pattern in &shown {
                    tr {
                        th scope="row" { a href=(urls.item("attack-pattern", &pattern.id)) { (pattern.name) } (status_mark(pattern.status)) }
                        td { (pattern.categories.join(", ")) }
                        td { (severity(pattern)) }
                        td { (pattern.tier) }
                        td { @for (position, entity) in pattern.applies_to.iter().enumerate() {
                            @if position > 0 { ", " }
                            (entity_name(kb, entity))
                        } }
                    }
                }
            }
        } }
        h2 { "Mitigations (" (kb.mitigations.len()) ")" }
        div.table-wrap { table {
            thead { tr { th scope="col" { "Mitigation" } th scope="col" { "Control" } th scope="col" { "Cost" } th scope="col" { "Tier" } th scope="col" { "Counters" } } }
            tbody {
                @for mitigation in &kb.mitigations {
                    tr {
                        th scope="row" { a href=(urls.item("mitigation", &mitigation.id)) { (mitigation.name) } (status_mark(mitigation.status)) }
                        td { (words(&mitigation.control)) }
                        td { (words(&mitigation.cost)) }
                        td { (mitigation.tier) }
                        td { (counters.get(mitigation.id.as_str()).copied().unwrap_or(0)) " attack patterns" }
                    }
                }
            }
        } }
    }
}

fn status_mark(status: Status) -> Markup {
    html! { @if status == Status::Deprecated { " " span.deprecated { "deprecated" } } }
}

fn severity(pattern: &CompiledAttackPattern) -> Markup {
    let word = words(&pattern.severity);
    html! { span class={ "severity-" (word) } { (word) } }
}

/// A kebab-case enum as its serialised word (`preventive`, `very-high`).
fn words(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(word)) => word,
        _ => String::new(),
    }
}

/// `…/{version}/knowledge.json`: the data of a version's pages, the compiled knowledge base
/// of its bundle (the bundle's `kb.json`, read and checked as the pages read it).
pub(super) async fn knowledge_json(
    State(state): State<AppState>,
    Path((namespace, name, version)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> WebResult {
    let loaded = load_version(&state, &namespace, &name, &version).await?;
    Ok(immutable(
        &headers,
        &[sha256_of(&loaded.record), "knowledge.json"],
        || axum::Json(&loaded.knowledge.kb).into_response(),
    ))
}

// ------------------------------------------------------------------------------------------
// One item

pub(super) async fn entity(
    State(state): State<AppState>,
    Path((namespace, name, version, id)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> WebResult {
    let loaded = load_version(&state, &namespace, &name, &version).await?;
    let kb = &loaded.knowledge.kb;
    let wanted = full_id(&loaded.pack, "entity", &id);
    let entity = kb
        .entities
        .iter()
        .find(|entity| entity.id == wanted)
        .ok_or_else(|| WebError::NotFound(format!("entity `{id}` in {}", loaded.pack)))?;
    Ok(item_page(&headers, &loaded, &entity.name, &id, || {
        entity_body(&loaded.urls(), kb, entity)
    }))
}

pub(super) async fn attack_pattern(
    State(state): State<AppState>,
    Path((namespace, name, version, id)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> WebResult {
    let loaded = load_version(&state, &namespace, &name, &version).await?;
    let kb = &loaded.knowledge.kb;
    let wanted = full_id(&loaded.pack, "attack-pattern", &id);
    let pattern = kb
        .attack_patterns
        .iter()
        .find(|pattern| pattern.id == wanted)
        .ok_or_else(|| WebError::NotFound(format!("attack pattern `{id}` in {}", loaded.pack)))?;
    Ok(item_page(&headers, &loaded, &pattern.name, &id, || {
        attack_pattern_body(&loaded.urls(), kb, pattern)
    }))
}

pub(super) async fn mitigation(
    State(state): State<AppState>,
    Path((namespace, name, version, id)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> WebResult {
    let loaded = load_version(&state, &namespace, &name, &version).await?;
    let kb = &loaded.knowledge.kb;
    let wanted = full_id(&loaded.pack, "mitigation", &id);
    let mitigation = kb
        .mitigations
        .iter()
        .find(|mitigation| mitigation.id == wanted)
        .ok_or_else(|| WebError::NotFound(format!("mitigation `{id}` in {}", loaded.pack)))?;
    Ok(item_page(&headers, &loaded, &mitigation.name, &id, || {
        mitigation_body(&loaded.urls(), kb, mitigation)
    }))
}

/// An item's page: immutable like its version's, titled by its name.
fn item_page(
    headers: &HeaderMap,
    loaded: &Loaded,
    name: &str,
    id: &str,
    body: impl FnOnce() -> Markup,
) -> Response {
    immutable(
        headers,
        &[sha256_of(&loaded.record), &yank_state(&loaded.record), id],
        || {
            let version = format!("{} {}", loaded.pack, loaded.record.version);
            let title = if name.is_empty() { id } else { name };
            render(
                Page {
                    title,
                    crumbs: vec![
                        ("Home".to_string(), "/".to_string()),
                        (loaded.pack.clone(), pack_href(&loaded.pack)),
                        (version, version_href(&loaded.pack, &loaded.record.version)),
                    ],
                    json: Some(loaded.knowledge_json_href()),
                    signed_in: false,
                },
                html! {
                    @if loaded.record.yanked { p.yanked { "This version is yanked." } }
                    (body())
                },
            )
        },
    )
}

pub(crate) fn entity_body(urls: &Urls<'_>, kb: &KnowledgeBase, entity: &CompiledEntity) -> Markup {
    let threatened: Vec<&CompiledAttackPattern> = kb
        .attack_patterns
        .iter()
        .filter(|pattern| pattern.matches.contains(&entity.id))
        .collect();
    html! {
        p { (entity.description) }
        dl.facts {
            dt { "Id" } dd { code { (entity.id) } }
            dt { "Kind" } dd { (entity.kind.as_str()) }
            dt { "Defined by" } dd { (entity.pack) }
            @if !entity.ancestors.is_empty() {
                dt { "Ancestors" }
                dd { @for (position, ancestor) in entity.ancestors.iter().enumerate() {
                    @if position > 0 { " → " }
                    (urls.entity(kb, ancestor))
                } }
            }
            @if entity.status == Status::Deprecated {
                dt { "Status" } dd { span.deprecated { "deprecated" }
                    @if let Some(replacement) = &entity.replaced_by { ", replaced by " (urls.entity(kb, replacement)) } }
            }
        }
        h2 { "Properties and their questions" }
        @if entity.properties.is_empty() {
            p { "None." }
        }
        @for (name, property) in &entity.properties {
            section {
                h3 { code { (name) } " " span.muted { (property.definition.property_type.as_str()) } }
                @if property.declared_by != entity.id {
                    p.muted { "Inherited from " (urls.entity(kb, &property.declared_by)) "." }
                }
                dl.facts {
                    dt { "Question" } dd { (property.definition.question) }
                    dt { "Why it matters" } dd { (property.definition.rationale) }
                    dt { "Description" } dd { (property.definition.description) }
                    dt { "Default" } dd { code { (property.definition.default) } }
                    @if !property.definition.values.is_empty() { dt { "Values" } dd { (property.definition.values.join(", ")) } }
                    @if let Some(min) = property.definition.min { dt { "Minimum" } dd { (min) } }
                    @if let Some(max) = property.definition.max { dt { "Maximum" } dd { (max) } }
                }
            }
        }
        h2 { "Attack patterns that apply to it (" (threatened.len()) ")" }
        ul {
            @for pattern in threatened {
                li { a href=(urls.item("attack-pattern", &pattern.id)) { (pattern.name) } " " (severity(pattern)) }
            }
        }
    }
}

pub(crate) fn attack_pattern_body(
    urls: &Urls<'_>,
    kb: &KnowledgeBase,
    pattern: &CompiledAttackPattern,
) -> Markup {
    let countered_by: Vec<_> = kb
        .links
        .iter()
        .filter(|link| link.attack_pattern == pattern.id)
        .map(|link| {
            let mitigation = kb
                .mitigations
                .iter()
                .find(|mitigation| mitigation.id == link.mitigation);
            (link, mitigation)
        })
        .collect();
    html! {
        p { (pattern.description) }
        dl.facts {
            dt { "Id" } dd { code { (pattern.id) } }
            dt { "STRIDE categories" } dd { (pattern.categories.join(", ")) }
            dt { "Severity" } dd { (severity(pattern)) }
            @if let Some(likelihood) = &pattern.likelihood { dt { "Likelihood" } dd { (words(likelihood)) } }
            @if let Some(impact) = &pattern.impact { dt { "Impact" } dd { (words(impact)) } }
            dt { "Tier" } dd { (pattern.tier) }
            dt { "Applies to" }
            dd { @for (position, entity) in pattern.applies_to.iter().enumerate() {
                @if position > 0 { ", " }
                (urls.entity(kb, entity))
            } }
            dt { "Condition" }
            dd { @match &pattern.condition { Some(condition) => (highlight(condition)), None => span.muted { "always" } } }
            @if pattern.status == Status::Deprecated {
                dt { "Status" } dd { span.deprecated { "deprecated" }
                    @if let Some(replacement) = &pattern.replaced_by { ", replaced by " a href=(urls.item("attack-pattern", replacement)) { (replacement) } } }
            }
        }
        (references(&pattern.references))
        h2 { "Mitigations (" (countered_by.len()) ")" }
        div.table-wrap { table {
            thead { tr { th scope="col" { "Mitigation" } th scope="col" { "Strength" } th scope="col" { "Tier" } th scope="col" { "When" } } }
            tbody {
                @for (link, mitigation) in &countered_by {
                    tr {
                        th scope="row" {
                            a href=(urls.item("mitigation", &link.mitigation)) {
                                (mitigation.map_or(link.mitigation.as_str(), |mitigation| mitigation.name.as_str()))
                            }
                            @if let Some(description) = &link.description { br; span.muted { (description) } }
                        }
                        td { (link.strength.as_str()) }
                        td { (link.tier) }
                        td { @match &link.condition { Some(condition) => (highlight(condition)), None => span.muted { "always" } } }
                    }
                }
            }
        } }
    }
}

pub(crate) fn mitigation_body(
    urls: &Urls<'_>,
    kb: &KnowledgeBase,
    mitigation: &CompiledMitigation,
) -> Markup {
    let addresses: Vec<_> = kb
        .links
        .iter()
        .filter(|link| link.mitigation == mitigation.id)
        .map(|link| {
            let pattern = kb
                .attack_patterns
                .iter()
                .find(|pattern| pattern.id == link.attack_pattern);
            (link, pattern)
        })
        .collect();
    html! {
        p { (mitigation.description) }
        dl.facts {
            dt { "Id" } dd { code { (mitigation.id) } }
            dt { "Control" } dd { (words(&mitigation.control)) }
            dt { "Cost" } dd { (words(&mitigation.cost)) }
            dt { "Tier" } dd { (mitigation.tier) }
            @if mitigation.status == Status::Deprecated {
                dt { "Status" } dd { span.deprecated { "deprecated" }
                    @if let Some(replacement) = &mitigation.replaced_by { ", replaced by " a href=(urls.item("mitigation", replacement)) { (replacement) } } }
            }
        }
        h2 { "Implementation" }
        p { (mitigation.implementation) }
        h2 { "Verification" }
        p { (mitigation.verification) }
        h2 { "Monitoring events" }
        @if mitigation.events.is_empty() {
            p { "None." }
        } @else {
            dl.facts {
                @for event in &mitigation.events { dt { code { (event.id) } } dd { (event.description) } }
            }
        }
        (references(&mitigation.references))
        h2 { "Attack patterns it counters (" (addresses.len()) ")" }
        div.table-wrap { table {
            thead { tr { th scope="col" { "Attack pattern" } th scope="col" { "Strength" } th scope="col" { "Tier" } th scope="col" { "When" } } }
            tbody {
                @for (link, pattern) in &addresses {
                    tr {
                        th scope="row" {
                            a href=(urls.item("attack-pattern", &link.attack_pattern)) {
                                (pattern.map_or(link.attack_pattern.as_str(), |pattern| pattern.name.as_str()))
                            }
                            @if let Some(description) = &link.description { br; span.muted { (description) } }
                        }
                        td { (link.strength.as_str()) " (" (link.strength.percent()) "%)" }
                        td { (link.tier) }
                        td { @match &link.condition { Some(condition) => (highlight(condition)), None => span.muted { "always" } } }
                    }
                }
            }
        } }
    }
}

/// CAPEC, CWE and ATT&CK ids linked to MITRE's pages, ASVS ids as text, URLs linked only when
/// they are `http:` or `https:`.
fn references(references: &References) -> Markup {
    let empty = references.capec.is_empty()
        && references.cwe.is_empty()
        && references.attack.is_empty()
        && references.asvs.is_empty()
        && references.url.is_empty();
    html! {
        h2 { "References" }
        @if empty {
            p { "None." }
        } @else {
            ul {
                @for id in &references.capec {
                    li { a href={ "https://capec.mitre.org/data/definitions/" (id) ".html" } { "CAPEC-" (id) } }
                }
                @for id in &references.cwe {
                    li { a href={ "https://cwe.mitre.org/data/definitions/" (id) ".html" } { "CWE-" (id) } }
                }
                @for id in &references.attack {
                    li { @match attack_url(id) {
                        Some(url) => a href=(url) { "ATT&CK " (id) },
                        None => { "ATT&CK " (id) },
                    } }
                }
                @for id in &references.asvs { li { "ASVS " (id) } }
                @for url in &references.url { li { (external_link(url)) } }
            }
        }
    }
}

/// A link when `url` is `http:` or `https:`, else the text alone.
fn external_link(url: &str) -> Markup {
    match linkable_url(url) {
        Some(url) => html! { a href=(url) rel="nofollow noopener" { (url) } },
        None => html! { (url) },
    }
}

/// `url` when a link to it is safe to show: an `http:` or `https:` URL (any case) with no
/// whitespace or control characters. Other schemes (`javascript:`, `data:`, ...) are text.
pub fn linkable_url(url: &str) -> Option<&str> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let web = lower.starts_with("https://") || lower.starts_with("http://");
    let clean = !url
        .chars()
        .any(|character| character.is_whitespace() || character.is_control());
    (web && clean && url.len() > "http://".len()).then_some(url)
}

/// The official page of an ATT&CK id: techniques (`T1234`, `T1234.001`), tactics (`TA0001`),
/// mitigations (`M1036`), groups (`G0001`), software (`S0001`), campaigns (`C0001`), data
/// sources (`DS0001`); `None` for anything else.
fn attack_url(id: &str) -> Option<String> {
    let digits = |text: &str, count: usize| {
        text.len() == count && text.bytes().all(|byte| byte.is_ascii_digit())
    };
    let (prefix, rest) = id.split_at(id.find(|character: char| character.is_ascii_digit())?);
    let (number, sub) = match rest.split_once('.') {
        Some((number, sub)) => (number, Some(sub)),
        None => (rest, None),
    };
    if !digits(number, 4) || sub.is_some_and(|sub| !digits(sub, 3)) {
        return None;
    }
    let section = match (prefix, sub) {
        ("T", _) => "techniques",
        ("TA", None) => "tactics",
        ("M", None) => "mitigations",
        ("G", None) => "groups",
        ("S", None) => "software",
        ("C", None) => "campaigns",
        ("DS", None) => "datasources",
        _ => return None,
    };
    Some(match sub {
        Some(sub) => format!("https://attack.mitre.org/{section}/{prefix}{number}/{sub}/"),
        None => format!("https://attack.mitre.org/{section}/{id}/"),
    })
}

// ------------------------------------------------------------------------------------------
// History

pub(super) async fn changelog(
    State(state): State<AppState>,
    Path((namespace, name, version)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> WebResult {
    let loaded = load_version(&state, &namespace, &name, &version).await?;
    // The baseline as the semver gate chooses it: the highest version below, same tier.
    let declared = semver::Version::parse(&loaded.record.version)
        .map_err(|_| WebError::NotFound(format!("version {version}")))?;
    let same_tier: Vec<semver::Version> = loaded
        .index
        .versions
        .iter()
        .filter(|record| record.tier == loaded.record.tier)
        .filter_map(|record| semver::Version::parse(&record.version).ok())
        .collect();
    let baseline =
        threatpack::versioning::baseline_version(&same_tier, &declared).and_then(|baseline| {
            loaded
                .index
                .versions
                .iter()
                .find(|record| record.version == baseline.to_string())
                .cloned()
        });
    let old = match &baseline {
        Some(record) => Some(knowledge(&state, sha256_of(record)).await?),
        None => None,
    };
    let old_digest = baseline.as_ref().map(sha256_of).unwrap_or_default();
    let text = match &old {
        Some(old) => {
            let (old, new) = (old.clone(), loaded.knowledge.clone());
            Some(
                computed_text(
                    format!("changelog {old_digest} {}", sha256_of(&loaded.record)),
                    move || {
                        let changes = threatpack::versioning::diff(&old.kb, &new.kb);
                        let bump = threatpack::versioning::required_bump(&changes);
                        threatpack::versioning::changelog(&changes, &bump)
                    },
                )
                .await?,
            )
        }
        None => None,
    };
    let title = format!("Changelog of {} {}", loaded.pack, loaded.record.version);
    Ok(immutable(
        &headers,
        &[sha256_of(&loaded.record), old_digest, "changelog"],
        || {
            let body = match &text {
                Some(text) => {
                    html! {
                        @if let Some(baseline) = &baseline {
                            p { "Against " a href=(version_href(&loaded.pack, &baseline.version)) { (baseline.version) }
                                ", the version below of the same tier (as the semver check chooses it). "
                                a href=(diff_href(&loaded.pack, &baseline.version, &loaded.record.version)) { "The full diff" } "." }
                        }
                        pre { (text.as_str()) }
                    }
                }
                None => {
                    html! { p { "The first version of this pack (for its tier): nothing to compare with." } }
                }
            };
            render(
                Page {
                    title: &title,
                    crumbs: vec![
                        ("Home".to_string(), "/".to_string()),
                        (loaded.pack.clone(), pack_href(&loaded.pack)),
                        (
                            format!("{} {}", loaded.pack, loaded.record.version),
                            version_href(&loaded.pack, &loaded.record.version),
                        ),
                    ],
                    json: None,
                    signed_in: false,
                },
                body,
            )
        },
    ))
}

#[derive(Deserialize)]
pub(super) struct DiffForm {
    old: String,
    new: String,
}

/// `GET /packs/{ns}/{name}/diff?old=&new=`: the pack page's form, sent on to the diff's URL.
pub(super) async fn diff_form(
    Path((namespace, name)): Path<(String, String)>,
    Query(form): Query<DiffForm>,
) -> WebResult {
    let pack = checked_pack(&namespace, &name)?;
    let location = diff_href(&pack, &form.old, &form.new);
    let mut response = StatusCode::SEE_OTHER.into_response();
    let location = HeaderValue::from_str(&location)
        .map_err(|_| WebError::BadRequest("not a version".to_string()))?;
    response.headers_mut().insert(header::LOCATION, location);
    Ok(response)
}

pub(super) async fn diff(
    State(state): State<AppState>,
    Path((namespace, name, range)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> WebResult {
    let (old_version, new_version) = range.split_once("...").ok_or_else(|| {
        WebError::NotFound(format!(
            "comparison `{range}`: compare two versions as OLD...NEW"
        ))
    })?;
    let old = load_version(&state, &namespace, &name, old_version).await?;
    let new = load_version(&state, &namespace, &name, new_version).await?;
    let title = format!(
        "{} {} → {}",
        new.pack, old.record.version, new.record.version
    );
    let (old_knowledge, new_knowledge) = (old.knowledge.clone(), new.knowledge.clone());
    let text = computed_text(
        format!("diff {} {}", sha256_of(&old.record), sha256_of(&new.record)),
        move || {
            let changes = threatpack::versioning::diff(&old_knowledge.kb, &new_knowledge.kb);
            let bump = threatpack::versioning::required_bump(&changes);
            threatpack::versioning::render::diff_human(&changes, &bump)
        },
    )
    .await?;
    Ok(immutable(
        &headers,
        &[sha256_of(&old.record), sha256_of(&new.record), "diff"],
        || {
            render(
                Page {
                    title: &title,
                    crumbs: vec![
                        ("Home".to_string(), "/".to_string()),
                        (new.pack.clone(), pack_href(&new.pack)),
                    ],
                    json: None,
                    signed_in: false,
                },
                html! {
                    p { "What changed from "
                        a href=(version_href(&old.pack, &old.record.version)) { (old.record.version) }
                        " to " a href=(version_href(&new.pack, &new.record.version)) { (new.record.version) }
                        ", as " code { "threatpack diff" } " shows it; each change with the bump it needs." }
                    pre { (text.as_str()) }
                },
            )
        },
    ))
}

// ------------------------------------------------------------------------------------------
// URLs

fn pack_href(pack: &str) -> String {
    match pack.split_once('/') {
        Some((namespace, name)) => format!("/packs/{}/{}", segment(namespace), segment(name)),
        None => format!("/packs/{}", segment(pack)),
    }
}

fn version_href(pack: &str, version: &str) -> String {
    format!("{}/{}", pack_href(pack), segment(version))
}

fn diff_href(pack: &str, old: &str, new: &str) -> String {
    format!(
        "{}/diff/{}...{}",
        pack_href(pack),
        segment(old),
        segment(new)
    )
}

/// The URLs of the items of one version of a pack.
pub(crate) struct Urls<'a> {
    /// The pack the version is of: its own items get short URLs.
    pub pack: &'a str,
    /// The version's page.
    pub base: String,
}

impl Urls<'_> {
    /// A link to the entity `id`, by its name.
    pub fn entity(&self, kb: &KnowledgeBase, id: &str) -> Markup {
        html! { a href=(self.item("entity", id)) { (entity_name(kb, id)) } }
    }

    /// The page of the item `id` of `kind` (`entity`, `attack-pattern`, `mitigation`): by its
    /// short name when it is the pack's own (`…/attack-patterns/spoofing`), else by its whole
    /// id (an item compiled in from a dependency).
    pub fn item(&self, kind: &str, id: &str) -> String {
        let plural = match kind {
            "entity" => "entities",
            "attack-pattern" => "attack-patterns",
            _ => "mitigations",
        };
        format!(
            "{}/{plural}/{}",
            self.base,
            item_url_segment(self.pack, kind, id)
        )
    }
}

/// An item id as one path segment: the short name of the pack's own item, else the whole id
/// (ids hold `/` and `:`, escaped).
pub fn item_url_segment(pack: &str, kind: &str, id: &str) -> String {
    let short = id
        .strip_prefix(pack)
        .and_then(|rest| rest.strip_prefix(':'))
        .and_then(|rest| rest.strip_prefix(kind))
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|short| !short.contains([':', '/']));
    segment(short.unwrap_or(id))
}

/// The name of the entity `id`, or its id if the knowledge base has no such entity.
fn entity_name<'kb>(kb: &'kb KnowledgeBase, id: &'kb str) -> &'kb str {
    kb.entities
        .iter()
        .find(|entity| entity.id == id)
        .map_or(id, |entity| entity.name.as_str())
}

/// The whole id of an item from its URL segment (`item_url_segment` backwards).
fn full_id(pack: &str, kind: &str, segment: &str) -> String {
    if segment.contains([':', '/']) {
        segment.to_string()
    } else {
        format!("{pack}:{kind}/{segment}")
    }
}

#[cfg(test)]
mod tests {
    use threatpack::build::check_and_compile;
    use threatpack::check::CheckOptions;
    use threatpack::resolve::{Candidate, PackLocation, PackSource, Request, resolve};
    use threatpack::source::PackSources;

    use super::*;
    use threatpack::wire::VersionDeprecation;

    struct NoDependencies;

    impl PackSource for NoDependencies {
        fn candidates(&mut self, _: &Request<'_>) -> Result<Vec<Candidate>, String> {
            Err("no dependencies".to_string())
        }

        fn load(&mut self, _: &Candidate) -> Result<PackSources, String> {
            Err("no dependencies".to_string())
        }
    }

    const HOSTILE: [&str; 6] = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(2)>",
        "'><svg onload=alert(3)>",
        "</td></tr></table><iframe src=javascript:alert(4)>",
        "&lt;script&gt; already escaped",
        "<!-- -->",
    ];

    /// A checked one-item-each pack, then every text in it replaced by a hostile string, as
    /// a publisher who skipped `check` could ship it.
    fn hostile_kb(text: &str) -> KnowledgeBase {
        let files = [
            (
                "pack.toml",
                "[pack]\nformat = 1\nname = \"acme/evil\"\nversion = \"1.0.0\"\ndescription = \"d\"\nlicense = \"MIT\"\ntiers = [\"top\"]\n",
            ),
            (
                "entities/service.toml",
                "[[entity]]\nid = \"service\"\nname = \"S\"\ndescription = \"d\"\nkind = \"process\"\n\n[entity.properties.public]\ntype = \"bool\"\ndefault = false\ndescription = \"d\"\nquestion = \"q\"\nrationale = \"r\"\n",
            ),
            (
                "attack-patterns/spoofing.toml",
                "[[attack-pattern]]\nid = \"spoofing\"\nname = \"A\"\ndescription = \"d\"\ncategories = [\"spoofing\"]\napplies-to = [\"service\"]\ncondition = \"self.public\"\nseverity = \"high\"\n",
            ),
            (
                "mitigations/authentication.toml",
                "[[mitigation]]\nid = \"authentication\"\nname = \"M\"\ndescription = \"d\"\ncontrol = \"preventive\"\ncost = \"low\"\nimplementation = \"i\"\nverification = \"v\"\n\n[[mitigation.addresses]]\nattack-pattern = \"spoofing\"\nstrength = \"strong\"\n",
            ),
        ];
        let graph = resolve(
            PackLocation::Directory {
                canonical: "/evil".into(),
                display: "evil".to_string(),
            },
            PackSources::from_memory(
                "evil",
                files
                    .iter()
                    .map(|(path, text)| (path.to_string(), text.to_string()))
                    .collect(),
            ),
            &mut NoDependencies,
        );
        let (diagnostics, kb) = check_and_compile(&graph, &CheckOptions::default());
        let mut kb = kb.unwrap_or_else(|| panic!("the pack compiles: {diagnostics:#?}"));
        let entity = &mut kb.entities[0];
        entity.name = text.to_string();
        entity.description = text.to_string();
        entity.parent = Some(text.to_string());
        for property in entity.properties.values_mut() {
            property.definition.question = text.to_string();
            property.definition.rationale = text.to_string();
            property.definition.description = text.to_string();
            property.declared_by = text.to_string();
        }
        let pattern = &mut kb.attack_patterns[0];
        pattern.name = text.to_string();
        pattern.description = text.to_string();
        pattern.categories = vec![text.to_string()];
        pattern.applies_to = vec![text.to_string()];
        pattern.condition = Some(text.to_string());
        pattern.tier = text.to_string();
        pattern.references.attack = vec![text.to_string(), "T1059.001".to_string()];
        pattern.references.asvs = vec![text.to_string()];
        pattern.references.url = vec![
            "javascript:alert(5)".to_string(),
            " JAVASCRIPT:alert(5)".to_string(),
            "data:text/html;base64,PHNjcmlwdD4=".to_string(),
            "vbscript:msgbox".to_string(),
            "https://example.com/\"><script>".to_string(),
            "http://exa mple.com/".to_string(),
        ];
        let mitigation = &mut kb.mitigations[0];
        mitigation.name = text.to_string();
        mitigation.implementation = text.to_string();
        mitigation.verification = text.to_string();
        mitigation.events = vec![threatpack::model::Event {
            id: text.to_string(),
            description: text.to_string(),
        }];
        kb.links[0].description = Some(text.to_string());
        kb.links[0].condition = Some(text.to_string());
        kb.tiers = vec![text.to_string()];
        kb
    }

    /// No tag or attribute that the template did not write, and no link but to this site or
    /// over https.
    fn assert_inert(html: &str, text: &str) {
        for markup in [
            "<script",
            "<img",
            "<svg",
            "<iframe",
            "<!--",
            "onerror=\"",
            "onload=\"",
        ] {
            assert!(!html.contains(markup), "`{markup}` from `{text}` in {html}");
        }
        for href in html.split("href=\"").skip(1) {
            let href = href.split('"').next().unwrap_or_default();
            assert!(
                href.starts_with('/') || href.starts_with("https://") || href.starts_with('?'),
                "a link to `{href}` in {html}"
            );
        }
    }

    #[test]
    fn every_body_escapes_hostile_pack_text() {
        for text in HOSTILE {
            let kb = hostile_kb(text);
            let urls = Urls {
                pack: "acme/evil",
                base: "/packs/acme/evil/1.0.0".to_string(),
            };
            let pages = [
                entity_body(&urls, &kb, &kb.entities[0]).into_string(),
                attack_pattern_body(&urls, &kb, &kb.attack_patterns[0]).into_string(),
                mitigation_body(&urls, &kb, &kb.mitigations[0]).into_string(),
                version_body(
                    "acme/evil",
                    &PackIndex::default(),
                    &record(text),
                    &Knowledge {
                        manifest: manifest(text),
                        kb: kb.clone(),
                    },
                    Some(&LogStatus::Failed {
                        entry: 1,
                        why: text.to_string(),
                    }),
                    text,
                    text,
                )
                .into_string(),
                pack_body(
                    "acme/evil",
                    &PackIndex {
                        sequence: 1,
                        versions: vec![record(text), record(text)],
                    },
                    &[text.to_string()],
                    Some(&Knowledge {
                        manifest: manifest(text),
                        kb: kb.clone(),
                    }),
                    Some(&[Dependent {
                        project: text.to_string(),
                        received_at: text.to_string(),
                        report_id: 1,
                        version: "1.0.0".to_string(),
                    }]),
                )
                .into_string(),
                home_body(
                    &[Release {
                        pack: text.to_string(),
                        version: text.to_string(),
                        description: text.to_string(),
                        yanked: true,
                        published_at: text.to_string(),
                    }],
                    1,
                    &[SearchHit {
                        description: text.to_string(),
                        latest_version: Some(text.to_string()),
                        name: text.to_string(),
                        tags: vec![text.to_string()],
                    }],
                )
                .into_string(),
            ];
            for page in &pages {
                assert_inert(page, text);
            }
        }
    }

    fn record(text: &str) -> IndexVersion {
        IndexVersion {
            dependencies: Vec::new(),
            digest: "sha256:00".to_string(),
            log_index: Some(1),
            published_at: text.to_string(),
            semver: Some(SemverDecision {
                allowed_violation: Some(text.to_string()),
                baseline: text.to_string(),
                declared: None,
                note: Some(text.to_string()),
                required: Some(BumpLevel::Major),
            }),
            signer_key_id: text.to_string(),
            signer_key_removed: false,
            signer_key_removed_log_index: None,
            size: 1,
            tier: Some(text.to_string()),
            version: "1.0.0".to_string(),
            yank_reason: Some(text.to_string()),
            yanked: true,
            deprecated: Some(VersionDeprecation {
                message: text.to_string(),
                replacement: Some(text.to_string()),
            }),
        }
    }

    fn manifest(text: &str) -> threatpack::bundle::BundleManifest {
        threatpack::bundle::BundleManifest {
            bundle_format: 1,
            pack: "acme/evil".to_string(),
            version: "1.0.0".to_string(),
            tier: None,
            description: text.to_string(),
            license: text.to_string(),
            dependencies: Vec::new(),
            files: Default::default(),
            builder: text.to_string(),
        }
    }

    #[test]
    fn only_http_and_https_urls_are_links() {
        let kb = hostile_kb("x");
        let urls = Urls {
            pack: "acme/evil",
            base: "/packs/acme/evil/1.0.0".to_string(),
        };
        let page = attack_pattern_body(&urls, &kb, &kb.attack_patterns[0]).into_string();
        assert!(page.contains("<li>javascript:alert(5)</li>"), "{page}");
        assert!(page.contains("<li> JAVASCRIPT:alert(5)</li>"), "{page}");
        assert!(
            page.contains("<li>data:text/html;base64,PHNjcmlwdD4=</li>"),
            "{page}"
        );
        assert!(page.contains("<li>vbscript:msgbox</li>"), "{page}");
        assert!(page.contains("<li>http://exa mple.com/</li>"), "{page}");
        assert!(
            page.contains(
                r#"<a href="https://example.com/&quot;&gt;&lt;script&gt;" rel="nofollow noopener">"#
            ),
            "{page}"
        );
        assert!(
            page.contains(r#"<a href="https://attack.mitre.org/techniques/T1059/001/">ATT&amp;CK T1059.001</a>"#),
            "{page}"
        );
        assert!(
            page.contains("<li>ATT&amp;CK x</li>"),
            "an id that is no ATT&CK id is text: {page}"
        );
    }

    #[test]
    fn attack_ids_link_to_their_section() {
        for (id, url) in [
            ("T1059", Some("https://attack.mitre.org/techniques/T1059/")),
            (
                "T1059.001",
                Some("https://attack.mitre.org/techniques/T1059/001/"),
            ),
            ("TA0001", Some("https://attack.mitre.org/tactics/TA0001/")),
            ("M1036", Some("https://attack.mitre.org/mitigations/M1036/")),
            ("T0800", Some("https://attack.mitre.org/techniques/T0800/")),
            ("TA0001.001", None),
            ("T105", None),
            ("T1059/../x", None),
            ("X1234", None),
            ("", None),
        ] {
            assert_eq!(attack_url(id).as_deref(), url, "{id}");
        }
    }

    #[test]
    fn item_urls_are_short_for_the_packs_own_items_and_escaped_otherwise() {
        for (id, segment) in [
            ("acme/evil:attack-pattern/spoofing", "spoofing"),
            (
                "other/pack:attack-pattern/x",
                "other%2Fpack%3Aattack-pattern%2Fx",
            ),
            ("acme/evil:mitigation/x", "acme%2Fevil%3Amitigation%2Fx"),
            (
                "acme/evil:attack-pattern/a/b",
                "acme%2Fevil%3Aattack-pattern%2Fa%2Fb",
            ),
            ("\"><script>", "%22%3E%3Cscript%3E"),
        ] {
            assert_eq!(item_url_segment("acme/evil", "attack-pattern", id), segment);
            assert_eq!(
                full_id(
                    "acme/evil",
                    "attack-pattern",
                    &percent_encoding::percent_decode_str(segment).decode_utf8_lossy()
                ),
                if id.contains(':') {
                    id.to_string()
                } else {
                    format!("acme/evil:attack-pattern/{id}")
                },
                "{id}"
            );
        }
    }
}
