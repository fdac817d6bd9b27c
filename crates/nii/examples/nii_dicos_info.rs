//! Prints `dicos_info` of each file as JSON, as `garita cargo dicos-info FILE --json` should:
//! `cargo run -p garita-nii --example nii_dicos_info -- FILE...`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path)?;
        match garita_nii::dicos_info(&bytes) {
            Ok(info) => println!("{}", serde_json::to_string_pretty(&info)?),
            Err(e) => eprintln!("{path}: {e}"),
        }
    }
    Ok(())
}
