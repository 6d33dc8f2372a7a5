//! Postfix's `smtp-sink` as a real, independent receiver (installed by scripts/test.sh).

use std::time::Duration;

use calm_outbound::Routes;

use crate::harness::*;

async fn free_port(ip: &str) -> u16 {
    let l = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    l.local_addr().unwrap().port()
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

#[tokio::test]
async fn delivers_a_batch_to_postfix_smtp_sink() {
    let port = free_port("127.0.0.7").await;
    let mut cmd = tokio::process::Command::new("/usr/sbin/smtp-sink");
    if is_root() {
        cmd.args(["-u", "postfix"]);
    }
    let _sink = cmd
        .arg(format!("127.0.0.7:{port}"))
        .arg("64")
        .kill_on_drop(true)
        .spawn()
        .expect("smtp-sink (Debian postfix) must be installed: scripts/test.sh installs it");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.7", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let routes = Routes::parse(&format!("sink.test smtp:[127.0.0.7]:{port}\n"), "r").unwrap();
    let s = setup(zone(), 9, |c| {
        c.routes = routes;
        c.timeouts = calm_outbound::Timeouts::default();
    })
    .await;
    for i in 0..20 {
        s.enqueue(
            &format!("S{i:02}"),
            "a@sender.test",
            &["u@sink.test", "v@sink.test"],
            BODY,
        );
    }
    s.engine.run_once().await;
    assert!(s.ids().is_empty(), "{:?}", s.events());
    assert_eq!(s.count("delivered_remote"), 40);
    assert_eq!(
        s.count("delivery_attempt"),
        2,
        "20 messages over two reused connections"
    );
}
