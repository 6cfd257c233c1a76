//! `cargo fuzz run normalizer_sequence`: see `codexkit_fuzz::normalizer_sequence`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| codexkit_fuzz::normalizer_sequence(data));
