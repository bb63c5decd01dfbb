//! libFuzzer target: `threatpack::fuzz::import` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| threatpack::fuzz::import(data));
