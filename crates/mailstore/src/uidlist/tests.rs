use super::*;

const DOVECOT_EXAMPLE: &str = "3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n\
25006 :1276528487.M364837P9451.kurkku,S=1355,W=1394:2,\n\
25017 W2481 :1276533073.M242911P3632.kurkku:2,F\n";

fn valid(text: &str) -> UidList {
    match parse(text) {
        Loaded::Valid(list) => list,
        other => panic!("expected a valid list, got {other:?}"),
    }
}

#[test]
fn reads_dovecot_documentation_example() {
    let list = valid(DOVECOT_EXAMPLE);
    assert_eq!((list.uid_validity, list.next_uid), (1275660208, 25022));
    assert_eq!(list.header_extra, ["G3085f01b7f11094c501100008c4a11c1"]);
    assert_eq!(list.records.len(), 2);
    assert_eq!(
        list.records[0].base(),
        "1276528487.M364837P9451.kurkku,S=1355,W=1394"
    );
    assert_eq!(list.records[0].vsize(), Some(1394));
    assert_eq!(list.records[1].uid, 25017);
    assert_eq!(list.records[1].vsize(), Some(2481));
    assert_eq!(list.records[1].file, "1276533073.M242911P3632.kurkku:2,F");
}

#[test]
fn serialize_round_trips_and_keeps_the_guid() {
    let list = valid(DOVECOT_EXAMPLE);
    assert_eq!(serialize(&list), DOVECOT_EXAMPLE);
    let mut fresh = list.clone();
    fresh.header_extra.clear();
    let text = serialize(&fresh);
    let header = text.lines().next().unwrap();
    assert!(header.starts_with("3 V1275660208 N25022 G"), "{header}");
    assert_eq!(header.len(), "3 V1275660208 N25022 G".len() + 32);
}

#[test]
fn reads_version_1() {
    let list = valid("1 123 5\n1 1.a.host:2,S\n4 2.b.host\n");
    assert_eq!((list.uid_validity, list.next_uid), (123, 5));
    assert_eq!(list.records[1].file, "2.b.host");
}

#[test]
fn corruption_is_detected_and_salvages_uidvalidity() {
    let cases = [
        ("", None),
        ("garbage\n", None),
        ("3 N5\n", None),
        ("3 V0 N5\n", None),
        ("3 V7 Nx\n", None),
        ("2 V7 N5\n", None),
        ("3 V7 N5\n2 :a\n1 :b\n", Some(7)), // UIDs not ascending
        ("3 V7 N5\n1 :a\n1 :b\n", Some(7)), // duplicate UID
        ("3 V7 N5\n1 :a:2,S\n2 :a\n", Some(7)), // duplicate base
        ("3 V7 N5\n0 :a\n", Some(7)),
        ("3 V7 N5\n1 a\n", Some(7)), // v3 record without ':'
        ("3 V7 N5\n1 :\n", Some(7)),
        ("3 V7 N5\n1 :.hidden\n", Some(7)),
        ("3 V7 N5\n1 :x/y\n", Some(7)),
        ("3 V7 N5\nx :a\n", Some(7)),
    ];
    for (text, uid_validity) in cases {
        assert_eq!(parse(text), Loaded::Corrupt { uid_validity }, "{text:?}");
    }
}

#[test]
fn records_at_or_above_the_header_next_uid_raise_it() {
    // Dovecot appends records without rewriting the header.
    let list = valid("3 V7 N5\n4 :a\n5 :b\n9 :c\n");
    assert_eq!(list.next_uid, 10);
    assert_eq!(list.records.len(), 3);
    assert_eq!(
        parse("3 V7 N5\n4294967295 :a\n"),
        Loaded::Corrupt {
            uid_validity: Some(7)
        }
    );
}

#[test]
fn append_extends_a_complete_file_only() {
    let dir = tempfile::tempdir().unwrap();
    let rec = |uid: u32, file: &str| Record {
        uid,
        ext: Vec::new(),
        file: file.to_owned(),
    };
    assert!(!append(dir.path(), &[rec(1, "a")]).unwrap(), "missing file");
    let mut list = valid("3 V7 N2 Gabc\n1 W10 :a:2,S\n");
    store(dir.path(), &list).unwrap();
    assert!(append(dir.path(), &[rec(2, "b"), rec(3, "c:2,")]).unwrap());
    list.records.extend([rec(2, "b"), rec(3, "c:2,")]);
    list.next_uid = 4;
    assert_eq!(load(dir.path()).unwrap(), Loaded::Valid(list));
    let text = fs::read_to_string(dir.path().join(FILE)).unwrap();
    assert!(
        text.starts_with("3 V7 N2 Gabc\n"),
        "header left alone: {text}"
    );
    // A torn last line is never extended.
    fs::write(dir.path().join(FILE), "3 V7 N2\n1 :a\n2 :b").unwrap();
    assert!(!append(dir.path(), &[rec(3, "c")]).unwrap());
    assert_eq!(
        fs::read_to_string(dir.path().join(FILE)).unwrap(),
        "3 V7 N2\n1 :a\n2 :b"
    );
}

#[test]
fn store_then_load_and_missing_and_binary_files() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(load(dir.path()).unwrap(), Loaded::Missing);
    let list = valid(DOVECOT_EXAMPLE);
    store(dir.path(), &list).unwrap();
    assert_eq!(load(dir.path()).unwrap(), Loaded::Valid(list));
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, [FILE], "no temporary file left behind");
    fs::write(dir.path().join(FILE), b"3 V1 N2\n1 :\xff\xfe\n").unwrap();
    assert_eq!(
        load(dir.path()).unwrap(),
        Loaded::Corrupt { uid_validity: None }
    );
}

proptest::proptest! {
    #[test]
    fn parse_never_panics(text in "\\PC{0,200}") {
        let _ = parse(&text);
    }

    #[test]
    fn parse_never_panics_on_record_shaped_lines(
        lines in proptest::collection::vec("[0-9]{1,11}( [A-Z][0-9a-z]{0,5}){0,2} :?[0-9a-z.:,=]{0,12}", 0..8)
    ) {
        let text = format!("3 V1 N100\n{}\n", lines.join("\n"));
        if let Loaded::Valid(list) = parse(&text) {
            let again = parse(&serialize(&list));
            let Loaded::Valid(again) = again else { panic!("re-parse failed") };
            proptest::prop_assert_eq!(again.records, list.records);
        }
    }
}
