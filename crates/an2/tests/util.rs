//! Shared helpers: where the reference transactions live and how to load them.

use std::path::PathBuf;

/// `../shared/data/ansi-nist` beside the repository (the NIST reference transactions).
pub fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ansi-nist")
}

/// Every `.an2` reference file, sorted by name, with its bytes.
pub fn reference_files() -> Vec<(String, Vec<u8>)> {
    let dir = reference_dir();
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "an2"))
        .map(|path| {
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        30,
        "expected the 30 NIST reference transactions in {}",
        dir.display()
    );
    files
}

/// One reference file's bytes.
pub fn reference(name: &str) -> Vec<u8> {
    std::fs::read(reference_dir().join(name)).unwrap()
}

/// Separators (Annex B).
pub const FS: u8 = 0x1C;
pub const GS: u8 = 0x1D;
pub const RS: u8 = 0x1E;
pub const US: u8 = 0x1F;

/// An independent encoder for crafted inputs: a tagged record from `(label, value)` pairs written as given (so tests
/// control tag spelling), with `T.001` computed unless `length` overrides it.
pub fn tagged(record_type: u8, fields: &[(&str, &[u8])], length: Option<usize>) -> Vec<u8> {
    let mut body = Vec::new();
    for (label, value) in fields {
        body.push(GS);
        body.extend_from_slice(label.as_bytes());
        body.push(b':');
        body.extend_from_slice(value);
    }
    body.push(FS);
    let prefix = format!("{record_type}.001:");
    let mut total = prefix.len() + body.len() + 1;
    while prefix.len() + body.len() + total.to_string().len() != total {
        total += 1;
    }
    let mut out = prefix.into_bytes();
    out.extend_from_slice(length.unwrap_or(total).to_string().as_bytes());
    out.extend_from_slice(&body);
    out
}

/// A Type-3..6 record with the 18-byte header.
pub fn fixed(
    idc: u8,
    imp: u8,
    fgp: [u8; 6],
    isr: u8,
    hll: u16,
    vll: u16,
    gca: u8,
    data: &[u8],
    length: Option<u32>,
) -> Vec<u8> {
    let total = length.unwrap_or(u32::try_from(18 + data.len()).unwrap());
    let mut out = total.to_be_bytes().to_vec();
    out.push(idc);
    out.push(imp);
    out.extend_from_slice(&fgp);
    out.push(isr);
    out.extend_from_slice(&hll.to_be_bytes());
    out.extend_from_slice(&vll.to_be_bytes());
    out.push(gca);
    out.extend_from_slice(data);
    out
}

/// The pieces of the small crafted transaction used by the bad-input table: Type-1, Type-2, Type-14 (IDC 1), Type-4
/// (IDC 2, uncompressed 4×3).
pub struct Crafted {
    pub type1: Vec<u8>,
    pub type2: Vec<u8>,
    pub type14: Vec<u8>,
    pub type4: Vec<u8>,
}

pub const TYPE14_IMAGE: &[u8] = &[0u8; 12];
pub const TYPE4_IMAGE: &[u8] = &[7u8; 12];

impl Crafted {
    pub fn type1_fields(cnt: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("1.002", b"0502".to_vec()),
            ("1.003", cnt.to_vec()),
            ("1.004", b"CAR".to_vec()),
            ("1.005", b"20260102".to_vec()),
            ("1.007", b"DAI000000".to_vec()),
            ("1.008", b"ORI000000".to_vec()),
            ("1.009", b"TCN0001".to_vec()),
            ("1.011", b"19.69".to_vec()),
            ("1.012", b"19.69".to_vec()),
        ]
    }

    pub fn default_cnt() -> Vec<u8> {
        let mut cnt = Vec::new();
        for (index, (a, b)) in [("1", "3"), ("2", "00"), ("14", "01"), ("4", "02")]
            .iter()
            .enumerate()
        {
            if index > 0 {
                cnt.push(RS);
            }
            cnt.extend_from_slice(a.as_bytes());
            cnt.push(US);
            cnt.extend_from_slice(b.as_bytes());
        }
        cnt
    }

    pub fn type14_fields() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("14.002", b"01".to_vec()),
            ("14.003", b"1".to_vec()),
            ("14.004", b"ORI000000".to_vec()),
            ("14.005", b"20260102".to_vec()),
            ("14.006", b"4".to_vec()),
            ("14.007", b"3".to_vec()),
            ("14.008", b"1".to_vec()),
            ("14.009", b"500".to_vec()),
            ("14.010", b"500".to_vec()),
            ("14.011", b"NONE".to_vec()),
            ("14.012", b"8".to_vec()),
            ("14.013", b"2".to_vec()),
            ("14.999", TYPE14_IMAGE.to_vec()),
        ]
    }

    pub fn new() -> Self {
        Self::with(
            Self::type1_fields(&Self::default_cnt()),
            vec![("2.002", b"00".to_vec()), ("2.003", b"note".to_vec())],
            Self::type14_fields(),
        )
    }

    pub fn with(
        type1: Vec<(&'static str, Vec<u8>)>,
        type2: Vec<(&'static str, Vec<u8>)>,
        type14: Vec<(&'static str, Vec<u8>)>,
    ) -> Self {
        let as_refs = |fields: &[(&'static str, Vec<u8>)]| -> Vec<u8> {
            let pairs: Vec<(&str, &[u8])> = fields
                .iter()
                .map(|(label, value)| (*label, value.as_slice()))
                .collect();
            let record_type: u8 = fields[0].0.split('.').next().unwrap().parse().unwrap();
            tagged(record_type, &pairs, None)
        };
        Self {
            type1: as_refs(&type1),
            type2: as_refs(&type2),
            type14: as_refs(&type14),
            type4: fixed(
                2,
                1,
                [2, 255, 255, 255, 255, 255],
                0,
                4,
                3,
                0,
                TYPE4_IMAGE,
                None,
            ),
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        [
            self.type1.as_slice(),
            &self.type2,
            &self.type14,
            &self.type4,
        ]
        .concat()
    }

    pub fn type2_offset(&self) -> usize {
        self.type1.len()
    }

    pub fn type14_offset(&self) -> usize {
        self.type1.len() + self.type2.len()
    }

    pub fn type4_offset(&self) -> usize {
        self.type14_offset() + self.type14.len()
    }
}

/// Offset of the first occurrence of `needle` in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
        .unwrap_or_else(|| panic!("{needle:?} not found"))
}
