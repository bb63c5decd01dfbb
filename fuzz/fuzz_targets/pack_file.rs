//! libFuzzer target: `threatpack::fuzz::pack_file` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| threatpack::fuzz::pack_file(data));
