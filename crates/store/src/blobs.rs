//! Content-addressed blob files: `blobs/ab/abcdef…` named by the SHA-256 of their bytes.

use crate::{Result, StoreError};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Blob files under one directory. Writing is write-to-temp, fsync, rename, fsync directory, so a blob that
/// exists under its name is complete and durable.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

fn fsync_dir(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(io(path))
}

impl BlobStore {
    /// Opens (creating) the blob directory.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn open(root: &Path) -> Result<Self> {
        fs::create_dir_all(root.join("tmp")).map_err(io(root))?;
        Ok(BlobStore {
            root: root.to_owned(),
        })
    }

    fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        // Names come from hashing or from validated envelopes; refuse anything else rather than touch the path.
        if sha256.len() != 64
            || !sha256
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return None;
        }
        Some(self.root.join(&sha256[..2]).join(sha256))
    }

    /// Stores `bytes` durably and returns their SHA-256 (lower-case hex). Storing the same bytes twice is a no-op.
    ///
    /// # Errors
    /// On any file-system failure; nothing partial is left under the blob's name.
    pub fn put(&self, bytes: &[u8]) -> Result<String> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        let Some(path) = self.path_of(&sha256) else {
            return Err(StoreError::BlobDamaged { sha256 });
        };
        if path.exists() {
            return Ok(sha256);
        }
        let dir = path.parent().unwrap_or(&self.root).to_owned();
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let tmp_dir = self.root.join("tmp");
        let tmp = tmp_dir.join(format!("{sha256}.{}", uuid::Uuid::new_v4()));
        let mut file = File::create(&tmp).map_err(io(&tmp))?;
        file.write_all(bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        drop(file);
        fs::rename(&tmp, &path).map_err(io(&path))?;
        fsync_dir(&dir)?;
        fsync_dir(&self.root)?;
        Ok(sha256)
    }

    /// Reads a blob and checks its hash.
    ///
    /// # Errors
    /// `NotFound` when absent, `BlobDamaged` when the bytes no longer hash to the name.
    pub fn get(&self, sha256: &str) -> Result<Vec<u8>> {
        let path = self
            .path_of(sha256)
            .ok_or(StoreError::NotFound { what: "blob" })?;
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound { what: "blob" });
            }
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        if hex::encode(Sha256::digest(&bytes)) != sha256 {
            return Err(StoreError::BlobDamaged {
                sha256: sha256.to_owned(),
            });
        }
        Ok(bytes)
    }

    /// Whether a blob exists.
    pub fn contains(&self, sha256: &str) -> bool {
        self.path_of(sha256).is_some_and(|path| path.exists())
    }

    /// Deletes a blob (for retention purges). Deleting a missing blob is not an error.
    ///
    /// # Errors
    /// On a file-system failure other than absence.
    pub fn delete(&self, sha256: &str) -> Result<()> {
        let path = self
            .path_of(sha256)
            .ok_or(StoreError::NotFound { what: "blob" })?;
        match fs::remove_file(&path) {
            Ok(()) => fsync_dir(path.parent().unwrap_or(&self.root)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_delete_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let name = store.put(b"fingerprint").unwrap();
        assert_eq!(name, hex::encode(Sha256::digest(b"fingerprint")));
        assert_eq!(store.put(b"fingerprint").unwrap(), name);
        assert_eq!(store.get(&name).unwrap(), b"fingerprint");
        fs::write(dir.path().join(&name[..2]).join(&name), b"tampered").unwrap();
        assert!(matches!(
            store.get(&name),
            Err(StoreError::BlobDamaged { .. })
        ));
        store.delete(&name).unwrap();
        assert!(matches!(store.get(&name), Err(StoreError::NotFound { .. })));
        assert!(matches!(
            store.get("../../etc/passwd"),
            Err(StoreError::NotFound { .. })
        ));
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }
}
