//! Verifying a published log from its tiles (what `garita verify` runs), and the verifier's state file.
//!
//! Every tile used is authenticated before its hashes are trusted: the right-edge partial tiles must hash to the
//! checkpoint root ([`crate::tiles::root_from_edge`]), and a full tile must hash to the entry its parent tile holds
//! for it. A tile that fails is named in the error. A full audit additionally recomputes the whole tree from the
//! entry bundles and compares every tile and bundle, so that any flipped byte is pinned to one path.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tlog_tiles::{HashReader, split_stored_hash_index};

use crate::error::{SourceError, VerifyError};
use crate::merkle::{
    HASH_SIZE, Hash, StoredHashes, leaf_hash, verify_consistency, verify_inclusion,
};
use crate::note::verify_checkpoint;
use crate::tiles::{self, Resource, TILE_WIDTH, TileId, TileKind, tile_hashes, tile_width};

/// Where tiles and the checkpoint come from: a data directory here, HTTP in the CLI.
pub trait TileSource {
    /// Fetches a resource by its path relative to the log prefix (`checkpoint`, `tile/0/000`, ...).
    ///
    /// # Errors
    ///
    /// [`SourceError::NotFound`] when it does not exist, [`SourceError::Fetch`] for other failures.
    fn get(&self, path: &str) -> Result<Vec<u8>, SourceError>;
}

/// Reads a log from its data directory (`DIR/log/...`), as [`crate::Log`] writes it.
#[derive(Debug, Clone)]
pub struct DirSource {
    public: PathBuf,
}

impl DirSource {
    /// A source over the data directory `dir` given to [`crate::Log::open`].
    pub fn new(dir: &Path) -> Self {
        Self {
            public: dir.join("log"),
        }
    }
}

impl TileSource for DirSource {
    fn get(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        // Only canonical resource paths reach the file system, so no path can escape the directory.
        if Resource::from_path(path).is_err() {
            return Err(SourceError::NotFound {
                path: path.to_owned(),
            });
        }
        std::fs::read(self.public.join(path)).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                SourceError::NotFound {
                    path: path.to_owned(),
                }
            } else {
                SourceError::Fetch {
                    path: path.to_owned(),
                    source: Box::new(e),
                }
            }
        })
    }
}

/// A running log is a source too: what its `/log/` routes would serve.
impl TileSource for crate::Log {
    fn get(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        match self.serve(path) {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(SourceError::NotFound {
                path: path.to_owned(),
            }),
            Err(e) => Err(SourceError::Fetch {
                path: path.to_owned(),
                source: Box::new(e),
            }),
        }
    }
}

/// What to check beyond the checkpoint signature.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Check inclusion of this leaf.
    pub leaf: Option<u64>,
    /// The entry bytes that must be leaf `leaf`; without `leaf`, the entry bundles are searched for it.
    pub entry: Option<Vec<u8>>,
    /// Recompute the whole tree from the entry bundles and compare every tile (reads the whole log).
    pub full_audit: bool,
    /// Witness cosigner vkeys whose cosignatures to verify and report.
    pub witnesses: Vec<String>,
}

/// What was verified.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// Log origin.
    pub origin: String,
    /// Verified tree size.
    pub size: u64,
    /// Verified root hash.
    pub root: Hash,
    /// Size of the earlier checkpoint it was proven consistent with, if any.
    pub consistent_with: Option<u64>,
    /// Leaf whose inclusion was proven.
    pub leaf: Option<u64>,
    /// Trusted witnesses whose cosignatures verified.
    pub cosigners: Vec<String>,
    /// Whether the full audit ran.
    pub audited: bool,
    /// The verified checkpoint note, to store as the new state.
    pub checkpoint: Vec<u8>,
}

/// Verifies the log behind `source` against `log_vkey`: checkpoint signature, right-edge tiles, consistency with
/// `previous` (the last verified checkpoint note, from [`load_state`]), and the options.
///
/// # Errors
///
/// A [`VerifyError`] naming the first thing found wrong: the checkpoint, a tile path, or an entry.
pub fn verify_log(
    source: &dyn TileSource,
    log_vkey: &str,
    previous: Option<&[u8]>,
    opts: &VerifyOptions,
) -> Result<VerifyReport, VerifyError> {
    let note = source.get("checkpoint")?;
    let verified =
        verify_checkpoint(&note, log_vkey, &opts.witnesses).map_err(VerifyError::Checkpoint)?;
    let size = verified.checkpoint.size();
    let root = *verified.checkpoint.hash();

    if opts.full_audit {
        full_audit(source, size, root)?;
    }
    let tiles = AuthTiles::new(source, size, root)?;

    let mut consistent_with = None;
    if let Some(prev) = previous {
        let prev = verify_checkpoint(prev, log_vkey, &[])
            .map_err(VerifyError::Checkpoint)?
            .checkpoint;
        let (old, old_root) = (prev.size(), *prev.hash());
        if old > size {
            return Err(VerifyError::Rollback {
                size,
                previous: old,
            });
        }
        if old == size && old_root != root {
            return Err(VerifyError::Inconsistent {
                size,
                previous: old,
            });
        }
        if old > 0 && old < size {
            let proof = tiles.run(|r| tlog_tiles::prove_tree(size, old, r))?;
            verify_consistency(&proof, old, old_root, size, root).map_err(|_| {
                VerifyError::Inconsistent {
                    size,
                    previous: old,
                }
            })?;
        }
        consistent_with = Some(old);
    }

    let leaf_index = match (opts.leaf, &opts.entry) {
        (None, Some(entry)) => Some(find_entry(source, size, leaf_hash(entry))?),
        (leaf, _) => leaf,
    };
    if let Some(index) = leaf_index {
        if index >= size {
            return Err(VerifyError::LeafOutOfRange { index, size });
        }
        let leaf = tiles.hash_at(0, index)?;
        let proof = tiles.run(|r| tlog_tiles::prove_record(size, index, r))?;
        verify_inclusion(&proof, size, root, index, leaf)
            .map_err(|_| VerifyError::Inclusion { index })?;
        check_bundle_entry(source, size, index, leaf)?;
        if let Some(entry) = &opts.entry
            && leaf_hash(entry) != leaf
        {
            return Err(VerifyError::RecordMismatch { index });
        }
    }

    Ok(VerifyReport {
        origin: verified.checkpoint.origin().to_owned(),
        size,
        root,
        consistent_with,
        leaf: leaf_index,
        cosigners: verified.cosigners,
        audited: opts.full_audit,
        checkpoint: note,
    })
}

/// Computes the consistency proof from `old` to the tree of `size` leaves with root `root` from authenticated tiles.
/// A witness (`garita witness`) uses it to build its add-checkpoint request from a tiled log.
///
/// # Errors
///
/// [`VerifyError`] when tiles are missing or do not authenticate, or the sizes are invalid.
pub fn consistency_proof_from_tiles(
    source: &dyn TileSource,
    size: u64,
    root: Hash,
    old: u64,
) -> Result<Vec<Hash>, VerifyError> {
    if old == 0 || old == size {
        return Ok(Vec::new());
    }
    let tiles = AuthTiles::new(source, size, root)?;
    tiles.run(|r| tlog_tiles::prove_tree(size, old, r))
}

/// Finds the first leaf whose entry hashes to `want` by reading the entry bundles in order.
fn find_entry(source: &dyn TileSource, size: u64, want: Hash) -> Result<u64, VerifyError> {
    for tile_index in 0..size.div_ceil(TILE_WIDTH) {
        let width = tile_width(0, tile_index, size).unwrap_or(0);
        let path = TileId::entries(tile_index, width).path();
        let bundle = source.get(&path)?;
        let entries =
            tiles::decode_bundle(&bundle).map_err(|offset| VerifyError::BundleMalformed {
                path: path.clone(),
                offset,
            })?;
        if let Some(pos) = entries
            .iter()
            .take(usize::from(width))
            .position(|e| leaf_hash(e) == want)
        {
            return Ok(tile_index * TILE_WIDTH + pos as u64);
        }
    }
    Err(VerifyError::RecordNotFound { size })
}

/// Checks that the entry bundle holding `index` carries an entry hashing to the authenticated leaf hash.
fn check_bundle_entry(
    source: &dyn TileSource,
    size: u64,
    index: u64,
    leaf: Hash,
) -> Result<(), VerifyError> {
    let tile_index = index / TILE_WIDTH;
    let width = tile_width(0, tile_index, size).unwrap_or(0);
    let bundle_id = TileId::entries(tile_index, width);
    let path = bundle_id.path();
    let bundle = source.get(&path)?;
    let entries = tiles::decode_bundle(&bundle).map_err(|offset| VerifyError::BundleMalformed {
        path: path.clone(),
        offset,
    })?;
    let tile = TileId::hashes(0, tile_index, width).path();
    match entries.get((index % TILE_WIDTH) as usize) {
        Some(entry) if entries.len() == usize::from(width) && leaf_hash(entry) == leaf => Ok(()),
        _ => Err(VerifyError::EntryMismatch { path, index, tile }),
    }
}

/// Tiles fetched from a source, each authenticated against the checkpoint before use.
struct AuthTiles<'a> {
    source: &'a dyn TileSource,
    size: u64,
    cache: RefCell<HashMap<(u8, u64), Vec<Hash>>>,
    failure: RefCell<Option<VerifyError>>,
}

impl<'a> AuthTiles<'a> {
    /// Fetches the right-edge tiles and checks they hash to `root`.
    fn new(source: &'a dyn TileSource, size: u64, root: Hash) -> Result<Self, VerifyError> {
        let mut edge = Vec::new();
        for tile in tiles::edge_tiles(size) {
            let data = fetch_tile(source, tile)?;
            edge.push((tile, data));
        }
        if tiles::root_from_edge(size, &edge) != Some(root) {
            if let Some(err) = pinpoint_edge_tamper(source, size, root, &edge) {
                return Err(err);
            }
            let paths = edge
                .iter()
                .map(|(t, _)| t.path())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(VerifyError::EdgeMismatch { paths });
        }
        let mut cache = HashMap::new();
        for (tile, data) in edge {
            if let TileKind::Hashes { level } = tile.kind {
                cache.insert((level, tile.index), tile_hashes(&data));
            }
        }
        Ok(Self {
            source,
            size,
            cache: RefCell::new(cache),
            failure: RefCell::new(None),
        })
    }

    /// The authenticated hashes of tile `index` at `level`.
    fn tile(&self, level: u8, index: u64) -> Result<Vec<Hash>, VerifyError> {
        if let Some(hashes) = self.cache.borrow().get(&(level, index)) {
            return Ok(hashes.clone());
        }
        let width = tile_width(level, index, self.size).ok_or(VerifyError::LeafOutOfRange {
            index,
            size: self.size,
        })?;
        let id = TileId::hashes(level, index, width);
        if id.is_partial() {
            // Every partial tile of this tree is an edge tile, fetched and authenticated up front.
            return Err(VerifyError::LeafOutOfRange {
                index,
                size: self.size,
            });
        }
        let hashes = tile_hashes(&fetch_tile(self.source, id)?);
        let parent_index = index / TILE_WIDTH;
        let slot = index % TILE_WIDTH;
        let parent = self.tile(level + 1, parent_index)?;
        let parent_width = tile_width(level + 1, parent_index, self.size).unwrap_or(0);
        if parent.get(slot as usize).copied() != tiles::subtree_root(&hashes) {
            return Err(VerifyError::TileMismatch {
                path: id.path(),
                parent: TileId::hashes(level + 1, parent_index, parent_width).path(),
                slot,
            });
        }
        self.cache
            .borrow_mut()
            .insert((level, index), hashes.clone());
        Ok(hashes)
    }

    /// The authenticated hash of the complete subtree at tree level `tree_level`, position `n`.
    fn hash_at(&self, tree_level: u8, n: u64) -> Result<Hash, VerifyError> {
        let level = tree_level / 8;
        let within = u32::from(tree_level % 8);
        let first = n << within;
        let hashes = self.tile(level, first / TILE_WIDTH)?;
        let start = (first % TILE_WIDTH) as usize;
        hashes
            .get(start..start + (1usize << within))
            .and_then(tiles::subtree_root)
            .ok_or(VerifyError::LeafOutOfRange {
                index: n,
                size: self.size,
            })
    }

    /// Runs a `tlog_tiles` proof function over these tiles, surfacing a tile failure as its own error.
    fn run<T>(
        &self,
        f: impl FnOnce(&Self) -> Result<T, tlog_tiles::Error>,
    ) -> Result<T, VerifyError> {
        f(self).map_err(|e| {
            self.failure
                .borrow_mut()
                .take()
                .unwrap_or(VerifyError::Proof(crate::error::ProofError::HashRead(e)))
        })
    }
}

impl HashReader for AuthTiles<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        let mut out = Vec::with_capacity(indexes.len());
        for &idx in indexes {
            let (level, n) = split_stored_hash_index(idx);
            match self.hash_at(level, n) {
                Ok(h) => out.push(h),
                Err(e) => {
                    *self.failure.borrow_mut() = Some(e);
                    return Err(tlog_tiles::Error::InconsistentTile);
                }
            }
        }
        Ok(out)
    }
}

/// When the edge tiles do not hash to the root, finds the one that is wrong: each edge tile is recomputed from
/// what lies below it (the entry bundle for level 0, the full tiles of the level below otherwise), and the one whose
/// recomputation makes the edge hash to the checkpoint root is named. Only runs on failure, so its extra fetches
/// (at most 255 tiles a level) cost nothing on the normal path.
fn pinpoint_edge_tamper(
    source: &dyn TileSource,
    size: u64,
    root: Hash,
    edge: &[(TileId, Vec<u8>)],
) -> Option<VerifyError> {
    for (k, (tile, data)) in edge.iter().enumerate() {
        let TileKind::Hashes { level } = tile.kind else {
            continue;
        };
        let (recomputed, from) = if level == 0 {
            let bundle_id = TileId::entries(tile.index, tile.width);
            let bundle = source.get(&bundle_id.path()).ok()?;
            let entries = tiles::decode_bundle(&bundle).ok()?;
            let data: Vec<u8> = entries.iter().flat_map(|e| leaf_hash(e).0).collect();
            (data, bundle_id.path())
        } else {
            let mut data = Vec::with_capacity(usize::from(tile.width) * HASH_SIZE);
            for i in 0..u64::from(tile.width) {
                let below =
                    TileId::hashes(level - 1, tile.index * TILE_WIDTH + i, TILE_WIDTH as u16);
                let hashes = tile_hashes(&fetch_tile(source, below).ok()?);
                data.extend_from_slice(&tiles::subtree_root(&hashes)?.0);
            }
            (
                data,
                format!("the full tiles of level {} below it", level - 1),
            )
        };
        if recomputed == *data {
            continue;
        }
        let mut repaired = edge.to_vec();
        repaired[k].1 = recomputed.clone();
        if tiles::root_from_edge(size, &repaired) == Some(root) {
            let slot = data
                .chunks(HASH_SIZE)
                .zip(recomputed.chunks(HASH_SIZE))
                .position(|(a, b)| a != b)
                .unwrap_or(0) as u64;
            return Some(VerifyError::EdgeTileTampered {
                path: tile.path(),
                slot,
                from,
            });
        }
    }
    None
}

fn fetch_tile(source: &dyn TileSource, tile: TileId) -> Result<Vec<u8>, VerifyError> {
    let path = tile.path();
    let data = source.get(&path)?;
    let want = usize::from(tile.width) * HASH_SIZE;
    if data.len() != want {
        return Err(VerifyError::TileLength {
            path,
            len: data.len(),
            want,
        });
    }
    Ok(data)
}

/// Recomputes the tree from every entry bundle and compares each tile and bundle with it.
fn full_audit(source: &dyn TileSource, size: u64, root: Hash) -> Result<(), VerifyError> {
    let mut from_entries = StoredHashes::new();
    let mut from_tiles = StoredHashes::new();
    let mut first_divergence: Option<VerifyError> = None;
    let n_bundles = size.div_ceil(TILE_WIDTH);
    for tile_index in 0..n_bundles {
        let width = tile_width(0, tile_index, size).unwrap_or(0);
        let bundle_id = TileId::entries(tile_index, width);
        let path = bundle_id.path();
        let bundle = source.get(&path)?;
        let entries =
            tiles::decode_bundle(&bundle).map_err(|offset| VerifyError::BundleMalformed {
                path: path.clone(),
                offset,
            })?;
        if entries.len() != usize::from(width) {
            return Err(VerifyError::BundleMalformed {
                path,
                offset: bundle.len(),
            });
        }
        let tile_id = TileId::hashes(0, tile_index, width);
        let tile_leaves = tile_hashes(&fetch_tile(source, tile_id)?);
        for (i, entry) in entries.iter().enumerate() {
            let h = leaf_hash(entry);
            from_entries.push_leaf(h);
            from_tiles.push_leaf(tile_leaves[i]);
            if h != tile_leaves[i] && first_divergence.is_none() {
                first_divergence = Some(VerifyError::EntryMismatch {
                    path: path.clone(),
                    index: tile_index * TILE_WIDTH + i as u64,
                    tile: tile_id.path(),
                });
            }
        }
    }
    if from_entries.root(size)? != root {
        // The entries are wrong. If the level-0 tiles still match the root, the differing bundle is the culprit.
        if from_tiles.root(size)? == root
            && let Some(e) = first_divergence
        {
            return Err(e);
        }
        return Err(first_divergence.unwrap_or(VerifyError::EdgeMismatch {
            paths: "tile/entries/*".to_owned(),
        }));
    }
    // The entries are authentic: every tile must equal its recomputation.
    for tile in tiles::all_tiles(size) {
        let TileKind::Hashes { level } = tile.kind else {
            continue;
        };
        let want =
            tiles::tile_data(&from_entries, level, tile.index, tile.width).unwrap_or_default();
        let got = fetch_tile(source, tile)?;
        if let Some(pos) = got
            .chunks(HASH_SIZE)
            .zip(want.chunks(HASH_SIZE))
            .position(|(a, b)| a != b)
        {
            return Err(VerifyError::TileContent {
                path: tile.path(),
                slot: pos as u64,
            });
        }
    }
    Ok(())
}

/// Loads the verifier state: the last checkpoint note it verified, if the file exists.
///
/// # Errors
///
/// [`VerifyError::State`] when the file exists but cannot be read.
pub fn load_state(path: &Path) -> Result<Option<Vec<u8>>, VerifyError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(VerifyError::State {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Saves the verified checkpoint note as the new state, atomically (temp file, fsync, rename).
///
/// # Errors
///
/// [`VerifyError::State`] on I/O failure.
pub fn save_state(path: &Path, checkpoint: &[u8]) -> Result<(), VerifyError> {
    crate::fsutil::write_atomic(path, checkpoint).map_err(|source| VerifyError::State {
        path: path.to_owned(),
        source,
    })
}
