//! The one integration-test binary: starts calm as a real process on free loopback ports and
//! drives it with our own small client and with clients nobody here wrote (Python smtplib,
//! swaks, curl).

mod cli;
mod clients;
mod content;
mod crash;
mod diskfull;
mod harness;
mod imap;
mod metrics;
mod outbound;
mod policy;
mod pop3;
mod quota;
mod reload;
mod smtp;
