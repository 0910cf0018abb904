//! `/api/files`: downloads (with thumbnails and ranges) and file tokens for protected files.

pub mod download;
pub mod token;
