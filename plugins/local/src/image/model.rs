//! Images and their members, and the rules of who sees what and which status may follow
//! which. Knows nothing of HTTP nor of SQL: records come from `repo`'s trait, inside the
//! caller's transaction.

use serde_json::{Map, Value};

use super::repo::ImageRepo;
use crate::store::{StoreError, Unique};

#[derive(Debug)]
pub enum Error {
    NotFound(String),
    Conflict(String),
    Invalid(String),
    Store(StoreError),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// The store every function here works on: the caller's transaction or snapshot.
pub type Repo<'a> = &'a dyn ImageRepo;

/// A name or id already taken is a 409 with `message`.
pub(super) fn unique(u: Unique, message: impl FnOnce() -> String) -> Result<()> {
    match u {
        Unique::Stored => Ok(()),
        Unique::Taken => Err(Error::Conflict(message())),
    }
}

pub const DISK_FORMATS: &[&str] = &[
    "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop",
];
pub const CONTAINER_FORMATS: &[&str] = &[
    "ami",
    "ari",
    "aki",
    "bare",
    "ovf",
    "ova",
    "docker",
    "compressed",
];
/// In the order of Glance's image schema.
pub const VISIBILITIES: &[&str] = &["community", "public", "private", "shared"];

#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub id: String,
    pub name: Option<String>,
    /// queued, saving, uploading, importing, active, deactivated, killed
    pub status: String,
    pub visibility: String,
    pub protected: bool,
    pub os_hidden: bool,
    pub owner: Option<String>,
    pub disk_format: Option<String>,
    pub container_format: Option<String>,
    pub size: Option<i64>,
    pub virtual_size: Option<i64>,
    pub checksum: Option<String>,
    pub os_hash_algo: Option<String>,
    pub os_hash_value: Option<String>,
    pub min_disk: i64,
    pub min_ram: i64,
    /// Additional properties, at top level in the API.
    pub properties: Map<String, Value>,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Image {
    /// A new image record: queued, shared (Glance's default), no data yet.
    pub fn queued(id: String, owner: Option<String>, now: &str) -> Image {
        Image {
            id,
            name: None,
            status: "queued".into(),
            visibility: "shared".into(),
            protected: false,
            os_hidden: false,
            owner,
            disk_format: None,
            container_format: None,
            size: None,
            virtual_size: None,
            checksum: None,
            os_hash_algo: None,
            os_hash_value: None,
            min_disk: 0,
            min_ram: 0,
            properties: Map::new(),
            tags: vec![],
            created_at: now.to_string(),
            updated_at: now.to_string(),
        }
    }
}

pub fn create(c: Repo, i: &Image) -> Result<()> {
    unique(c.insert_image(i)?, || {
        format!("An image with identifier {} already exists", i.id)
    })
}

fn no_image(id: &str) -> Error {
    Error::NotFound(format!("No image found with ID {id}"))
}

pub fn get(c: Repo, id: &str) -> Result<Image> {
    c.image(id)?.ok_or_else(|| no_image(id))
}

pub fn list(c: Repo) -> Result<Vec<Image>> {
    Ok(c.images()?)
}

pub fn save(c: Repo, i: &Image) -> Result<()> {
    if !c.update_image(i)? {
        return Err(no_image(&i.id));
    }
    Ok(())
}

pub fn delete(c: Repo, id: &str) -> Result<()> {
    Ok(c.delete_image(id)?)
}

/// Moves an image from `from` to `to`, or says why not (409); in the caller's write
/// transaction, so two uploads cannot both start.
pub fn transition(c: Repo, id: &str, from: &[&str], to: &str, now: &str) -> Result<Image> {
    let image = get(c, id)?;
    if !from.contains(&image.status.as_str()) {
        return Err(Error::Conflict(format!(
            "Image status transition from {} to {to} is not allowed",
            image.status
        )));
    }
    c.set_image_status(id, to, now)?;
    get(c, id)
}

/// Whether an image in `status` (None: no such image) owns a file of bytes.
pub fn has_data(status: Option<&str>) -> bool {
    matches!(status, Some("active" | "deactivated"))
}

/// Whether an image in `status` owns staged bytes (glance-direct, before the import).
pub fn has_staged_data(status: Option<&str>) -> bool {
    matches!(status, Some("uploading" | "importing"))
}

/// Where an image goes when the upload that moved it to `status` died with its process
/// (no writer holds its file any more); `staged`: its staged bytes are whole. As Glance
/// does for a failed upload, back to where the upload started; None: nothing to undo.
pub fn after_crash(status: &str, staged: bool) -> Option<&'static str> {
    match (status, staged) {
        ("saving", _) => Some("queued"),
        ("importing", true) => Some("uploading"),
        ("importing" | "uploading", false) => Some("queued"),
        _ => None,
    }
}

// ---------------------------------------------------------------- members

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub image_id: String,
    pub member_id: String,
    /// pending, accepted, rejected
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

pub fn add_member(c: Repo, m: &Member) -> Result<()> {
    unique(c.insert_member(m)?, || {
        format!(
            "Member {} already exists for image {}",
            m.member_id, m.image_id
        )
    })
}

pub fn members(c: Repo, image_id: &str) -> Result<Vec<Member>> {
    Ok(c.members(image_id)?)
}

pub fn all_members(c: Repo) -> Result<Vec<Member>> {
    Ok(c.all_members()?)
}

pub fn get_member(c: Repo, image_id: &str, member_id: &str) -> Result<Member> {
    c.member(image_id, member_id)?
        .ok_or_else(|| Error::NotFound(format!("{member_id} is not a member of image {image_id}")))
}

pub fn set_member_status(
    c: Repo,
    image_id: &str,
    member_id: &str,
    status: &str,
    now: &str,
) -> Result<Member> {
    get_member(c, image_id, member_id)?;
    c.set_member_status(image_id, member_id, status, now)?;
    get_member(c, image_id, member_id)
}

pub fn remove_member(c: Repo, image_id: &str, member_id: &str) -> Result<()> {
    get_member(c, image_id, member_id)?;
    Ok(c.delete_member(image_id, member_id)?)
}

// ---------------------------------------------------------------- tasks

/// An asynchronous operation Glance reports on: an import, here.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: String,
    pub kind: String,
    /// pending, processing, success, failure
    pub status: String,
    pub owner: Option<String>,
    pub input: Value,
    pub result: Option<Value>,
    pub message: String,
    pub image_id: Option<String>,
    pub request_id: Option<String>,
    pub user_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub expires_at: Option<String>,
}

pub fn create_task(c: Repo, t: &Task) -> Result<()> {
    Ok(c.insert_task(t)?)
}

pub fn get_task(c: Repo, id: &str) -> Result<Task> {
    c.task(id)?
        .ok_or_else(|| Error::NotFound(format!("Task with the given ID {id} not found")))
}

pub fn list_tasks(c: Repo) -> Result<Vec<Task>> {
    Ok(c.tasks()?)
}

// ---------------------------------------------------------------- visibility

/// Who is asking: their project, and whether they are an admin.
pub struct Viewer<'a> {
    pub project: Option<&'a str>,
    pub admin: bool,
}

impl Viewer<'_> {
    pub fn owns(&self, i: &Image) -> bool {
        self.admin || (self.project.is_some() && i.owner.as_deref() == self.project)
    }

    /// Whether the viewer may see the image at all (show, download).
    pub fn can_see(&self, i: &Image, membership: Option<&Member>) -> bool {
        self.owns(i)
            || matches!(i.visibility.as_str(), "public" | "community")
            || (i.visibility == "shared" && membership.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn image(id: &str, owner: &str, visibility: &str) -> Image {
        Image {
            name: Some(id.into()),
            visibility: visibility.into(),
            ..Image::queued(id.into(), Some(owner.into()), "t")
        }
    }

    #[test]
    fn only_one_upload_can_start() {
        let store = Store::memory();
        store
            .write(|tx| create(tx, &image("i1", "p1", "private")))
            .unwrap();
        store
            .write(|tx| transition(tx, "i1", &["queued"], "saving", "t2"))
            .unwrap();
        let second = store.write(|tx| transition(tx, "i1", &["queued"], "saving", "t3"));
        assert!(matches!(second, Err(Error::Conflict(_))));
    }

    #[test]
    fn visibility_rules() {
        let mine = Viewer {
            project: Some("p1"),
            admin: false,
        };
        let other = Viewer {
            project: Some("p2"),
            admin: false,
        };
        let private = image("a", "p1", "private");
        assert!(mine.can_see(&private, None));
        assert!(!other.can_see(&private, None));
        let shared = image("b", "p1", "shared");
        let membership = Member {
            image_id: "b".into(),
            member_id: "p2".into(),
            status: "pending".into(),
            created_at: "t".into(),
            updated_at: "t".into(),
        };
        assert!(!other.can_see(&shared, None));
        assert!(other.can_see(&shared, Some(&membership)));
        assert!(other.can_see(&image("c", "p1", "community"), None));
    }

    #[test]
    fn an_upload_that_died_is_undone_and_resting_states_are_kept() {
        for (status, staged, after) in [
            ("saving", false, Some("queued")),
            ("saving", true, Some("queued")),
            ("importing", true, Some("uploading")),
            ("importing", false, Some("queued")),
            ("uploading", false, Some("queued")),
            ("uploading", true, None),
            ("queued", false, None),
            ("active", false, None),
            ("deactivated", false, None),
        ] {
            assert_eq!(
                after_crash(status, staged),
                after,
                "{status} staged={staged}"
            );
        }
        assert!(has_data(Some("active")) && has_data(Some("deactivated")));
        assert!(!has_data(Some("saving")) && !has_data(None));
        assert!(has_staged_data(Some("uploading")) && !has_staged_data(Some("queued")));
    }
}
