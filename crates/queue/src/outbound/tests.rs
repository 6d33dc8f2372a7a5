use super::*;

fn message(id: &str, from: &str, rcpts: &[&str]) -> QueuedMessage {
    QueuedMessage {
        id: id.into(),
        mail_from: from.into(),
        rcpt_to: rcpts.iter().map(|r| r.to_string()).collect(),
        failed: vec![],
        received_at: 1_000,
        size: 3,
    }
}

fn queue() -> (tempfile::TempDir, Outbound) {
    let dir = tempfile::tempdir().unwrap();
    let q = Outbound::open(&dir.path().join("outbound")).unwrap();
    (dir, q)
}

#[test]
fn a_file_from_before_the_state_existed_reads_as_all_pending() {
    let (dir, q) = queue();
    // Exactly what the first version of the spool wrote.
    let old =
        "{\"id\":\"Q1\",\"mail_from\":\"a@x\",\"rcpt_to\":[\"b@y\"],\"received_at\":7}\nbody\r\n";
    std::fs::write(dir.path().join("outbound/active/Q1"), old).unwrap();
    let (entry, body) = q.read_message("Q1").unwrap();
    assert_eq!(body, b"body\r\n");
    assert_eq!(entry.state.recipients.len(), 1);
    assert_eq!(entry.state.recipients[0].status, RecipientStatus::Pending);
    assert_eq!(entry.entry_state(), EntryState::Active);
    assert_eq!(entry.next_attempt(), Some(0));
}

#[test]
fn unroutable_recipients_become_failed_recipients_owing_a_dsn() {
    let mut m = message("Q2", "a@x", &["b@y"]);
    m.failed.push(FailedRecipient {
        rcpt: "gone@local".into(),
        reason: "no such user".into(),
    });
    let entry = QueueEntry::from_parts(m, None);
    let failed = &entry.state.recipients[1];
    assert_eq!(failed.status, RecipientStatus::Failed);
    assert_eq!(failed.status_code.as_deref(), Some("5.1.1"));
    assert!(!failed.dsn_done);
    assert!(!entry.is_finished());
}

#[test]
fn state_survives_and_overrides_the_envelope() {
    let (_dir, q) = queue();
    q.write_batch(&[(message("Q3", "a@x", &["b@y", "c@z"]), b"m\r\n")])
        .unwrap();
    let entry = q
        .update("Q3", |e| {
            e.state.recipients[0].status = RecipientStatus::Delivered;
            e.state.recipients[1].attempts = 2;
            e.state.recipients[1].next_attempt = 5_000;
        })
        .unwrap();
    assert_eq!(entry.entry_state(), EntryState::Deferred);
    let reread = q.entry("Q3").unwrap();
    assert_eq!(reread, entry);
    assert_eq!(reread.next_attempt(), Some(5_000));
    // A redelivery by the spool after a crash rewrites the message but keeps the history.
    q.write_batch(&[(message("Q3", "a@x", &["b@y", "c@z"]), b"m\r\n")])
        .unwrap();
    assert_eq!(q.entry("Q3").unwrap(), entry);
}

#[test]
fn hold_release_and_retry_now() {
    let (_dir, q) = queue();
    q.write_batch(&[(message("Q4", "a@x", &["b@y"]), b"m\r\n")])
        .unwrap();
    q.update("Q4", |e| e.state.recipients[0].next_attempt = 9_999)
        .unwrap();
    assert_eq!(
        q.set_held("Q4", true).unwrap().entry_state(),
        EntryState::Hold
    );
    assert!(q.entry("Q4").unwrap().state.held);
    assert!(!q.set_held("Q4", false).unwrap().state.held);
    assert_eq!(q.retry_now("Q4").unwrap().next_attempt(), Some(0));
}

#[test]
fn remove_deletes_message_and_state_and_is_idempotent() {
    let (dir, q) = queue();
    q.write_batch(&[(message("Q5", "a@x", &["b@y"]), b"m\r\n")])
        .unwrap();
    q.set_held("Q5", true).unwrap();
    q.remove("Q5").unwrap();
    q.remove("Q5").unwrap();
    assert_eq!(q.entry("Q5").unwrap_err().kind(), io::ErrorKind::NotFound);
    assert!(!dir.path().join("outbound/state/Q5").exists());
    assert!(q.ids().unwrap().is_empty());
}

#[test]
fn hostile_ids_are_never_used_as_paths() {
    let (_dir, q) = queue();
    for id in [
        "",
        "..",
        "../active/x",
        "a/b",
        ".hidden",
        "a\0b",
        &"A".repeat(200),
    ] {
        let err = q.entry(id).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{id:?}");
        assert_eq!(
            q.set_held(id, true).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            q.remove(id).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}

#[test]
fn corrupt_files_are_reported_not_skipped() {
    let (dir, q) = queue();
    q.write_batch(&[(message("Q6", "a@x", &["b@y"]), b"m\r\n")])
        .unwrap();
    std::fs::write(dir.path().join("outbound/active/BAD"), b"{not json\n").unwrap();
    std::fs::write(dir.path().join("outbound/state/Q6"), b"[1,2").unwrap();
    let all = q.entries(&ListFilter::default(), 2_000).unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(Result::is_err), "{all:?}");
    assert!(q.read_message("BAD").is_err());
}

#[test]
fn filters_by_domain_sender_state_and_age() {
    let (_dir, q) = queue();
    let mut old = message("Q7", "", &["u@Example.org"]);
    old.received_at = 100;
    q.write_batch(&[
        (old, b"m\r\n"),
        (message("Q8", "a@x", &["v@other.net"]), b"m\r\n"),
    ])
    .unwrap();
    q.set_held("Q8", true).unwrap();
    let ids = |f: ListFilter| -> Vec<String> {
        q.entries(&f, 1_000)
            .unwrap()
            .into_iter()
            .map(|e| e.unwrap().message.id)
            .collect()
    };
    assert_eq!(ids(ListFilter::default()), ["Q7", "Q8"]);
    let domain = ListFilter {
        domain: Some("example.ORG".into()),
        ..Default::default()
    };
    assert_eq!(ids(domain), ["Q7"]);
    let null_sender = ListFilter {
        sender: Some("<>".into()),
        ..Default::default()
    };
    assert_eq!(ids(null_sender), ["Q7"]);
    let held = ListFilter {
        state: Some(EntryState::Hold),
        ..Default::default()
    };
    assert_eq!(ids(held), ["Q8"]);
    let old_only = ListFilter {
        min_age_secs: Some(500),
        ..Default::default()
    };
    assert_eq!(ids(old_only), ["Q7"]);
}
