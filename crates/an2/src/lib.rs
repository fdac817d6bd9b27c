//! `garita-an2`: reader, validator and writer of ANSI/NIST-ITL 1-2011 (Update 2015) transactions in the
//! traditional encoding (Annex B: FS/GS/RS/US separators and fixed binary layouts).
//!
//! Spec: ANSI/NIST-ITL 1-2011 Update 2015, "Data Format for the Interchange of Fingerprint, Facial & Other Biometric
//! Information" (NIST SP 500-290 Edition 3). Clause numbers in this crate are of that edition: §8.N is the Type-N
//! record, Annex B the traditional encoding, Table 15 the compression codes.
//!
//! # Main types
//! * [`Transaction`]: [`Transaction::from_bytes`] reads and validates (fails closed on the first violation),
//!   [`Transaction::to_bytes`] writes (recomputing every n.001 length and 1.003 CNT), [`Transaction::to_dump_json`]
//!   gives the JSON of `garita an2 dump --json`, [`Transaction::images`] the enrollment view.
//! * [`Record`]: tagged records ([`TaggedRecord`]: fields, subfields, items, n.999 binary data), the fixed binary
//!   layouts of types 3–6 ([`FixedImageRecord`]), 7 ([`Type7Record`]) and 8 ([`SignatureRecord`]), and
//!   [`OpaqueRecord`] for Type-99 and record types not modelled here, kept byte for byte.
//! * [`An2Error`]: byte offset, `(record type, record index)`, field tag and an [`An2ErrorKind`] naming the rule.
//! * [`TransactionBuilder`]: a new transaction from Type-1 values, Type-2 fields and records copied from elsewhere.
//! * [`probe_image`]: the geometry an embedded WSQ/JPEG/PNG/JPEG 2000 stream declares, to check it against HLL/VLL.
//!
//! # In scope
//! Record types 1, 2, 9, 10, 13, 14, 15, 16 and 17 field by field; 3, 4, 5, 6, 7, 8 by their binary layouts; legacy
//! two-digit field tags (`1.01:`) on input; versions 0200 to 0502 (the version is read, not enforced). Checks: 1.003
//! against the records (count, types, IDCs), record lengths and terminators, mandatory fields, duplicate fields,
//! character sets (Type-1 printable ASCII; other records by 1.015 DCS), the forms of dates, IDCs, resolutions and
//! image geometry fields, uncompressed image sizes of types 3–6.
//!
//! # Out of scope
//! The NIEM/XML encoding; decoding pixels (WSQ, JPEG, JPEG 2000 and PNG bytes are carried as they are); Type-9
//! minutiae semantics (records are kept field by field, unchanged); field-by-field content of types 11, 12, 18–22,
//! 98 and 99 (kept opaque). This crate does no I/O, logs nothing and never panics on input; size caps
//! ([`Limits`]) are applied before allocation.
//!
//! # Example
//! ```
//! use garita_an2::{Modality, Transaction, TransactionBuilder};
//!
//! // Build a small transaction, write it, read it back.
//! let built = TransactionBuilder::new("CAR", "DAI000000", "ORI000000", "TCN-1", "20260102")
//!     .type2_text(3, "subject reference")
//!     .build()?;
//! let bytes = built.to_bytes();
//! let read = Transaction::from_bytes(&bytes)?;
//! assert_eq!(read, built);
//! assert_eq!(read.to_bytes(), bytes);
//! assert!(read.images().iter().all(|image| image.modality != Modality::Face));
//! let json = read.to_dump_json();
//! assert_eq!(json["records"][1]["fields"]["2.003"], "subject reference");
//!
//! // Every violation is an error with its place, never a panic.
//! let error = Transaction::from_bytes(&bytes[..bytes.len() - 1]).unwrap_err();
//! assert_eq!(error.record, Some((2, 1)));
//! # Ok::<(), garita_an2::An2Error>(())
//! ```

// The reader must not panic on any input: every index goes through `get` (STYLE.md §11, parser crates).
#![deny(clippy::indexing_slicing)]

mod builder;
mod error;
mod model;
mod parse;
mod probe;
mod transaction;
mod validate;
mod view;
mod write;

pub use builder::{TransactionBuilder, VERSION_2011_UPDATE_2015};
pub use error::{An2Error, An2ErrorKind, Tag};
pub use model::{
    Field, FieldValue, FixedImageRecord, OpaqueRecord, Record, SignatureRecord, Subfield,
    TaggedRecord, Type7Header, Type7Record,
};
pub use parse::Limits;
pub use probe::{ImageFormat, ImageInfo, probe_image};
pub use transaction::Transaction;
pub use view::{Compression, EyeLabel, ImageRecordView, Modality, SmtDescriptors};
