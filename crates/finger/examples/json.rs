//! Prints a template as JSON (development aid): `cargo run --release --example json -- FILE`.
fn main() {
    let path = std::env::args().nth(1).unwrap_or_default();
    let bytes = std::fs::read(&path).unwrap_or_default();
    match garita_finger::load_image(&bytes, None).and_then(|img| garita_finger::extract(&img)) {
        Ok(t) => println!("{}", serde_json::to_string(&t).unwrap_or_default()),
        Err(e) => eprintln!("{path}: {e}"),
    }
}
