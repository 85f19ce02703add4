//! A client's WebSocket text frame (docs/FUZZING.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| doithoai_fuzz::client_frame(data));
