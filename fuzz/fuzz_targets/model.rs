//! libFuzzer target: `threatpack::fuzz::model` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| threatpack::fuzz::model(data));
