//! Glance v2's endpoints: the only place that touches the dispatcher.

use std::io::Read;
use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Value};

use super::data::Folder;
use super::model::{self, Image, Member, Viewer};
use super::schema_error;
use super::views;
use super::Images;
use crate::time::now_seconds_iso;

type Svc = Arc<Images>;

endpoint!(Svc; Versions { on_get => versions });
endpoint!(Svc; VersionList { on_get => version_list });
endpoint!(Svc; Images_ { on_get => list_images, on_post => create_image });
endpoint!(Svc; ImageItem { on_get => show_image, on_patch => update_image, on_delete => delete_image });
endpoint!(Svc; ImageFile { on_put => upload, on_get => download } streams "PUT");
endpoint!(Svc; ImageStage { on_put => stage } streams "PUT");
endpoint!(Svc; ImageImport { on_post => import });
endpoint!(Svc; ImageTag { on_put => add_tag, on_delete => remove_tag });
endpoint!(Svc; Deactivate { on_post => deactivate });
endpoint!(Svc; Reactivate { on_post => reactivate });
endpoint!(Svc; Members { on_get => list_members, on_post => add_member });
endpoint!(Svc; MemberItem { on_get => show_member, on_put => update_member, on_delete => remove_member });
endpoint!(Svc; InfoImport { on_get => info_import });
endpoint!(Svc; InfoStores { on_get => info_stores });
endpoint!(Svc; InfoUsage { on_get => info_usage });
endpoint!(Svc; SchemaImage { on_get => schema_image });
endpoint!(Svc; SchemaImages { on_get => schema_images });
endpoint!(Svc; SchemaMember { on_get => schema_member });
endpoint!(Svc; SchemaMembers { on_get => schema_members });
endpoint!(Svc; SchemaMetadefs { on_get => schema_metadefs });
endpoint!(Svc; Tasks { on_get => list_tasks, on_post => create_task });
endpoint!(Svc; TaskItem { on_get => show_task });
endpoint!(Svc; ImageTasks { on_get => image_tasks });
endpoint!(Svc; SchemaTask { on_get => schema_task });
endpoint!(Svc; SchemaTasks { on_get => schema_tasks });
endpoint!(Svc; V1Images { on_get => v1_list });
endpoint!(Svc; V1ImagesDetail { on_get => v1_detail });
endpoint!(Svc; V1Image { on_get => v1_download, on_head => v1_head });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "index" => Versions,
        "v2_index" => Versions,
        "versions" => VersionList,
        "v2_images" => Images_,
        "v2_image" => ImageItem,
        "v2_image_file" => ImageFile,
        "v2_image_stage" => ImageStage,
        "v2_image_import" => ImageImport,
        "v2_image_tag" => ImageTag,
        "v2_image_actions_deactivate" => Deactivate,
        "v2_image_actions_reactivate" => Reactivate,
        "v2_image_members" => Members,
        "v2_image_member" => MemberItem,
        "v2_info_import" => InfoImport,
        "v2_info_stores" => InfoStores,
        "v2_info_usage" => InfoUsage,
        "v2_schema_image" => SchemaImage,
        "v2_schema_images" => SchemaImages,
        "v2_schema_member" => SchemaMember,
        "v2_schema_members" => SchemaMembers,
        "v2_schema_metadefs_namespace" => SchemaMetadefs,
        "v2_schema_metadefs_namespaces" => SchemaMetadefs,
        "v2_schema_metadefs_resource_type" => SchemaMetadefs,
        "v2_schema_metadefs_resource_types" => SchemaMetadefs,
        "v2_schema_metadefs_object" => SchemaMetadefs,
        "v2_schema_metadefs_objects" => SchemaMetadefs,
        "v2_schema_metadefs_property" => SchemaMetadefs,
        "v2_schema_metadefs_properties" => SchemaMetadefs,
        "v2_schema_metadefs_tag" => SchemaMetadefs,
        "v2_schema_metadefs_tags" => SchemaMetadefs,
        "v2_tasks" => Tasks,
        "v2_task" => TaskItem,
        "v2_image_tasks" => ImageTasks,
        "v2_schema_task" => SchemaTask,
        "v2_schema_tasks" => SchemaTasks,
        "v1_images" => V1Images,
        "v1_images_detail" => V1ImagesDetail,
        "v1_image" => V1Image,
    }
    super::metadef_routes::setup(disp, svc)
}

// ---------------------------------------------------------------- helpers

fn caller(req: &Request) -> Result<AuthContext, Fault> {
    req.context()
        .ok_or_else(|| Fault::unauthorized("The request you have made requires authentication."))
}

fn viewer(c: &AuthContext) -> Viewer<'_> {
    Viewer {
        project: c.project_id.as_deref(),
        admin: c.is_admin,
    }
}

fn param<'a>(req: &'a Request, name: &str) -> Result<&'a str, Fault> {
    req.param(name)
        .ok_or_else(|| Fault::internal(format!("route without {{{name}}}")))
}

fn ok_json(resp: &mut Response, status: u16, v: &Value) -> HandlerResult {
    resp.set_status(status);
    resp.json(v);
    Ok(())
}

/// An image the caller may see, or 404 as Glance says it.
fn visible(svc: &Images, req: &Request, c: &AuthContext) -> Result<Image, Fault> {
    let id = param(req, "image_guid")?;
    let (image, membership) = svc.read(|conn| {
        let image = model::get(conn, id)?;
        let membership = c
            .project_id
            .as_deref()
            .and_then(|p| model::get_member(conn, id, p).ok());
        Ok((image, membership))
    })?;
    if !viewer(c).can_see(&image, membership.as_ref()) {
        return Err(Fault::not_found(format!("No image found with ID {id}")));
    }
    Ok(image)
}

/// An image the caller may change: visible (404 otherwise, as Glance hides what `get_image`
/// refuses) and theirs (403). The role the change needs (`ADMIN_OR_PROJECT_MEMBER`) the
/// table has asked already, so a reader's change is 403 even of an image it cannot see.
fn owned(svc: &Images, req: &Request, c: &AuthContext) -> Result<Image, Fault> {
    let image = visible(svc, req, c)?;
    if !viewer(c).owns(&image) {
        return Err(Fault::forbidden(
            "You are not permitted to modify this image.",
        ));
    }
    Ok(image)
}

fn bad(message: impl Into<String>) -> Fault {
    Fault::bad_request(message)
}

// ---------------------------------------------------------------- versions, schemas, info

fn root_url(svc: &Images, req: &Request) -> Result<String, Fault> {
    let disp = svc
        .app
        .get_dispatcher("image")
        .ok_or_else(|| Fault::internal("image is not enabled"))?;
    let mut url = disp.get_endpoint_url(req, "index", &[])?;
    while url.ends_with('/') {
        url.pop();
    }
    Ok(url)
}

fn versions(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    ok_json(resp, 300, &views::versions(&root_url(svc, req)?))
}

fn version_list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    ok_json(resp, 200, &views::versions(&root_url(svc, req)?))
}

fn schema_image(_: &Svc, _: &mut Request, resp: &mut Response) -> HandlerResult {
    ok_json(resp, 200, &views::image_schema())
}

fn schema_images(_: &Svc, _: &mut Request, resp: &mut Response) -> HandlerResult {
    ok_json(resp, 200, &views::images_schema())
}

fn schema_member(_: &Svc, _: &mut Request, resp: &mut Response) -> HandlerResult {
    ok_json(resp, 200, &views::member_schema())
}

fn schema_members(_: &Svc, _: &mut Request, resp: &mut Response) -> HandlerResult {
    ok_json(resp, 200, &views::members_schema())
}

fn schema_metadefs(_: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let kind = req
        .path
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .trim_end_matches(".json")
        .to_string();
    let schema = views::metadefs_schema(&kind)
        .ok_or_else(|| Fault::not_found(format!("No schema {kind}")))?;
    ok_json(resp, 200, &schema)
}

fn info_import(_: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    caller(req)?;
    ok_json(
        resp,
        200,
        &json!({"import-methods": {
            "description": "Import methods available.",
            "type": "array",
            "value": ["glance-direct"],
        }}),
    )
}

fn info_stores(_: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    caller(req)?;
    ok_json(
        resp,
        200,
        &json!({"stores": [{"id": "file", "description": "Files under the local driver's data_dir", "default": true}]}),
    )
}

fn info_usage(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let images = svc.read(model::list)?;
    let mine: Vec<&Image> = images
        .iter()
        .filter(|i| i.owner.as_deref() == c.project_id.as_deref())
        .collect();
    let bytes: i64 = mine.iter().filter_map(|i| i.size).sum();
    let staging = mine.iter().filter(|i| i.status == "uploading").count();
    ok_json(
        resp,
        200,
        &json!({"usage": {
            "image_size_total": {"limit": -1, "usage": bytes / (1024 * 1024)},
            "image_stage_total": {"limit": -1, "usage": staging},
            "image_count_total": {"limit": -1, "usage": mine.len()},
            "image_count_uploading": {"limit": -1, "usage": mine.iter().filter(|i| i.status == "saving").count()},
        }}),
    )
}

// ---------------------------------------------------------------- images

/// Checks and applies one attribute of a create or PATCH to `image`.
fn set_attribute(
    image: &mut Image,
    key: &str,
    value: &Value,
    c: &AuthContext,
    creating: bool,
) -> Result<(), Fault> {
    if views::READ_ONLY.contains(&key) || (key == "id" && !creating) {
        return Err(Fault::forbidden(format!("Attribute '{key}' is read-only.")));
    }
    // Glance keeps the `os_glance` namespace for itself (import state, stores).
    if key.starts_with(views::RESERVED_NAMESPACE) {
        return Err(Fault::forbidden(format!("Attribute '{key}' is reserved.")));
    }
    let string = |v: &Value| -> Result<Option<String>, Fault> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            other => Err(bad(format!(
                "Invalid value '{other}' for attribute '{key}': not a string"
            ))),
        }
    };
    let int = |v: &Value| -> Result<i64, Fault> {
        v.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
            bad(format!(
                "Invalid value '{v}' for attribute '{key}': must be a non-negative integer"
            ))
        })
    };
    let boolean = |v: &Value| -> Result<bool, Fault> {
        v.as_bool().ok_or_else(|| {
            bad(format!(
                "Invalid value '{v}' for attribute '{key}': not a boolean"
            ))
        })
    };
    match key {
        "id" => {
            let id = string(value)?.unwrap_or_default();
            if uuid::Uuid::parse_str(&id).is_err() {
                return Err(bad(format!(
                    "Invalid value '{id}' for attribute 'id': not a UUID"
                )));
            }
            image.id = id;
        }
        "name" => {
            let name = string(value)?;
            if name.as_ref().is_some_and(|n| n.chars().count() > 255) {
                return Err(bad(
                    "Invalid value for attribute 'name': longer than 255 characters",
                ));
            }
            image.name = name;
        }
        "visibility" => {
            let v = string(value)?.unwrap_or_default();
            if !model::VISIBILITIES.contains(&v.as_str()) {
                return Err(schema_error::not_one_of(key, &v));
            }
            if v == "public" && !c.is_admin {
                return Err(Fault::forbidden(
                    "You are not authorized to complete publicize_image action.",
                ));
            }
            image.visibility = v;
        }
        "protected" => image.protected = boolean(value)?,
        "os_hidden" => image.os_hidden = boolean(value)?,
        "min_disk" => image.min_disk = int(value)?,
        "min_ram" => image.min_ram = int(value)?,
        "disk_format" | "container_format" => {
            // Glance's request deserializer checks the schema before the image's state.
            let v = string(value)?;
            let allowed = if key == "disk_format" {
                model::DISK_FORMATS
            } else {
                model::CONTAINER_FORMATS
            };
            if let Some(f) = &v {
                if !allowed.contains(&f.as_str()) {
                    return Err(schema_error::not_one_of(key, f));
                }
            }
            if image.status != "queued" && !creating {
                return Err(Fault::forbidden(format!(
                    "Attribute {key} can be only replaced for a queued image."
                )));
            }
            if key == "disk_format" {
                image.disk_format = v;
            } else {
                image.container_format = v;
            }
        }
        "owner" => {
            if !c.is_admin {
                return Err(Fault::forbidden("Attribute 'owner' is reserved."));
            }
            image.owner = string(value)?;
        }
        "tags" => {
            let tags = value
                .as_array()
                .ok_or_else(|| bad("Invalid value for attribute 'tags': not an array"))?;
            let mut out: Vec<String> = Vec::new();
            for t in tags {
                let t = t
                    .as_str()
                    .ok_or_else(|| bad("Invalid value for attribute 'tags': not a string"))?;
                if t.chars().count() > 255 {
                    return Err(bad(
                        "Invalid value for attribute 'tags': longer than 255 characters",
                    ));
                }
                if !out.iter().any(|x| x == t) {
                    out.push(t.to_string());
                }
            }
            if out.len() > MAX_TAGS {
                return Err(Fault::too_large(format!(
                    "Maximum number of tags exceeded ({MAX_TAGS})"
                )));
            }
            image.tags = out;
        }
        "locations" => {
            return Err(Fault::forbidden(
                "It's not allowed to update locations if locations are invisible.",
            ))
        }
        _ => {
            if key.is_empty() || key.chars().count() > 255 {
                return Err(bad(format!("Invalid property name '{key}'")));
            }
            let v = string(value)?.unwrap_or_default();
            image.properties.insert(key.to_string(), Value::String(v));
            if image.properties.len() > MAX_PROPERTIES {
                return Err(Fault::too_large(format!(
                    "Maximum number of image properties exceeded ({MAX_PROPERTIES})"
                )));
            }
        }
    }
    Ok(())
}

/// Glance's `image_property_quota` and `image_tag_quota` defaults.
const MAX_PROPERTIES: usize = 128;
const MAX_TAGS: usize = 128;

fn create_image(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let body: Value = req.json()?;
    let body = body
        .as_object()
        .ok_or_else(|| bad("The request body must be a JSON object"))?;
    let now = now_seconds_iso();
    let mut image = Image::queued(uuid::Uuid::new_v4().to_string(), c.project_id.clone(), &now);
    for (k, v) in body {
        set_attribute(&mut image, k, v, &c, true)?;
    }
    svc.write(|tx| model::create(tx, &image))?;
    resp.set_header(
        "Location",
        &format!("{}/v2/images/{}", root_url(svc, req)?, image.id),
    );
    ok_json(resp, 201, &views::image(&image))
}

fn show_image(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    ok_json(resp, 200, &views::image(&visible(svc, req, &c)?))
}

/// A list query's `in:` values, or the single value.
fn values(raw: &str) -> Vec<String> {
    match raw.strip_prefix("in:") {
        Some(list) => list
            .split(',')
            .map(|s| s.trim_matches('"').to_string())
            .collect(),
        None => vec![raw.to_string()],
    }
}

fn list_images(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let v = viewer(&c);
    let (images, members) = svc.read(|conn| Ok((model::list(conn)?, model::all_members(conn)?)))?;
    let q = |k: &str| req.query_param(k).map(str::to_string);
    let member_status = q("member_status").unwrap_or_else(|| "accepted".into());
    if !["accepted", "pending", "rejected", "all"].contains(&member_status.as_str()) {
        return Err(bad(format!("Invalid status value: {member_status}")));
    }
    let visibility = q("visibility");
    if let Some(vis) = &visibility {
        if !["public", "private", "shared", "community", "all"].contains(&vis.as_str()) {
            return Err(bad(format!("Invalid visibility value: {vis}")));
        }
    }
    let int_param = |k: &str| -> Result<Option<i64>, Fault> {
        q(k).map(|v| {
            v.parse::<i64>()
                .map_err(|_| bad(format!("Invalid value for {k}: {v}")))
        })
        .transpose()
    };
    let (size_min, size_max) = (int_param("size_min")?, int_param("size_max")?);
    let tags: Vec<String> = req.query_values("tag").map(str::to_string).collect();
    let created = q("created_at")
        .map(|v| TimeFilter::parse("created_at", &v))
        .transpose()?;
    let updated = q("updated_at")
        .map(|v| TimeFilter::parse("updated_at", &v))
        .transpose()?;
    let mut out: Vec<&Image> = images
        .iter()
        .filter(|i| {
            let membership = c.project_id.as_deref().and_then(|p| {
                members
                    .iter()
                    .find(|m| m.image_id == i.id && m.member_id == p)
            });
            let listed = match (visibility.as_deref(), i.visibility.as_str()) {
                (Some("all"), _) if c.is_admin => true,
                (Some(want), have) if want != "all" && want != have => false,
                (_, "public") => true,
                (_, "community") => v.owns(i) || visibility.as_deref() == Some("community"),
                (_, "shared") => {
                    v.owns(i)
                        || membership
                            .is_some_and(|m| member_status == "all" || m.status == member_status)
                }
                _ => v.owns(i),
            };
            listed
                && (c.is_admin
                    || visibility.is_some()
                    || !i.os_hidden
                    || q("os_hidden").as_deref() == Some("true"))
                && q("name").is_none_or(|n| {
                    values(&n)
                        .iter()
                        .any(|x| i.name.as_deref() == Some(x.as_str()))
                })
                && q("id").is_none_or(|n| values(&n).contains(&i.id))
                && q("status").is_none_or(|s| values(&s).contains(&i.status))
                && q("owner").is_none_or(|o| i.owner.as_deref() == Some(o.as_str()))
                && q("disk_format").is_none_or(|f| {
                    values(&f)
                        .iter()
                        .any(|x| i.disk_format.as_deref() == Some(x.as_str()))
                })
                && q("container_format").is_none_or(|f| {
                    values(&f)
                        .iter()
                        .any(|x| i.container_format.as_deref() == Some(x.as_str()))
                })
                && q("protected").is_none_or(|p| p == i.protected.to_string())
                && q("os_hidden").is_none_or(|h| h == i.os_hidden.to_string())
                && q("size").is_none_or(|n| i.size.map(|s| s.to_string()) == Some(n.clone()))
                && size_min.is_none_or(|m| i.size.is_some_and(|s| s >= m))
                && size_max.is_none_or(|m| i.size.is_some_and(|s| s <= m))
                && tags.iter().all(|t| i.tags.contains(t))
                && created.as_ref().is_none_or(|f| f.accepts(&i.created_at))
                && updated.as_ref().is_none_or(|f| f.accepts(&i.updated_at))
                && req.query_params.iter().all(|p| {
                    // Custom properties filter by equality, as Glance's `k=v`.
                    FILTERS.contains(&p.name.as_str())
                        || i.properties.get(p.name.as_str()).and_then(Value::as_str)
                            == Some(p.value.as_str())
                })
        })
        .collect();
    sort(&mut out, req)?;
    // Glance's `_validate_limit`, then `limit_param_default` 25 and `api_limit_max` 1000.
    let limit = match req.query_param("limit") {
        None => 25,
        Some(raw) => {
            let n: i64 = raw
                .trim()
                .parse()
                .map_err(|_| bad("limit param must be an integer"))?;
            if n < 0 {
                return Err(bad("limit param must be positive"));
            }
            n.min(1000) as usize
        }
    };
    if let Some(marker) = req.query_param("marker") {
        let at = out
            .iter()
            .position(|i| i.id == *marker)
            .ok_or_else(|| bad(format!("marker {marker} could not be found.")))?;
        out.drain(..=at);
    }
    let more = out.len() > limit;
    out.truncate(limit);
    let next = match out.last() {
        Some(last) if more => {
            let query: Vec<Pair> = req
                .query_params
                .iter()
                .filter(|p| p.name != "limit")
                .cloned()
                .chain([Pair::new("limit", limit.to_string())])
                .collect();
            Some(next_href("/v2/images", &query, &last.id))
        }
        _ => None,
    };
    let body = views::ImageList {
        images: out.iter().map(|i| views::ImageView::of(i)).collect(),
        first: "/v2/images",
        schema: "/v2/schemas/images",
        next,
    };
    resp.json(&body);
    Ok(())
}

/// `created_at=gte:2026-01-01T00:00:00Z`: Glance's time comparison filters.
struct TimeFilter {
    op: String,
    at: i64,
}

impl TimeFilter {
    fn parse(key: &str, raw: &str) -> Result<TimeFilter, Fault> {
        let (op, when) = raw
            .split_once(':')
            .filter(|(op, _)| ["gt", "gte", "lt", "lte", "eq", "neq"].contains(op))
            .unwrap_or(("eq", raw));
        let at = crate::time::parse_iso(when).ok_or_else(|| {
            bad(format!(
                "Invalid value for {key}: '{raw}' (expected [op:]ISO 8601 time)"
            ))
        })?;
        Ok(TimeFilter {
            op: op.to_string(),
            at,
        })
    }

    fn accepts(&self, iso: &str) -> bool {
        let Some(t) = crate::time::parse_iso(iso) else {
            return false;
        };
        match self.op.as_str() {
            "gt" => t > self.at,
            "gte" => t >= self.at,
            "lt" => t < self.at,
            "lte" => t <= self.at,
            "neq" => t != self.at,
            _ => t == self.at,
        }
    }
}

/// Query parameters that are not property filters.
const FILTERS: &[&str] = &[
    "limit",
    "marker",
    "sort",
    "sort_key",
    "sort_dir",
    "name",
    "id",
    "status",
    "visibility",
    "owner",
    "member_status",
    "size",
    "size_min",
    "size_max",
    "tag",
    "disk_format",
    "container_format",
    "protected",
    "os_hidden",
    "created_at",
    "updated_at",
];

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum SortValue {
    Number(i64),
    Text(String),
}

fn sort(images: &mut [&Image], req: &Request) -> Result<(), Fault> {
    let mut keys: Vec<(String, bool)> = Vec::new();
    if let Some(sort) = req.query_param("sort") {
        for part in sort.split(',') {
            let (k, d) = part.split_once(':').unwrap_or((part, "desc"));
            keys.push((k.trim().to_string(), d.trim() == "asc"));
        }
    } else {
        let dirs: Vec<&str> = req.query_values("sort_dir").collect();
        for (i, k) in req.query_values("sort_key").enumerate() {
            let dir = dirs.get(i).or(dirs.first()).copied().unwrap_or("desc");
            keys.push((k.to_string(), dir == "asc"));
        }
    }
    if keys.is_empty() {
        keys.push(("created_at".into(), false));
    }
    for (k, _) in &keys {
        if ![
            "name",
            "status",
            "container_format",
            "disk_format",
            "size",
            "id",
            "created_at",
            "updated_at",
            "visibility",
            "owner",
            "min_disk",
            "min_ram",
        ]
        .contains(&k.as_str())
        {
            return Err(bad(format!("Invalid sort key: {k}")));
        }
    }
    keys.push(("id".into(), false));
    // Each image's sort values once, not per comparison.
    let field = |i: &Image, k: &str| -> SortValue {
        match k {
            "size" => SortValue::Number(i.size.unwrap_or(-1)),
            "min_disk" => SortValue::Number(i.min_disk),
            "min_ram" => SortValue::Number(i.min_ram),
            "name" => SortValue::Text(i.name.clone().unwrap_or_default()),
            "status" => SortValue::Text(i.status.clone()),
            "container_format" => SortValue::Text(i.container_format.clone().unwrap_or_default()),
            "disk_format" => SortValue::Text(i.disk_format.clone().unwrap_or_default()),
            "created_at" => SortValue::Text(i.created_at.clone()),
            "updated_at" => SortValue::Text(i.updated_at.clone()),
            "visibility" => SortValue::Text(i.visibility.clone()),
            "owner" => SortValue::Text(i.owner.clone().unwrap_or_default()),
            _ => SortValue::Text(i.id.clone()),
        }
    };
    let mut keyed: Vec<(Vec<SortValue>, &Image)> = images
        .iter()
        .map(|i| (keys.iter().map(|(k, _)| field(i, k)).collect(), *i))
        .collect();
    keyed.sort_by(|(a, _), (b, _)| {
        for ((x, y), (_, asc)) in a.iter().zip(b).zip(&keys) {
            let ord = if *asc { x.cmp(y) } else { y.cmp(x) };
            if ord != std::cmp::Ordering::Equal {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });
    for (slot, (_, image)) in images.iter_mut().zip(keyed) {
        *slot = image;
    }
    Ok(())
}

/// A JSON pointer's one segment, unescaped.
fn patch_path(path: &str) -> Result<String, Fault> {
    let key = path
        .strip_prefix('/')
        .ok_or_else(|| bad(format!("Pointer `{path}` does not start with \"/\".")))?;
    if key.contains('/') {
        return Err(bad(format!("Nested paths are not allowed: {path}")));
    }
    Ok(key.replace("~1", "/").replace("~0", "~"))
}

fn update_image(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let content_type = req.header("content-type").unwrap_or_default();
    if !content_type.starts_with("application/openstack-images-v2.1-json-patch")
        && !content_type.starts_with("application/openstack-images-v2.0-json-patch")
    {
        return Err(Fault::new(415, format!("Unsupported Content-Type '{content_type}': use application/openstack-images-v2.1-json-patch")));
    }
    let mut image = owned(svc, req, &c)?;
    let ops: Value = req.json()?;
    let ops = ops
        .as_array()
        .ok_or_else(|| bad("The body of a PATCH is a JSON array of operations"))?;
    for op in ops {
        // RFC 6902 (`{"op": "replace", "path": "/name"}`, v2.1) or Glance's older form
        // (`{"replace": "/name"}`, v2.0), which Tempest still sends.
        let (kind, path) = match op["op"].as_str() {
            Some(kind) => (kind, op["path"].as_str().ok_or_else(|| bad("Unable to find 'path' in JSON Schema change"))?),
            None => ["add", "remove", "replace"]
                .iter()
                .find_map(|k| op[*k].as_str().map(|p| (*k, p)))
                .ok_or_else(|| bad("Operation objects must contain exactly one of \"add\", \"remove\", \"replace\""))?,
        };
        let key = patch_path(path)?;
        let core = views::CORE.contains(&key.as_str());
        match kind {
            "add" | "replace" => {
                let value = op.get("value").ok_or_else(|| {
                    bad("Operation \"add\"/\"replace\" requires a member named \"value\".")
                })?;
                if kind == "replace" && !core && !image.properties.contains_key(&key) {
                    return Err(Fault::conflict(format!("Property {key} does not exist.")));
                }
                set_attribute(&mut image, &key, value, &c, false)?;
            }
            "remove" => {
                if core {
                    if views::READ_ONLY.contains(&key.as_str()) || key == "id" {
                        return Err(Fault::forbidden(format!("Attribute '{key}' is read-only.")));
                    }
                    return Err(Fault::forbidden(format!("Attribute '{key}' is reserved.")));
                }
                if image.properties.remove(&key).is_none() {
                    return Err(Fault::conflict(format!("Property {key} does not exist.")));
                }
            }
            other => return Err(bad(format!("Invalid operation: `{other}`"))),
        }
    }
    image.updated_at = now_seconds_iso();
    svc.write(|tx| model::save(tx, &image))?;
    ok_json(resp, 200, &views::image(&image))
}

fn delete_image(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let image = owned(svc, req, &c)?;
    if image.protected {
        return Err(Fault::forbidden(format!(
            "Image {} is protected and cannot be deleted.",
            image.id
        )));
    }
    svc.write(|tx| model::delete(tx, &image.id))?;
    svc.files.remove(&image.id);
    resp.set_status(204);
    Ok(())
}

// ---------------------------------------------------------------- data

fn octet_stream(req: &Request) -> Result<(), Fault> {
    let ct = req
        .header("content-type")
        .unwrap_or("application/octet-stream");
    if !ct.starts_with("application/octet-stream") {
        return Err(Fault::new(
            415,
            format!("Content-Type {ct} is not supported: use application/octet-stream"),
        ));
    }
    Ok(())
}

/// Streams the request body into `upload`; on any failure the image goes back to queued
/// and nothing is kept.
fn receive(
    svc: &Images,
    req: &mut Request,
    id: &str,
    upload: &mut super::data::Upload,
) -> Result<super::data::Written, Fault> {
    let cap = svc.size_cap;
    let whole = std::mem::take(&mut req.body);
    let result = match req.body_reader() {
        Some(mut reader) => upload.receive(&mut reader as &mut dyn Read, cap),
        None => upload.receive(&mut &whole[..], cap),
    };
    result.map_err(|e| {
        // Back to queued so the client can try again; if even that fails the image
        // stays in saving until the next start's recovery (or a delete) clears it.
        let _ = svc.write(|tx| {
            model::transition(
                tx,
                id,
                &["saving", "uploading"],
                "queued",
                &now_seconds_iso(),
            )
        });
        if e.kind() == std::io::ErrorKind::FileTooLarge {
            return Fault::too_large(format!("Image exceeds the storage quota: {e}"));
        }
        bad(format!("The image data could not be received: {e}"))
    })
}

/// A new upload's temp file: locked before the image leaves `queued`, so that recovery
/// anywhere sees the image is being written.
fn begin(svc: &Images, folder: Folder, id: &str) -> Result<super::data::Upload, Fault> {
    svc.files
        .begin(folder, id)
        .map_err(|e| svc.fault(svc.io("starting the upload's file", e)))
}

fn upload(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    octet_stream(req)?;
    let image = owned(svc, req, &c)?;
    if image.status == "deactivated" {
        return Err(Fault::forbidden("The image is deactivated."));
    }
    let mut upload = begin(svc, Folder::Images, &image.id)?;
    svc.write(|tx| model::transition(tx, &image.id, &["queued"], "saving", &now_seconds_iso()))?;
    let w = receive(svc, req, &image.id, &mut upload)?;
    finish_upload(svc, &image.id, &w, "saving", upload)?;
    resp.set_status(204);
    Ok(())
}

/// Records size and hashes, makes the image active and puts its bytes in place, in one
/// transaction. If it was deleted meanwhile, the bytes go too.
fn finish_upload(
    svc: &Images,
    id: &str,
    w: &super::data::Written,
    from: &str,
    upload: super::data::Upload,
) -> Result<(), Fault> {
    let done = svc.write(|tx| {
        let mut image = model::get(tx, id)?;
        if image.status != from {
            return Err(model::Error::Conflict(format!(
                "Image status transition from {} to active is not allowed",
                image.status
            )));
        }
        image.status = "active".into();
        image.size = Some(w.size as i64);
        image.virtual_size = Some(w.size as i64);
        image.checksum = Some(w.md5.clone());
        image.os_hash_algo = Some("sha512".into());
        image.os_hash_value = Some(w.sha512.clone());
        image.updated_at = now_seconds_iso();
        model::save(tx, &image)?;
        upload
            .commit()
            .map_err(|e| svc.io("placing the image's file", e))
    });
    if done.is_err() {
        svc.files.remove(id);
    }
    done
}

fn download(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let image = visible(svc, req, &c)?;
    // `download_image` is ADMIN_OR_PROJECT_MEMBER_DOWNLOAD_IMAGE: a reader sees the
    // image but may not read its bytes.
    send_file(svc, &c, &image, resp)
}

/// The image's bytes, streamed from its file, with `Content-MD5`.
fn send_file(svc: &Images, c: &AuthContext, image: &Image, resp: &mut Response) -> HandlerResult {
    if image.status == "deactivated" && !c.is_admin {
        return Err(Fault::forbidden(
            "The requested image has been deactivated. Image data download is forbidden.",
        ));
    }
    if image.status != "active" || image.size.is_none() {
        resp.set_status(204);
        return Ok(());
    }
    let file = std::fs::File::open(svc.files.image(&image.id)).map_err(|e| {
        Fault::new(
            410,
            format!("Image {} has no data on this host: {e}", image.id),
        )
    })?;
    let length = file.metadata().map(|m| m.len()).ok();
    resp.stream(file, "application/octet-stream", length);
    if let Some(md5) = &image.checksum {
        resp.set_header("Content-MD5", md5);
    }
    Ok(())
}

fn stage(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    octet_stream(req)?;
    // Glance's stage has no policy of its own: it asks modify_image.
    let image = owned(svc, req, &c)?;
    let mut upload = begin(svc, Folder::Staging, &image.id)?;
    svc.write(|tx| model::transition(tx, &image.id, &["queued"], "uploading", &now_seconds_iso()))?;
    let w = receive(svc, req, &image.id, &mut upload)?;
    let staged_size = w.size as i64;
    svc.write(|tx| {
        let mut i = model::get(tx, &image.id)?;
        i.size = Some(staged_size);
        i.updated_at = now_seconds_iso();
        model::save(tx, &i)?;
        upload
            .commit()
            .map_err(|e| svc.io("placing the staged file", e))
    })?;
    resp.set_status(204);
    Ok(())
}

fn import(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    // glance-direct asks modify_image (copy-image, admin-only, is not served here).
    let image = owned(svc, req, &c)?;
    let body: Value = req.json()?;
    let method = body["method"]["name"].as_str().unwrap_or_default();
    match method {
        "glance-direct" => {}
        "web-download" | "glance-download" | "copy-image" => {
            return Err(Fault::not_implemented(format!("Import method {method} is not supported by this cloud: it has no way to fetch from elsewhere.")));
        }
        other => return Err(bad(format!("Unknown import method name '{other}'."))),
    }
    if image.status != "uploading" {
        return Err(Fault::conflict(format!(
            "Image {} is not in a valid state: it has no staged data.",
            image.id
        )));
    }
    svc.write(|tx| {
        model::transition(
            tx,
            &image.id,
            &["uploading"],
            "importing",
            &now_seconds_iso(),
        )
    })?;
    // The staged bytes are hashed as they are read back, so the store never holds a file
    // whose hashes were not computed from it.
    let staged = svc.files.staged(&image.id);
    let written = svc
        .files
        .begin(Folder::Images, &image.id)
        .and_then(|mut upload| {
            let w = upload.receive(&mut std::fs::File::open(&staged)?, svc.size_cap)?;
            Ok((w, upload))
        });
    let outcome = match written {
        Ok((w, upload)) => {
            let done = finish_upload(svc, &image.id, &w, "importing", upload);
            let _ = std::fs::remove_file(&staged);
            done
        }
        Err(e) => {
            let _ = svc.write(|tx| {
                model::transition(tx, &image.id, &["importing"], "queued", &now_seconds_iso())
            });
            Err(Fault::internal(format!(
                "Importing the staged data failed: {e}"
            )))
        }
    };
    // The import is done by the time we answer; its task says how it went.
    let task = new_task(
        req,
        &c,
        "api_image_import",
        if outcome.is_ok() {
            "success"
        } else {
            "failure"
        },
        json!({"image_id": image.id, "import_req": body, "backend": ["file"]}),
        outcome
            .as_ref()
            .err()
            .map(|f| f.message.clone())
            .unwrap_or_default(),
        Some(image.id.clone()),
    );
    svc.write(|tx| model::create_task(tx, &task))?;
    outcome?;
    resp.set_status(202);
    Ok(())
}

fn set_status(svc: &Images, req: &Request, from: &[&str], to: &str) -> Result<(), Fault> {
    let c = caller(req)?;
    let image = visible(svc, req, &c)?;
    let action = if to == "active" {
        "reactivate"
    } else {
        "deactivate"
    };
    if !viewer(&c).owns(&image) {
        return Err(Fault::forbidden(format!(
            "You are not authorized to complete {action} action."
        )));
    }
    if image.status == to {
        return Ok(());
    }
    svc.write(|tx| model::transition(tx, &image.id, from, to, &now_seconds_iso()))
        .map_err(|f| {
            if f.status == 409 {
                Fault::bad_request(f.message)
            } else {
                f
            }
        })?;
    Ok(())
}

fn deactivate(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    set_status(svc, req, &["active"], "deactivated")?;
    resp.set_status(204);
    Ok(())
}

fn reactivate(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    set_status(svc, req, &["deactivated"], "active")?;
    resp.set_status(204);
    Ok(())
}

// ---------------------------------------------------------------- tags

fn add_tag(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let mut image = owned(svc, req, &c)?;
    let tag = param(req, "tag")?.to_string();
    if tag.chars().count() > 255 {
        return Err(bad("Tags can be at most 255 characters."));
    }
    if !image.tags.contains(&tag) {
        if image.tags.len() >= MAX_TAGS {
            return Err(Fault::too_large(format!(
                "Maximum number of tags exceeded ({MAX_TAGS})"
            )));
        }
        image.tags.push(tag);
        image.updated_at = now_seconds_iso();
        svc.write(|tx| model::save(tx, &image))?;
    }
    resp.set_status(204);
    Ok(())
}

fn remove_tag(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let mut image = owned(svc, req, &c)?;
    let tag = param(req, "tag")?.to_string();
    if !image.tags.contains(&tag) {
        return Err(Fault::not_found(format!("Tag {tag} not found")));
    }
    image.tags.retain(|t| *t != tag);
    image.updated_at = now_seconds_iso();
    svc.write(|tx| model::save(tx, &image))?;
    resp.set_status(204);
    Ok(())
}

// ---------------------------------------------------------------- members

/// Glance's `image_member_quota` default.
const MAX_MEMBERS: usize = 128;

fn list_members(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let image = visible(svc, req, &c)?;
    if image.visibility != "shared" {
        return Err(Fault::forbidden("Only shared images have members."));
    }
    let members = svc.read(|conn| model::members(conn, &image.id))?;
    let owner = viewer(&c).owns(&image);
    let shown: Vec<Value> = members
        .iter()
        .filter(|m| owner || c.project_id.as_deref() == Some(m.member_id.as_str()))
        .map(views::member)
        .collect();
    ok_json(
        resp,
        200,
        &json!({"members": shown, "schema": "/v2/schemas/members"}),
    )
}

fn add_member(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let image = owned(svc, req, &c)?;
    if image.visibility != "shared" {
        return Err(Fault::forbidden("Only shared images have members."));
    }
    let body: Value = req.json()?;
    let member_id = body["member"]
        .as_str()
        .ok_or_else(|| bad("Request body must be a JSON object with 'member'."))?;
    let now = now_seconds_iso();
    let member = Member {
        image_id: image.id.clone(),
        member_id: member_id.to_string(),
        status: "pending".into(),
        created_at: now.clone(),
        updated_at: now,
    };
    svc.write(|tx| {
        if model::members(tx, &image.id)?.len() >= MAX_MEMBERS {
            return Err(model::Error::Invalid(format!(
                "Maximum number of members exceeded ({MAX_MEMBERS})"
            )));
        }
        model::add_member(tx, &member)
    })
    .map_err(|f| {
        if f.status == 400 {
            Fault::too_large(f.message)
        } else {
            f
        }
    })?;
    ok_json(resp, 200, &views::member(&member))
}

fn member_of(svc: &Images, req: &Request, c: &AuthContext) -> Result<(Image, Member), Fault> {
    let image = visible(svc, req, c)?;
    let member_id = param(req, "member_id")?;
    let member = svc.read(|conn| model::get_member(conn, &image.id, member_id))?;
    if !viewer(c).owns(&image) && c.project_id.as_deref() != Some(member_id) {
        return Err(Fault::not_found(format!(
            "{member_id} is not a member of image {}",
            image.id
        )));
    }
    Ok((image, member))
}

fn show_member(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let (_, member) = member_of(svc, req, &c)?;
    ok_json(resp, 200, &views::member(&member))
}

fn update_member(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let (image, member) = member_of(svc, req, &c)?;
    if c.project_id.as_deref() != Some(member.member_id.as_str()) {
        return Err(Fault::forbidden("Only the member may change its status."));
    }
    let body: Value = req.json()?;
    let status = body["status"].as_str().unwrap_or_default();
    if !["pending", "accepted", "rejected"].contains(&status) {
        return Err(bad(format!("Invalid status: {status}")));
    }
    let updated = svc.write(|tx| {
        model::set_member_status(tx, &image.id, &member.member_id, status, &now_seconds_iso())
    })?;
    ok_json(resp, 200, &views::member(&updated))
}

fn remove_member(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let (image, member) = member_of(svc, req, &c)?;
    if !viewer(&c).owns(&image) {
        return Err(Fault::forbidden(
            "Only the image owner may remove a member.",
        ));
    }
    svc.write(|tx| model::remove_member(tx, &image.id, &member.member_id))?;
    resp.set_status(204);
    Ok(())
}

// ---------------------------------------------------------------- v1 (read only)

/// The images a v1 client lists: public ones and the caller's, as Glance v1 did.
fn v1_images(svc: &Images, req: &Request) -> Result<Vec<Image>, Fault> {
    let c = caller(req)?;
    let v = viewer(&c);
    let images = svc.read(model::list)?;
    Ok(images
        .into_iter()
        .filter(|i| i.visibility == "public" || v.owns(i))
        .filter(|i| i.status != "deactivated" || c.is_admin)
        .collect())
}

fn v1_list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let images = v1_images(svc, req)?;
    let items: Vec<Value> = images
        .iter()
        .filter(|i| i.status == "active")
        .map(views::v1_summary)
        .collect();
    ok_json(resp, 200, &json!({"images": items}))
}

fn v1_detail(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let images = v1_images(svc, req)?;
    let items: Vec<Value> = images.iter().map(views::v1_detail).collect();
    ok_json(resp, 200, &json!({"images": items}))
}

fn v1_head(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let image = visible(svc, req, &c)?;
    for (name, value) in views::v1_headers(&image) {
        resp.add_header(&name, &value);
    }
    resp.set_status(200);
    Ok(())
}

fn v1_download(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let image = visible(svc, req, &c)?;
    send_file(svc, &c, &image, resp)?;
    for (name, value) in views::v1_headers(&image) {
        resp.add_header(&name, &value);
    }
    Ok(())
}

// ---------------------------------------------------------------- tasks

fn schema_task(_: &Svc, _: &mut Request, resp: &mut Response) -> HandlerResult {
    ok_json(resp, 200, &views::task_schema())
}

fn schema_tasks(_: &Svc, _: &mut Request, resp: &mut Response) -> HandlerResult {
    ok_json(resp, 200, &views::tasks_schema())
}

/// A task as it is recorded: done by the time it is, so created and updated at once.
fn new_task(
    req: &Request,
    c: &AuthContext,
    kind: &str,
    status: &str,
    input: Value,
    message: String,
    image_id: Option<String>,
) -> model::Task {
    let now = now_seconds_iso();
    model::Task {
        id: uuid::Uuid::new_v4().to_string(),
        kind: kind.into(),
        status: status.into(),
        owner: c.project_id.clone(),
        input,
        result: None,
        message,
        image_id,
        request_id: req.env(env::REQUEST_ID).map(str::to_string),
        user_id: Some(c.user_id.clone()),
        created_at: now.clone(),
        updated_at: now,
        expires_at: None,
    }
}

fn list_tasks(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let tasks = svc.read(model::list_tasks)?;
    let items: Vec<Value> = tasks
        .iter()
        .filter(|t| req.query_param("status").is_none_or(|s| s == t.status))
        .filter(|t| req.query_param("type").is_none_or(|k| k == t.kind))
        .map(|t| views::task(t, false))
        .collect();
    ok_json(
        resp,
        200,
        &json!({"tasks": items, "first": "/v2/tasks", "schema": "/v2/schemas/tasks"}),
    )
}

fn show_task(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let id = param(req, "task_id")?;
    let task = svc.read(|c| model::get_task(c, id))?;
    ok_json(resp, 200, &views::task(&task, false))
}

/// `POST /v2/tasks` of type `import` fetches an image from a URL. This cloud reaches no
/// other host, so the task is recorded and fails at once, saying so.
fn create_task(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let body: Value = req.json()?;
    let kind = body["type"].as_str().unwrap_or_default();
    if kind != "import" {
        return Err(bad(format!("Invalid type value: {kind}")));
    }
    let input = body
        .get("input")
        .filter(|i| i.is_object())
        .ok_or_else(|| bad("Input does not contain 'input' field"))?;
    if input["import_from"].as_str().is_none() {
        return Err(bad("Input does not contain 'import_from' field"));
    }
    let task = new_task(
        req,
        &c,
        "import",
        "failure",
        input.clone(),
        "This cloud does not fetch images from other hosts: upload the data instead.".into(),
        None,
    );
    svc.write(|tx| model::create_task(tx, &task))?;
    ok_json(resp, 201, &views::task(&task, false))
}

fn image_tasks(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let image = visible(svc, req, &c)?;
    let tasks = svc.read(model::list_tasks)?;
    let items: Vec<Value> = tasks
        .iter()
        .filter(|t| t.image_id.as_deref() == Some(image.id.as_str()))
        .map(|t| views::task(t, true))
        .collect();
    ok_json(resp, 200, &json!({"tasks": items}))
}
