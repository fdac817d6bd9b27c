//! `cargo bench -p garita-nii --bench cargo [-- IMAGES]`: decode + analysis time per 2000x1000 dual-energy image,
//! one core. The lead's `garita bench cargo` calls the same [`garita_nii::bench_cargo`].

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let images: u32 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map_or(Ok(5), |s| s.parse())?;
    let r = garita_nii::bench_cargo(images)?;
    println!(
        "{} images {}x{}: decode {:.3} s, analyse {:.3} s, total {:.3} s per image (target <= 0.5 s)",
        r.images, r.columns, r.rows, r.decode_s, r.analyze_s, r.total_s
    );
    Ok(())
}
