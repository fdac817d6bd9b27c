//! C2SP tlog-tiles resource paths, tile geometry and entry bundles ([tlog-tiles]).
//!
//! `tlog_tiles` implements the Go sumdb tile layout (`tile/H/L/N`, `tile/H/data/N`), which differs from the C2SP
//! one (`tile/L/N`, `tile/entries/N`, height fixed at 8), so the path codec is written here from the spec.
//!
//! [tlog-tiles]: https://c2sp.org/tlog-tiles

use crate::error::PathError;
use crate::merkle::{HASH_SIZE, Hash, StoredHashes};

/// Tile height: every tile holds up to 2^8 hashes or entries ([tlog-tiles] "Merkle Tree").
///
/// [tlog-tiles]: https://c2sp.org/tlog-tiles#merkle-tree
pub const TILE_HEIGHT: u8 = 8;
/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;
/// Largest entry an entry bundle can carry (big-endian uint16 length prefix).
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;
/// Longest resource path accepted; the longest valid one (`tile/entries/` plus seven `xNNN/` groups and `.p/255`)
/// is well under this.
const MAX_PATH_LEN: usize = 64;

/// What a tile holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileKind {
    /// Merkle tree hashes at tree level `8 * level`.
    Hashes {
        /// Tile level (0 holds leaf hashes).
        level: u8,
    },
    /// An entry bundle: the entries whose leaf hashes make up level-0 tile `index`.
    Entries,
}

/// One tile or entry bundle: kind, index within its level and width (1..=256; 256 is a full tile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    /// Hash tile or entry bundle.
    pub kind: TileKind,
    /// `N`: the tile's position within its level.
    pub index: u64,
    /// `W`: number of hashes or entries, 256 for a full tile.
    pub width: u16,
}

/// A resource of a tiled log, relative to the log prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// `checkpoint`.
    Checkpoint,
    /// `tile/...`.
    Tile(TileId),
}

impl TileId {
    /// A hash tile.
    pub fn hashes(level: u8, index: u64, width: u16) -> Self {
        Self {
            kind: TileKind::Hashes { level },
            index,
            width,
        }
    }

    /// An entry bundle.
    pub fn entries(index: u64, width: u16) -> Self {
        Self {
            kind: TileKind::Entries,
            index,
            width,
        }
    }

    /// Whether the tile holds fewer than 256 items.
    pub fn is_partial(&self) -> bool {
        u64::from(self.width) < TILE_WIDTH
    }

    /// The tile's path relative to the log prefix, e.g. `tile/0/x001/234.p/5`.
    pub fn path(&self) -> String {
        let level = match self.kind {
            TileKind::Hashes { level } => level.to_string(),
            TileKind::Entries => "entries".to_owned(),
        };
        let mut out = format!("tile/{level}/{}", encode_index(self.index));
        if self.is_partial() {
            out.push_str(&format!(".p/{}", self.width));
        }
        out
    }

    /// Parses a tile path (relative to the log prefix, no leading slash).
    ///
    /// # Errors
    ///
    /// [`PathError`] unless `path` is exactly the canonical path of a tile.
    pub fn from_path(path: &str) -> Result<Self, PathError> {
        match Resource::from_path(path)? {
            Resource::Tile(tile) => Ok(tile),
            Resource::Checkpoint => Err(PathError::new(path, "not a tile path")),
        }
    }
}

impl Resource {
    /// Parses a resource path such as `checkpoint`, `tile/0/x001/234` or `tile/entries/000.p/5`.
    ///
    /// # Errors
    ///
    /// [`PathError`] for anything else, including non-canonical spellings (leading zeros, missing `x`).
    pub fn from_path(path: &str) -> Result<Self, PathError> {
        if path.len() > MAX_PATH_LEN {
            return Err(PathError::new(path, "too long"));
        }
        if path == "checkpoint" {
            return Ok(Self::Checkpoint);
        }
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| PathError::new(path, "not checkpoint or tile/"))?;
        let (level_str, rest) = rest
            .split_once('/')
            .ok_or_else(|| PathError::new(path, "missing tile index"))?;
        let kind = if level_str == "entries" {
            TileKind::Entries
        } else {
            let level =
                parse_decimal(level_str).ok_or_else(|| PathError::new(path, "bad level"))?;
            // A 64-level tree needs at most 8 tile levels.
            if level > 7 {
                return Err(PathError::new(path, "level out of range"));
            }
            TileKind::Hashes { level: level as u8 }
        };
        let (index_str, width) = match rest.split_once(".p/") {
            Some((index_str, width_str)) => {
                let width =
                    parse_decimal(width_str).ok_or_else(|| PathError::new(path, "bad width"))?;
                if width == 0 || width >= TILE_WIDTH {
                    return Err(PathError::new(path, "partial width must be 1..=255"));
                }
                (index_str, width as u16)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let index =
            decode_index(index_str).ok_or_else(|| PathError::new(path, "bad tile index"))?;
        Ok(Self::Tile(TileId { kind, index, width }))
    }
}

/// Encodes `N` as 3-digit groups, all but the last prefixed with `x` ([tlog-tiles]).
///
/// [tlog-tiles]: https://c2sp.org/tlog-tiles#merkle-tree
fn encode_index(index: u64) -> String {
    let mut groups = Vec::new();
    let mut n = index;
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, g)| {
            if i == last {
                format!("{g:03}")
            } else {
                format!("x{g:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn decode_index(s: &str) -> Option<u64> {
    let groups: Vec<&str> = s.split('/').collect();
    let mut n: u64 = 0;
    for (i, group) in groups.iter().enumerate() {
        let digits = if i + 1 == groups.len() {
            *group
        } else {
            group.strip_prefix('x')?
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n = n
            .checked_mul(1000)?
            .checked_add(digits.parse::<u64>().ok()?)?;
    }
    // Reject non-canonical forms such as a leading x000 group.
    (encode_index(n) == s).then_some(n)
}

/// Parses ASCII decimal with no leading zeros (except "0" itself).
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty()
        || s.len() > 20
        || !s.bytes().all(|b| b.is_ascii_digit())
        || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Width of hash tile `index` at `level` in a tree of `size` leaves, or `None` when the tile is empty.
pub fn tile_width(level: u8, index: u64, size: u64) -> Option<u16> {
    let count = size
        .checked_shr(u32::from(level) * u32::from(TILE_HEIGHT))
        .unwrap_or(0);
    let start = index.checked_mul(TILE_WIDTH)?;
    if start >= count {
        return None;
    }
    Some((count - start).min(TILE_WIDTH) as u16)
}

/// The tiles (hash tiles at every level, and entry bundles) a tree of `new` leaves publishes that a tree of `old`
/// leaves did not: every tile that became full or changed width.
pub fn new_tiles(old: u64, new: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    if new <= old {
        return out;
    }
    for level in 0..8u8 {
        let shift = u32::from(level) * u32::from(TILE_HEIGHT);
        let old_count = old >> shift;
        let new_count = new >> shift;
        if new_count == 0 {
            break;
        }
        if old_count == new_count {
            continue;
        }
        for index in (old_count / TILE_WIDTH)..=((new_count - 1) / TILE_WIDTH) {
            if let Some(width) = tile_width(level, index, new) {
                out.push(TileId::hashes(level, index, width));
                if level == 0 {
                    out.push(TileId::entries(index, width));
                }
            }
        }
    }
    out
}

/// Every tile of a tree of `size` leaves as a client of that checkpoint sees it (full tiles plus the partial
/// right edge), entry bundles included.
pub fn all_tiles(size: u64) -> Vec<TileId> {
    new_tiles(0, size)
}

/// The partial tiles on the right edge of a tree of `size` leaves, one per level that has one. Together they fix
/// the root hash (see [`root_from_edge`]).
pub fn edge_tiles(size: u64) -> Vec<TileId> {
    (0..8u8)
        .filter_map(|level| {
            let count = size >> (u32::from(level) * u32::from(TILE_HEIGHT));
            let width = count % TILE_WIDTH;
            (width != 0).then(|| TileId::hashes(level, count / TILE_WIDTH, width as u16))
        })
        .collect()
}

/// Hash tile contents: the tree-level `8 * level` hashes the tile covers, from the stored hashes.
pub fn tile_data(tree: &StoredHashes, level: u8, index: u64, width: u16) -> Option<Vec<u8>> {
    let tree_level = level.checked_mul(TILE_HEIGHT)?;
    let mut out = Vec::with_capacity(usize::from(width) * HASH_SIZE);
    for i in 0..u64::from(width) {
        out.extend_from_slice(&tree.hash_at(tree_level, index * TILE_WIDTH + i)?.0);
    }
    Some(out)
}

/// Splits tile data into hashes.
pub fn tile_hashes(data: &[u8]) -> Vec<Hash> {
    data.chunks_exact(HASH_SIZE)
        .map(|c| {
            let mut h = [0u8; HASH_SIZE];
            h.copy_from_slice(c);
            Hash(h)
        })
        .collect()
}

/// Merkle hash of a power-of-two run of same-level hashes.
pub fn subtree_root(hashes: &[Hash]) -> Option<Hash> {
    match hashes.len() {
        0 => None,
        1 => Some(hashes[0]),
        n => {
            let half = n / 2;
            Some(crate::merkle::node_hash(
                subtree_root(&hashes[..half])?,
                subtree_root(&hashes[half..])?,
            ))
        }
    }
}

/// Computes the root of a tree of `size` leaves from its right-edge partial tiles (as [`edge_tiles`] lists them,
/// with their data in the same order).
///
/// Each set bit of `size` is one complete subtree on the right edge; the subtrees for bits `8L..8L+8` are made of
/// hashes of the level-`L` partial tile, so the partial tiles alone determine the root.
pub fn root_from_edge(size: u64, edge: &[(TileId, Vec<u8>)]) -> Option<Hash> {
    if size == 0 {
        return Some(crate::merkle::EMPTY_HASH);
    }
    // Subtree roots from the largest (leftmost) to the smallest.
    let mut subtrees: Vec<Hash> = Vec::new();
    for (tile, data) in edge.iter().rev() {
        let hashes = tile_hashes(data);
        if hashes.len() != usize::from(tile.width) {
            return None;
        }
        let mut start = 0usize;
        for bit in (0..8u32).rev() {
            let run = 1usize << bit;
            if usize::from(tile.width) & run != 0 {
                subtrees.push(subtree_root(hashes.get(start..start + run)?)?);
                start += run;
            }
        }
    }
    let mut iter = subtrees.into_iter().rev();
    let mut acc = iter.next()?;
    for left in iter {
        acc = crate::merkle::node_hash(left, acc);
    }
    Some(acc)
}

/// Encodes an entry bundle: each entry prefixed with its length as a big-endian uint16.
///
/// Callers check entries against [`MAX_ENTRY_SIZE`] when appending, so every length fits.
pub fn encode_bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        out.extend_from_slice(&(entry.len() as u16).to_be_bytes());
        out.extend_from_slice(entry);
    }
    out
}

/// Splits an entry bundle into its entries.
///
/// # Errors
///
/// Returns the byte offset where the bundle stops making sense (a length running past the end).
pub fn decode_bundle(bundle: &[u8]) -> Result<Vec<&[u8]>, usize> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < bundle.len() {
        let len_bytes = bundle.get(pos..pos + 2).ok_or(pos)?;
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        let entry = bundle.get(pos + 2..pos + 2 + len).ok_or(pos)?;
        out.push(entry);
        pos += 2 + len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;

    #[test]
    fn paths_round_trip_and_match_spec_examples() {
        assert_eq!(
            TileId::hashes(0, 1_234_067, 256).path(),
            "tile/0/x001/x234/067"
        );
        assert_eq!(TileId::hashes(2, 5, 17).path(), "tile/2/005.p/17");
        assert_eq!(TileId::entries(0, 5).path(), "tile/entries/000.p/5");
        for path in [
            "tile/0/x001/x234/067",
            "tile/2/005.p/17",
            "tile/entries/000.p/5",
            "tile/1/x001/000",
        ] {
            assert_eq!(TileId::from_path(path).unwrap().path(), path);
        }
        assert_eq!(
            Resource::from_path("checkpoint").unwrap(),
            Resource::Checkpoint
        );
    }

    #[test]
    fn non_canonical_paths_are_rejected() {
        for bad in [
            "tile/0/1",
            "tile/0/0001",
            "tile/0/x000/001",
            "tile/00/000",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/05",
            "tile/8/000",
            "tile/data/000",
            "tile/0/001/002",
            "tile/0/x001",
            "../etc/passwd",
            "tile/0/../../x",
            "",
        ] {
            assert!(Resource::from_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn new_tiles_matches_spec_example_for_70000() {
        let tiles = all_tiles(70_000);
        let hash_tiles: Vec<_> = tiles
            .iter()
            .filter(|t| matches!(t.kind, TileKind::Hashes { .. }))
            .collect();
        // 273 full + 1 partial at level 0, 1 full + 1 partial at level 1, 1 partial at level 2.
        assert_eq!(hash_tiles.len(), 277);
        assert!(tiles.contains(&TileId::hashes(0, 273, 112)));
        assert!(tiles.contains(&TileId::hashes(1, 1, 17)));
        assert!(tiles.contains(&TileId::hashes(2, 0, 1)));
        assert_eq!(edge_tiles(70_000).len(), 3);
        assert_eq!(edge_tiles(256), vec![TileId::hashes(1, 0, 1)]);
        let grown = new_tiles(300, 600);
        assert!(grown.contains(&TileId::hashes(0, 1, 256)));
        assert!(grown.contains(&TileId::hashes(0, 2, 88)));
        assert!(grown.contains(&TileId::hashes(1, 0, 2)));
        assert!(!grown.contains(&TileId::hashes(0, 0, 256)));
    }

    #[test]
    fn root_from_edge_tiles_matches_tree_root() {
        let mut tree = StoredHashes::new();
        for size in 1..=1100u64 {
            tree.push_leaf(leaf_hash(&size.to_be_bytes()));
            if size % 97 != 0 && ![255, 256, 257, 512, 1024].contains(&size) {
                continue;
            }
            let edge: Vec<_> = edge_tiles(size)
                .into_iter()
                .map(|t| {
                    let TileKind::Hashes { level } = t.kind else {
                        unreachable!()
                    };
                    (t, tile_data(&tree, level, t.index, t.width).unwrap())
                })
                .collect();
            assert_eq!(
                root_from_edge(size, &edge),
                Some(tree.root(size).unwrap()),
                "size {size}"
            );
        }
    }

    #[test]
    fn bundles_round_trip_and_reject_truncation() {
        let entries: [&[u8]; 3] = [b"a", b"", b"hello"];
        let bundle = encode_bundle(entries);
        assert_eq!(decode_bundle(&bundle).unwrap(), entries.to_vec());
        assert_eq!(decode_bundle(&bundle[..bundle.len() - 1]), Err(5));
    }
}
