//! [`Transaction`]: the parsed form of one ANSI/NIST-ITL file, with its entry points.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use crate::error::An2Error;
use crate::model::{Field, FieldValue, Record, TaggedRecord};
use crate::parse::{Limits, Mode, Parser};
use crate::write::write_records;

/// One ANSI/NIST-ITL transaction: the Type-1 record followed by the records its 1.003 CNT lists, in file order.
#[derive(Debug, Clone)]
pub struct Transaction {
    records: Vec<Record>,
    /// Byte length of each record in the bytes it was read from.
    lengths: Vec<usize>,
}

/// Two transactions are equal when their records and fields are; record lengths are not compared, as the writer
/// recomputes them.
impl PartialEq for Transaction {
    fn eq(&self, other: &Self) -> bool {
        self.records == other.records
    }
}

impl Eq for Transaction {}

/// Replaces a checked 1.003 CNT by the form the writer produces (type without leading zeros, two-digit IDC), so a
/// transaction read from `02␟0` instead of `2␟00` equals itself after a write and a read (found by the
/// `an2_roundtrip` fuzz target; see docs/fuzzing.md). Real files already use the canonical form and are unchanged.
fn with_canonical_cnt(mut records: Vec<Record>) -> Vec<Record> {
    let canonical = crate::write::cnt_subfields(&records);
    if let Some(Record::Tagged(type1)) = records.first_mut()
        && type1.record_type() == 1
        && let Ok(field) = crate::model::Field::subfields(crate::Tag::new(1, 3), canonical)
    {
        // The reader has already checked 1.003 against the records, so this changes only its spelling.
        let _ = type1.set_field(field);
    }
    records
}

impl Transaction {
    /// Reads and validates a transaction with the default [`Limits`]; fails closed on the first violation.
    ///
    /// # Errors
    /// The first structural or content violation, with its byte offset, record and field.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, An2Error> {
        Self::from_bytes_with_limits(bytes, &Limits::default())
    }

    /// [`Transaction::from_bytes`] with explicit size caps.
    ///
    /// # Errors
    /// As [`Transaction::from_bytes`].
    pub fn from_bytes_with_limits(bytes: &[u8], limits: &Limits) -> Result<Self, An2Error> {
        let parsed = Parser::new(bytes, limits, Mode::Strict).parse()?;
        Ok(Self {
            records: with_canonical_cnt(parsed.records),
            lengths: parsed.lengths,
        })
    }

    /// Validation-report mode: reads the transaction as far as its structure allows and returns it together with every
    /// content finding (mandatory fields, character sets, IDCs, value forms, CNT count). Structural errors (lengths,
    /// tags, truncation) still end the read.
    ///
    /// # Errors
    /// The first structural error.
    pub fn check_bytes(bytes: &[u8], limits: &Limits) -> Result<(Self, Vec<An2Error>), An2Error> {
        let parsed = Parser::new(bytes, limits, Mode::Report).parse()?;
        Ok((
            Self {
                records: with_canonical_cnt(parsed.records),
                lengths: parsed.lengths,
            },
            parsed.findings,
        ))
    }

    pub(crate) fn from_records_unchecked(records: Vec<Record>) -> Self {
        Self {
            records,
            lengths: Vec::new(),
        }
    }

    /// Writes the transaction in the traditional encoding, recomputing every record length and field 1.003.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        write_records(&self.records)
    }

    /// Checks the transaction as it would be written: the offsets in the error refer to [`Transaction::to_bytes`].
    ///
    /// # Errors
    /// The first violation.
    pub fn validate(&self) -> Result<(), An2Error> {
        Self::from_bytes(&self.to_bytes()).map(|_| ())
    }

    /// All records, the Type-1 record first.
    #[must_use]
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The records, consumed.
    #[must_use]
    pub fn into_records(self) -> Vec<Record> {
        self.records
    }

    /// Byte length of each record: as read for a parsed transaction, as written otherwise.
    #[must_use]
    pub fn record_lengths(&self) -> Vec<usize> {
        if self.lengths.len() == self.records.len() {
            return self.lengths.clone();
        }
        self.records
            .iter()
            .map(|record| write_records(std::slice::from_ref(record)).len())
            .collect()
    }

    /// The Type-1 record.
    #[must_use]
    pub fn type1(&self) -> Option<&TaggedRecord> {
        self.records.first().and_then(Record::as_tagged)
    }

    /// Type-1 field `number`'s first item as text.
    #[must_use]
    pub fn type1_text(&self, number: u32) -> Option<Cow<'_, str>> {
        self.type1()?.field(number)?.first_text()
    }

    /// 1.002 VER, e.g. `0400` for ANSI/NIST-ITL 1-2007, `0500` for 1-2011, `0502` for its 2015 update.
    #[must_use]
    pub fn version(&self) -> Option<Cow<'_, str>> {
        self.type1_text(2)
    }

    /// 1.004 TOT, the type of transaction.
    #[must_use]
    pub fn transaction_type(&self) -> Option<Cow<'_, str>> {
        self.type1_text(4)
    }

    /// 1.005 DAT, `YYYYMMDD`.
    #[must_use]
    pub fn date(&self) -> Option<Cow<'_, str>> {
        self.type1_text(5)
    }

    /// 1.007 DAI, the destination agency identifier.
    #[must_use]
    pub fn destination_agency(&self) -> Option<Cow<'_, str>> {
        self.type1_text(7)
    }

    /// 1.008 ORI, the originating agency identifier.
    #[must_use]
    pub fn originating_agency(&self) -> Option<Cow<'_, str>> {
        self.type1_text(8)
    }

    /// 1.009 TCN, the transaction control number.
    #[must_use]
    pub fn control_number(&self) -> Option<Cow<'_, str>> {
        self.type1_text(9)
    }

    /// Type-2 records (user-defined descriptive text, §8.2).
    pub fn type2_records(&self) -> impl Iterator<Item = &TaggedRecord> {
        self.tagged_records(2)
    }

    /// Field `number` of the first Type-2 record.
    #[must_use]
    pub fn type2_field(&self, number: u32) -> Option<&Field> {
        self.type2_records().next()?.field(number)
    }

    /// First item of field `number` of the first Type-2 record, as text.
    #[must_use]
    pub fn type2_text(&self, number: u32) -> Option<Cow<'_, str>> {
        self.type2_field(number)?.first_text()
    }

    /// Tagged records of one type, e.g. 9 for the minutiae records, kept as they are.
    pub fn tagged_records(&self, record_type: u8) -> impl Iterator<Item = &TaggedRecord> {
        self.records
            .iter()
            .filter_map(Record::as_tagged)
            .filter(move |record| record.record_type() == record_type)
    }

    /// The transaction as JSON, in the shape of `garita an2 dump --json`:
    ///
    /// ```text
    /// {"records":[{"type":N,"idc":N,"length":BYTES,"fields":{"T.FFF":value}}]}
    /// ```
    ///
    /// * `idc` is `null` for the Type-1 record, which has none.
    /// * A text field with one subfield of one item is a string; any other text field is an array of subfields,
    ///   each an array of item strings. Text is read as UTF-8 (lossily), or as ISO 8859-1 when 1.015 says so.
    /// * The length field is included (`"T.001": "LEN"`). Binary data (n.999) is `{"binary_length": BYTES}`.
    /// * Binary records (types 3–8) carry `"header"` (their fixed header values by mnemonic) and `"image_length"`
    ///   instead of `"fields"`; opaque records (Type-99, unmodelled types) carry `"opaque": true` and no fields.
    #[must_use]
    pub fn to_dump_json(&self) -> Value {
        let latin1 = self
            .type1()
            .and_then(|record| record.field(15))
            .and_then(Field::first_uint)
            == Some(1);
        let lengths = self.record_lengths();
        let records: Vec<Value> = self
            .records
            .iter()
            .zip(lengths)
            .map(|(record, length)| dump_record(record, length, latin1))
            .collect();
        json!({ "records": records })
    }
}

fn text(bytes: &[u8], latin1: bool) -> Value {
    if latin1 {
        Value::String(bytes.iter().map(|&byte| char::from(byte)).collect())
    } else {
        Value::String(String::from_utf8_lossy(bytes).into_owned())
    }
}

fn dump_value(value: &FieldValue, latin1: bool) -> Value {
    match value {
        FieldValue::Binary(data) => json!({ "binary_length": data.len() }),
        FieldValue::Text(subfields) => {
            if let [only] = subfields.as_slice()
                && let [item] = only.items()
            {
                return text(item, latin1);
            }
            Value::Array(
                subfields
                    .iter()
                    .map(|subfield| {
                        Value::Array(
                            subfield
                                .items()
                                .iter()
                                .map(|item| text(item, latin1))
                                .collect(),
                        )
                    })
                    .collect(),
            )
        }
    }
}

fn dump_record(record: &Record, length: usize, latin1: bool) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), json!(record.record_type()));
    object.insert(
        "idc".into(),
        record.idc().map_or(Value::Null, |idc| json!(idc)),
    );
    object.insert("length".into(), json!(length));
    match record {
        Record::Tagged(tagged) => {
            let mut fields = Map::new();
            let record_type = tagged.record_type();
            fields.insert(
                format!("{record_type}.001"),
                Value::String(length.to_string()),
            );
            for field in tagged.fields() {
                fields.insert(field.tag().to_string(), dump_value(field.value(), latin1));
            }
            object.insert("fields".into(), Value::Object(fields));
        }
        Record::FixedImage(image) => {
            let compression_key = if matches!(image.record_type(), 3 | 4) {
                "GCA"
            } else {
                "BCA"
            };
            let mut header = Map::new();
            header.insert("IMP".into(), json!(image.imp));
            header.insert("FGP".into(), json!(image.fgp));
            header.insert("ISR".into(), json!(image.isr));
            header.insert("HLL".into(), json!(image.hll));
            header.insert("VLL".into(), json!(image.vll));
            header.insert(compression_key.into(), json!(image.compression));
            object.insert("header".into(), Value::Object(header));
            object.insert("image_length".into(), json!(image.data().len()));
        }
        Record::UserDefinedImage(user) => {
            // Only LEN and IDC are standard; the EBTS reading of the next 13 bytes is shown when present.
            match (user.legacy_header(), user.legacy_image()) {
                (Some(header), Some(image)) => {
                    object.insert(
                        "header".into(),
                        json!({ "IMP": header.imp, "FGP": header.fgp, "ISR": header.isr, "HLL": header.hll,
                                "VLL": header.vll, "GCA": header.gca }),
                    );
                    object.insert("image_length".into(), json!(image.len()));
                }
                _ => {
                    object.insert("header".into(), json!({}));
                    object.insert("image_length".into(), json!(user.data().len()));
                }
            }
        }
        Record::Signature(signature) => {
            object.insert(
                "header".into(),
                json!({ "SIG": signature.sig, "SRT": signature.srt, "ISR": signature.isr, "HLL": signature.hll,
                        "VLL": signature.vll }),
            );
            object.insert("image_length".into(), json!(signature.data().len()));
        }
        Record::Opaque(_) => {
            object.insert("opaque".into(), Value::Bool(true));
        }
    }
    Value::Object(object)
}
