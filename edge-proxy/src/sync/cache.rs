//! The last good version of each environment on disk, so a restarted edge can serve
//! before upstream answers. One gzipped JSON file per environment, under
//! `environments/<project>/<environment>.json.gz`; project and environment keys are
//! lowercase letters, digits, `-` and `_`, so they are safe file names.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use togglerino_shared::model::Snapshot;

const FOLDER: &str = "environments";
const SUFFIX: &str = ".json.gz";

fn file(dir: &Path, project: &str, environment: &str) -> PathBuf {
    dir.join(FOLDER)
        .join(project)
        .join(format!("{environment}{SUFFIX}"))
}

/// Writes one environment so that a crash at any moment leaves either the old file or
/// the new one, never a torn one: temp file, fsync, rename, fsync the directory.
pub fn persist(dir: &Path, snapshot: &Snapshot) -> std::io::Result<()> {
    let target = file(dir, &snapshot.project, &snapshot.environment);
    let folder = target.parent().expect("a file has a folder");
    fs::create_dir_all(folder)?;
    let temporary = folder.join(format!(".{}.tmp", snapshot.environment));
    let mut encoder = GzEncoder::new(File::create(&temporary)?, Compression::fast());
    serde_json::to_writer(&mut encoder, snapshot)?;
    let out = encoder.finish()?;
    out.sync_all()?;
    drop(out);
    fs::rename(&temporary, &target)?;
    File::open(folder)?.sync_all()
}

/// Removes a deleted environment's file.
pub fn forget(dir: &Path, project: &str, environment: &str) -> std::io::Result<()> {
    match fs::remove_file(file(dir, project, environment)) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// Every persisted environment, each read on its own: one unreadable file costs only
/// that environment.
pub fn load_all(dir: &Path) -> Vec<(PathBuf, Result<Snapshot, String>)> {
    let Ok(projects) = fs::read_dir(dir.join(FOLDER)) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for project in projects.flatten() {
        let Ok(files) = fs::read_dir(project.path()) else {
            continue;
        };
        for entry in files.flatten() {
            let path = entry.path();
            if path.to_string_lossy().ends_with(SUFFIX) {
                let read = read(&path);
                found.push((path, read));
            }
        }
    }
    found
}

fn read(path: &Path) -> Result<Snapshot, String> {
    let mut json = Vec::new();
    GzDecoder::new(File::open(path).map_err(|e| e.to_string())?)
        .read_to_end(&mut json)
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&json).map_err(|e| format!("malformed snapshot: {e}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn snapshot(environment: &str, revision: u64) -> Snapshot {
        serde_json::from_value(
            json!({"project": "shop", "environment": environment, "revision": revision}),
        )
        .unwrap()
    }

    #[test]
    fn environments_persist_replace_each_other_whole_and_can_be_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_all(dir.path()).is_empty());
        persist(dir.path(), &snapshot("production", 1)).unwrap();
        persist(dir.path(), &snapshot("production", 2)).unwrap();
        persist(dir.path(), &snapshot("staging", 5)).unwrap();
        let mut loaded: Vec<Snapshot> = load_all(dir.path())
            .into_iter()
            .map(|(_, s)| s.unwrap())
            .collect();
        loaded.sort_by_key(|s| s.revision);
        assert_eq!(loaded, [snapshot("production", 2), snapshot("staging", 5)]);
        forget(dir.path(), "shop", "staging").unwrap();
        forget(dir.path(), "shop", "staging").unwrap();
        assert_eq!(load_all(dir.path()).len(), 1);

        fs::write(file(dir.path(), "shop", "broken"), b"not gzip").unwrap();
        let results = load_all(dir.path());
        assert_eq!(results.iter().filter(|(_, r)| r.is_err()).count(), 1);
    }
}
