//! [`TransactionBuilder`]: a new transaction (Type-1, Type-2, image records copied from elsewhere), e.g. to export an
//! encounter. Time is a parameter: the caller passes the date.

use crate::error::{An2Error, An2ErrorKind, Tag};
use crate::model::{Field, Record, Subfield, TaggedRecord};
use crate::transaction::Transaction;
use crate::validate::{is_date, is_gmt};

/// The version written by default: ANSI/NIST-ITL 1-2011 Update 2015.
pub const VERSION_2011_UPDATE_2015: &str = "0502";

/// Builds a transaction; [`TransactionBuilder::build`] writes it, reads it back and validates it.
///
/// ```
/// use garita_an2::{Transaction, TransactionBuilder};
///
/// let tx = TransactionBuilder::new("EXPORT", "DAI000000", "GARITA001", "TCN-42", "20260101")
///     .type2_text(3, "encounter 42")
///     .build()?;
/// let again = Transaction::from_bytes(&tx.to_bytes())?;
/// assert_eq!(again, tx);
/// assert_eq!(again.type2_text(3).as_deref(), Some("encounter 42"));
/// # Ok::<(), garita_an2::An2Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TransactionBuilder {
    version: String,
    transaction_type: String,
    destination_agency: String,
    originating_agency: String,
    control_number: String,
    date: String,
    native_resolution: String,
    transmitting_resolution: String,
    type1_extra: Vec<(u32, Vec<Vec<Vec<u8>>>)>,
    type2_fields: Vec<(u32, Vec<Vec<Vec<u8>>>)>,
    records: Vec<(Record, Option<u8>)>,
}

impl TransactionBuilder {
    /// A builder for 1.004 TOT, 1.007 DAI, 1.008 ORI, 1.009 TCN and 1.005 DAT (`YYYYMMDD`).
    #[must_use]
    pub fn new(
        transaction_type: &str,
        destination_agency: &str,
        originating_agency: &str,
        control_number: &str,
        date: &str,
    ) -> Self {
        Self {
            version: VERSION_2011_UPDATE_2015.to_owned(),
            transaction_type: transaction_type.to_owned(),
            destination_agency: destination_agency.to_owned(),
            originating_agency: originating_agency.to_owned(),
            control_number: control_number.to_owned(),
            date: date.to_owned(),
            native_resolution: "00.00".to_owned(),
            transmitting_resolution: "00.00".to_owned(),
            type1_extra: Vec::new(),
            type2_fields: Vec::new(),
            records: Vec::new(),
        }
    }

    /// 1.002 VER (default `0502`).
    #[must_use]
    pub fn version(mut self, version: &str) -> Self {
        version.clone_into(&mut self.version);
        self
    }

    /// 1.011 NSR and 1.012 NTR in pixels per millimetre, `NN.NN` (default `00.00`, as for transactions without
    /// binary fingerprint records). Copy them from the source transaction when copying Type-4 records with ISR 1.
    #[must_use]
    pub fn resolutions(mut self, native: &str, transmitting: &str) -> Self {
        native.clone_into(&mut self.native_resolution);
        transmitting.clone_into(&mut self.transmitting_resolution);
        self
    }

    /// 1.014 GMT, `YYYYMMDDHHMMSSZ`.
    #[must_use]
    pub fn gmt(self, gmt: &str) -> Self {
        self.type1_items(14, vec![vec![gmt.as_bytes().to_vec()]])
    }

    /// 1.010 TCR, the transaction control reference.
    #[must_use]
    pub fn control_reference(self, reference: &str) -> Self {
        self.type1_items(10, vec![vec![reference.as_bytes().to_vec()]])
    }

    /// 1.013 DOM: domain name and version (e.g. `NORAM`, ``).
    #[must_use]
    pub fn domain(self, name: &str, version: &str) -> Self {
        self.type1_items(
            13,
            vec![vec![name.as_bytes().to_vec(), version.as_bytes().to_vec()]],
        )
    }

    /// Any other Type-1 field, as subfields of items. Fields 1.001 and 1.003 are computed by the writer.
    #[must_use]
    pub fn type1_items(mut self, number: u32, subfields: Vec<Vec<Vec<u8>>>) -> Self {
        self.type1_extra.retain(|(existing, _)| *existing != number);
        self.type1_extra.push((number, subfields));
        self
    }

    /// A Type-2 field holding one item of text.
    #[must_use]
    pub fn type2_text(self, number: u32, text: &str) -> Self {
        self.type2_items(number, vec![vec![text.as_bytes().to_vec()]])
    }

    /// A Type-2 field as subfields of items.
    #[must_use]
    pub fn type2_items(mut self, number: u32, subfields: Vec<Vec<Vec<u8>>>) -> Self {
        self.type2_fields
            .retain(|(existing, _)| *existing != number);
        self.type2_fields.push((number, subfields));
        self
    }

    /// Appends a record (types 3–99 except 2, which the builder writes), keeping its IDC.
    #[must_use]
    pub fn record(mut self, record: Record) -> Self {
        self.records.push((record, None));
        self
    }

    /// Appends a record with a new IDC (tagged records get their n.002 rewritten).
    #[must_use]
    pub fn record_with_idc(mut self, record: Record, idc: u8) -> Self {
        self.records.push((record, Some(idc)));
        self
    }

    /// Writes the transaction, reads it back and validates it.
    ///
    /// # Errors
    /// [`An2ErrorKind::Unencodable`] for a value that cannot be written (a separator inside text, a Type-1 or
    /// Type-2 record passed to [`TransactionBuilder::record`], an IDC that cannot be set); otherwise the first
    /// validation error of the written bytes, with offsets into [`Transaction::to_bytes`].
    pub fn build(self) -> Result<Transaction, An2Error> {
        let unencodable = |reason| An2Error::new(0, An2ErrorKind::Unencodable { reason });
        if !is_date(self.date.as_bytes()) {
            return Err(unencodable("1.005 DAT must be YYYYMMDD").in_field(Tag::new(1, 5)));
        }
        if let Some((_, subfields)) = self.type1_extra.iter().find(|(number, _)| *number == 14)
            && !subfields
                .first()
                .and_then(|items| items.first())
                .is_some_and(|gmt| is_gmt(gmt))
        {
            return Err(unencodable("1.014 GMT must be YYYYMMDDHHMMSSZ").in_field(Tag::new(1, 14)));
        }
        let mut records = Vec::with_capacity(self.records.len() + 2);
        let mut others = Vec::with_capacity(self.records.len());
        for (mut record, idc) in self.records {
            if matches!(record.record_type(), 1 | 2) {
                return Err(unencodable("types 1 and 2 are written by the builder"));
            }
            if let Some(idc) = idc
                && !record.set_idc(idc)
            {
                return Err(unencodable("the IDC of an opaque record cannot change"));
            }
            others.push(record);
        }
        let needs_utf8 = self
            .type2_fields
            .iter()
            .any(|(_, subfields)| subfields.iter().flatten().flatten().any(|&b| b >= 0x80))
            || others.iter().filter_map(Record::as_tagged).any(|record| {
                record.fields().iter().any(|field| {
                    field
                        .subfield_list()
                        .iter()
                        .flat_map(Subfield::items)
                        .flatten()
                        .any(|&b| b >= 0x80)
                })
            });

        let mut type1_fields = vec![
            text_field(1, 2, &self.version)?,
            text_field(1, 3, "")?, // Recomputed by the writer.
            text_field(1, 4, &self.transaction_type)?,
            text_field(1, 5, &self.date)?,
            text_field(1, 7, &self.destination_agency)?,
            text_field(1, 8, &self.originating_agency)?,
            text_field(1, 9, &self.control_number)?,
            text_field(1, 11, &self.native_resolution)?,
            text_field(1, 12, &self.transmitting_resolution)?,
        ];
        let mut extra = self.type1_extra;
        if needs_utf8 && !extra.iter().any(|(number, _)| *number == 15) {
            // Annex A.2: text outside 7-bit ASCII needs 1.015 DCS; UTF-8 is index 3.
            extra.push((15, vec![vec![b"3".to_vec(), b"UTF-8".to_vec()]]));
        }
        for (number, subfields) in extra {
            if matches!(number, 1 | 3)
                || type1_fields.iter().any(|field| field.tag().field == number)
            {
                return Err(unencodable("this Type-1 field is written by the builder")
                    .in_field(Tag::new(1, number)));
            }
            type1_fields.push(items_field(1, number, subfields)?);
        }
        type1_fields.sort_by_key(|field| field.tag().field);
        records.push(Record::Tagged(TaggedRecord::new(1, type1_fields)?));

        let mut type2_fields = vec![text_field(2, 2, "00")?];
        let mut type2_extra = self.type2_fields;
        type2_extra.sort_by_key(|(number, _)| *number);
        for (number, subfields) in type2_extra {
            if matches!(number, 1 | 2) {
                return Err(unencodable("2.001 and 2.002 are written by the builder")
                    .in_field(Tag::new(2, number)));
            }
            type2_fields.push(items_field(2, number, subfields)?);
        }
        records.push(Record::Tagged(TaggedRecord::new(2, type2_fields)?));
        records.extend(others);

        let bytes = Transaction::from_records_unchecked(records).to_bytes();
        Transaction::from_bytes(&bytes)
    }
}

fn text_field(record_type: u8, number: u32, text: &str) -> Result<Field, An2Error> {
    Field::text(Tag::new(record_type, number), text.as_bytes())
}

fn items_field(
    record_type: u8,
    number: u32,
    subfields: Vec<Vec<Vec<u8>>>,
) -> Result<Field, An2Error> {
    let subfields = subfields
        .into_iter()
        .map(Subfield::new)
        .collect::<Result<Vec<_>, _>>()?;
    Field::subfields(Tag::new(record_type, number), subfields)
        .map_err(|error| error.in_field(Tag::new(record_type, number)))
}
