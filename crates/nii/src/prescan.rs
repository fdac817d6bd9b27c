//! Length pre-scan of a DICOM/DICOS byte stream, run before dicom-rs parses it.
//!
//! dicom-rs sizes a value buffer from the element's declared length before reading it, so a 2 KB file declaring
//! a 4 GB element would allocate gigabytes before failing. This walk over element headers (PS3.5 section 7:
//! tag, VR, length; section 7.5: sequence items and delimiters) checks every defined length against the bytes
//! that remain, recursing into sequences, and bounds nesting depth, without allocating.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

use crate::error::NiiError;

/// Deepest sequence nesting accepted; DICOS TDRs nest four levels.
const MAX_DEPTH: usize = 16;
const UNDEFINED: u32 = 0xFFFF_FFFF;
/// Value representations of PS3.5 table 6.2-1.
const VALID_VRS: [&[u8; 2]; 34] = [
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"OB",
    b"OD", b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM",
    b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
];

struct Walker<'a> {
    data: &'a [u8],
    implicit: bool,
}

fn err(offset: usize, reason: &str) -> NiiError {
    NiiError::NotDicos {
        reason: format!("{reason} at byte {offset}"),
    }
}

impl Walker<'_> {
    fn u16_at(&self, pos: usize) -> Result<u16, NiiError> {
        self.data
            .get(pos..pos + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or_else(|| err(pos, "truncated element header"))
    }

    fn u32_at(&self, pos: usize) -> Result<u32, NiiError> {
        self.data
            .get(pos..pos + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| err(pos, "truncated element header"))
    }

    /// Walks elements in `[pos, end)`; returns the position after the data set, or after an item delimiter when
    /// `in_undefined_item`.
    fn dataset(
        &self,
        mut pos: usize,
        end: usize,
        depth: usize,
        in_undefined_item: bool,
    ) -> Result<usize, NiiError> {
        if depth > MAX_DEPTH {
            return Err(err(pos, "sequences nested too deeply"));
        }
        while pos < end {
            let tag = Tag(self.u16_at(pos)?, self.u16_at(pos + 2)?);
            if tag.group() == 0xFFFE {
                // Item delimitation (E00D) closes an undefined-length item; anything else here is malformed.
                if tag.element() == 0xE00D && in_undefined_item {
                    return Ok(pos + 8);
                }
                return Err(err(pos, "unexpected item tag in a data set"));
            }
            let (is_sequence, len, value_start) = if self.implicit {
                let len = self.u32_at(pos + 4)?;
                let known_sq = StandardDataDictionary
                    .by_tag(tag)
                    .is_some_and(|e| matches!(e.vr(), VirtualVr::Exact(VR::SQ)));
                (known_sq || len == UNDEFINED, len, pos + 8)
            } else {
                let vr = self
                    .data
                    .get(pos + 4..pos + 6)
                    .ok_or_else(|| err(pos, "truncated element header"))?;
                // An unknown VR would be read by dicom-rs with a 4-byte length this walk did not check.
                if !VALID_VRS.iter().any(|v| v.as_slice() == vr) {
                    return Err(err(pos + 4, "unknown value representation"));
                }
                let long = matches!(
                    vr,
                    b"OB"
                        | b"OW"
                        | b"OF"
                        | b"OD"
                        | b"OL"
                        | b"OV"
                        | b"SQ"
                        | b"UT"
                        | b"UN"
                        | b"UC"
                        | b"UR"
                        | b"SV"
                        | b"UV"
                );
                if long {
                    (vr == b"SQ" || vr == b"UN", self.u32_at(pos + 8)?, pos + 12)
                } else {
                    (false, u32::from(self.u16_at(pos + 6)?), pos + 8)
                }
            };
            pos = if len == UNDEFINED {
                // Undefined length: a sequence, or encapsulated pixel data whose items are opaque fragments.
                let opaque = tag == Tag(0x7FE0, 0x0010);
                self.items(value_start, end, depth + 1, opaque)?
            } else {
                let value_end = value_start
                    .checked_add(len as usize)
                    .filter(|&e| e <= end)
                    .ok_or_else(|| err(pos, "element length runs past the end of the data"))?;
                if is_sequence && len > 0 && tag != Tag(0x7FE0, 0x0010) {
                    self.defined_items(value_start, value_end, depth + 1)?;
                }
                value_end
            };
        }
        if in_undefined_item {
            return Err(err(pos, "item without delimiter"));
        }
        Ok(pos)
    }

    /// Items of an undefined-length sequence, up to its delimiter.
    fn items(
        &self,
        mut pos: usize,
        end: usize,
        depth: usize,
        opaque: bool,
    ) -> Result<usize, NiiError> {
        loop {
            let tag = Tag(self.u16_at(pos)?, self.u16_at(pos + 2)?);
            let len = self.u32_at(pos + 4)?;
            match (tag.group(), tag.element()) {
                (0xFFFE, 0xE0DD) => return Ok(pos + 8),
                (0xFFFE, 0xE000) => {
                    if len == UNDEFINED {
                        if opaque {
                            return Err(err(pos, "pixel data fragment of undefined length"));
                        }
                        pos = self.dataset(pos + 8, end, depth, true)?;
                    } else {
                        let item_end = (pos + 8)
                            .checked_add(len as usize)
                            .filter(|&e| e <= end)
                            .ok_or_else(|| err(pos, "item length runs past the end of the data"))?;
                        if !opaque {
                            self.dataset(pos + 8, item_end, depth, false)?;
                        }
                        pos = item_end;
                    }
                }
                _ => return Err(err(pos, "expected a sequence item")),
            }
        }
    }

    /// Items of a defined-length sequence filling `[pos, end)`.
    fn defined_items(&self, mut pos: usize, end: usize, depth: usize) -> Result<(), NiiError> {
        while pos < end {
            let tag = Tag(self.u16_at(pos)?, self.u16_at(pos + 2)?);
            let len = self.u32_at(pos + 4)?;
            if tag != Tag(0xFFFE, 0xE000) {
                return Err(err(pos, "expected a sequence item"));
            }
            if len == UNDEFINED {
                pos = self.dataset(pos + 8, end, depth, true)?;
            } else {
                let item_end = (pos + 8)
                    .checked_add(len as usize)
                    .filter(|&e| e <= end)
                    .ok_or_else(|| err(pos, "item length runs past its sequence"))?;
                self.dataset(pos + 8, item_end, depth, false)?;
                pos = item_end;
            }
        }
        Ok(())
    }
}

/// Checks the lengths of a Part 10 stream starting at the `DICM` magic.
///
/// The file meta group is explicit VR little endian (PS3.10 7.1); its Transfer Syntax UID decides how the rest
/// is walked. Big-endian and deflated syntaxes are left to dicom-rs (DICOS devices do not use them).
pub(crate) fn check_lengths(body: &[u8]) -> Result<(), NiiError> {
    let meta = Walker {
        data: body,
        implicit: false,
    };
    // Walk the meta group element by element to find its end and the transfer syntax.
    let mut pos = 4usize;
    let mut transfer_syntax = String::new();
    let mut group_length: Option<(usize, usize)> = None;
    while body.get(pos..pos + 2) == Some(&[0x02, 0x00]) {
        let element = meta.u16_at(pos + 2)?;
        let vr = body
            .get(pos + 4..pos + 6)
            .ok_or_else(|| err(pos, "truncated meta group"))?;
        if !VALID_VRS.iter().any(|v| v.as_slice() == vr) {
            return Err(err(
                pos + 4,
                "unknown value representation in the meta group",
            ));
        }
        let (len, start) = if matches!(vr, b"OB" | b"OW" | b"SQ" | b"UN" | b"UT") {
            (meta.u32_at(pos + 8)? as usize, pos + 12)
        } else {
            (usize::from(meta.u16_at(pos + 6)?), pos + 8)
        };
        let value = body
            .get(start..start.saturating_add(len))
            .ok_or_else(|| err(pos, "meta group element runs past the end of the data"))?;
        if element == 0x0000 && value.len() == 4 {
            group_length = Some((
                start + len,
                u32::from_le_bytes([value[0], value[1], value[2], value[3]]) as usize,
            ));
        }
        if element == 0x0010 {
            transfer_syntax = String::from_utf8_lossy(value)
                .trim_end_matches(['\0', ' '])
                .to_string();
        }
        pos = start + len;
    }
    // dicom-rs trusts File Meta Information Group Length (0002,0000); it must match the group actually present.
    if let Some((after, declared)) = group_length
        && after + declared != pos
    {
        return Err(err(
            after,
            "file meta group length does not match the group",
        ));
    }
    if transfer_syntax.is_empty() || group_length.is_none() {
        return Err(err(
            pos,
            "file meta group lacks its group length or transfer syntax",
        ));
    }
    let walker = match transfer_syntax.as_str() {
        "1.2.840.10008.1.2" => Walker {
            data: body,
            implicit: true,
        },
        "1.2.840.10008.1.2.2" | "1.2.840.10008.1.2.1.99" => return Ok(()),
        _ => Walker {
            data: body,
            implicit: false,
        },
    };
    walker.dataset(pos, body.len(), 0, false).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "DICM", a meta group (group length, transfer syntax) and one data set element.
    fn stream(ts: &str, element: &[u8]) -> Vec<u8> {
        let mut ts_bytes = ts.as_bytes().to_vec();
        if ts_bytes.len() % 2 == 1 {
            ts_bytes.push(0);
        }
        let ts_elem_len = 8 + ts_bytes.len();
        let mut out = b"DICM".to_vec();
        out.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0]);
        out.extend_from_slice(&(ts_elem_len as u32).to_le_bytes());
        out.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
        out.extend_from_slice(&(ts_bytes.len() as u16).to_le_bytes());
        out.extend_from_slice(&ts_bytes);
        out.extend_from_slice(element);
        out
    }

    #[test]
    fn accepts_consistent_lengths_and_rejects_oversized_ones() {
        let ok = [0x10, 0x00, 0x20, 0x00, b'L', b'O', 2, 0, b'A', b'B'];
        assert!(check_lengths(&stream("1.2.840.10008.1.2.1", &ok)).is_ok());
        // An OB element declaring 4 GB - 2 in a tiny stream.
        let huge = [
            0x09, 0x00, 0x10, 0x00, b'O', b'B', 0, 0, 0xFE, 0xFF, 0xFF, 0xFF,
        ];
        let e = check_lengths(&stream("1.2.840.10008.1.2.1", &huge)).unwrap_err();
        assert!(e.to_string().contains("runs past"), "{e}");
        // Implicit VR: 4-byte length straight after the tag.
        let implicit = [0x10, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x70];
        assert!(check_lengths(&stream("1.2.840.10008.1.2", &implicit)).is_err());
        // Unknown VR.
        let bad_vr = [0x10, 0x00, 0x20, 0x00, b'Z', b'Z', 2, 0, b'A', b'B'];
        assert!(check_lengths(&stream("1.2.840.10008.1.2.1", &bad_vr)).is_err());
    }

    #[test]
    fn rejects_nesting_bombs() {
        // Undefined-length sequences nested past MAX_DEPTH, each opening an undefined-length item.
        let mut body = Vec::new();
        for _ in 0..(MAX_DEPTH + 4) {
            body.extend_from_slice(&[
                0x11, 0x40, 0x11, 0x10, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
            ]);
            body.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        }
        let e = check_lengths(&stream("1.2.840.10008.1.2.1", &body)).unwrap_err();
        assert!(e.to_string().contains("nested"), "{e}");
    }
}
