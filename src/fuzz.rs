//! Entry points for fuzzers: one function per parser that reads untrusted bytes, each taking
//! arbitrary bytes and doing what the real caller does with them. None may panic, whatever
//! the input; an `Err` is a correct answer.
//!
//! `fuzz/` runs them under libFuzzer (`cargo +nightly fuzz run TARGET`), and
//! `tests/it/fuzz_corpora.rs` replays the committed corpora, and mutations of them, on every
//! test run. docs/fuzzing.md says how to run and extend them.

use std::sync::OnceLock;

use crate::bundle::{ReadLimits, read_bundle};
use crate::compile::KnowledgeBase;
use crate::engine::Engine;
use crate::engine::bind::bind;
use crate::resolve::{Candidate, PackLocation, PackSource, Request, resolve};
use crate::source::PackSources;

/// A fuzz target: arbitrary bytes in, no panic out.
pub type Target = fn(&[u8]);

/// Every target, by the name of its corpus directory (`fuzz/corpus/NAME`).
pub const TARGETS: &[(&str, Target)] = &[
    ("bundle", bundle),
    ("manifest", manifest),
    ("kb", kb),
    ("signature", signature),
    ("public_keys", public_keys),
    ("index", index),
    ("lockfile", lockfile),
    ("model", model),
    ("tm7", tm7),
    ("threat_dragon", threat_dragon),
    ("condition", condition),
    ("pack_file", pack_file),
    ("import", import),
    ("log_entry", log_entry),
];

/// A bundle from a registry or a cache: gunzip, untar, manifest, digests, `kb.json`. The
/// limits are small so that the fuzzer explores the caps instead of allocating.
pub fn bundle(data: &[u8]) {
    let limits = ReadLimits {
        max_bundle_bytes: 1 << 20,
        max_unpacked_bytes: 4 << 20,
        max_entry_bytes: 2 << 20,
        max_entries: 64,
        max_ratio: 100,
        ratio_grace_bytes: 64 << 10,
    };
    if let Ok(bundle) = read_bundle(data, &limits) {
        use_knowledge(&bundle.kb);
    }
}

/// A bundle's `manifest.json`.
pub fn manifest(data: &[u8]) {
    let _ = crate::bundle::read::parse_manifest(data);
}

/// A bundle's `kb.json`, then what a consumer does with it: lay out the entities and compile
/// every condition.
pub fn kb(data: &[u8]) {
    if let Ok(kb) = serde_json::from_slice::<KnowledgeBase>(data) {
        use_knowledge(&kb);
    }
}

/// A file given to `threatpack import`: the first byte picks the format (`Format::ALL`), the rest is the
/// input. An imported pack is then checked and compiled, as a user would build it.
pub fn import(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let formats = crate::import::Format::ALL;
    let format = formats[usize::from(selector) % formats.len()];
    let Ok(imported) =
        crate::import::import(format, rest, &crate::import::ImportOptions::default())
    else {
        return;
    };
    let _ = compile(imported.files.into_iter().collect());
}

/// A detached minisign signature (`.minisig`), verified against one fixed key over fixed bytes.
pub fn signature(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crate::signing::signature_key_id(text);
    let keys = crate::signing::parse_public_keys(FUZZ_PUBLIC_KEY).unwrap_or_default();
    let _ = crate::signing::verify_bundle(b"bundle bytes", None, text, &keys);
}

/// Publisher keys (`.pub` files, `[trust]` entries, a registry's key list).
pub fn public_keys(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::signing::parse_public_keys(text);
    }
}

/// A registry's index of a pack, as the client reads it (typed, then every version parsed).
pub fn index(data: &[u8]) {
    if let Ok(index) = serde_json::from_slice::<crate::wire::Index>(data) {
        for version in &index.versions {
            let _ = semver::Version::parse(&version.version);
            for dependency in &version.dependencies {
                let _ = semver::VersionReq::parse(&dependency.requirement);
            }
        }
    }
}

/// A project's `threatpack.lock`.
pub fn lockfile(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::lockfile::Lockfile::parse("threatpack.lock", text);
    }
}

/// A transparency log entry, or (first byte odd) a checkpoint's text: the strict parsers the
/// client and the monitor run on what a registry serves. Whatever parses must encode back to
/// the very same bytes: one byte sequence, one meaning.
pub fn log_entry(data: &[u8]) {
    use crate::transparency::log::{Checkpoint, Entry};
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    if first % 2 == 1 {
        if let Ok(checkpoint) = Checkpoint::parse(rest) {
            assert_eq!(
                checkpoint.text().as_bytes(),
                rest,
                "a checkpoint that is not canonical"
            );
        }
    } else if let Ok(entry) = Entry::parse(rest) {
        assert_eq!(entry.encode(), rest, "an entry that is not canonical");
    }
}

/// A system model: the first byte chooses the file name (and so the syntax: JSON, TOML or
/// YAML, which may be Open Threat Model), the rest is the file. A model that loads is bound to
/// a small knowledge base and applied, as `apply` does.
pub fn model(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let path = match selector % 3 {
        0 => "model.json",
        1 => "model.toml",
        _ => "model.yaml",
    };
    let Ok(file) = crate::system::load_model(path, text.to_string(), None) else {
        return;
    };
    let Some(kb) = small_knowledge_base() else {
        return;
    };
    apply(kb, &file);
}

/// A Microsoft Threat Modeling Tool model (`.tm7`, XML): converted through the built-in TMT
/// mapping, and a model that loads is bound and applied, as `apply` does.
pub fn tm7(data: &[u8]) {
    converted_model("model.tm7", data);
}

/// An OWASP Threat Dragon v2 model (JSON): converted through the built-in Threat Dragon
/// mapping, and a model that loads is bound and applied, as `apply` does.
pub fn threat_dragon(data: &[u8]) {
    converted_model("model.json", data);
}

fn converted_model(path: &str, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(file) = crate::system::load_model(path, text.to_string(), None) else {
        return;
    };
    let Some(kb) = small_knowledge_base() else {
        return;
    };
    apply(kb, &file);
}

/// A condition (CEL) in an attack pattern of a pack: checked as `check` does, then compiled
/// and evaluated on a small model.
pub fn condition(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let quoted = toml::Value::String(text.to_string()).to_string();
    let attack_pattern = format!(
        "[[attack-pattern]]\nid = \"fuzzed\"\nname = \"Fuzzed\"\ndescription = \"A condition from the fuzzer.\"\ncategories = [\"tampering\"]\napplies-to = [\"service\", \"call\"]\nseverity = \"low\"\ncondition = {quoted}\n"
    );
    check_pack_with("attack-patterns/fuzzed.toml", attack_pattern);
}

/// A pack's TOML file (here an attack-pattern file) through parsing, schemas and checks.
pub fn pack_file(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        check_pack_with("attack-patterns/fuzzed.toml", text.to_string());
    }
}

/// What a consumer does with a knowledge base it read: an engine over it, and its rules.
fn use_knowledge(kb: &KnowledgeBase) {
    let mut engine = Engine::new(kb);
    let _ = engine.rules(None);
}

/// Checks and compiles the small pack with one more file, and applies the result to the
/// small model when it compiles.
fn check_pack_with(path: &str, text: String) {
    let mut files = small_pack_files();
    files.push((path.to_string(), text));
    let Some(kb) = compile(files) else {
        return;
    };
    let Ok(file) = crate::system::load_model("model.toml", SMALL_MODEL.to_string(), None) else {
        return;
    };
    apply(&kb, &file);
}

/// What `apply` does with a model that loaded: bind it, then evaluate every rule.
fn apply(kb: &KnowledgeBase, file: &crate::system::ModelFile) {
    let mut engine = Engine::new(kb);
    if let Ok(model) = bind(&mut engine, file) {
        let rules = engine.rules(None);
        engine.evaluate(&rules, &model, &mut Discard);
    }
}

fn compile(files: Vec<(String, String)>) -> Option<KnowledgeBase> {
    let graph = resolve(
        PackLocation::Directory {
            canonical: "/fuzz/pack".into(),
            display: "pack".to_string(),
        },
        PackSources::from_memory("pack", files),
        &mut NoDependencies,
    );
    let options = crate::check::CheckOptions::default();
    crate::build::check_and_compile(&graph, &options).1
}

fn small_knowledge_base() -> Option<&'static KnowledgeBase> {
    static KB: OnceLock<Option<KnowledgeBase>> = OnceLock::new();
    KB.get_or_init(|| compile(small_pack_files())).as_ref()
}

fn small_pack_files() -> Vec<(String, String)> {
    SMALL_PACK
        .iter()
        .map(|(path, text)| (path.to_string(), text.to_string()))
        .collect()
}

/// The fuzzed packs have no dependencies.
struct NoDependencies;

impl PackSource for NoDependencies {
    fn candidates(&mut self, _: &Request<'_>) -> Result<Vec<Candidate>, String> {
        Err("fuzzed packs have no dependencies".to_string())
    }

    fn load(&mut self, _: &Candidate) -> Result<PackSources, String> {
        Err("fuzzed packs have no dependencies".to_string())
    }
}

/// Evaluation's findings, dropped: only not panicking matters.
struct Discard;

impl crate::engine::Sink for Discard {
    fn finding(&mut self, _: usize, _: usize, _: &[usize]) {}
    fn problem(&mut self, _: crate::engine::RuleProblem) {}
}

/// A pack with every property type on a process, a data store and a data flow.
const SMALL_PACK: &[(&str, &str)] = &[
    (
        "pack.toml",
        r#"[pack]
format = 1
name = "fuzz/small"
version = "1.0.0"
description = "A small pack for fuzzing."
license = "MIT"
tiers = ["top", "standard"]
"#,
    ),
    (
        "entities/all.toml",
        r#"[[entity]]
id = "service"
name = "Service"
description = "A network service."
kind = "process"

[entity.properties.public]
type = "bool"
default = false
description = "Reachable from the internet."
question = "Is it so?"
rationale = "It matters."

[entity.properties.language]
type = "enum"
values = ["rust", "java", "python"]
default = "rust"
description = "The implementation language."
question = "Is it so?"
rationale = "It matters."

[entity.properties.replicas]
type = "int"
min = 0
max = 1000
default = 1
description = "How many copies run."
question = "Is it so?"
rationale = "It matters."

[entity.properties.owner]
type = "string"
default = ""
description = "The owning team."
question = "Is it so?"
rationale = "It matters."

[entity.properties.tags]
type = "list"
values = ["edge", "internal"]
default = []
description = "Free tags."
question = "Is it so?"
rationale = "It matters."

[[entity]]
id = "database"
name = "Database"
description = "A data store."
kind = "data-store"

[entity.properties.encrypted]
type = "bool"
default = true
description = "Encrypted at rest."
question = "Is it so?"
rationale = "It matters."

[[entity]]
id = "call"
name = "Call"
description = "A request between components."
kind = "data-flow"

[entity.properties.tls]
type = "bool"
default = true
description = "Uses TLS."
question = "Is it so?"
rationale = "It matters."

[[entity]]
id = "internet"
name = "Internet"
description = "The public internet."
kind = "trust-boundary"
"#,
    ),
    (
        "attack-patterns/base.toml",
        r#"[[attack-pattern]]
id = "exposed"
name = "Exposed service"
description = "Anyone can call it."
categories = ["spoofing"]
applies-to = ["service"]
condition = "self.public && self.replicas > 0 && self.owner != 'nobody' && !('internal' in self.tags)"
severity = "high"
tier = "top"

[[attack-pattern]]
id = "sniffing"
name = "Sniffing"
description = "Someone reads the traffic."
categories = ["information-disclosure"]
applies-to = ["call"]
condition = "!self.tls && (crosses_boundary || has(target.encrypted))"
severity = "medium"
"#,
    ),
    (
        "mitigations/base.toml",
        r#"[[mitigation]]
id = "tls"
name = "TLS"
description = "Encrypt every call."
control = "preventive"
cost = "low"
implementation = "Terminate TLS at every hop."
verification = "Capture traffic and find none in clear."

[[mitigation.addresses]]
attack-pattern = "sniffing"
strength = "strong"

[[mitigation.addresses]]
attack-pattern = "exposed"
strength = "average"
condition = "self.language == 'rust'"
"#,
    ),
];

const SMALL_MODEL: &str = r#"[model]
name = "Fuzz"

[[component]]
id = "api"
kind = "service"
properties = { public = true, replicas = 3, tags = ["edge"] }

[[component]]
id = "db"
kind = "database"

[[boundary]]
id = "net"
kind = "internet"
contains = ["api"]

[[flow]]
id = "query"
kind = "call"
source = "api"
target = "db"
properties = { tls = false }
"#;

/// A public key whose secret nobody keeps: signatures are checked against it, never made.
const FUZZ_PUBLIC_KEY: &str = "RWRliLQPJuvWTlBeX/Qank0ZDcWbi/GPpnr4XRKlg8tRt/GMC+pBginZ";

#[cfg(test)]
mod tests {
    use super::*;

    /// The harness is only worth something if its fixed pack and model get past checking and
    /// binding, so that fuzzed conditions and models reach evaluation.
    #[test]
    fn the_small_pack_compiles_and_its_model_binds_with_findings() {
        let kb = small_knowledge_base().expect("the small pack compiles");
        let file = crate::system::load_model("model.toml", SMALL_MODEL.to_string(), None)
            .expect("the small model loads");
        let mut engine = Engine::new(kb);
        let model = bind(&mut engine, &file).expect("the small model binds");
        let rules = engine.rules(None);
        struct Count(usize);
        impl crate::engine::Sink for Count {
            fn finding(&mut self, _: usize, _: usize, _: &[usize]) {
                self.0 += 1;
            }
            fn problem(&mut self, problem: crate::engine::RuleProblem) {
                panic!("{problem:?}");
            }
        }
        let mut count = Count(0);
        engine.evaluate(&rules, &model, &mut count);
        assert_eq!(count.0, 2, "`exposed` on api and `sniffing` on query");
    }

    #[test]
    fn the_signature_key_parses() {
        assert_eq!(
            crate::signing::parse_public_keys(FUZZ_PUBLIC_KEY)
                .expect("the key parses")
                .len(),
            1
        );
    }
}
