//! Where files live: the data folder's `storage/` by default, an S3-compatible bucket when the
//! `s3` settings are enabled. Both sit behind `object_store`, so the rest of the code never knows
//! which one it talks to. Keys are `<collectionId>/<recordId>/<name>`, as PocketBase lays them out.

use std::ops::Range;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload};
use serde_json::Value as Json;

use super::FileError;

/// The storage the settings currently point at, rebuilt only when the `s3` section changes.
pub struct FileStorage {
    root: PathBuf,
    cached: Mutex<Option<(Json, Store)>>,
}

impl FileStorage {
    /// Local storage goes under `<data_dir>/storage`.
    pub fn new(data_dir: &FsPath) -> Self {
        FileStorage {
            root: data_dir.join("storage"),
            cached: Mutex::new(None),
        }
    }

    pub fn current(&self, settings: &Json) -> Result<Store, FileError> {
        let s3 = settings.get("s3").cloned().unwrap_or(Json::Null);
        let key = if s3_enabled(&s3) { s3 } else { Json::Null };
        if let Ok(cached) = self.cached.lock() {
            if let Some((k, store)) = cached.as_ref() {
                if *k == key {
                    return Ok(store.clone());
                }
            }
        }
        let store = if key.is_null() {
            Store::local(&self.root)?
        } else {
            Store::s3(&key)?
        };
        if let Ok(mut cached) = self.cached.lock() {
            *cached = Some((key, store.clone()));
        }
        Ok(store)
    }
}

pub fn s3_enabled(s3: &Json) -> bool {
    s3.get("enabled").and_then(Json::as_bool) == Some(true)
}

/// What a stored file's listing says about it.
#[derive(Debug, Clone)]
pub struct Meta {
    pub size: u64,
    pub modified: chrono::DateTime<chrono::Utc>,
}

/// One storage backend. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    /// Set for the local backend, whose emptied folders are removed too.
    local_root: Option<PathBuf>,
}

fn storage_err(e: object_store::Error) -> FileError {
    match e {
        object_store::Error::NotFound { .. } => FileError::NotFound,
        other => FileError::Storage(other.to_string()),
    }
}

fn key_path(key: &str) -> Result<Path, FileError> {
    Path::parse(key).map_err(|e| FileError::Storage(format!("bad file key {key:?}: {e}")))
}

impl Store {
    pub fn local(root: &FsPath) -> Result<Store, FileError> {
        std::fs::create_dir_all(root)
            .map_err(|e| FileError::Storage(format!("cannot create {}: {e}", root.display())))?;
        let fs = LocalFileSystem::new_with_prefix(root).map_err(storage_err)?;
        Ok(Store {
            inner: Arc::new(fs),
            local_root: Some(root.to_path_buf()),
        })
    }

    /// An S3-compatible bucket from a settings section (`bucket`, `region`, `endpoint`,
    /// `accessKey`, `secret`, `forcePathStyle`).
    pub fn s3(s3: &Json) -> Result<Store, FileError> {
        let get = |k: &str| s3.get(k).and_then(Json::as_str).unwrap_or("").to_string();
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(get("bucket"))
            .with_region(get("region"))
            .with_access_key_id(get("accessKey"))
            .with_secret_access_key(get("secret"))
            .with_virtual_hosted_style_request(
                s3.get("forcePathStyle").and_then(Json::as_bool) != Some(true),
            )
            .with_allow_http(true);
        let endpoint = get("endpoint");
        if !endpoint.is_empty() {
            let endpoint = if endpoint.contains("://") {
                endpoint
            } else {
                format!("https://{endpoint}")
            };
            b = b.with_endpoint(endpoint);
        }
        let store = b.build().map_err(|e| FileError::Storage(e.to_string()))?;
        Ok(Store {
            inner: Arc::new(store),
            local_root: None,
        })
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), FileError> {
        self.inner
            .put(&key_path(key)?, PutPayload::from(bytes))
            .await
            .map_err(storage_err)?;
        Ok(())
    }

    pub async fn head(&self, key: &str) -> Result<Option<Meta>, FileError> {
        match self.inner.head(&key_path(key)?).await {
            Ok(m) => Ok(Some(Meta {
                size: m.size,
                modified: m.last_modified,
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(storage_err(e)),
        }
    }

    pub async fn read(&self, key: &str) -> Result<Bytes, FileError> {
        let got = self.inner.get(&key_path(key)?).await.map_err(storage_err)?;
        got.bytes().await.map_err(storage_err)
    }

    pub async fn read_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, FileError> {
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        self.inner
            .get_range(&key_path(key)?, range)
            .await
            .map_err(storage_err)
    }

    /// The file's bytes (or a range of them) as a stream, for serving without loading it whole.
    pub async fn stream(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>, FileError> {
        let opts = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        let got = self
            .inner
            .get_opts(&key_path(key)?, opts)
            .await
            .map_err(storage_err)?;
        Ok(got
            .into_stream()
            .map_err(|e| std::io::Error::other(e.to_string()))
            .boxed())
    }

    /// Deletes one file; a file already gone is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), FileError> {
        match self.inner.delete(&key_path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(storage_err(e)),
        }
        if let (Some(root), Some((dir, _))) = (&self.local_root, key.rsplit_once('/')) {
            // Only succeeds when the folder is empty, which is the point.
            let _ = tokio::fs::remove_dir(root.join(dir)).await;
        }
        Ok(())
    }

    /// Deletes every file under `prefix/`.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<(), FileError> {
        let p = key_path(prefix)?;
        if let Some(root) = &self.local_root {
            return match tokio::fs::remove_dir_all(root.join(p.as_ref())).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(FileError::Storage(e.to_string())),
            };
        }
        let metas: Vec<_> = self
            .inner
            .list(Some(&p))
            .try_collect()
            .await
            .map_err(storage_err)?;
        for m in metas {
            match self.inner.delete(&m.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(storage_err(e)),
            }
        }
        Ok(())
    }

    /// Every key under `prefix/` (tests and the S3 check use it).
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, FileError> {
        let p = key_path(prefix)?;
        let metas: Vec<_> = self
            .inner
            .list(Some(&p))
            .try_collect()
            .await
            .map_err(storage_err)?;
        Ok(metas.into_iter().map(|m| m.location.to_string()).collect())
    }
}
