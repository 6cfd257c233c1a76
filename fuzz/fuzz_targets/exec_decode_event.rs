//! `cargo fuzz run exec_decode_event`: see `codexkit_fuzz::exec_decode_event`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| codexkit_fuzz::exec_decode_event(data));
