//! Image (Glance v2) for the local cloud: image records in the store, their bytes as files
//! under `data_dir/images`, uploads and downloads streamed, never held whole.

mod data;
mod metadef_routes;
pub mod metadefs;
pub mod model;
pub mod repo;
mod routes;
mod schema_error;
pub mod views;

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;

use crate::settings::Settings;
use crate::store::Store;

pub struct Images {
    app: App,
    store: Arc<Store>,
    files: data::Files,
    /// `[image] image_size_cap`, bytes (Glance's default, 1 TiB).
    size_cap: u64,
}

impl Images {
    pub fn new(app: App, store: Arc<Store>, settings: &Settings) -> Result<Images, Error> {
        let files = data::Files::new(&settings.data_dir)
            .map_err(|e| Error(format!("{}: {e}", settings.data_dir.display())))?;
        let size_cap = app
            .config("image", "image_size_cap")
            .filter(|v| !v.trim().is_empty())
            .map(|v| {
                v.trim().parse::<u64>().map_err(|_| {
                    Error(format!(
                        "[image] image_size_cap: '{v}' is not a number of bytes"
                    ))
                })
            })
            .transpose()?
            .unwrap_or(1 << 40);
        Ok(Images {
            app,
            store,
            files,
            size_cap,
        })
    }

    /// Puts right what a crash left, wherever it happened (this process, an earlier one,
    /// another host on the same files): an image whose upload died goes back to where the
    /// upload started (`model::after_crash`), temp files no live upload holds go, and so do
    /// the files of images that are no longer there. Uploads alive anywhere hold their
    /// temp file's lock and are left alone.
    pub fn recover(&self) -> Result<(), Error> {
        let (removed, reset) = self
            .store
            .write(|tx| {
                let status: std::collections::HashMap<String, String> = model::list(tx)?
                    .into_iter()
                    .map(|i| (i.id, i.status))
                    .collect();
                let (removed, live) = self
                    .files
                    .sweep(|folder, id| {
                        let s = status.get(id).map(String::as_str);
                        match folder {
                            data::Folder::Images => model::has_data(s),
                            data::Folder::Staging => model::has_staged_data(s),
                        }
                    })
                    .map_err(|e| self.io("sweeping image files", e))?;
                let now = crate::time::now_seconds_iso();
                let mut reset = 0;
                for (id, s) in &status {
                    if live.contains(id) {
                        continue;
                    }
                    if let Some(to) = model::after_crash(s, self.files.staged(id).exists()) {
                        model::transition(tx, id, &[s], to, &now)?;
                        reset += 1;
                    }
                }
                Ok((removed, reset))
            })
            .map_err(|e| Error(self.fault(e).message))?;
        if removed + reset > 0 {
            self.app.log(
                LogLevel::Warn,
                &format!("interrupted image uploads: {reset} image(s) back to their state before the upload, {removed} file(s) removed"),
            );
        }
        Ok(())
    }

    /// A store error for a file operation that failed.
    fn io(&self, what: &str, e: std::io::Error) -> model::Error {
        model::Error::Store(crate::store::StoreError(format!("{what}: {e}")))
    }

    fn fault(&self, e: model::Error) -> Fault {
        match e {
            model::Error::NotFound(m) => Fault::not_found(m),
            model::Error::Conflict(m) => Fault::conflict(m),
            model::Error::Invalid(m) => Fault::bad_request(m),
            model::Error::Store(e) if e.unstorable_reason().is_some() => {
                Fault::bad_request(format!(
                    "Invalid input: {}",
                    e.unstorable_reason().unwrap_or_default()
                ))
            }
            model::Error::Store(e) => {
                self.app.log(LogLevel::Error, &format!("image store: {e}"));
                Fault::internal("The server encountered an unexpected error.")
            }
        }
    }

    fn read<T>(&self, f: impl FnOnce(model::Repo) -> model::Result<T>) -> Result<T, Fault> {
        self.store.read(|c| f(c)).map_err(|e| self.fault(e))
    }

    /// Runs `f` in one transaction; model errors become Glance's faults.
    fn write<T>(&self, f: impl FnOnce(model::Repo) -> model::Result<T>) -> Result<T, Fault> {
        self.store.write(|tx| f(tx)).map_err(|e| self.fault(e))
    }
}

pub fn setup(disp: &Dispatcher, images: Arc<Images>) -> Result<(), Error> {
    routes::setup(disp, images)
}

impl Images {
    /// A snapshot of a server's disk, as Nova's createImage and shelve upload it: an
    /// active image whose bytes are the server's base image (the disk was never written:
    /// servers here have no guest), or empty for a volume-backed server. Runs in the
    /// caller's transaction; the bytes are a hard link (images never change once active).
    pub fn snapshot(
        &self,
        c: model::Repo,
        base: Option<&model::Image>,
        name: &str,
        owner: &str,
        properties: serde_json::Map<String, serde_json::Value>,
    ) -> model::Result<model::Image> {
        let now = crate::time::now_seconds_iso();
        let mut image =
            model::Image::queued(uuid::Uuid::new_v4().to_string(), Some(owner.into()), &now);
        image.name = Some(name.to_string());
        image.visibility = "private".into();
        image.status = "active".into();
        image.properties = properties;
        let to = self.files.image(&image.id);
        let linked = base
            .filter(|b| b.status == "active" && b.size.is_some())
            .filter(|b| std::fs::hard_link(self.files.image(&b.id), &to).is_ok());
        match linked {
            Some(b) => {
                image.disk_format = b.disk_format.clone();
                image.container_format = b.container_format.clone();
                image.size = b.size;
                image.virtual_size = b.virtual_size.or(b.size);
                image.checksum = b.checksum.clone();
                image.os_hash_algo = b.os_hash_algo.clone();
                image.os_hash_value = b.os_hash_value.clone();
                image.min_disk = b.min_disk;
                image.min_ram = b.min_ram;
            }
            None => {
                let w = self
                    .files
                    .begin(data::Folder::Images, &image.id)
                    .and_then(|mut upload| {
                        let w = upload.receive(&mut std::io::empty(), 0)?;
                        upload.commit()?;
                        Ok(w)
                    })
                    .map_err(|e| self.io(&to.display().to_string(), e))?;
                image.disk_format = Some("raw".into());
                image.container_format = Some("bare".into());
                image.size = Some(0);
                image.virtual_size = Some(0);
                image.checksum = Some(w.md5);
                image.os_hash_algo = Some("sha512".into());
                image.os_hash_value = Some(w.sha512);
            }
        }
        if let Err(e) = model::create(c, &image) {
            self.files.remove(&image.id);
            return Err(e);
        }
        Ok(image)
    }

    /// Deletes an image and its bytes (the shelved snapshot, when a server is unshelved).
    pub fn remove(&self, c: model::Repo, id: &str) -> model::Result<()> {
        model::delete(c, id)?;
        self.files.remove(id);
        Ok(())
    }

    /// An image a project may boot from: it exists and the project may see it.
    pub fn bootable(
        &self,
        c: model::Repo,
        id: &str,
        project: &str,
        admin: bool,
    ) -> model::Result<Option<model::Image>> {
        let Ok(image) = model::get(c, id) else {
            return Ok(None);
        };
        let membership = model::get_member(c, id, project).ok();
        let viewer = model::Viewer {
            project: Some(project),
            admin,
        };
        Ok(viewer.can_see(&image, membership.as_ref()).then_some(image))
    }

    /// An active image's bytes, read as a volume is created from it.
    pub fn data(&self, id: &str) -> std::io::Result<std::fs::File> {
        std::fs::File::open(self.files.image(id))
    }

    /// Records `image` as active with the bytes of `from` (a volume uploaded to an image,
    /// Cinder's os-volume_upload_image): the bytes are written first, then the row, so a
    /// failed upload leaves neither.
    pub fn create_active(
        &self,
        mut image: model::Image,
        from: &mut dyn std::io::Read,
    ) -> Result<model::Image, Fault> {
        let mut upload = self
            .files
            .begin(data::Folder::Images, &image.id)
            .map_err(|e| self.fault(self.io("starting the image's file", e)))?;
        let w = upload
            .receive(from, self.size_cap)
            .map_err(|e| self.fault(self.io("writing the image's file", e)))?;
        image.status = "active".into();
        image.size = Some(w.size as i64);
        image.virtual_size = Some(w.size as i64);
        image.checksum = Some(w.md5);
        image.os_hash_algo = Some("sha512".into());
        image.os_hash_value = Some(w.sha512);
        self.write(|c| {
            model::create(c, &image)?;
            upload
                .commit()
                .map_err(|e| self.io("placing the image's file", e))
        })?;
        Ok(image)
    }
}
