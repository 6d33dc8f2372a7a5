//! Integration tests for calm-smtp-server: a real server on 127.0.0.1:0, driven over TCP and TLS.

mod delivery;
mod harness;
mod limits;
mod relay;
mod tls;
mod transcript;
