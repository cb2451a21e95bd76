//! The files beside the database (image, volume, snapshot and backup bytes). A new file is
//! written under a temp name its writer holds locked (flock), then renamed into place inside
//! the transaction that records it. A leftover is removed only when no writer holds it:
//! not one of this process, of another build of the driver, or of another host on the
//! same files directory.

use std::collections::HashSet;
use std::fs::{File, TryLockError};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What a temp file's name has between its owner's id and the random part.
const PART: &str = ".part-";

/// A file being written: `<dir>/<owner>.part-<random>`, locked for as long as it lives.
/// `commit` renames it into place; dropped uncommitted, it is removed.
pub struct Temp {
    path: PathBuf,
    file: File,
    done: bool,
}

impl Temp {
    /// Creates a new temp file in `dir` for the object `owner` (an image or volume id).
    pub fn create(dir: &Path, owner: &str) -> io::Result<Temp> {
        loop {
            let path = dir.join(format!("{owner}{PART}{}", uuid::Uuid::new_v4().simple()));
            let file = File::create_new(&path)?;
            file.lock()?;
            // A sweep may have locked and removed the name between create and lock: then
            // this file is nameless, and a new one is made.
            match std::fs::metadata(&path) {
                Ok(m) if m.ino() == file.metadata()?.ino() => {
                    return Ok(Temp {
                        path,
                        file,
                        done: false,
                    })
                }
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
    }

    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file to `to`. Call it inside the transaction that records the object,
    /// so that a sweep (which holds the write lock) never sees it named but unrecorded.
    pub fn commit(mut self, to: &Path) -> io::Result<()> {
        std::fs::rename(&self.path, to)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The object a temp file name belongs to.
fn owner_of(name: &str) -> Option<&str> {
    name.split_once(PART).map(|(owner, _)| owner)
}

/// What a sweep of one folder found.
#[derive(Debug, Default)]
pub struct Swept {
    /// Temp files whose writer is gone, removed.
    pub removed: usize,
    /// Objects a live writer is writing now.
    pub live: HashSet<String>,
}

/// Removes the temp files in `dir` no writer holds, and the finished files that `keep` does
/// not name. Run it inside a write transaction: finished files are renamed into place only
/// inside one, so none can appear half-recorded while it runs.
pub fn sweep(dir: &Path, keep: impl Fn(&str) -> bool) -> io::Result<Swept> {
    let mut swept = Swept::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(swept),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(owner) = owner_of(&name) else {
            if !keep(&name) && remove(&entry.path())? {
                swept.removed += 1;
            }
            continue;
        };
        let file = match File::open(entry.path()) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue, // committed meanwhile
            Err(e) => return Err(e),
        };
        match file.try_lock() {
            Ok(()) => {
                // Its writer is gone (or has not locked it yet, and will make another):
                // removed while locked, so no writer can be using it.
                if remove(&entry.path())? {
                    swept.removed += 1;
                }
            }
            Err(TryLockError::WouldBlock) => {
                swept.live.insert(owner.to_string());
            }
            Err(TryLockError::Error(e)) => return Err(e),
        }
    }
    Ok(swept)
}

/// Removes `path`; false if it was gone already (renamed or removed by its writer).
fn remove(path: &Path) -> io::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_live_temp_file_is_kept_and_a_dead_one_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut live = Temp::create(dir.path(), "a").unwrap();
        live.file().write_all(b"bytes").unwrap();
        // A writer that died: its file is there, nobody holds its lock.
        let dead = dir.path().join("b.part-0123");
        std::fs::write(&dead, b"half").unwrap();
        std::fs::write(dir.path().join("kept"), b"").unwrap();
        std::fs::write(dir.path().join("orphan"), b"").unwrap();

        let swept = sweep(dir.path(), |name| name == "kept").unwrap();
        assert_eq!(swept.removed, 2, "the dead temp file and the orphan");
        assert_eq!(swept.live, HashSet::from(["a".to_string()]));
        assert!(live.path().exists());
        assert!(!dead.exists());
        assert!(!dir.path().join("orphan").exists());

        live.commit(&dir.path().join("a")).unwrap();
        assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"bytes");
    }

    #[test]
    fn an_uncommitted_temp_file_goes_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let temp = Temp::create(dir.path(), "x").unwrap();
        let path = temp.path().to_path_buf();
        assert!(path.exists());
        drop(temp);
        assert!(!path.exists());
    }

    #[test]
    fn a_lock_held_by_another_open_file_counts_as_live() {
        // flock belongs to the open file, not the process: another build of the driver in
        // this process is kept out as surely as another process.
        let dir = tempfile::tempdir().unwrap();
        let temp = Temp::create(dir.path(), "v").unwrap();
        let swept = sweep(dir.path(), |_| false).unwrap();
        assert_eq!(swept.removed, 0);
        assert!(temp.path().exists());
    }
}
