//! The in-memory form of a transaction: records, fields, subfields, items and binary layouts.

use std::borrow::Cow;

use crate::error::{An2Error, An2ErrorKind, Tag};

/// File separator: ends a record (Annex B).
pub(crate) const FS: u8 = 0x1C;
/// Group separator: ends a field (Annex B).
pub(crate) const GS: u8 = 0x1D;
/// Record separator: separates subfields (Annex B).
pub(crate) const RS: u8 = 0x1E;
/// Unit separator: separates information items (Annex B).
pub(crate) const US: u8 = 0x1F;

pub(crate) fn is_separator(byte: u8) -> bool {
    matches!(byte, FS | GS | RS | US)
}

/// One subfield: a list of information items, each kept as the raw bytes of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subfield {
    items: Vec<Vec<u8>>,
}

impl Subfield {
    /// A subfield from its items.
    ///
    /// # Errors
    /// [`An2ErrorKind::Unencodable`] if an item contains one of the four separator bytes.
    pub fn new<I, B>(items: I) -> Result<Self, An2Error>
    where
        I: IntoIterator<Item = B>,
        B: Into<Vec<u8>>,
    {
        let items: Vec<Vec<u8>> = items.into_iter().map(Into::into).collect();
        if items.iter().flatten().any(|&byte| is_separator(byte)) {
            return Err(An2Error::new(
                0,
                An2ErrorKind::Unencodable {
                    reason: "item contains an FS/GS/RS/US separator",
                },
            ));
        }
        if items.is_empty() {
            return Ok(Self {
                items: vec![Vec::new()],
            });
        }
        Ok(Self { items })
    }

    pub(crate) fn from_raw(items: Vec<Vec<u8>>) -> Self {
        Self { items }
    }

    /// The information items.
    #[must_use]
    pub fn items(&self) -> &[Vec<u8>] {
        &self.items
    }

    /// Item `index` (0-based) as bytes.
    #[must_use]
    pub fn item(&self, index: usize) -> Option<&[u8]> {
        self.items.get(index).map(Vec::as_slice)
    }
}

/// The value of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// A text field: one or more subfields, each of one or more items.
    Text(Vec<Subfield>),
    /// Binary data (field n.999 of tagged image records).
    Binary(Vec<u8>),
}

/// One field of a tagged record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    tag: Tag,
    value: FieldValue,
}

impl Field {
    /// A text field holding one subfield with one item.
    ///
    /// # Errors
    /// [`An2ErrorKind::Unencodable`] if `text` contains a separator byte, or if `tag` is an n.001 length field
    /// (the writer computes those) or an n.999 data field (use [`Field::binary`]).
    pub fn text(tag: Tag, text: impl Into<Vec<u8>>) -> Result<Self, An2Error> {
        Self::subfields(tag, vec![Subfield::new([text])?])
    }

    /// A text field from its subfields.
    ///
    /// # Errors
    /// [`An2ErrorKind::Unencodable`] for an n.001 or n.999 tag, or no subfield at all.
    pub fn subfields(tag: Tag, subfields: Vec<Subfield>) -> Result<Self, An2Error> {
        if tag.field == 1 {
            return Err(An2Error::new(
                0,
                An2ErrorKind::Unencodable {
                    reason: "the writer computes n.001",
                },
            )
            .in_field(tag));
        }
        if tag.field == 999 {
            return Err(An2Error::new(
                0,
                An2ErrorKind::Unencodable {
                    reason: "n.999 holds binary data",
                },
            )
            .in_field(tag));
        }
        if subfields.is_empty() {
            return Err(An2Error::new(
                0,
                An2ErrorKind::Unencodable {
                    reason: "a field needs a subfield",
                },
            )
            .in_field(tag));
        }
        Ok(Self {
            tag,
            value: FieldValue::Text(subfields),
        })
    }

    /// A binary data field; only n.999 carries binary data in the traditional encoding.
    ///
    /// # Errors
    /// [`An2ErrorKind::Unencodable`] if the tag is not n.999.
    pub fn binary(tag: Tag, data: Vec<u8>) -> Result<Self, An2Error> {
        if tag.field != 999 {
            return Err(An2Error::new(
                0,
                An2ErrorKind::Unencodable {
                    reason: "only n.999 holds binary data",
                },
            )
            .in_field(tag));
        }
        Ok(Self {
            tag,
            value: FieldValue::Binary(data),
        })
    }

    pub(crate) fn from_raw(tag: Tag, value: FieldValue) -> Self {
        Self { tag, value }
    }

    /// The field's tag.
    #[must_use]
    pub fn tag(&self) -> Tag {
        self.tag
    }

    /// The field's value.
    #[must_use]
    pub fn value(&self) -> &FieldValue {
        &self.value
    }

    /// The subfields of a text field (empty for a binary field).
    #[must_use]
    pub fn subfield_list(&self) -> &[Subfield] {
        match &self.value {
            FieldValue::Text(subfields) => subfields,
            FieldValue::Binary(_) => &[],
        }
    }

    /// The binary data of an n.999 field.
    #[must_use]
    pub fn data(&self) -> Option<&[u8]> {
        match &self.value {
            FieldValue::Binary(data) => Some(data),
            FieldValue::Text(_) => None,
        }
    }

    /// Item `item` of subfield `subfield` (both 0-based) as bytes.
    #[must_use]
    pub fn item(&self, subfield: usize, item: usize) -> Option<&[u8]> {
        self.subfield_list().get(subfield)?.item(item)
    }

    /// The first item of the first subfield, as text (lossy for invalid UTF-8).
    #[must_use]
    pub fn first_text(&self) -> Option<Cow<'_, str>> {
        self.item(0, 0).map(String::from_utf8_lossy)
    }

    /// The whole text value as the file spells it but with separators shown as `|` (items) and `;` (subfields):
    /// handy for logs, never for re-encoding.
    #[must_use]
    pub fn display_text(&self) -> String {
        let subfields: Vec<String> = self
            .subfield_list()
            .iter()
            .map(|subfield| {
                subfield
                    .items()
                    .iter()
                    .map(|item| String::from_utf8_lossy(item).into_owned())
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect();
        subfields.join(";")
    }

    /// The first item parsed as an unsigned decimal integer.
    #[must_use]
    pub fn first_uint(&self) -> Option<u64> {
        parse_uint(self.item(0, 0)?)
    }
}

/// Parses ASCII decimal digits (1 to 18 of them) into an integer.
pub(crate) fn parse_uint(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 18 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        bytes
            .iter()
            .fold(0u64, |acc, &digit| acc * 10 + u64::from(digit - b'0')),
    )
}

/// A tagged record (Type-1, Type-2, Type-9 through Type-17): fields in file order. The length field n.001 is not
/// kept (the writer computes it); everything else, including 1.003 and n.002, is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedRecord {
    record_type: u8,
    fields: Vec<Field>,
}

impl TaggedRecord {
    /// A tagged record from its fields (n.001 excluded). For every type but 1, the first field must be n.002 IDC.
    ///
    /// # Errors
    /// [`An2ErrorKind::Unencodable`] if a field's tag belongs to another record type, a tag repeats, the type is
    /// binary (3 to 8) or out of range, or the IDC field is not first.
    pub fn new(record_type: u8, fields: Vec<Field>) -> Result<Self, An2Error> {
        if !(1..=99).contains(&record_type) || (3..=8).contains(&record_type) {
            return Err(An2Error::new(
                0,
                An2ErrorKind::Unencodable {
                    reason: "not a tagged record type",
                },
            ));
        }
        for (position, field) in fields.iter().enumerate() {
            if field.tag.record_type != record_type {
                return Err(An2Error::new(
                    0,
                    An2ErrorKind::Unencodable {
                        reason: "field tag of another record type",
                    },
                )
                .in_field(field.tag));
            }
            if fields
                .iter()
                .take(position)
                .any(|earlier| earlier.tag == field.tag)
            {
                return Err(An2Error::new(
                    0,
                    An2ErrorKind::Unencodable {
                        reason: "field repeats",
                    },
                )
                .in_field(field.tag));
            }
        }
        if record_type != 1 && fields.first().map(|field| field.tag.field) != Some(2) {
            return Err(An2Error::new(
                0,
                An2ErrorKind::Unencodable {
                    reason: "first field must be n.002 IDC",
                },
            ));
        }
        Ok(Self {
            record_type,
            fields,
        })
    }

    pub(crate) fn from_raw(record_type: u8, fields: Vec<Field>) -> Self {
        Self {
            record_type,
            fields,
        }
    }

    /// Record type.
    #[must_use]
    pub fn record_type(&self) -> u8 {
        self.record_type
    }

    /// The fields, n.001 excluded, in file order.
    #[must_use]
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Field `number` of this record.
    #[must_use]
    pub fn field(&self, number: u32) -> Option<&Field> {
        self.fields.iter().find(|field| field.tag.field == number)
    }

    /// The IDC from field n.002 (None for Type-1 or an unreadable value).
    #[must_use]
    pub fn idc(&self) -> Option<u8> {
        if self.record_type == 1 {
            return None;
        }
        u8::try_from(self.field(2)?.first_uint()?).ok()
    }

    /// Replaces field `field.tag()` if present (keeping its position) or appends it.
    ///
    /// # Errors
    /// [`An2ErrorKind::Unencodable`] if the field belongs to another record type.
    pub fn set_field(&mut self, field: Field) -> Result<(), An2Error> {
        if field.tag.record_type != self.record_type {
            return Err(An2Error::new(
                0,
                An2ErrorKind::Unencodable {
                    reason: "field tag of another record type",
                },
            )
            .in_field(field.tag));
        }
        match self
            .fields
            .iter_mut()
            .find(|existing| existing.tag == field.tag)
        {
            Some(existing) => *existing = field,
            None => self.fields.push(field),
        }
        Ok(())
    }

    /// Removes field `number`, returning it.
    pub fn remove_field(&mut self, number: u32) -> Option<Field> {
        let position = self
            .fields
            .iter()
            .position(|field| field.tag.field == number)?;
        Some(self.fields.remove(position))
    }

    pub(crate) fn set_idc(&mut self, idc: u8) {
        let value = FieldValue::Text(vec![Subfield::from_raw(vec![
            format!("{idc:02}").into_bytes(),
        ])]);
        let tag = Tag::new(self.record_type, 2);
        match self.fields.iter_mut().find(|field| field.tag == tag) {
            Some(existing) => existing.value = value,
            None => self.fields.insert(0, Field { tag, value }),
        }
    }
}

/// Largest image data a binary record can carry: the 4-byte LEN minus the fixed header.
pub(crate) const MAX_BINARY_RECORD_LEN: usize = u32::MAX as usize;

/// Types 3, 4, 5 and 6: fixed 18-byte header then image data (§8.3–8.6 and Annex B.2; types 3, 5 and 6 are legacy).
///
/// | bytes | field | meaning |
/// | --- | --- | --- |
/// | 1–4 | LEN | record length, big-endian |
/// | 5 | IDC | information designation character |
/// | 6 | IMP | impression type (Table 7) |
/// | 7–12 | FGP | up to six finger positions (Table 8), unused bytes 255 |
/// | 13 | ISR | image scanning resolution: 0 minimum, 1 native |
/// | 14–15 | HLL | horizontal line length (pixels) |
/// | 16–17 | VLL | vertical line length (lines) |
/// | 18 | GCA / BCA | compression algorithm (Table 15 binary codes for types 3/4) |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedImageRecord {
    record_type: u8,
    /// Information designation character.
    pub idc: u8,
    /// Impression type.
    pub imp: u8,
    /// Finger positions, 255 = unused.
    pub fgp: [u8; 6],
    /// Image scanning resolution flag.
    pub isr: u8,
    /// Horizontal line length.
    pub hll: u16,
    /// Vertical line length.
    pub vll: u16,
    /// Grayscale (types 3, 4) or binary (types 5, 6) compression algorithm code.
    pub compression: u8,
    data: Vec<u8>,
}

/// Length of the fixed header of types 3 to 6 and of the legacy Type-7 layout.
pub(crate) const FIXED_IMAGE_HEADER_LEN: usize = 18;

impl FixedImageRecord {
    /// A Type-3, 4, 5 or 6 record.
    ///
    /// # Errors
    /// [`An2ErrorKind::Unencodable`] for another record type or data too large for the 4-byte length.
    #[allow(clippy::too_many_arguments)] // The header is a fixed layout of eight values; a struct would only rename it.
    pub fn new(
        record_type: u8,
        idc: u8,
        imp: u8,
        fgp: [u8; 6],
        isr: u8,
        hll: u16,
        vll: u16,
        compression: u8,
        data: Vec<u8>,
    ) -> Result<Self, An2Error> {
        if !(3..=6).contains(&record_type) {
            return Err(An2Error::new(
                0,
                An2ErrorKind::Unencodable {
                    reason: "fixed image records are types 3 to 6",
                },
            ));
        }
        if data.len() > MAX_BINARY_RECORD_LEN - FIXED_IMAGE_HEADER_LEN {
            return Err(An2Error::new(
                0,
                An2ErrorKind::Unencodable {
                    reason: "image too large for a 4-byte LEN",
                },
            ));
        }
        Ok(Self {
            record_type,
            idc,
            imp,
            fgp,
            isr,
            hll,
            vll,
            compression,
            data,
        })
    }

    /// Record type (3 to 6).
    #[must_use]
    pub fn record_type(&self) -> u8 {
        self.record_type
    }

    /// Image data.
    #[must_use]
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The finger positions in use (255 fill bytes dropped).
    #[must_use]
    pub fn positions(&self) -> Vec<u8> {
        self.fgp
            .iter()
            .copied()
            .filter(|&position| position != 255)
            .collect()
    }
}

/// Type-7 user-defined image record (§8.7): only LEN (4 bytes) and IDC (1 byte) are fixed by the standard, the rest is
/// user-defined and kept verbatim. [`Type7Record::legacy_header`] reads the common EBTS layout (the Type-4 header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Type7Record {
    /// Information designation character.
    pub idc: u8,
    data: Vec<u8>,
}

/// The EBTS (FBI) reading of a Type-7 record: the same header as Type-4 (EBTS Appendix H).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Type7Header {
    /// Impression type.
    pub imp: u8,
    /// Finger positions, 255 = unused.
    pub fgp: [u8; 6],
    /// Image scanning resolution flag.
    pub isr: u8,
    /// Horizontal line length.
    pub hll: u16,
    /// Vertical line length.
    pub vll: u16,
    /// Grayscale compression algorithm code.
    pub gca: u8,
}

impl Type7Record {
    /// A Type-7 record carrying `data` after its 5-byte LEN and IDC.
    ///
    /// # Errors
    /// [`An2ErrorKind::Unencodable`] if the data is too large for the 4-byte length.
    pub fn new(idc: u8, data: Vec<u8>) -> Result<Self, An2Error> {
        if data.len() > MAX_BINARY_RECORD_LEN - 5 {
            return Err(An2Error::new(
                0,
                An2ErrorKind::Unencodable {
                    reason: "data too large for a 4-byte LEN",
                },
            ));
        }
        Ok(Self { idc, data })
    }

    /// Everything after LEN and IDC.
    #[must_use]
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The EBTS layout's header, if the record is long enough to carry one.
    #[must_use]
    pub fn legacy_header(&self) -> Option<Type7Header> {
        let header = self.data.get(..FIXED_IMAGE_HEADER_LEN - 5)?;
        let mut fgp = [0u8; 6];
        fgp.copy_from_slice(header.get(1..7)?);
        Some(Type7Header {
            imp: *header.first()?,
            fgp,
            isr: *header.get(7)?,
            hll: u16::from_be_bytes([*header.get(8)?, *header.get(9)?]),
            vll: u16::from_be_bytes([*header.get(10)?, *header.get(11)?]),
            gca: *header.get(12)?,
        })
    }

    /// The image data under the EBTS layout (after the 18-byte header), if the record has that header.
    #[must_use]
    pub fn legacy_image(&self) -> Option<&[u8]> {
        self.data.get(FIXED_IMAGE_HEADER_LEN - 5..)
    }
}

/// Type-8 signature record (§8.8): 12-byte header then data.
///
/// | bytes | field | meaning |
/// | --- | --- | --- |
/// | 1–4 | LEN | record length |
/// | 5 | IDC | |
/// | 6 | SIG | 0 subject's signature, 1 official's |
/// | 7 | SRT | 0 scanned uncompressed, 1 scanned compressed, 2 vector |
/// | 8 | ISR | 0 minimum resolution (500 ppi), 1 native |
/// | 9–10 | HLL | pixels per line (0 for vectors) |
/// | 11–12 | VLL | lines (0 for vectors) |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureRecord {
    /// Information designation character.
    pub idc: u8,
    /// Signature type.
    pub sig: u8,
    /// Signature representation type.
    pub srt: u8,
    /// Image scanning resolution flag.
    pub isr: u8,
    /// Horizontal line length.
    pub hll: u16,
    /// Vertical line length.
    pub vll: u16,
    data: Vec<u8>,
}

/// Length of the Type-8 fixed header.
pub(crate) const SIGNATURE_HEADER_LEN: usize = 12;

impl SignatureRecord {
    /// A Type-8 record.
    ///
    /// # Errors
    /// [`An2ErrorKind::Unencodable`] if the data is too large for the 4-byte length.
    pub fn new(
        idc: u8,
        sig: u8,
        srt: u8,
        isr: u8,
        hll: u16,
        vll: u16,
        data: Vec<u8>,
    ) -> Result<Self, An2Error> {
        if data.len() > MAX_BINARY_RECORD_LEN - SIGNATURE_HEADER_LEN {
            return Err(An2Error::new(
                0,
                An2ErrorKind::Unencodable {
                    reason: "data too large for a 4-byte LEN",
                },
            ));
        }
        Ok(Self {
            idc,
            sig,
            srt,
            isr,
            hll,
            vll,
            data,
        })
    }

    /// Signature data (image or vectors).
    #[must_use]
    pub fn data(&self) -> &[u8] {
        &self.data
    }
}

/// A record kept as its exact bytes: Type-99 (CBEFF) and every record type this crate does not model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpaqueRecord {
    record_type: u8,
    idc: u8,
    bytes: Vec<u8>,
}

impl OpaqueRecord {
    pub(crate) fn from_raw(record_type: u8, idc: u8, bytes: Vec<u8>) -> Self {
        Self {
            record_type,
            idc,
            bytes,
        }
    }

    /// Record type.
    #[must_use]
    pub fn record_type(&self) -> u8 {
        self.record_type
    }

    /// IDC read from the record's n.002 field.
    #[must_use]
    pub fn idc(&self) -> u8 {
        self.idc
    }

    /// The record's bytes, from its n.001 tag to its closing FS.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// One logical record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// Types 1, 2, 9, 10, 13, 14, 15, 16 and 17.
    Tagged(TaggedRecord),
    /// Types 3, 4, 5 and 6.
    FixedImage(FixedImageRecord),
    /// Type 7.
    UserDefinedImage(Type7Record),
    /// Type 8.
    Signature(SignatureRecord),
    /// Type 99 and unmodelled types, verbatim.
    Opaque(OpaqueRecord),
}

impl Record {
    /// Record type.
    #[must_use]
    pub fn record_type(&self) -> u8 {
        match self {
            Self::Tagged(record) => record.record_type,
            Self::FixedImage(record) => record.record_type,
            Self::UserDefinedImage(_) => 7,
            Self::Signature(_) => 8,
            Self::Opaque(record) => record.record_type,
        }
    }

    /// IDC (None for Type-1, which has none, or a tagged record whose n.002 is unreadable).
    #[must_use]
    pub fn idc(&self) -> Option<u8> {
        match self {
            Self::Tagged(record) => record.idc(),
            Self::FixedImage(record) => Some(record.idc),
            Self::UserDefinedImage(record) => Some(record.idc),
            Self::Signature(record) => Some(record.idc),
            Self::Opaque(record) => Some(record.idc),
        }
    }

    /// Sets the IDC (rewrites n.002 for tagged records as two digits). Opaque records keep their bytes, so their IDC
    /// cannot change: `false` is returned for them and for Type-1.
    pub fn set_idc(&mut self, idc: u8) -> bool {
        match self {
            Self::Tagged(record) if record.record_type != 1 => {
                record.set_idc(idc);
                true
            }
            Self::Tagged(_) | Self::Opaque(_) => false,
            Self::FixedImage(record) => {
                record.idc = idc;
                true
            }
            Self::UserDefinedImage(record) => {
                record.idc = idc;
                true
            }
            Self::Signature(record) => {
                record.idc = idc;
                true
            }
        }
    }

    /// The tagged record, if this is one.
    #[must_use]
    pub fn as_tagged(&self) -> Option<&TaggedRecord> {
        match self {
            Self::Tagged(record) => Some(record),
            _ => None,
        }
    }
}
