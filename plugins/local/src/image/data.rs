//! Image bytes on disk: `data_dir/images/<id>`, and `data_dir/staging/<id>` for the
//! interoperable import. Written to a locked temp file while md5 and sha512 are computed,
//! synced, then renamed inside the transaction that records them: an interrupted upload
//! leaves no file a sweep would keep (`store::files`).

use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use md5::Md5;
use sha2::{Digest, Sha512};

use crate::store::files::{self, Temp};

/// What an upload wrote.
pub struct Written {
    pub size: u64,
    pub md5: String,
    pub sha512: String,
}

/// Where an image's bytes go: its data, or the staging area of the interoperable import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folder {
    Images,
    Staging,
}

pub struct Files {
    images: PathBuf,
    staging: PathBuf,
}

/// Bytes being received for one image; `commit` puts them in place.
pub struct Upload {
    temp: Temp,
    to: PathBuf,
}

impl Upload {
    /// Streams `from` in, at most `max` bytes (more is an error), hashing as it goes.
    pub fn receive(&mut self, from: &mut dyn Read, max: u64) -> io::Result<Written> {
        let file = self.temp.file();
        let (mut md5, mut sha512) = (Md5::new(), Sha512::new());
        let mut buf = vec![0u8; 1 << 16];
        let mut size = 0u64;
        loop {
            let n = from.read(&mut buf)?;
            if n == 0 {
                break;
            }
            size += n as u64;
            if size > max {
                return Err(io::Error::new(
                    io::ErrorKind::FileTooLarge,
                    format!("larger than the limit of {max} bytes"),
                ));
            }
            md5.update(&buf[..n]);
            sha512.update(&buf[..n]);
            // Zeros become a hole: a volume uploaded to an image is mostly zeros, and its
            // image stays as sparse as the volume was.
            if buf[..n].iter().all(|b| *b == 0) {
                file.seek(SeekFrom::Current(n as i64))?;
            } else {
                file.write_all(&buf[..n])?;
            }
        }
        // A trailing hole has no bytes written: the length says where the file ends.
        file.set_len(size)?;
        file.sync_all()?;
        Ok(Written {
            size,
            md5: hex(&md5.finalize()),
            sha512: hex(&sha512.finalize()),
        })
    }

    /// Renames the bytes into place: call it inside the transaction that records them.
    pub fn commit(self) -> io::Result<()> {
        self.temp.commit(&self.to)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Files {
    pub fn new(data_dir: &Path) -> io::Result<Files> {
        let images = data_dir.join("images");
        let staging = data_dir.join("staging");
        std::fs::create_dir_all(&images)?;
        std::fs::create_dir_all(&staging)?;
        Ok(Files { images, staging })
    }

    fn folder(&self, folder: Folder) -> &Path {
        match folder {
            Folder::Images => &self.images,
            Folder::Staging => &self.staging,
        }
    }

    pub fn image(&self, id: &str) -> PathBuf {
        self.images.join(id)
    }

    pub fn staged(&self, id: &str) -> PathBuf {
        self.staging.join(id)
    }

    /// Starts receiving `id`'s bytes into `folder`. While the upload lives, its temp file is
    /// locked: a sweep anywhere knows the image is being written.
    pub fn begin(&self, folder: Folder, id: &str) -> io::Result<Upload> {
        Ok(Upload {
            temp: Temp::create(self.folder(folder), id)?,
            to: self.folder(folder).join(id),
        })
    }

    /// Removes temp files no live writer holds and finished files `keep` does not name;
    /// answers how many went and which images a live writer is writing. Run it inside a
    /// write transaction.
    pub fn sweep(
        &self,
        keep: impl Fn(Folder, &str) -> bool,
    ) -> io::Result<(usize, HashSet<String>)> {
        let mut removed = 0;
        let mut live = HashSet::new();
        for folder in [Folder::Images, Folder::Staging] {
            let swept = files::sweep(self.folder(folder), |name| keep(folder, name))?;
            removed += swept.removed;
            live.extend(swept.live);
        }
        Ok((removed, live))
    }

    pub fn remove(&self, id: &str) {
        let _ = std::fs::remove_file(self.image(id));
        let _ = std::fs::remove_file(self.staged(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_with_hashes_and_leaves_nothing_when_too_large() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files::new(dir.path()).unwrap();
        let mut up = files.begin(Folder::Images, "a").unwrap();
        let w = up.receive(&mut &b"hello"[..], 100).unwrap();
        up.commit().unwrap();
        assert_eq!(w.size, 5);
        assert_eq!(w.md5, "5d41402abc4b2a76b9719d911017c592");
        assert!(w.sha512.starts_with("9b71d224bd62f378"));
        assert_eq!(std::fs::read(files.image("a")).unwrap(), b"hello");
        let mut up = files.begin(Folder::Images, "b").unwrap();
        assert!(up.receive(&mut &[0u8; 200][..], 100).is_err());
        drop(up);
        let left: Vec<_> = std::fs::read_dir(dir.path().join("images"))
            .unwrap()
            .collect();
        assert_eq!(left.len(), 1, "no partial file of b");
    }

    #[test]
    fn zeros_are_holes_with_the_same_bytes_and_hashes() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let files = Files::new(dir.path()).unwrap();
        let mut bytes = b"head".to_vec();
        bytes.resize(8 << 20, 0);
        let mut up = files.begin(Folder::Images, "z").unwrap();
        let w = up.receive(&mut &bytes[..], u64::MAX).unwrap();
        up.commit().unwrap();
        let on_disk = std::fs::read(files.image("z")).unwrap();
        assert_eq!(on_disk, bytes);
        assert_eq!(w.md5, hex(&Md5::digest(&bytes)));
        let meta = std::fs::metadata(files.image("z")).unwrap();
        assert!(meta.blocks() * 512 < 1 << 20, "trailing zeros are a hole");
    }
}
