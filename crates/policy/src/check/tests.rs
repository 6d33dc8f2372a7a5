use super::*;

#[test]
fn placeholder_names() {
    assert!(CHECK_NAMES.contains(&"client_in"));
}
