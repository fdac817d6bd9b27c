//! Writing: legacy tags are read and written canonically, the builder exports image records from other
//! transactions, the writer recomputes lengths and 1.003.

use garita_an2::{
    Compression, Field, FixedImageRecord, Modality, Record, Subfield, Tag, TaggedRecord,
    Transaction, TransactionBuilder,
};

use crate::util::{Crafted, RS, US, reference, tagged};

/// A transaction whose Type-1 and Type-2 records use the legacy two-digit field numbers (`1.01:`), as files written
/// for versions before ANSI/NIST-ITL 1-2007 do.
fn legacy_transaction() -> Vec<u8> {
    let cnt = [b"1".as_slice(), &[US], b"1", &[RS], b"2", &[US], b"00"].concat();
    let type1: Vec<(&str, &[u8])> = vec![
        ("1.02", b"0200"),
        ("1.03", &cnt),
        ("1.04", b"CAR"),
        ("1.05", b"19990707"),
        ("1.07", b"DAI000000"),
        ("1.08", b"ORI000000"),
        ("1.09", b"TCN-LEGACY"),
        ("1.11", b"19.69"),
        ("1.12", b"19.69"),
    ];
    let mut type1_bytes = tagged(1, &type1, None);
    // `tagged` labels the length "1.001"; legacy files spell it "1.01" too.
    type1_bytes = relabel_length(&type1_bytes, "1.01:");
    let type2 = relabel_length(
        &tagged(2, &[("2.02", b"00"), ("2.18", b"SMITH, JOHN")], None),
        "2.01:",
    );
    [type1_bytes, type2].concat()
}

/// Replaces the `T.001:LEN` prefix by `label` with a recomputed length.
fn relabel_length(record: &[u8], label: &str) -> Vec<u8> {
    let gs = record.iter().position(|&byte| byte == 0x1D).unwrap();
    let rest = &record[gs..];
    let mut total = label.len() + rest.len() + 1;
    while label.len() + rest.len() + total.to_string().len() != total {
        total += 1;
    }
    [label.as_bytes(), total.to_string().as_bytes(), rest].concat()
}

#[test]
fn legacy_two_digit_tags_are_read_and_written_canonically() {
    let legacy = legacy_transaction();
    let tx = Transaction::from_bytes(&legacy).unwrap();
    assert_eq!(tx.version().as_deref(), Some("0200"));
    assert_eq!(tx.control_number().as_deref(), Some("TCN-LEGACY"));
    assert_eq!(tx.type2_text(18).as_deref(), Some("SMITH, JOHN"));
    let written = tx.to_bytes();
    assert!(written.starts_with(b"1.001:"));
    assert!(written.windows(6).any(|window| window == b"2.018:"));
    assert_ne!(
        written, legacy,
        "legacy tags are rewritten in the canonical form"
    );
    let again = Transaction::from_bytes(&written).unwrap();
    assert_eq!(again, tx);
    assert_eq!(again.to_bytes(), written);
}

#[test]
fn writer_recomputes_lengths_and_cnt() {
    let tx = Transaction::from_bytes(&reference("type-4-tpcard.an2")).unwrap();
    // Drop every second fingerprint and write: 1.003 and the Type-1 length follow.
    let records: Vec<Record> = tx
        .into_records()
        .into_iter()
        .enumerate()
        .filter(|(index, _)| *index < 2 || index % 2 == 0)
        .map(|(_, r)| r)
        .collect();
    let mut builder = TransactionBuilder::new("CAR", "DAI000000", "ORI000000", "TCN-2", "20260102")
        .resolutions("19.69", "19.69");
    for record in records.into_iter().skip(2) {
        builder = builder.record(record);
    }
    let tx = builder.build().unwrap();
    let cnt = tx.type1().unwrap().field(3).unwrap();
    assert_eq!(cnt.item(0, 1), Some(b"8".as_slice()));
    let listed: Vec<(Vec<u8>, Vec<u8>)> = cnt.subfield_list()[1..]
        .iter()
        .map(|sub| (sub.item(0).unwrap().to_vec(), sub.item(1).unwrap().to_vec()))
        .collect();
    assert_eq!(listed[0], (b"2".to_vec(), b"00".to_vec()));
    assert_eq!(listed[1], (b"4".to_vec(), b"01".to_vec()));
    assert_eq!(listed[2], (b"4".to_vec(), b"03".to_vec()));
    let bytes = tx.to_bytes();
    assert_eq!(tx.record_lengths().iter().sum::<usize>(), bytes.len());
}

/// The server's export: an encounter's images copied from enrolled transactions into a new one.
#[test]
fn builder_exports_image_records_from_other_transactions() {
    let slaps = Transaction::from_bytes(&reference("type-4-14-slaps.an2")).unwrap();
    let mixed = Transaction::from_bytes(&reference("type-10-14-17-piv-index-iris.an2")).unwrap();
    let palms = Transaction::from_bytes(&reference("type-15-palms.an2")).unwrap();
    let sources: Vec<_> = slaps
        .images()
        .into_iter()
        .chain(mixed.images())
        .chain(palms.images())
        .collect();

    let mut builder =
        TransactionBuilder::new("EXPORT", "DAI000000", "GARITA001", "ENC-42", "20260102")
            .gmt("20260102101500Z")
            .domain("NORAM", "")
            .resolutions("19.69", "19.69")
            .type2_text(3, "encounter 42")
            .type2_items(
                4,
                vec![vec![b"a".to_vec(), b"b".to_vec()], vec![b"c".to_vec()]],
            );
    for (position, image) in sources.iter().enumerate() {
        builder =
            builder.record_with_idc(image.record.clone(), u8::try_from(position + 1).unwrap());
    }
    let exported = builder.build().unwrap();
    let bytes = exported.to_bytes();
    let read = Transaction::from_bytes(&bytes).unwrap();
    assert_eq!(read, exported);
    assert_eq!(read.version().as_deref(), Some("0502"));
    assert_eq!(read.type2_text(3).as_deref(), Some("encounter 42"));
    assert_eq!(read.type2_field(4).unwrap().display_text(), "a|b;c");

    let images = read.images();
    assert_eq!(images.len(), sources.len());
    for (position, (copy, source)) in images.iter().zip(&sources).enumerate() {
        assert_eq!(copy.idc, u8::try_from(position + 1).unwrap());
        assert_eq!(copy.data, source.data, "images are copied as they are");
        assert_eq!(
            (
                copy.record_type,
                copy.modality,
                &copy.positions,
                &copy.compression,
                copy.width,
                copy.height,
                copy.ppi
            ),
            (
                source.record_type,
                source.modality,
                &source.positions,
                &source.compression,
                source.width,
                source.height,
                source.ppi
            )
        );
    }
    assert!(
        images
            .iter()
            .any(|image| image.compression == Compression::Wsq && image.record_type == 4)
    );
    assert!(images.iter().any(|image| image.modality == Modality::Iris));
}

#[test]
fn builder_declares_utf8_when_text_needs_it() {
    let tx = TransactionBuilder::new("CAR", "DAI", "ORI", "TCN", "20260102")
        .type2_text(20, "Żółć")
        .build()
        .unwrap();
    let dcs = tx.type1().unwrap().field(15).unwrap();
    assert_eq!(dcs.display_text(), "3|UTF-8");
    assert_eq!(tx.type2_text(20).as_deref(), Some("Żółć"));
}

#[test]
fn builder_rejects_what_cannot_be_written() {
    let error = TransactionBuilder::new("CAR", "DAI", "ORI", "TCN", "2026-01-02")
        .build()
        .unwrap_err();
    assert_eq!(error.field, Some(Tag::new(1, 5)));
    let error = TransactionBuilder::new("CAR", "DAI", "ORI", "TCN", "20260102")
        .type2_text(3, "a\x1Db")
        .build()
        .unwrap_err();
    assert_eq!(error.code(), "AN2-025");
    let error = TransactionBuilder::new("CAR", "DAI", "ORI", "TCN", "20260102")
        .gmt("20260102")
        .build()
        .unwrap_err();
    assert_eq!(error.field, Some(Tag::new(1, 14)));
    // An uncompressed Type-4 record whose data disagrees with its size is caught when the builder validates.
    let bad = FixedImageRecord::new(
        4,
        1,
        1,
        [1, 255, 255, 255, 255, 255],
        0,
        4,
        4,
        0,
        vec![0; 15],
    )
    .unwrap();
    let error = TransactionBuilder::new("CAR", "DAI", "ORI", "TCN", "20260102")
        .record(Record::FixedImage(bad))
        .build()
        .unwrap_err();
    assert_eq!(error.code(), "AN2-024");
    assert_eq!(error.record, Some((4, 2)));
}

#[test]
fn records_can_be_made_from_parts() {
    let image = vec![0u8; 12];
    let fields = vec![
        Field::text(Tag::new(14, 2), "01").unwrap(),
        Field::text(Tag::new(14, 3), "1").unwrap(),
        Field::text(Tag::new(14, 4), "ORI000000").unwrap(),
        Field::text(Tag::new(14, 5), "20260102").unwrap(),
        Field::text(Tag::new(14, 6), "4").unwrap(),
        Field::text(Tag::new(14, 7), "3").unwrap(),
        Field::text(Tag::new(14, 8), "1").unwrap(),
        Field::text(Tag::new(14, 9), "500").unwrap(),
        Field::text(Tag::new(14, 10), "500").unwrap(),
        Field::text(Tag::new(14, 11), "NONE").unwrap(),
        Field::text(Tag::new(14, 12), "8").unwrap(),
        Field::subfields(Tag::new(14, 13), vec![Subfield::new(["2"]).unwrap()]).unwrap(),
        Field::binary(Tag::new(14, 999), image.clone()).unwrap(),
    ];
    let record = TaggedRecord::new(14, fields).unwrap();
    let tx = TransactionBuilder::new("CAR", "DAI000000", "ORI000000", "TCN0001", "20260102")
        .resolutions("19.69", "19.69")
        .type2_text(3, "note")
        .record(Record::Tagged(record))
        .record(Record::FixedImage(
            FixedImageRecord::new(
                4,
                2,
                1,
                [2, 255, 255, 255, 255, 255],
                0,
                4,
                3,
                0,
                vec![7; 12],
            )
            .unwrap(),
        ))
        .build()
        .unwrap();
    // The same transaction as the crafted base of the bad-input table, written by an independent encoder.
    assert_eq!(tx.to_bytes(), Crafted::new().bytes());
    assert!(Field::text(Tag::new(14, 1), "9").is_err());
    assert!(Field::text(Tag::new(14, 999), "9").is_err());
    assert!(Field::binary(Tag::new(14, 5), vec![]).is_err());
    assert!(TaggedRecord::new(4, vec![]).is_err());
}

#[test]
fn opaque_records_are_kept_byte_for_byte() {
    let base = Crafted::new();
    let cnt = [
        b"1".as_slice(),
        &[US],
        b"3",
        &[RS],
        b"2",
        &[US],
        b"00",
        &[RS],
        b"99",
        &[US],
        b"03",
        &[RS],
        b"21",
        &[US],
        b"04",
    ]
    .concat();
    let type1 = tagged(
        1,
        &Crafted::type1_fields(&cnt)
            .iter()
            .map(|(label, value)| (*label, value.as_slice()))
            .collect::<Vec<_>>(),
        None,
    );
    // A CBEFF record whose binary data contains every separator, and a Type-21 record with legacy-looking tags.
    let type99 = tagged(
        99,
        &[
            ("99.002", b"03"),
            ("99.100", b"0x0101"),
            ("99.999", &[0x1C, 0x1D, 0x1E, 0x1F, 0, 1]),
        ],
        None,
    );
    let type21 = tagged(21, &[("21.02", b"04"), ("21.003", b"x")], None);
    let bytes = [type1.as_slice(), &base.type2, &type99, &type21].concat();
    let tx = Transaction::from_bytes(&bytes).unwrap();
    match (&tx.records()[2], &tx.records()[3]) {
        (Record::Opaque(cbeff), Record::Opaque(other)) => {
            assert_eq!(
                (cbeff.record_type(), cbeff.idc(), cbeff.bytes()),
                (99, 3, type99.as_slice())
            );
            assert_eq!((other.record_type(), other.idc()), (21, 4));
        }
        records => panic!("{records:?}"),
    }
    assert_eq!(tx.to_bytes(), bytes);
    let dump = tx.to_dump_json();
    assert_eq!(dump["records"][2]["opaque"], true);
    assert_eq!(dump["records"][2]["idc"], 3);
    assert!(tx.images().is_empty());
}
