//! Image bytes on disk: `data_dir/images/<id>`, and `data_dir/staging/<id>` for the
//! interoperable import. Written to a temp file while md5 and sha512 are computed, synced,
//! then renamed: an interrupted upload leaves no partial file behind.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use md5::Md5;
use sha2::{Digest, Sha512};

/// What an upload wrote.
pub struct Written {
    pub size: u64,
    pub md5: String,
    pub sha512: String,
}

pub struct Files {
    images: PathBuf,
    staging: PathBuf,
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

    pub fn image(&self, id: &str) -> PathBuf {
        self.images.join(id)
    }

    pub fn staged(&self, id: &str) -> PathBuf {
        self.staging.join(id)
    }

    /// Streams `from` into `to`, at most `max` bytes (more is an error, and nothing is kept).
    pub fn write(&self, to: &Path, from: &mut dyn Read, max: u64) -> io::Result<Written> {
        let tmp = to.with_extension(format!("part-{}", uuid::Uuid::new_v4().simple()));
        let result = Self::copy(&tmp, from, max).and_then(|w| {
            std::fs::rename(&tmp, to)?;
            Ok(w)
        });
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    fn copy(tmp: &Path, from: &mut dyn Read, max: u64) -> io::Result<Written> {
        let mut file = File::create(tmp)?;
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
        let w = files
            .write(&files.image("a"), &mut &b"hello"[..], 100)
            .unwrap();
        assert_eq!(w.size, 5);
        assert_eq!(w.md5, "5d41402abc4b2a76b9719d911017c592");
        assert!(w.sha512.starts_with("9b71d224bd62f378"));
        assert_eq!(std::fs::read(files.image("a")).unwrap(), b"hello");
        assert!(files
            .write(&files.image("b"), &mut &[0u8; 200][..], 100)
            .is_err());
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
        let w = files
            .write(&files.image("z"), &mut &bytes[..], u64::MAX)
            .unwrap();
        let on_disk = std::fs::read(files.image("z")).unwrap();
        assert_eq!(on_disk, bytes);
        assert_eq!(w.md5, hex(&Md5::digest(&bytes)));
        let meta = std::fs::metadata(files.image("z")).unwrap();
        assert!(meta.blocks() * 512 < 1 << 20, "trailing zeros are a hole");
    }
}
