//! The NIST_COM comment: `KEY VALUE` lines in a COM segment, first line `NIST_COM <number of lines>`.
//!
//! NBIS writes one into every file it encodes and reads the resolution (`PPI`) back from it; ANSI/NIST-ITL
//! transactions carry the same attributes. The format is a NIST convention (NBIS `nistcom.h`), not part of the WSQ
//! specification itself, which only defines the COM segment (Part 1 syntax).

/// Key of the first line.
pub(crate) const HEADER_KEY: &str = "NIST_COM";

/// Parsed NIST_COM fields, in file order, without the header line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NistCom {
    pub fields: Vec<(String, String)>,
}

/// Comment bytes as text: invalid UTF-8 replaced, trailing NULs (written by some encoders) removed.
pub(crate) fn comment_text(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1);
    let trimmed = bytes.get(..end).unwrap_or_default();
    String::from_utf8_lossy(trimmed).into_owned()
}

impl NistCom {
    /// Parses a comment if it is a NIST_COM one.
    pub fn parse(comment: &[u8]) -> Option<NistCom> {
        let text = comment_text(comment);
        let mut lines = text.split('\n');
        let first = lines.next()?;
        if first.split_whitespace().next()? != HEADER_KEY {
            return None;
        }
        let fields = lines
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let l = l.trim_end_matches('\r');
                match l.split_once(' ') {
                    Some((k, v)) => (k.to_string(), v.trim().to_string()),
                    None => (l.to_string(), String::new()),
                }
            })
            .collect();
        Some(NistCom { fields })
    }

    /// The first NIST_COM comment among `comments`.
    pub fn find(comments: &[Vec<u8>]) -> Option<NistCom> {
        comments.iter().find_map(|c| NistCom::parse(c))
    }

    /// Value of a key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Scanning resolution; NBIS writes `-1` when it is unknown.
    pub fn ppi(&self) -> Option<u16> {
        self.get("PPI")?.parse::<u16>().ok().filter(|&p| p > 0)
    }

    /// Sets a key in place if present, else appends it (the way NBIS merges caller fields with the image
    /// attributes it knows).
    pub fn set(&mut self, key: &str, value: String) {
        match self.fields.iter_mut().find(|(k, _)| k == key) {
            Some(field) => field.1 = value,
            None => self.fields.push((key.to_string(), value)),
        }
    }

    /// Serialises as NBIS does: the header line counts itself, lines are joined by `\n`, no trailing newline.
    pub fn to_text(&self) -> String {
        let mut text = format!("{HEADER_KEY} {}", self.fields.len() + 1);
        for (k, v) in &self.fields {
            text.push('\n');
            text.push_str(k);
            text.push(' ');
            text.push_str(v);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_writes_like_nbis() {
        let nbis = "NIST_COM 9\nPIX_WIDTH 804\nPIX_HEIGHT 752\nPIX_DEPTH 8\nPPI 500\nLOSSY 1\nCOLORSPACE GRAY\n\
                    COMPRESSION WSQ\nWSQ_BITRATE 0.750000";
        let parsed = NistCom::parse(nbis.as_bytes()).unwrap();
        assert_eq!(parsed.fields.len(), 8);
        assert_eq!(parsed.ppi(), Some(500));
        assert_eq!(parsed.get("WSQ_BITRATE"), Some("0.750000"));
        assert_eq!(parsed.to_text(), nbis);
        assert!(NistCom::parse(b"hello").is_none());
        assert_eq!(comment_text(b"abc\0\0"), "abc");
    }
}
