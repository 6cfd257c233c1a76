//! `cargo fuzz run jsonrpc_parse_incoming`: see `codexkit_fuzz::jsonrpc_parse_incoming`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| codexkit_fuzz::jsonrpc_parse_incoming(data));
