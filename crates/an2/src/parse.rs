//! Reader for the traditional encoding (ANSI/NIST-ITL 1-2011 Update 2015, Annex B): a pure function over `&[u8]`.
//!
//! The Type-1 record is read first; its field 1.003 CNT says which records follow and in what order, which is the
//! only way to know the type of a binary record (types 3 to 8 carry no type marker). Tagged records are delimited by
//! their n.001 length, checked against the FS that must close them; binary records by their 4-byte length.

use std::collections::HashSet;

use crate::error::{An2Error, An2ErrorKind, Tag, show_bytes};
use crate::model::{
    FIXED_IMAGE_HEADER_LEN, FS, Field, FieldValue, FixedImageRecord, GS, OpaqueRecord, RS, Record,
    SIGNATURE_HEADER_LEN, SignatureRecord, Subfield, TaggedRecord, Type7Record, US, parse_uint,
};
use crate::validate;

/// Size caps applied while reading, before anything is allocated from a count or length found in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest transaction accepted, checked before parsing starts. Default 512 MiB: a full ten-print with
    /// uncompressed 1000 ppi palms stays well under it.
    pub max_transaction_bytes: usize,
    /// Most records after Type-1 (1.003 CRC is at most 999, §8.1.3).
    pub max_records: usize,
    /// Most fields in one tagged record.
    pub max_fields_per_record: usize,
    /// Most subfields in one field (EFS fields of Type-9 can be long lists).
    pub max_subfields_per_field: usize,
    /// Most information items in one subfield.
    pub max_items_per_subfield: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_transaction_bytes: 512 * 1024 * 1024,
            max_records: 999,
            max_fields_per_record: 2_000,
            max_subfields_per_field: 100_000,
            max_items_per_subfield: 1_000,
        }
    }
}

/// How non-structural findings are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Fail closed on the first finding.
    Strict,
    /// Collect findings that leave the structure readable; structural errors still stop the reader.
    Report,
}

/// The character encoding declared by 1.015 DCS (Table 4, Annex A).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Charset {
    /// Index 0 or no 1.015: 7-bit ASCII.
    Ascii,
    /// Index 1: 8-bit ASCII (ISO 8859-1), as in ANSI/NIST-ITL 1-2007 Table 4.
    Latin1,
    /// Index 3: UTF-8.
    Utf8,
    /// Index 2 (UTF-16), 4 (UTF-32) or user-defined 128–999: bytes other than separators are not checked.
    Unchecked,
}

/// Where a parsed field's value starts in the input, kept for the checks that follow the structural read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldSpan {
    pub(crate) tag: Tag,
    pub(crate) value_offset: usize,
}

pub(crate) struct Parser<'a> {
    data: &'a [u8],
    limits: &'a Limits,
    mode: Mode,
    pub(crate) findings: Vec<An2Error>,
    charset: Charset,
}

/// Result of a read: the records, each record's length in the input, and the findings (always empty in strict mode).
pub(crate) struct Parsed {
    pub(crate) records: Vec<Record>,
    pub(crate) lengths: Vec<usize>,
    pub(crate) findings: Vec<An2Error>,
}

/// Record types read field by field; every other tagged type is kept opaque.
pub(crate) fn is_modelled_tagged_type(record_type: u8) -> bool {
    matches!(record_type, 1 | 2 | 9 | 10 | 13 | 14 | 15 | 16 | 17)
}

impl<'a> Parser<'a> {
    pub(crate) fn new(data: &'a [u8], limits: &'a Limits, mode: Mode) -> Self {
        Self {
            data,
            limits,
            mode,
            findings: Vec::new(),
            charset: Charset::Ascii,
        }
    }

    /// Records a non-structural finding: returned as the error in strict mode, kept in report mode.
    pub(crate) fn report(&mut self, error: An2Error) -> Result<(), An2Error> {
        match self.mode {
            Mode::Strict => Err(error),
            Mode::Report => {
                self.findings.push(error);
                Ok(())
            }
        }
    }

    pub(crate) fn parse(mut self) -> Result<Parsed, An2Error> {
        if self.data.len() > self.limits.max_transaction_bytes {
            return Err(An2Error::new(
                0,
                An2ErrorKind::InputTooLarge {
                    len: self.data.len(),
                    max: self.limits.max_transaction_bytes,
                },
            ));
        }
        if self.data.is_empty() {
            return Err(An2Error::new(
                0,
                An2ErrorKind::Truncated {
                    expected: "a Type-1 record",
                },
            ));
        }
        let (type1, type1_spans, type1_len) = self
            .parse_tagged(0, 1, 0)
            .map_err(|error| error.in_record(1, 0))?;
        validate::check_type1(&mut self, &type1, &type1_spans, 0)?;
        self.charset = declared_charset(&type1);
        let listed = self.read_cnt(&type1, &type1_spans)?;

        let mut records = Vec::with_capacity(listed.len() + 1);
        let mut lengths = Vec::with_capacity(listed.len() + 1);
        records.push(Record::Tagged(type1));
        lengths.push(type1_len);
        let mut offset = type1_len;
        for (position, &(record_type, listed_idc)) in listed.iter().enumerate() {
            let index = position + 1;
            if offset >= self.data.len() {
                return Err(An2Error::new(
                    offset,
                    An2ErrorKind::Truncated {
                        expected: "a record listed in field 1.003",
                    },
                )
                .in_record(record_type, index));
            }
            let (record, length) = self
                .parse_record(offset, record_type, index, listed_idc)
                .map_err(|error| error.in_record(record_type, index))?;
            records.push(record);
            lengths.push(length);
            offset += length;
        }
        if offset < self.data.len() {
            self.report(An2Error::new(
                offset,
                An2ErrorKind::TrailingBytes {
                    count: self.data.len() - offset,
                },
            ))?;
        }
        Ok(Parsed {
            records,
            lengths,
            findings: self.findings,
        })
    }

    fn parse_record(
        &mut self,
        offset: usize,
        record_type: u8,
        index: usize,
        listed_idc: u8,
    ) -> Result<(Record, usize), An2Error> {
        let (record, length, idc, idc_offset) = match record_type {
            3..=6 => {
                let (record, length) = self.parse_fixed_image(offset, record_type, index)?;
                let idc = record.idc;
                (Record::FixedImage(record), length, Some(idc), offset + 4)
            }
            7 => {
                let (bytes, length) = self.binary_record(offset, 5)?;
                let idc = *bytes.get(4).unwrap_or(&0);
                let record = Type7Record::new(idc, bytes.get(5..).unwrap_or_default().to_vec())
                    .map_err(|error| An2Error { offset, ..error })?;
                (
                    Record::UserDefinedImage(record),
                    length,
                    Some(idc),
                    offset + 4,
                )
            }
            8 => {
                let (record, length) = self.parse_signature(offset, index)?;
                let idc = record.idc;
                (Record::Signature(record), length, Some(idc), offset + 4)
            }
            _ if is_modelled_tagged_type(record_type) => {
                let (record, spans, length) = self.parse_tagged(offset, record_type, index)?;
                validate::check_tagged(self, &record, &spans, offset, index)?;
                let idc_offset = spans.first().map_or(offset, |span| span.value_offset);
                let idc = record.idc();
                (Record::Tagged(record), length, idc, idc_offset)
            }
            _ => {
                let (record, length, idc_offset) = self.parse_opaque(offset, record_type)?;
                let idc = record.idc();
                (Record::Opaque(record), length, Some(idc), idc_offset)
            }
        };
        if let Some(idc) = idc
            && idc != listed_idc
        {
            self.report(
                An2Error::new(
                    idc_offset,
                    An2ErrorKind::IdcMismatch {
                        expected: listed_idc,
                        found: idc,
                    },
                )
                .in_record(record_type, index),
            )?;
        }
        Ok((record, length))
    }

    /// Reads a binary record's 4-byte big-endian length and returns the record's bytes.
    fn binary_record(&self, offset: usize, min_len: usize) -> Result<(&'a [u8], usize), An2Error> {
        let available = self.data.len() - offset;
        let Some(len_bytes) = self.data.get(offset..offset + 4) else {
            return Err(An2Error::new(
                offset,
                An2ErrorKind::Truncated {
                    expected: "a 4-byte binary record length",
                },
            ));
        };
        let declared = u32::from_be_bytes(<[u8; 4]>::try_from(len_bytes).unwrap_or_default());
        let declared_usize = declared as usize;
        if declared_usize < min_len {
            return Err(An2Error::new(
                offset,
                An2ErrorKind::LengthTooSmall {
                    declared: u64::from(declared),
                    min: min_len as u64,
                },
            ));
        }
        if declared_usize > available {
            return Err(An2Error::new(
                offset,
                An2ErrorKind::LengthBeyondEnd {
                    declared: u64::from(declared),
                    available,
                },
            ));
        }
        Ok((
            span(self.data, offset, offset + declared_usize),
            declared_usize,
        ))
    }

    fn parse_fixed_image(
        &mut self,
        offset: usize,
        record_type: u8,
        index: usize,
    ) -> Result<(FixedImageRecord, usize), An2Error> {
        let (bytes, length) = self.binary_record(offset, FIXED_IMAGE_HEADER_LEN)?;
        let header: [u8; FIXED_IMAGE_HEADER_LEN] = span(bytes, 0, FIXED_IMAGE_HEADER_LEN)
            .try_into()
            .unwrap_or([0; FIXED_IMAGE_HEADER_LEN]);
        let fgp = [
            header[6], header[7], header[8], header[9], header[10], header[11],
        ];
        let record = FixedImageRecord::new(
            record_type,
            header[4],
            header[5],
            fgp,
            header[12],
            u16::from_be_bytes([header[13], header[14]]),
            u16::from_be_bytes([header[15], header[16]]),
            header[17],
            span(bytes, FIXED_IMAGE_HEADER_LEN, bytes.len()).to_vec(),
        )
        .map_err(|error| An2Error { offset, ..error })?;
        validate::check_fixed_image(self, &record, offset, index)?;
        Ok((record, length))
    }

    fn parse_signature(
        &mut self,
        offset: usize,
        index: usize,
    ) -> Result<(SignatureRecord, usize), An2Error> {
        let (bytes, length) = self.binary_record(offset, SIGNATURE_HEADER_LEN)?;
        let header: [u8; SIGNATURE_HEADER_LEN] = span(bytes, 0, SIGNATURE_HEADER_LEN)
            .try_into()
            .unwrap_or([0; SIGNATURE_HEADER_LEN]);
        let record = SignatureRecord::new(
            header[4],
            header[5],
            header[6],
            header[7],
            u16::from_be_bytes([header[8], header[9]]),
            u16::from_be_bytes([header[10], header[11]]),
            span(bytes, SIGNATURE_HEADER_LEN, bytes.len()).to_vec(),
        )
        .map_err(|error| An2Error { offset, ..error })?;
        validate::check_signature(self, &record, offset, index)?;
        Ok((record, length))
    }

    /// Reads a tag `T.F:` at `offset`; returns the tag and the offset just past the colon.
    fn parse_tag(&self, offset: usize, end: usize) -> Result<(Tag, usize), An2Error> {
        let window = span(self.data, offset, end.min(offset + 16));
        let bad = || {
            An2Error::new(
                offset,
                An2ErrorKind::BadTag {
                    found: show_bytes(span(window, 0, window.len().min(12))),
                },
            )
        };
        let dot = window
            .iter()
            .position(|&byte| byte == b'.')
            .ok_or_else(bad)?;
        let colon = window
            .iter()
            .position(|&byte| byte == b':')
            .ok_or_else(bad)?;
        let type_digits = span(window, 0, dot);
        let field_digits = window.get(dot + 1..colon).ok_or_else(bad)?;
        // Annex B: the record type has 1 to 2 digits (3 tolerated with leading zeros) and the field number at least
        // one digit: legacy files use two-digit field numbers (`1.01:`), current ones three or more (`1.001:`).
        if type_digits.is_empty()
            || type_digits.len() > 3
            || field_digits.is_empty()
            || field_digits.len() > 9
        {
            return Err(bad());
        }
        let record_type = parse_uint(type_digits).ok_or_else(bad)?;
        let field = parse_uint(field_digits).ok_or_else(bad)?;
        let record_type = u8::try_from(record_type)
            .ok()
            .filter(|value| (1..=99).contains(value))
            .ok_or_else(bad)?;
        let field = u32::try_from(field).map_err(|_| bad())?;
        Ok((Tag::new(record_type, field), offset + colon + 1))
    }

    /// Reads the `T.001:LEN` field at `offset` and checks the record's extent. Returns (declared length, offset of
    /// the byte ending the length value, that byte).
    fn record_extent(&self, offset: usize, expected_type: u8) -> Result<(usize, usize), An2Error> {
        let (tag, value_start) = self.parse_tag(offset, self.data.len())?;
        if tag.record_type != expected_type {
            return Err(An2Error::new(
                offset,
                An2ErrorKind::RecordTypeMismatch {
                    expected: expected_type,
                    found: tag.record_type,
                },
            ));
        }
        if tag.field != 1 {
            return Err(An2Error::new(
                offset,
                An2ErrorKind::LengthFieldNotFirst { found: tag },
            ));
        }
        let rest = span(self.data, value_start, self.data.len());
        let digits_len = rest
            .iter()
            .position(|&byte| byte == GS || byte == FS)
            .unwrap_or(rest.len());
        let digits = span(rest, 0, digits_len.min(20));
        let declared = if digits_len <= 12 {
            parse_uint(digits)
        } else {
            None
        };
        let Some(declared) = declared.filter(|&value| value > 0) else {
            return Err(An2Error::new(
                value_start,
                An2ErrorKind::BadLength {
                    found: show_bytes(digits),
                },
            )
            .in_field(Tag::new(expected_type, 1)));
        };
        let value_end = value_start + digits_len;
        let min = (value_end - offset + 1) as u64;
        if declared < min {
            return Err(
                An2Error::new(value_start, An2ErrorKind::LengthTooSmall { declared, min })
                    .in_field(Tag::new(expected_type, 1)),
            );
        }
        let available = self.data.len() - offset;
        let declared_usize = usize::try_from(declared).unwrap_or(usize::MAX);
        if declared_usize > available {
            return Err(An2Error::new(
                value_start,
                An2ErrorKind::LengthBeyondEnd {
                    declared,
                    available,
                },
            )
            .in_field(Tag::new(expected_type, 1)));
        }
        let last = offset + declared_usize - 1;
        if byte_at(self.data, last) != FS {
            return Err(An2Error::new(
                last,
                An2ErrorKind::RecordNotTerminated {
                    found: byte_at(self.data, last),
                },
            ));
        }
        Ok((declared_usize, value_end))
    }

    /// Reads a tagged record of `expected_type` at `offset`.
    fn parse_tagged(
        &mut self,
        offset: usize,
        expected_type: u8,
        index: usize,
    ) -> Result<(TaggedRecord, Vec<FieldSpan>, usize), An2Error> {
        let (length, len_value_end) = self.record_extent(offset, expected_type)?;
        let record_end = offset + length - 1;
        if len_value_end < record_end && byte_at(self.data, len_value_end) == FS {
            return Err(An2Error::new(
                len_value_end,
                An2ErrorKind::EarlyRecordEnd {
                    declared: length as u64,
                },
            )
            .in_field(Tag::new(expected_type, 1)));
        }
        let mut fields: Vec<Field> = Vec::new();
        let mut spans: Vec<FieldSpan> = Vec::new();
        let mut seen: HashSet<u32> = HashSet::new();
        seen.insert(1);
        let mut position = len_value_end;
        while position < record_end {
            // The byte at `position` is the GS that ended the previous field.
            let field_start = position + 1;
            if field_start >= record_end {
                // A GS right before the FS: an empty trailing field slot.
                return Err(An2Error::new(
                    field_start,
                    An2ErrorKind::BadTag {
                        found: String::new(),
                    },
                ));
            }
            if fields.len() >= self.limits.max_fields_per_record {
                return Err(An2Error::new(
                    field_start,
                    An2ErrorKind::LimitExceeded {
                        what: "fields in a record",
                        max: self.limits.max_fields_per_record,
                    },
                ));
            }
            let (tag, value_start) = self.parse_tag(field_start, record_end)?;
            if tag.record_type != expected_type {
                return Err(An2Error::new(
                    field_start,
                    An2ErrorKind::RecordTypeMismatch {
                        expected: expected_type,
                        found: tag.record_type,
                    },
                ));
            }
            if !seen.insert(tag.field) {
                self.report(
                    An2Error::new(field_start, An2ErrorKind::DuplicateField)
                        .in_field(tag)
                        .in_record(expected_type, index),
                )?;
            }
            if fields.is_empty() && expected_type != 1 && tag.field != 2 {
                self.report(
                    An2Error::new(field_start, An2ErrorKind::IdcFieldNotSecond { found: tag })
                        .in_record(expected_type, index),
                )?;
            }
            if tag.field == 999 {
                // Annex B: binary data runs from the colon to the record's closing FS; it may contain any byte.
                let data = span(self.data, value_start, record_end).to_vec();
                fields.push(Field::from_raw(tag, FieldValue::Binary(data)));
                spans.push(FieldSpan {
                    tag,
                    value_offset: value_start,
                });
                position = record_end;
                continue;
            }
            let slice = span(self.data, value_start, record_end);
            let value_len = slice
                .iter()
                .position(|&byte| byte == GS || byte == FS)
                .unwrap_or(slice.len());
            let value_end = value_start + value_len;
            if value_end < record_end && byte_at(self.data, value_end) == FS {
                return Err(An2Error::new(
                    value_end,
                    An2ErrorKind::EarlyRecordEnd {
                        declared: length as u64,
                    },
                )
                .in_field(tag));
            }
            let subfields = self
                .split_value(value_start, value_end)
                .map_err(|error| error.in_field(tag))?;
            if let Some(violation) = self.charset_violation(expected_type, value_start, value_end) {
                self.report(violation.in_field(tag).in_record(expected_type, index))?;
            }
            fields.push(Field::from_raw(tag, FieldValue::Text(subfields)));
            spans.push(FieldSpan {
                tag,
                value_offset: value_start,
            });
            position = value_end;
        }
        Ok((TaggedRecord::from_raw(expected_type, fields), spans, length))
    }

    fn split_value(&self, start: usize, end: usize) -> Result<Vec<Subfield>, An2Error> {
        let value = span(self.data, start, end);
        let mut subfields = Vec::new();
        let mut subfield_start = start;
        for raw_subfield in value.split(|&byte| byte == RS) {
            if subfields.len() >= self.limits.max_subfields_per_field {
                return Err(An2Error::new(
                    subfield_start,
                    An2ErrorKind::LimitExceeded {
                        what: "subfields in a field",
                        max: self.limits.max_subfields_per_field,
                    },
                ));
            }
            let mut items = Vec::new();
            for item in raw_subfield.split(|&byte| byte == US) {
                if items.len() >= self.limits.max_items_per_subfield {
                    return Err(An2Error::new(
                        subfield_start,
                        An2ErrorKind::LimitExceeded {
                            what: "items in a subfield",
                            max: self.limits.max_items_per_subfield,
                        },
                    ));
                }
                items.push(item.to_vec());
            }
            subfields.push(Subfield::from_raw(items));
            subfield_start += raw_subfield.len() + 1;
        }
        Ok(subfields)
    }

    /// §5.5 and Annex A: Type-1 is printable 7-bit ASCII; other records follow 1.015 DCS (default 7-bit ASCII).
    /// Returns the first violation in the value `start..end`.
    fn charset_violation(&self, record_type: u8, start: usize, end: usize) -> Option<An2Error> {
        let value = span(self.data, start, end);
        let is_text_separator = |byte: u8| byte == RS || byte == US;
        if record_type == 1 {
            let position = value
                .iter()
                .position(|&byte| !(is_text_separator(byte) || (0x20..0x7F).contains(&byte)))?;
            let byte = byte_at(value, position);
            let kind = if byte >= 0x80 {
                An2ErrorKind::NonAscii { byte }
            } else {
                An2ErrorKind::ControlCharacter { byte }
            };
            return Some(An2Error::new(start + position, kind));
        }
        if self.charset == Charset::Unchecked {
            return None;
        }
        let is_control = |byte: u8| {
            (byte < 0x20 && !matches!(byte, b'\t' | b'\n' | b'\r' | RS | US)) || byte == 0x7F
        };
        if let Some(position) = value.iter().position(|&byte| is_control(byte)) {
            return Some(An2Error::new(
                start + position,
                An2ErrorKind::ControlCharacter {
                    byte: byte_at(value, position),
                },
            ));
        }
        match self.charset {
            Charset::Ascii => {
                let position = value.iter().position(|&byte| byte >= 0x80)?;
                Some(An2Error::new(
                    start + position,
                    An2ErrorKind::NonAscii {
                        byte: byte_at(value, position),
                    },
                ))
            }
            Charset::Utf8 => match std::str::from_utf8(value) {
                Ok(_) => None,
                Err(utf8_error) => Some(An2Error::new(
                    start + utf8_error.valid_up_to(),
                    An2ErrorKind::InvalidUtf8,
                )),
            },
            Charset::Latin1 | Charset::Unchecked => None,
        }
    }

    /// Reads a record kept opaque: its extent from n.001, its IDC from n.002.
    fn parse_opaque(
        &self,
        offset: usize,
        record_type: u8,
    ) -> Result<(OpaqueRecord, usize, usize), An2Error> {
        let (length, len_value_end) = self.record_extent(offset, record_type)?;
        let record_end = offset + length - 1;
        let idc_tag = Tag::new(record_type, 2);
        if len_value_end >= record_end {
            return Err(An2Error::new(
                len_value_end,
                An2ErrorKind::MissingField { tag: idc_tag },
            ));
        }
        let (tag, value_start) = self.parse_tag(len_value_end + 1, record_end)?;
        if tag != idc_tag {
            return Err(An2Error::new(
                len_value_end + 1,
                An2ErrorKind::IdcFieldNotSecond { found: tag },
            ));
        }
        let slice = span(self.data, value_start, record_end);
        let value_len = slice
            .iter()
            .position(|&byte| byte == GS || byte == FS)
            .unwrap_or(slice.len());
        let idc_bytes = span(slice, 0, value_len);
        let idc = parse_uint(idc_bytes)
            .and_then(|value| u8::try_from(value).ok())
            .filter(|&value| value <= 99);
        let Some(idc) = idc else {
            return Err(An2Error::new(
                value_start,
                An2ErrorKind::InvalidValue {
                    expected: "an IDC of 0 to 99",
                    found: show_bytes(idc_bytes),
                },
            )
            .in_field(idc_tag));
        };
        let bytes = span(self.data, offset, offset + length).to_vec();
        Ok((
            OpaqueRecord::from_raw(record_type, idc, bytes),
            length,
            value_start,
        ))
    }

    /// Reads 1.003 CNT (§8.1.3): first subfield `1 US count`, then one `type US IDC` subfield per record.
    fn read_cnt(
        &mut self,
        type1: &TaggedRecord,
        spans: &[FieldSpan],
    ) -> Result<Vec<(u8, u8)>, An2Error> {
        let cnt_tag = Tag::new(1, 3);
        let Some(cnt) = type1.field(3) else {
            return Err(
                An2Error::new(0, An2ErrorKind::MissingField { tag: cnt_tag }).in_record(1, 0),
            );
        };
        let cnt_offset = spans
            .iter()
            .find(|span| span.tag == cnt_tag)
            .map_or(0, |span| span.value_offset);
        let fail = |reason| {
            An2Error::new(cnt_offset, An2ErrorKind::BadCnt { reason })
                .in_record(1, 0)
                .in_field(cnt_tag)
        };
        let subfields = cnt.subfield_list();
        let Some(first) = subfields.first() else {
            return Err(fail("no subfield"));
        };
        if first.items().len() != 2 || first.item(0) != Some(b"1".as_slice()) {
            return Err(fail(
                "the first subfield must be 1 followed by the record count",
            ));
        }
        let declared = first
            .item(1)
            .and_then(parse_uint)
            .ok_or_else(|| fail("the record count is not a number"))?;
        let listed = subfields.len() - 1;
        if listed > self.limits.max_records {
            return Err(An2Error::new(
                cnt_offset,
                An2ErrorKind::LimitExceeded {
                    what: "records in field 1.003",
                    max: self.limits.max_records,
                },
            )
            .in_record(1, 0)
            .in_field(cnt_tag));
        }
        if declared != listed as u64 {
            self.report(
                An2Error::new(
                    cnt_offset,
                    An2ErrorKind::CntCountMismatch {
                        declared: usize::try_from(declared).unwrap_or(usize::MAX),
                        listed,
                    },
                )
                .in_record(1, 0)
                .in_field(cnt_tag),
            )?;
        }
        let mut entries = Vec::with_capacity(listed);
        for subfield in subfields.iter().skip(1) {
            if subfield.items().len() != 2 {
                return Err(fail(
                    "a record subfield must be record type followed by IDC",
                ));
            }
            let record_type = subfield
                .item(0)
                .and_then(parse_uint)
                .ok_or_else(|| fail("a record type is not a number"))?;
            let idc = subfield
                .item(1)
                .and_then(parse_uint)
                .ok_or_else(|| fail("an IDC is not a number"))?;
            let Some(record_type) = u8::try_from(record_type)
                .ok()
                .filter(|value| (2..=99).contains(value))
            else {
                return Err(An2Error::new(
                    cnt_offset,
                    An2ErrorKind::BadCntRecordType {
                        found: u32::try_from(record_type).unwrap_or(u32::MAX),
                    },
                )
                .in_record(1, 0)
                .in_field(cnt_tag));
            };
            let Some(idc) = u8::try_from(idc).ok().filter(|&value| value <= 99) else {
                return Err(fail("an IDC is not 0 to 99"));
            };
            entries.push((record_type, idc));
        }
        Ok(entries)
    }
}

/// `bytes[start..end]`, or empty when out of range: the callers check bounds first, this keeps a slip from panicking.
fn span(bytes: &[u8], start: usize, end: usize) -> &[u8] {
    bytes.get(start..end).unwrap_or_default()
}

/// `bytes[index]`, or 0 when out of range (see [`span`]).
fn byte_at(bytes: &[u8], index: usize) -> u8 {
    bytes.get(index).copied().unwrap_or(0)
}

/// The charset 1.015 DCS declares (first information item, Table 4).
pub(crate) fn declared_charset(type1: &TaggedRecord) -> Charset {
    match type1.field(15).and_then(Field::first_uint) {
        None | Some(0) => Charset::Ascii,
        Some(1) => Charset::Latin1,
        Some(3) => Charset::Utf8,
        Some(_) => Charset::Unchecked,
    }
}
