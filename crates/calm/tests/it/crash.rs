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
