//! libFuzzer target: `threatpack::fuzz::bundle` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| threatpack::fuzz::bundle(data));
