//! Mail leaving calm: two calm instances, one forwarding a domain to the other (the cut-over
//! mechanism), flipped back by one line and one reload; `disabled` routes; queue operations.

use std::time::{Duration, Instant};

use crate::harness::{Setup, Smtp, calm};

const MAIL: &str = "Subject: hop\r\n\r\nacross two servers\r\n";

fn send(port: u16, to: &str) -> Result<String, (u16, String)> {
    let (mut c, _) = Smtp::connect(port);
    c.cmd("EHLO client.example.org");
    c.send_mail("a@example.org", &[to], MAIL)
}

#[test]
fn a_domain_is_forwarded_to_the_old_server_then_flipped_back() {
    // "old" is the server the domain is migrating away from.
    let old = Setup::new();
    let _old_server = old.start();
    let new = Setup::build_with_outbound("127.0.0.2/32", "", "routes_file = \"routes\"", "");
    let routes = new.dir.path().join("routes");
    std::fs::write(
        &routes,
        format!("example.test relay:[127.0.0.1]:{}\n", old.mx()),
    )
    .unwrap();
    let _new_server = new.start();

    // Even a user the new server does not know is accepted and forwarded whole.
    send(new.mx(), "bob@example.test").unwrap();
    let files = old.wait_for_mail("bob@example.test", 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        text.contains("by mx.example.test (calm)") && text.contains("across two servers"),
        "{text}"
    );
    assert_eq!(
        text.matches("Received: ").count(),
        2,
        "one hop through each server: {text}"
    );
    assert!(new.mailbox_files("bob@example.test").is_empty());
    assert!(
        new.wait_for_event("delivered_remote")
            .iter()
            .any(|e| e["event"] == "delivered_remote"),
        "delivery is logged"
    );

    // Flip: one line, one reload, and the domain is delivered locally.
    std::fs::write(&routes, "# example.test is served here now\n").unwrap();
    let (ok, out, err) = calm(&["reload", "--config", &new.config()]);
    assert!(ok, "{out}{err}");
    send(new.mx(), "bob@example.test").unwrap();
    new.wait_for_mail("bob@example.test", 1);
    assert_eq!(old.mailbox_files("bob@example.test").len(), 1);
}

#[test]
fn a_disabled_domain_is_deferred_at_rcpt() {
    let setup = Setup::build_with_outbound("127.0.0.2/32", "", "routes_file = \"routes\"", "");
    std::fs::write(setup.dir.path().join("routes"), "example.test disabled\n").unwrap();
    let _server = setup.start();
    let refused = send(setup.mx(), "bob@example.test").unwrap_err();
    assert!(refused.1.starts_with("450 4.3.2"), "{refused:?}");
}

#[test]
fn queue_operations_reach_the_running_engine() {
    // Loopback is the LAN: relaying is allowed, and nothing answers DNS, so the message waits.
    let setup = Setup::build("127.0.0.0/8", "", "");
    let _server = setup.start();
    let id = send(setup.mx(), "x@remote.example").unwrap();
    let cfg = setup.config();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(60);
    loop {
        let (_, out, _) = calm(&["queue", "list", "--config", &cfg]);
        if out.contains(&id) && out.contains("deferred") {
            eprintln!("deferred after {:?}", start.elapsed());
            break;
        }
        assert!(Instant::now() < deadline, "never deferred: {out}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (ok, out, _) = calm(&["queue", "hold", &id, "--config", &cfg]);
    assert!(ok && out.contains("held"), "{out}");
    let (_, out, _) = calm(&["queue", "list", "--state", "hold", "--config", &cfg]);
    assert!(out.contains(&id), "{out}");
    let (ok, out, _) = calm(&["queue", "shape", "--config", &cfg]);
    assert!(
        ok && out.contains("remote.example") && out.contains("P95"),
        "{out}"
    );
    let (ok, out, _) = calm(&[
        "queue",
        "delete",
        &id,
        "--reason",
        "test cleanup",
        "--config",
        &cfg,
    ]);
    assert!(ok && out.contains("deleted"), "{out}");
    let (_, out, _) = calm(&["queue", "list", "--config", &cfg]);
    assert!(out.contains("0 messages"), "{out}");
}

#[test]
fn relay_with_auth_through_the_other_servers_submission_port() {
    let relay = Setup::new();
    let _relay_server = relay.start();
    let outbound = "routes_file = \"routes\"\nrelay_credentials = \"relay-credentials\"";
    let sender = Setup::build_with_outbound("127.0.0.0/8", "", outbound, "");
    let routes = format!(
        "example.test relay:[127.0.0.1]:{} auth=b\n",
        relay.submission()
    );
    std::fs::write(sender.dir.path().join("routes"), routes).unwrap();
    std::fs::write(
        sender.dir.path().join("relay-credentials"),
        "b bob@example.test secret\n",
    )
    .unwrap();
    let _sender_server = sender.start();
    let (mut c, _) = Smtp::connect(sender.mx());
    c.cmd("EHLO lan-host.example.test");
    c.send_mail("bob@example.test", &["bob@example.test"], MAIL)
        .unwrap();
    let files = relay.wait_for_mail("bob@example.test", 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        text.contains("with ESMTPSA"),
        "authenticated over TLS at the relay: {text}"
    );
    let log = std::fs::read_to_string(sender.data().join("events.jsonl")).unwrap();
    assert!(
        !log.contains("secret"),
        "the relay password never reaches the event log"
    );
}
