//! `calm`: one binary for a complete, legible mail service.

fn main() {
    println!("calm: nothing implemented yet");
}
