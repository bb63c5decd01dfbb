//! libFuzzer target: `threatpack::fuzz::threat_dragon` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| threatpack::fuzz::threat_dragon(data));
