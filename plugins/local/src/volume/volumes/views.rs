//! The JSON of a volume, as Cinder's view builder writes it at each microversion: the
//! summary (`id`, `name`, `links`), the detail, and the extension attributes Cinder adds to
//! show and detail (not to create and update).

use serde_json::{json, Map, Value};

use super::super::model::{Attachment, Volume};
use super::super::{timestamp, Call, Urls};

/// Which answer a volume is written for: create and update carry the detail without the
/// extension attributes (`os-vol-*`, `volume_image_metadata`), as Cinder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Summary,
    Created,
    Detail,
}

/// What a view needs besides the row.
pub struct Extra<'a> {
    pub type_name: Option<&'a str>,
    /// The generic volume group it belongs to (3.13).
    pub group_id: Option<&'a str>,
    pub attachments: &'a [Attachment],
    /// The storage host (`host@local#local`).
    pub host: &'a str,
    /// Whether its type carries an encryption spec (`encryption.rs`).
    pub encrypted: bool,
}

pub fn attachment(a: &Attachment) -> Value {
    json!({
        "id": a.volume_id,
        "attachment_id": a.id,
        "volume_id": a.volume_id,
        "server_id": a.server_id,
        "host_name": a.host,
        "device": a.mountpoint,
        "attached_at": a.attached_ms.map(timestamp),
    })
}

pub fn volume(v: &Volume, extra: &Extra, call: &Call, urls: &Urls, shape: Shape) -> Value {
    let links = urls.links("volumes", &v.id);
    if shape == Shape::Summary {
        return json!({"id": v.id, "name": v.name, "links": links});
    }
    let admin = call.is_admin();
    let ver = call.version;
    let mut o = Map::new();
    let mut put = |k: &str, val: Value| {
        o.insert(k.to_string(), val);
    };
    put("id", json!(v.id));
    put("status", json!(v.status));
    put("size", json!(v.size));
    put("availability_zone", json!(v.availability_zone));
    put("created_at", json!(timestamp(v.created_ms)));
    put("updated_at", json!(timestamp(v.updated_ms)));
    put("name", json!(v.name));
    put("description", json!(v.description));
    put("volume_type", json!(extra.type_name));
    put("snapshot_id", json!(v.snapshot_id));
    put("source_volid", json!(v.source_volid));
    let mut metadata = v.metadata.clone();
    if shape == Shape::Detail {
        // Cinder shows the admin metadata `readonly` and `attached_mode` among the
        // volume's own (not in GET /metadata); `readonly` once os-attach or
        // os-update_readonly_flag recorded it.
        if v.readonly_recorded {
            let flag = if v.readonly { "True" } else { "False" };
            metadata.insert("readonly".into(), json!(flag));
        }
        if let Some(a) = extra.attachments.first() {
            metadata.insert("attached_mode".into(), json!(a.attach_mode));
        }
    }
    put("metadata", Value::Object(metadata));
    put("links", links);
    put("user_id", json!(v.user_id));
    put("bootable", json!(if v.bootable { "true" } else { "false" }));
    put("encrypted", json!(extra.encrypted));
    put("replication_status", Value::Null);
    put("consistencygroup_id", Value::Null);
    put("multiattach", json!(v.multiattach));
    put(
        "attachments",
        Value::Array(extra.attachments.iter().map(attachment).collect()),
    );
    if admin {
        put("migration_status", json!(v.migration_status));
    }
    if ver.at_least(13) {
        put("group_id", json!(extra.group_id));
    }
    if admin && ver.at_least(21) {
        put("provider_id", Value::Null);
    }
    if ver.at_least(48) {
        put("shared_targets", json!(false));
        put("service_uuid", Value::Null);
    }
    if admin && ver.at_least(61) {
        put("cluster_name", Value::Null);
    }
    if ver.at_least(63) {
        put("volume_type_id", json!(v.volume_type_id));
    }
    if ver.at_least(65) {
        put("consumes_quota", json!(true));
    }
    if shape == Shape::Detail {
        put("os-vol-tenant-attr:tenant_id", json!(v.project_id));
        if admin {
            put(
                "os-vol-host-attr:host",
                json!(format!("{}@local#local", extra.host)),
            );
            put("os-vol-mig-status-attr:migstat", json!(v.migration_status));
            put("os-vol-mig-status-attr:name_id", Value::Null);
        }
        if !v.image_metadata.is_empty() {
            put(
                "volume_image_metadata",
                Value::Object(stringified(&v.image_metadata)),
            );
        }
    }
    Value::Object(o)
}

/// Cinder keeps Glance's metadata as strings (`"min_disk": "0"`).
pub fn stringified(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter()
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (k.clone(), Value::String(s))
        })
        .collect()
}
