//! Files of file fields: naming and checking uploads, storing them (locally or on S3), finding a
//! file through its record for download, thumbnails, and the short-lived tokens protected files
//! need. A file is reached only through a record's field value, never by joining a requested
//! name onto a path.

mod name;
pub mod sniff;
pub mod storage;
pub mod thumb;
pub mod token;

use bytes::Bytes;
use serde_json::Value as Json;
use thiserror::Error;

use crate::collections::{Collection, FieldType, RuleKind};
use crate::error::CoreError;
use crate::rules::{Compiler, Mode, RequestCtx};
use crate::Backend;
pub use name::stored_name;
pub use storage::{FileStorage, Meta, Store};
use thumb::ThumbSize;

#[derive(Debug, Error)]
pub enum FileError {
    #[error("file not found")]
    NotFound,
    #[error("file storage: {0}")]
    Storage(String),
    #[error("thumbnail: {0}")]
    Thumb(String),
}

impl From<FileError> for CoreError {
    fn from(e: FileError) -> Self {
        match e {
            FileError::NotFound => CoreError::not_found(),
            FileError::Storage(m) | FileError::Thumb(m) => CoreError::Internal(m),
        }
    }
}

/// One file part of a multipart request, as received.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The form key: `field`, `field+` or `+field`.
    pub key: String,
    /// The client's file name.
    pub filename: String,
    pub bytes: Bytes,
}

/// An upload aimed at a file field, named for storage and sniffed.
#[derive(Debug, Clone)]
pub struct StagedFile {
    pub key: String,
    pub field: String,
    pub original: String,
    pub name: String,
    pub mime: String,
    pub bytes: Bytes,
}

/// Names and sniffs the uploads that target a file field of `c`; the others are ignored.
pub fn stage(c: &Collection, uploads: Vec<Upload>) -> Vec<StagedFile> {
    uploads
        .into_iter()
        .filter_map(|u| {
            let field = u.key.trim_start_matches('+').trim_end_matches('+');
            let f = c.field(field).filter(|f| f.kind == FieldType::File)?;
            let mime = sniff::detect(&u.bytes);
            Some(StagedFile {
                field: f.name.clone(),
                name: stored_name(&u.filename, &mime),
                original: u
                    .filename
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or("")
                    .to_string(),
                key: u.key,
                mime,
                bytes: u.bytes,
            })
        })
        .collect()
}

/// `<collectionId>/<recordId>`: the folder of one record's files.
pub fn record_prefix(collection_id: &str, record_id: &str) -> String {
    format!("{collection_id}/{record_id}")
}

pub fn file_key(collection_id: &str, record_id: &str, name: &str) -> String {
    format!("{collection_id}/{record_id}/{name}")
}

fn thumbs_prefix(collection_id: &str, record_id: &str, name: &str) -> String {
    format!("{collection_id}/{record_id}/thumbs_{name}")
}

/// Files to delete once a transaction has committed.
#[derive(Debug, Default)]
pub struct Cleanup {
    /// (collection id, record id, name): the file and its thumbnails.
    pub files: Vec<(String, String, String)>,
    /// Whole record folders (deleted records).
    pub records: Vec<(String, String)>,
}

impl Cleanup {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.records.is_empty()
    }

    pub fn extend(&mut self, other: Cleanup) {
        self.files.extend(other.files);
        self.records.extend(other.records);
    }

    /// Best effort: the database no longer points at these, so a failure only leaves garbage.
    pub async fn run(self, store: &Store) {
        for (c, r, n) in self.files {
            for res in [
                store.delete(&file_key(&c, &r, &n)).await,
                store.delete_prefix(&thumbs_prefix(&c, &r, &n)).await,
            ] {
                if let Err(e) = res {
                    tracing::warn!(error = %e, "could not delete a replaced file");
                }
            }
        }
        for (c, r) in self.records {
            if let Err(e) = store.delete_prefix(&record_prefix(&c, &r)).await {
                tracing::warn!(error = %e, "could not delete a deleted record's files");
            }
        }
    }
}

/// Writes new files; on failure removes the ones already written. Returns their keys.
pub async fn write_all(
    store: &Store,
    files: Vec<(String, Bytes)>,
) -> Result<Vec<String>, FileError> {
    let mut written = Vec::with_capacity(files.len());
    for (key, bytes) in files {
        if let Err(e) = store.put(&key, bytes).await {
            delete_keys(store, &written).await;
            return Err(e);
        }
        written.push(key);
    }
    Ok(written)
}

/// Deletes files by key, logging failures (cleanup after a failed write).
pub async fn delete_keys(store: &Store, keys: &[String]) {
    for k in keys {
        if let Err(e) = store.delete(k).await {
            tracing::warn!(error = %e, key = %k, "could not delete an orphaned upload");
        }
    }
}

/// A file found through its record, and what may be done with it.
#[derive(Debug, Clone)]
pub struct Located {
    pub collection_id: String,
    pub record_id: String,
    pub name: String,
    /// The thumb sizes the field allows.
    pub thumbs: Vec<String>,
}

/// Finds `filename` in a file field of the record, checking a protected field's file token
/// against the collection's viewRule. Every miss is the same 404.
pub async fn locate(
    backend: &Backend,
    collection: &str,
    record_id: &str,
    filename: &str,
    file_token: &str,
) -> Result<Located, CoreError> {
    let c = backend
        .schema()
        .get(collection)
        .ok_or_else(|| CoreError::NotFound("Missing or invalid collection context.".into()))?;
    let record = crate::auth::load_full(backend, &c, record_id)
        .await?
        .ok_or_else(CoreError::not_found)?;
    let field = c
        .fields
        .iter()
        .filter(|f| f.kind == FieldType::File)
        .find(|f| match record.get(&f.name) {
            Some(Json::String(s)) => s == filename,
            Some(Json::Array(a)) => a.iter().any(|v| v.as_str() == Some(filename)),
            _ => false,
        })
        .ok_or_else(CoreError::not_found)?;
    if field.opt_bool("protected") {
        let auth = token::authenticate(backend, file_token)
            .await
            .ok_or_else(CoreError::not_found)?;
        let ctx = RequestCtx {
            auth: Some(auth),
            method: "GET".into(),
            context: "default".into(),
            ..Default::default()
        };
        if !ctx.is_superuser() {
            let schema = backend.schema();
            let text = c.rule(RuleKind::View).ok_or_else(CoreError::not_found)?;
            let rule = Compiler::new(&schema, &ctx, Mode::Rule)
                .compile(&c, text)
                .map_err(|_| CoreError::not_found())?;
            crate::records::view_full(backend, &c, record_id, rule)
                .await?
                .ok_or_else(CoreError::not_found)?;
        }
    }
    Ok(Located {
        collection_id: c.id.clone(),
        record_id: record
            .get("id")
            .and_then(Json::as_str)
            .unwrap_or(record_id)
            .to_string(),
        name: filename.to_string(),
        thumbs: field.opt_strs("thumbs"),
    })
}

/// A file ready to be served: what it is and where to read it.
pub struct Opened {
    pub store: Store,
    pub key: String,
    /// The name to show (`100x100_name.png` for a thumbnail).
    pub name: String,
    pub mime: String,
    pub meta: Meta,
}

/// Opens a located file, or its thumbnail when `thumb` is a size the field allows and the file is
/// an image; the thumbnail is made on first request and kept.
pub async fn open(backend: &Backend, at: &Located, thumb: &str) -> Result<Opened, CoreError> {
    let store = backend.files.current(&backend.settings())?;
    let key = file_key(&at.collection_id, &at.record_id, &at.name);
    let meta = store.head(&key).await?.ok_or_else(CoreError::not_found)?;
    let head = store
        .read_range(&key, 0..meta.size.min(sniff::SNIFF_LEN as u64))
        .await?;
    let mime = sniff::detect(&head);
    let original = Opened {
        store: store.clone(),
        key,
        name: at.name.clone(),
        mime,
        meta,
    };
    let wanted = !thumb.is_empty()
        && (thumb == thumb::ALWAYS_ALLOWED || at.thumbs.iter().any(|t| t == thumb));
    let Some(size) = ThumbSize::parse(thumb).filter(|_| wanted) else {
        return Ok(original);
    };
    if !thumb::THUMBABLE.contains(&sniff::essence(&original.mime).as_str()) {
        return Ok(original);
    }
    let thumb_name = format!("{thumb}_{}", at.name);
    let thumb_key = format!(
        "{}/{thumb_name}",
        thumbs_prefix(&at.collection_id, &at.record_id, &at.name)
    );
    let meta = match store.head(&thumb_key).await? {
        Some(m) => m,
        None => match make_thumb(&store, &original.key, &thumb_key, size).await {
            Ok(m) => m,
            Err(e) => {
                // An image that cannot be thumbed is still served, as it is.
                tracing::warn!(error = %e, "thumbnail failed");
                return Ok(original);
            }
        },
    };
    Ok(Opened {
        store,
        key: thumb_key,
        name: thumb_name,
        mime: original.mime,
        meta,
    })
}

async fn make_thumb(
    store: &Store,
    key: &str,
    thumb_key: &str,
    size: ThumbSize,
) -> Result<Meta, FileError> {
    let bytes = store.read(key).await?;
    let out = tokio::task::spawn_blocking(move || thumb::generate(&bytes, size))
        .await
        .map_err(|e| FileError::Thumb(e.to_string()))??;
    store.put(thumb_key, Bytes::from(out)).await?;
    store.head(thumb_key).await?.ok_or(FileError::NotFound)
}

/// Checks that an S3 settings section works: writes a small file, lists and deletes it.
/// `filesystem` is `storage` (the `s3` section) or `backups` (`backups.s3`).
pub async fn test_s3(settings: &Json, filesystem: &str) -> Result<(), CoreError> {
    let section = match filesystem {
        "backups" => settings.get("backups").and_then(|b| b.get("s3")),
        _ => settings.get("s3"),
    }
    .cloned()
    .unwrap_or(Json::Null);
    let fail = |why: String| {
        CoreError::BadRequest(format!(
            "Failed to test the S3 filesystem. Raw error: \n{why}"
        ))
    };
    if !storage::s3_enabled(&section) {
        return Err(fail("S3 storage filesystem is not enabled.".into()));
    }
    let store = Store::s3(&section).map_err(|e| fail(e.to_string()))?;
    let prefix = format!("pb_settings_test_{}", crate::util::random_lower(5));
    store
        .put(&format!("{prefix}/test.txt"), Bytes::from_static(b"test"))
        .await
        .map_err(|e| fail(format!("Failed to upload a test file: {e}")))?;
    store
        .delete_prefix(&prefix)
        .await
        .map_err(|e| fail(format!("Failed to delete a test file: {e}")))?;
    Ok(())
}
