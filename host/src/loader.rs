//! Loading driver `.so` files by the facts measured in the ABI spike: check the ELF before
//! dlopen (a truncated file is a SIGBUS inside it), load a private copy (a path opens once
//! per process, and overwriting a mapped file crashes), keep one image per distinct build.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use abi_stable::library::{lib_header_from_path, LibraryError};
use jumpgate_plugin_api::abi::{DriverModRef, ABI_VERSION};
use object::elf::{FileHeader64, ET_DYN, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};
use object::Endianness;
use sha2::{Digest, Sha256};

/// A driver build, loaded. Never unloaded: abi_stable keeps pointers into every image it
/// checked, so dlclose is unsound.
pub struct Driver {
    pub module: DriverModRef,
    pub name: String,
    pub version: String,
    pub services: Vec<String>,
    /// The file it was loaded from.
    pub source: PathBuf,
    pub digest: [u8; 32],
}

impl Driver {
    pub fn serves(&self, service: &str) -> bool {
        self.services.iter().any(|s| s == service)
    }
}

/// A load's outcome, remembered per build.
type LoadResult = Result<Arc<Driver>, String>;

/// Loads drivers and remembers every build it has seen, good or bad, by content hash:
/// memory grows with distinct builds deployed, not with reloads.
pub struct Loader {
    copies: PathBuf,
    seen: Mutex<HashMap<[u8; 32], LoadResult>>,
    seq: AtomicU64,
}

impl Loader {
    /// A loader whose private copies go to a fresh folder under the temp dir.
    pub fn new() -> std::io::Result<Loader> {
        let copies = std::env::temp_dir().join(format!("jumpgate-drivers-{}", std::process::id()));
        std::fs::create_dir_all(&copies)?;
        Ok(Loader {
            copies,
            seen: Mutex::new(HashMap::new()),
            seq: AtomicU64::new(0),
        })
    }

    /// The file a `driver =` value names: a path as given (relative to `plugin_dir`), or
    /// a bare name `N` meaning `plugin_dir/libjumpgate_N.so`.
    pub fn resolve(plugin_dir: &Path, driver: &str) -> PathBuf {
        if driver.contains('/') || driver.ends_with(".so") {
            plugin_dir.join(driver)
        } else {
            plugin_dir.join(format!("libjumpgate_{driver}.so"))
        }
    }

    /// Loads the driver at `path`, or says in one line why not.
    pub fn load(&self, path: &Path) -> Result<Arc<Driver>, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        if let Some(known) = lock(&self.seen).get(&digest) {
            return known.clone();
        }
        let result = self.load_new(path, &bytes, digest);
        lock(&self.seen).insert(digest, result.clone());
        result
    }

    fn load_new(&self, path: &Path, bytes: &[u8], digest: [u8; 32]) -> Result<Arc<Driver>, String> {
        let shown = path.display();
        check_elf(bytes).map_err(|e| format!("{shown}: not a loadable shared object: {e}"))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("driver");
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let copy = self.copies.join(format!("{stem}.{n}.so"));
        std::fs::write(&copy, bytes)
            .map_err(|e| format!("{shown}: cannot copy to {}: {e}", copy.display()))?;
        let loaded = lib_header_from_path(&copy).and_then(|h| h.init_root_module::<DriverModRef>());
        // The mapping outlives the file; the copy only had to exist for dlopen.
        let _ = std::fs::remove_file(&copy);
        let module = loaded.map_err(|e| {
            tracing::debug!(path = %shown, "full load error:\n{e}");
            format!("{shown}: {}", summarize(&e))
        })?;
        let abi = (module.abi_version())();
        if abi != ABI_VERSION {
            return Err(format!(
                "{shown}: driver ABI version {abi}, this host speaks {ABI_VERSION}: rebuild it against this plugin-api"
            ));
        }
        Ok(Arc::new(Driver {
            name: (module.name())().to_string(),
            version: (module.version())().to_string(),
            services: (module.services())().into_iter().map(Into::into).collect(),
            module,
            source: path.to_path_buf(),
            digest,
        }))
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.copies);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Refuses what dlopen would crash on rather than reject: every loadable segment must lie
/// inside the file (a truncated or half-copied `.so` otherwise faults with SIGBUS).
pub fn check_elf(bytes: &[u8]) -> Result<(), String> {
    let header = FileHeader64::<Endianness>::parse(bytes)
        .map_err(|e| format!("not a 64-bit ELF file ({e})"))?;
    let endian = header.endian().map_err(|e| e.to_string())?;
    if header.e_type(endian) != ET_DYN {
        return Err("not a shared object (ELF type is not ET_DYN)".into());
    }
    let segments = header
        .program_headers(endian, bytes)
        .map_err(|e| format!("program headers unreadable ({e}): truncated?"))?;
    let size = bytes.len() as u64;
    for (i, ph) in segments.iter().enumerate() {
        if ph.p_type(endian) != PT_LOAD {
            continue;
        }
        let end = ph.p_offset(endian).saturating_add(ph.p_filesz(endian));
        if end > size {
            return Err(format!(
                "PT_LOAD segment {i} ends at {end} > file size {size} (truncated or still being written; publish by write-then-rename)"
            ));
        }
    }
    Ok(())
}

/// One line out of abi_stable's errors: a layout mismatch is ~1,400 lines, of which only
/// the `Error:` paragraphs say what differs.
fn summarize(e: &LibraryError) -> String {
    let text = e.to_string();
    if let LibraryError::GetSymbolError { .. } = e {
        return format!(
            "not a jumpgate driver: it exports no abi_stable root module ({})",
            one_line(&text)
        );
    }
    let mut causes: Vec<String> = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(first) = line.trim_start().strip_prefix("Error:") else {
            continue;
        };
        let mut cause = first.trim().to_string();
        while let Some(next) = lines.peek() {
            let next = next.trim();
            if next.is_empty() || next.starts_with("Error:") || cause.len() > 200 {
                break;
            }
            cause.push(' ');
            cause.push_str(next);
            lines.next();
        }
        if !causes.contains(&cause) {
            causes.push(cause);
        }
    }
    if causes.is_empty() {
        return one_line(&text);
    }
    let kind = match e {
        LibraryError::AbiInstability(_) => "built against an incompatible plugin-api: ",
        _ => "",
    };
    format!("{kind}{}", causes.join("; "))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_elf_file_is_refused() {
        assert!(check_elf(b"#!/bin/sh\necho hi\n")
            .unwrap_err()
            .contains("not a 64-bit ELF"));
    }

    #[test]
    fn a_truncated_library_is_refused_before_dlopen() {
        let lib = std::fs::read_dir("/lib/x86_64-linux-gnu")
            .ok()
            .and_then(|mut d| {
                d.find_map(|e| {
                    let p = e.ok()?.path();
                    let name = p.file_name()?.to_str()?.to_string();
                    (name.starts_with("libz.so") || name.starts_with("libm.so.6")).then_some(p)
                })
            });
        let Some(lib) = lib else { return };
        let bytes = std::fs::read(lib).unwrap();
        assert_eq!(check_elf(&bytes), Ok(()));
        let err = check_elf(&bytes[..bytes.len() / 2]).unwrap_err();
        assert!(err.contains("PT_LOAD segment"), "{err}");
    }

    #[test]
    fn names_resolve_in_the_plugin_dir() {
        let dir = Path::new("/opt/jg/plugins");
        assert_eq!(
            Loader::resolve(dir, "local"),
            PathBuf::from("/opt/jg/plugins/libjumpgate_local.so")
        );
        assert_eq!(Loader::resolve(dir, "/x/y.so"), PathBuf::from("/x/y.so"));
        assert_eq!(
            Loader::resolve(dir, "sub/y.so"),
            PathBuf::from("/opt/jg/plugins/sub/y.so")
        );
    }
}
