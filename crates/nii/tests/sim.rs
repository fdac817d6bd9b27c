//! Simulator determinism and file output, and the analysis on a few small simulated scenes.

use garita_nii::{
    AttenuationImage, ConcealmentKind, Energy, FindingKind, GroundTruth, Manifest, analyze_image,
    dicos_info, finding_matches, generate_scene, pair_dual_energy, read_json, read_scan,
    simulate_with,
};

use crate::util::{small, small_cfg};

#[test]
fn same_seed_same_scene_other_seed_other_scene() {
    let a = generate_scene(7, &small()).unwrap();
    let b = generate_scene(7, &small()).unwrap();
    let c = generate_scene(8, &small()).unwrap();
    assert_eq!(a.high, b.high);
    assert_eq!(a.low, b.low);
    assert_eq!(a.manifest, b.manifest);
    assert_eq!(a.truth, b.truth);
    assert_ne!(a.high, c.high);
    // Physics sanity: the low-energy beam is attenuated more than the high-energy one almost everywhere.
    let dense: Vec<(u16, u16)> = a
        .high
        .iter()
        .zip(&a.low)
        .filter(|(h, _)| **h > 2000)
        .map(|(h, l)| (*h, *l))
        .collect();
    let more = dense.iter().filter(|(h, l)| l > h).count();
    assert!(dense.len() > 1000 && more as f64 > 0.95 * dense.len() as f64);
}

#[test]
fn simulate_writes_readable_dicos_manifest_and_truth() {
    let dir = tempfile::tempdir().unwrap();
    let files = simulate_with(3, 2, dir.path(), &small()).unwrap();
    assert_eq!(files.len(), 2);
    for f in &files {
        let high = read_scan(&std::fs::read(&f.high).unwrap()).unwrap();
        let low = read_scan(&std::fs::read(&f.low).unwrap()).unwrap();
        assert_eq!(high.energy, Energy::High);
        assert_eq!((high.columns, high.rows), (1000, 500));
        assert!(high.pixel_spacing_mm.is_some());
        let info = dicos_info(&std::fs::read(&f.low).unwrap()).unwrap();
        assert_eq!(info.modality, "DX");
        assert_eq!(info.study_instance_uid, high.info.study_instance_uid);
        let pair = pair_dual_energy(low, high).unwrap();
        assert_eq!(pair.high.energy, Energy::High);
        let manifest: Manifest = read_json(&f.manifest).unwrap();
        let truth: GroundTruth = read_json(&f.truth).unwrap();
        assert_eq!(
            info.ooi_id.as_deref(),
            Some(manifest.container_number.as_str())
        );
        assert!(manifest.declared_gross_mass_kg > 0.0);
        assert_eq!(truth.columns, 1000);
    }
}

fn region_findings(seed: u64) -> (Vec<garita_nii::Finding>, GroundTruth) {
    let scene = generate_scene(seed, &small()).unwrap();
    let image = AttenuationImage::from_sim(&scene);
    let analysis = analyze_image(&image, &scene.manifest, &small_cfg()).unwrap();
    let findings = analysis
        .findings
        .into_iter()
        .filter(|f| f.kind != FindingKind::MassDiscrepancy)
        .collect();
    (findings, scene.truth)
}

#[test]
fn analysis_finds_shielded_drugs_in_machinery_and_drugs_in_produce() {
    for (seed, kind) in [
        (1, ConcealmentKind::ShieldedDrugsInMachinery),
        (3, ConcealmentKind::DrugsInProduce),
    ] {
        let (findings, truth) = region_findings(seed);
        let planted = &truth.concealments[0];
        assert_eq!(planted.kind, kind);
        let mx = (100.0 / truth.pitch_x_mm) as u32;
        let my = (100.0 / truth.pitch_y_mm) as u32;
        let hit = findings
            .iter()
            .find(|f| finding_matches(&f.region, &planted.region, mx, my));
        let hit = hit.unwrap_or_else(|| panic!("seed {seed}: {kind:?} not found in {findings:?}"));
        assert!(!hit.reason.is_empty());
        // Nothing else is flagged in these scenes (a region may come out in several pieces).
        assert!(
            findings
                .iter()
                .all(|f| finding_matches(&f.region, &planted.region, mx, my)),
            "seed {seed}: {findings:?}"
        );
    }
}

#[test]
fn clean_scene_raises_no_region_finding() {
    // Seed 0 is ferrous scrap with nothing hidden: dense, irregular, and still no alarm.
    let (findings, truth) = region_findings(0);
    assert!(truth.concealments.is_empty());
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn false_floor_under_organic_goods_is_found_by_its_continuous_deck() {
    // Seed 16: cigarette cartons under a raised floor beneath bananas; the compartment itself is lighter than
    // the fruit, so only the deck gives it away.
    let (findings, truth) = region_findings(16);
    let planted = &truth.concealments[0];
    assert_eq!(planted.kind, ConcealmentKind::FalseFloor);
    let mx = (100.0 / truth.pitch_x_mm) as u32;
    let my = (100.0 / truth.pitch_y_mm) as u32;
    assert!(
        findings.iter().any(|f| f.kind == FindingKind::FalseFloor
            && finding_matches(&f.region, &planted.region, mx, my)),
        "{findings:?}"
    );
}
