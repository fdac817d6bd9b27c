//! Simulates scenes and writes them: `cargo run --release -p garita-nii --example nii_simulate -- SEED COUNT DIR`.
//! The lead's `garita cargo simulate` calls the same [`garita_nii::simulate`].

use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let seed: u64 = args.get(1).map_or(Ok(0), |s| s.parse())?;
    let count: u32 = args.get(2).map_or(Ok(3), |s| s.parse())?;
    let dir = PathBuf::from(args.get(3).map_or("target/nii-sim", String::as_str));
    let start = Instant::now();
    let files = garita_nii::simulate(seed, count, &dir)?;
    let secs = start.elapsed().as_secs_f64();
    for f in &files {
        println!("{}", f.high.display());
    }
    println!(
        "{count} scenes in {secs:.2} s ({:.2} s/scene)",
        secs / f64::from(count.max(1))
    );
    Ok(())
}
