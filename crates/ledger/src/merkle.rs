//! RFC 6962 Merkle tree hashing and proofs ([RFC 6962 §2.1], [RFC 9162 §2.1]).
//!
//! Hashing and the proof algorithms come from `tlog_tiles` (its `record_hash`, `node_hash`, `prove_record`,
//! `prove_tree`, `check_record`, `check_tree`). This module adds [`StoredHashes`], the in-memory hash store the
//! log keeps (one hash per complete subtree, in the stored-hash order of Crosby and Wallach §3.3 that the crate
//! uses), and wraps verification in this crate's error type.
//!
//! [RFC 6962 §2.1]: https://www.rfc-editor.org/rfc/rfc6962#section-2.1
//! [RFC 9162 §2.1]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1

pub use tlog_tiles::{EMPTY_HASH, HASH_SIZE, Hash};
use tlog_tiles::{HashReader, stored_hash_index};

use crate::error::ProofError;

/// The RFC 6962 leaf hash of an entry: `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    tlog_tiles::record_hash(entry)
}

/// The RFC 6962 interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: Hash, right: Hash) -> Hash {
    tlog_tiles::node_hash(left, right)
}

/// Every complete-subtree hash of a growing tree, kept in memory.
///
/// A tree of `n` leaves stores just under `2n` hashes (64 bytes a leaf). Every tile, root and proof of the log is
/// computed from here; the store is rebuilt from the entries file when the log is opened.
#[derive(Debug, Clone, Default)]
pub struct StoredHashes {
    hashes: Vec<Hash>,
    size: u64,
}

impl StoredHashes {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf (already hashed with [`leaf_hash`]) and the hashes of the subtrees it completes.
    pub fn push_leaf(&mut self, leaf: Hash) {
        let n = self.size;
        let mut hash = leaf;
        self.hashes.push(hash);
        // Each trailing 1 bit of n completes a subtree whose left half was stored earlier.
        let mut level = 0u8;
        while (n >> level) & 1 == 1 {
            let left_idx = stored_hash_index(level, (n >> level) - 1);
            // The left sibling was stored when its subtree completed, so the index is always in range.
            let left = self.hashes[left_idx as usize];
            hash = node_hash(left, hash);
            self.hashes.push(hash);
            level += 1;
        }
        self.size += 1;
    }

    /// The hash of the complete subtree at `level` (0 = leaves) and position `n`, if that subtree is complete.
    pub fn hash_at(&self, level: u8, n: u64) -> Option<Hash> {
        if level >= 64 {
            return None;
        }
        let end = n.checked_add(1)?.checked_shl(u32::from(level))?;
        if end > self.size || (end >> level) != n + 1 {
            return None;
        }
        let idx = usize::try_from(stored_hash_index(level, n)).ok()?;
        self.hashes.get(idx).copied()
    }

    /// The root hash of the tree's first `size` leaves.
    ///
    /// # Errors
    ///
    /// [`ProofError::BadSizes`] when `size` exceeds the tree.
    pub fn root(&self, size: u64) -> Result<Hash, ProofError> {
        if size > self.size {
            return Err(ProofError::BadSizes {
                old: size,
                new: self.size,
            });
        }
        tlog_tiles::tree_hash(size, self).map_err(ProofError::HashRead)
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves (RFC 6962 §2.1.1).
    ///
    /// # Errors
    ///
    /// [`ProofError::IndexOutOfRange`] unless `index < size <= self.size()`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        if index >= size || size > self.size {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        tlog_tiles::prove_record(size, index, self).map_err(ProofError::HashRead)
    }

    /// The consistency proof from the tree of `old` leaves to that of `new` leaves (RFC 6962 §2.1.2).
    ///
    /// # Errors
    ///
    /// [`ProofError::BadSizes`] unless `1 <= old <= new <= self.size()`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofError> {
        if old == 0 || old > new || new > self.size {
            return Err(ProofError::BadSizes { old, new });
        }
        tlog_tiles::prove_tree(new, old, self).map_err(ProofError::HashRead)
    }
}

impl HashReader for StoredHashes {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&idx| {
                usize::try_from(idx)
                    .ok()
                    .and_then(|i| self.hashes.get(i).copied())
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// Checks that `proof` shows leaf `index` with hash `leaf` is in the tree of `size` leaves with root `root`.
///
/// # Errors
///
/// [`ProofError::IndexOutOfRange`] when `index >= size`, [`ProofError::Mismatch`] when the proof does not
/// reproduce `root`.
pub fn verify_inclusion(
    proof: &[Hash],
    size: u64,
    root: Hash,
    index: u64,
    leaf: Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // No valid proof is longer than the tree is tall; refusing early also bounds the library's recursion.
    if proof.len() > 64 {
        return Err(ProofError::Mismatch);
    }
    tlog_tiles::check_record(&proof.to_vec(), size, root, index, leaf)
        .map_err(|_| ProofError::Mismatch)
}

/// Checks that `proof` shows the tree of `old` leaves with root `old_root` is a prefix of the tree of `new`
/// leaves with root `new_root`.
///
/// As in RFC 9162 §2.1.4.2, `old` must be at least 1: every tree is trivially consistent with the empty tree, so
/// callers that accept an empty old tree (a witness's first checkpoint) handle that case themselves.
///
/// # Errors
///
/// [`ProofError::BadSizes`] unless `1 <= old <= new`, [`ProofError::Mismatch`] when the proof fails.
pub fn verify_consistency(
    proof: &[Hash],
    old: u64,
    old_root: Hash,
    new: u64,
    new_root: Hash,
) -> Result<(), ProofError> {
    if old == 0 || old > new {
        return Err(ProofError::BadSizes { old, new });
    }
    if proof.len() > 64 {
        return Err(ProofError::Mismatch);
    }
    tlog_tiles::check_tree(&proof.to_vec(), new, new_root, old, old_root)
        .map_err(|_| ProofError::Mismatch)
}

/// Checks an inclusion proof of leaf `index` in the subtree `[start, end)` whose hash is `subtree_root`, as used by
/// Merkle Tree Certificates (draft-ietf-plants-merkle-tree-certs, "Subtrees"). A valid subtree is non-empty and
/// starts at a multiple of the smallest power of two not below its size, so it is an ordinary tree of `end - start`
/// leaves and the proof is an ordinary inclusion proof of `index - start`.
///
/// # Errors
///
/// [`ProofError::BadSizes`] for an invalid subtree, [`ProofError::IndexOutOfRange`] for a leaf outside it,
/// [`ProofError::Mismatch`] when the proof fails.
pub fn verify_subtree_inclusion(
    proof: &[Hash],
    start: u64,
    end: u64,
    subtree_root: Hash,
    index: u64,
    leaf: Hash,
) -> Result<(), ProofError> {
    if start >= end {
        return Err(ProofError::BadSizes {
            old: start,
            new: end,
        });
    }
    let size = end - start;
    let aligned = size
        .checked_next_power_of_two()
        .is_some_and(|width| start.is_multiple_of(width));
    if !aligned {
        return Err(ProofError::BadSizes {
            old: start,
            new: end,
        });
    }
    if index < start || index >= end {
        return Err(ProofError::IndexOutOfRange { index, size: end });
    }
    verify_inclusion(proof, size, subtree_root, index - start, leaf)
}

/// Whether `[start, end)` is a subtree: non-empty, and `start` a multiple of the smallest power of two not below
/// its size (draft-ietf-plants-merkle-tree-certs, "Definition of a Subtree").
fn is_valid_subtree(start: u64, end: u64) -> bool {
    start < end
        && (end - start)
            .checked_next_power_of_two()
            .is_some_and(|width| start.is_multiple_of(width))
}

/// Checks a subtree consistency proof: that the subtree `[start, end)` with hash `subtree_root` is part of the tree
/// of `size` leaves with root `root` (draft-ietf-plants-merkle-tree-certs, "Verifying a Subtree Consistency
/// Proof", followed step by step). With `start = 0` this is an RFC 9162 consistency proof.
///
/// An empty subtree (`start == end <= size`) is consistent with every tree, so, as the transparency-dev test
/// vectors expect, it is accepted with an empty proof when `subtree_root` is the empty-tree hash.
///
/// # Errors
///
/// [`ProofError::BadSizes`] for an invalid subtree or `end > size`, [`ProofError::Mismatch`] when the proof fails.
pub fn verify_subtree_consistency(
    proof: &[Hash],
    start: u64,
    end: u64,
    size: u64,
    subtree_root: Hash,
    root: Hash,
) -> Result<(), ProofError> {
    if start == end && end <= size {
        return if proof.is_empty() && subtree_root == EMPTY_HASH {
            Ok(())
        } else {
            Err(ProofError::Mismatch)
        };
    }
    if !is_valid_subtree(start, end) || end > size {
        return Err(ProofError::BadSizes {
            old: end,
            new: size,
        });
    }
    if proof.len() > 64 {
        return Err(ProofError::Mismatch);
    }
    let (mut f_n, mut s_n, mut t_n) = (start, end - 1, size - 1);
    let shift = |f: &mut u64, s: &mut u64, t: &mut u64| {
        *f >>= 1;
        *s >>= 1;
        *t >>= 1;
    };
    if s_n == t_n {
        while f_n != s_n {
            shift(&mut f_n, &mut s_n, &mut t_n);
        }
    } else {
        while f_n != s_n && s_n & 1 == 1 {
            shift(&mut f_n, &mut s_n, &mut t_n);
        }
    }
    let mut rest = proof.iter();
    let (mut f_r, mut s_r) = if f_n == s_n {
        (subtree_root, subtree_root)
    } else {
        let first = *rest.next().ok_or(ProofError::Mismatch)?;
        (first, first)
    };
    for c in rest {
        if t_n == 0 {
            return Err(ProofError::Mismatch);
        }
        if s_n & 1 == 1 || s_n == t_n {
            if f_n < s_n {
                f_r = node_hash(*c, f_r);
            }
            s_r = node_hash(*c, s_r);
            // s_n is non-zero here (it equals t_n > 0 or is odd), so this ends.
            while s_n & 1 == 0 && s_n != 0 {
                shift(&mut f_n, &mut s_n, &mut t_n);
            }
        } else {
            s_r = node_hash(s_r, *c);
        }
        shift(&mut f_n, &mut s_n, &mut t_n);
    }
    if t_n == 0 && f_r == subtree_root && s_r == root {
        Ok(())
    } else {
        Err(ProofError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference MTH from RFC 6962 §2.1, computed recursively from the leaves.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => EMPTY_HASH,
            1 => leaves[0],
            n => {
                // Largest power of two strictly below n.
                let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
                node_hash(mth(&leaves[..k]), mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn roots_and_proofs_match_reference_for_small_trees() {
        let leaves: Vec<Hash> = (0..40u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut tree = StoredHashes::new();
        for leaf in &leaves {
            tree.push_leaf(*leaf);
        }
        for size in 1..=40u64 {
            let root = tree.root(size).unwrap();
            assert_eq!(root, mth(&leaves[..size as usize]), "size {size}");
            for index in 0..size {
                let proof = tree.inclusion_proof(index, size).unwrap();
                verify_inclusion(&proof, size, root, index, leaves[index as usize]).unwrap();
                assert!(
                    verify_inclusion(
                        &proof,
                        size,
                        root,
                        index,
                        leaves[index as usize].clone_with_flip()
                    )
                    .is_err()
                );
            }
            for old in 1..=size {
                let proof = tree.consistency_proof(old, size).unwrap();
                verify_consistency(&proof, old, tree.root(old).unwrap(), size, root).unwrap();
            }
        }
        assert_eq!(tree.root(0).unwrap(), EMPTY_HASH);
        assert!(tree.root(41).is_err());
        assert!(tree.inclusion_proof(5, 5).is_err());
        assert!(tree.consistency_proof(0, 5).is_err());
    }

    #[test]
    fn hash_at_only_returns_complete_subtrees() {
        let mut tree = StoredHashes::new();
        for i in 0..5u8 {
            tree.push_leaf(leaf_hash(&[i]));
        }
        assert!(tree.hash_at(2, 0).is_some());
        assert!(tree.hash_at(2, 1).is_none());
        assert_eq!(tree.hash_at(0, 4), Some(leaf_hash(&[4])));
        assert!(tree.hash_at(0, 5).is_none());
        assert!(tree.hash_at(63, u64::MAX).is_none());
    }

    trait Flip {
        fn clone_with_flip(&self) -> Hash;
    }
    impl Flip for Hash {
        fn clone_with_flip(&self) -> Hash {
            let mut h = *self;
            h.0[0] ^= 1;
            h
        }
    }
}
