//! Content-addressed blobs named by the SHA-256 of their bytes, kept as `ab/abcdef…` either in a local
//! directory (the default, `DATA/blobs`) or in an object store such as an S3-compatible server.
//!
//! Both backends keep the same contract: the name is the lower-case hex SHA-256 of the content; `put` of
//! content already stored is a no-op; `get` hashes what came back and refuses bytes that no longer match their
//! name with [`StoreError::BlobDamaged`]. Locally a blob is written to a temporary file, fsync'd, renamed and
//! its directory fsync'd before `put` returns; in an object store `put` returns once the server has
//! acknowledged the whole object (an S3 PUT is atomic and durable when it answers 200).

use crate::objects::{ObjectStoreSettings, object_store_from_url};
use crate::{Result, StoreError};
use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The blob store: a local directory or an object store, behind one async API.
#[derive(Clone)]
pub struct BlobStore {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Files(Arc<FileBlobs>),
    /// The store and where it is, for logs (its URL, which carries no credentials).
    Objects(Arc<dyn ObjectStore>, String),
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Describes the place only: an object store's own Debug may carry its client configuration.
        write!(f, "BlobStore({})", self.describe())
    }
}

/// Checks a blob name: 64 lower-case hex digits. Names come from hashing or from validated envelopes; anything
/// else is refused before it can touch a path or a key.
fn valid_name(sha256: &str) -> bool {
    sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn name_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn checked(sha256: &str, bytes: Vec<u8>) -> Result<Vec<u8>> {
    if name_of(&bytes) == sha256 {
        Ok(bytes)
    } else {
        Err(StoreError::BlobDamaged {
            sha256: sha256.to_owned(),
        })
    }
}

fn not_found() -> StoreError {
    StoreError::NotFound { what: "blob" }
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    root: &Path,
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| StoreError::Io {
            path: root.to_owned(),
            source: std::io::Error::other(err),
        })?
}

impl BlobStore {
    /// Opens (creating) a blob directory: the default, fsync'd local backend.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn open(root: &Path) -> Result<Self> {
        Ok(BlobStore {
            backend: Backend::Files(Arc::new(FileBlobs::open(root)?)),
        })
    }

    /// Blobs kept in an object store (e.g. one from [`object_store_from_url`]).
    pub fn from_object_store(store: Arc<dyn ObjectStore>) -> Self {
        let label = store.to_string();
        BlobStore {
            backend: Backend::Objects(store, label),
        }
    }

    /// Opens the blob store a URL names: `s3://bucket[/prefix]` or `memory://` through object_store (with
    /// `settings` under the `AWS_*` environment), and a `file:///path` or a plain path as the local fsync'd
    /// directory backend.
    ///
    /// # Errors
    /// `ObjectStoreUrl` for an unknown scheme, `ObjectStore` or `Io` when the store cannot be set up.
    pub fn open_url(url: &str, settings: &ObjectStoreSettings) -> Result<Self> {
        if let Some(path) = url.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(StoreError::ObjectStoreUrl {
                    url: url.to_owned(),
                    detail: "a file URL needs an absolute path (file:///…)".into(),
                });
            }
            return Self::open(Path::new(path));
        }
        if !url.contains("://") {
            return Self::open(Path::new(url));
        }
        let store = object_store_from_url(url, settings)?;
        Ok(BlobStore {
            backend: Backend::Objects(store, url.to_owned()),
        })
    }

    /// Where the blobs are, for logs: the directory, or the object store's own short description (bucket and
    /// prefix; no credentials).
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Files(files) => files.root.display().to_string(),
            Backend::Objects(_, label) => label.clone(),
        }
    }

    /// Asks the store once, so a wrong endpoint, bucket or key fails at start-up rather than at the first capture.
    ///
    /// # Errors
    /// When the directory or the bucket cannot be listed.
    pub async fn check(&self) -> Result<()> {
        match &self.backend {
            Backend::Files(files) => tokio::fs::read_dir(&files.root)
                .await
                .map(drop)
                .map_err(io(&files.root)),
            Backend::Objects(store, _) => {
                // One page of the top level: at most the 256 two-digit folders.
                store.list_with_delimiter(None).await?;
                Ok(())
            }
        }
    }

    fn key(sha256: &str) -> ObjectPath {
        ObjectPath::from_iter([&sha256[..2], sha256])
    }

    /// Stores `bytes` durably and returns their SHA-256 (lower-case hex). Storing the same bytes twice is a no-op.
    ///
    /// # Errors
    /// On any file-system or object-store failure; nothing partial is left under the blob's name.
    pub async fn put(&self, bytes: impl Into<Bytes>) -> Result<String> {
        let bytes: Bytes = bytes.into();
        match &self.backend {
            Backend::Files(files) => {
                let files = Arc::clone(files);
                blocking(&files.root.clone(), move || files.put(&bytes)).await
            }
            Backend::Objects(store, _) => {
                let sha256 = name_of(&bytes);
                let key = Self::key(&sha256);
                match store.head(&key).await {
                    Ok(_) => return Ok(sha256),
                    Err(object_store::Error::NotFound { .. }) => {}
                    Err(err) => return Err(err.into()),
                }
                store.put(&key, PutPayload::from_bytes(bytes)).await?;
                Ok(sha256)
            }
        }
    }

    /// Reads a blob and checks its hash.
    ///
    /// # Errors
    /// `NotFound` when absent (or not a blob name), `BlobDamaged` when the bytes no longer hash to the name.
    pub async fn get(&self, sha256: &str) -> Result<Vec<u8>> {
        if !valid_name(sha256) {
            return Err(not_found());
        }
        match &self.backend {
            Backend::Files(files) => {
                let files = Arc::clone(files);
                let name = sha256.to_owned();
                blocking(&files.root.clone(), move || files.get(&name)).await
            }
            Backend::Objects(store, _) => {
                let bytes = match store.get(&Self::key(sha256)).await {
                    Ok(found) => found.bytes().await?,
                    Err(object_store::Error::NotFound { .. }) => return Err(not_found()),
                    Err(err) => return Err(err.into()),
                };
                checked(sha256, bytes.to_vec())
            }
        }
    }

    /// Whether a blob exists (by name; its content is checked on `get`).
    ///
    /// # Errors
    /// When the store cannot be asked.
    pub async fn contains(&self, sha256: &str) -> Result<bool> {
        if !valid_name(sha256) {
            return Ok(false);
        }
        match &self.backend {
            Backend::Files(files) => Ok(tokio::fs::try_exists(files.path_of(sha256))
                .await
                .unwrap_or(false)),
            Backend::Objects(store, _) => match store.head(&Self::key(sha256)).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(err) => Err(err.into()),
            },
        }
    }

    /// Deletes a blob (for retention purges). Deleting a missing blob is not an error.
    ///
    /// # Errors
    /// `NotFound` for a name that is not a blob name; a file-system or object-store failure other than absence.
    pub async fn delete(&self, sha256: &str) -> Result<()> {
        if !valid_name(sha256) {
            return Err(not_found());
        }
        match &self.backend {
            Backend::Files(files) => {
                let files = Arc::clone(files);
                let name = sha256.to_owned();
                blocking(&files.root.clone(), move || files.delete(&name)).await
            }
            Backend::Objects(store, _) => match store.delete(&Self::key(sha256)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(err) => Err(err.into()),
            },
        }
    }
}

/// Blob files under one directory. Writing is write-to-temp, fsync, rename, fsync directory, so a blob that
/// exists under its name is complete and durable. (object_store's `LocalFileSystem` does not fsync, hence this.)
#[derive(Debug)]
struct FileBlobs {
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

impl FileBlobs {
    fn open(root: &Path) -> Result<Self> {
        fs::create_dir_all(root.join("tmp")).map_err(io(root))?;
        Ok(FileBlobs {
            root: root.to_owned(),
        })
    }

    /// The file of a valid name (callers check the name first).
    fn path_of(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }

    fn put(&self, bytes: &[u8]) -> Result<String> {
        let sha256 = name_of(bytes);
        let path = self.path_of(&sha256);
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

    fn get(&self, sha256: &str) -> Result<Vec<u8>> {
        let path = self.path_of(sha256);
        match fs::read(&path) {
            Ok(bytes) => checked(sha256, bytes),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err(not_found()),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }

    fn delete(&self, sha256: &str) -> Result<()> {
        let path = self.path_of(sha256);
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

    /// The contract both backends keep; `damage` overwrites a stored blob behind the store's back.
    async fn contract(store: &BlobStore, damage: impl AsyncFnOnce(&str)) {
        store.check().await.unwrap();
        let name = store.put(&b"fingerprint"[..]).await.unwrap();
        assert_eq!(name, hex::encode(Sha256::digest(b"fingerprint")));
        assert_eq!(store.put(b"fingerprint".to_vec()).await.unwrap(), name);
        assert!(store.contains(&name).await.unwrap());
        assert_eq!(store.get(&name).await.unwrap(), b"fingerprint");
        damage(&name).await;
        assert!(matches!(
            store.get(&name).await,
            Err(StoreError::BlobDamaged { .. })
        ));
        store.delete(&name).await.unwrap();
        store.delete(&name).await.unwrap();
        assert!(!store.contains(&name).await.unwrap());
        assert!(matches!(
            store.get(&name).await,
            Err(StoreError::NotFound { .. })
        ));
        for bad in ["../../etc/passwd", &name.to_uppercase(), ""] {
            assert!(matches!(
                store.get(bad).await,
                Err(StoreError::NotFound { .. })
            ));
            assert!(!store.contains(bad).await.unwrap());
        }
        let empty = store.put(Vec::new()).await.unwrap();
        assert_eq!(store.get(&empty).await.unwrap(), b"");
    }

    #[tokio::test]
    async fn files_keep_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        contract(&store, async |name: &str| {
            fs::write(dir.path().join(&name[..2]).join(name), b"tampered").unwrap();
        })
        .await;
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        let by_url = format!("file://{}", dir.path().display());
        let again = BlobStore::open_url(&by_url, &ObjectStoreSettings::default()).unwrap();
        assert!(
            again
                .describe()
                .ends_with(&*dir.path().display().to_string())
        );
    }

    #[tokio::test]
    async fn object_stores_keep_the_contract() {
        let objects = object_store_from_url("memory://", &ObjectStoreSettings::default()).unwrap();
        let store = BlobStore::from_object_store(Arc::clone(&objects));
        contract(&store, async |name: &str| {
            objects
                .put(&BlobStore::key(name), PutPayload::from_static(b"tampered"))
                .await
                .unwrap();
        })
        .await;
    }
}
