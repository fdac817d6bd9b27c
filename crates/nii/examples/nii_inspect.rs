//! Simulates one scene, analyses it and prints the findings next to the ground truth:
//! `cargo run --release -p garita-nii --example nii_inspect -- SEED [OUT_DIR]`. With OUT_DIR it also writes the
//! scene and `scene-SEED.findings.json` (for scripts/nii_render.py).

use garita_nii::{
    AnalysisConfig, AttenuationImage, SimConfig, analyze_image, generate_scene, write_scene,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let seed: u64 = args.get(1).map_or(Ok(0), |s| s.parse())?;
    let scene = generate_scene(seed, &SimConfig::default())?;
    let image = AttenuationImage::from_sim(&scene);
    let cfg = AnalysisConfig {
        min_score: 0.0,
        ..AnalysisConfig::default()
    };
    let analysis = analyze_image(&image, &scene.manifest, &cfg)?;
    println!(
        "seed {seed}: {} {} declared {:.0} kg, imaged {:.0} kg, actual {:.0} kg, cargo space {:?}",
        scene.manifest.container_type,
        scene.manifest.items[0].description,
        analysis.declared_mass_kg,
        analysis.imaged_mass_kg,
        scene.truth.actual_cargo_mass_kg,
        analysis.cargo_space
    );
    println!("  truth cargo space {:?}", scene.truth.cargo_space);
    for c in &scene.truth.concealments {
        println!("  TRUTH {:?} {:?} {}", c.kind, c.region, c.description);
    }
    for f in analysis.findings.iter().filter(|f| f.score >= 0.3) {
        println!("  {:.2} {:?} {:?} {}", f.score, f.kind, f.region, f.reason);
    }
    if let Some(dir) = args.get(2) {
        let dir = std::path::Path::new(dir);
        write_scene(&scene, dir)?;
        let path = dir.join(format!("scene-{seed:06}.findings.json"));
        std::fs::write(path, serde_json::to_string_pretty(&analysis.findings)?)?;
    }
    Ok(())
}
