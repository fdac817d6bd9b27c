//! garita's domain model: the nouns every other crate speaks.
//!
//! Agencies run sites (ports, land crossings, detention facilities); sites hold devices (NII scanners, biometric
//! terminals, mobile kits), each with an Ed25519 key. Devices send [`Envelope`]s — signed captures — carrying a
//! [`payload`] (an encounter with biometric samples, a consignment with its manifest). Officers act on alerts and
//! consignments as [`User`]s with a [`Role`].
//!
//! Invalid values are unrepresentable: the constructors of [`CountryCode`], [`ContainerNumber`], [`HsCode`],
//! [`NistPosition`] and friends validate, and serde goes through them, so a value of one of these types has been
//! checked. [`payload::parse_json`] reports the path of the first bad field, for a 4xx body that names it.
//!
//! In scope: types, validation, the canonical envelope encoding and its signature (docs/envelope.md).
//! Out of scope: storage, HTTP, biometric formats (garita-an2, garita-wsq), analysis.
//!
//! ```
//! use garita_model::ContainerNumber;
//! assert!(ContainerNumber::new("CSQU3054383").is_ok());
//! assert!(ContainerNumber::new("CSQU3054384").is_err()); // wrong check digit
//! ```

mod entities;
mod envelope;
mod error;
pub mod payload;
pub mod snapshot;
mod validated;

pub use entities::*;
pub use envelope::{
    BlobRef, DeviceKey, Envelope, MAX_BLOBS, SignedEnvelope, canonical_time, device_request_bytes,
    parse_public_key,
};
pub use error::ModelError;
pub use validated::{
    ContainerNumber, CountryCode, HsCode, NistPosition, Quality, Sha256Hex, Username, sha256_hex,
};
