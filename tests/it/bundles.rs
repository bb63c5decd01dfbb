//! Hostile bundles. Each is generated here from a valid bundle (no binary fixture is
//! committed) by re-writing its tar with raw headers, and each must be rejected by
//! `read_bundle` with the `BundleError` for its lie, and by `threatpack inspect` (exit 2) and
//! `threatpack verify` (exit 1, even though the bundle carries a valid signature) with the same
//! message, writing nothing to disk.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use flate2::{Compress, Compression, Crc, FlushCompress};
use serde_json::Value as Json;
use threatpack::build::{BuildOptions, build};
use threatpack::bundle::{BundleError, BundleManifest, ReadLimits, read_bundle};
use threatpack::digest::sha256;
use threatpack::signing::{generate_key, load_secret_key, sign_bundle};
use threatpack::workspace::load_graph;

use crate::support::{repository, threatpack, write_fixture};

/// A small pack that builds; the valid bundle every hostile one is derived from. Small, so
/// that compressing each variant stays cheap in debug builds.
const PACK: &str = r#"
--- pack/pack.toml
[pack]
format = 1
name = "test/bundled"
version = "1.0.0"
description = "A pack whose bundle gets tampered with."
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

/// The file name every hostile bundle gets in the working directory.
const BUNDLE: &str = "bundle.tar.gz";

// ------------------------------------------------------------------------------------------
// The valid bundle

/// The valid bundle: its bytes, manifest and files in archive order (`manifest.json` first).
struct Baseline {
    bytes: Vec<u8>,
    manifest: BundleManifest,
    files: Vec<(String, Vec<u8>)>,
}

fn baseline() -> &'static Baseline {
    static BASELINE: OnceLock<Baseline> = OnceLock::new();
    BASELINE.get_or_init(|| {
        let directory = write_fixture(PACK);
        let graph = load_graph(&directory.path().join("pack"), "pack").expect("the pack loads");
        let report = build(&graph, &BuildOptions::default());
        let built = report
            .built
            .unwrap_or_else(|| panic!("the pack builds: {:#?}", report.diagnostics));
        let mut files = Vec::new();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&built.bytes[..]));
        for entry in archive.entries().expect("a tar") {
            let mut entry = entry.expect("an entry");
            let path = String::from_utf8(entry.path_bytes().into_owned()).expect("UTF-8 path");
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).expect("read entry");
            files.push((path, bytes));
        }
        assert_eq!(files[0].0, "manifest.json");
        assert!(
            files.len() > 4,
            "enough entries for the entry cap: {files:?}"
        );
        Baseline {
            bytes: built.bytes,
            manifest: built.manifest,
            files,
        }
    })
}

/// The content of one of the valid bundle's files.
fn file(path: &str) -> Vec<u8> {
    baseline()
        .files
        .iter()
        .find(|(name, _)| name == path)
        .map(|(_, bytes)| bytes.clone())
        .unwrap_or_else(|| panic!("no `{path}` in the valid bundle"))
}

/// The valid bundle's entries, re-written by `tar_bytes`.
fn valid_entries() -> Vec<Entry> {
    baseline()
        .files
        .iter()
        .map(|(path, bytes)| Entry::file(path, bytes.clone()))
        .collect()
}

/// The valid entries followed by `extra`.
fn valid_and(extra: Vec<Entry>) -> Vec<Entry> {
    let mut entries = valid_entries();
    entries.extend(extra);
    entries
}

/// The valid entries with the entry at `path` replaced by `entry`.
fn valid_with(path: &str, entry: Entry) -> Vec<Entry> {
    let mut entries = valid_entries();
    let at = entries
        .iter()
        .position(|existing| existing.name == path.as_bytes())
        .unwrap_or_else(|| panic!("no `{path}` entry"));
    entries[at] = entry;
    entries
}

/// The valid entries without the one at `path`.
fn valid_without(path: &str) -> Vec<Entry> {
    let mut entries = valid_entries();
    entries.retain(|entry| entry.name != path.as_bytes());
    entries
}

/// A `manifest.json` entry for the valid manifest edited by `edit`, listing `files` (path and
/// content) with their true digests.
fn manifest_entry(files: &[Entry], edit: impl FnOnce(&mut Json)) -> Entry {
    let mut manifest = baseline().manifest.clone();
    manifest.files = files
        .iter()
        .filter(|entry| entry.name != b"manifest.json")
        .map(|entry| {
            (
                String::from_utf8(entry.name.clone()).expect("UTF-8 path"),
                sha256(&entry.data),
            )
        })
        .collect();
    let mut json = serde_json::to_value(&manifest).expect("a manifest serializes");
    edit(&mut json);
    Entry::file(
        "manifest.json",
        serde_json::to_vec_pretty(&json).expect("JSON serializes"),
    )
}

/// The valid entries with `kb.json` edited by `edit` and the manifest listing its new digest:
/// a bundle whose digests all hold, only the content lies.
fn valid_with_kb(edit: impl FnOnce(&mut Json)) -> Vec<Entry> {
    let mut kb: Json = serde_json::from_slice(&file("kb.json")).expect("kb.json is JSON");
    edit(&mut kb);
    let mut entries = valid_with(
        "kb.json",
        Entry::file("kb.json", serde_json::to_vec(&kb).expect("JSON serializes")),
    );
    entries[0] = manifest_entry(&entries, |_| {});
    entries
}

// ------------------------------------------------------------------------------------------
// Writing tars with raw headers

#[derive(Debug, Clone, Copy)]
enum Format {
    Ustar,
    Gnu,
    /// Unix V7: no magic at all.
    Old,
}

/// One tar entry, written with a raw header: fields the `tar` API would refuse (`..`,
/// absolute paths, control characters, bytes that are not UTF-8) are copied in as bytes.
#[derive(Debug, Clone)]
struct Entry {
    format: Format,
    kind: tar::EntryType,
    /// The raw `name` field (at most 100 bytes; NUL-padded).
    name: Vec<u8>,
    /// The raw ustar `prefix` field (at most 155 bytes).
    prefix: Vec<u8>,
    link: Vec<u8>,
    data: Vec<u8>,
    /// The size the header claims, when it is not the data's.
    claimed_size: Option<u64>,
    device: Option<(u32, u32)>,
    /// Applied to the header before its checksum is computed (fields the setters refuse).
    raw: Option<fn(&mut tar::Header)>,
    /// Applied to the header after its checksum is computed.
    after_checksum: Option<fn(&mut tar::Header)>,
}

impl Entry {
    fn file(path: impl AsRef<[u8]>, data: impl Into<Vec<u8>>) -> Entry {
        Entry {
            format: Format::Ustar,
            kind: tar::EntryType::Regular,
            name: path.as_ref().to_vec(),
            prefix: Vec::new(),
            link: Vec::new(),
            data: data.into(),
            claimed_size: None,
            device: None,
            raw: None,
            after_checksum: None,
        }
    }

    /// An entry of another type with no data.
    fn special(kind: tar::EntryType, path: &str) -> Entry {
        Entry {
            kind,
            ..Entry::file(path, Vec::new())
        }
    }

    fn kind(self, kind: tar::EntryType) -> Entry {
        Entry { kind, ..self }
    }

    fn format(self, format: Format) -> Entry {
        Entry { format, ..self }
    }

    fn link(self, target: &str) -> Entry {
        Entry {
            link: target.as_bytes().to_vec(),
            ..self
        }
    }

    fn header(&self) -> tar::Header {
        let mut header = match self.format {
            Format::Ustar => tar::Header::new_ustar(),
            Format::Gnu => tar::Header::new_gnu(),
            Format::Old => tar::Header::new_old(),
        };
        header.set_size(self.claimed_size.unwrap_or(self.data.len() as u64));
        header.set_entry_type(self.kind);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        if let Some((major, minor)) = self.device {
            header.set_device_major(major).expect("a device number");
            header.set_device_minor(minor).expect("a device number");
        }
        let old = header.as_old_mut();
        old.name[..self.name.len()].copy_from_slice(&self.name);
        old.linkname[..self.link.len()].copy_from_slice(&self.link);
        if !self.prefix.is_empty() {
            let ustar = header
                .as_ustar_mut()
                .expect("a prefix needs a ustar header");
            ustar.prefix[..self.prefix.len()].copy_from_slice(&self.prefix);
        }
        if let Some(tweak) = self.raw {
            tweak(&mut header);
        }
        header.set_cksum();
        if let Some(tweak) = self.after_checksum {
            tweak(&mut header);
        }
        header
    }
}

/// A tar archive: each entry's header and data padded to 512 bytes, then two zero blocks.
fn tar_bytes(entries: &[Entry]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in entries {
        bytes.extend_from_slice(entry.header().as_bytes());
        bytes.extend_from_slice(&entry.data);
        bytes.resize(bytes.len().div_ceil(512) * 512, 0);
    }
    bytes.extend_from_slice(&[0; 1024]);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).expect("compress");
    encoder.finish().expect("finish compressing")
}

/// A gzipped tar of `entries`.
fn bundle(entries: &[Entry]) -> Vec<u8> {
    gzip(&tar_bytes(entries))
}

/// `kb.json` claiming `size` bytes followed by that many zero bytes (its data and the end of
/// the archive), in a gzip stream made by repeating one compressed chunk: generating it costs
/// as little for a gigabyte as for a megabyte.
fn gzip_bomb(size: u64) -> Vec<u8> {
    const CHUNK: usize = 256 * 1024;
    assert_eq!(size % CHUNK as u64, 0);
    let chunks = size / CHUNK as u64;
    let header = Entry {
        claimed_size: Some(size - 1024),
        ..Entry::file("kb.json", Vec::new())
    }
    .header();
    // Each piece is compressed on its own and ends with a sync flush (a non-final block, byte
    // aligned, no reference before its start), so pieces can be concatenated.
    let deflate = |input: &[u8], flush: FlushCompress| {
        let mut compress = Compress::new(Compression::best(), false);
        let mut output = Vec::with_capacity(input.len() / 8 + 1024);
        compress
            .compress_vec(input, &mut output, flush)
            .expect("compress");
        assert_eq!(compress.total_in(), input.len() as u64, "all input taken");
        output
    };
    let zeros = vec![0u8; CHUNK];
    let header_piece = deflate(header.as_bytes(), FlushCompress::Sync);
    let zeros_piece = deflate(&zeros, FlushCompress::Sync);
    let final_piece = deflate(&[], FlushCompress::Finish);

    let mut crc = Crc::new();
    crc.update(header.as_bytes());
    let mut zeros_crc = Crc::new();
    zeros_crc.update(&zeros);
    // gzip header: magic, deflate, no flags, no time, no extra flags, unknown OS.
    let mut bytes = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    bytes.extend_from_slice(&header_piece);
    for _ in 0..chunks {
        bytes.extend_from_slice(&zeros_piece);
        crc.combine(&zeros_crc);
    }
    bytes.extend_from_slice(&final_piece);
    bytes.extend_from_slice(&crc.sum().to_le_bytes());
    // ISIZE: the uncompressed size modulo 2^32.
    bytes.extend_from_slice(&((512 + size) as u32).to_le_bytes());
    bytes
}

/// A PAX extended-header record (`LEN key=value\n`, LEN counting itself).
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut length = body.len() + 1;
    while format!("{length}{body}").len() != length {
        length += 1;
    }
    format!("{length}{body}").into_bytes()
}

// ------------------------------------------------------------------------------------------
// Checking rejections

/// `read_bundle` with the default limits; the bundle must be rejected.
fn rejected(bytes: &[u8]) -> BundleError {
    rejected_with(bytes, &ReadLimits::default())
}

fn rejected_with(bytes: &[u8], limits: &ReadLimits) -> BundleError {
    match read_bundle(bytes, limits) {
        Ok(bundle) => panic!(
            "the hostile bundle was accepted: {} files {:?}",
            bundle.files.len(),
            bundle.files.keys().collect::<Vec<_>>()
        ),
        Err(error) => error,
    }
}

/// What a directory tree holds: every path with its content (`None` for directories, the
/// target for symbolic links).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    fn walk(root: &Path, directory: &Path, into: &mut BTreeMap<PathBuf, Option<Vec<u8>>>) {
        for entry in fs::read_dir(directory).expect("list directory") {
            let path = entry.expect("directory entry").path();
            let relative = path.strip_prefix(root).expect("under root").to_path_buf();
            let kind = fs::symlink_metadata(&path).expect("metadata").file_type();
            if kind.is_symlink() {
                let target = fs::read_link(&path).expect("read link");
                into.insert(
                    relative,
                    Some(target.as_os_str().as_encoded_bytes().to_vec()),
                );
            } else if kind.is_dir() {
                into.insert(relative, None);
                walk(root, &path, into);
            } else {
                into.insert(relative, Some(fs::read(&path).expect("read file")));
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(root, root, &mut files);
    files
}

/// Runs `threatpack inspect` and `threatpack verify` on `bytes`, saved as `bundle.tar.gz` in
/// an otherwise empty working directory three levels down a temporary tree, and signed with a
/// trusted key (so that `verify` gets past the signature to the bundle itself). Both must
/// reject it with `error`'s message and leave the whole tree as it was.
fn cli_rejects(bytes: &[u8], error: &BundleError) {
    let keys = tempfile::tempdir().expect("temporary directory");
    let key = generate_key(None).expect("a key");
    let public = keys.path().join("k.pub");
    fs::write(&public, &key.public).expect("write public key");
    let signing = load_secret_key(&key.secret, || Err("not encrypted".to_string()))
        .expect("the secret key loads");
    let signature = keys.path().join("bundle.minisig");
    let signed = sign_bundle(bytes, &baseline().manifest, &signing).expect("sign");
    fs::write(&signature, signed).expect("write signature");

    let root = tempfile::tempdir().expect("temporary directory");
    let work = root.path().join("outer/inner/work");
    fs::create_dir_all(&work).expect("create working directory");
    fs::write(work.join(BUNDLE), bytes).expect("write bundle");
    let before = snapshot(root.path());
    let passwd = fs::read("/etc/passwd").ok();

    let message = format!("`{BUNDLE}` is not a valid bundle: {error}\n");
    let inspect = threatpack(&work, &["inspect", BUNDLE]);
    assert_eq!(
        (inspect.code, inspect.stdout.as_str()),
        (2, ""),
        "inspect: {inspect:?}"
    );
    assert_eq!(inspect.stderr, format!("error: {message}"), "inspect");
    let json = threatpack(&work, &["inspect", BUNDLE, "--format", "json"]);
    assert_eq!(
        (json.code, json.stderr.as_str()),
        (2, inspect.stderr.as_str())
    );

    let verify = threatpack(
        &work,
        &[
            "verify",
            BUNDLE,
            "--key",
            public.to_str().expect("UTF-8 path"),
            "--signature",
            signature.to_str().expect("UTF-8 path"),
        ],
    );
    assert_eq!(verify.code, 1, "verify: {verify:?}");
    assert_eq!(
        verify.stderr,
        format!("error: `{BUNDLE}` is signed but not a valid bundle: {error}\n"),
        "verify"
    );

    assert_eq!(
        snapshot(root.path()),
        before,
        "reading a hostile bundle changed the file system"
    );
    assert_eq!(fs::read("/etc/passwd").ok(), passwd);
}

/// Asserts that `bytes` is rejected with exactly `expected`, whose message says `says`, by the
/// library and the command line.
fn assert_rejected(bytes: &[u8], expected: BundleError, says: &str) {
    let error = rejected(bytes);
    assert_eq!(error, expected);
    let message = error.to_string();
    assert!(message.contains(says), "`{message}` does not say `{says}`");
    cli_rejects(bytes, &error);
}

/// Like `assert_rejected`, for errors whose detail comes from another crate: `matches` checks
/// the variant.
fn assert_rejected_as(bytes: &[u8], matches: fn(&BundleError) -> bool, says: &str) {
    let error = rejected(bytes);
    assert!(matches(&error), "rejected, but as {error:?}");
    let message = error.to_string();
    assert!(message.contains(says), "`{message}` does not say `{says}`");
    cli_rejects(bytes, &error);
}

fn unsafe_path(path: &str, problem: &str) -> BundleError {
    BundleError::UnsafePath {
        path: path.to_string(),
        problem: problem.to_string(),
    }
}

fn not_regular(path: &str, kind: &str) -> BundleError {
    BundleError::NotARegularFile {
        path: path.to_string(),
        kind: kind.to_string(),
    }
}

fn extension(path: &str, kind: &str) -> BundleError {
    BundleError::HeaderExtension {
        path: path.to_string(),
        kind: kind.to_string(),
    }
}

// ------------------------------------------------------------------------------------------
// The valid bundle is read

#[test]
fn the_valid_bundle_and_its_rewrite_are_read() {
    let baseline = baseline();
    let bundle = read_bundle(&baseline.bytes, &ReadLimits::default()).expect("a valid bundle");
    assert_eq!(bundle.manifest, baseline.manifest);
    assert_eq!(bundle.kb.pack, "test/bundled");
    assert_eq!(bundle.files.len(), baseline.files.len());
    // The raw writer the hostile cases use makes a valid bundle from valid entries: each
    // rejection below comes from the one thing a case changes.
    let rewritten = bundle_of_valid_entries();
    let reread = read_bundle(&rewritten, &ReadLimits::default()).expect("a valid rewrite");
    assert_eq!(reread.files, bundle.files);
    assert_eq!(reread.manifest, bundle.manifest);
}

fn bundle_of_valid_entries() -> Vec<u8> {
    bundle(&valid_entries())
}

/// The shipped pack, built by the command line, is inspected and verified, and reading it
/// writes nothing.
#[test]
fn a_built_bundle_is_inspected_and_verified() {
    let directory = tempfile::tempdir().expect("temporary directory");
    copy_tree(
        &repository().join("packs/stride-core"),
        &directory.path().join("pack"),
    );
    let run = threatpack(directory.path(), &["build", "pack", "--out", "out"]);
    assert_eq!(run.code, 0, "build: {run:?}");
    let path = fs::read_dir(directory.path().join("out"))
        .expect("the out directory")
        .map(|entry| entry.expect("entry").path())
        .find(|path| path.to_string_lossy().ends_with(".tar.gz"))
        .expect("a bundle was written");
    let bytes = fs::read(path).expect("read the bundle");
    let bundle = read_bundle(&bytes, &ReadLimits::default()).expect("a valid bundle");
    assert_eq!(bundle.manifest.pack, "threatpack/stride-core");
    let version = bundle.manifest.version;

    let keys = tempfile::tempdir().expect("temporary directory");
    let run = threatpack(
        keys.path(),
        &["key", "generate", "--unencrypted", "--out", "k"],
    );
    assert_eq!(run.code, 0, "key generate: {run:?}");
    let root = tempfile::tempdir().expect("temporary directory");
    let work = root.path().join("work");
    fs::create_dir_all(&work).expect("create working directory");
    fs::write(work.join(BUNDLE), &bytes).expect("write bundle");
    let signature = keys.path().join("bundle.minisig");
    let key = keys.path().join("k.key");
    let run = threatpack(
        &work,
        &[
            "sign",
            BUNDLE,
            "--key",
            key.to_str().expect("UTF-8"),
            "--out",
            signature.to_str().expect("UTF-8"),
        ],
    );
    assert_eq!(run.code, 0, "sign: {run:?}");
    let before = snapshot(root.path());

    let run = threatpack(&work, &["inspect", BUNDLE]);
    assert_eq!(run.code, 0, "inspect: {run:?}");
    assert!(
        run.stdout
            .starts_with(&format!("threatpack/stride-core {version} (tier all;")),
        "{}",
        run.stdout
    );
    let public = keys.path().join("k.pub");
    let run = threatpack(
        &work,
        &[
            "verify",
            BUNDLE,
            "--key",
            public.to_str().expect("UTF-8"),
            "--signature",
            signature.to_str().expect("UTF-8"),
        ],
    );
    assert_eq!(run.code, 0, "verify: {run:?}");
    assert!(
        run.stderr
            .starts_with(&format!("verified: `threatpack/stride-core` {version}"))
    );
    assert_eq!(snapshot(root.path()), before);
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create directory");
    for entry in fs::read_dir(from).expect("list directory") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("a name"));
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            fs::copy(&path, &target).expect("copy file");
        }
    }
}

/// The helper that signs hostile bundles for `verify` works: the same setup accepts the valid
/// bundle (so each hostile case fails on the bundle, not on the signature).
#[test]
fn the_valid_bundle_passes_the_hostile_harness() {
    let bytes = bundle_of_valid_entries();
    let keys = tempfile::tempdir().expect("temporary directory");
    let key = generate_key(None).expect("a key");
    let public = keys.path().join("k.pub");
    fs::write(&public, &key.public).expect("write public key");
    let signing = load_secret_key(&key.secret, || Err("not encrypted".to_string()))
        .expect("the secret key loads");
    let signature = keys.path().join("bundle.minisig");
    fs::write(
        &signature,
        sign_bundle(&bytes, &baseline().manifest, &signing).expect("sign"),
    )
    .expect("write signature");
    let work = tempfile::tempdir().expect("temporary directory");
    fs::write(work.path().join(BUNDLE), &bytes).expect("write bundle");
    let run = threatpack(work.path(), &["inspect", BUNDLE]);
    assert_eq!(run.code, 0, "inspect: {run:?}");
    let run = threatpack(
        work.path(),
        &[
            "verify",
            BUNDLE,
            "--key",
            public.to_str().expect("UTF-8"),
            "--signature",
            signature.to_str().expect("UTF-8"),
        ],
    );
    assert_eq!(run.code, 0, "verify: {run:?}");
}

// ------------------------------------------------------------------------------------------
// Paths

#[test]
fn absolute_path() {
    assert_rejected(
        &bundle(&valid_and(vec![Entry::file(
            "/etc/passwd",
            "root::0:0::/:/bin/sh\n",
        )])),
        unsafe_path("/etc/passwd", "an absolute path"),
        "entry `/etc/passwd` has an unsafe path: an absolute path",
    );
}

#[test]
fn dot_dot_traversal() {
    assert_rejected(
        &bundle(&valid_and(vec![Entry::file(
            "../../escape.txt",
            "escaped\n",
        )])),
        unsafe_path("../../escape.txt", "a `..` component"),
        "entry `../../escape.txt` has an unsafe path: a `..` component",
    );
}

#[test]
fn dot_dot_inside_a_path() {
    assert_rejected(
        &bundle(&valid_and(vec![Entry::file("a/../../b", "escaped\n")])),
        unsafe_path("a/../../b", "a `..` component"),
        "entry `a/../../b` has an unsafe path: a `..` component",
    );
}

/// ustar splits long paths into `prefix` and `name`: the reader checks the joined path.
#[test]
fn dot_dot_in_the_ustar_prefix() {
    let entry = Entry {
        prefix: b"../..".to_vec(),
        ..Entry::file("escape.txt", "escaped\n")
    };
    assert_rejected(
        &bundle(&valid_and(vec![entry])),
        unsafe_path("../../escape.txt", "a `..` component"),
        "entry `../../escape.txt` has an unsafe path: a `..` component",
    );
}

/// `./kb.json` is `kb.json` to `tar x`: a second copy under another spelling.
#[test]
fn dot_component() {
    assert_rejected(
        &bundle(&valid_and(vec![Entry::file("./kb.json", "{}")])),
        unsafe_path("./kb.json", "a `.` component"),
        "entry `./kb.json` has an unsafe path: a `.` component",
    );
}

#[test]
fn path_not_utf8() {
    assert_rejected(
        &bundle(&valid_and(vec![Entry::file(
            b"source/\xff\xfe.toml",
            "x = 1\n",
        )])),
        unsafe_path(
            "source/\u{fffd}\u{fffd}.toml",
            "bytes that are not UTF-8 text",
        ),
        "has an unsafe path: bytes that are not UTF-8 text",
    );
}

/// Control characters could drive the terminal of whoever lists the bundle.
#[test]
fn path_with_an_escape_sequence() {
    assert_rejected(
        &bundle(&valid_and(vec![Entry::file("kb\x1b[2J.json", "{}")])),
        unsafe_path("kb\x1b[2J.json", "the character '\\u{1b}'"),
        // The path is shown escaped, never raw.
        "entry `kb\\u{1b}[2J.json` has an unsafe path: the character '\\u{1b}'",
    );
}

#[test]
fn path_with_a_newline() {
    assert_rejected(
        &bundle(&valid_and(vec![Entry::file("source/a\nb.toml", "x = 1\n")])),
        unsafe_path("source/a\nb.toml", "the character '\\n'"),
        "entry `source/a\\nb.toml` has an unsafe path: the character '\\n'",
    );
}

/// On Windows a backslash separates directories: `..\..\escape.txt` escapes there.
#[test]
fn path_with_backslashes() {
    assert_rejected(
        &bundle(&valid_and(vec![Entry::file(
            "..\\..\\escape.txt",
            "escaped\n",
        )])),
        unsafe_path("..\\..\\escape.txt", "the character '\\\\'"),
        "has an unsafe path: the character '\\\\'",
    );
}

/// Every tar reader ends the name field at its first NUL: a name that starts with one is
/// empty, whatever follows.
#[test]
fn path_starting_with_nul() {
    assert_rejected(
        &bundle(&valid_and(vec![Entry::file("\0escape.txt", "escaped\n")])),
        unsafe_path("", "an empty path"),
        "entry `` has an unsafe path: an empty path",
    );
}

// ------------------------------------------------------------------------------------------
// Entry types

#[test]
fn symbolic_link() {
    // A link to `/etc`, then a file written through it, the classic extraction attack.
    let entries = valid_and(vec![
        Entry::special(tar::EntryType::Symlink, "etc").link("/etc"),
        Entry::file("etc/passwd", "root::0:0::/:/bin/sh\n"),
    ]);
    assert_rejected(
        &bundle(&entries),
        not_regular("etc", "symbolic link"),
        "entry `etc` is a symbolic link, not a regular file",
    );
}

#[test]
fn hard_link() {
    assert_rejected(
        &bundle(&valid_and(vec![
            Entry::special(tar::EntryType::Link, "passwd").link("/etc/passwd"),
        ])),
        not_regular("passwd", "hard link"),
        "entry `passwd` is a hard link, not a regular file",
    );
}

#[test]
fn character_device() {
    let entry = Entry {
        device: Some((1, 3)),
        ..Entry::special(tar::EntryType::Char, "null")
    };
    assert_rejected(
        &bundle(&valid_and(vec![entry])),
        not_regular("null", "character device"),
        "entry `null` is a character device, not a regular file",
    );
}

#[test]
fn block_device() {
    let entry = Entry {
        device: Some((8, 0)),
        ..Entry::special(tar::EntryType::Block, "sda")
    };
    assert_rejected(
        &bundle(&valid_and(vec![entry])),
        not_regular("sda", "block device"),
        "entry `sda` is a block device, not a regular file",
    );
}

#[test]
fn fifo() {
    assert_rejected(
        &bundle(&valid_and(vec![Entry::special(
            tar::EntryType::Fifo,
            "pipe",
        )])),
        not_regular("pipe", "named pipe"),
        "entry `pipe` is a named pipe, not a regular file",
    );
}

#[test]
fn directory_entry() {
    assert_rejected(
        &bundle(&valid_and(vec![Entry::special(
            tar::EntryType::Directory,
            "source/",
        )])),
        not_regular("source/", "directory"),
        "entry `source/` is a directory, not a regular file",
    );
}

/// Type `7` (contiguous file) and unknown types are not regular files either.
#[test]
fn contiguous_file_entry() {
    assert_rejected(
        &bundle(&valid_and(vec![
            Entry::file("extra.txt", "x").kind(tar::EntryType::Continuous),
        ])),
        not_regular("extra.txt", "special entry"),
        "entry `extra.txt` is a special entry, not a regular file",
    );
}

// ------------------------------------------------------------------------------------------
// Header extensions and formats

/// A PAX header could rename the next entry for readers that honour it (`tar`, Python).
#[test]
fn pax_extended_header() {
    let entries = valid_and(vec![
        Entry::file(
            "PaxHeaders.0/extra.txt",
            pax_record("path", "../../escape.txt"),
        )
        .kind(tar::EntryType::XHeader),
        Entry::file("extra.txt", "escaped\n"),
    ]);
    assert_rejected(
        &bundle(&entries),
        extension("PaxHeaders.0/extra.txt", "PAX extended header"),
        "entry `PaxHeaders.0/extra.txt` is a PAX extended header: bundles use plain ustar headers",
    );
}

#[test]
fn pax_global_header() {
    let mut entries = valid_entries();
    entries.insert(
        0,
        Entry::file("pax_global_header", pax_record("path", "../../escape.txt"))
            .kind(tar::EntryType::XGlobalHeader),
    );
    assert_rejected(
        &bundle(&entries),
        extension("pax_global_header", "PAX global header"),
        "entry `pax_global_header` is a PAX global header",
    );
}

#[test]
fn gnu_long_name_header() {
    let entries = valid_and(vec![
        Entry::file("././@LongLink", "../../escape.txt\0")
            .kind(tar::EntryType::GNULongName)
            .format(Format::Gnu),
        Entry::file("extra.txt", "escaped\n").format(Format::Gnu),
    ]);
    assert_rejected(
        &bundle(&entries),
        extension("././@LongLink", "GNU long-name header"),
        "entry `././@LongLink` is a GNU long-name header",
    );
}

#[test]
fn gnu_long_link_header() {
    let entries = valid_and(vec![
        Entry::file("././@LongLink", "/etc/passwd\0")
            .kind(tar::EntryType::GNULongLink)
            .format(Format::Gnu),
        Entry::special(tar::EntryType::Symlink, "extra.txt").format(Format::Gnu),
    ]);
    assert_rejected(
        &bundle(&entries),
        extension("././@LongLink", "GNU long-link header"),
        "entry `././@LongLink` is a GNU long-link header",
    );
}

#[test]
fn gnu_sparse_file() {
    let kb = file("kb.json");
    let entry = Entry::file("kb.json", kb)
        .kind(tar::EntryType::GNUSparse)
        .format(Format::Gnu);
    assert_rejected(
        &bundle(&valid_with("kb.json", entry)),
        extension("kb.json", "GNU sparse file"),
        "entry `kb.json` is a GNU sparse file",
    );
}

/// A regular file, with its right content, but a GNU header (`ustar  \0` magic).
#[test]
fn gnu_format_header() {
    let entry = Entry::file("kb.json", file("kb.json")).format(Format::Gnu);
    assert_rejected(
        &bundle(&valid_with("kb.json", entry)),
        BundleError::NotUstar {
            path: "kb.json".to_string(),
        },
        "entry `kb.json` does not have a ustar header",
    );
}

/// A Unix V7 header (no magic).
#[test]
fn old_format_header() {
    let entry = Entry::file("kb.json", file("kb.json")).format(Format::Old);
    assert_rejected(
        &bundle(&valid_with("kb.json", entry)),
        BundleError::NotUstar {
            path: "kb.json".to_string(),
        },
        "entry `kb.json` does not have a ustar header",
    );
}

#[test]
fn corrupt_header_checksum() {
    let entry = Entry {
        // The mode changes after the checksum was computed.
        after_checksum: Some(|header| header.as_old_mut().mode[3] = b'7'),
        ..Entry::file("kb.json", file("kb.json"))
    };
    assert_rejected_as(
        &bundle(&valid_with("kb.json", entry)),
        |error| matches!(error, BundleError::CorruptTar(message) if message.contains("checksum")),
        "corrupt tar archive: archive header checksum mismatch",
    );
}

/// The tar ends inside an entry's data (the gzip stream around it is whole).
#[test]
fn entry_cut_short() {
    let mut tar = tar_bytes(&valid_entries());
    let kb = file("kb.json");
    // `manifest.json`'s header and data, `kb.json`'s header, half of `kb.json`.
    let manifest_blocks = file("manifest.json").len().div_ceil(512) * 512;
    tar.truncate(512 + manifest_blocks + 512 + kb.len() / 2);
    assert_rejected(
        &gzip(&tar),
        BundleError::CorruptTar("entry `kb.json` is cut short".to_string()),
        "corrupt tar archive: entry `kb.json` is cut short",
    );
}

/// A header claiming 200 MiB (under the entry cap) in front of a few kilobytes.
#[test]
fn entry_claiming_more_than_it_holds() {
    let entry = Entry {
        claimed_size: Some(200 * 1024 * 1024),
        ..Entry::file("kb.json", file("kb.json"))
    };
    assert_rejected(
        &bundle(&valid_with("kb.json", entry)),
        BundleError::CorruptTar("entry `kb.json` is cut short".to_string()),
        "corrupt tar archive: entry `kb.json` is cut short",
    );
}

/// A base-256 size field of all ones: the end of the entry overflows.
#[test]
fn size_field_overflowing() {
    let entry = Entry {
        raw: Some(|header| header.as_old_mut().size = [0xff; 12]),
        ..Entry::file("kb.json", file("kb.json"))
    };
    assert_rejected(
        &bundle(&valid_with("kb.json", entry)),
        BundleError::CorruptTar("size overflow".to_string()),
        "corrupt tar archive: size overflow",
    );
}

#[test]
fn size_field_not_a_number() {
    let entry = Entry {
        raw: Some(|header| header.as_old_mut().size = *b"zzzzzzzzzzz\0"),
        ..Entry::file("kb.json", file("kb.json"))
    };
    assert_rejected_as(
        &bundle(&valid_with("kb.json", entry)),
        |error| matches!(error, BundleError::CorruptTar(message) if message.contains("not a number")),
        "corrupt tar archive: numeric field was not a number",
    );
}

// ------------------------------------------------------------------------------------------
// Entries against the manifest

#[test]
fn duplicate_entry() {
    // A second `kb.json`: `tar x` would keep the last one.
    let entries = valid_and(vec![Entry::file("kb.json", "{}")]);
    assert_rejected(
        &bundle(&entries),
        BundleError::DuplicateEntry {
            path: "kb.json".to_string(),
        },
        "entry `kb.json` appears twice",
    );
}

#[test]
fn duplicate_manifest() {
    let mut entries = valid_entries();
    let second = manifest_entry(&entries, |manifest| {
        manifest["description"] = Json::from("Another manifest.");
    });
    entries.push(second);
    assert_rejected(
        &bundle(&entries),
        BundleError::DuplicateEntry {
            path: "manifest.json".to_string(),
        },
        "entry `manifest.json` appears twice",
    );
}

#[test]
fn entry_not_in_the_manifest() {
    assert_rejected(
        &bundle(&valid_and(vec![Entry::file("extra.txt", "unlisted\n")])),
        BundleError::UnlistedFile {
            path: "extra.txt".to_string(),
        },
        "entry `extra.txt` is not listed in the manifest",
    );
}

#[test]
fn tampered_file() {
    let mut kb: Json = serde_json::from_slice(&file("kb.json")).expect("kb.json is JSON");
    kb["attack-patterns"][0]["severity"] = Json::from("low");
    let tampered = serde_json::to_vec(&kb).expect("JSON");
    let actual = sha256(&tampered);
    let listed = baseline().manifest.files["kb.json"].clone();
    assert_rejected(
        &bundle(&valid_with("kb.json", Entry::file("kb.json", tampered))),
        BundleError::DigestMismatch {
            path: "kb.json".to_string(),
            listed: listed.clone(),
            actual: actual.clone(),
        },
        &format!(
            "`kb.json` does not match its digest in the manifest (listed {listed}, actual {actual}): the bundle was modified"
        ),
    );
}

#[test]
fn listed_file_absent() {
    let path = "source/pack.toml";
    assert_rejected(
        &bundle(&valid_without(path)),
        BundleError::MissingFile {
            path: path.to_string(),
        },
        "the manifest lists `source/pack.toml`, but the bundle does not hold it",
    );
}

/// Neither in the bundle nor in the manifest: the knowledge base is still required.
#[test]
fn no_knowledge_base() {
    let mut entries = valid_without("kb.json");
    entries[0] = manifest_entry(&entries, |_| {});
    assert_rejected(
        &bundle(&entries),
        BundleError::MissingFile {
            path: "kb.json".to_string(),
        },
        "the manifest lists `kb.json`, but the bundle does not hold it",
    );
}

#[test]
fn missing_manifest() {
    assert_rejected(
        &bundle(&valid_without("manifest.json")),
        BundleError::MissingManifest,
        "no `manifest.json`",
    );
}

#[test]
fn unknown_bundle_format() {
    let mut entries = valid_entries();
    entries[0] = manifest_entry(&entries, |manifest| {
        manifest["bundle-format"] = Json::from(2);
        // A newer format may have fields this one does not know: the format is reported, not
        // the field.
        manifest["signatures"] = Json::from(Vec::<Json>::new());
    });
    assert_rejected(
        &bundle(&entries),
        BundleError::UnsupportedFormat { found: 2 },
        "bundle format 2 is not supported by this threatpack (it reads format 1); upgrade threatpack",
    );
}

#[test]
fn invalid_manifest_json() {
    let entries = valid_with(
        "manifest.json",
        Entry::file("manifest.json", "{\"bundle-format\": 1, \"pack\": "),
    );
    assert_rejected_as(
        &bundle(&entries),
        |error| matches!(error, BundleError::InvalidManifest(_)),
        "invalid `manifest.json`: EOF while parsing",
    );
}

#[test]
fn manifest_with_an_unknown_field() {
    let mut entries = valid_entries();
    entries[0] = manifest_entry(&entries, |manifest| {
        manifest["post-install"] = Json::from("rm -rf /");
    });
    assert_rejected_as(
        &bundle(&entries),
        |error| matches!(error, BundleError::InvalidManifest(message) if message.contains("post-install")),
        "invalid `manifest.json`: unknown field `post-install`",
    );
}

/// JSON parsers disagree on repeated keys (first or last wins): refused.
#[test]
fn manifest_with_a_repeated_key() {
    let text = String::from_utf8(file("manifest.json")).expect("UTF-8 manifest");
    let twice = text.replacen('{', "{\n  \"pack\": \"evil/pack\",", 1);
    assert_rejected_as(
        &bundle(&valid_with(
            "manifest.json",
            Entry::file("manifest.json", twice),
        )),
        |error| matches!(error, BundleError::InvalidManifest(message) if message.contains("duplicate field `pack`")),
        "invalid `manifest.json`: duplicate field `pack`",
    );
}

/// `files` lists `kb.json` twice: a wrong digest first, the right one last. `serde_json` keeps
/// the last; a reader that keeps the first sees a modified bundle.
#[test]
fn manifest_listing_a_file_twice() {
    let text = String::from_utf8(file("manifest.json")).expect("UTF-8 manifest");
    let twice = text.replacen(
        "\"files\": {",
        &format!("\"files\": {{\n    \"kb.json\": \"{}\",", sha256(b"other")),
        1,
    );
    assert_ne!(twice, text);
    assert_rejected_as(
        &bundle(&valid_with(
            "manifest.json",
            Entry::file("manifest.json", twice),
        )),
        |error| matches!(error, BundleError::InvalidManifest(message) if message.contains("kb.json")),
        "invalid `manifest.json`",
    );
}

/// `files` holds "every other file": a digest for `manifest.json` itself cannot be true, and
/// a checker that verifies every listed file (`sha256sum -c` style) fails on it.
#[test]
fn manifest_listing_itself() {
    let mut entries = valid_entries();
    entries[0] = manifest_entry(&entries, |manifest| {
        manifest["files"]["manifest.json"] = Json::from(sha256(b"not the manifest"));
    });
    assert_rejected_as(
        &bundle(&entries),
        |error| matches!(error, BundleError::InvalidManifest(message) if message.contains("manifest.json")),
        "invalid `manifest.json`",
    );
}

#[test]
fn invalid_knowledge_base() {
    let mut entries = valid_with("kb.json", Entry::file("kb.json", "{}"));
    entries[0] = manifest_entry(&entries, |_| {});
    assert_rejected_as(
        &bundle(&entries),
        |error| matches!(error, BundleError::InvalidKnowledgeBase(_)),
        "invalid `kb.json`: missing field",
    );
}

#[test]
fn knowledge_base_of_another_pack() {
    assert_rejected(
        &bundle(&valid_with_kb(|kb| kb["pack"] = Json::from("evil/pack"))),
        BundleError::Inconsistent(
            "the manifest is `test/bundled` 1.0.0 (tier all) but `kb.json` is `evil/pack` 1.0.0 (tier all)".to_string(),
        ),
        "inconsistent bundle: the manifest is `test/bundled` 1.0.0 (tier all) but `kb.json` is `evil/pack` 1.0.0 (tier all)",
    );
}

#[test]
fn knowledge_base_of_another_version() {
    assert_rejected(
        &bundle(&valid_with_kb(|kb| kb["version"] = Json::from("9.9.9"))),
        BundleError::Inconsistent(
            "the manifest is `test/bundled` 1.0.0 (tier all) but `kb.json` is `test/bundled` 9.9.9 (tier all)"
                .to_string(),
        ),
        "inconsistent bundle",
    );
}

#[test]
fn knowledge_base_of_another_tier() {
    assert_rejected_as(
        &bundle(&valid_with_kb(|kb| kb["tier"] = Json::from("top"))),
        |error| matches!(error, BundleError::Inconsistent(_)),
        "inconsistent bundle",
    );
}

/// The message of a tier mismatch names the tiers (today it shows the same pack and version
/// on both sides: "the manifest is `test/bundled` 1.0.0 but `kb.json` is `test/bundled` 1.0.0").
#[test]
fn knowledge_base_of_another_tier_says_so() {
    let error = rejected(&bundle(&valid_with_kb(|kb| kb["tier"] = Json::from("top"))));
    let message = error.to_string();
    assert!(
        message.contains("tier") && message.contains("top"),
        "`{message}` does not name the tiers"
    );
}

// ------------------------------------------------------------------------------------------
// Sizes and counts

/// An entry bigger than the cap, caught from its header before its data is read.
#[test]
fn oversized_entry() {
    let limits = ReadLimits {
        max_entry_bytes: file("manifest.json").len() as u64,
        ..ReadLimits::default()
    };
    let kb = file("kb.json").len() as u64;
    let error = rejected_with(&bundle(&valid_entries()), &limits);
    assert_eq!(
        error,
        BundleError::EntryTooLarge {
            path: "kb.json".to_string(),
            size: kb,
            limit: limits.max_entry_bytes,
        }
    );
}

/// A header claiming 300 MiB (over the default 256 MiB), with a few bytes behind it: rejected
/// from the header, nothing allocated for the claim.
#[test]
fn entry_claiming_300_mib() {
    let entry = Entry {
        claimed_size: Some(300 * 1024 * 1024),
        ..Entry::file("kb.json", file("kb.json"))
    };
    let limit = ReadLimits::default().max_entry_bytes;
    assert_eq!(limit, 256 * 1024 * 1024);
    assert_rejected(
        &bundle(&valid_with("kb.json", entry)),
        BundleError::EntryTooLarge {
            path: "kb.json".to_string(),
            size: 300 * 1024 * 1024,
            limit,
        },
        "entry `kb.json` is 314572800 bytes, over the limit of 268435456",
    );
}

#[test]
fn too_many_entries() {
    let limits = ReadLimits {
        max_entries: 3,
        ..ReadLimits::default()
    };
    assert_eq!(
        rejected_with(&bundle(&valid_entries()), &limits),
        BundleError::TooManyEntries { limit: 3 }
    );
}

#[test]
fn bundle_file_too_large() {
    let bytes = bundle(&valid_entries());
    let limits = ReadLimits {
        max_bundle_bytes: 1000,
        ..ReadLimits::default()
    };
    assert_eq!(
        rejected_with(&bytes, &limits),
        BundleError::TooLarge {
            size: bytes.len() as u64,
            limit: 1000,
        }
    );
}

/// Ordinary compression ratios, but more data than the cap allows: one byte more is refused.
#[test]
fn unpacked_too_large() {
    let entries = valid_entries();
    let unpacked = tar_bytes(&entries).len() as u64;
    let bytes = bundle(&entries);
    let limits = ReadLimits {
        max_unpacked_bytes: unpacked,
        ..ReadLimits::default()
    };
    read_bundle(&bytes, &limits).expect("exactly at the limit");
    let limits = ReadLimits {
        max_unpacked_bytes: unpacked - 1,
        ..ReadLimits::default()
    };
    assert_eq!(
        rejected_with(&bytes, &limits),
        BundleError::UnpackedTooLarge {
            limit: unpacked - 1
        }
    );
}

/// 64 MiB of zeros in a 70 KB gzip stream (about 1000×), with the default limits: rejected as
/// a bomb once past the 8 MiB grace, long before all of it is decompressed.
///
/// Larger bombs are rejected the same way, but only once they expand past 100× their size
/// (100 MB for a 1 GiB bomb of 1 MB), and decompression runs at a few MB/s in debug builds:
/// this size keeps the test quick while exercising the default limits.
#[test]
fn gzip_bomb_is_rejected_before_expanding() {
    const BOMB: u64 = 64 * 1024 * 1024;
    let bytes = gzip_bomb(BOMB);
    let compressed = bytes.len() as u64;
    let limits = ReadLimits::default();
    assert!(
        compressed * limits.max_ratio < limits.ratio_grace_bytes,
        "a bomb of {compressed} bytes"
    );
    let error = rejected(&bytes);
    let BundleError::DecompressionBomb {
        unpacked,
        compressed: reported,
    } = error
    else {
        panic!("rejected, but as {error:?}");
    };
    assert_eq!(reported, compressed);
    // Stopped right after the grace (one read buffer past it), far from the whole.
    assert!(
        unpacked > limits.ratio_grace_bytes && unpacked <= limits.ratio_grace_bytes + 64 * 1024,
        "stopped at {unpacked}"
    );
    assert!(unpacked < BOMB / 4);
    assert!(error.to_string().starts_with(&format!(
        "decompression bomb: {compressed} compressed bytes expand past {unpacked} bytes"
    )));
    cli_rejects(&bytes, &error);
}

/// The bomb generator makes a valid gzip stream: a reader without a ratio limit reads it to
/// its end, the whole `kb.json` it claims (checked on a small one).
#[test]
fn gzip_bomb_generator_makes_valid_gzip() {
    let bytes = gzip_bomb(1024 * 1024);
    let mut decoder = flate2::read::GzDecoder::new(&bytes[..]);
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut decoder, &mut data).expect("a valid gzip stream");
    assert_eq!(data.len(), 512 + 1024 * 1024);
    assert!(data[512..].iter().all(|byte| *byte == 0));
    let mut archive = tar::Archive::new(&data[..]);
    let entry = archive
        .entries()
        .expect("a tar")
        .next()
        .expect("one entry")
        .expect("a valid entry");
    assert_eq!(&*entry.path_bytes(), b"kb.json");
    assert_eq!(entry.size(), 1024 * 1024 - 1024);
}

// ------------------------------------------------------------------------------------------
// The gzip and tar streams

/// A second gzip member: `tar xzf` (and `MultiGzDecoder`) would read it after the first.
#[test]
fn second_gzip_member() {
    let mut bytes = bundle(&valid_entries());
    bytes.extend(bundle(&[Entry::file("escape.txt", "escaped\n")]));
    assert_rejected(
        &bytes,
        BundleError::TrailingData,
        "data after the end of the archive (a second gzip member or bytes past the tar end)",
    );
}

/// Another entry past the end-of-archive blocks: `tar --ignore-zeros` would read it.
#[test]
fn entry_after_the_end_of_the_archive() {
    let mut tar = tar_bytes(&valid_entries());
    tar.extend(tar_bytes(&[Entry::file("escape.txt", "escaped\n")]));
    assert_rejected(
        &gzip(&tar),
        BundleError::TrailingData,
        "data after the end of the archive",
    );
}

#[test]
fn bytes_after_the_end_of_the_archive() {
    let mut tar = tar_bytes(&valid_entries());
    tar.extend_from_slice(b"hidden");
    assert_rejected(
        &gzip(&tar),
        BundleError::TrailingData,
        "data after the end of the archive",
    );
}

/// Zero padding after the gzip member (as tape-blocked writers leave) is refused too: only the
/// one member may be there.
#[test]
fn zeros_after_the_gzip_member() {
    let mut bytes = bundle(&valid_entries());
    bytes.extend_from_slice(&[0; 512]);
    assert_rejected(
        &bytes,
        BundleError::TrailingData,
        "data after the end of the archive",
    );
}

/// An uncompressed tar of valid entries.
#[test]
fn not_gzip() {
    assert_rejected_as(
        &tar_bytes(&valid_entries()),
        |error| matches!(error, BundleError::NotGzip(_)),
        "not a gzip stream",
    );
}

#[test]
fn empty_file() {
    assert_rejected_as(
        &[],
        |error| matches!(error, BundleError::NotGzip(_)),
        "not a gzip stream",
    );
}

#[test]
fn gzip_truncated_in_the_middle() {
    let bytes = bundle(&valid_entries());
    assert_rejected_as(
        &bytes[..bytes.len() / 2],
        |error| matches!(error, BundleError::NotGzip(_)),
        "not a gzip stream",
    );
}

/// The deflate data is whole; the trailer with its CRC and size is cut off.
#[test]
fn gzip_without_its_trailer() {
    let bytes = bundle(&valid_entries());
    assert_rejected_as(
        &bytes[..bytes.len() - 8],
        |error| matches!(error, BundleError::NotGzip(_)),
        "not a gzip stream",
    );
}

#[test]
fn gzip_with_a_wrong_crc() {
    let mut bytes = bundle(&valid_entries());
    let at = bytes.len() - 8;
    bytes[at] ^= 1;
    assert_rejected_as(
        &bytes,
        |error| matches!(error, BundleError::NotGzip(_)),
        "not a gzip stream",
    );
}
