//! Checks that follow the structural read: mandatory fields, value forms, binary header values.
//!
//! Clause numbers are those of ANSI/NIST-ITL 1-2011 Update 2015 (NIST SP 500-290 Ed. 3): §8.N is the Type-N record.
//! The checks are deliberately limited to what the rest of garita relies on (lengths, IDCs, image geometry and
//! compression, dates, the Type-1 header); enumerated code lists that real files stretch (impression types, CGA
//! spellings of older versions) are read, not rejected.

use crate::error::{An2Error, An2ErrorKind, Tag, show_bytes};
use crate::model::{FixedImageRecord, SignatureRecord, TaggedRecord, parse_uint};
use crate::parse::{FieldSpan, Parser};

/// Where field `tag`'s value starts, or the record's start when the field is absent.
fn offset_of(spans: &[FieldSpan], tag: Tag, record_offset: usize) -> usize {
    spans
        .iter()
        .find(|span| span.tag == tag)
        .map_or(record_offset, |span| span.value_offset)
}

struct Ctx<'r> {
    record: &'r TaggedRecord,
    spans: &'r [FieldSpan],
    record_offset: usize,
    index: usize,
}

impl Ctx<'_> {
    fn tag(&self, number: u32) -> Tag {
        Tag::new(self.record.record_type(), number)
    }

    fn error(&self, number: u32, kind: An2ErrorKind) -> An2Error {
        let tag = self.tag(number);
        An2Error::new(offset_of(self.spans, tag, self.record_offset), kind)
            .in_record(self.record.record_type(), self.index)
            .in_field(tag)
    }

    fn require(&self, parser: &mut Parser<'_>, numbers: &[u32]) -> Result<(), An2Error> {
        for &number in numbers {
            if self.record.field(number).is_none() {
                parser.report(self.error(
                    number,
                    An2ErrorKind::MissingField {
                        tag: self.tag(number),
                    },
                ))?;
            }
        }
        Ok(())
    }

    /// Checks the first item of field `number`, when present, with `is_valid`.
    fn check_first(
        &self,
        parser: &mut Parser<'_>,
        number: u32,
        expected: &'static str,
        is_valid: impl Fn(&[u8]) -> bool,
    ) -> Result<(), An2Error> {
        let Some(field) = self.record.field(number) else {
            return Ok(());
        };
        let first = field.item(0, 0).unwrap_or_default();
        if field.data().is_some() || !is_valid(first) {
            parser.report(self.error(
                number,
                An2ErrorKind::InvalidValue {
                    expected,
                    found: show_bytes(first),
                },
            ))?;
        }
        Ok(())
    }

    /// Checks every item of every subfield of field `number`, when present.
    fn check_items(
        &self,
        parser: &mut Parser<'_>,
        number: u32,
        expected: &'static str,
        is_valid: impl Fn(&[u8]) -> bool,
    ) -> Result<(), An2Error> {
        let Some(field) = self.record.field(number) else {
            return Ok(());
        };
        for subfield in field.subfield_list() {
            for item in subfield.items() {
                if !is_valid(item) {
                    parser.report(self.error(
                        number,
                        An2ErrorKind::InvalidValue {
                            expected,
                            found: show_bytes(item),
                        },
                    ))?;
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

fn uint_in(bytes: &[u8], max_digits: usize, min: u64, max: u64) -> bool {
    bytes.len() <= max_digits && parse_uint(bytes).is_some_and(|value| (min..=max).contains(&value))
}

/// `YYYYMMDD` (§7.7.2.3, Annex B.1.2).
pub(crate) fn is_date(bytes: &[u8]) -> bool {
    bytes.len() == 8
        && parse_uint(bytes).is_some()
        && uint_in(bytes.get(4..6).unwrap_or_default(), 2, 1, 12)
        && uint_in(bytes.get(6..8).unwrap_or_default(), 2, 1, 31)
}

/// `YYYYMMDDHHMMSSZ` (§7.7.2.2, Annex B.1.4).
pub(crate) fn is_gmt(bytes: &[u8]) -> bool {
    bytes.len() == 15
        && is_date(bytes.get(..8).unwrap_or_default())
        && uint_in(bytes.get(8..10).unwrap_or_default(), 2, 0, 23)
        && uint_in(bytes.get(10..12).unwrap_or_default(), 2, 0, 59)
        && uint_in(bytes.get(12..14).unwrap_or_default(), 2, 0, 60)
        && bytes.get(14) == Some(&b'Z')
}

/// `NN.NN` pixels per millimetre (1.011 NSR, 1.012 NTR, §8.1.11–8.1.12).
fn is_resolution(bytes: &[u8]) -> bool {
    bytes.len() == 5
        && bytes.get(2) == Some(&b'.')
        && bytes.get(..2).and_then(parse_uint).is_some()
        && bytes.get(3..).and_then(parse_uint).is_some()
}

/// Type-1 (§8.1): mandatory fields 1.001–1.005, 1.007–1.009, 1.011, 1.012; forms of the dated and coded fields.
pub(crate) fn check_type1(
    parser: &mut Parser<'_>,
    record: &TaggedRecord,
    spans: &[FieldSpan],
    record_offset: usize,
) -> Result<(), An2Error> {
    let ctx = Ctx {
        record,
        spans,
        record_offset,
        index: 0,
    };
    ctx.require(parser, &[2, 3, 4, 5, 7, 8, 9, 11, 12])?;
    // 1.002 VER is four digits in every published version (0200 … 0502); one reference file carries "0", so any
    // one to four digits are read and the version is left to the caller.
    ctx.check_first(parser, 2, "a version number of 1 to 4 digits", |value| {
        uint_in(value, 4, 0, 9999)
    })?;
    ctx.check_first(
        parser,
        4,
        "a type of transaction of 1 to 16 characters",
        |value| (1..=16).contains(&value.len()),
    )?;
    ctx.check_first(parser, 5, "a date YYYYMMDD", is_date)?;
    ctx.check_first(parser, 6, "a priority 1 to 9", |value| {
        uint_in(value, 1, 1, 9)
    })?;
    ctx.check_first(parser, 7, "a destination agency identifier", |value| {
        !value.is_empty()
    })?;
    ctx.check_first(parser, 8, "an originating agency identifier", |value| {
        !value.is_empty()
    })?;
    ctx.check_first(parser, 9, "a transaction control number", |value| {
        !value.is_empty()
    })?;
    ctx.check_first(
        parser,
        11,
        "a resolution NN.NN in pixels per millimetre",
        is_resolution,
    )?;
    ctx.check_first(
        parser,
        12,
        "a resolution NN.NN in pixels per millimetre",
        is_resolution,
    )?;
    ctx.check_first(parser, 14, "a GMT date and time YYYYMMDDHHMMSSZ", is_gmt)?;
    ctx.check_first(parser, 15, "a character encoding index 0 to 999", |value| {
        uint_in(value, 3, 0, 999)
    })?;
    Ok(())
}

/// Fields that hold the image and its geometry: mandatory when the record carries an image (n.999), which it must
/// unless it points to an external file with n.994 EXR (Update 2013).
fn image_fields(record_type: u8) -> &'static [u32] {
    match record_type {
        10 | 13 | 14 | 15 | 16 => &[6, 7, 8, 9, 10, 11, 12, 999],
        17 => &[6, 7, 8, 9, 10, 11, 12, 13, 999],
        _ => &[],
    }
}

/// Types 2, 9, 10, 13–17: IDC, mandatory fields (the field table of each §8.N), forms of the image fields.
pub(crate) fn check_tagged(
    parser: &mut Parser<'_>,
    record: &TaggedRecord,
    spans: &[FieldSpan],
    record_offset: usize,
    index: usize,
) -> Result<(), An2Error> {
    let ctx = Ctx {
        record,
        spans,
        record_offset,
        index,
    };
    let record_type = record.record_type();
    ctx.require(parser, &[2])?;
    // §7.3.1: the IDC is a number 0 to 99.
    ctx.check_first(parser, 2, "an IDC of 0 to 99", |value| {
        uint_in(value, 2, 0, 99)
    })?;
    let always: &[u32] = match record_type {
        9 => &[3, 4],
        10 | 16 => &[3, 4, 5],
        13..=15 => &[3, 4, 5, 13],
        17 => &[3, 4, 5],
        _ => &[],
    };
    ctx.require(parser, always)?;
    let has_image = record.field(999).is_some() || record.field(994).is_none();
    if has_image {
        ctx.require(parser, image_fields(record_type))?;
    }
    match record_type {
        9 => {
            ctx.check_first(parser, 3, "an impression type code", |value| {
                uint_in(value, 2, 0, 99)
            })?;
            // §8.9.4: FMT is S (standard) or U (user-defined).
            ctx.check_first(parser, 4, "S or U", |value| value == b"S" || value == b"U")?;
        }
        10 => {
            ctx.check_first(parser, 3, "an image type", |value| !value.is_empty())?;
            // §8.10.13: the subject acquisition profile is mandatory for faces.
            if record.field(3).and_then(|field| field.item(0, 0)) == Some(b"FACE".as_slice()) {
                ctx.require(parser, &[13])?;
            }
        }
        13..=15 => {
            ctx.check_first(parser, 3, "an impression type code", |value| {
                uint_in(value, 2, 0, 99)
            })?;
            ctx.check_items(parser, 13, "a friction ridge position 0 to 99", |value| {
                uint_in(value, 2, 0, 99)
            })?;
        }
        17 => {
            // §8.17.3: eye label 0 (undefined), 1 (right), 2 (left).
            ctx.check_first(parser, 3, "an eye label 0, 1 or 2", |value| {
                uint_in(value, 1, 0, 2)
            })?;
        }
        _ => {}
    }
    if matches!(record_type, 10 | 13..=17) {
        // 16.005 UTD is a date too, but the one Type-16 reference record carries the text "single value" there; the
        // user-defined test record is not used for enrollment, so its date is read, not checked.
        if record_type != 16 {
            ctx.check_first(parser, 5, "a date YYYYMMDD", is_date)?;
        }
        ctx.check_first(
            parser,
            6,
            "a horizontal line length of 1 to 99999",
            |value| uint_in(value, 5, 1, 99_999),
        )?;
        ctx.check_first(parser, 7, "a vertical line length of 1 to 99999", |value| {
            uint_in(value, 5, 1, 99_999)
        })?;
        // §7.7.8.3: scale units 0 (none), 1 (ppi), 2 (ppcm).
        ctx.check_first(parser, 8, "scale units 0, 1 or 2", |value| {
            uint_in(value, 1, 0, 2)
        })?;
        ctx.check_first(
            parser,
            9,
            "a horizontal pixel scale of 1 to 99999",
            |value| uint_in(value, 5, 1, 99_999),
        )?;
        ctx.check_first(
            parser,
            10,
            "a vertical pixel scale of 1 to 99999",
            |value| uint_in(value, 5, 1, 99_999),
        )?;
        ctx.check_first(parser, 11, "a compression algorithm", |value| {
            !value.is_empty()
        })?;
        if record_type != 10 {
            ctx.check_first(parser, 12, "bits per pixel 1 to 99", |value| {
                uint_in(value, 2, 1, 99)
            })?;
            check_uncompressed_size(parser, &ctx)?;
        }
    }
    Ok(())
}

/// §7.7.9.1: with CGA `NONE` the image is the raw raster, HLL × VLL pixels of BPX bits (checked for whole bytes
/// per pixel only, as the packing of 1- to 7-bit pixels is not specified for these records).
fn check_uncompressed_size(parser: &mut Parser<'_>, ctx: &Ctx<'_>) -> Result<(), An2Error> {
    let record = ctx.record;
    let number = |n: u32| {
        record
            .field(n)
            .and_then(|field| field.item(0, 0))
            .and_then(parse_uint)
    };
    let is_none = record
        .field(11)
        .and_then(|field| field.item(0, 0))
        .is_some_and(|cga| cga.eq_ignore_ascii_case(b"NONE"));
    let (Some(width), Some(height), Some(bits), Some(data)) = (
        number(6),
        number(7),
        number(12),
        record.field(999).and_then(|field| field.data()),
    ) else {
        return Ok(());
    };
    if !is_none || bits % 8 != 0 {
        return Ok(());
    }
    let expected = width.saturating_mul(height).saturating_mul(bits / 8);
    let actual = data.len() as u64;
    if expected != actual {
        parser.report(ctx.error(999, An2ErrorKind::ImageSizeMismatch { expected, actual }))?;
    }
    Ok(())
}

fn header_error(
    record_type: u8,
    index: usize,
    offset: usize,
    expected: &'static str,
    byte: u8,
) -> An2Error {
    An2Error::new(
        offset,
        An2ErrorKind::InvalidValue {
            expected,
            found: byte.to_string(),
        },
    )
    .in_record(record_type, index)
}

/// Types 3–6 (§8.3–8.6, Annex B): header values and, for uncompressed images, the data length.
pub(crate) fn check_fixed_image(
    parser: &mut Parser<'_>,
    record: &FixedImageRecord,
    record_offset: usize,
    index: usize,
) -> Result<(), An2Error> {
    let record_type = record.record_type();
    if record.idc > 99 {
        parser.report(header_error(
            record_type,
            index,
            record_offset + 4,
            "an IDC of 0 to 99",
            record.idc,
        ))?;
    }
    for (position, &fgp) in record.fgp.iter().enumerate() {
        // Table 8: the codes a Type-4 record may carry are 0–15 (unknown, fingers, plain slaps); 19 (EJI) is tolerated
        // and 255 fills unused bytes.
        if !(fgp <= 19 || fgp == 255) {
            parser.report(header_error(
                record_type,
                index,
                record_offset + 6 + position,
                "a finger position 0 to 19 or 255",
                fgp,
            ))?;
        }
    }
    if record.isr > 1 {
        parser.report(header_error(
            record_type,
            index,
            record_offset + 12,
            "image scanning resolution 0 or 1",
            record.isr,
        ))?;
    }
    if record.compression == 0 {
        let width = u64::from(record.hll);
        let height = u64::from(record.vll);
        // Grayscale types hold one byte per pixel; binary types pack eight pixels per byte, each line padded to a byte.
        let expected = if matches!(record_type, 3 | 4) {
            width * height
        } else {
            width.div_ceil(8) * height
        };
        let actual = record.data().len() as u64;
        if expected != actual {
            parser.report(
                An2Error::new(
                    record_offset + 18,
                    An2ErrorKind::ImageSizeMismatch { expected, actual },
                )
                .in_record(record_type, index),
            )?;
        }
    }
    Ok(())
}

/// Type-8 (§8.8): SIG, SRT and ISR codes.
pub(crate) fn check_signature(
    parser: &mut Parser<'_>,
    record: &SignatureRecord,
    record_offset: usize,
    index: usize,
) -> Result<(), An2Error> {
    if record.idc > 99 {
        parser.report(header_error(
            8,
            index,
            record_offset + 4,
            "an IDC of 0 to 99",
            record.idc,
        ))?;
    }
    if record.sig > 1 {
        parser.report(header_error(
            8,
            index,
            record_offset + 5,
            "signature type 0 or 1",
            record.sig,
        ))?;
    }
    if record.srt > 2 {
        parser.report(header_error(
            8,
            index,
            record_offset + 6,
            "signature representation type 0, 1 or 2",
            record.srt,
        ))?;
    }
    if record.isr > 1 {
        parser.report(header_error(
            8,
            index,
            record_offset + 7,
            "image scanning resolution 0 or 1",
            record.isr,
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        assert!(is_date(b"20091113"));
        assert!(!is_date(b"20091313"));
        assert!(!is_date(b"2009111"));
        assert!(is_gmt(b"20091113163947Z"));
        assert!(!is_gmt(b"20091113163947"));
        assert!(is_resolution(b"19.69"));
        assert!(!is_resolution(b"1969"));
    }
}
