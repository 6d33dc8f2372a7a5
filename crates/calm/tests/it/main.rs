//! The one integration-test binary: starts calm on loopback and drives it with real clients.

#[test]
fn binary_runs() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_calm")).output().unwrap();
    assert!(out.status.success());
}
