//! The admin listener of the real binary: /metrics derived from the event log, queue age
//! from a queue scan, /healthz; fetched with curl.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{Setup, Smtp};

fn get(port: u16, path: &str) -> String {
    let url = format!("http://127.0.0.1:{port}{path}");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn metrics_count_what_the_event_log_records() {
    let setup = Setup::build("127.0.0.0/8", "", "");
    let _server = setup.start();
    let admin = setup.port("admin");
    assert_eq!(get(admin, "/healthz").trim(), "ok");
    let (mut c, _) = Smtp::connect(setup.mx());
    c.cmd("EHLO client.example.org");
    c.send_mail(
        "a@example.org",
        &["bob@example.test"],
        "Subject: m\r\n\r\nx\r\n",
    )
    .unwrap();
    c.send_mail(
        "a@example.org",
        &["x@remote.example"],
        "Subject: r\r\n\r\nx\r\n",
    )
    .unwrap();
    setup.wait_for_mail("bob@example.test", 1);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = get(admin, "/metrics");
        let ready = text.contains("calm_messages_accepted_total 2")
            && text.contains("calm_local_deliveries_total 1")
            && text.contains("calm_queue_messages 1");
        if ready {
            assert!(text.contains("calm_queue_age"), "{text}");
            assert!(text.contains("calm_policy_verdicts_total{"), "{text}");
            assert!(text.trim_end().ends_with("# EOF"), "{text}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "metrics never caught up:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}
