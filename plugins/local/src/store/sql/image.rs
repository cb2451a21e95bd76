//! The image service's records in SQL: properties, tags and JSON schemas as JSON text;
//! a namespace's contents go with it (foreign keys ON DELETE CASCADE).

use crate::store::db::{args, Db, Found, Row};
use serde_json::Value;

use crate::image::metadefs::{
    Association, Member as Kind, Namespace, Object, Property, ResourceType, Tag,
};
use crate::image::model::{Image, Member, Task};
use crate::image::repo::{ImageRepo, Result};
use crate::store::Unique;

/// The columns `image_row` reads, in its order.
const IMAGE_COLUMNS: &str = "id, name, status, visibility, protected, os_hidden, owner, disk_format, container_format, size, virtual_size, checksum, os_hash_algo, os_hash_value, min_disk, min_ram, properties, tags, created_at, updated_at";

fn json<T: serde::de::DeserializeOwned + Default>(text: String) -> T {
    serde_json::from_str(&text).unwrap_or_default()
}

fn text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// An image from a row of `SELECT {IMAGE_COLUMNS}`, by position (looking columns up by
/// name was most of the cost of a long listing).
fn image_row(r: &Row) -> Found<Image> {
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
        properties: json(r.get(16)?),
        tags: json(r.get(17)?),
        created_at: r.get(18)?,
        updated_at: r.get(19)?,
    })
}

fn member_row(r: &Row) -> Found<Member> {
    Ok(Member {
        image_id: r.get("image_id")?,
        member_id: r.get("member_id")?,
        status: r.get("status")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

fn task_row(r: &Row) -> Found<Task> {
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

const NS_COLUMNS: &str =
    "id, namespace, display_name, description, visibility, protected, owner, created_at, updated_at";

fn ns_row(r: &Row) -> Found<Namespace> {
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

fn property_row(r: &Row) -> Found<Property> {
    Ok(Property {
        name: r.get(0)?,
        schema: json(r.get(1)?),
    })
}

fn object_row(r: &Row) -> Found<Object> {
    Ok(Object {
        name: r.get(0)?,
        description: r.get(1)?,
        required: json(r.get(2)?),
        properties: json(r.get(3)?),
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

fn tag_row(r: &Row) -> Found<Tag> {
    Ok(Tag {
        name: r.get(0)?,
        created_at: r.get(1)?,
        updated_at: r.get(2)?,
    })
}

fn table(kind: Kind) -> &'static str {
    match kind {
        Kind::Property => "metadef_properties",
        Kind::Object => "metadef_objects",
        Kind::Tag => "metadef_tags",
    }
}

impl<D: Db + ?Sized> ImageRepo for D {
    fn insert_image(&self, i: &Image) -> Result<Unique> {
        self.unique(
            "INSERT INTO images (id, name, status, visibility, protected, os_hidden, owner, disk_format, container_format, size, virtual_size,
                checksum, os_hash_algo, os_hash_value, min_disk, min_ram, properties, tags, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
            args![
                i.id, i.name, i.status, i.visibility, i.protected, i.os_hidden, i.owner, i.disk_format, i.container_format,
                i.size, i.virtual_size, i.checksum, i.os_hash_algo, i.os_hash_value, i.min_disk, i.min_ram,
                text(&i.properties), text(&i.tags), i.created_at, i.updated_at
            ],
        )
    }

    fn image(&self, id: &str) -> Result<Option<Image>> {
        self.one(
            &format!("SELECT {IMAGE_COLUMNS} FROM images WHERE id = $1"),
            args![id],
            image_row,
        )
    }

    fn images(&self) -> Result<Vec<Image>> {
        self.all(
            &format!("SELECT {IMAGE_COLUMNS} FROM images ORDER BY created_at DESC, id DESC"),
            args![],
            image_row,
        )
    }

    fn update_image(&self, i: &Image) -> Result<bool> {
        let n = self.run(
            "UPDATE images SET name = $2, status = $3, visibility = $4, protected = $5, os_hidden = $6, owner = $7, disk_format = $8,
                container_format = $9, size = $10, virtual_size = $11, checksum = $12, os_hash_algo = $13, os_hash_value = $14,
                min_disk = $15, min_ram = $16, properties = $17, tags = $18, updated_at = $19 WHERE id = $1",
            args![
                i.id, i.name, i.status, i.visibility, i.protected, i.os_hidden, i.owner, i.disk_format, i.container_format,
                i.size, i.virtual_size, i.checksum, i.os_hash_algo, i.os_hash_value, i.min_disk, i.min_ram,
                text(&i.properties), text(&i.tags), i.updated_at
            ],
        )?;
        Ok(n > 0)
    }

    fn delete_image(&self, id: &str) -> Result<()> {
        self.run("DELETE FROM images WHERE id = $1", args![id])?;
        Ok(())
    }

    fn set_image_status(&self, id: &str, status: &str, now: &str) -> Result<()> {
        self.run(
            "UPDATE images SET status = $2, updated_at = $3 WHERE id = $1",
            args![id, status, now],
        )?;
        Ok(())
    }

    fn insert_member(&self, m: &Member) -> Result<Unique> {
        self.unique(
            "INSERT INTO image_members (image_id, member_id, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
            args![m.image_id, m.member_id, m.status, m.created_at, m.updated_at],
        )
    }

    fn members(&self, image_id: &str) -> Result<Vec<Member>> {
        self.all(
            "SELECT * FROM image_members WHERE image_id = $1 ORDER BY created_at, member_id",
            args![image_id],
            member_row,
        )
    }

    fn all_members(&self) -> Result<Vec<Member>> {
        self.all("SELECT * FROM image_members", args![], member_row)
    }

    fn member(&self, image_id: &str, member_id: &str) -> Result<Option<Member>> {
        self.one(
            "SELECT * FROM image_members WHERE image_id = $1 AND member_id = $2",
            args![image_id, member_id],
            member_row,
        )
    }

    fn set_member_status(
        &self,
        image_id: &str,
        member_id: &str,
        status: &str,
        now: &str,
    ) -> Result<()> {
        self.run(
            "UPDATE image_members SET status = $3, updated_at = $4 WHERE image_id = $1 AND member_id = $2",
            args![image_id, member_id, status, now],
        )?;
        Ok(())
    }

    fn delete_member(&self, image_id: &str, member_id: &str) -> Result<()> {
        self.run(
            "DELETE FROM image_members WHERE image_id = $1 AND member_id = $2",
            args![image_id, member_id],
        )?;
        Ok(())
    }

    fn insert_task(&self, t: &Task) -> Result<()> {
        self.run(
            "INSERT INTO tasks (id, type, status, owner, input, result, message, image_id, request_id, user_id, created_at, updated_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            args![
                t.id, t.kind, t.status, t.owner, t.input.to_string(), t.result.as_ref().map(Value::to_string), t.message,
                t.image_id, t.request_id, t.user_id, t.created_at, t.updated_at, t.expires_at
            ],
        )?;
        Ok(())
    }

    fn task(&self, id: &str) -> Result<Option<Task>> {
        self.one("SELECT * FROM tasks WHERE id = $1", args![id], task_row)
    }

    fn tasks(&self) -> Result<Vec<Task>> {
        self.all(
            "SELECT * FROM tasks ORDER BY created_at DESC, id DESC",
            args![],
            task_row,
        )
    }

    fn namespaces(&self) -> Result<Vec<Namespace>> {
        self.all(
            &format!("SELECT {NS_COLUMNS} FROM metadef_namespaces"),
            args![],
            ns_row,
        )
    }

    fn namespace(&self, name: &str) -> Result<Option<Namespace>> {
        self.one(
            &format!("SELECT {NS_COLUMNS} FROM metadef_namespaces WHERE namespace = $1"),
            args![name],
            ns_row,
        )
    }

    fn insert_namespace(&self, ns: &Namespace) -> Result<Option<i64>> {
        let stored = self.unique(
            "INSERT INTO metadef_namespaces (namespace, display_name, description, visibility,
                protected, owner, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![
                ns.namespace,
                ns.display_name,
                ns.description,
                ns.visibility,
                ns.protected,
                ns.owner,
                ns.created_at,
                ns.updated_at
            ],
        )?;
        if stored == Unique::Taken {
            return Ok(None);
        }
        self.one(
            "SELECT id FROM metadef_namespaces WHERE namespace = $1",
            args![ns.namespace],
            |r| r.get(0),
        )
    }

    fn update_namespace(&self, ns: &Namespace) -> Result<Unique> {
        self.unique(
            "UPDATE metadef_namespaces SET namespace = $2, display_name = $3, description = $4,
                visibility = $5, protected = $6, owner = $7, updated_at = $8 WHERE id = $1",
            args![
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
    }

    fn delete_namespace(&self, id: i64) -> Result<()> {
        self.run("DELETE FROM metadef_namespaces WHERE id = $1", args![id])?;
        Ok(())
    }

    fn resource_types(&self) -> Result<Vec<ResourceType>> {
        self.all(
            "SELECT name, created_at, updated_at FROM metadef_resource_types ORDER BY name",
            args![],
            |r| {
                Ok(ResourceType {
                    name: r.get(0)?,
                    created_at: r.get(1)?,
                    updated_at: r.get(2)?,
                })
            },
        )
    }

    fn associations(&self, ns: i64) -> Result<Vec<Association>> {
        self.all(
            "SELECT resource_type, prefix, properties_target, created_at, updated_at
             FROM metadef_associations WHERE namespace_id = $1 ORDER BY created_at, resource_type",
            args![ns],
            |r| {
                Ok(Association {
                    name: r.get(0)?,
                    prefix: r.get(1)?,
                    properties_target: r.get(2)?,
                    created_at: r.get(3)?,
                    updated_at: r.get(4)?,
                })
            },
        )
    }

    fn all_associations(&self) -> Result<Vec<(i64, String)>> {
        self.all(
            "SELECT namespace_id, resource_type FROM metadef_associations",
            args![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    fn associate(&self, ns: i64, a: &Association) -> Result<Unique> {
        self.run(
            "INSERT INTO metadef_resource_types (name, protected, created_at, updated_at)
             VALUES ($1, 0, $2, $2) ON CONFLICT DO NOTHING",
            args![a.name, a.created_at],
        )?;
        self.unique(
            "INSERT INTO metadef_associations (namespace_id, resource_type, prefix,
                properties_target, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                ns,
                a.name,
                a.prefix,
                a.properties_target,
                a.created_at,
                a.updated_at
            ],
        )
    }

    fn dissociate(&self, ns: i64, resource_type: &str) -> Result<bool> {
        let n = self.run(
            "DELETE FROM metadef_associations WHERE namespace_id = $1 AND resource_type = $2",
            args![ns, resource_type],
        )?;
        Ok(n > 0)
    }

    fn properties(&self, ns: i64) -> Result<Vec<Property>> {
        self.all(
            "SELECT name, json_schema FROM metadef_properties WHERE namespace_id = $1 ORDER BY name",
            args![ns],
            property_row,
        )
    }

    fn property(&self, ns: i64, name: &str) -> Result<Option<Property>> {
        self.one(
            "SELECT name, json_schema FROM metadef_properties WHERE namespace_id = $1 AND name = $2",
            args![ns, name],
            property_row,
        )
    }

    fn insert_property(&self, ns: i64, p: &Property, now: &str) -> Result<Unique> {
        self.unique(
            "INSERT INTO metadef_properties (namespace_id, name, json_schema, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4)",
            args![ns, p.name, text(&p.schema), now],
        )
    }

    fn update_property(&self, ns: i64, old: &str, p: &Property, now: &str) -> Result<Unique> {
        self.unique(
            "UPDATE metadef_properties SET name = $3, json_schema = $4, updated_at = $5
             WHERE namespace_id = $1 AND name = $2",
            args![ns, old, p.name, text(&p.schema), now],
        )
    }

    fn objects(&self, ns: i64) -> Result<Vec<Object>> {
        self.all(
            "SELECT name, description, required, properties, created_at, updated_at
             FROM metadef_objects WHERE namespace_id = $1 ORDER BY created_at, name",
            args![ns],
            object_row,
        )
    }

    fn object(&self, ns: i64, name: &str) -> Result<Option<Object>> {
        self.one(
            "SELECT name, description, required, properties, created_at, updated_at
             FROM metadef_objects WHERE namespace_id = $1 AND name = $2",
            args![ns, name],
            object_row,
        )
    }

    fn insert_object(&self, ns: i64, o: &Object) -> Result<Unique> {
        self.unique(
            "INSERT INTO metadef_objects (namespace_id, name, description, required, properties,
                created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                ns,
                o.name,
                o.description,
                text(&o.required),
                text(&o.properties),
                o.created_at,
                o.updated_at
            ],
        )
    }

    fn update_object(&self, ns: i64, old: &str, o: &Object) -> Result<Unique> {
        self.unique(
            "UPDATE metadef_objects SET name = $3, description = $4, required = $5,
                properties = $6, updated_at = $7 WHERE namespace_id = $1 AND name = $2",
            args![
                ns,
                old,
                o.name,
                o.description,
                text(&o.required),
                text(&o.properties),
                o.updated_at
            ],
        )
    }

    fn tags(&self, ns: i64) -> Result<Vec<Tag>> {
        self.all(
            "SELECT name, created_at, updated_at FROM metadef_tags WHERE namespace_id = $1
             ORDER BY created_at, rowid",
            args![ns],
            tag_row,
        )
    }

    fn tag(&self, ns: i64, name: &str) -> Result<Option<Tag>> {
        self.one(
            "SELECT name, created_at, updated_at FROM metadef_tags WHERE namespace_id = $1 AND name = $2",
            args![ns, name],
            tag_row,
        )
    }

    fn insert_tag(&self, ns: i64, name: &str, now: &str) -> Result<Unique> {
        self.unique(
            "INSERT INTO metadef_tags (namespace_id, name, created_at, updated_at)
             VALUES ($1, $2, $3, $3)",
            args![ns, name, now],
        )
    }

    fn rename_tag(&self, ns: i64, old: &str, new: &str, now: &str) -> Result<Unique> {
        self.unique(
            "UPDATE metadef_tags SET name = $3, updated_at = $4 WHERE namespace_id = $1 AND name = $2",
            args![ns, old, new, now],
        )
    }

    fn delete_metadef(&self, kind: Kind, ns: i64, name: &str) -> Result<bool> {
        let n = self.run(
            &format!(
                "DELETE FROM {} WHERE namespace_id = $1 AND name = $2",
                table(kind)
            ),
            args![ns, name],
        )?;
        Ok(n > 0)
    }

    fn delete_metadefs(&self, kind: Kind, ns: i64) -> Result<()> {
        self.run(
            &format!("DELETE FROM {} WHERE namespace_id = $1", table(kind)),
            args![ns],
        )?;
        Ok(())
    }
}
