//! Integration tests: the server on 127.0.0.1 driven by a raw client, Python's imaplib and
//! curl.

mod clients;
mod condstore;
mod harness;
mod hostile;
mod keywords;
mod mbsync;
mod quota;
mod session;
mod transcripts;
mod transfer;
