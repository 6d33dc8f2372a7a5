use super::*;

fn msg(subject: &str, body: &str) -> Content {
    Content::parse(format!("Subject: {subject}\r\n\r\n{body}\r\n").as_bytes())
}

fn trained() -> Bayes {
    let mut b = Bayes::new();
    for i in 0..6 {
        b.train(
            Label::Spam,
            &msg(
                "cheap pills",
                &format!("buy cheap pills viagra now offer{i}"),
            ),
        );
        b.train(
            Label::Ham,
            &msg(
                "meeting",
                &format!("agenda for the project meeting tomorrow item{i}"),
            ),
        );
    }
    b
}

#[test]
fn answers_only_after_enough_training() {
    let mut b = Bayes::new();
    let m = msg("cheap pills", "buy now");
    assert_eq!(b.probability(&m), None);
    for _ in 0..5 {
        b.train(Label::Spam, &m);
    }
    assert_eq!(b.probability(&m), None, "no ham yet");
    assert_eq!(b.messages(), (5, 0));
}

#[test]
fn separates_spam_from_ham() {
    let b = trained();
    let spam = b
        .probability(&msg("cheap", "viagra pills, buy now"))
        .unwrap();
    let ham = b
        .probability(&msg("meeting", "the project agenda"))
        .unwrap();
    assert!(spam > 0.9, "{spam}");
    assert!(ham < 0.1, "{ham}");
    assert_eq!(
        b.probability(&msg("zzz", "unrelated words entirely")),
        Some(0.5)
    );
}

#[test]
fn untrain_reverses_train() {
    let mut b = trained();
    let before = b.clone();
    let m = msg("odd one", "a message trained by mistake");
    b.train(Label::Spam, &m);
    assert_ne!(b, before);
    b.untrain(Label::Spam, &m);
    assert_eq!(b, before);
}

#[test]
fn file_round_trip_and_atomic_save() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bayes.tokens");
    assert_eq!(Bayes::load(&path).unwrap(), Bayes::new());
    let b = trained();
    b.save(&path).unwrap();
    let again = Bayes::load(&path).unwrap();
    assert_eq!(again, b);
    assert_eq!(again.to_text(), b.to_text());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["bayes.tokens"], "no temporary file left behind");
}

#[test]
fn damaged_files_name_the_line() {
    let p = Path::new("b");
    for (text, line) in [
        ("", 1),
        ("calm-bayes 2\n", 1),
        ("calm-bayes 1\nmessages x 1\n", 2),
        ("calm-bayes 1\nmessages 1\n", 2),
        ("calm-bayes 1\nmessages 1 1\n1\t1\tok\n1\tword\n", 4),
        ("calm-bayes 1\nmessages 1 1\n-1\t1\tneg\n", 3),
    ] {
        match Bayes::from_text(p, text) {
            Err(BayesError::Format { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn tokens_cover_subject_urls_and_attachments() {
    let c = Content::parse(
        b"Subject: Hello There\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nSee https://Shop.Example/x?y at $99 ok\r\n\
--b\r\nContent-Type: application/pdf; name=a.PDF\r\n\r\n%PDF\r\n--b--\r\n",
    );
    let t = tokens(&c);
    for want in [
        "subject:hello",
        "subject:there",
        "see",
        "$99",
        "url:shop.example",
        "attach:pdf",
    ] {
        assert!(t.contains(want), "{want} not in {t:?}");
    }
    assert!(!t.contains("ok"), "two-letter words are noise");
}

#[test]
fn chi2q_matches_known_values() {
    // chi-square survival with 2 degrees of freedom is exp(-x/2)
    assert!((chi2q(2.0, 2) - (-1.0f64).exp()).abs() < 1e-12);
    assert!((chi2q(0.0, 10) - 1.0).abs() < 1e-12);
    assert!(chi2q(1000.0, 4) < 1e-100);
}
