//! An event definition file (docs/FUZZING.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| doithoai_fuzz::event_toml(data));
