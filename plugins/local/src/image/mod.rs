//! Image (Glance v2) for the local cloud: image records in the store, their bytes as files
//! under `data_dir/images`, uploads and downloads streamed, never held whole.

mod data;
pub mod model;
mod routes;
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

    fn fault(&self, e: model::Error) -> Fault {
        match e {
            model::Error::NotFound(m) => Fault::not_found(m),
            model::Error::Conflict(m) => Fault::conflict(m),
            model::Error::Invalid(m) => Fault::bad_request(m),
            model::Error::Store(e) => {
                self.app.log(LogLevel::Error, &format!("image store: {e}"));
                Fault::internal("The server encountered an unexpected error.")
            }
        }
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> model::Result<T>,
    ) -> Result<T, Fault> {
        self.store.read(f).map_err(|e| self.fault(e))
    }

    /// Runs `f` in one transaction; model errors become Glance's faults.
    fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> model::Result<T>,
    ) -> Result<T, Fault> {
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
        c: &rusqlite::Connection,
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
                    .write(&to, &mut std::io::empty(), 0)
                    .map_err(|e| {
                        model::Error::Store(crate::store::StoreError(format!(
                            "{}: {e}",
                            to.display()
                        )))
                    })?;
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
    pub fn remove(&self, c: &rusqlite::Connection, id: &str) -> model::Result<()> {
        model::delete(c, id)?;
        self.files.remove(id);
        Ok(())
    }

    /// An image a project may boot from: it exists and the project may see it.
    pub fn bootable(
        &self,
        c: &rusqlite::Connection,
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
        let to = self.files.image(&image.id);
        let w = self.files.write(&to, from, self.size_cap).map_err(|e| {
            self.fault(model::Error::Store(crate::store::StoreError(format!(
                "{}: {e}",
                to.display()
            ))))
        })?;
        image.status = "active".into();
        image.size = Some(w.size as i64);
        image.virtual_size = Some(w.size as i64);
        image.checksum = Some(w.md5);
        image.os_hash_algo = Some("sha512".into());
        image.os_hash_value = Some(w.sha512);
        if let Err(f) = self.write(|c| model::create(c, &image)) {
            self.files.remove(&image.id);
            return Err(f);
        }
        Ok(image)
    }
}
