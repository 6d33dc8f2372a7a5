//! Protocol transcripts in `tests/data/*.txt`.
//!
//! Format, one directive per line:
//! - `# ...` comment; `role: mx|submission|submissions`; `greeting_delay_ms: N`
//! - `C: text`  queue `text` + CRLF for sending;  `R: text`  queue `text` raw (no CRLF added)
//! - `S: text`  send what is queued in one write, then read one reply line and expect `text`
//! - `S~ text`  the same, but only expect the line to start with `text`
//! - `CLOSED`   send what is queued, expect the server to close without saying more
//! - `ENQUEUED: n`  expect exactly n messages stored so far
//!
//! In `C:`/`R:`/`S:` text, `\r`, `\n`, `\t` and `\\` are escapes, so bare CR and LF can be written.

use std::time::Duration;

use calm_smtp_server::Role;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::harness::{self, Client, TestServer};

fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut b = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            continue;
        }
        match chars.next() {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('\\') => out.push(b'\\'),
            other => panic!("bad escape \\{other:?}"),
        }
    }
    out
}

struct Script {
    role: Role,
    greeting_delay: Duration,
    steps: Vec<(usize, String)>,
}

fn load(name: &str) -> Script {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut script = Script {
        role: Role::Mx,
        greeting_delay: Duration::ZERO,
        steps: Vec::new(),
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(r) = line.strip_prefix("role: ") {
            script.role = match r.trim() {
                "mx" => Role::Mx,
                "submission" => Role::Submission,
                "submissions" => Role::Submissions,
                other => panic!("{name}:{}: unknown role {other}", i + 1),
            };
        } else if let Some(ms) = line.strip_prefix("greeting_delay_ms: ") {
            script.greeting_delay = Duration::from_millis(ms.trim().parse().unwrap());
        } else {
            script.steps.push((i + 1, line.to_owned()));
        }
    }
    script
}

/// Runs the transcript `tests/data/<name>` against a fresh server.
pub async fn run(name: &str) {
    let script = load(name);
    let delay = script.greeting_delay;
    let server = harness::start_with(|s| s.mx_greeting_delay = delay).await;
    if script.role == Role::Submissions {
        let client = server.implicit_tls().await;
        play(name, &script, &server, client).await;
    } else {
        let client = server.plain(script.role).await;
        play(name, &script, &server, client).await;
    }
}

async fn play<S: AsyncRead + AsyncWrite + Unpin>(
    name: &str,
    script: &Script,
    server: &TestServer,
    mut client: Client<S>,
) {
    let mut pending = Vec::new();
    for (line_no, step) in &script.steps {
        let at = format!("{name}:{line_no}");
        if step == "C:" {
            pending.extend_from_slice(b"\r\n");
        } else if let Some(text) = step.strip_prefix("C: ") {
            pending.extend(unescape(text));
            pending.extend_from_slice(b"\r\n");
        } else if let Some(text) = step.strip_prefix("R: ") {
            pending.extend(unescape(text));
        } else if let Some(expect) = step.strip_prefix("S: ").or(step.strip_prefix("S~ ")) {
            if !pending.is_empty() {
                client.send(&std::mem::take(&mut pending)).await;
            }
            let got = client
                .line()
                .await
                .unwrap_or_else(|| panic!("{at}: connection closed"));
            let expect = String::from_utf8(unescape(expect)).unwrap();
            if step.starts_with("S~") {
                assert!(
                    got.starts_with(&expect),
                    "{at}: got {got:?}, expected prefix {expect:?}"
                );
            } else {
                assert_eq!(got, expect, "{at}");
            }
        } else if step == "CLOSED" {
            if !pending.is_empty() {
                client.send(&std::mem::take(&mut pending)).await;
            }
            client.expect_closed().await;
        } else if let Some(n) = step.strip_prefix("ENQUEUED: ") {
            assert_eq!(
                server.backend.enqueued_count(),
                n.parse::<usize>().unwrap(),
                "{at}"
            );
        } else {
            panic!("{at}: unknown directive {step:?}");
        }
    }
}

macro_rules! transcripts {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            run(concat!(stringify!($name), ".txt")).await;
        }
    )*};
}

transcripts!(
    bare_lf_in_command,
    bare_cr_in_command,
    data_lf_dot_lf,
    data_lf_dot_crlf,
    data_crlf_dot_lf,
    data_cr_dot_cr,
    bare_lf_in_data_body,
    early_talker,
    too_many_recipients,
    size_param_too_big,
    commands_out_of_order,
    auth_on_mx,
    submission_auth_before_starttls,
    submission_mail_before_starttls,
    submissions_mail_before_auth,
    submissions_auth_plain,
    submissions_auth_login,
    submissions_auth_failures,
    pipelined_transaction,
    vrfy_expn_help,
    syntax_errors,
    too_many_errors,
    smtputf8,
);
