//! Replays the committed fuzz corpora (`fuzz/corpus/TARGET/*`) through `threatpack::fuzz`,
//! and a few thousand deterministic mutations of them: the fuzzers' findings stay fixed, and
//! a parser that starts panicking on a near-valid input fails here, on stable, in every run.

use std::path::Path;

use threatpack::fuzz::TARGETS;

/// Mutations tried per target, spread over its corpus (the debug build runs an input in a few
/// milliseconds).
const MUTATIONS_PER_TARGET: usize = 400;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a corpus entry").path();
            let bytes = std::fs::read(&path).expect("a corpus file");
            (path.display().to_string(), bytes)
        })
        .collect();
    files.sort();
    files
}

/// xorshift64*: deterministic, so a failure names a mutation that happens again.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// One mutation of `input` of the kinds libFuzzer starts with.
fn mutate(input: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = input.to_vec();
    match rng.below(6) {
        0 if !bytes.is_empty() => {
            let at = rng.below(bytes.len());
            bytes[at] ^= 1 << rng.below(8);
        }
        1 => bytes.truncate(rng.below(bytes.len() + 1)),
        2 if !bytes.is_empty() => {
            let at = rng.below(bytes.len());
            bytes[at] = [0, 0xff, b'"', b'\\', b'{', b'[', b'\n', b'.'][rng.below(8)];
        }
        3 if !bytes.is_empty() => {
            let start = rng.below(bytes.len());
            let end = start + rng.below(bytes.len() - start + 1);
            let chunk = bytes[start..end].to_vec();
            let at = rng.below(bytes.len() + 1);
            bytes.splice(at..at, chunk);
        }
        4 if !other.is_empty() => {
            let start = rng.below(other.len());
            let end = start + rng.below((other.len() - start).min(64) + 1);
            let at = rng.below(bytes.len() + 1);
            bytes.splice(at..at, other[start..end].iter().copied());
        }
        _ if !bytes.is_empty() => {
            let start = rng.below(bytes.len());
            let end = start + rng.below((bytes.len() - start).min(16) + 1);
            bytes.drain(start..end);
        }
        _ => bytes.push(rng.next() as u8),
    }
    bytes
}

#[test]
fn every_target_has_a_corpus_and_no_input_of_it_panics() {
    for (target, run) in TARGETS {
        let files = corpus(target);
        assert!(!files.is_empty(), "fuzz/corpus/{target} is empty");
        for (path, bytes) in &files {
            if std::panic::catch_unwind(|| run(bytes)).is_err() {
                panic!("target {target} panicked on {path}");
            }
        }
    }
}

#[test]
fn mutations_of_the_corpora_do_not_panic() {
    for (index, (target, run)) in TARGETS.iter().enumerate() {
        let files = corpus(target);
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ index as u64);
        let per_file = (MUTATIONS_PER_TARGET / files.len().max(1)).max(1);
        for (number, (path, bytes)) in files.iter().enumerate() {
            let other = &files[(number + 1) % files.len()].1;
            for round in 0..per_file {
                let input = mutate(bytes, other, &mut rng);
                if std::panic::catch_unwind(|| run(&input)).is_err() {
                    panic!(
                        "target {target} panicked on mutation {round} of {path}; input (hex): {}",
                        input
                            .iter()
                            .map(|byte| format!("{byte:02x}"))
                            .collect::<String>()
                    );
                }
            }
        }
    }
}
