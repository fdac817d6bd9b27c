//! DICOS reading against values confirmed independently with pydicom (scripts/nii_pydicom_check.py), error
//! handling on damaged input, and write/read round trips.

use garita_nii::{
    DxImage, Energy, NiiError, ScanIdentity, TdrReport, ThreatItem, dicos_info, pair_dual_energy,
    read_scan, write_dx, write_tdr,
};
use serde_json::Value;

use crate::util::dicos_dir;

fn expected() -> Vec<Value> {
    let text = include_str!("data/dicos_expected.json");
    serde_json::from_str::<Vec<Value>>(text).unwrap()
}

fn opt_u64(v: &Value) -> Option<u64> {
    v.as_u64()
}

#[test]
fn every_shared_file_matches_pydicom() {
    let Some(dir) = dicos_dir() else { return };
    let table = expected();
    assert_eq!(table.len(), 23, "expected table covers all 23 shared files");
    for row in &table {
        let name = row["file"].as_str().unwrap();
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let info = dicos_info(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            info.sop_class_uid,
            row["sop_class_uid"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            info.sop_instance_uid,
            row["sop_instance_uid"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(info.modality, row["modality"].as_str().unwrap(), "{name}");
        assert_eq!(
            info.transfer_syntax_uid,
            row["transfer_syntax_uid"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            info.rows.map(u64::from),
            opt_u64(&row["rows"]),
            "{name} rows"
        );
        assert_eq!(
            info.columns.map(u64::from),
            opt_u64(&row["columns"]),
            "{name} columns"
        );
        assert_eq!(
            info.frames.map(u64::from),
            opt_u64(&row["frames"]),
            "{name} frames"
        );
        assert_eq!(
            info.bits_allocated.map(u64::from),
            opt_u64(&row["bits_allocated"]),
            "{name} bits_allocated"
        );
        if let Some(sum) = row.get("pixel_sum").and_then(Value::as_u64) {
            let scan = read_scan(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            let total: u64 = scan.pixels.iter().map(|&p| u64::from(p)).sum();
            assert_eq!(total, sum, "{name} pixel sum");
            assert_eq!(
                u64::from(*scan.pixels.iter().min().unwrap()),
                row["pixel_min"].as_u64().unwrap(),
                "{name} min"
            );
            assert_eq!(
                u64::from(*scan.pixels.iter().max().unwrap()),
                row["pixel_max"].as_u64().unwrap(),
                "{name} max"
            );
            let cols = scan.columns as usize;
            let first = scan.frame(0).unwrap();
            let first_row: u64 = first[..cols].iter().map(|&p| u64::from(p)).sum();
            assert_eq!(
                first_row,
                row["first_row_sum"].as_u64().unwrap(),
                "{name} first row"
            );
            let center = first[(scan.rows as usize / 2) * cols + cols / 2];
            assert_eq!(
                u64::from(center),
                row["center_pixel"].as_u64().unwrap(),
                "{name} center"
            );
        }
        if row["modality"] == "TDR" {
            let threats = info.threats.as_ref().unwrap();
            let want = row["threats"].as_array().unwrap();
            assert_eq!(threats.len(), want.len(), "{name} threat count");
            assert_eq!(
                info.alarm_decision.as_deref(),
                row["alarm_decision"].as_str(),
                "{name}"
            );
            for (got, want) in threats.iter().zip(want) {
                assert_eq!(u64::from(got.id), want["id"].as_u64().unwrap(), "{name}");
                let floats = |v: &Value| -> Option<Vec<f32>> {
                    v.as_array()
                        .map(|a| a.iter().map(|x| x.as_f64().unwrap() as f32).collect())
                };
                assert_eq!(got.roi_base, floats(&want["roi_base"]), "{name} base");
                assert_eq!(
                    got.roi_extents,
                    floats(&want["roi_extents"]),
                    "{name} extents"
                );
                assert_eq!(
                    got.bounding_polygon,
                    floats(&want["bounding_polygon"]),
                    "{name} polygon"
                );
                assert_eq!(got.category.as_deref(), want["category"].as_str(), "{name}");
                assert_eq!(
                    got.category_description.as_deref(),
                    want["category_description"].as_str(),
                    "{name}"
                );
                assert_eq!(
                    got.assessment_flag.as_deref(),
                    want["assessment_flag"].as_str(),
                    "{name}"
                );
                assert_eq!(
                    got.probability.map(f64::from),
                    want["probability"].as_f64(),
                    "{name}"
                );
                let refs: Vec<&str> = want["referenced_instance_uids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                assert_eq!(got.referenced_instance_uids, refs, "{name} refs");
            }
        } else {
            assert!(info.threats.is_none(), "{name}");
        }
    }
}

#[test]
fn dual_energy_ct_pairs_by_image_type() {
    let Some(dir) = dicos_dir() else { return };
    let high = read_scan(
        &std::fs::read(dir.join("V03_Data__DualEnergyCTwithTDR__CT_High_Energy.dcs")).unwrap(),
    )
    .unwrap();
    let low = read_scan(
        &std::fs::read(dir.join("V03_Data__DualEnergyCTwithTDR__CT_Low_Energy.dcs")).unwrap(),
    )
    .unwrap();
    assert_eq!(high.energy, Energy::High);
    assert_eq!(low.energy, Energy::Low);
    let pair = pair_dual_energy(low.clone(), high.clone()).unwrap();
    assert_eq!(pair.high.info.sop_instance_uid, high.info.sop_instance_uid);
    assert!(pair_dual_energy(high.clone(), high).is_err());
}

#[test]
fn truncated_files_are_errors_not_panics() {
    let Some(dir) = dicos_dir() else { return };
    for name in [
        "V03_Data__CTwithTDR__CT.dcs",
        "V03_Data__DX_01_ExplicitLittlEndian__DX_01_ExplicitLittlEndian.dcs",
        "V03_Data__AIT2D_01_ImplicitLittlEndian__AIT2D_01_ImplicitLittlEndian.dcs",
        "V03_Data__DXwithTDR__dx.dcs",
        "V03_Data__TDR_01_ExplicitLittlEndian__TDR_01_ExplicitLittlEndian.dcs",
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        for cut in [
            10,
            131,
            200,
            bytes.len() / 2,
            bytes.len() * 9 / 10,
            bytes.len() - 100,
        ] {
            let res = read_scan(&bytes[..cut]);
            assert!(res.is_err(), "{name} cut at {cut} must fail");
        }
        // Sampled prefixes over the whole file: images lose pixel data, the TDR loses its threat sequence.
        let is_tdr = name.contains("TDR_01");
        for cut in (0..bytes.len() - 100).step_by(bytes.len() / 97 + 1) {
            if is_tdr {
                assert!(dicos_info(&bytes[..cut]).is_err(), "{name} cut {cut}");
            } else {
                assert!(read_scan(&bytes[..cut]).is_err(), "{name} cut {cut}");
            }
        }
    }
}

#[test]
fn bad_inputs_give_clear_errors() {
    assert!(matches!(
        dicos_info(b"hello"),
        Err(NiiError::NotDicos { .. })
    ));
    assert!(matches!(
        dicos_info(&[0u8; 400]),
        Err(NiiError::NotDicos { .. })
    ));
    let Some(dir) = dicos_dir() else { return };
    let tdr = std::fs::read(dir.join("V03_Data__CTwithTDR__TDR.dcs")).unwrap();
    let err = read_scan(&tdr).unwrap_err();
    assert!(matches!(err, NiiError::WrongModality { .. }), "{err}");
    assert!(err.to_string().contains("TDR"), "{err}");
}

fn identity() -> ScanIdentity {
    ScanIdentity {
        ooi_id: "MSCU1234565".into(),
        study_instance_uid: "2.25.1".into(),
        series_instance_uid: "2.25.2".into(),
        date: "20260101".into(),
        time: "120000".into(),
    }
}

#[test]
fn huge_declared_dimensions_are_rejected_before_allocation() {
    let pixels = vec![7u16; 4];
    let mut bytes = write_dx(
        &identity(),
        &DxImage {
            sop_instance_uid: "2.25.3".into(),
            energy: Energy::High,
            kvp: 6000.0,
            rows: 2,
            columns: 2,
            rescale_slope: 1.0,
            pixel_spacing_mm: None,
            pixels: &pixels,
        },
    )
    .unwrap();
    // Patch Rows and Columns (0028,0010/0011, explicit VR US, length 2) to 65535.
    for element in [0x10u8, 0x11] {
        let pattern = [0x28, 0x00, element, 0x00, b'U', b'S', 2, 0];
        let pos = bytes.windows(8).position(|w| w == pattern).unwrap();
        bytes[pos + 8] = 0xFF;
        bytes[pos + 9] = 0xFF;
    }
    let err = read_scan(&bytes).unwrap_err();
    assert!(
        matches!(
            err,
            NiiError::ImageTooLarge {
                rows: 65535,
                columns: 65535,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn dx_and_tdr_round_trip() {
    let pixels: Vec<u16> = (0..12u16).map(|i| i * 1000).collect();
    let id = identity();
    let dx = write_dx(
        &id,
        &DxImage {
            sop_instance_uid: "2.25.10".into(),
            energy: Energy::Low,
            kvp: 4000.0,
            rows: 3,
            columns: 4,
            rescale_slope: 0.00025,
            pixel_spacing_mm: Some([3.0, 6.5]),
            pixels: &pixels,
        },
    )
    .unwrap();
    let scan = read_scan(&dx).unwrap();
    assert_eq!((scan.rows, scan.columns, scan.frames), (3, 4, 1));
    assert_eq!(scan.pixels, pixels);
    assert_eq!(scan.energy, Energy::Low);
    assert!((scan.rescale_slope - 0.00025).abs() < 1e-12);
    assert_eq!(scan.pixel_spacing_mm, Some([3.0, 6.5]));
    assert_eq!(scan.info.ooi_id.as_deref(), Some("MSCU1234565"));
    assert_eq!(scan.info.modality, "DX");

    let threat = ThreatItem {
        id: 0,
        roi_base: Some(vec![1.0, 2.0, 0.0]),
        roi_extents: Some(vec![3.0, 1.0, 1.0]),
        bounding_polygon: Some(vec![1.0, 2.0, 4.0, 3.0]),
        referenced_instance_uids: vec!["2.25.10".into()],
        category: Some("CONTRABAND".into()),
        category_description: Some("shielded organic".into()),
        assessment_flag: Some("THREAT".into()),
        probability: Some(0.75),
        location_description: Some("rear third".into()),
    };
    let tdr = write_tdr(
        &id,
        &TdrReport {
            sop_instance_uid: "2.25.11".into(),
            referenced: vec![(scan.info.sop_class_uid.clone(), "2.25.10".into())],
            threats: vec![threat.clone()],
            algorithm: ("garita-nii".into(), "0.1".into()),
        },
    )
    .unwrap();
    let info = dicos_info(&tdr).unwrap();
    assert_eq!(info.modality, "TDR");
    assert_eq!(info.alarm_decision.as_deref(), Some("ALARM"));
    assert_eq!(info.referenced_instance_uids, vec!["2.25.10".to_string()]);
    assert_eq!(info.threats.unwrap(), vec![threat]);
}

#[test]
fn corrupted_bytes_never_panic() {
    let Some(dir) = dicos_dir() else { return };
    // A fixed xorshift stream: reproducible corruption without a dependency.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for name in [
        "V03_Data__DXwithTDR__dx.dcs",
        "V03_Data__CTwithTDR__TDR.dcs",
        "V03_Data__DX_01_ExplicitLittlEndian__DX_01_ExplicitLittlEndian.dcs",
        "V03_Data__AIT2DwithTDR__ait2d.dcs",
    ] {
        let original = std::fs::read(dir.join(name)).unwrap();
        let mut n_err = 0;
        for _ in 0..60 {
            let mut bytes = original.clone();
            for _ in 0..1 + next() % 8 {
                let pos = (next() % bytes.len() as u64) as usize;
                bytes[pos] = next() as u8;
            }
            // Either result is acceptable; a panic fails the test.
            n_err += usize::from(read_scan(&bytes).is_err());
            let _ = dicos_info(&bytes);
        }
        assert!(n_err > 0, "{name}: corruption never detected");
    }
}
