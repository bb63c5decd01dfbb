//! libFuzzer target: `threatpack::fuzz::public_keys` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| threatpack::fuzz::public_keys(data));
