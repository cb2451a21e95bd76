//! Glance v2's JSON: images with their properties at top level, members, schemas, and the
//! versions document. Glance's links are paths, not URLs.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::metadefs;
use super::model::{Image, Member, CONTAINER_FORMATS, DISK_FORMATS, VISIBILITIES};

/// Attributes of an image the API names itself; anything else is a custom property.
pub const CORE: &[&str] = &[
    "id",
    "name",
    "status",
    "visibility",
    "protected",
    "os_hidden",
    "owner",
    "disk_format",
    "container_format",
    "size",
    "virtual_size",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "min_disk",
    "min_ram",
    "tags",
    "created_at",
    "updated_at",
    "self",
    "file",
    "schema",
    "locations",
    "direct_url",
    "stores",
];

/// Attributes no one may set.
/// The property prefix Glance reserves for itself: no client may set such a property.
pub const RESERVED_NAMESPACE: &str = "os_glance";

pub const READ_ONLY: &[&str] = &[
    "status",
    "size",
    "virtual_size",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "created_at",
    "updated_at",
    "self",
    "file",
    "schema",
    "direct_url",
    "stores",
];

/// One image as Glance renders it: serialized straight from the record (a list of a
/// thousand images is built without a tree of JSON values).
#[derive(Serialize)]
pub struct ImageView<'a> {
    id: &'a str,
    name: &'a Option<String>,
    status: &'a str,
    visibility: &'a str,
    protected: bool,
    os_hidden: bool,
    owner: &'a Option<String>,
    disk_format: &'a Option<String>,
    container_format: &'a Option<String>,
    size: Option<i64>,
    virtual_size: Option<i64>,
    checksum: &'a Option<String>,
    os_hash_algo: &'a Option<String>,
    os_hash_value: &'a Option<String>,
    min_disk: i64,
    min_ram: i64,
    tags: &'a [String],
    created_at: &'a str,
    updated_at: &'a str,
    #[serde(rename = "self")]
    self_: String,
    file: String,
    schema: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    stores: Option<&'static str>,
    /// Custom properties, at top level.
    #[serde(flatten)]
    properties: &'a Map<String, Value>,
}

impl<'a> ImageView<'a> {
    pub fn of(i: &'a Image) -> ImageView<'a> {
        ImageView {
            id: &i.id,
            name: &i.name,
            status: &i.status,
            visibility: &i.visibility,
            protected: i.protected,
            os_hidden: i.os_hidden,
            owner: &i.owner,
            disk_format: &i.disk_format,
            container_format: &i.container_format,
            size: i.size,
            virtual_size: i.virtual_size,
            checksum: &i.checksum,
            os_hash_algo: &i.os_hash_algo,
            os_hash_value: &i.os_hash_value,
            min_disk: i.min_disk,
            min_ram: i.min_ram,
            tags: &i.tags,
            created_at: &i.created_at,
            updated_at: &i.updated_at,
            self_: format!("/v2/images/{}", i.id),
            file: format!("/v2/images/{}/file", i.id),
            schema: "/v2/schemas/image",
            stores: (i.status == "active").then_some("file"),
            properties: &i.properties,
        }
    }
}

pub fn image(i: &Image) -> Value {
    serde_json::to_value(ImageView::of(i)).unwrap_or(Value::Null)
}

/// `GET /v2/images`.
#[derive(Serialize)]
pub struct ImageList<'a> {
    pub images: Vec<ImageView<'a>>,
    pub first: &'static str,
    pub schema: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

pub fn member(m: &Member) -> Value {
    json!({
        "image_id": m.image_id,
        "member_id": m.member_id,
        "status": m.status,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
        "schema": "/v2/schemas/member",
    })
}

/// The versions this Glance speaks, newest first; `url` is the image service's root.
pub fn versions(url: &str) -> Value {
    let entry = |id: &str, status: &str| json!({"id": id, "status": status, "links": [{"rel": "self", "href": format!("{url}/v2/")}]});
    json!({"versions": [
        entry("v2.17", "CURRENT"),
        entry("v2.16", "SUPPORTED"),
        entry("v2.15", "SUPPORTED"),
        entry("v2.9", "SUPPORTED"),
        entry("v2.7", "SUPPORTED"),
        entry("v2.6", "SUPPORTED"),
        entry("v2.5", "SUPPORTED"),
        entry("v2.4", "SUPPORTED"),
        entry("v2.3", "SUPPORTED"),
        entry("v2.2", "SUPPORTED"),
        entry("v2.1", "SUPPORTED"),
        entry("v2.0", "SUPPORTED"),
    ]})
}

/// Glance's nullable types list "null" first (`['null', 'string']`).
fn nullable(kind: &str) -> Value {
    json!(["null", kind])
}

/// Glance's format enums: `[None] + CONF.image_format.<kind>_formats`.
fn format_enum(formats: &[&str]) -> Vec<Value> {
    std::iter::once(Value::Null)
        .chain(formats.iter().map(|f| Value::from(*f)))
        .collect()
}

/// `GET /v2/schemas/image`.
pub fn image_schema() -> Value {
    let mut props = Map::new();
    let mut p = |name: &str, v: Value| {
        props.insert(name.to_string(), v);
    };
    p(
        "id",
        json!({"type": "string", "description": "An identifier for the image", "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"}),
    );
    p(
        "name",
        json!({"type": nullable("string"), "description": "Descriptive name for the image", "maxLength": 255}),
    );
    p(
        "status",
        json!({"type": "string", "readOnly": true, "description": "Status of the image",
        "enum": ["queued", "saving", "active", "killed", "deleted", "uploading", "importing", "pending_delete", "deactivated"]}),
    );
    p(
        "visibility",
        json!({"type": "string", "description": "Scope of image accessibility", "enum": VISIBILITIES}),
    );
    p(
        "protected",
        json!({"type": "boolean", "description": "If true, image will not be deletable."}),
    );
    p(
        "os_hidden",
        json!({"type": "boolean", "description": "If true, image will not appear in default image list response."}),
    );
    p(
        "checksum",
        json!({"type": nullable("string"), "readOnly": true, "description": "md5 hash of image contents.", "maxLength": 32}),
    );
    p(
        "os_hash_algo",
        json!({"type": nullable("string"), "readOnly": true, "description": "Algorithm to calculate the os_hash_value", "maxLength": 64}),
    );
    p(
        "os_hash_value",
        json!({"type": nullable("string"), "readOnly": true, "description": "Hexdigest of the image contents using the algorithm specified by the os_hash_algo", "maxLength": 128}),
    );
    p(
        "owner",
        json!({"type": nullable("string"), "description": "Owner of the image", "maxLength": 255}),
    );
    p(
        "size",
        json!({"type": nullable("integer"), "readOnly": true, "description": "Size of image file in bytes"}),
    );
    p(
        "virtual_size",
        json!({"type": nullable("integer"), "readOnly": true, "description": "Virtual size of image in bytes"}),
    );
    p(
        "container_format",
        json!({"type": nullable("string"), "description": "Format of the container", "enum": format_enum(CONTAINER_FORMATS)}),
    );
    p(
        "disk_format",
        json!({"type": nullable("string"), "description": "Format of the disk", "enum": format_enum(DISK_FORMATS)}),
    );
    p(
        "created_at",
        json!({"type": "string", "readOnly": true, "description": "Date and time of image registration"}),
    );
    p(
        "updated_at",
        json!({"type": "string", "readOnly": true, "description": "Date and time of the last image modification"}),
    );
    p(
        "tags",
        json!({"type": "array", "description": "List of strings related to the image", "items": {"type": "string", "maxLength": 255}}),
    );
    p(
        "direct_url",
        json!({"type": "string", "readOnly": true, "description": "URL to access the image file kept in external store"}),
    );
    p(
        "min_ram",
        json!({"type": "integer", "description": "Amount of ram (in MB) required to boot image."}),
    );
    p(
        "min_disk",
        json!({"type": "integer", "description": "Amount of disk space (in GB) required to boot image."}),
    );
    p(
        "self",
        json!({"type": "string", "readOnly": true, "description": "An image self url"}),
    );
    p(
        "file",
        json!({"type": "string", "readOnly": true, "description": "An image file url"}),
    );
    p(
        "stores",
        json!({"type": "string", "readOnly": true, "description": "Store in which image data resides."}),
    );
    p(
        "schema",
        json!({"type": "string", "readOnly": true, "description": "An image schema url"}),
    );
    json!({
        "name": "image",
        "properties": props,
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"}
        ],
    })
}

/// `GET /v2/schemas/images`.
pub fn images_schema() -> Value {
    json!({
        "name": "images",
        "properties": {
            "images": {"type": "array", "items": image_schema()},
            "schema": {"type": "string"},
            "first": {"type": "string"},
            "next": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"}
        ],
    })
}

fn member_properties() -> Value {
    json!({
        "created_at": {"type": "string", "description": "Date and time of image member creation"},
        "image_id": {"type": "string", "description": "An identifier for the image"},
        "member_id": {"type": "string", "description": "An identifier for the image member (tenantId)"},
        "status": {"type": "string", "description": "The status of this image member", "enum": ["pending", "accepted", "rejected"]},
        "updated_at": {"type": "string", "description": "Date and time of last modification of image member"},
        "schema": {"type": "string", "readOnly": true},
    })
}

/// `GET /v2/schemas/member`.
pub fn member_schema() -> Value {
    json!({"name": "member", "properties": member_properties()})
}

/// `GET /v2/schemas/members`.
pub fn members_schema() -> Value {
    json!({
        "name": "members",
        "properties": {
            "members": {"type": "array", "items": {"name": "member", "properties": member_properties()}},
            "schema": {"type": "string"},
        },
        "links": [{"rel": "describedby", "href": "{schema}"}],
    })
}

/// The metadata definition schemas (`GET /v2/schemas/metadefs/<kind>`): the documents
/// Glance publishes, by the names it gives them. As in Glance, a namespace's and an
/// object's `properties` is a map of property definitions (`#/definitions/property`, each
/// an object with a `title` and a `type`), and a list schema carries its item's
/// `definitions` at its top: python-glanceclient validates every namespace it reads against
/// these (Horizon's image and launch wizards go through it).
pub fn metadefs_schema(kind: &str) -> Option<Value> {
    let stamps = json!({
        "created_at": {"type": "string", "readOnly": true, "format": "date-time", "description": "Date and time of creation"},
        "updated_at": {"type": "string", "readOnly": true, "format": "date-time", "description": "Date and time of the last modification"},
    });
    let with_stamps = |mut props: Value| {
        if let (Value::Object(p), Value::Object(s)) = (&mut props, &stamps) {
            p.extend(s.clone());
        }
        props
    };
    let types = json!(["array", "boolean", "integer", "number", "object", "string", null]);
    // One property definition's members (Glance's `definitions.property.additionalProperties`).
    let property = json!({
        "name": {"type": "string", "maxLength": 255},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "operators": {"type": "array", "items": {"type": "string"}},
        "type": {"type": "string", "enum": types},
        "required": {"$ref": "#/definitions/stringArray"},
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "maxLength": {"$ref": "#/definitions/positiveInteger"},
        "minLength": {"$ref": "#/definitions/positiveIntegerDefault0"},
        "pattern": {"type": "string", "format": "regex"},
        "enum": {"type": "array"},
        "readonly": {"type": "boolean"},
        "default": {},
        "items": {"type": "object", "properties": {"type": {"type": "string", "enum": types}, "enum": {"type": "array"}}},
        "maxItems": {"$ref": "#/definitions/positiveInteger"},
        "minItems": {"$ref": "#/definitions/positiveIntegerDefault0"},
        "uniqueItems": {"type": "boolean", "default": false},
        "additionalItems": {"type": "boolean"},
    });
    let base_definitions = json!({
        "positiveInteger": {"type": "integer", "minimum": 0},
        "positiveIntegerDefault0": {"allOf": [{"$ref": "#/definitions/positiveInteger"}, {"default": 0}]},
        "stringArray": {"type": "array", "items": {"type": "string"}, "uniqueItems": true},
    });
    let mut definitions = base_definitions.clone();
    definitions["property"] = json!({
        "type": "object",
        "additionalProperties": {"type": "object", "required": ["title", "type"], "properties": property},
    });
    let properties_map = json!({"$ref": "#/definitions/property"});
    let object = with_stamps(json!({
        "name": {"type": "string", "maxLength": 255},
        "description": {"type": "string"},
        "required": {"$ref": "#/definitions/stringArray"},
        "properties": properties_map,
        "schema": {"type": "string", "readOnly": true},
        "self": {"type": "string", "readOnly": true},
    }));
    let tag = with_stamps(json!({"name": {"type": "string", "maxLength": 255}}));
    let association = with_stamps(json!({
        "name": {"type": "string", "maxLength": 80, "description": "Resource type names should be aligned with Heat resource types whenever possible"},
        "prefix": {"type": "string", "maxLength": 80, "description": "Specifies the prefix to use for the given resource type."},
        "properties_target": {"type": "string", "maxLength": 80, "description": "Some resource types allow more than one key / value pair per instance."},
    }));
    let namespace = with_stamps(json!({
        "namespace": {"type": "string", "maxLength": 80, "description": "The unique namespace text."},
        "display_name": {"type": "string", "maxLength": 80, "description": "The user friendly name for the namespace."},
        "description": {"type": "string", "maxLength": 500, "description": "Provides a user friendly description of the namespace."},
        "visibility": {"type": "string", "enum": ["public", "private"], "description": "Scope of namespace accessibility."},
        "protected": {"type": "boolean", "description": "If true, namespace will not be deletable."},
        "owner": {"type": "string", "maxLength": 255, "description": "Owner of the namespace."},
        "resource_type_associations": {"type": "array", "items": {"type": "object", "properties": association.clone()}},
        "properties": properties_map,
        "objects": {"type": "array", "items": {"type": "object", "properties": object.clone()}},
        "tags": {"type": "array", "items": {"type": "object", "properties": tag.clone()}},
        "schema": {"type": "string", "readOnly": true},
        "self": {"type": "string", "readOnly": true},
    }));
    // Glance's `Schema.raw()`: the item with its required members and definitions.
    let single = |name: &str, props: &Value, required: &[&str], defs: Option<&Value>| {
        let mut s = json!({"name": name, "properties": props, "additionalProperties": false});
        if let Some(d) = defs {
            s["definitions"] = d.clone();
        }
        if !required.is_empty() {
            s["required"] = json!(required);
        }
        s
    };
    // Its `CollectionSchema` (a list) and `DictCollectionSchema` (a map by name): the
    // item's definitions move up to the collection.
    let links = json!([{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, {"rel": "describedby", "href": "{schema}"}]);
    let many = |name: &str, mut item: Value, as_map: bool| {
        let defs = item.as_object_mut().and_then(|i| i.remove("definitions"));
        let items = if as_map {
            json!({"type": "object", "additionalProperties": item})
        } else {
            json!({"type": "array", "items": item})
        };
        let mut s = json!({
            "name": name,
            "properties": {
                name: items,
                "first": {"type": "string"},
                "next": {"type": "string"},
                "schema": {"type": "string"},
            },
            "links": links,
        });
        if let Some(d) = defs {
            s["definitions"] = d;
        }
        s
    };
    let namespace_schema = single("namespace", &namespace, &["namespace"], Some(&definitions));
    let association_schema = single("resource_type_association", &association, &["name"], None);
    let object_schema = single("object", &object, &["name"], Some(&definitions));
    let property_schema =
        |required: &[&str]| single("property", &property, required, Some(&base_definitions));
    let tag_schema = single("tag", &tag, &["name"], None);
    Some(match kind {
        "namespace" => namespace_schema,
        "namespaces" => many("namespaces", namespace_schema, false),
        "resource_type" => association_schema,
        "resource_types" => many("resource_type_associations", association_schema, false),
        "object" => object_schema,
        "objects" => many("objects", object_schema, false),
        "property" => property_schema(&["type", "title", "name"]),
        // In a map the name is the key, not a member.
        "properties" => many("properties", property_schema(&["type", "title"]), true),
        "tag" => tag_schema,
        "tags" => many("tags", tag_schema, false),
        _ => return None,
    })
}

// ---------------------------------------------------------------- metadefs

/// Drops the members Glance leaves out when they are unset (its WSME types do).
fn without_nulls(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.retain(|_, x| !x.is_null());
    }
    v
}

fn prefixed(prefix: Option<&str>, name: &str) -> String {
    format!("{}{name}", prefix.unwrap_or_default())
}

/// A namespace's resource type association.
pub fn metadef_association(a: &metadefs::Association) -> Value {
    without_nulls(json!({
        "name": a.name, "prefix": a.prefix, "properties_target": a.properties_target,
        "created_at": a.created_at, "updated_at": a.updated_at,
    }))
}

/// A namespace as lists show it: no properties, objects or tags.
pub fn metadef_namespace(ns: &metadefs::Namespace, assocs: &[metadefs::Association]) -> Value {
    let mut v = without_nulls(json!({
        "namespace": ns.namespace, "display_name": ns.display_name,
        "description": ns.description, "visibility": ns.visibility,
        "protected": ns.protected, "owner": ns.owner,
        "created_at": ns.created_at, "updated_at": ns.updated_at,
        "schema": "/v2/schemas/metadefs/namespace",
        "self": format!("/v2/metadefs/namespaces/{}", ns.namespace),
    }));
    if !assocs.is_empty() {
        v["resource_type_associations"] = assocs
            .iter()
            .map(metadef_association)
            .collect::<Vec<_>>()
            .into();
    }
    v
}

/// A namespace with its contents; property names carry `prefix` (`?resource_type=`).
pub fn metadef_namespace_detail(d: &metadefs::Detail, prefix: Option<&str>) -> Value {
    let mut v = metadef_namespace(&d.namespace, &d.associations);
    if !d.properties.is_empty() {
        let props: Map<String, Value> = d
            .properties
            .iter()
            .map(|p| (prefixed(prefix, &p.name), Value::Object(p.schema.clone())))
            .collect();
        v["properties"] = props.into();
    }
    if !d.objects.is_empty() {
        v["objects"] = d
            .objects
            .iter()
            .map(|o| metadef_object_body(o, prefix))
            .collect::<Vec<_>>()
            .into();
    }
    if !d.tags.is_empty() {
        v["tags"] = d.tags.iter().map(metadef_tag).collect::<Vec<_>>().into();
    }
    v
}

/// A property: its schema document and its name.
pub fn metadef_property(p: &metadefs::Property, prefix: Option<&str>) -> Value {
    let mut m = p.schema.clone();
    m.insert("name".into(), prefixed(prefix, &p.name).into());
    Value::Object(m)
}

/// `GET .../properties`: by name.
pub fn metadef_properties(ps: &[metadefs::Property]) -> Value {
    let props: Map<String, Value> = ps
        .iter()
        .map(|p| (p.name.clone(), Value::Object(p.schema.clone())))
        .collect();
    json!({"properties": props})
}

fn metadef_object_body(o: &metadefs::Object, prefix: Option<&str>) -> Value {
    let properties: Map<String, Value> = o
        .properties
        .iter()
        .map(|(k, v)| (prefixed(prefix, k), v.clone()))
        .collect();
    let required: Vec<String> = o.required.iter().map(|r| prefixed(prefix, r)).collect();
    without_nulls(json!({
        "name": o.name, "description": o.description, "required": required,
        "properties": properties, "created_at": o.created_at, "updated_at": o.updated_at,
    }))
}

/// An object, as its own endpoints show it.
pub fn metadef_object(ns: &str, o: &metadefs::Object) -> Value {
    let mut v = metadef_object_body(o, None);
    v["schema"] = "/v2/schemas/metadefs/object".into();
    v["self"] = format!("/v2/metadefs/namespaces/{ns}/objects/{}", o.name).into();
    v
}

pub fn metadef_tag(t: &metadefs::Tag) -> Value {
    json!({"name": t.name, "created_at": t.created_at, "updated_at": t.updated_at})
}

pub fn metadef_resource_type(r: &metadefs::ResourceType) -> Value {
    json!({"name": r.name, "created_at": r.created_at, "updated_at": r.updated_at})
}

/// Glance v1's short listing entry.
pub fn v1_summary(i: &Image) -> Value {
    json!({
        "id": i.id, "name": i.name, "disk_format": i.disk_format,
        "container_format": i.container_format, "size": i.size, "checksum": i.checksum,
    })
}

/// Glance v1's detailed entry: properties under `properties`, `is_public`.
pub fn v1_detail(i: &Image) -> Value {
    json!({
        "id": i.id, "name": i.name, "status": i.status, "is_public": i.visibility == "public",
        "deleted": false, "deleted_at": null, "created_at": i.created_at, "updated_at": i.updated_at,
        "size": i.size, "checksum": i.checksum, "disk_format": i.disk_format,
        "container_format": i.container_format, "min_disk": i.min_disk, "min_ram": i.min_ram,
        "owner": i.owner, "protected": i.protected, "properties": i.properties,
    })
}

/// Glance v1's `x-image-meta-*` headers of `HEAD /v1/images/{id}`.
pub fn v1_headers(i: &Image) -> Vec<(String, String)> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut out: Vec<(String, String)> = [
        ("id", i.id.clone()),
        ("name", text(&i.name)),
        ("status", i.status.clone()),
        ("is_public", (i.visibility == "public").to_string()),
        ("deleted", "false".into()),
        ("protected", i.protected.to_string()),
        (
            "size",
            i.size.map(|s| s.to_string()).unwrap_or_else(|| "0".into()),
        ),
        ("checksum", text(&i.checksum)),
        ("disk_format", text(&i.disk_format)),
        ("container_format", text(&i.container_format)),
        ("min_disk", i.min_disk.to_string()),
        ("min_ram", i.min_ram.to_string()),
        ("owner", text(&i.owner)),
        ("created_at", i.created_at.clone()),
        ("updated_at", i.updated_at.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("x-image-meta-{k}"), v))
    .collect();
    for (k, v) in &i.properties {
        // Header names are tokens and values visible ASCII; a property that fits neither is
        // left out rather than break the response.
        let name_ok = k
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if let Some(v) = v
            .as_str()
            .filter(|v| name_ok && v.chars().all(|c| c.is_ascii_graphic() || c == ' '))
        {
            out.push((format!("x-image-meta-property-{k}"), v.to_string()));
        }
    }
    out
}

/// A task; `for_image` adds what `GET /v2/images/{id}/tasks` shows (2.12).
pub fn task(t: &super::model::Task, for_image: bool) -> Value {
    let mut v = json!({
        "id": t.id, "type": t.kind, "status": t.status, "owner": t.owner,
        "input": t.input, "result": t.result, "message": t.message,
        "expires_at": t.expires_at, "created_at": t.created_at, "updated_at": t.updated_at,
        "self": format!("/v2/tasks/{}", t.id), "schema": "/v2/schemas/task",
    });
    if for_image {
        v["image_id"] = json!(t.image_id);
        v["request_id"] = json!(t.request_id);
        v["user_id"] = json!(t.user_id);
    }
    v
}

fn task_properties() -> Value {
    json!({
        "id": {"type": "string", "description": "An identifier for the task"},
        "type": {"type": "string", "enum": ["import", "api_image_import"], "description": "The type of task represented by this content"},
        "status": {"type": "string", "enum": ["pending", "processing", "success", "failure"], "description": "The current status of this task"},
        "input": {"type": ["null", "object"], "description": "The parameters required by task, JSON blob"},
        "result": {"type": ["null", "object"], "description": "The result of current task, JSON blob"},
        "owner": {"type": "string", "description": "An identifier for the owner of this task"},
        "message": {"type": "string", "description": "Human-readable informative message only included when appropriate (usually on failure)"},
        "expires_at": {"type": ["null", "string"], "description": "Datetime when this resource would be subject to removal"},
        "created_at": {"type": "string", "description": "Datetime when this resource was created"},
        "updated_at": {"type": "string", "description": "Datetime when this resource was updated"},
        "self": {"type": "string"},
        "schema": {"type": "string"},
    })
}

/// `GET /v2/schemas/task`.
pub fn task_schema() -> Value {
    json!({"name": "task", "properties": task_properties()})
}

/// `GET /v2/schemas/tasks`.
pub fn tasks_schema() -> Value {
    json!({
        "name": "tasks",
        "properties": {
            "tasks": {"type": "array", "items": {"name": "task", "properties": task_properties()}},
            "schema": {"type": "string"},
            "first": {"type": "string"},
            "next": {"type": "string"},
        },
        "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, {"rel": "describedby", "href": "{schema}"}],
    })
}
