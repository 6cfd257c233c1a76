//! `cargo fuzz run notification_from_parts`: see `codexkit_fuzz::notification_from_parts`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| codexkit_fuzz::notification_from_parts(data));
