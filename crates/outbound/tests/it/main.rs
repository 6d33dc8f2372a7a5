//! calm-outbound's integration tests: the engine against scripted receivers on 127.0.0.x
//! and an in-process DNS server.

mod auth;
mod bounce;
mod delivery;
mod harness;
mod ops;
mod retry;
mod sink;
mod tls;
