//! libFuzzer target: `threatpack::fuzz::signature` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| threatpack::fuzz::signature(data));
