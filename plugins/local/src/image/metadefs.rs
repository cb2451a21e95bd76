//! Glance's metadata definitions (metadefs): namespaces, the resource types they apply to,
//! and their properties, objects and tags. Knows nothing of HTTP; every change runs inside
//! the caller's transaction. Who may see a namespace is `Namespace::visible_to`.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{Map, Value};

use super::model::{Error, Result};
use crate::store::is_duplicate;

#[derive(Debug, Clone, PartialEq)]
pub struct Namespace {
    pub id: i64,
    pub namespace: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// public or private
    pub visibility: String,
    pub protected: bool,
    pub owner: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Namespace {
    /// Glance's rule: public namespaces are everybody's to read, private ones their
    /// owner's (and an admin's).
    pub fn visible_to(&self, project: Option<&str>, admin: bool) -> bool {
        admin
            || self.visibility == "public"
            || (project.is_some() && self.owner.as_deref() == project)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Association {
    pub name: String,
    pub prefix: Option<String>,
    pub properties_target: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    pub name: String,
    /// The property's JSON schema document, without its name.
    pub schema: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub name: String,
    pub description: Option<String>,
    pub required: Vec<String>,
    pub properties: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A namespace with everything in it, as `GET /v2/metadefs/namespaces/{ns}` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    pub namespace: Namespace,
    pub associations: Vec<Association>,
    pub properties: Vec<Property>,
    pub objects: Vec<Object>,
    pub tags: Vec<Tag>,
}

const NS_COLS: &str =
    "id, namespace, display_name, description, visibility, protected, owner, created_at, updated_at";

fn ns_row(r: &Row) -> rusqlite::Result<Namespace> {
    Ok(Namespace {
        id: r.get(0)?,
        namespace: r.get(1)?,
        display_name: r.get(2)?,
        description: r.get(3)?,
        visibility: r.get(4)?,
        protected: r.get(5)?,
        owner: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
    })
}

fn json_text<T: serde::de::DeserializeOwned + Default>(s: String) -> T {
    serde_json::from_str(&s).unwrap_or_default()
}

fn duplicate(what: String) -> impl FnOnce(rusqlite::Error) -> Error {
    move |e| {
        if is_duplicate(&e) {
            Error::Conflict(what)
        } else {
            e.into()
        }
    }
}

// ---------------------------------------------------------------- namespaces

pub fn list_namespaces(c: &Connection) -> Result<Vec<Namespace>> {
    let mut st = c.prepare(&format!("SELECT {NS_COLS} FROM metadef_namespaces"))?;
    let rows = st.query_map([], ns_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn get_namespace(c: &Connection, name: &str) -> Result<Namespace> {
    c.query_row(
        &format!("SELECT {NS_COLS} FROM metadef_namespaces WHERE namespace = ?1"),
        [name],
        ns_row,
    )
    .optional()?
    .ok_or_else(|| Error::NotFound(not_found_namespace(name)))
}

pub fn not_found_namespace(name: &str) -> String {
    format!("Metadata definition namespace={name} was not found.")
}

pub fn create_namespace(c: &Connection, ns: &Namespace) -> Result<i64> {
    c.execute(
        "INSERT INTO metadef_namespaces (namespace, display_name, description, visibility,
            protected, owner, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            ns.namespace,
            ns.display_name,
            ns.description,
            ns.visibility,
            ns.protected,
            ns.owner,
            ns.created_at,
            ns.updated_at
        ],
    )
    .map_err(duplicate(format!(
        "Metadata definition namespace={} already exists.",
        ns.namespace
    )))?;
    Ok(c.last_insert_rowid())
}

/// Rewrites a namespace (by id): its name may change.
pub fn update_namespace(c: &Connection, ns: &Namespace) -> Result<()> {
    c.execute(
        "UPDATE metadef_namespaces SET namespace = ?2, display_name = ?3, description = ?4,
            visibility = ?5, protected = ?6, owner = ?7, updated_at = ?8 WHERE id = ?1",
        params![
            ns.id,
            ns.namespace,
            ns.display_name,
            ns.description,
            ns.visibility,
            ns.protected,
            ns.owner,
            ns.updated_at
        ],
    )
    .map_err(duplicate(format!(
        "Metadata definition namespace={} already exists.",
        ns.namespace
    )))?;
    Ok(())
}

pub fn delete_namespace(c: &Connection, id: i64) -> Result<()> {
    c.execute("DELETE FROM metadef_namespaces WHERE id = ?1", [id])?;
    Ok(())
}

pub fn detail(c: &Connection, ns: Namespace) -> Result<Detail> {
    Ok(Detail {
        associations: associations(c, ns.id)?,
        properties: properties(c, ns.id)?,
        objects: objects(c, ns.id)?,
        tags: tags(c, ns.id)?,
        namespace: ns,
    })
}

// ---------------------------------------------------------------- resource types

pub fn resource_types(c: &Connection) -> Result<Vec<ResourceType>> {
    let mut st =
        c.prepare("SELECT name, created_at, updated_at FROM metadef_resource_types ORDER BY name")?;
    let rows = st.query_map([], |r| {
        Ok(ResourceType {
            name: r.get(0)?,
            created_at: r.get(1)?,
            updated_at: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn associations(c: &Connection, ns: i64) -> Result<Vec<Association>> {
    let mut st = c.prepare(
        "SELECT resource_type, prefix, properties_target, created_at, updated_at
         FROM metadef_associations WHERE namespace_id = ?1 ORDER BY created_at, resource_type",
    )?;
    let rows = st.query_map([ns], |r| {
        Ok(Association {
            name: r.get(0)?,
            prefix: r.get(1)?,
            properties_target: r.get(2)?,
            created_at: r.get(3)?,
            updated_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every (namespace id, resource type) pair, for filtering lists.
pub fn all_associations(c: &Connection) -> Result<Vec<(i64, String)>> {
    let mut st = c.prepare("SELECT namespace_id, resource_type FROM metadef_associations")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Associates a namespace with a resource type, which is recorded if it is new.
pub fn associate(c: &Connection, ns: &Namespace, a: &Association) -> Result<()> {
    c.execute(
        "INSERT OR IGNORE INTO metadef_resource_types (name, protected, created_at, updated_at)
         VALUES (?1, 0, ?2, ?2)",
        params![a.name, a.created_at],
    )?;
    c.execute(
        "INSERT INTO metadef_associations (namespace_id, resource_type, prefix,
            properties_target, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            ns.id,
            a.name,
            a.prefix,
            a.properties_target,
            a.created_at,
            a.updated_at
        ],
    )
    .map_err(duplicate(format!(
        "The metadata definition resource-type association of resource-type={} to namespace={}, already exists.",
        a.name, ns.namespace
    )))?;
    Ok(())
}

pub fn dissociate(c: &Connection, ns: &Namespace, name: &str) -> Result<()> {
    let n = c.execute(
        "DELETE FROM metadef_associations WHERE namespace_id = ?1 AND resource_type = ?2",
        params![ns.id, name],
    )?;
    if n == 0 {
        return Err(Error::NotFound(format!(
            "The metadata definition resource-type association of resource-type={name} to namespace={} was not found.",
            ns.namespace
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------- properties

pub fn properties(c: &Connection, ns: i64) -> Result<Vec<Property>> {
    let mut st = c.prepare(
        "SELECT name, json_schema FROM metadef_properties WHERE namespace_id = ?1 ORDER BY name",
    )?;
    let rows = st.query_map([ns], |r| {
        Ok(Property {
            name: r.get(0)?,
            schema: json_text(r.get(1)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn property_not_found(ns: &Namespace, name: &str) -> Error {
    Error::NotFound(format!(
        "Metadata definition property={name} was not found in namespace={}.",
        ns.namespace
    ))
}

pub fn get_property(c: &Connection, ns: &Namespace, name: &str) -> Result<Property> {
    c.query_row(
        "SELECT name, json_schema FROM metadef_properties WHERE namespace_id = ?1 AND name = ?2",
        params![ns.id, name],
        |r| {
            Ok(Property {
                name: r.get(0)?,
                schema: json_text(r.get(1)?),
            })
        },
    )
    .optional()?
    .ok_or_else(|| property_not_found(ns, name))
}

pub fn create_property(c: &Connection, ns: &Namespace, p: &Property, now: &str) -> Result<()> {
    c.execute(
        "INSERT INTO metadef_properties (namespace_id, name, json_schema, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
        params![
            ns.id,
            p.name,
            Value::Object(p.schema.clone()).to_string(),
            now
        ],
    )
    .map_err(duplicate(format!(
        "A metadata definition property with name={} already exists in namespace={}.",
        p.name, ns.namespace
    )))?;
    Ok(())
}

/// Replaces property `old` by `p` (its name may change).
pub fn update_property(
    c: &Connection,
    ns: &Namespace,
    old: &str,
    p: &Property,
    now: &str,
) -> Result<()> {
    let n = c
        .execute(
            "UPDATE metadef_properties SET name = ?3, json_schema = ?4, updated_at = ?5
             WHERE namespace_id = ?1 AND name = ?2",
            params![
                ns.id,
                old,
                p.name,
                Value::Object(p.schema.clone()).to_string(),
                now
            ],
        )
        .map_err(duplicate(format!(
            "A metadata definition property with name={} already exists in namespace={}.",
            p.name, ns.namespace
        )))?;
    if n == 0 {
        return Err(property_not_found(ns, old));
    }
    Ok(())
}

// ---------------------------------------------------------------- objects

fn object_row(r: &Row) -> rusqlite::Result<Object> {
    Ok(Object {
        name: r.get(0)?,
        description: r.get(1)?,
        required: json_text(r.get(2)?),
        properties: json_text(r.get(3)?),
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

pub fn objects(c: &Connection, ns: i64) -> Result<Vec<Object>> {
    let mut st = c.prepare(
        "SELECT name, description, required, properties, created_at, updated_at
         FROM metadef_objects WHERE namespace_id = ?1 ORDER BY created_at, name",
    )?;
    let rows = st.query_map([ns], object_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn object_not_found(ns: &Namespace, name: &str) -> Error {
    Error::NotFound(format!(
        "Metadata definition object={name} was not found in namespace={}.",
        ns.namespace
    ))
}

pub fn get_object(c: &Connection, ns: &Namespace, name: &str) -> Result<Object> {
    c.query_row(
        "SELECT name, description, required, properties, created_at, updated_at
         FROM metadef_objects WHERE namespace_id = ?1 AND name = ?2",
        params![ns.id, name],
        object_row,
    )
    .optional()?
    .ok_or_else(|| object_not_found(ns, name))
}

fn object_exists(ns: &Namespace, name: &str) -> String {
    format!(
        "A metadata definition object with name={name} already exists in namespace={}.",
        ns.namespace
    )
}

pub fn create_object(c: &Connection, ns: &Namespace, o: &Object) -> Result<()> {
    c.execute(
        "INSERT INTO metadef_objects (namespace_id, name, description, required, properties,
            created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            ns.id,
            o.name,
            o.description,
            Value::from(o.required.clone()).to_string(),
            Value::Object(o.properties.clone()).to_string(),
            o.created_at,
            o.updated_at
        ],
    )
    .map_err(duplicate(object_exists(ns, &o.name)))?;
    Ok(())
}

/// Replaces object `old` by `o` (its name may change; its creation time stays).
pub fn update_object(c: &Connection, ns: &Namespace, old: &str, o: &Object) -> Result<()> {
    let n = c
        .execute(
            "UPDATE metadef_objects SET name = ?3, description = ?4, required = ?5,
                properties = ?6, updated_at = ?7 WHERE namespace_id = ?1 AND name = ?2",
            params![
                ns.id,
                old,
                o.name,
                o.description,
                Value::from(o.required.clone()).to_string(),
                Value::Object(o.properties.clone()).to_string(),
                o.updated_at
            ],
        )
        .map_err(duplicate(object_exists(ns, &o.name)))?;
    if n == 0 {
        return Err(object_not_found(ns, old));
    }
    Ok(())
}

// ---------------------------------------------------------------- tags

fn tag_row(r: &Row) -> rusqlite::Result<Tag> {
    Ok(Tag {
        name: r.get(0)?,
        created_at: r.get(1)?,
        updated_at: r.get(2)?,
    })
}

pub fn tags(c: &Connection, ns: i64) -> Result<Vec<Tag>> {
    let mut st = c.prepare(
        "SELECT name, created_at, updated_at FROM metadef_tags WHERE namespace_id = ?1
         ORDER BY created_at, rowid",
    )?;
    let rows = st.query_map([ns], tag_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn tag_not_found(ns: &Namespace, name: &str) -> Error {
    Error::NotFound(format!(
        "Metadata definition tag={name} was not found in namespace={}.",
        ns.namespace
    ))
}

fn tag_exists(ns: &Namespace, name: &str) -> String {
    format!(
        "A metadata tag with name={name} already exists in namespace={}.",
        ns.namespace
    )
}

pub fn get_tag(c: &Connection, ns: &Namespace, name: &str) -> Result<Tag> {
    c.query_row(
        "SELECT name, created_at, updated_at FROM metadef_tags WHERE namespace_id = ?1 AND name = ?2",
        params![ns.id, name],
        tag_row,
    )
    .optional()?
    .ok_or_else(|| tag_not_found(ns, name))
}

pub fn create_tag(c: &Connection, ns: &Namespace, name: &str, now: &str) -> Result<Tag> {
    c.execute(
        "INSERT INTO metadef_tags (namespace_id, name, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?3)",
        params![ns.id, name, now],
    )
    .map_err(duplicate(tag_exists(ns, name)))?;
    Ok(Tag {
        name: name.into(),
        created_at: now.into(),
        updated_at: now.into(),
    })
}

pub fn rename_tag(c: &Connection, ns: &Namespace, old: &str, new: &str, now: &str) -> Result<Tag> {
    let n = c
        .execute(
            "UPDATE metadef_tags SET name = ?3, updated_at = ?4 WHERE namespace_id = ?1 AND name = ?2",
            params![ns.id, old, new, now],
        )
        .map_err(duplicate(tag_exists(ns, new)))?;
    if n == 0 {
        return Err(tag_not_found(ns, old));
    }
    get_tag(c, ns, new)
}

/// A namespace's members of one kind, for what every kind does alike.
#[derive(Debug, Clone, Copy)]
pub enum Member {
    Property,
    Object,
    Tag,
}

impl Member {
    fn table(self) -> &'static str {
        match self {
            Member::Property => "metadef_properties",
            Member::Object => "metadef_objects",
            Member::Tag => "metadef_tags",
        }
    }

    fn not_found(self, ns: &Namespace, name: &str) -> Error {
        match self {
            Member::Property => property_not_found(ns, name),
            Member::Object => object_not_found(ns, name),
            Member::Tag => tag_not_found(ns, name),
        }
    }
}

/// Deletes the member `name` of `kind` (its 404 if there is none).
pub fn delete_member(c: &Connection, kind: Member, ns: &Namespace, name: &str) -> Result<()> {
    let n = c.execute(
        &format!(
            "DELETE FROM {} WHERE namespace_id = ?1 AND name = ?2",
            kind.table()
        ),
        params![ns.id, name],
    )?;
    if n == 0 {
        return Err(kind.not_found(ns, name));
    }
    Ok(())
}

/// Deletes every member of `kind`.
pub fn delete_members(c: &Connection, kind: Member, ns: &Namespace) -> Result<()> {
    c.execute(
        &format!("DELETE FROM {} WHERE namespace_id = ?1", kind.table()),
        [ns.id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: impl FnOnce(&Connection)) {
        let store = crate::store::Store::memory();
        store
            .write(|tx| {
                f(tx);
                Ok::<_, crate::store::StoreError>(())
            })
            .unwrap();
    }

    #[test]
    fn the_seeded_namespace_describes_common_image_properties() {
        run(|c| {
            let ns = get_namespace(c, "OS::Glance::CommonImageProperties").unwrap();
            assert_eq!(ns.visibility, "public");
            assert!(ns.protected);
            assert!(ns.visible_to(Some("someone"), false));
            let d = detail(c, ns).unwrap();
            let names: Vec<_> = d.properties.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(names, ["os_distro", "os_type", "os_version"]);
            assert_eq!(d.properties[0].schema["type"], "string");
            let types: Vec<_> = d.associations.iter().map(|a| a.name.as_str()).collect();
            assert!(types.contains(&"OS::Glance::Image"));
            assert!(resource_types(c).unwrap().len() >= 4);
        });
    }

    #[test]
    fn deleting_a_namespace_takes_its_contents_and_names_stay_unique() {
        run(|c| {
            let now = "2026-01-01T00:00:00Z".to_string();
            let mut ns = Namespace {
                id: 0,
                namespace: "n".into(),
                display_name: None,
                description: None,
                visibility: "private".into(),
                protected: false,
                owner: Some("p".into()),
                created_at: now.clone(),
                updated_at: now.clone(),
            };
            ns.id = create_namespace(c, &ns).unwrap();
            assert!(!ns.visible_to(Some("q"), false));
            assert!(matches!(create_namespace(c, &ns), Err(Error::Conflict(_))));
            create_tag(c, &ns, "t", &now).unwrap();
            assert!(matches!(
                create_tag(c, &ns, "t", &now),
                Err(Error::Conflict(_))
            ));
            let a = Association {
                name: "X::Y".into(),
                prefix: Some("x_".into()),
                properties_target: None,
                created_at: now.clone(),
                updated_at: now.clone(),
            };
            associate(c, &ns, &a).unwrap();
            delete_namespace(c, ns.id).unwrap();
            let left: i64 = c
                .query_row("SELECT count(*) FROM metadef_tags", [], |r| r.get(0))
                .unwrap();
            assert_eq!(left, 0);
            assert!(all_associations(c)
                .unwrap()
                .iter()
                .all(|(id, _)| *id != ns.id));
        });
    }
}
