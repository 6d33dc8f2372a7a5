//! The durability promise under SIGKILL: every message that got 250 is in the Maildir exactly
//! once after a restart, whatever the moment of the kill.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::harness::{Setup, Smtp};

/// Sends messages with unique tokens until told to stop; records the tokens that got 250.
fn sender(port: u16, worker: usize, stop: Arc<AtomicBool>, acked: Arc<Mutex<Vec<String>>>) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let Some((mut c, greeting)) = Smtp::try_connect(port) else {
            return;
        };
        if greeting.0 != 220 || c.cmd("EHLO load.example.org").0 != 250 {
            return;
        }
        for _ in 0..20 {
            n += 1;
            let token = format!("token-{worker}-{n}");
            let body = format!(
                "Subject: {token}\r\nX-Token: {token}\r\n\r\n{}\r\n",
                format!("{}\r\n", "x".repeat(98)).repeat(20)
            );
            match c.send_mail("load@example.org", &["bob@example.test"], &body) {
                Ok(_) => acked.lock().unwrap().push(token),
                Err(e) => {
                    if e.0 != 0 {
                        eprintln!("worker {worker}: refused: {e:?}");
                    }
                    return; // the server died mid-transaction: not acknowledged
                }
            }
            if stop.load(Ordering::Relaxed) {
                return;
            }
        }
        c.cmd("QUIT");
    }
}

fn tokens_in_mailbox(setup: &Setup) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for file in setup.mailbox_files("bob@example.test") {
        let text = std::fs::read_to_string(file).unwrap();
        let token = text
            .lines()
            .find_map(|l| l.strip_prefix("X-Token: "))
            .unwrap()
            .to_string();
        *seen.entry(token).or_insert(0) += 1;
    }
    seen
}

#[test]
fn sigkill_under_load_loses_and_duplicates_nothing() {
    // Loopback is the LAN here, so the default policy's per-IP message rate (a defence
    // against outside senders) does not throttle the load.
    let setup = Setup::build("127.0.0.0/8", "", "");
    let acked = Arc::new(Mutex::new(Vec::new()));
    for round in 0..3 {
        let server = setup.start();
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..8)
            .map(|w| {
                let (stop, acked) = (stop.clone(), acked.clone());
                let port = setup.mx();
                std::thread::spawn(move || sender(port, round * 100 + w, stop, acked))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(2500 + 500 * round as u64));
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        workers.into_iter().for_each(|w| w.join().unwrap());
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 500,
        "the load did not run: only {} acknowledged",
        acked.len()
    );
    // Restart once more and let recovery finish.
    let _server = setup.start();
    let mut seen = tokens_in_mailbox(&setup);
    for _ in 0..200 {
        if acked.iter().all(|t| seen.contains_key(t)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        seen = tokens_in_mailbox(&setup);
    }
    let lost: Vec<_> = acked.iter().filter(|t| !seen.contains_key(*t)).collect();
    let duplicated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged messages lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    assert!(duplicated.is_empty(), "duplicates: {duplicated:?}");
    eprintln!(
        "crash test: {} acknowledged, {} in mailbox after 3 SIGKILLs",
        acked.len(),
        seen.len()
    );
}

/// Outbound: calm forwards a domain to a second calm and is SIGKILLed in the middle of the
/// deliveries. Nothing acknowledged is lost; a message whose remote 250 came just before the
/// kill may be sent twice (remote delivery is at least once, as in Postfix), so duplicates are
/// bounded by the messages in flight at each kill.
#[test]
fn sigkill_during_outbound_delivery_loses_nothing() {
    let receiver = Setup::build("127.0.0.0/8", "", "");
    let _receiver_server = receiver.start();
    let sender = Setup::build_with_outbound(
        "127.0.0.0/8",
        "",
        "routes_file = \"routes\"\nretry_initial_secs = 1\nretry_max_interval_secs = 1",
        "",
    );
    let routes = format!("example.test relay:[127.0.0.1]:{}\n", receiver.mx());
    std::fs::write(sender.dir.path().join("routes"), routes).unwrap();
    let mut acked = Vec::new();
    let mut kills = 0;
    for round in 0..3 {
        let server = sender.start();
        let (mut c, _) = Smtp::connect(sender.mx());
        c.cmd("EHLO load.example.org");
        for n in 0..150 {
            let token = format!("out-{round}-{n}");
            let body = format!("Subject: {token}\r\nX-Token: {token}\r\n\r\nx\r\n");
            if c.send_mail("load@example.org", &["bob@example.test"], &body)
                .is_ok()
            {
                acked.push(token);
            }
        }
        // Let delivery get going, then kill it mid-flight.
        std::thread::sleep(Duration::from_millis(150));
        server.kill9();
        kills += 1;
    }
    let _server = sender.start();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut seen = tokens_in_mailbox(&receiver);
    while acked.iter().any(|t| !seen.contains_key(t)) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        seen = tokens_in_mailbox(&receiver);
    }
    let lost: Vec<_> = acked.iter().filter(|t| !seen.contains_key(*t)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged messages lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    // At most the messages in flight per destination (10 connections) at each kill.
    assert!(
        duplicates <= kills * 10,
        "{duplicates} duplicates after {kills} kills"
    );
    eprintln!(
        "outbound crash test: {} acknowledged, all delivered, {duplicates} duplicates",
        acked.len()
    );
}
