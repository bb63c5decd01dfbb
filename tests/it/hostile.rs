//! Hostile and broken packs. Whatever is in a pack, `threatpack check` ends normally: no panic,
//! no stack overflow, no abort, no hang. Bad input gets a diagnostic naming the file (and the
//! line when there is one) and exits 1; a pack that cannot be read at all exits 2.
//!
//! Big inputs are generated here, never committed.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::support::{Run, write_fixture};

/// Long enough for a debug build on a busy machine; a run that takes longer is a hang.
const TIMEOUT: Duration = Duration::from_secs(120);

/// A small pack that passes `check` with no problems. Each case breaks one thing in it.
const BASE: &str = r#"
--- pack/pack.toml
[pack]
format = 1
name = "test/hostile"
version = "1.0.0"
description = "A pack under attack."
license = "MIT"
tiers = ["top", "standard"]
--- pack/entities/service.toml
[[entity]]
id = "service"
name = "Service"
description = "A network service."
kind = "process"

[entity.properties.public]
type = "bool"
default = false
description = "Reachable from the internet."
question = "Can the internet reach it?"
rationale = "Public services face anonymous attackers."
--- pack/attack-patterns/spoofing.toml
[[attack-pattern]]
id = "spoofing"
name = "Spoofing"
description = "Someone pretends to be someone else."
categories = ["spoofing"]
applies-to = ["service"]
condition = "self.public"
severity = "high"
--- pack/mitigations/authentication.toml
[[mitigation]]
id = "authentication"
name = "Authentication"
description = "Callers prove who they are."
control = "preventive"
cost = "low"
implementation = "Verify a token on every request."
verification = "Call without a token and expect 401."

[[mitigation.addresses]]
attack-pattern = "spoofing"
strength = "strong"
"#;

/// The attack-pattern file of `BASE` with its condition replaced (a multi-line literal string,
/// so the condition starts on line 7, column 16).
fn attack_pattern_with_condition(condition: &str) -> String {
    assert!(!condition.contains("'''"));
    format!(
        "[[attack-pattern]]\nid = \"spoofing\"\nname = \"Spoofing\"\ndescription = \"Someone pretends to be someone else.\"\n\
         categories = [\"spoofing\"]\napplies-to = [\"service\"]\ncondition = '''{condition}'''\nseverity = \"high\"\n"
    )
}

/// The column (1-based, in characters) of `needle` inside the condition line written by
/// `attack_pattern_with_condition`.
fn condition_column(condition: &str, needle: &str) -> u64 {
    let offset = condition.find(needle).expect("needle in condition");
    ("condition = '''".chars().count() + condition[..offset].chars().count() + 1) as u64
}

fn base_pack() -> tempfile::TempDir {
    write_fixture(BASE)
}

fn put(directory: &Path, path: &str, contents: impl AsRef<[u8]>) {
    let target = directory.join(path);
    fs::create_dir_all(target.parent().expect("a parent")).expect("create directory");
    fs::write(target, contents).expect("write file");
}

/// Runs `threatpack` like `support::threatpack`, but kills it after `timeout` (a hang is a
/// failure too). Output is drained on threads so that a flood of diagnostics cannot block it.
fn run_with_timeout(directory: &Path, args: &[&str], timeout: Duration) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_threatpack"))
        .args(args)
        .current_dir(directory)
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the threatpack binary starts");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for threatpack") {
            break Some(status);
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    match status {
        Some(status) => Run {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr,
        },
        None => panic!(
            "`threatpack {}` did not finish within {timeout:?} (hang); stderr so far:\n{}",
            args.join(" "),
            truncated(&stderr)
        ),
    }
}

/// `threatpack check pack` in `directory`, human output.
fn check(directory: &Path) -> Run {
    run_with_timeout(directory, &["check", "pack"], TIMEOUT)
}

/// `threatpack check pack --format json`: the diagnostics, one JSON object each.
fn check_json(directory: &Path) -> (Run, Vec<Json>) {
    let run = run_with_timeout(directory, &["check", "pack", "--format", "json"], TIMEOUT);
    assert_survived(&run, "json output");
    let diagnostics = run
        .stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"))
        })
        .collect();
    (run, diagnostics)
}

fn truncated(text: &str) -> String {
    const LIMIT: usize = 4000;
    if text.len() <= LIMIT {
        return text.to_string();
    }
    let mut end = LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n... ({} more bytes)", &text[..end], text.len() - end)
}

/// The process ended by itself: no signal (stack overflow aborts), no panic.
fn assert_survived(run: &Run, case: &str) {
    let crashed = run.code < 0
        || run.code > 2
        || run.stderr.contains("panicked")
        || run.stderr.contains("overflow")
        || run.stderr.contains("fatal runtime error");
    assert!(
        !crashed,
        "{case}: threatpack crashed (exit code {}, -1 = killed by a signal):\n{}",
        run.code,
        truncated(&run.stderr)
    );
}

/// Survived, exited with `code`, and reported `tag` (e.g. `[toml-syntax]`) naming `file`.
fn assert_reports(run: &Run, case: &str, code: i32, tag: &str, file: &str) {
    assert_survived(run, case);
    assert_eq!(
        run.code,
        code,
        "{case}: exit code\n{}",
        truncated(&run.stderr)
    );
    assert!(
        run.stderr.contains(tag),
        "{case}: no `{tag}` diagnostic:\n{}",
        truncated(&run.stderr)
    );
    assert!(
        run.stderr.contains(file),
        "{case}: `{file}` not named:\n{}",
        truncated(&run.stderr)
    );
}

/// The (code, file, line) of every positioned diagnostic.
fn positions(diagnostics: &[Json]) -> Vec<(String, String, u64)> {
    diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.get("file").is_some() && diagnostic.get("start").is_some())
        .map(|diagnostic| {
            (
                diagnostic["code"].as_str().unwrap_or_default().to_string(),
                diagnostic["file"].as_str().unwrap_or_default().to_string(),
                diagnostic["start"]["line"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn the_base_pack_is_clean() {
    let directory = base_pack();
    let run = check(directory.path());
    assert_survived(&run, "base pack");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("no problems"), "{}", run.stderr);
}

// --- Reading files -------------------------------------------------------------------------

#[test]
fn invalid_utf8_in_a_content_file() {
    let directory = base_pack();
    put(
        directory.path(),
        "pack/entities/bad.toml",
        b"[[entity]]\nid = \"db\"\nname = \"Caf\xe9\"\n",
    );
    let run = check(directory.path());
    assert_reports(
        &run,
        "invalid UTF-8 in entities/bad.toml",
        1,
        "[invalid-utf8]",
        "pack/entities/bad.toml",
    );
    assert!(
        run.stderr.contains("line 3"),
        "the message gives the line:\n{}",
        run.stderr
    );
}

#[test]
fn invalid_utf8_in_pack_toml() {
    let directory = base_pack();
    put(
        directory.path(),
        "pack/pack.toml",
        b"[pack]\nformat = 1\nname = \"test/\xc3\x28\"\nversion = \"1.0.0\"\n",
    );
    let run = check(directory.path());
    assert_reports(
        &run,
        "invalid UTF-8 in pack.toml",
        1,
        "[invalid-utf8]",
        "pack/pack.toml",
    );
    // The manifest exists: it is unreadable, not missing.
    assert!(!run.stderr.contains("[missing-manifest]"), "{}", run.stderr);
}

#[test]
fn utf16_pack_toml() {
    // What some Windows editors write: a byte-order mark and two bytes per character.
    let directory = base_pack();
    let text = fs::read_to_string(directory.path().join("pack/pack.toml")).expect("read");
    let mut bytes = vec![0xff, 0xfe];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    put(directory.path(), "pack/pack.toml", bytes);
    let run = check(directory.path());
    assert_reports(
        &run,
        "UTF-16 pack.toml",
        1,
        "[invalid-utf8]",
        "pack/pack.toml",
    );
}

#[test]
fn utf8_byte_order_mark_is_accepted() {
    let directory = base_pack();
    let text = fs::read_to_string(directory.path().join("pack/pack.toml")).expect("read");
    put(
        directory.path(),
        "pack/pack.toml",
        format!("\u{feff}{text}"),
    );
    let run = check(directory.path());
    assert_survived(&run, "UTF-8 BOM");
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn file_over_8_mib() {
    let directory = base_pack();
    // Valid TOML (comment lines), one byte over the limit.
    let limit = 8 * 1024 * 1024;
    let mut text = "# filler\n".repeat(limit / 9 + 1);
    text.truncate(limit);
    text.push('\n');
    assert_eq!(text.len(), limit + 1);
    put(directory.path(), "pack/entities/huge.toml", &text);
    let run = check(directory.path());
    assert_reports(
        &run,
        "9 MiB file",
        1,
        "[file-too-large]",
        "pack/entities/huge.toml",
    );
    assert!(run.stderr.contains("8 MiB"), "{}", run.stderr);
}

#[test]
fn file_of_exactly_8_mib_is_read() {
    let directory = base_pack();
    let limit = 8 * 1024 * 1024;
    let mut text = "# filler\n".repeat(limit / 9 + 1);
    text.truncate(limit - 1);
    text.push('\n');
    assert_eq!(text.len(), limit);
    put(directory.path(), "pack/entities/big.toml", &text);
    let run = check(directory.path());
    assert_survived(&run, "8 MiB file");
    assert_eq!(run.code, 0, "{}", truncated(&run.stderr));
}

#[test]
fn empty_pack_toml() {
    for (case, text) in [
        ("empty", ""),
        ("blank lines", "\n\n  \n"),
        ("only a comment", "# nothing here\n"),
    ] {
        let directory = base_pack();
        put(directory.path(), "pack/pack.toml", text);
        let run = check(directory.path());
        assert_reports(&run, case, 1, "[schema-violation]", "pack/pack.toml");
        assert!(
            run.stderr.contains("`pack`"),
            "{case}: says what is missing:\n{}",
            run.stderr
        );
    }
}

#[test]
fn binary_blob_pack_toml() {
    // Pseudo-random bytes (a fixed xorshift sequence): not UTF-8.
    let directory = base_pack();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let blob: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    put(directory.path(), "pack/pack.toml", &blob);
    let run = check(directory.path());
    assert_reports(&run, "random bytes", 1, "[invalid-utf8]", "pack/pack.toml");

    // Valid UTF-8 made of control characters and punctuation.
    let directory = base_pack();
    let blob: Vec<u8> = (0u8..128).cycle().take(512).collect();
    put(directory.path(), "pack/pack.toml", &blob);
    let run = check(directory.path());
    assert_reports(
        &run,
        "ASCII control characters",
        1,
        "[toml-syntax]",
        "pack/pack.toml",
    );
}

#[test]
fn a_large_garbage_file_is_reported_briefly_and_quickly() {
    // 64 KiB of pseudo-random 7-bit ASCII: valid UTF-8, thousands of TOML errors. The run must
    // end promptly and the report must stay readable: a cap on syntax errors per file (with a
    // note saying how many were left out) rather than one diagnostic per bad byte.
    let directory = base_pack();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let blob: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 24) & 0x7f) as u8
        })
        .collect();
    put(directory.path(), "pack/entities/garbage.toml", &blob);
    let run = run_with_timeout(
        directory.path(),
        &["check", "pack"],
        Duration::from_secs(60),
    );
    assert_reports(
        &run,
        "64 KiB of ASCII garbage",
        1,
        "[toml-syntax]",
        "pack/entities/garbage.toml",
    );
    let reported = run.stderr.matches("error[toml-syntax]").count();
    assert!(
        reported <= 100,
        "64 KiB of garbage gives {reported} `toml-syntax` diagnostics; a file should get at most a screenful"
    );
}

// --- TOML structure --------------------------------------------------------------------------

#[test]
fn deeply_nested_inline_arrays() {
    let directory = base_pack();
    let depth = 10_000;
    put(
        directory.path(),
        "pack/entities/deep.toml",
        format!("a = {}{}\n", "[".repeat(depth), "]".repeat(depth)),
    );
    let run = check(directory.path());
    assert_reports(
        &run,
        "arrays 10,000 deep",
        1,
        "[toml-syntax]",
        "pack/entities/deep.toml",
    );
}

#[test]
fn deeply_nested_inline_tables() {
    let directory = base_pack();
    let depth = 10_000;
    put(
        directory.path(),
        "pack/entities/deep.toml",
        format!("a = {}1{}\n", "{ b = ".repeat(depth), " }".repeat(depth)),
    );
    let run = check(directory.path());
    assert_reports(
        &run,
        "inline tables 10,000 deep",
        1,
        "[toml-syntax]",
        "pack/entities/deep.toml",
    );
}

#[test]
fn deeply_nested_table_headers_and_dotted_keys() {
    let keys = vec!["a"; 5_000].join(".");
    for (case, text) in [
        ("table header 5,000 deep", format!("[{keys}]\nx = 1\n")),
        (
            "array-of-tables header 5,000 deep",
            format!("[[{keys}]]\nx = 1\n"),
        ),
        ("dotted key 5,000 deep", format!("{keys} = 1\n")),
        (
            "dotted key 5,000 deep in an inline table",
            format!("x = {{ {keys} = 1 }}\n"),
        ),
    ] {
        let directory = base_pack();
        put(directory.path(), "pack/entities/deep.toml", &text);
        let run = check(directory.path());
        assert_reports(&run, case, 1, "[toml-syntax]", "pack/entities/deep.toml");
    }
}

#[test]
fn nesting_at_the_depth_limit() {
    // threatpack accepts 64 levels of tables and arrays (document::MAX_DEPTH): at the limit the
    // document is valid TOML, so the schema reports the unknown key; one level more is refused
    // before any recursive walk.
    let at_limit = format!(
        "{} = {}{}\n",
        vec!["b"; 32].join("."),
        "[".repeat(32),
        "]".repeat(32)
    );
    let directory = base_pack();
    put(directory.path(), "pack/entities/deep.toml", &at_limit);
    let run = check(directory.path());
    assert_reports(
        &run,
        "nesting at the limit",
        1,
        "[schema-violation]",
        "pack/entities/deep.toml",
    );

    let beyond = format!(
        "{} = {}{}\n",
        vec!["b"; 32].join("."),
        "[".repeat(34),
        "]".repeat(34)
    );
    put(directory.path(), "pack/entities/deep.toml", &beyond);
    let run = check(directory.path());
    assert_reports(
        &run,
        "nesting beyond the limit",
        1,
        "[toml-syntax]",
        "pack/entities/deep.toml",
    );
    assert!(
        run.stderr.contains("nest more than 64 levels"),
        "{}",
        run.stderr
    );
}

#[test]
fn inline_tables_nested_through_dotted_keys() {
    // Each level is one inline table (the parser allows about 80) holding a 79-part dotted
    // key: every limit of the TOML parser is respected, yet the document is ~6,300 tables
    // deep. Converting it (document::convert, then to_json, the schema, drop) recurses once
    // per level.
    let key = vec!["b"; 79].join(".");
    for depth in [40, 79] {
        let text = format!(
            "x = {}1{}\n",
            format!("{{ {key} = ").repeat(depth),
            " }".repeat(depth)
        );
        let directory = base_pack();
        put(directory.path(), "pack/entities/deep.toml", &text);
        let run = check(directory.path());
        let case = format!("{depth} inline tables of 79-part dotted keys");
        assert_survived(&run, &case);
        assert_eq!(run.code, 1, "{case}:\n{}", truncated(&run.stderr));
        assert!(
            run.stderr.contains("[toml-syntax]") || run.stderr.contains("[schema-violation]"),
            "{case}:\n{}",
            truncated(&run.stderr)
        );
        assert!(
            run.stderr.contains("pack/entities/deep.toml"),
            "{case}:\n{}",
            truncated(&run.stderr)
        );
    }
}

#[test]
fn duplicate_keys() {
    let directory = base_pack();
    put(
        directory.path(),
        "pack/entities/dup.toml",
        "[[entity]]\nid = \"a\"\nid = \"b\"\nname = \"A\"\n",
    );
    put(
        directory.path(),
        "pack/attack-patterns/dup.toml",
        "[[attack-pattern]]\nid = \"x\"\nreferences.cwe = [1]\n[attack-pattern.references]\ncwe = [2]\n",
    );
    let (run, diagnostics) = check_json(directory.path());
    assert_eq!(run.code, 1);
    let found = positions(&diagnostics);
    for expected in [
        ("toml-syntax", "pack/entities/dup.toml", 3),
        ("toml-syntax", "pack/attack-patterns/dup.toml", 4),
    ] {
        assert!(
            found
                .iter()
                .any(|(code, file, line)| (code.as_str(), file.as_str(), *line) == expected),
            "{expected:?} not in {found:?}"
        );
    }
    let run = check(directory.path());
    assert_reports(
        &run,
        "duplicate keys",
        1,
        "[toml-syntax]",
        "pack/entities/dup.toml",
    );
    assert!(run.stderr.contains("duplicate key"), "{}", run.stderr);
}

#[test]
fn duplicate_tables() {
    let directory = base_pack();
    put(
        directory.path(),
        "pack/pack.toml",
        "[pack]\nformat = 1\nname = \"test/hostile\"\n\n[pack]\nversion = \"1.0.0\"\n",
    );
    put(
        directory.path(),
        "pack/entities/dup.toml",
        "[[entity]]\nid = \"a\"\n[entity.properties.x]\ntype = \"bool\"\n[entity.properties.x]\ntype = \"int\"\n",
    );
    put(
        directory.path(),
        "pack/mitigations/dup.toml",
        "[mitigation]\nid = \"m\"\n[[mitigation]]\nid = \"n\"\n",
    );
    let (run, diagnostics) = check_json(directory.path());
    assert_eq!(run.code, 1);
    let found = positions(&diagnostics);
    for expected in [
        ("toml-syntax", "pack/pack.toml", 5),
        ("toml-syntax", "pack/entities/dup.toml", 5),
        ("toml-syntax", "pack/mitigations/dup.toml", 3),
    ] {
        assert!(
            found
                .iter()
                .any(|(code, file, line)| (code.as_str(), file.as_str(), *line) == expected),
            "{expected:?} not in {found:?}"
        );
    }
    let run = check(directory.path());
    assert_reports(
        &run,
        "duplicate tables",
        1,
        "[toml-syntax]",
        "pack/pack.toml",
    );
}

/// Every field of every item kind with a value of the wrong type. Each line marked `# WRONG`
/// must get a diagnostic on that line.
const WRONG_TYPES: &str = r#"
--- pack/pack.toml
[pack]
format = "1" # WRONG
name = 7 # WRONG
version = 1.0 # WRONG
description = ["a"] # WRONG
license = { id = "MIT" } # WRONG
authors = "me" # WRONG
homepage = 5 # WRONG
repository = true # WRONG
tags = "stride" # WRONG
tiers = "top" # WRONG

[dependencies]
"test/a" = 5 # WRONG
"test/b" = { version = 1, path = 2 } # WRONG
"test/c" = ["^1.0"] # WRONG
--- pack/entities/wrong.toml
[[entity]]
id = 1 # WRONG
name = 2 # WRONG
description = 3 # WRONG
kind = 4 # WRONG
parent = 5 # WRONG
status = 6 # WRONG
replaced-by = 7 # WRONG
properties = 8 # WRONG

[[entity]]
id = "e-two"
name = "E"
description = "E"
kind = "process"
properties = { x = 5 } # WRONG

[[entity]]
id = "e-three"
name = "E"
description = "E"
kind = "process"
[entity.properties.flag]
type = 1 # WRONG
default = "no"
description = 2 # WRONG
question = 3 # WRONG
rationale = 4 # WRONG
[entity.properties.level]
type = "int"
default = "3" # WRONG
description = "d"
question = "q"
rationale = "r"
min = "0" # WRONG
max = [1] # WRONG
[entity.properties.mode]
type = "enum"
default = 1 # WRONG
values = [1, 2] # WRONG
description = "d"
question = "q"
rationale = "r"
[entity.properties.items]
type = "list"
default = "x" # WRONG
values = "x" # WRONG
description = "d"
question = "q"
rationale = "r"
[entity.properties.scalar]
type = "string"
default = false # WRONG
description = "d"
question = "q"
rationale = "r"
[entity.properties.switch]
type = "bool"
default = 0 # WRONG
description = "d"
question = "q"
rationale = "r"
--- pack/entities/not-an-array.toml
entity = "x" # WRONG
--- pack/attack-patterns/wrong.toml
[[attack-pattern]]
id = [] # WRONG
name = {} # WRONG
description = false # WRONG
categories = "spoofing" # WRONG
applies-to = "e-two" # WRONG
condition = true # WRONG
severity = 75 # WRONG
likelihood = 1 # WRONG
impact = 2.5 # WRONG
tier = 1 # WRONG
references = "CWE-89" # WRONG
status = false # WRONG
replaced-by = 3 # WRONG

[[attack-pattern]]
id = "ap-two"
name = "AP"
description = "AP"
categories = [1, true] # WRONG
applies-to = [1] # WRONG
severity = "high"
[attack-pattern.references]
capec = "66" # WRONG
cwe = ["89"] # WRONG
attack = [1190] # WRONG
asvs = 5 # WRONG
url = [true] # WRONG
--- pack/attack-patterns/not-tables.toml
attack-pattern = [1, "x", [2]] # WRONG
--- pack/mitigations/wrong.toml
[[mitigation]]
id = 1 # WRONG
name = 2 # WRONG
description = 3 # WRONG
control = 4 # WRONG
cost = 5 # WRONG
implementation = 6 # WRONG
verification = 7 # WRONG
events = "x" # WRONG
tier = 8 # WRONG
references = 9 # WRONG
status = 10 # WRONG
replaced-by = 11 # WRONG
addresses = "ap-two" # WRONG

[[mitigation]]
id = "m-two"
name = "M"
description = "M"
control = "preventive"
cost = "low"
implementation = "i"
verification = "v"
events = [1, { id = 2, description = 3 }] # WRONG
[[mitigation.addresses]]
attack-pattern = 1 # WRONG
strength = 75 # WRONG
tier = 2 # WRONG
condition = false # WRONG
[[mitigation.addresses]]
attack-pattern = "ap-two"
strength = "strong"
condition = ["self.flag"] # WRONG
--- pack/mitigations/a-table.toml
mitigation = { id = "x" } # WRONG
--- pack/overrides/wrong.toml
[[override]]
target = 1 # WRONG
reason = 2 # WRONG
disable = "yes" # WRONG
name = 3 # WRONG
description = 4 # WRONG
implementation = 5 # WRONG
verification = 6 # WRONG
severity = 7 # WRONG
likelihood = 8 # WRONG
impact = 9 # WRONG
tier = 10 # WRONG
status = 11 # WRONG
strength = 12 # WRONG
condition = 13 # WRONG
add-addresses = "x" # WRONG

[[override]]
target = "test/a:mitigation/m"
reason = "r"
add-addresses = [1, { attack-pattern = 2, strength = 3 }] # WRONG
--- pack/overrides/a-number.toml
override = 5 # WRONG
--- pack/tests/wrong.toml
[test]
description = 1 # WRONG
tier = 2 # WRONG
expect = "a@b" # WRONG
expect-absent = [1] # WRONG

[system]
flag = { nested = true } # WRONG

[[component]]
id = 1 # WRONG
name = 2 # WRONG
kind = 3 # WRONG
properties = 4 # WRONG

[[flow]]
id = 1 # WRONG
name = 2 # WRONG
kind = 3 # WRONG
source = 4 # WRONG
target = 5 # WRONG
properties = "x" # WRONG

[[boundary]]
id = 1 # WRONG
name = 2 # WRONG
kind = 3 # WRONG
contains = "x" # WRONG
properties = [] # WRONG
--- pack/tests/wrong-roots.toml
test = "x" # WRONG
system = [1] # WRONG
component = { id = "x" } # WRONG
flow = 1 # WRONG
boundary = "b" # WRONG
"#;

/// The (file, line) of every line marked `# WRONG` in a fixture.
fn marked_lines(fixture: &str, marker: &str) -> Vec<(String, u64)> {
    let mut marked = Vec::new();
    let mut file = None;
    let mut line_in_file = 0;
    for line in fixture.lines() {
        if let Some(path) = line.strip_prefix("--- ") {
            file = Some(path.trim().to_string());
            line_in_file = 0;
            continue;
        }
        let Some(file) = &file else { continue };
        line_in_file += 1;
        if line.contains(marker) {
            marked.push((file.clone(), line_in_file));
        }
    }
    marked
}

#[test]
fn wrong_types_everywhere() {
    let directory = write_fixture(WRONG_TYPES);
    let (run, diagnostics) = check_json(directory.path());
    assert_eq!(run.code, 1);
    let found = positions(&diagnostics);
    let missing: Vec<_> = marked_lines(WRONG_TYPES, "# WRONG")
        .into_iter()
        .filter(|(file, line)| {
            !found
                .iter()
                .any(|(code, f, l)| code == "schema-violation" && f == file && l == line)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "wrong types without a `schema-violation` on their line: {missing:?}"
    );

    let run = check(directory.path());
    assert_survived(&run, "wrong types");
    assert_eq!(run.code, 1);
    for file in [
        "pack/pack.toml",
        "pack/entities/wrong.toml",
        "pack/entities/not-an-array.toml",
        "pack/attack-patterns/wrong.toml",
        "pack/attack-patterns/not-tables.toml",
        "pack/mitigations/wrong.toml",
        "pack/mitigations/a-table.toml",
        "pack/overrides/wrong.toml",
        "pack/overrides/a-number.toml",
        "pack/tests/wrong.toml",
        "pack/tests/wrong-roots.toml",
    ] {
        assert_reports(&run, "wrong types", 1, "[schema-violation]", file);
    }
}

#[test]
fn values_that_are_not_strings_are_not_accepted_as_strings() {
    // TOML date-times, `nan`/`inf` and integers beyond i64 have no JSON form; they must not
    // slip through the schema as the text of a string.
    let fixture = r#"
--- pack/attack-patterns/odd.toml
[[attack-pattern]]
id = "odd"
name = 1979-05-27T07:32:00Z # WRONG
description = nan # WRONG
categories = ["spoofing"]
applies-to = ["service"]
condition = 07:32:00 # WRONG
severity = "high"
--- pack/mitigations/odd.toml
[[mitigation]]
id = "odd-mitigation"
name = 99999999999999999999 # WRONG
description = -inf # WRONG
control = "preventive"
cost = "low"
implementation = 1979-05-27 # WRONG
verification = "v"
"#;
    let directory = base_pack();
    let extra = write_fixture(fixture);
    for file in ["pack/attack-patterns/odd.toml", "pack/mitigations/odd.toml"] {
        fs::copy(extra.path().join(file), directory.path().join(file)).expect("copy");
    }
    let (run, diagnostics) = check_json(directory.path());
    let found = positions(&diagnostics);
    let missing: Vec<_> = marked_lines(fixture, "# WRONG")
        .into_iter()
        .filter(|(file, line)| {
            !found
                .iter()
                .any(|(code, f, l)| code == "schema-violation" && f == file && l == line)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "non-string values accepted as strings (exit {}): {missing:?}\n{}",
        run.code,
        run.stdout
    );
    assert_eq!(run.code, 1);
}

// --- Odd bytes and line endings ------------------------------------------------------------

#[test]
fn nul_bytes() {
    for (case, text, line) in [
        ("NUL in a basic string", "[[entity]]\nid = \"a\0b\"\n", 2),
        ("NUL in a literal string", "[[entity]]\nid = 'a\0b'\n", 2),
        (
            "NUL after a value",
            "[[entity]]\nname = \"A\"\nid = \"a\"\0\n",
            3,
        ),
        ("NUL in a comment", "# a comment \0 here\n[[entity]]\n", 1),
        ("NUL in a key", "[[entity]]\ni\0d = \"a\"\n", 2),
    ] {
        let directory = base_pack();
        put(directory.path(), "pack/entities/nul.toml", text);
        let run = check(directory.path());
        assert_reports(
            &run,
            case,
            1,
            "[toml-syntax]",
            &format!("pack/entities/nul.toml:{line}:"),
        );
    }
    // An escaped NUL is valid TOML: the value is then checked like any other.
    let directory = base_pack();
    put(
        directory.path(),
        "pack/attack-patterns/spoofing.toml",
        attack_pattern_with_condition("x").replace("'''x'''", "\"self.pub\\u0000lic\""),
    );
    put(
        directory.path(),
        "pack/entities/nul.toml",
        "[[entity]]\nid = \"a\\u0000b\"\nname = \"A\"\ndescription = \"A\"\nkind = \"process\"\n",
    );
    let run = check(directory.path());
    assert_reports(
        &run,
        "escaped NUL in an id",
        1,
        "[schema-violation]",
        "pack/entities/nul.toml:2:",
    );
    assert_reports(
        &run,
        "escaped NUL in a condition",
        1,
        "[condition-syntax]",
        "pack/attack-patterns/spoofing.toml:7:",
    );
}

#[test]
fn control_characters_from_the_pack_do_not_reach_the_terminal_raw() {
    // Ids and file names are the pack author's text. Echoed raw, an escape sequence in them
    // rewrites the user's terminal; the renderer must show control characters visibly
    // (it already does in source excerpts and titles: `␛`).
    let directory = base_pack();
    let entities = directory.path().join("pack/entities/service.toml");
    let text = fs::read_to_string(&entities).expect("read");
    fs::write(
        &entities,
        text.replace("id = \"service\"", "id = \"servic\\u001b[2J\""),
    )
    .expect("write");
    put(
        directory.path(),
        "pack/evil\u{1b}[31mred\rname.toml",
        "x = 1\n",
    );
    let run = check(directory.path());
    assert_survived(&run, "control characters");
    assert_eq!(run.code, 1, "{}", run.stderr);
    let raw: Vec<(usize, char)> = run
        .stderr
        .char_indices()
        .filter(|(_, character)| character.is_control() && *character != '\n')
        .collect();
    assert!(
        raw.is_empty(),
        "raw control characters on stderr at {:?}:\n{}",
        raw.iter()
            .map(|(offset, character)| format!("{offset}: {:?}", character))
            .collect::<Vec<_>>(),
        run.stderr.escape_debug()
    );
}

#[test]
fn crlf_line_endings() {
    let directory = base_pack();
    put(
        directory.path(),
        "pack/entities/broken.toml",
        "[[entity]]\r\nid = \"broken\"\r\n\r\nname = \r\nkind = \"process\"\r\n",
    );
    put(
        directory.path(),
        "pack/attack-patterns/spoofing.toml",
        "[[attack-pattern]]\r\nid = \"spoofing\"\r\nname = \"Spoofing\"\r\ndescription = \"Someone pretends.\"\r\n\
         categories = [\"spoofing\"]\r\napplies-to = [\"service\"]\r\ncondition = '''\r\nself.public &&\r\n  self.public &&\r\n  self.publc\r\n'''\r\n\
         severity = \"high\"\r\n",
    );
    put(
        directory.path(),
        "pack/mitigations/authentication.toml",
        "[[mitigation]]\r\nid = \"authentication\"\r\nname = \"Authentication\"\r\ndescription = \"Callers prove who they are.\"\r\n\
         control = \"preventive\"\r\ncost = \"cheap\"\r\nimplementation = \"Verify a token.\"\r\nverification = \"Expect 401.\"\r\n\r\n\
         [[mitigation.addresses]]\r\nattack-pattern = \"spoofing\"\r\nstrength = \"strong\"\r\n",
    );
    let (run, diagnostics) = check_json(directory.path());
    assert_eq!(run.code, 1, "{}", run.stdout);
    let found: Vec<(String, String, u64, u64)> = diagnostics
        .iter()
        .map(|diagnostic| {
            (
                diagnostic["code"].as_str().unwrap_or_default().to_string(),
                diagnostic["file"].as_str().unwrap_or_default().to_string(),
                diagnostic["start"]["line"].as_u64().unwrap_or_default(),
                diagnostic["start"]["column"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    for expected in [
        ("toml-syntax", "pack/entities/broken.toml", 4, 8),
        (
            "condition-unknown-property",
            "pack/attack-patterns/spoofing.toml",
            10,
            8,
        ),
        (
            "schema-violation",
            "pack/mitigations/authentication.toml",
            6,
            8,
        ),
    ] {
        assert!(
            found.iter().any(|(code, file, line, column)| (
                code.as_str(),
                file.as_str(),
                *line,
                *column
            ) == expected),
            "{expected:?} not in {found:?}"
        );
    }
    let run = check(directory.path());
    assert_survived(&run, "CRLF");
    for location in [
        "--> pack/entities/broken.toml:4:8",
        "--> pack/attack-patterns/spoofing.toml:10:8",
        "--> pack/mitigations/authentication.toml:6:8",
    ] {
        assert!(
            run.stderr.contains(location),
            "{location} missing:\n{}",
            run.stderr
        );
    }
    assert!(
        !run.stderr.contains('\r'),
        "a carriage return is echoed:\n{}",
        run.stderr.escape_debug()
    );
}

#[test]
fn bare_carriage_returns() {
    // Classic Mac line endings are not TOML newlines.
    let directory = base_pack();
    put(
        directory.path(),
        "pack/entities/mac.toml",
        "[[entity]]\rid = \"mac\"\rname = \"Mac\"\r",
    );
    let run = check(directory.path());
    assert_reports(
        &run,
        "bare CR",
        1,
        "[toml-syntax]",
        "pack/entities/mac.toml",
    );
}

// --- The file system -------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn symlinks_inside_the_pack_are_not_followed() {
    use std::os::unix::fs::symlink;
    let directory = base_pack();
    let outside = tempfile::tempdir().expect("a temporary directory");
    let secret = outside.path().join("secret.toml");
    fs::write(
        &secret,
        "[[entity]]\nid = \"SECRET-CONTENT-MUST-NOT-LEAK\"\n",
    )
    .expect("write");
    symlink("/etc/passwd", directory.path().join("pack/entities/x.toml")).expect("symlink");
    symlink(&secret, directory.path().join("pack/entities/secret.toml")).expect("symlink");
    symlink(
        outside.path(),
        directory.path().join("pack/attack-patterns/outside"),
    )
    .expect("symlink");
    symlink("..", directory.path().join("pack/mitigations/loop")).expect("symlink");
    let run = check(directory.path());
    assert_survived(&run, "symlinks");
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Linked `.toml` files are named in a warning, never read.
    assert!(
        run.stderr
            .contains("`entities/x.toml` is a symbolic link and is not read"),
        "{}",
        run.stderr
    );
    for leak in [
        "root:",
        "SECRET-CONTENT-MUST-NOT-LEAK",
        "outside/secret.toml",
        "loop/",
    ] {
        assert!(
            !run.stderr.contains(leak),
            "`{leak}` read through a symlink:\n{}",
            run.stderr
        );
    }
}

#[cfg(unix)]
#[test]
fn a_symlinked_pack_toml_is_reported_as_such() {
    // Not followed, fine; but "no `pack.toml`" next to a `pack.toml` is confusing: the message
    // should say that the file is a symbolic link and is not followed.
    use std::os::unix::fs::symlink;
    let directory = base_pack();
    let outside = tempfile::tempdir().expect("a temporary directory");
    fs::rename(
        directory.path().join("pack/pack.toml"),
        outside.path().join("pack.toml"),
    )
    .expect("move");
    symlink(
        outside.path().join("pack.toml"),
        directory.path().join("pack/pack.toml"),
    )
    .expect("symlink");
    let run = check(directory.path());
    assert_survived(&run, "symlinked pack.toml");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("pack.toml"), "{}", run.stderr);
    assert!(
        run.stderr.contains("link"),
        "the diagnostic should say `pack.toml` is a symbolic link, not that it is missing:\n{}",
        run.stderr
    );
}

#[test]
fn a_pack_path_that_does_not_exist() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let run = check(directory.path());
    assert_survived(&run, "missing pack directory");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("error:") && run.stderr.contains("`pack`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_pack_path_that_is_a_file() {
    let directory = base_pack();
    let run = run_with_timeout(directory.path(), &["check", "pack/pack.toml"], TIMEOUT);
    assert_survived(&run, "pack path is a file");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("pack/pack.toml") && run.stderr.contains("not a directory"),
        "{}",
        run.stderr
    );
}

// --- Dependencies ----------------------------------------------------------------------------

fn with_dependency(pack_toml: &str, name: &str, path: &str) -> String {
    format!(
        "{pack_toml}\n[dependencies]\n\"{name}\" = {{ version = \"^1.0\", path = \"{path}\" }}\n"
    )
}

#[test]
fn a_dependency_path_cycle() {
    // `a` depends on `b` by path and `b` on `a`: loading must terminate, and the cycle is an
    // error (a registry could never publish either pack first).
    let directory = base_pack();
    let pack_toml = fs::read_to_string(directory.path().join("pack/pack.toml")).expect("read");
    let other = base_pack();
    let other_toml = pack_toml.replace("test/hostile", "test/other");
    fs::rename(other.path().join("pack"), directory.path().join("other")).expect("move");
    put(
        directory.path(),
        "pack/pack.toml",
        with_dependency(&pack_toml, "test/other", "../other"),
    );
    put(
        directory.path(),
        "other/pack.toml",
        with_dependency(&other_toml, "test/hostile", "../pack"),
    );
    let run = check(directory.path());
    assert_survived(&run, "dependency cycle");
    assert_eq!(
        run.code, 1,
        "a dependency cycle is not reported:\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("[dependency-"), "{}", run.stderr);
    assert!(run.stderr.contains("pack/pack.toml"), "{}", run.stderr);
    assert!(run.stderr.contains("cycle"), "{}", run.stderr);
}

#[test]
fn a_dependency_on_itself_by_path() {
    let directory = base_pack();
    let pack_toml = fs::read_to_string(directory.path().join("pack/pack.toml")).expect("read");
    put(
        directory.path(),
        "pack/pack.toml",
        with_dependency(&pack_toml, "test/hostile", "."),
    );
    let run = check(directory.path());
    assert_reports(
        &run,
        "depends on itself",
        1,
        "[dependency-mismatch]",
        "pack/pack.toml",
    );
}

#[test]
fn a_dependency_path_that_does_not_exist() {
    let directory = base_pack();
    let pack_toml = fs::read_to_string(directory.path().join("pack/pack.toml")).expect("read");
    put(
        directory.path(),
        "pack/pack.toml",
        with_dependency(&pack_toml, "test/other", "../does-not-exist"),
    );
    let line = pack_toml.lines().count() + 3;
    let run = check(directory.path());
    assert_reports(
        &run,
        "missing dependency directory",
        1,
        "[dependency-unavailable]",
        &format!("pack/pack.toml:{line}:"),
    );

    let directory = base_pack();
    put(
        directory.path(),
        "pack/pack.toml",
        with_dependency(&pack_toml, "test/other", "pack.toml"),
    );
    let run = check(directory.path());
    assert_reports(
        &run,
        "dependency path is a file",
        1,
        "[dependency-unavailable]",
        "pack/pack.toml",
    );
}

// --- Conditions (CEL) ------------------------------------------------------------------------

/// Checks the base pack with the attack pattern's condition replaced.
fn check_condition(condition: &str) -> (Run, Vec<Json>) {
    let directory = base_pack();
    put(
        directory.path(),
        "pack/attack-patterns/spoofing.toml",
        attack_pattern_with_condition(condition),
    );
    let human = check(directory.path());
    assert_survived(
        &human,
        &format!("condition of {} characters", condition.len()),
    );
    let (json, diagnostics) = check_json(directory.path());
    assert_eq!(human.code, json.code);
    (human, diagnostics)
}

/// What is wrong with checking `condition`, if anything: a crash, or not an error `tag_prefix`
/// in the attack-pattern file.
fn condition_failure(condition: &str, case: &str, tag_prefix: &str) -> Option<String> {
    let directory = base_pack();
    put(
        directory.path(),
        "pack/attack-patterns/spoofing.toml",
        attack_pattern_with_condition(condition),
    );
    let run = check(directory.path());
    if run.code < 0 || run.stderr.contains("panicked") || run.stderr.contains("overflow") {
        return Some(format!(
            "{case}: crashed (exit code {}): {}",
            run.code,
            truncated(&run.stderr).trim()
        ));
    }
    if run.code != 1
        || !run.stderr.contains(tag_prefix)
        || !run.stderr.contains("pack/attack-patterns/spoofing.toml")
    {
        return Some(format!(
            "{case}: exit code {}, expected 1 and `{tag_prefix}`:\n{}",
            run.code,
            truncated(&run.stderr)
        ));
    }
    None
}

fn assert_condition_errors(cases: &[(String, String)], tag_prefix: &str) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(case, condition)| condition_failure(condition, case, tag_prefix))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_condition_of_100000_characters() {
    // Conditions are limited to 4 KiB (condition::MAX_CONDITION_BYTES): a clear error.
    let long = vec!["self.public"; 7_200].join(" && ");
    assert!(long.len() > 100_000);
    let (run, diagnostics) = check_condition(&long);
    assert_eq!(run.code, 1, "{}", truncated(&run.stderr));
    assert!(
        diagnostics
            .iter()
            .any(|diagnostic| diagnostic["code"] == "condition-syntax"
                && diagnostic["label"]
                    .as_str()
                    .is_some_and(|label| label.contains("at most 4096"))),
        "{diagnostics:?}"
    );
}

#[test]
fn a_condition_at_the_size_limits() {
    // 250 terms fit in 4 KiB, and CEL balances `&&` chains, so they nest only ~8 deep: fine.
    let wide = vec!["self.public"; 250].join(" && ");
    assert!(wide.len() < 4096);
    let (run, _) = check_condition(&wide);
    assert_eq!(run.code, 0, "{}", truncated(&run.stderr));
    // 60 terms are fine, and an unknown property at the end is underlined where it is.
    let condition = format!("{} && self.nope", vec!["self.public"; 60].join(" && "));
    let (run, diagnostics) = check_condition(&condition);
    assert_eq!(run.code, 1, "{}", truncated(&run.stderr));
    let column = condition_column(&condition, "self.nope") + "self.".len() as u64;
    assert!(
        diagnostics.iter().any(
            |diagnostic| diagnostic["code"] == "condition-unknown-property"
                && diagnostic["start"]["line"] == 7
                && diagnostic["start"]["column"] == column
        ),
        "expected condition-unknown-property at 7:{column}: {diagnostics:?}"
    );
}

#[test]
fn a_long_string_literal_in_a_condition() {
    let condition = format!("self.public && \"{}\" == \"y\"", "x".repeat(100_000));
    let (run, _) = check_condition(&condition);
    assert!(run.code == 0 || run.code == 1, "{}", truncated(&run.stderr));
}

#[test]
fn parentheses_10000_deep() {
    // Redundant parentheses around a valid condition.
    let condition = format!("{}self.public{}", "(".repeat(10_000), ")".repeat(10_000));
    let (run, _) = check_condition(&condition);
    assert!(run.code == 0 || run.code == 1, "{}", truncated(&run.stderr));
}

#[test]
fn parentheses_10000_deep_around_an_unknown_property() {
    // Beyond the 4 KiB limit: refused before parsing.
    let condition = format!("{}self.nope{}", "(".repeat(10_000), ")".repeat(10_000));
    assert_condition_errors(
        &[(
            "10,000 parentheses around `self.nope`".to_string(),
            condition,
        )],
        "[condition-syntax]",
    );
    // 1,500 parentheses fit in 4 KiB and add no depth: the problem is found (and, beyond the
    // locating parser's depth, reported on the whole condition).
    let condition = format!("{}self.nope{}", "(".repeat(1_500), ")".repeat(1_500));
    assert_condition_errors(
        &[(
            "1,500 parentheses around `self.nope`".to_string(),
            condition,
        )],
        "[condition-unknown-property]",
    );
}

#[test]
fn an_unknown_property_inside_deep_nesting() {
    // Nesting the fast parser accepts (its limit is 96), with a problem at the bottom: the
    // ANTLR parser runs on it to locate the problem.
    let cases: Vec<(String, String)> = [10, 30, 50, 60]
        .into_iter()
        .map(|depth| {
            (
                format!("`self.nope` under {depth} levels of `(self.public && ...)`"),
                format!(
                    "{}self.nope{}",
                    "(self.public && ".repeat(depth),
                    ")".repeat(depth)
                ),
            )
        })
        .collect();
    assert_condition_errors(&cases, "[condition-unknown-property]");
    // Deeper than the 64 levels a condition may nest: a clear error.
    let condition = format!(
        "{}self.nope{}",
        "(self.public && ".repeat(90),
        ")".repeat(90)
    );
    assert_condition_errors(
        &[("90 levels".to_string(), condition)],
        "[condition-syntax]",
    );
}

#[test]
fn nesting_beyond_the_parser_limit() {
    // Beyond the fast parser's limit (96): a syntax error, not a crash.
    let condition = format!(
        "{}self.nope{}",
        "(self.public && ".repeat(200),
        ")".repeat(200)
    );
    assert_condition_errors(
        &[("200 levels".to_string(), condition)],
        "[condition-syntax]",
    );
}

#[test]
fn lists_10000_deep_in_a_condition() {
    let condition = format!("{}{} == []", "[".repeat(10_000), "]".repeat(10_000));
    assert_condition_errors(
        &[("lists 10,000 deep".to_string(), condition)],
        "[condition-syntax]",
    );
}

#[test]
fn long_chains_that_the_parser_builds_without_recursing() {
    // The fast parser builds these in loops, without counting depth, into trees tens of
    // thousands of levels deep; every later walk of the tree (collect_guards, the checker,
    // the constant evaluation, drop) recurses once per level. Each has an unknown property so
    // that it must be reported, whatever the fix.
    let cases: Vec<(String, String)> = [
        (
            "25,000 alternating unary operators",
            format!("{}self.nope", "!-".repeat(25_000)),
        ),
        (
            "40,000 field selections",
            format!("self.nope{}", ".a".repeat(40_000)),
        ),
        (
            "20,000 additions",
            format!("self.nope{} > 0", " + 1".repeat(20_000)),
        ),
        (
            "12,000 comparisons",
            format!("self.nope{}", " == true".repeat(12_000)),
        ),
        (
            "30,000 index operations",
            format!("self.nope{}", "[0]".repeat(30_000)),
        ),
    ]
    .into_iter()
    .map(|(case, condition)| (case.to_string(), condition))
    .collect();
    assert!(
        cases
            .iter()
            .all(|(_, condition)| condition.len() <= 100_010)
    );
    assert_condition_errors(&cases, "[condition-");
}

#[test]
fn a_chain_of_conditional_operators() {
    // `a ? b : c ? d : ...`: the fast parser recurses for each `:` without counting depth.
    let condition = format!("self.nope ? true : {}false", "true?true:".repeat(10_000));
    assert_condition_errors(
        &[("10,000 nested `?:`".to_string(), condition)],
        "[condition-",
    );
}

#[test]
fn deep_link_conditions() {
    // Link conditions go through the same checker.
    let directory = base_pack();
    let mitigation = fs::read_to_string(
        directory
            .path()
            .join("pack/mitigations/authentication.toml"),
    )
    .expect("read");
    let deep = format!("{}self.nope{}", "(".repeat(10_000), ")".repeat(10_000));
    put(
        directory.path(),
        "pack/mitigations/authentication.toml",
        format!("{mitigation}condition = '''{deep}'''\n"),
    );
    let run = check(directory.path());
    assert_reports(
        &run,
        "deep link condition",
        1,
        "[condition-",
        "pack/mitigations/authentication.toml",
    );
}

// --- Many items ------------------------------------------------------------------------------

#[test]
fn a_long_chain_of_parent_entities() {
    // 4,000 entities, each the parent of the next (~300 KB). Resolving ancestors must not be
    // cubic in time or quadratic in memory: an 8 MiB file holds over 100,000 such entities.
    let directory = base_pack();
    let count = 4_000;
    let mut text = String::new();
    for index in 0..count {
        let parent = if index == 0 {
            "service".to_string()
        } else {
            format!("c{}", index - 1)
        };
        text.push_str(&format!(
            "[[entity]]\nid = \"c{index}\"\nname = \"C\"\ndescription = \"C\"\nparent = \"{parent}\"\n\n"
        ));
    }
    put(directory.path(), "pack/entities/chain.toml", text);
    let run = run_with_timeout(
        directory.path(),
        &["check", "pack"],
        Duration::from_secs(30),
    );
    assert_survived(&run, "parent chain");
    assert_eq!(run.code, 0, "{}", truncated(&run.stderr));
}
