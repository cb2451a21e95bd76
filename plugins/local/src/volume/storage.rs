//! Volume, snapshot and backup bytes on disk: `data_dir/volumes/<id>`,
//! `data_dir/snapshots/<id>`, `data_dir/backups/<id>`, each a sparse raw file of exactly
//! its size. A new file is written under a locked temp name (`store::files`) and renamed
//! inside the transaction that records it; what a crash leaves behind (temp files no writer
//! holds, files whose row was never committed) is swept whenever the driver opens the data
//! directory, by any build or host.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use crate::store::files::{self, Temp};

pub const GIB: u64 = 1 << 30;

/// Which kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Volume,
    Snapshot,
    Backup,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Volume, Kind::Snapshot, Kind::Backup];

    fn folder(self) -> &'static str {
        match self {
            Kind::Volume => "volumes",
            Kind::Snapshot => "snapshots",
            Kind::Backup => "backups",
        }
    }
}

/// Where a new file's first bytes come from; the rest is zeros (holes).
pub enum Source<'a> {
    Zeros,
    /// Another volume, snapshot or backup file: copied extent by extent, holes kept.
    File(&'a Path),
    /// A stream (an image's bytes), at most the new file's size.
    Reader(&'a mut dyn Read),
}

/// Whether a failed write says the file system cannot hold a file that large (EFBIG: ext4
/// stops at 16 TiB). Cinder's scheduler finds no back end with room for such a volume.
pub fn too_large(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EFBIG)
}

pub struct Disks {
    root: PathBuf,
}

/// A whole file under its temp name: `commit` (inside the recording transaction) renames
/// it into place; dropped uncommitted, it is removed.
pub struct Staged {
    temp: Temp,
    to: PathBuf,
}

impl Staged {
    pub fn commit(self) -> io::Result<()> {
        self.temp.commit(&self.to)
    }
}

impl Disks {
    pub fn new(data_dir: &Path) -> io::Result<Disks> {
        for kind in Kind::ALL {
            std::fs::create_dir_all(data_dir.join(kind.folder()))?;
        }
        Ok(Disks {
            root: data_dir.to_path_buf(),
        })
    }

    pub fn path(&self, kind: Kind, id: &str) -> PathBuf {
        self.root.join(kind.folder()).join(id)
    }

    /// Writes a file of exactly `size` bytes for `id`, starting with `from`'s bytes.
    pub fn stage(&self, kind: Kind, id: &str, size: u64, from: Source) -> io::Result<Staged> {
        let to = self.path(kind, id);
        let mut temp = Temp::create(&self.root.join(kind.folder()), id)?;
        let file = temp.file();
        match from {
            Source::Zeros => {}
            Source::File(src) => sparse_copy(&mut File::open(src)?, file, size)?,
            Source::Reader(r) => {
                let n = io::copy(&mut r.take(size), file)?;
                // More bytes than fit: the caller checked sizes, so this is a short volume.
                let mut probe = [0u8; 1];
                if n == size && r.read(&mut probe)? > 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::FileTooLarge,
                        format!("the source is larger than {size} bytes"),
                    ));
                }
            }
        }
        file.set_len(size)?;
        file.sync_all()?;
        Ok(Staged { temp, to })
    }

    /// Grows a file in place (extend): the new tail is a hole.
    pub fn grow(&self, kind: Kind, id: &str, size: u64) -> io::Result<()> {
        let file = OpenOptions::new().write(true).open(self.path(kind, id))?;
        if file.metadata()?.len() < size {
            file.set_len(size)?;
            file.sync_all()?;
        }
        Ok(())
    }

    pub fn remove(&self, kind: Kind, id: &str) {
        let _ = std::fs::remove_file(self.path(kind, id));
    }

    /// Removes temp files no live writer holds, and files no row names. Run it inside a
    /// write transaction (see `files::sweep`).
    pub fn sweep(&self, known: impl Fn(Kind, &str) -> bool) -> io::Result<usize> {
        let mut removed = 0;
        for kind in Kind::ALL {
            removed +=
                files::sweep(&self.root.join(kind.folder()), |name| known(kind, name))?.removed;
        }
        Ok(removed)
    }
}

/// Copies the first `len` bytes of `from` into `to` extent by extent (SEEK_DATA/SEEK_HOLE),
/// so a mostly empty 1 GiB volume copies in microseconds and stays sparse.
fn sparse_copy(from: &mut File, to: &mut File, len: u64) -> io::Result<()> {
    let end = from.metadata()?.len().min(len);
    let fd = from.as_raw_fd();
    let mut pos: u64 = 0;
    let mut buf = vec![0u8; 1 << 20];
    while pos < end {
        // SAFETY: lseek on an open descriptor we own; no memory is touched.
        let data = unsafe { libc::lseek(fd, pos as libc::off_t, libc::SEEK_DATA) };
        if data < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ENXIO) {
                break; // only a hole remains
            }
            return Err(e);
        }
        let data = data as u64;
        if data >= end {
            break;
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(fd, data as libc::off_t, libc::SEEK_HOLE) };
        let hole = if hole < 0 {
            end
        } else {
            (hole as u64).min(end)
        };
        from.seek(SeekFrom::Start(data))?;
        to.seek(SeekFrom::Start(data))?;
        let mut left = hole - data;
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = from.read(&mut buf[..want])?;
            if n == 0 {
                break;
            }
            to.write_all(&buf[..n])?;
            left -= n as u64;
        }
        pos = hole;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes the files of `kind` take on disk (not their apparent size).
    fn used(disks: &Disks, kind: Kind) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::read_dir(disks.root.join(kind.folder()))
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().blocks() * 512)
            .sum()
    }

    #[test]
    fn copies_keep_bytes_and_holes_and_exact_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let disks = Disks::new(dir.path()).unwrap();
        let mut image: &[u8] = b"hello volume";
        disks
            .stage(Kind::Volume, "a", GIB, Source::Reader(&mut image))
            .unwrap()
            .commit()
            .unwrap();
        let a = disks.path(Kind::Volume, "a");
        assert_eq!(std::fs::metadata(&a).unwrap().len(), GIB);
        disks
            .stage(Kind::Snapshot, "s", GIB, Source::File(&a))
            .unwrap()
            .commit()
            .unwrap();
        let s = disks.path(Kind::Snapshot, "s");
        let bytes = std::fs::read(&s).unwrap();
        assert_eq!(bytes.len() as u64, GIB);
        assert!(bytes.starts_with(b"hello volume"));
        assert!(
            used(&disks, Kind::Snapshot) < 1 << 20,
            "the copy stayed sparse"
        );
        disks.grow(Kind::Volume, "a", 2 * GIB).unwrap();
        assert_eq!(std::fs::metadata(&a).unwrap().len(), 2 * GIB);
    }

    #[test]
    fn uncommitted_files_vanish_and_sweep_removes_orphans() {
        let dir = tempfile::tempdir().unwrap();
        let disks = Disks::new(dir.path()).unwrap();
        drop(disks.stage(Kind::Volume, "x", 4096, Source::Zeros).unwrap());
        assert_eq!(
            std::fs::read_dir(dir.path().join("volumes"))
                .unwrap()
                .count(),
            0
        );
        for id in ["keep", "orphan"] {
            disks
                .stage(Kind::Volume, id, 4096, Source::Zeros)
                .unwrap()
                .commit()
                .unwrap();
        }
        let removed = disks
            .sweep(|k, id| k == Kind::Volume && id == "keep")
            .unwrap();
        assert_eq!(removed, 1);
        assert!(disks.path(Kind::Volume, "keep").exists());
        assert!(!disks.path(Kind::Volume, "orphan").exists());
    }

    #[test]
    fn a_source_larger_than_the_volume_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let disks = Disks::new(dir.path()).unwrap();
        let mut big: &[u8] = &[1u8; 10];
        assert!(disks
            .stage(Kind::Volume, "v", 4, Source::Reader(&mut big))
            .is_err());
    }
}
