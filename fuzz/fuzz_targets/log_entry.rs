//! libFuzzer target: `threatpack::fuzz::log_entry` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| threatpack::fuzz::log_entry(data));
