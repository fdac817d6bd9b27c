//! Crafted bad inputs, each with the one precise error it must give: kind, record, field and byte offset.

use garita_an2::{An2ErrorKind, Limits, Tag, Transaction};

use crate::util::{Crafted, FS, RS, TYPE4_IMAGE, US, find, fixed, tagged};

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    limits: Limits,
    kind: An2ErrorKind,
    record: Option<(u8, usize)>,
    field: Option<Tag>,
    offset: usize,
}

fn case(
    name: &'static str,
    bytes: Vec<u8>,
    kind: An2ErrorKind,
    record: Option<(u8, usize)>,
    field: Option<Tag>,
    offset: usize,
) -> Case {
    Case {
        name,
        bytes,
        limits: Limits::default(),
        kind,
        record,
        field,
        offset,
    }
}

fn replace_field(fields: &mut [(&'static str, Vec<u8>)], label: &str, value: &[u8]) {
    let field = fields
        .iter_mut()
        .find(|(existing, _)| *existing == label)
        .unwrap();
    field.1 = value.to_vec();
}

fn cnt(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (index, (a, b)) in entries.iter().enumerate() {
        if index > 0 {
            out.push(RS);
        }
        out.extend_from_slice(a.as_bytes());
        out.push(US);
        out.extend_from_slice(b.as_bytes());
    }
    out
}

fn type2_default() -> Vec<(&'static str, Vec<u8>)> {
    vec![("2.002", b"00".to_vec()), ("2.003", b"note".to_vec())]
}

#[allow(clippy::too_many_lines, clippy::vec_init_then_push)] // One table, one case per violation, built in order.
fn cases() -> Vec<Case> {
    let base = Crafted::new();
    let good = base.bytes();
    let t2 = base.type2_offset();
    let t14 = base.type14_offset();
    let t4 = base.type4_offset();
    let mut cases = Vec::new();

    cases.push(case(
        "empty input",
        Vec::new(),
        An2ErrorKind::Truncated {
            expected: "a Type-1 record",
        },
        None,
        None,
        0,
    ));
    cases.push(case(
        "not a transaction",
        b"GIF89a....".to_vec(),
        An2ErrorKind::BadTag {
            found: "GIF89a....".into(),
        },
        Some((1, 0)),
        None,
        0,
    ));
    cases.push(case(
        "truncated inside the Type-1 record",
        good[..50].to_vec(),
        An2ErrorKind::LengthBeyondEnd {
            declared: base.type1.len() as u64,
            available: 50,
        },
        Some((1, 0)),
        Some(Tag::new(1, 1)),
        6,
    ));
    cases.push(case(
        "truncated inside the last binary record",
        good[..good.len() - 5].to_vec(),
        An2ErrorKind::LengthBeyondEnd {
            declared: 30,
            available: 25,
        },
        Some((4, 3)),
        None,
        t4,
    ));
    cases.push(case(
        "truncated between records",
        good[..t4].to_vec(),
        An2ErrorKind::Truncated {
            expected: "a record listed in field 1.003",
        },
        Some((4, 3)),
        None,
        t4,
    ));

    // Type-2 length one byte too long: the byte at its declared end is the next record's first byte.
    let long = tagged(
        2,
        &[("2.002", b"00"), ("2.003", b"note")],
        Some(base.type2.len() + 1),
    );
    let bytes = [base.type1.as_slice(), &long, &base.type14, &base.type4].concat();
    cases.push(case(
        "record length one too long",
        bytes,
        An2ErrorKind::RecordNotTerminated { found: b'1' },
        Some((2, 1)),
        None,
        t2 + base.type2.len(),
    ));
    let short = tagged(
        2,
        &[("2.002", b"00"), ("2.003", b"note")],
        Some(base.type2.len() - 1),
    );
    let bytes = [base.type1.as_slice(), &short, &base.type14, &base.type4].concat();
    cases.push(case(
        "record length one too short",
        bytes,
        An2ErrorKind::RecordNotTerminated { found: b'e' },
        Some((2, 1)),
        None,
        t2 + base.type2.len() - 2,
    ));
    // Type-2 length covering the Type-14 record too: its own FS now sits inside it. The three-digit length makes the
    // Type-2 record one byte longer, so measure it with a three-digit placeholder first.
    let fields: &[(&str, &[u8])] = &[("2.002", b"00"), ("2.003", b"note")];
    let own_len = tagged(2, fields, Some(999)).len();
    let declared = own_len + base.type14.len();
    let spanning = tagged(2, fields, Some(declared));
    let bytes = [base.type1.as_slice(), &spanning, &base.type14, &base.type4].concat();
    cases.push(case(
        "record length covering the next record",
        bytes,
        An2ErrorKind::EarlyRecordEnd {
            declared: declared as u64,
        },
        Some((2, 1)),
        Some(Tag::new(2, 3)),
        t2 + own_len - 1,
    ));
    let mut bytes = good.clone();
    let len_at = t2 + "2.001:".len();
    bytes[len_at + 1] = b'x';
    cases.push(case(
        "record length not numeric",
        bytes,
        An2ErrorKind::BadLength {
            found: format!("{}x", char::from(good[len_at])),
        },
        Some((2, 1)),
        Some(Tag::new(2, 1)),
        len_at,
    ));

    // 1.003 CNT.
    let cnt_value_offset = find(&good, b"1.003:") + 6;
    let with_cnt = |value: Vec<u8>| {
        let mut type1 = Crafted::type1_fields(&value);
        type1.truncate(type1.len());
        Crafted::with(type1, type2_default(), Crafted::type14_fields()).bytes()
    };
    cases.push(case(
        "CNT count disagrees with the records listed",
        with_cnt(cnt(&[("1", "4"), ("2", "00"), ("14", "01"), ("4", "02")])),
        An2ErrorKind::CntCountMismatch {
            declared: 4,
            listed: 3,
        },
        Some((1, 0)),
        Some(Tag::new(1, 3)),
        cnt_value_offset,
    ));
    cases.push(case(
        "CNT first subfield is not 1",
        with_cnt(cnt(&[("2", "3"), ("2", "00"), ("14", "01"), ("4", "02")])),
        An2ErrorKind::BadCnt {
            reason: "the first subfield must be 1 followed by the record count",
        },
        Some((1, 0)),
        Some(Tag::new(1, 3)),
        cnt_value_offset,
    ));
    cases.push(case(
        "CNT lists a second Type-1",
        with_cnt(cnt(&[("1", "3"), ("1", "00"), ("14", "01"), ("4", "02")])),
        An2ErrorKind::BadCntRecordType { found: 1 },
        Some((1, 0)),
        Some(Tag::new(1, 3)),
        cnt_value_offset,
    ));
    cases.push(case(
        "CNT lists type 13 where a Type-14 record stands",
        with_cnt(cnt(&[("1", "3"), ("2", "00"), ("13", "01"), ("4", "02")])),
        An2ErrorKind::RecordTypeMismatch {
            expected: 13,
            found: 14,
        },
        Some((13, 2)),
        None,
        t14,
    ));
    let wrong_type = Crafted::with(
        Crafted::type1_fields(&cnt(&[("1", "3"), ("2", "00"), ("14", "01"), ("14", "02")])),
        type2_default(),
        Crafted::type14_fields(),
    );
    cases.push(case(
        "CNT lists a tagged type where a binary record stands",
        wrong_type.bytes(),
        An2ErrorKind::BadTag {
            found: "\\x00\\x00\\x00\\x1E\\x02\\x01\\x02\\xFF\\xFF\\xFF\\xFF\\xFF".into(),
        },
        Some((14, 3)),
        None,
        wrong_type.type4_offset(),
    ));
    cases.push(case(
        "CNT IDC differs from the record's",
        with_cnt(cnt(&[("1", "3"), ("2", "00"), ("14", "05"), ("4", "02")])),
        An2ErrorKind::IdcMismatch {
            expected: 5,
            found: 1,
        },
        Some((14, 2)),
        None,
        t14 + find(&base.type14, b"14.002:") + 7,
    ));
    cases.push(case(
        "CNT IDC differs from a binary record's",
        with_cnt(cnt(&[("1", "3"), ("2", "00"), ("14", "01"), ("4", "07")])),
        An2ErrorKind::IdcMismatch {
            expected: 7,
            found: 2,
        },
        Some((4, 3)),
        None,
        t4 + 4,
    ));
    let short_cnt = with_cnt(cnt(&[("1", "2"), ("2", "00"), ("14", "01")]));
    let crafted_short = Crafted::with(
        Crafted::type1_fields(&cnt(&[("1", "2"), ("2", "00"), ("14", "01")])),
        type2_default(),
        Crafted::type14_fields(),
    );
    cases.push(case(
        "a record not listed in CNT",
        short_cnt,
        An2ErrorKind::TrailingBytes {
            count: base.type4.len(),
        },
        None,
        None,
        crafted_short.type4_offset(),
    ));

    // Mandatory fields.
    let mut type1 = Crafted::type1_fields(&Crafted::default_cnt());
    type1.retain(|(label, _)| *label != "1.005");
    cases.push(case(
        "missing 1.005 DAT",
        Crafted::with(type1, type2_default(), Crafted::type14_fields()).bytes(),
        An2ErrorKind::MissingField {
            tag: Tag::new(1, 5),
        },
        Some((1, 0)),
        Some(Tag::new(1, 5)),
        0,
    ));
    let mut type1 = Crafted::type1_fields(&Crafted::default_cnt());
    type1.retain(|(label, _)| *label != "1.003");
    cases.push(case(
        "missing 1.003 CNT",
        Crafted::with(type1, type2_default(), Crafted::type14_fields()).bytes(),
        An2ErrorKind::MissingField {
            tag: Tag::new(1, 3),
        },
        Some((1, 0)),
        Some(Tag::new(1, 3)),
        0,
    ));
    let mut type14 = Crafted::type14_fields();
    type14.retain(|(label, _)| *label != "14.013");
    let crafted = Crafted::with(
        Crafted::type1_fields(&Crafted::default_cnt()),
        type2_default(),
        type14,
    );
    cases.push(case(
        "missing 14.013 FGP",
        crafted.bytes(),
        An2ErrorKind::MissingField {
            tag: Tag::new(14, 13),
        },
        Some((14, 2)),
        Some(Tag::new(14, 13)),
        crafted.type14_offset(),
    ));
    let mut type14 = Crafted::type14_fields();
    type14.retain(|(label, _)| *label != "14.999");
    let crafted = Crafted::with(
        Crafted::type1_fields(&Crafted::default_cnt()),
        type2_default(),
        type14,
    );
    cases.push(case(
        "missing 14.999 image data",
        crafted.bytes(),
        An2ErrorKind::MissingField {
            tag: Tag::new(14, 999),
        },
        Some((14, 2)),
        Some(Tag::new(14, 999)),
        crafted.type14_offset(),
    ));
    let mut type14 = Crafted::type14_fields();
    type14.swap(0, 1);
    let crafted = Crafted::with(
        Crafted::type1_fields(&Crafted::default_cnt()),
        type2_default(),
        type14,
    );
    cases.push(case(
        "IDC not the second field",
        crafted.bytes(),
        An2ErrorKind::IdcFieldNotSecond {
            found: Tag::new(14, 3),
        },
        Some((14, 2)),
        None,
        crafted.type14_offset() + find(&crafted.type14, b"14.003:"),
    ));

    // Tags.
    let mut type14 = Crafted::type14_fields();
    type14[3].0 = "14.0x5";
    let crafted = Crafted::with(
        Crafted::type1_fields(&Crafted::default_cnt()),
        type2_default(),
        type14,
    );
    cases.push(case(
        "malformed tag",
        crafted.bytes(),
        An2ErrorKind::BadTag {
            found: "14.0x5:20260".into(),
        },
        Some((14, 2)),
        None,
        crafted.type14_offset() + find(&crafted.type14, b"14.0x5"),
    ));
    let mut type14 = Crafted::type14_fields();
    type14[3].0 = "13.005";
    let crafted = Crafted::with(
        Crafted::type1_fields(&Crafted::default_cnt()),
        type2_default(),
        type14,
    );
    cases.push(case(
        "tag of another record type",
        crafted.bytes(),
        An2ErrorKind::RecordTypeMismatch {
            expected: 14,
            found: 13,
        },
        Some((14, 2)),
        None,
        crafted.type14_offset() + find(&crafted.type14, b"13.005"),
    ));
    let mut type14 = Crafted::type14_fields();
    type14[4].0 = "14.005";
    let crafted = Crafted::with(
        Crafted::type1_fields(&Crafted::default_cnt()),
        type2_default(),
        type14,
    );
    let second = crafted.type14_offset() + find(&crafted.type14, b"14.005:4");
    cases.push(case(
        "duplicate field",
        crafted.bytes(),
        An2ErrorKind::DuplicateField,
        Some((14, 2)),
        Some(Tag::new(14, 5)),
        second,
    ));
    let type2 = [b"2.002:00".as_slice(), &[0x1D], b"2.001:5", &[FS]].concat();
    let mut bytes = base.type1.clone();
    bytes.extend_from_slice(&type2);
    cases.push(case(
        "length field not first",
        bytes,
        An2ErrorKind::LengthFieldNotFirst {
            found: Tag::new(2, 2),
        },
        Some((2, 1)),
        None,
        t2,
    ));
    let type2 = tagged(2, &[("2.002", b"00"), ("2.003", b"note\x1D")], None);
    let bytes = [base.type1.as_slice(), &type2, &base.type14, &base.type4].concat();
    cases.push(case(
        "empty field slot before FS",
        bytes,
        An2ErrorKind::BadTag {
            found: String::new(),
        },
        Some((2, 1)),
        None,
        t2 + type2.len() - 1,
    ));

    // Character sets.
    let mut type1 = Crafted::type1_fields(&Crafted::default_cnt());
    replace_field(&mut type1, "1.009", b"TCN\xE9");
    let crafted = Crafted::with(type1, type2_default(), Crafted::type14_fields());
    cases.push(case(
        "non-ASCII byte in Type-1",
        crafted.bytes(),
        An2ErrorKind::NonAscii { byte: 0xE9 },
        Some((1, 0)),
        Some(Tag::new(1, 9)),
        find(&crafted.type1, b"TCN\xE9") + 3,
    ));
    let mut type1 = Crafted::type1_fields(&Crafted::default_cnt());
    replace_field(&mut type1, "1.004", b"C\tR");
    let crafted = Crafted::with(type1, type2_default(), Crafted::type14_fields());
    cases.push(case(
        "control character in Type-1",
        crafted.bytes(),
        An2ErrorKind::ControlCharacter { byte: b'\t' },
        Some((1, 0)),
        Some(Tag::new(1, 4)),
        find(&crafted.type1, b"C\tR") + 1,
    ));
    let crafted = Crafted::with(
        Crafted::type1_fields(&Crafted::default_cnt()),
        vec![
            ("2.002", b"00".to_vec()),
            ("2.003", "café".as_bytes().to_vec()),
        ],
        Crafted::type14_fields(),
    );
    cases.push(case(
        "non-ASCII in Type-2 without 1.015 DCS",
        crafted.bytes(),
        An2ErrorKind::NonAscii { byte: 0xC3 },
        Some((2, 1)),
        Some(Tag::new(2, 3)),
        crafted.type2_offset() + find(&crafted.type2, b"caf") + 3,
    ));
    let mut type1 = Crafted::type1_fields(&Crafted::default_cnt());
    type1.push(("1.015", [b"3".as_slice(), &[US], b"UTF-8"].concat()));
    let crafted = Crafted::with(
        type1,
        vec![("2.002", b"00".to_vec()), ("2.003", b"caf\xE9".to_vec())],
        Crafted::type14_fields(),
    );
    cases.push(case(
        "invalid UTF-8 with DCS 3",
        crafted.bytes(),
        An2ErrorKind::InvalidUtf8,
        Some((2, 1)),
        Some(Tag::new(2, 3)),
        crafted.type2_offset() + find(&crafted.type2, b"caf") + 3,
    ));
    let crafted = Crafted::with(
        Crafted::type1_fields(&Crafted::default_cnt()),
        vec![("2.002", b"00".to_vec()), ("2.003", b"no\x00te".to_vec())],
        Crafted::type14_fields(),
    );
    cases.push(case(
        "NUL in a Type-2 text field",
        crafted.bytes(),
        An2ErrorKind::ControlCharacter { byte: 0 },
        Some((2, 1)),
        Some(Tag::new(2, 3)),
        crafted.type2_offset() + find(&crafted.type2, b"no\x00") + 2,
    ));

    // Value forms.
    let mut type1 = Crafted::type1_fields(&Crafted::default_cnt());
    replace_field(&mut type1, "1.005", b"20261340");
    let crafted = Crafted::with(type1, type2_default(), Crafted::type14_fields());
    cases.push(case(
        "impossible date",
        crafted.bytes(),
        An2ErrorKind::InvalidValue {
            expected: "a date YYYYMMDD",
            found: "20261340".into(),
        },
        Some((1, 0)),
        Some(Tag::new(1, 5)),
        find(&crafted.type1, b"20261340"),
    ));
    let mut type14 = Crafted::type14_fields();
    replace_field(&mut type14, "14.006", b"4a");
    let crafted = Crafted::with(
        Crafted::type1_fields(&Crafted::default_cnt()),
        type2_default(),
        type14,
    );
    cases.push(case(
        "HLL not a number",
        crafted.bytes(),
        An2ErrorKind::InvalidValue {
            expected: "a horizontal line length of 1 to 99999",
            found: "4a".into(),
        },
        Some((14, 2)),
        Some(Tag::new(14, 6)),
        crafted.type14_offset() + find(&crafted.type14, b"14.006:") + 7,
    ));
    let mut type14 = Crafted::type14_fields();
    replace_field(&mut type14, "14.002", b"1A");
    let crafted = Crafted::with(
        Crafted::type1_fields(&Crafted::default_cnt()),
        type2_default(),
        type14,
    );
    cases.push(case(
        "IDC not a number",
        crafted.bytes(),
        An2ErrorKind::InvalidValue {
            expected: "an IDC of 0 to 99",
            found: "1A".into(),
        },
        Some((14, 2)),
        Some(Tag::new(14, 2)),
        crafted.type14_offset() + find(&crafted.type14, b"14.002:") + 7,
    ));
    let mut type14 = Crafted::type14_fields();
    replace_field(&mut type14, "14.999", &[0u8; 11]);
    let crafted = Crafted::with(
        Crafted::type1_fields(&Crafted::default_cnt()),
        type2_default(),
        type14,
    );
    cases.push(case(
        "uncompressed Type-14 image shorter than HLL x VLL",
        crafted.bytes(),
        An2ErrorKind::ImageSizeMismatch {
            expected: 12,
            actual: 11,
        },
        Some((14, 2)),
        Some(Tag::new(14, 999)),
        crafted.type14_offset() + find(&crafted.type14, b"14.999:") + 7,
    ));

    // Binary records.
    let huge = fixed(
        2,
        1,
        [2, 255, 255, 255, 255, 255],
        0,
        4,
        3,
        0,
        TYPE4_IMAGE,
        Some(0xFFFF_FF00),
    );
    let bytes = [base.type1.as_slice(), &base.type2, &base.type14, &huge].concat();
    cases.push(case(
        "binary record length beyond the end",
        bytes,
        An2ErrorKind::LengthBeyondEnd {
            declared: 0xFFFF_FF00,
            available: 30,
        },
        Some((4, 3)),
        None,
        t4,
    ));
    let tiny = fixed(
        2,
        1,
        [2, 255, 255, 255, 255, 255],
        0,
        4,
        3,
        0,
        TYPE4_IMAGE,
        Some(17),
    );
    let bytes = [base.type1.as_slice(), &base.type2, &base.type14, &tiny].concat();
    cases.push(case(
        "binary record length below its header",
        bytes,
        An2ErrorKind::LengthTooSmall {
            declared: 17,
            min: 18,
        },
        Some((4, 3)),
        None,
        t4,
    ));
    let bytes = [
        base.type1.as_slice(),
        &base.type2,
        &base.type14,
        &base.type4[..3],
    ]
    .concat();
    cases.push(case(
        "binary record cut inside its length",
        bytes,
        An2ErrorKind::Truncated {
            expected: "a 4-byte binary record length",
        },
        Some((4, 3)),
        None,
        t4,
    ));
    let odd = fixed(
        2,
        1,
        [2, 255, 255, 255, 255, 255],
        0,
        4,
        3,
        0,
        &TYPE4_IMAGE[..11],
        None,
    );
    let bytes = [base.type1.as_slice(), &base.type2, &base.type14, &odd].concat();
    cases.push(case(
        "uncompressed Type-4 image shorter than HLL x VLL",
        bytes,
        An2ErrorKind::ImageSizeMismatch {
            expected: 12,
            actual: 11,
        },
        Some((4, 3)),
        None,
        t4 + 18,
    ));
    let bad_isr = fixed(
        2,
        1,
        [2, 255, 255, 255, 255, 255],
        7,
        4,
        3,
        0,
        TYPE4_IMAGE,
        None,
    );
    let bytes = [base.type1.as_slice(), &base.type2, &base.type14, &bad_isr].concat();
    cases.push(case(
        "Type-4 ISR neither 0 nor 1",
        bytes,
        An2ErrorKind::InvalidValue {
            expected: "image scanning resolution 0 or 1",
            found: "7".into(),
        },
        Some((4, 3)),
        None,
        t4 + 12,
    ));
    let bad_fgp = fixed(
        2,
        1,
        [2, 77, 255, 255, 255, 255],
        0,
        4,
        3,
        0,
        TYPE4_IMAGE,
        None,
    );
    let bytes = [base.type1.as_slice(), &base.type2, &base.type14, &bad_fgp].concat();
    cases.push(case(
        "Type-4 finger position out of Table 8",
        bytes,
        An2ErrorKind::InvalidValue {
            expected: "a finger position 0 to 19 or 255",
            found: "77".into(),
        },
        Some((4, 3)),
        None,
        t4 + 7,
    ));

    // Size caps.
    cases.push(Case {
        name: "input over the size cap",
        bytes: good.clone(),
        limits: Limits {
            max_transaction_bytes: 100,
            ..Limits::default()
        },
        kind: An2ErrorKind::InputTooLarge {
            len: good.len(),
            max: 100,
        },
        record: None,
        field: None,
        offset: 0,
    });
    cases.push(Case {
        name: "more fields than the cap",
        bytes: good.clone(),
        limits: Limits {
            max_fields_per_record: 5,
            ..Limits::default()
        },
        kind: An2ErrorKind::LimitExceeded {
            what: "fields in a record",
            max: 5,
        },
        record: Some((1, 0)),
        field: None,
        offset: find(&good, b"1.008:"),
    });
    cases
}

#[test]
fn the_crafted_base_is_valid() {
    let tx = Transaction::from_bytes(&Crafted::new().bytes()).unwrap();
    assert_eq!(tx.records().len(), 4);
    assert_eq!(tx.to_bytes(), Crafted::new().bytes());
}

#[test]
fn each_bad_input_gives_its_precise_error() {
    let mut failures = Vec::new();
    for case in cases() {
        match Transaction::from_bytes_with_limits(&case.bytes, &case.limits) {
            Ok(_) => failures.push(format!("{}: parsed without error", case.name)),
            Err(error) => {
                let got = (&error.kind, error.record, error.field, error.offset);
                let want = (&case.kind, case.record, case.field, case.offset);
                if got != want {
                    failures.push(format!("{}:\n   got  {got:?}\n   want {want:?}", case.name));
                }
                // The message names the place.
                if !error
                    .to_string()
                    .contains(&format!("byte offset {}", case.offset))
                {
                    failures.push(format!(
                        "{}: message without its offset: {error}",
                        case.name
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn report_mode_collects_every_content_finding() {
    let mut type1 = Crafted::type1_fields(&Crafted::default_cnt());
    type1.retain(|(label, _)| *label != "1.005");
    replace_field(&mut type1, "1.009", b"TCN\xE9");
    let mut type14 = Crafted::type14_fields();
    replace_field(&mut type14, "14.006", b"4a");
    let bytes = Crafted::with(type1, type2_default(), type14).bytes();
    let (tx, findings) = Transaction::check_bytes(&bytes, &Limits::default()).unwrap();
    assert_eq!(tx.records().len(), 4);
    let kinds: Vec<_> = findings
        .iter()
        .map(|finding| (finding.code(), finding.field))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("AN2-020", Some(Tag::new(1, 9))),
            ("AN2-013", Some(Tag::new(1, 5))),
            ("AN2-023", Some(Tag::new(14, 6))),
        ]
    );
    // Strict mode stops at the first.
    assert_eq!(
        Transaction::from_bytes(&bytes).unwrap_err().kind,
        findings[0].kind
    );
}
