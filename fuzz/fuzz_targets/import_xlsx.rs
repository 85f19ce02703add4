//! An uploaded XLSX workbook (docs/FUZZING.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| doithoai_fuzz::import_xlsx(data));
