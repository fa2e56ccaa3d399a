//! The last good snapshot on disk, so a restarted edge can serve before upstream answers.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The snapshot as upstream sent it: gzipped JSON, or JSON.
const FILE: &str = "snapshot";

fn file(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Writes the snapshot so that a crash at any moment leaves either the old file or the
/// new one, never a torn one: temp file, fsync, rename, fsync the directory.
pub fn persist(dir: &Path, json: &[u8]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let temporary = dir.join(format!(".{FILE}.tmp"));
    let mut out = File::create(&temporary)?;
    out.write_all(json)?;
    out.sync_all()?;
    drop(out);
    fs::rename(&temporary, file(dir))?;
    File::open(dir)?.sync_all()
}

/// The persisted snapshot, if there is one.
pub fn load(dir: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match fs::read(file(dir)) {
        Ok(json) => Ok(Some(json)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persisted_snapshots_replace_each_other_whole() {
        let dir =
            std::env::temp_dir().join(format!("togglerino-cache-test-{}", std::process::id()));
        assert_eq!(load(&dir).unwrap(), None);
        persist(&dir, b"{\"first\": true}").unwrap();
        persist(&dir, b"{\"second\": true}").unwrap();
        assert_eq!(load(&dir).unwrap().unwrap(), b"{\"second\": true}");
        assert!(!dir.join(".snapshot.tmp").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
