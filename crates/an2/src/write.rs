//! Writer for the traditional encoding (Annex B). Every n.001 length and the 1.003 CNT field are recomputed from the
//! records; tags are written in the canonical form `T.FFF:` (field numbers of at least three digits).

use crate::error::Tag;
use crate::model::{
    FIXED_IMAGE_HEADER_LEN, FS, FieldValue, GS, RS, Record, SIGNATURE_HEADER_LEN, Subfield,
    TaggedRecord, US,
};

/// The 1.003 CNT value for `records` (the Type-1 record first): `1 US count`, then `type US IDC` per record, IDCs
/// written with two digits as the reference transactions do (§8.1.3).
pub(crate) fn cnt_subfields(records: &[Record]) -> Vec<Subfield> {
    let others = records.get(1..).unwrap_or_default();
    let mut subfields = Vec::with_capacity(others.len() + 1);
    subfields.push(Subfield::from_raw(vec![
        b"1".to_vec(),
        others.len().to_string().into_bytes(),
    ]));
    for record in others {
        subfields.push(Subfield::from_raw(vec![
            record.record_type().to_string().into_bytes(),
            format!("{:02}", record.idc().unwrap_or(0)).into_bytes(),
        ]));
    }
    subfields
}

pub(crate) fn write_records(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for (index, record) in records.iter().enumerate() {
        match record {
            Record::Tagged(tagged) if index == 0 => {
                let cnt = FieldValue::Text(cnt_subfields(records));
                write_tagged(&mut out, tagged, Some(&cnt));
            }
            Record::Tagged(tagged) => write_tagged(&mut out, tagged, None),
            Record::FixedImage(image) => {
                let total = FIXED_IMAGE_HEADER_LEN + image.data().len();
                out.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes());
                out.push(image.idc);
                out.push(image.imp);
                out.extend_from_slice(&image.fgp);
                out.push(image.isr);
                out.extend_from_slice(&image.hll.to_be_bytes());
                out.extend_from_slice(&image.vll.to_be_bytes());
                out.push(image.compression);
                out.extend_from_slice(image.data());
            }
            Record::UserDefinedImage(user) => {
                let total = 5 + user.data().len();
                out.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes());
                out.push(user.idc);
                out.extend_from_slice(user.data());
            }
            Record::Signature(signature) => {
                let total = SIGNATURE_HEADER_LEN + signature.data().len();
                out.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes());
                out.push(signature.idc);
                out.push(signature.sig);
                out.push(signature.srt);
                out.push(signature.isr);
                out.extend_from_slice(&signature.hll.to_be_bytes());
                out.extend_from_slice(&signature.vll.to_be_bytes());
                out.extend_from_slice(signature.data());
            }
            Record::Opaque(opaque) => out.extend_from_slice(opaque.bytes()),
        }
    }
    out
}

fn write_value(out: &mut Vec<u8>, value: &FieldValue) {
    match value {
        FieldValue::Binary(data) => out.extend_from_slice(data),
        FieldValue::Text(subfields) => {
            for (subfield_index, subfield) in subfields.iter().enumerate() {
                if subfield_index > 0 {
                    out.push(RS);
                }
                for (item_index, item) in subfield.items().iter().enumerate() {
                    if item_index > 0 {
                        out.push(US);
                    }
                    out.extend_from_slice(item);
                }
            }
        }
    }
}

fn decimal_digits(mut value: usize) -> usize {
    let mut digits = 1;
    while value >= 10 {
        value /= 10;
        digits += 1;
    }
    digits
}

/// Writes one tagged record; `cnt` replaces the value of 1.003 (Type-1 only).
fn write_tagged(out: &mut Vec<u8>, record: &TaggedRecord, cnt: Option<&FieldValue>) {
    let record_type = record.record_type();
    let mut body = Vec::new();
    for field in record
        .fields()
        .iter()
        .filter(|field| field.tag().field != 1)
    {
        body.push(GS);
        body.extend_from_slice(field_label(field.tag()).as_bytes());
        match cnt {
            Some(cnt) if field.tag() == Tag::new(1, 3) => write_value(&mut body, cnt),
            _ => write_value(&mut body, field.value()),
        }
    }
    body.push(FS);
    let label = field_label(Tag::new(record_type, 1));
    // The length counts its own digits: take the smallest digit count that is consistent.
    let fixed = label.len() + body.len();
    let mut digits = 1;
    while decimal_digits(fixed + digits) != digits {
        digits += 1;
    }
    out.extend_from_slice(label.as_bytes());
    out.extend_from_slice((fixed + digits).to_string().as_bytes());
    out.extend_from_slice(&body);
}

fn field_label(tag: Tag) -> String {
    format!("{tag}:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_counts_its_own_digits() {
        assert_eq!(decimal_digits(9), 1);
        assert_eq!(decimal_digits(10), 2);
        // "2.001:" (6) + body: with 3 bytes of body the total 6+3+1 = 10 needs two digits → 11.
        let record = TaggedRecord::from_raw(2, Vec::new());
        let mut out = Vec::new();
        write_tagged(&mut out, &record, None);
        assert_eq!(out, b"2.001:8\x1C");
    }
}
