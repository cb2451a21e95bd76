//! Listing volumes as Cinder does: the filters of `resource_filters.json` (exact, or
//! inexact as `key~` from 3.34), sorting and paging as every Cinder listing here
//! (`snapshots::sort_of`, `snapshots::page`), `with_count` (3.45), and the summary (3.12).

use std::collections::{BTreeMap, HashMap};

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::super::model::{self, Volume};
use super::super::repo::{SortKey, VolumeRepo};
use super::super::snapshots::{all_tenants, flag, metadata_filter, page, sort_of};
use super::super::{reply, Call, Urls, Volumes};
use super::views::Shape;

/// The keys Cinder sorts volumes by, and the fields they sort (`name` is its
/// `display_name`).
const SORT_KEYS: &[(&str, &str)] = &[
    ("id", "id"),
    ("name", "name"),
    ("display_name", "name"),
    ("status", "status"),
    ("size", "size"),
    ("availability_zone", "availability_zone"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
    ("bootable", "bootable"),
    ("volume_type", "volume_type"),
    ("project_id", "project_id"),
    ("user_id", "user_id"),
];

/// Query parameters that are not filters.
const NOT_FILTERS: &[&str] = &[
    "limit",
    "marker",
    "offset",
    "sort",
    "sort_key",
    "sort_dir",
    "all_tenants",
    "project_id",
    "with_count",
];

/// One filter: the key, the wanted value, and whether it matches inexactly (`name~`).
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub key: String,
    pub value: Value,
    pub like: bool,
}

/// What a listing asks for, besides its page.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// The project listed; None for every project (an admin's `all_tenants`).
    pub project_id: Option<String>,
    pub filters: Vec<Filter>,
    pub sort: Vec<SortKey>,
    pub with_count: bool,
}

/// The listing a request asks for; admins see every project's with `all_tenants`, or
/// one project's with `project_id`.
pub fn query(req: &Request, call: &Call) -> Result<Query, Fault> {
    let project_id = match req.query_param("project_id") {
        Some(p) if call.is_admin() => Some(p.to_string()),
        _ if all_tenants(req, call)? => None,
        _ => Some(call.project_id.clone()),
    };
    let with_count = call.version.at_least(45)
        && flag(
            req.query_param("with_count").map(|s| json!(s)).as_ref(),
            "with_count",
        )?;
    let mut filters = Vec::new();
    for p in req.query_params.iter() {
        let (name, value) = (p.name.as_str(), p.value.as_str());
        if NOT_FILTERS.contains(&name) {
            continue;
        }
        let (key, like) = match name.strip_suffix('~') {
            Some(k) if call.version.at_least(34) => (k, true),
            Some(_) => continue,
            None => (name, false),
        };
        let key = match key {
            "display_name" => "name",
            "display_description" => "description",
            k => k,
        };
        let value = if key == "metadata" {
            match metadata_filter(req) {
                Some(m) => Value::Object(m),
                None => {
                    return Err(Fault::bad_request(format!(
                        "Invalid input received: Invalid filter metadata={value}"
                    )))
                }
            }
        } else {
            Value::String(value.to_string())
        };
        filters.push(Filter {
            key: key.to_string(),
            value,
            like,
        });
    }
    Ok(Query {
        project_id,
        filters,
        sort: sort_of(req, SORT_KEYS)?,
        with_count,
    })
}

/// A volume with what its filters and sorting look at besides its record.
pub struct Listed {
    pub volume: Volume,
    pub type_name: Option<String>,
    /// Its generic volume group (`groups.rs`), for the `group_id` filter.
    pub group_id: Option<String>,
}

fn text_of(l: &Listed, key: &str) -> Option<String> {
    let v = &l.volume;
    Some(match key {
        "id" => v.id.clone(),
        "name" => v.name.clone()?,
        "description" => v.description.clone()?,
        "status" => v.status.clone(),
        "availability_zone" => v.availability_zone.clone(),
        "bootable" => v.bootable.to_string(),
        "migration_status" => v.migration_status.clone()?,
        "volume_type" => l.type_name.clone()?,
        "volume_type_id" => v.volume_type_id.clone(),
        "project_id" => v.project_id.clone(),
        "user_id" => v.user_id.clone(),
        "snapshot_id" => v.snapshot_id.clone()?,
        "source_volid" => v.source_volid.clone()?,
        "size" => v.size.to_string(),
        "multiattach" => v.multiattach.to_string(),
        _ => return None,
    })
}

fn contains_all(have: &Map<String, Value>, want: &Value, like: bool) -> bool {
    let Value::Object(want) = want else {
        return false;
    };
    want.iter().all(|(k, w)| {
        let w = w
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| w.to_string());
        match have.get(k).and_then(Value::as_str) {
            Some(h) if like => h.contains(&w),
            Some(h) => h == w,
            None => false,
        }
    })
}

/// Whether a volume passes one filter. Keys Cinder does not filter on match nothing.
pub fn matches(l: &Listed, f: &Filter) -> bool {
    match f.key.as_str() {
        "metadata" => contains_all(&l.volume.metadata, &f.value, f.like),
        // Consistency groups are generic volume groups' predecessors: none here.
        "consistencygroup_id" => false,
        "group_id" => l.group_id.as_deref() == f.value.as_str(),
        key => {
            let want = f.value.as_str().unwrap_or_default();
            if key == "bootable" || key == "multiattach" {
                return flag(Some(&f.value), key).ok().map(|b| b.to_string()) == text_of(l, key);
            }
            if key == "volume_type" && text_of(l, "volume_type_id").as_deref() == Some(want) {
                return true;
            }
            match text_of(l, key) {
                Some(have) if f.like => have.to_lowercase().contains(&want.to_lowercase()),
                Some(have) => have == want,
                None => false,
            }
        }
    }
}

/// The volumes the query selects, in its order, before paging.
pub fn select(c: &dyn VolumeRepo, q: &Query) -> crate::store::Outcome<Vec<Listed>> {
    let all = c.listed_volumes(q.project_id.as_deref(), &q.sort)?;
    Ok(all
        .into_iter()
        .filter(|l| q.filters.iter().all(|f| matches(l, f)))
        .collect())
}

pub fn list(svc: &Volumes, req: &Request, resp: &mut Response, shape: Shape) -> HandlerResult {
    let call = Call::of(req)?;
    let q = query(req, &call)?;
    let urls = Urls::of(svc, req, &call)?;
    let (volumes, count, next) = svc.read(|c| {
        let all = select(c, &q)?;
        let count = all.len();
        let (items, next) = page(all, req, |l| l.volume.id.as_str())?;
        // One query for the page's attachments and one per volume type for encryption,
        // not four per volume: a page of detail is read in a handful of statements.
        let ids: Vec<&str> = items.iter().map(|l| l.volume.id.as_str()).collect();
        let attachments = if shape == Shape::Summary {
            HashMap::new()
        } else {
            model::attachments_by_volume(c, &ids)?
        };
        let mut encrypted: HashMap<&str, bool> = HashMap::new();
        let mut out = Vec::with_capacity(items.len());
        for l in &items {
            let encrypted = match encrypted.get(l.volume.volume_type_id.as_str()) {
                Some(e) => *e,
                None if shape == Shape::Summary => false,
                None => {
                    let e =
                        super::super::encryption::of_type(c, &l.volume.volume_type_id)?.is_some();
                    encrypted.insert(&l.volume.volume_type_id, e);
                    e
                }
            };
            out.push(super::views::volume(
                &l.volume,
                &super::views::Extra {
                    type_name: l.type_name.as_deref(),
                    group_id: l.group_id.as_deref(),
                    attachments: attachments
                        .get(l.volume.id.as_str())
                        .map(Vec::as_slice)
                        .unwrap_or(&[]),
                    host: &svc.host,
                    encrypted,
                },
                &call,
                &urls,
                shape,
            ));
        }
        Ok((out, count, next))
    })?;
    let mut body = json!({ "volumes": volumes });
    if let Some(marker) = next {
        let collection = if shape == Shape::Detail {
            "volumes/detail"
        } else {
            "volumes"
        };
        body["volumes_links"] = urls.next(req, collection, &marker);
    }
    if q.with_count {
        body["count"] = json!(count);
    }
    reply(resp, &call, 200, &body)
}

/// `GET /volumes/summary` (3.12): how many volumes, how many GiB, and (3.36) every
/// metadata key with the values it takes.
pub fn summary(svc: &Volumes, req: &Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(12)?;
    let q = query(req, &call)?;
    let all = svc.read(|c| select(c, &q))?;
    let total_size: i64 = all.iter().map(|l| l.volume.size).sum();
    let mut summary = json!({"total_size": total_size, "total_count": all.len()});
    if call.version.at_least(36) {
        let mut metadata: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for l in &all {
            for (k, v) in &l.volume.metadata {
                let values = metadata.entry(k.clone()).or_default();
                if !values.contains(v) {
                    values.push(v.clone());
                }
            }
        }
        summary["metadata"] = json!(metadata);
    }
    reply(resp, &call, 200, &json!({ "volume-summary": summary }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(name: &str, meta: Value) -> Listed {
        Listed {
            volume: Volume {
                id: "a".into(),
                project_id: "p".into(),
                user_id: "u".into(),
                name: Some(name.into()),
                description: None,
                size: 1,
                status: "available".into(),
                volume_type_id: "t".into(),
                availability_zone: "nova".into(),
                bootable: false,
                readonly: false,
                multiattach: false,
                snapshot_id: None,
                source_volid: None,
                backup_id: None,
                migration_status: None,
                metadata: meta.as_object().cloned().unwrap_or_default(),
                image_metadata: Map::new(),
                created_ms: 1,
                updated_ms: 1,
                readonly_recorded: false,
            },
            type_name: Some("__DEFAULT__".into()),
            group_id: None,
        }
    }

    fn filter(key: &str, value: Value, like: bool) -> Filter {
        Filter {
            key: key.into(),
            value,
            like,
        }
    }

    #[test]
    fn filters_match_exactly_or_inexactly_and_metadata_by_subset() {
        let v = listed("Alpha-1", json!({"k": "v", "x": "y"}));
        assert!(matches(&v, &filter("name", json!("Alpha-1"), false)));
        assert!(!matches(&v, &filter("name", json!("alpha"), false)));
        assert!(matches(&v, &filter("name", json!("alpha"), true)));
        assert!(matches(&v, &filter("bootable", json!("False"), false)));
        assert!(!matches(&v, &filter("bootable", json!("true"), false)));
        assert!(matches(&v, &filter("metadata", json!({"k": "v"}), false)));
        assert!(!matches(&v, &filter("metadata", json!({"k": "w"}), false)));
        assert!(matches(
            &v,
            &filter("volume_type", json!("__DEFAULT__"), false)
        ));
        assert!(matches(&v, &filter("volume_type", json!("t"), false)));
        assert!(!matches(&v, &filter("unknown", json!("x"), false)));
    }
}
