//! The first read-write open of a file: its layout created or brought up to date
//! ([`crate::layout`]) and the original (Python) store's tables adopted ([`crate::legacy`]),
//! once, whichever process gets there first.

use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;
use vectorstore_core::{Result, SCHEMA_VERSION};

use crate::config::SqliteVecConfig;
use crate::error::open_error;
use crate::layout::{
    CHANGES_TABLE, at, create_metadata, has_table, kind_rows, recorded_version, switch_to_wal, upgrade,
};
use crate::legacy::{self, Conns, LegacyAdoption};

/// How long an open waits for another process that holds the write lock while the original
/// store's tables are still to be adopted (that process may be adopting them), at least.
const ADOPTION_WAIT: Duration = Duration::from_secs(120);

/// Makes the file usable: refuses a newer layout before writing anything, switches it to WAL,
/// creates the metadata tables and records the schema version when the file is new, adopts the
/// original (Python) store's tables when the file has them and they were not adopted yet, and
/// checks that every kind is readable. Returns what was adopted, if this call adopted.
///
/// Safe when several processes open the file at once: the journal-mode switch is retried
/// while another process holds the lock, and the tables are created and the original store
/// adopted under `BEGIN IMMEDIATE`, checking the version and whether the adoption was done
/// again inside that transaction, so the adoption happens exactly once.
pub(crate) async fn bootstrap(
    conn: &mut SqliteConnection,
    settings: &SqliteVecConfig,
) -> Result<Option<LegacyAdoption>> {
    let path = settings.path.as_path();
    // Read-only first: a file of a newer version must be left untouched.
    let recorded = recorded_version(conn, path).await?;
    switch_to_wal(conn, path, settings.busy_timeout).await?;
    let legacy = legacy::pending(conn).await.map_err(|err| at(err, path))?;
    let counted = has_table(conn, CHANGES_TABLE).await.map_err(|e| open_error(e, path))?;
    let outdated = recorded.is_some_and(|version| version < i64::from(SCHEMA_VERSION));
    let mut adoption = None;
    let mut upgraded = None;
    if recorded.is_none() || legacy || !counted || outdated {
        let wait = if legacy { settings.busy_timeout.max(ADOPTION_WAIT) } else { settings.busy_timeout };
        let started = Instant::now();
        adoption = loop {
            let mut tx = match conn.begin_with("BEGIN IMMEDIATE").await {
                Ok(tx) => tx,
                Err(err) if crate::error::is_busy(&err) && started.elapsed() < wait => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Err(err) => return Err(open_error(err, path)),
            };
            create_metadata(&mut tx, path).await?;
            // Another process may have upgraded since the first look: this transaction decides.
            upgraded = upgrade(&mut tx, path).await?;
            // Another process may have adopted since the first look: this transaction decides.
            let adopted = if legacy && !legacy::adopted(&mut tx).await? {
                Some(legacy::adopt(&mut Conns::Same(&mut tx), path, settings.legacy_skip_invalid, false).await?)
            } else {
                None
            };
            tx.commit().await.map_err(|e| open_error(e, path))?;
            break adopted;
        };
    }
    if let Some((from, records)) = upgraded {
        tracing::warn!(
            path = %path.display(),
            from,
            to = SCHEMA_VERSION,
            records,
            "upgraded the store's layout once; the records it held count as written now (they carried no write time)"
        );
    }
    if let Some(adopted) = &adoption {
        tracing::warn!(
            path = %path.display(),
            kinds = adopted.kinds.len(),
            records = adopted.records(),
            skipped = adopted.skipped.len(),
            "adopted the original (Python) store's tables into the current layout, once (they are left as they \
             were): {adopted}"
        );
    }
    // Every kind must be readable by this build (a known metric and layout).
    kind_rows(conn).await.map_err(|err| at(err, path))?;
    Ok(adoption)
}
