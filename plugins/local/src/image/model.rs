//! Images and their members, and the rules of who sees what and which status may follow
//! which. Knows nothing of HTTP; every change runs inside the caller's transaction.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{Map, Value};

use crate::store::{is_duplicate, StoreError};

#[derive(Debug)]
pub enum Error {
    NotFound(String),
    Conflict(String),
    Invalid(String),
    Store(StoreError),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Store(e.into())
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

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

/// The columns `image_row` reads, in its order.
pub const COLUMNS: &str = "id, name, status, visibility, protected, os_hidden, owner, disk_format, container_format, size, virtual_size, checksum, os_hash_algo, os_hash_value, min_disk, min_ram, properties, tags, created_at, updated_at";

/// An image from a row of `SELECT {COLUMNS}`, by position (looking columns up by name
/// was most of the cost of a long listing).
fn image_row(r: &Row) -> rusqlite::Result<Image> {
    let props: String = r.get(16)?;
    let tags: String = r.get(17)?;
    Ok(Image {
        id: r.get(0)?,
        name: r.get(1)?,
        status: r.get(2)?,
        visibility: r.get(3)?,
        protected: r.get(4)?,
        os_hidden: r.get(5)?,
        owner: r.get(6)?,
        disk_format: r.get(7)?,
        container_format: r.get(8)?,
        size: r.get(9)?,
        virtual_size: r.get(10)?,
        checksum: r.get(11)?,
        os_hash_algo: r.get(12)?,
        os_hash_value: r.get(13)?,
        min_disk: r.get(14)?,
        min_ram: r.get(15)?,
        properties: serde_json::from_str(&props).unwrap_or_default(),
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        created_at: r.get(18)?,
        updated_at: r.get(19)?,
    })
}

pub fn create(c: &Connection, i: &Image) -> Result<()> {
    c.execute(
        "INSERT INTO images (id, name, status, visibility, protected, os_hidden, owner, disk_format, container_format, size, virtual_size,
            checksum, os_hash_algo, os_hash_value, min_disk, min_ram, properties, tags, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
        params![
            i.id, i.name, i.status, i.visibility, i.protected, i.os_hidden, i.owner, i.disk_format, i.container_format,
            i.size, i.virtual_size, i.checksum, i.os_hash_algo, i.os_hash_value, i.min_disk, i.min_ram,
            Value::Object(i.properties.clone()).to_string(), serde_json::to_string(&i.tags).unwrap_or_default(),
            i.created_at, i.updated_at
        ],
    )
    .map_err(|e| {
        if is_duplicate(&e) {
            Error::Conflict(format!("An image with identifier {} already exists", i.id))
        } else {
            e.into()
        }
    })?;
    Ok(())
}

pub fn get(c: &Connection, id: &str) -> Result<Image> {
    c.query_row(
        &format!("SELECT {COLUMNS} FROM images WHERE id = ?1"),
        [id],
        image_row,
    )
    .optional()?
    .ok_or_else(|| Error::NotFound(format!("No image found with ID {id}")))
}

pub fn list(c: &Connection) -> Result<Vec<Image>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM images ORDER BY created_at DESC, id DESC"
    ))?;
    let rows = st
        .query_map([], image_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn save(c: &Connection, i: &Image) -> Result<()> {
    let n = c.execute(
        "UPDATE images SET name = ?2, status = ?3, visibility = ?4, protected = ?5, os_hidden = ?6, owner = ?7, disk_format = ?8,
            container_format = ?9, size = ?10, virtual_size = ?11, checksum = ?12, os_hash_algo = ?13, os_hash_value = ?14,
            min_disk = ?15, min_ram = ?16, properties = ?17, tags = ?18, updated_at = ?19 WHERE id = ?1",
        params![
            i.id, i.name, i.status, i.visibility, i.protected, i.os_hidden, i.owner, i.disk_format, i.container_format,
            i.size, i.virtual_size, i.checksum, i.os_hash_algo, i.os_hash_value, i.min_disk, i.min_ram,
            Value::Object(i.properties.clone()).to_string(), serde_json::to_string(&i.tags).unwrap_or_default(),
            i.updated_at
        ],
    )?;
    if n == 0 {
        return Err(Error::NotFound(format!("No image found with ID {}", i.id)));
    }
    Ok(())
}

pub fn delete(c: &Connection, id: &str) -> Result<()> {
    c.execute("DELETE FROM images WHERE id = ?1", [id])?;
    Ok(())
}

/// Moves an image from `from` to `to`, or says why not (409), in one statement so two
/// uploads cannot both start.
pub fn transition(c: &Connection, id: &str, from: &[&str], to: &str, now: &str) -> Result<Image> {
    let image = get(c, id)?;
    if !from.contains(&image.status.as_str()) {
        return Err(Error::Conflict(format!(
            "Image status transition from {} to {to} is not allowed",
            image.status
        )));
    }
    c.execute(
        "UPDATE images SET status = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, to, now],
    )?;
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

fn member_row(r: &Row) -> rusqlite::Result<Member> {
    Ok(Member {
        image_id: r.get("image_id")?,
        member_id: r.get("member_id")?,
        status: r.get("status")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

pub fn add_member(c: &Connection, m: &Member) -> Result<()> {
    c.execute(
        "INSERT INTO image_members (image_id, member_id, status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![m.image_id, m.member_id, m.status, m.created_at, m.updated_at],
    )
    .map_err(|e| {
        if is_duplicate(&e) {
            Error::Conflict(format!("Member {} already exists for image {}", m.member_id, m.image_id))
        } else {
            e.into()
        }
    })?;
    Ok(())
}

pub fn members(c: &Connection, image_id: &str) -> Result<Vec<Member>> {
    let mut st = c.prepare(
        "SELECT * FROM image_members WHERE image_id = ?1 ORDER BY created_at, member_id",
    )?;
    let rows = st
        .query_map([image_id], member_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn all_members(c: &Connection) -> Result<Vec<Member>> {
    let mut st = c.prepare("SELECT * FROM image_members")?;
    let rows = st
        .query_map([], member_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn get_member(c: &Connection, image_id: &str, member_id: &str) -> Result<Member> {
    c.query_row(
        "SELECT * FROM image_members WHERE image_id = ?1 AND member_id = ?2",
        [image_id, member_id],
        member_row,
    )
    .optional()?
    .ok_or_else(|| Error::NotFound(format!("{member_id} is not a member of image {image_id}")))
}

pub fn set_member_status(
    c: &Connection,
    image_id: &str,
    member_id: &str,
    status: &str,
    now: &str,
) -> Result<Member> {
    get_member(c, image_id, member_id)?;
    c.execute(
        "UPDATE image_members SET status = ?3, updated_at = ?4 WHERE image_id = ?1 AND member_id = ?2",
        params![image_id, member_id, status, now],
    )?;
    get_member(c, image_id, member_id)
}

pub fn remove_member(c: &Connection, image_id: &str, member_id: &str) -> Result<()> {
    get_member(c, image_id, member_id)?;
    c.execute(
        "DELETE FROM image_members WHERE image_id = ?1 AND member_id = ?2",
        [image_id, member_id],
    )?;
    Ok(())
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

fn task_row(r: &Row) -> rusqlite::Result<Task> {
    let input: String = r.get("input")?;
    let result: Option<String> = r.get("result")?;
    Ok(Task {
        id: r.get("id")?,
        kind: r.get("type")?,
        status: r.get("status")?,
        owner: r.get("owner")?,
        input: serde_json::from_str(&input).unwrap_or(Value::Null),
        result: result.and_then(|t| serde_json::from_str(&t).ok()),
        message: r.get("message")?,
        image_id: r.get("image_id")?,
        request_id: r.get("request_id")?,
        user_id: r.get("user_id")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        expires_at: r.get("expires_at")?,
    })
}

pub fn create_task(c: &Connection, t: &Task) -> Result<()> {
    c.execute(
        "INSERT INTO tasks (id, type, status, owner, input, result, message, image_id, request_id, user_id, created_at, updated_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            t.id, t.kind, t.status, t.owner, t.input.to_string(), t.result.as_ref().map(Value::to_string), t.message,
            t.image_id, t.request_id, t.user_id, t.created_at, t.updated_at, t.expires_at
        ],
    )?;
    Ok(())
}

pub fn get_task(c: &Connection, id: &str) -> Result<Task> {
    c.query_row("SELECT * FROM tasks WHERE id = ?1", [id], task_row)
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("Task with the given ID {id} not found")))
}

pub fn list_tasks(c: &Connection) -> Result<Vec<Task>> {
    let mut st = c.prepare("SELECT * FROM tasks ORDER BY created_at DESC, id DESC")?;
    let rows = st
        .query_map([], task_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
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
