//! An `.xlsx` is a ZIP file: its parts are inflated and counted before
//! calamine sees them. The sizes in the ZIP's directory are only claims (the
//! zip reader inflates until the compressed data ends, whatever the
//! directory says), so they give a quick refusal and the real inflated bytes
//! are counted too, stopping at the limit.

use crate::ImportError;
use crate::limits::{MAX_UNCOMPRESSED_BYTES, MAX_ZIP_ENTRIES, inflates_too_much, too_large};
use std::io::{Cursor, Read};

/// Refuses a ZIP whose parts inflate to more than the limit, in time and
/// memory proportional to the limit, not to what the file claims.
pub(crate) fn check_zip(bytes: &[u8]) -> Result<(), ImportError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(damaged)?;
    if zip.len() > MAX_ZIP_ENTRIES {
        return Err(too_large(
            format!("压缩包内文件超过 {MAX_ZIP_ENTRIES} 个"),
            format!("it holds more than {MAX_ZIP_ENTRIES} parts"),
        ));
    }
    let mut claimed = 0u64;
    for i in 0..zip.len() {
        claimed = claimed.saturating_add(zip.by_index_raw(i).map_err(damaged)?.size());
    }
    if claimed > MAX_UNCOMPRESSED_BYTES {
        return Err(inflates_too_much());
    }
    let mut left = MAX_UNCOMPRESSED_BYTES;
    for i in 0..zip.len() {
        let part = zip.by_index(i).map_err(damaged)?;
        let n = std::io::copy(&mut part.take(left + 1), &mut std::io::sink()).map_err(damaged)?;
        if n > left {
            return Err(inflates_too_much());
        }
        left -= n;
    }
    Ok(())
}

fn damaged(e: impl std::fmt::Display) -> ImportError {
    ImportError::Unreadable(format!(
        "it is not a readable Excel workbook ({e}); it may be damaged or password-protected"
    ))
}
