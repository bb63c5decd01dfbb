//! What a change of knowledge does to threat models: two report files compared
//! ([`diff_report_files`]), a candidate pack version applied to many projects' models next to
//! the version they use ([`impact`]), and an update of one project ([`update_impact`]).

use std::path::{Path, PathBuf};

use crate::analysis::diff::{ReportDiff, ReportView, diff};

/// Why a report file could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum ReportFileError {
    /// The file could not be opened or read (an operational failure).
    #[error("cannot read `{}`: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    /// The file is not a threatpack JSON report (bad input).
    #[error(
        "`{}` is not a threatpack JSON report: {reason}\n       help: make it with `threatpack apply --format json`",
        path.display()
    )]
    Invalid { path: PathBuf, reason: String },
}

/// Reads a JSON report (`apply --format json`) in one streaming pass, keeping only what a
/// diff needs ([`ReportView`]; caps in `analysis::diff`).
pub fn read_report_view(path: &Path) -> Result<ReportView, ReportFileError> {
    let file = std::fs::File::open(path).map_err(|error| ReportFileError::Read {
        path: path.to_path_buf(),
        reason: error.to_string(),
    })?;
    ReportView::read(std::io::BufReader::with_capacity(1 << 16, file)).map_err(|error| {
        if error.is_io() {
            ReportFileError::Read {
                path: path.to_path_buf(),
                reason: error.to_string(),
            }
        } else {
            ReportFileError::Invalid {
                path: path.to_path_buf(),
                reason: error.to_string(),
            }
        }
    })
}

/// `report diff OLD NEW`: threat instances new, gone and changed, backlog items added,
/// removed and changed, by stable id.
pub fn diff_report_files(old: &Path, new: &Path) -> Result<ReportDiff, ReportFileError> {
    // Each file is read on its own thread: parsing is most of the time.
    let (old_view, new_view) = std::thread::scope(|scope| {
        let reading = scope.spawn(|| read_report_view(old));
        let new_view = read_report_view(new);
        let old_view = reading.join().unwrap_or_else(|_| {
            Err(ReportFileError::Invalid {
                path: old.to_path_buf(),
                reason: "internal error while reading".to_string(),
            })
        });
        (old_view, new_view)
    });
    Ok(diff(&old_view?, &new_view?))
}
