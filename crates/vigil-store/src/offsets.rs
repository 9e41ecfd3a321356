//! How far each tailed log file has been read, so a restart resumes where the last run
//! stopped: no line read twice, none skipped.

use sqlx::Row;
use vigil_core::Timestamp;

use crate::{Store, StoreError};

/// The read position in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceOffset {
    /// The file's identity (device and inode), to notice rotation while Vigil was down.
    pub file_id: String,
    /// A digest of the file's first bytes, to notice a reused inode.
    pub head: String,
    /// Bytes read: the end of the last whole line handed to the rules.
    pub position: u64,
}

impl Store {
    /// The stored position of `source` (for files, `file:HOST:PATH`).
    pub async fn source_offset(&self, source: &str) -> Result<Option<SourceOffset>, StoreError> {
        let row = sqlx::query("SELECT file_id, head, position FROM source_offsets WHERE source = $1")
            .bind(source)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let position: i64 = row.try_get("position")?;
            Ok(SourceOffset {
                file_id: row.try_get("file_id")?,
                head: row.try_get("head")?,
                position: u64::try_from(position).map_err(|_| StoreError::Corrupt(format!("negative offset {position}")))?,
            })
        })
        .transpose()
    }

    /// Stores the positions of several sources in one transaction.
    pub async fn save_source_offsets(&self, offsets: &[(String, SourceOffset)], at: Timestamp) -> Result<(), StoreError> {
        let mut db = self.begin_write().await?;
        for (source, offset) in offsets {
            sqlx::query(
                "INSERT INTO source_offsets (source, file_id, head, position, updated_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (source) DO UPDATE SET file_id = $2, head = $3, position = $4, updated_at = $5",
            )
            .bind(source)
            .bind(&offset.file_id)
            .bind(&offset.head)
            .bind(i64::try_from(offset.position).unwrap_or(i64::MAX))
            .bind(at.0)
            .execute(&mut **db)
            .await?;
        }
        db.commit().await?;
        Ok(())
    }
}
