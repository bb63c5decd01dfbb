//! libFuzzer target: `threatpack::fuzz::kb` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| threatpack::fuzz::kb(data));
