//! libFuzzer target: `threatpack::fuzz::tm7` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| threatpack::fuzz::tm7(data));
