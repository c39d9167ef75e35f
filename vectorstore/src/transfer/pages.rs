//! Reading stores for a transfer: the kinds to move, each read page by page in id order, and
//! the progress reported meanwhile.

use vectorstore_core::{Error, ErrorKind, KindInfo, Result, VectorRecord, VectorStore, limits, validate};

/// Progress of a transfer, for a progress bar.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress<'a> {
    /// A kind starts; its record count when known.
    Kind {
        /// The kind.
        kind: &'a str,
        /// Records it holds, when known.
        total: Option<u64>,
    },
    /// This many more records were read or written.
    Records(u64),
}

/// Reads a kind page by page with `scan`, in id order.
pub(crate) struct Pages<'a> {
    store: &'a dyn VectorStore,
    kind: &'a str,
    after: Option<String>,
    page: usize,
    done: bool,
}

impl<'a> Pages<'a> {
    pub(crate) fn new(store: &'a dyn VectorStore, kind: &'a str, page: usize) -> Self {
        Pages { store, kind, after: None, page: page.clamp(1, limits::MAX_SCAN_LIMIT), done: false }
    }

    /// The next page, or `None` after the last.
    pub(crate) async fn next(&mut self) -> Result<Option<Vec<VectorRecord>>> {
        if self.done {
            return Ok(None);
        }
        let records = self.store.scan(self.kind, self.after.as_deref(), self.page).await?;
        if let (Some(previous), Some(first)) = (&self.after, records.first())
            && first.id.as_str() <= previous.as_str()
        {
            return Err(Error::new(
                ErrorKind::Backend,
                format!("scan of kind {:?} did not advance past {previous:?}", self.kind),
            ));
        }
        self.done = records.len() < self.page;
        match records.last() {
            Some(last) => {
                self.after = Some(last.id.clone());
                Ok(Some(records))
            }
            None => {
                self.done = true;
                Ok(None)
            }
        }
    }
}

/// The kinds to move: all of `store`'s, or the chosen ones (each must exist).
pub(crate) async fn chosen_kinds(store: &dyn VectorStore, chosen: &[String]) -> Result<Vec<KindInfo>> {
    let kinds = store.kinds().await?;
    for wanted in chosen {
        validate::kind(wanted)?;
        if !kinds.iter().any(|k| &k.kind == wanted) {
            return Err(Error::new(ErrorKind::InvalidArgument, format!("the store has no kind {wanted:?}")));
        }
    }
    Ok(kinds.into_iter().filter(|k| chosen.is_empty() || chosen.contains(&k.kind)).collect())
}
