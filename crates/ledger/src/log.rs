//! The durable log: an fsync'd entries file with group commit, and integration into tiles plus a signed
//! checkpoint (docs/ledger.md, "On disk" and "Durability").
//!
//! Layout of the data directory:
//!
//! ```text
//! DIR/LOCK            advisory lock: one process per log
//! DIR/entries         append-only frames: len u32 BE || entry || leaf_hash(entry)[..8]
//! DIR/log/checkpoint  the signed checkpoint (plus accepted witness cosignatures)
//! DIR/log/tile/...    C2SP tiles and entry bundles for the published tree
//! ```
//!
//! The entries file is the source of truth. An append returns only after its frame is written and `fdatasync`'d;
//! concurrent appenders share one sync (the first waiting thread writes everyone's frames). Tiles and the
//! checkpoint are derived from it by [`Log::integrate`], each written as temp file, fsync, rename, fsync of the
//! directory, tiles before the checkpoint that covers them. On open, a torn tail frame is cut off (it was never
//! acknowledged), the tree is rebuilt from the entries, the published checkpoint is checked against it, and every
//! published tile is compared with its recomputed bytes and rewritten if it differs.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use signed_note::{Note, Signature, Verifier};

use crate::error::{LogError, PathError};
use crate::merkle::{Hash, StoredHashes, leaf_hash};
use crate::note::{CosignatureVerifier, LogSigner, sign_checkpoint, verify_checkpoint};
use crate::proof::TlogProof;
use crate::tiles::{self, MAX_ENTRY_SIZE, Resource, TileId, TileKind};

/// Bytes of framing around each entry in the entries file.
const FRAME_OVERHEAD: u64 = 4 + 8;
/// File name of the signing key [`Log::key_path`] suggests.
pub const KEY_FILE: &str = "ledger.key";

/// Where a durable entry lives in the entries file.
#[derive(Debug, Clone, Copy)]
struct EntryLoc {
    /// Offset of the entry bytes (after the length prefix).
    offset: u64,
    len: u32,
}

struct Wal {
    /// Frames waiting for the next sync.
    pending: Vec<u8>,
    pending_meta: Vec<(Hash, u32)>,
    /// Next leaf index to hand out.
    next_index: u64,
    /// Entries known to be on disk.
    durable: u64,
    /// File length covering the durable entries.
    end_offset: u64,
    /// A thread is writing and syncing a batch.
    flushing: bool,
    /// A write or sync failed: the file tail is unknown until reopen.
    poisoned: bool,
    /// Durable entries not yet taken into the tree.
    durable_new: Vec<(Hash, EntryLoc)>,
}

struct Tree {
    hashes: StoredHashes,
    locs: Vec<EntryLoc>,
    /// Size of the published checkpoint.
    published: u64,
    /// The log-signed checkpoint note, without cosignatures.
    note: Vec<u8>,
    /// Accepted witness cosignatures on `note`.
    cosignatures: Vec<Signature>,
}

/// A durable, append-only C2SP tlog-tiles log in a directory.
pub struct Log {
    dir: PathBuf,
    public: PathBuf,
    signer: LogSigner,
    writer: File,
    reader: File,
    wal: Mutex<Wal>,
    wal_cv: Condvar,
    tree: Mutex<Tree>,
    tree_cv: Condvar,
    integrating: Mutex<()>,
    witnesses: RwLock<Vec<CosignatureVerifier>>,
    _lock: File,
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> LogError + 'a {
    move |source| LogError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the state half-updated in a way later code relies on (every
    // update is a few field assignments), so a poisoned mutex is still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Log {
    /// The path where the CLI keeps the log's signing key for data directory `dir`.
    pub fn key_path(dir: &Path) -> PathBuf {
        dir.join(KEY_FILE)
    }

    /// Opens (creating if needed) the log in `dir`, recovering from any crash, and publishes a checkpoint if none
    /// exists yet.
    ///
    /// # Errors
    ///
    /// [`LogError::Locked`] if another process has it open, [`LogError::CheckpointAhead`] or
    /// [`LogError::RootMismatch`] if the entries no longer match what was published, [`LogError::Io`] on I/O
    /// failure, [`LogError::Key`] for an invalid origin.
    pub fn open(dir: &Path, key: SigningKey, origin: &str) -> Result<Self, LogError> {
        let signer = LogSigner::new(origin, key)?;
        let public = dir.join("log");
        std::fs::create_dir_all(public.join("tile"))
            .map_err(io_err("create log directory", &public))?;

        let lock_path = dir.join("LOCK");
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err("open lock file", &lock_path))?;
        match lock_file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(LogError::Locked { path: lock_path });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err("lock", &lock_path)(e)),
        }

        let entries_path = dir.join("entries");
        let writer = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&entries_path)
            .map_err(io_err("open entries file", &entries_path))?;
        let reader =
            File::open(&entries_path).map_err(io_err("open entries file", &entries_path))?;
        let (locs, hashes_list, valid_end) = scan_entries(&reader, &entries_path)?;
        let file_len = reader
            .metadata()
            .map_err(io_err("stat entries file", &entries_path))?
            .len();
        if valid_end < file_len {
            // Only a frame whose sync never completed can be torn, and it was never acknowledged. The cut bytes
            // are kept aside rather than destroyed, in case they are instead damage in the middle of the file.
            tracing::warn!(
                cut = file_len - valid_end,
                "ledger: cutting torn tail of entries file"
            );
            let mut tail = vec![0u8; (file_len - valid_end) as usize];
            reader
                .read_exact_at(&mut tail, valid_end)
                .map_err(io_err("read torn tail", &entries_path))?;
            let aside = dir.join(format!("entries.cut-at-{valid_end}"));
            crate::fsutil::write_atomic(&aside, &tail).map_err(io_err("save torn tail", &aside))?;
            writer
                .set_len(valid_end)
                .map_err(io_err("truncate torn tail", &entries_path))?;
            writer
                .sync_all()
                .map_err(io_err("sync entries file", &entries_path))?;
        }
        sync_dir(dir)?;

        let mut hashes = StoredHashes::new();
        for h in &hashes_list {
            hashes.push_leaf(*h);
        }
        let n = hashes.size();

        let checkpoint_path = public.join("checkpoint");
        let (published, note, cosignatures) = match std::fs::read(&checkpoint_path) {
            Ok(bytes) => {
                let verified =
                    verify_checkpoint(&bytes, &signer.vkey(), &[]).map_err(LogError::Checkpoint)?;
                let size = verified.checkpoint.size();
                if size > n {
                    return Err(LogError::CheckpointAhead {
                        checkpoint: size,
                        entries: n,
                    });
                }
                if hashes.root(size)? != *verified.checkpoint.hash() {
                    return Err(LogError::RootMismatch { size });
                }
                let (log_note, cosigs) = split_cosignatures(&verified.note, origin)?;
                (size, log_note, cosigs)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (0, Vec::new(), Vec::new()),
            Err(e) => return Err(io_err("read checkpoint", &checkpoint_path)(e)),
        };

        let log = Self {
            dir: dir.to_owned(),
            public,
            signer,
            writer,
            reader,
            wal: Mutex::new(Wal {
                pending: Vec::new(),
                pending_meta: Vec::new(),
                next_index: n,
                durable: n,
                end_offset: valid_end,
                flushing: false,
                poisoned: false,
                durable_new: Vec::new(),
            }),
            wal_cv: Condvar::new(),
            tree: Mutex::new(Tree {
                hashes,
                locs,
                published,
                note,
                cosignatures,
            }),
            tree_cv: Condvar::new(),
            integrating: Mutex::new(()),
            witnesses: RwLock::new(Vec::new()),
            _lock: lock_file,
        };
        log.repair_tiles(published)?;
        if published == 0 && lock(&log.tree).note.is_empty() {
            log.integrate()?;
        }
        Ok(log)
    }

    /// The log origin (checkpoint line 1 and key name).
    pub fn origin(&self) -> &str {
        signed_note::Signer::name(&self.signer)
    }

    /// The verifier key clients and witnesses need: `<origin>+<key id>+<base64(0x01 || public key)>`.
    pub fn vkey(&self) -> String {
        self.signer.vkey()
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Configures the witnesses whose cosignatures [`Log::add_cosignatures`] accepts (cosigner vkeys, type 0x04).
    ///
    /// # Errors
    ///
    /// [`LogError::Key`] when a vkey is malformed.
    pub fn set_witnesses(&self, vkeys: &[String]) -> Result<(), LogError> {
        let parsed = vkeys
            .iter()
            .map(|v| CosignatureVerifier::new(v))
            .collect::<Result<Vec<_>, _>>()?;
        *self
            .witnesses
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = parsed;
        Ok(())
    }

    /// Appends one entry and returns its leaf index once the entry is durable (written and synced).
    ///
    /// # Errors
    ///
    /// [`LogError::EntrySize`] for an empty or oversized entry, [`LogError::Io`] when the write or sync fails
    /// (after which the log is [`LogError::Poisoned`] until reopened).
    pub fn append(&self, entry: &[u8]) -> Result<u64, LogError> {
        self.append_batch(&[entry]).map(|range| range.start)
    }

    /// Appends several entries with one sync and returns their leaf indexes.
    ///
    /// # Errors
    ///
    /// As [`Log::append`]; on error none of the entries is acknowledged.
    pub fn append_batch(&self, entries: &[&[u8]]) -> Result<Range<u64>, LogError> {
        for e in entries {
            if e.is_empty() || e.len() > MAX_ENTRY_SIZE {
                return Err(LogError::EntrySize { len: e.len() });
            }
        }
        let hashes: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        let mut wal = lock(&self.wal);
        if wal.poisoned {
            return Err(LogError::Poisoned);
        }
        let first = wal.next_index;
        for (entry, hash) in entries.iter().zip(hashes) {
            wal.pending
                .extend_from_slice(&(entry.len() as u32).to_be_bytes());
            wal.pending.extend_from_slice(entry);
            wal.pending.extend_from_slice(&hash.0[..8]);
            wal.pending_meta.push((hash, entry.len() as u32));
        }
        wal.next_index += entries.len() as u64;
        let last = wal.next_index;
        loop {
            if wal.durable >= last {
                return Ok(first..last);
            }
            if wal.poisoned {
                return Err(LogError::Poisoned);
            }
            if wal.flushing {
                wal = self
                    .wal_cv
                    .wait(wal)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                continue;
            }
            wal = self.flush(wal)?;
        }
    }

    /// Writes and syncs everything pending, as the group-commit leader. Other appenders wait on the condvar.
    fn flush<'a>(&'a self, mut wal: MutexGuard<'a, Wal>) -> Result<MutexGuard<'a, Wal>, LogError> {
        let buf = std::mem::take(&mut wal.pending);
        let meta = std::mem::take(&mut wal.pending_meta);
        let start_offset = wal.end_offset;
        wal.flushing = true;
        drop(wal);

        let path = self.dir.join("entries");
        let res = (&self.writer)
            .write_all(&buf)
            .and_then(|()| self.writer.sync_data());

        let mut wal = lock(&self.wal);
        wal.flushing = false;
        match res {
            Ok(()) => {
                let mut offset = start_offset;
                for (hash, len) in meta {
                    wal.durable_new.push((
                        hash,
                        EntryLoc {
                            offset: offset + 4,
                            len,
                        },
                    ));
                    offset += u64::from(len) + FRAME_OVERHEAD;
                }
                wal.end_offset = offset;
                wal.durable = wal.next_index - wal.pending_meta.len() as u64;
                self.wal_cv.notify_all();
                Ok(wal)
            }
            Err(e) => {
                wal.poisoned = true;
                self.wal_cv.notify_all();
                Err(io_err("append to entries file", &path)(e))
            }
        }
    }

    /// Number of durable (acknowledged) entries.
    pub fn durable_size(&self) -> u64 {
        lock(&self.wal).durable
    }

    /// Size of the latest published checkpoint.
    pub fn published_size(&self) -> u64 {
        lock(&self.tree).published
    }

    /// Waits until a checkpoint of at least `size` is published, or `timeout` passes. Returns whether it was.
    pub fn wait_published(&self, size: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut tree = lock(&self.tree);
        while tree.published < size {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            tree = match self.tree_cv.wait_timeout(tree, deadline - now) {
                Ok((t, _)) => t,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }

    /// Publishes every durable entry: writes new tiles and entry bundles, then a signed checkpoint. Returns the
    /// published size. Calls are serialised; appends continue meanwhile.
    ///
    /// # Errors
    ///
    /// [`LogError::Io`] when a file cannot be written; the previous checkpoint then stays published and a later
    /// call retries.
    pub fn integrate(&self) -> Result<u64, LogError> {
        let _guard = lock(&self.integrating);
        let new_items = std::mem::take(&mut lock(&self.wal).durable_new);

        let (old, new, root, hash_tiles, bundle_tiles, locs) = {
            let mut tree = lock(&self.tree);
            for (hash, loc) in new_items {
                tree.hashes.push_leaf(hash);
                tree.locs.push(loc);
            }
            let old = tree.published;
            let new = tree.hashes.size();
            if old == new && !tree.note.is_empty() {
                return Ok(new);
            }
            let root = tree.hashes.root(new)?;
            let mut hash_tiles = Vec::new();
            let mut bundle_tiles = Vec::new();
            for tile in tiles::new_tiles(old, new) {
                match tile.kind {
                    TileKind::Hashes { level } => {
                        if let Some(data) =
                            tiles::tile_data(&tree.hashes, level, tile.index, tile.width)
                        {
                            hash_tiles.push((tile, data));
                        }
                    }
                    TileKind::Entries => bundle_tiles.push(tile),
                }
            }
            // Only the locations of entries in the new bundles are needed; copying from the first one keeps the
            // copy proportional to the batch, not the log.
            let base = bundle_tiles
                .first()
                .map_or(new, |t| t.index * tiles::TILE_WIDTH);
            let locs = tree.locs.get(base as usize..).unwrap_or_default().to_vec();
            (old, new, root, hash_tiles, bundle_tiles, (base, locs))
        };

        let mut files: Vec<(PathBuf, Vec<u8>)> =
            Vec::with_capacity(hash_tiles.len() + bundle_tiles.len());
        for tile in bundle_tiles {
            files.push((
                self.public.join(tile.path()),
                self.read_bundle(&locs.1, locs.0, tile)?,
            ));
        }
        for (tile, data) in hash_tiles {
            files.push((self.public.join(tile.path()), data));
        }
        write_files_durably(&files)?;

        let note = sign_checkpoint(&self.signer, new, root)?;
        write_files_durably(&[(self.public.join("checkpoint"), note.clone())])?;

        let mut tree = lock(&self.tree);
        tree.published = new;
        tree.note = note;
        tree.cosignatures.clear();
        self.tree_cv.notify_all();
        tracing::debug!(old, new, "ledger: published checkpoint");
        Ok(new)
    }

    /// Reads entry bundle `tile`; `locs[0]` is the location of leaf `base`.
    fn read_bundle(&self, locs: &[EntryLoc], base: u64, tile: TileId) -> Result<Vec<u8>, LogError> {
        let start = (tile.index * tiles::TILE_WIDTH).saturating_sub(base);
        let range = start as usize..(start + u64::from(tile.width)) as usize;
        let Some(slice) = locs.get(range) else {
            return Ok(Vec::new());
        };
        let (Some(first), Some(last)) = (slice.first(), slice.last()) else {
            return Ok(Vec::new());
        };
        // Entries of one bundle are contiguous in the file: read the span once and strip the framing.
        let span_start = first.offset;
        let span_end = last.offset + u64::from(last.len);
        let mut span = vec![0u8; (span_end - span_start) as usize];
        let path = self.dir.join("entries");
        self.reader
            .read_exact_at(&mut span, span_start)
            .map_err(io_err("read entries", &path))?;
        let entries = slice.iter().map(|loc| {
            let from = (loc.offset - span_start) as usize;
            &span[from..from + loc.len as usize]
        });
        Ok(tiles::encode_bundle(entries))
    }

    /// Rewrites any published tile whose file is missing or differs from what the entries imply.
    fn repair_tiles(&self, size: u64) -> Result<(), LogError> {
        let tree = lock(&self.tree);
        let mut repairs = Vec::new();
        for tile in tiles::all_tiles(size) {
            let want = match tile.kind {
                TileKind::Hashes { level } => {
                    tiles::tile_data(&tree.hashes, level, tile.index, tile.width)
                        .unwrap_or_default()
                }
                TileKind::Entries => self.read_bundle(&tree.locs, 0, tile)?,
            };
            let path = self.public.join(tile.path());
            if std::fs::read(&path).ok().as_deref() != Some(&want[..]) {
                tracing::warn!(tile = %tile.path(), "ledger: rewriting missing or damaged tile");
                repairs.push((path, want));
            }
        }
        drop(tree);
        write_files_durably(&repairs)
    }

    /// Serves a tlog-tiles resource: `checkpoint`, `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]` (the
    /// path after the `/log/` prefix). `Ok(None)` means not found (HTTP 404), including any path that is not the
    /// canonical spelling of a resource ([`Resource::from_path`] tells them apart if needed).
    ///
    /// # Errors
    ///
    /// [`LogError::Io`] when a tile file exists but cannot be read.
    pub fn serve(&self, path: &str) -> Result<Option<Vec<u8>>, LogError> {
        match Resource::from_path(path) {
            Err(PathError { .. }) => Ok(None),
            Ok(Resource::Checkpoint) => Ok(Some(self.checkpoint())),
            Ok(Resource::Tile(tile)) => {
                let file = self.public.join(tile.path());
                match std::fs::read(&file) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(io_err("read tile", &file)(e)),
                }
            }
        }
    }

    /// The current checkpoint as served: the log-signed note plus accepted cosignatures.
    pub fn checkpoint(&self) -> Vec<u8> {
        let tree = lock(&self.tree);
        served_checkpoint(&tree.note, &tree.cosignatures)
    }

    /// The entry at `index`, if it is published.
    ///
    /// # Errors
    ///
    /// [`LogError::Io`] when the entries file cannot be read.
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, LogError> {
        let loc = {
            let tree = lock(&self.tree);
            if index >= tree.published {
                return Ok(None);
            }
            tree.locs.get(index as usize).copied()
        };
        let Some(loc) = loc else { return Ok(None) };
        let mut buf = vec![0u8; loc.len as usize];
        let path = self.dir.join("entries");
        self.reader
            .read_exact_at(&mut buf, loc.offset)
            .map_err(io_err("read entries", &path))?;
        Ok(Some(buf))
    }

    /// A C2SP tlog-proof for leaf `index` against the current checkpoint (cosignatures included).
    ///
    /// # Errors
    ///
    /// [`LogError::NotIntegrated`] while the leaf is not yet covered by a published checkpoint.
    pub fn proof(&self, index: u64) -> Result<TlogProof, LogError> {
        let tree = lock(&self.tree);
        if index >= tree.published {
            return Err(LogError::NotIntegrated {
                index,
                size: tree.published,
            });
        }
        let hashes = tree.hashes.inclusion_proof(index, tree.published)?;
        Ok(TlogProof {
            extra: None,
            index,
            hashes,
            checkpoint: served_checkpoint(&tree.note, &tree.cosignatures),
        })
    }

    /// A record receipt for leaf `index`: [`Log::proof`] with the record's `salt` and the logged entry in `extra`
    /// (see [`TlogProof::into_receipt`]), so the device that sent the record can verify it offline with
    /// [`TlogProof::verify_receipt`].
    ///
    /// # Errors
    ///
    /// As [`Log::proof`], and [`LogError::Io`] when the entry cannot be read.
    pub fn receipt(&self, index: u64, salt: [u8; 32]) -> Result<TlogProof, LogError> {
        let proof = self.proof(index)?;
        let entry = self.entry(index)?.ok_or(LogError::NotIntegrated {
            index,
            size: self.published_size(),
        })?;
        Ok(proof.into_receipt(salt, &entry))
    }

    /// The consistency proof between two published sizes (for `garita witness` and auditors without tiles).
    ///
    /// # Errors
    ///
    /// [`LogError::Proof`] unless `1 <= old <= new <= published size`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, LogError> {
        let tree = lock(&self.tree);
        if new > tree.published {
            return Err(LogError::NotIntegrated {
                index: new,
                size: tree.published,
            });
        }
        Ok(tree.hashes.consistency_proof(old, new)?)
    }

    /// A C2SP tlog-witness `add-checkpoint` request body for the current checkpoint, from `old_size` (the size the
    /// witness last cosigned; 0 at first).
    ///
    /// # Errors
    ///
    /// [`LogError::Proof`] when `old_size` exceeds the published size.
    pub fn add_checkpoint_request(&self, old_size: u64) -> Result<Vec<u8>, LogError> {
        let tree = lock(&self.tree);
        let proof = if old_size == 0 || old_size == tree.published {
            if old_size > tree.published {
                return Err(crate::error::ProofError::BadSizes {
                    old: old_size,
                    new: tree.published,
                }
                .into());
            }
            Vec::new()
        } else {
            tree.hashes.consistency_proof(old_size, tree.published)?
        };
        Ok(crate::witness::encode_add_checkpoint(
            old_size, &proof, &tree.note,
        ))
    }

    /// Accepts cosignature lines (a tlog-witness response body) for the current checkpoint. Each must come from a
    /// configured witness and verify; it then appears on the served checkpoint until the next one. Returns how many
    /// were accepted.
    ///
    /// # Errors
    ///
    /// [`LogError::Cosignature`] when a line is malformed, from an unknown key, or does not verify against the
    /// current checkpoint (e.g. it cosigns an older one); nothing is accepted then.
    pub fn add_cosignatures(&self, lines: &[u8]) -> Result<usize, LogError> {
        // Serialised with integrate, which also rewrites the checkpoint file: otherwise this could write the old
        // checkpoint with its cosignatures over a newer one.
        let _guard = lock(&self.integrating);
        let text = std::str::from_utf8(lines).map_err(|_| LogError::Cosignature {
            reason: "not UTF-8".into(),
        })?;
        let witnesses = self
            .witnesses
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut tree = lock(&self.tree);
        let note = Note::from_bytes(&tree.note).map_err(|e| LogError::Cosignature {
            reason: e.to_string(),
        })?;
        let mut accepted = Vec::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let sig =
                Signature::from_bytes(line.as_bytes()).map_err(|_| LogError::Cosignature {
                    reason: "malformed signature line".into(),
                })?;
            let witness = witnesses
                .iter()
                .find(|w| w.name() == sig.name() && w.key_id() == sig.id())
                .ok_or_else(|| LogError::Cosignature {
                    reason: format!("unknown witness key {}", sig.name()),
                })?;
            if !witness.verify(note.text(), sig.signature()) {
                return Err(LogError::Cosignature {
                    reason: format!(
                        "signature from {} does not verify on the current checkpoint",
                        sig.name()
                    ),
                });
            }
            accepted.push(sig);
        }
        let count = accepted.len();
        for sig in accepted {
            tree.cosignatures
                .retain(|s| !(s.name() == sig.name() && s.id() == sig.id()));
            tree.cosignatures.push(sig);
        }
        let served = served_checkpoint(&tree.note, &tree.cosignatures);
        write_files_durably(&[(self.public.join("checkpoint"), served)])?;
        Ok(count)
    }
}

/// Runs [`Log::integrate`] every `interval` on a background thread until stopped or dropped.
pub struct Integrator {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Integrator {
    /// Starts the thread. Failures are logged and retried on the next tick.
    pub fn spawn(log: Arc<Log>, interval: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            while !stop_flag.load(Ordering::Relaxed) {
                let started = Instant::now();
                if let Err(e) = log.integrate() {
                    tracing::error!(error = %e, "ledger: integration failed; retrying");
                }
                std::thread::sleep(interval.saturating_sub(started.elapsed()));
            }
            // Publish whatever was acknowledged before stopping.
            if let Err(e) = log.integrate() {
                tracing::error!(error = %e, "ledger: final integration failed");
            }
        });
        Self {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops the thread after a final integration and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Integrator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn served_checkpoint(note: &[u8], cosignatures: &[Signature]) -> Vec<u8> {
    let mut out = note.to_vec();
    for sig in cosignatures {
        out.extend_from_slice(&sig.to_bytes());
    }
    out
}

/// Splits a parsed checkpoint note into the log-signed note and the other (cosignature) lines.
fn split_cosignatures(note: &Note, origin: &str) -> Result<(Vec<u8>, Vec<Signature>), LogError> {
    let bytes = note.to_bytes();
    let text = String::from_utf8_lossy(&bytes);
    let mut log_note = note.text().to_vec();
    log_note.push(b'\n');
    let mut cosigs = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("— ")) {
        let sig = Signature::from_bytes(line.as_bytes()).map_err(|e| LogError::Cosignature {
            reason: e.to_string(),
        })?;
        if sig.name() == origin {
            log_note.extend_from_slice(&sig.to_bytes());
        } else {
            cosigs.push(sig);
        }
    }
    Ok((log_note, cosigs))
}

/// Reads the entries file, returning each entry's location and leaf hash, and the end of the last intact frame.
fn scan_entries(file: &File, path: &Path) -> Result<(Vec<EntryLoc>, Vec<Hash>, u64), LogError> {
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut locs = Vec::new();
    let mut hashes = Vec::new();
    let mut offset = 0u64;
    let mut buf = Vec::new();
    loop {
        let mut len_bytes = [0u8; 4];
        match read_full(&mut reader, &mut len_bytes) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(io_err("read entries file", path)(e)),
        }
        let len = u32::from_be_bytes(len_bytes);
        if len == 0 || len as usize > MAX_ENTRY_SIZE {
            break;
        }
        buf.resize(len as usize + 8, 0);
        match read_full(&mut reader, &mut buf) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(io_err("read entries file", path)(e)),
        }
        let (entry, check) = buf.split_at(len as usize);
        let hash = leaf_hash(entry);
        if hash.0[..8] != *check {
            break;
        }
        locs.push(EntryLoc {
            offset: offset + 4,
            len,
        });
        hashes.push(hash);
        offset += u64::from(len) + FRAME_OVERHEAD;
    }
    Ok((locs, hashes, offset))
}

/// Fills `buf` completely; `Ok(false)` when the input ends first.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync directory", dir))
}

/// Writes each file as temp + fsync + rename, then fsyncs every directory touched, so after a crash each file
/// is either its old or its new content and a later write (the checkpoint) never lands before these.
///
/// The temp files are written and synced by several threads at once: the file system then commits their syncs
/// together (one journal commit for many files), which is what keeps integrating a large batch fast.
fn write_files_durably(files: &[(PathBuf, Vec<u8>)]) -> Result<(), LogError> {
    let mut dirs = BTreeSet::new();
    for (path, _) in files {
        if let Some(parent) = path.parent()
            && dirs.insert(parent.to_owned())
        {
            std::fs::create_dir_all(parent).map_err(io_err("create tile directory", parent))?;
        }
    }
    let temp_of = |path: &Path| {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        PathBuf::from(tmp)
    };
    let n_threads = files.len().clamp(1, 16);
    let per_thread = files.len().div_ceil(n_threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || -> Result<(), LogError> {
                    for (path, bytes) in chunk {
                        let tmp = temp_of(path);
                        let mut f = File::create(&tmp).map_err(io_err("create temp file", &tmp))?;
                        f.write_all(bytes)
                            .map_err(io_err("write temp file", &tmp))?;
                        f.sync_data().map_err(io_err("sync temp file", &tmp))?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().unwrap_or(Ok(())))
    })?;
    for (path, _) in files {
        let tmp = temp_of(path);
        std::fs::rename(&tmp, path).map_err(io_err("rename temp file", &tmp))?;
    }
    // New directories must be durable in their parents too.
    let mut all_dirs = BTreeSet::new();
    for d in &dirs {
        let mut cur = Some(d.as_path());
        while let Some(p) = cur {
            if !all_dirs.insert(p.to_owned()) || p.file_name().is_some_and(|n| n == "log") {
                break;
            }
            cur = p.parent();
        }
    }
    for d in all_dirs {
        sync_dir(&d)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::verify_inclusion;

    fn open(dir: &Path) -> Log {
        Log::open(dir, SigningKey::from_bytes(&[9; 32]), "garita.test/log").unwrap()
    }

    #[test]
    fn append_integrate_serve_and_prove() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path());
        assert_eq!(log.published_size(), 0);
        assert!(
            log.serve("checkpoint")
                .unwrap()
                .unwrap()
                .starts_with(b"garita.test/log\n0\n")
        );
        for i in 0..300u32 {
            assert_eq!(
                log.append(format!("entry {i}").as_bytes()).unwrap(),
                u64::from(i)
            );
        }
        assert!(matches!(log.proof(0), Err(LogError::NotIntegrated { .. })));
        assert_eq!(log.integrate().unwrap(), 300);
        assert_eq!(log.serve("tile/0/000").unwrap().unwrap().len(), 256 * 32);
        assert_eq!(
            log.serve("tile/0/001.p/44").unwrap().unwrap().len(),
            44 * 32
        );
        assert_eq!(log.serve("tile/1/000.p/1").unwrap().unwrap().len(), 32);
        let bundle = log.serve("tile/entries/001.p/44").unwrap().unwrap();
        assert_eq!(tiles::decode_bundle(&bundle).unwrap()[0], b"entry 256");
        assert_eq!(log.serve("tile/0/002").unwrap(), None);
        assert_eq!(log.serve("../LOCK").unwrap(), None);
        assert_eq!(log.entry(299).unwrap().unwrap(), b"entry 299");

        let proof = log.proof(257).unwrap();
        let cp = verify_checkpoint(&proof.checkpoint, &log.vkey(), &[])
            .unwrap()
            .checkpoint;
        verify_inclusion(
            &proof.hashes,
            cp.size(),
            *cp.hash(),
            257,
            leaf_hash(b"entry 257"),
        )
        .unwrap();
    }

    #[test]
    fn reopen_keeps_entries_and_cuts_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        {
            let log = open(dir.path());
            log.append_batch(&[b"a", b"b", b"c"]).unwrap();
            log.integrate().unwrap();
            log.append(b"d").unwrap();
        }
        // Simulate a crash mid-frame: half a frame at the end.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join("entries"))
            .unwrap();
        f.write_all(&[0, 0, 0, 9, b'x', b'y']).unwrap();
        drop(f);
        std::fs::remove_file(dir.path().join("log/tile/0/000.p/3")).unwrap();
        let log = open(dir.path());
        assert_eq!(log.durable_size(), 4);
        assert_eq!(log.published_size(), 3);
        assert!(dir.path().join("log/tile/0/000.p/3").exists(), "repaired");
        let cut = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .find(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("entries.cut-at-")
            })
            .unwrap();
        assert_eq!(std::fs::read(cut.path()).unwrap(), [0, 0, 0, 9, b'x', b'y']);
        assert_eq!(log.integrate().unwrap(), 4);
        assert_eq!(log.append(b"e").unwrap(), 4);
    }

    #[test]
    fn second_open_is_refused_and_lost_entries_are_detected() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path());
        assert!(matches!(
            Log::open(
                dir.path(),
                SigningKey::from_bytes(&[9; 32]),
                "garita.test/log"
            ),
            Err(LogError::Locked { .. })
        ));
        log.append_batch(&[b"a", b"b"]).unwrap();
        log.integrate().unwrap();
        drop(log);
        let f = OpenOptions::new()
            .write(true)
            .open(dir.path().join("entries"))
            .unwrap();
        f.set_len(5).unwrap();
        assert!(matches!(
            Log::open(
                dir.path(),
                SigningKey::from_bytes(&[9; 32]),
                "garita.test/log"
            ),
            Err(LogError::CheckpointAhead {
                checkpoint: 2,
                entries: 0
            })
        ));
    }

    #[test]
    fn cosignatures_never_put_an_older_checkpoint_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(open(dir.path()));
        let mut witness = crate::Witness::new("w.test", SigningKey::from_bytes(&[8; 32]));
        witness.add_log(&log.vkey()).unwrap();
        log.set_witnesses(&[witness.vkey()]).unwrap();
        let writer = {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for i in 0..40u32 {
                    log.append(&i.to_be_bytes()).unwrap();
                    log.integrate().unwrap();
                }
            })
        };
        while !writer.is_finished() {
            let last = witness.latest_size("garita.test/log").unwrap();
            if let Ok(body) = log.add_checkpoint_request(last)
                && let Ok(lines) = witness.add_checkpoint(&body, 1)
            // Rejected when integrate published a newer checkpoint meanwhile; that is fine.
            {
                let _ = log.add_cosignatures(&lines);
            }
        }
        writer.join().unwrap();
        let on_disk = std::fs::read(dir.path().join("log/checkpoint")).unwrap();
        let cp = verify_checkpoint(&on_disk, &log.vkey(), &[])
            .unwrap()
            .checkpoint;
        assert_eq!(cp.size(), log.published_size());
        // With nothing racing, a cosignature is accepted and lands on disk with the current checkpoint.
        let last = witness.latest_size("garita.test/log").unwrap();
        let lines = witness
            .add_checkpoint(&log.add_checkpoint_request(last).unwrap(), 2)
            .unwrap();
        assert_eq!(log.add_cosignatures(&lines).unwrap(), 1);
        let on_disk = std::fs::read(dir.path().join("log/checkpoint")).unwrap();
        let v = verify_checkpoint(&on_disk, &log.vkey(), &[witness.vkey()]).unwrap();
        assert_eq!((v.checkpoint.size(), v.cosigners.len()), (40, 1));
    }

    #[test]
    fn log_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Log>();
        assert_send_sync::<Integrator>();
    }

    #[test]
    fn concurrent_appenders_get_distinct_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(open(dir.path()));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    (0..50)
                        .map(|i| log.append(format!("{t}-{i}").as_bytes()).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<u64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..400).collect::<Vec<_>>());
        log.integrate().unwrap();
        // Each index holds the entry its appender was told.
        let e = log.entry(17).unwrap().unwrap();
        assert!(String::from_utf8(e).unwrap().contains('-'));
    }
}
