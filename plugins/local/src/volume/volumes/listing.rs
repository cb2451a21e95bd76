//! Listing volumes as Cinder does: the filters of `resource_filters.json` (exact, or
//! inexact as `key~` from 3.34), `sort=key:dir,…` or `sort_key`/`sort_dir`, `limit`,
//! `marker` and `offset` with a `volumes_links` next page, `with_count` (3.45), and the
//! summary (3.12).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use jumpgate_plugin_api::prelude::*;
use rusqlite::Connection;
use serde_json::{json, Map, Value};

use super::super::model::{self, Volume};
use super::super::{reply, Call, Urls, Volumes};
use super::views::Shape;

/// Cinder's `osapi_max_limit`.
const MAX_LIMIT: usize = 1000;

/// The keys Cinder sorts volumes by (`name` is its `display_name`).
const SORT_KEYS: &[&str] = &[
    "id",
    "name",
    "status",
    "size",
    "availability_zone",
    "created_at",
    "updated_at",
    "bootable",
    "volume_type",
    "project_id",
    "user_id",
];

/// One filter: the key, the wanted value, and whether it matches inexactly (`name~`).
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub key: String,
    pub value: Value,
    pub like: bool,
}

/// What a listing asks for.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub all_tenants: bool,
    pub project_id: Option<String>,
    pub filters: Vec<Filter>,
    /// (key, ascending)
    pub sort: Vec<(String, bool)>,
    pub limit: Option<usize>,
    pub marker: Option<String>,
    pub offset: usize,
    pub with_count: bool,
}

fn truthy(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "t" | "on" => Some(true),
        "false" | "0" | "no" | "n" | "f" | "off" => Some(false),
        _ => None,
    }
}

/// Cinder reads a `metadata` filter as a Python dict literal (`{'k': 'v'}`) or JSON.
fn dict_of(raw: &str) -> Result<Map<String, Value>, Fault> {
    serde_json::from_str::<Map<String, Value>>(raw)
        .or_else(|_| serde_json::from_str::<Map<String, Value>>(&raw.replace('\'', "\"")))
        .map_err(|_| Fault::bad_request(format!("Invalid input received: Invalid filter {raw}")))
}

fn sort_of(raw: &str) -> Result<Vec<(String, bool)>, Fault> {
    raw.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|part| {
            let (key, dir) = part.split_once(':').unwrap_or((part, "desc"));
            sort_pair(key.trim(), dir.trim())
        })
        .collect()
}

fn sort_pair(key: &str, dir: &str) -> Result<(String, bool), Fault> {
    let key = match key {
        "display_name" => "name",
        k => k,
    };
    if !SORT_KEYS.contains(&key) {
        return Err(Fault::bad_request(format!(
            "Invalid input received: Invalid sort key {key}"
        )));
    }
    let asc = match dir.to_ascii_lowercase().as_str() {
        "asc" => true,
        "desc" => false,
        _ => {
            return Err(Fault::bad_request(
                "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'",
            ))
        }
    };
    Ok((key.to_string(), asc))
}

fn count_param(req: &Request, name: &str) -> Result<Option<usize>, Fault> {
    match req.query_param(name) {
        None => Ok(None),
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(Some(n as usize)),
            Ok(_) => Err(Fault::bad_request(format!(
                "Invalid input received: {name} param must be positive"
            ))),
            Err(_) => Err(Fault::bad_request(format!(
                "Invalid input received: {name} param must be an integer"
            ))),
        },
    }
}

/// The listing a request asks for; admins see every project's with `all_tenants`.
pub fn query(req: &Request, call: &Call) -> Result<Query, Fault> {
    let mut q = Query {
        limit: count_param(req, "limit")?,
        marker: req.query_param("marker").map(str::to_string),
        offset: count_param(req, "offset")?.unwrap_or(0),
        ..Default::default()
    };
    let mut sort_key = None;
    let mut sort_dir = None;
    for p in req.query_params.iter() {
        let (name, value) = (p.name.as_str(), p.value.as_str());
        match name {
            "limit" | "marker" | "offset" => {}
            "all_tenants" => q.all_tenants = call.is_admin() && truthy(value) != Some(false),
            "project_id" => {
                if call.is_admin() {
                    q.project_id = Some(value.to_string())
                }
            }
            "sort" => q.sort = sort_of(value)?,
            "sort_key" => sort_key = Some(value.to_string()),
            "sort_dir" => sort_dir = Some(value.to_string()),
            "with_count" if call.version.at_least(45) => {
                q.with_count = truthy(value).ok_or_else(|| {
                    Fault::bad_request(format!(
                        "Invalid input received: Invalid value '{value}' for with_count"
                    ))
                })?
            }
            _ => {
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
                let value = match key {
                    "metadata" | "volume_image_metadata" | "glance_metadata" => {
                        Value::Object(dict_of(value)?)
                    }
                    _ => Value::String(value.to_string()),
                };
                q.filters.push(Filter {
                    key: key.to_string(),
                    value,
                    like,
                });
            }
        }
    }
    if q.sort.is_empty() {
        if let Some(keys) = &sort_key {
            let dirs: Vec<&str> = sort_dir.as_deref().unwrap_or("desc").split(',').collect();
            for (i, key) in keys.split(',').enumerate() {
                let dir = dirs.get(i).or(dirs.last()).copied().unwrap_or("desc");
                q.sort.push(sort_pair(key.trim(), dir.trim())?);
            }
        } else if let Some(dir) = &sort_dir {
            q.sort.push(sort_pair("created_at", dir)?);
        }
    }
    if q.sort.is_empty() {
        q.sort.push(("created_at".into(), false));
    }
    if !q.sort.iter().any(|(k, _)| k == "id") {
        let asc = q.sort.last().map(|s| s.1).unwrap_or(false);
        q.sort.push(("id".into(), asc));
    }
    Ok(q)
}

/// A volume with what its filters and sorting look at besides the row.
pub struct Listed {
    pub volume: Volume,
    pub type_name: Option<String>,
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
    let v = &l.volume;
    match f.key.as_str() {
        "metadata" => contains_all(&v.metadata, &f.value, f.like),
        "volume_image_metadata" | "glance_metadata" => {
            contains_all(&v.image_metadata, &f.value, f.like)
        }
        // Cinder ignores a group filter on a cloud without groups: nothing is in one.
        "group_id" | "consistencygroup_id" => false,
        key => {
            let want = f.value.as_str().unwrap_or_default();
            if key == "bootable" || key == "multiattach" {
                return truthy(want).map(|b| b.to_string()) == text_of(l, key);
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

fn compare(a: &Listed, b: &Listed, sort: &[(String, bool)]) -> Ordering {
    for (key, asc) in sort {
        let o = match key.as_str() {
            "size" => a.volume.size.cmp(&b.volume.size),
            "created_at" => a.volume.created_ms.cmp(&b.volume.created_ms),
            "updated_at" => a.volume.updated_ms.cmp(&b.volume.updated_ms),
            k => text_of(a, k).cmp(&text_of(b, k)),
        };
        let o = if *asc { o } else { o.reverse() };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// The volumes the query selects, sorted, before paging.
pub fn select(c: &Connection, call: &Call, q: &Query) -> crate::store::Outcome<Vec<Listed>> {
    let scope = if q.all_tenants || (call.is_admin() && q.project_id.is_some()) {
        q.project_id.clone()
    } else {
        Some(call.project_id.clone())
    };
    let sql = format!(
        "SELECT {}, (SELECT name FROM volume_types t WHERE t.id = volumes.volume_type_id)
         FROM volumes WHERE ?1 IS NULL OR project_id = ?1",
        model::COLUMNS
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map([&scope], |r| {
        Ok(Listed {
            volume: model::row(r)?,
            type_name: r.get(21)?,
        })
    })?;
    let mut out: Vec<Listed> = rows
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .filter(|l| q.filters.iter().all(|f| matches(l, f)))
        .collect();
    out.sort_by(|a, b| compare(a, b, &q.sort));
    Ok(out)
}

/// One page of `all`: after the marker (404 when it is not in the listing), then `offset`
/// more skipped, at most `limit` (capped at `MAX_LIMIT`); whether a next page may follow.
pub fn page<T>(all: Vec<T>, id: impl Fn(&T) -> &str, q: &Query) -> Result<(Vec<T>, bool), Fault> {
    let start = match &q.marker {
        None => 0,
        Some(m) => {
            all.iter()
                .position(|x| id(x) == m)
                .ok_or_else(|| Fault::not_found(format!("Marker {m} could not be found.")))?
                + 1
        }
    };
    let max = q.limit.unwrap_or(MAX_LIMIT).min(MAX_LIMIT);
    let items: Vec<T> = all.into_iter().skip(start + q.offset).take(max).collect();
    let full = max > 0 && items.len() == max;
    Ok((items, full))
}

pub fn list(svc: &Volumes, req: &Request, resp: &mut Response, shape: Shape) -> HandlerResult {
    let call = Call::of(req)?;
    let q = query(req, &call)?;
    let urls = Urls::of(svc, req, &call)?;
    let (volumes, count, next) = svc.read(|c| {
        let all = select(c, &call, &q)?;
        let count = all.len();
        let (items, full) = page(all, |l| l.volume.id.as_str(), &q)?;
        let next = if full {
            items.last().map(|l| l.volume.id.clone())
        } else {
            None
        };
        let mut out = Vec::with_capacity(items.len());
        for l in &items {
            out.push(if shape == Shape::Summary {
                super::views::volume(
                    &l.volume,
                    &super::views::Extra {
                        type_name: l.type_name.as_deref(),
                        attachments: &[],
                        host: &svc.host,
                    },
                    &call,
                    &urls,
                    shape,
                )
            } else {
                svc.render(c, &l.volume, &call, &urls, shape)?
            });
        }
        Ok((out, count, next))
    })?;
    let mut body = json!({"volumes": volumes});
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
    if !call.version.at_least(12) {
        return Err(Fault::not_found("The resource could not be found."));
    }
    let q = query(req, &call)?;
    let all = svc.read(|c| select(c, &call, &q))?;
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
    reply(resp, &call, 200, &json!({"volume-summary": summary}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(id: &str, name: &str, size: i64, meta: Value) -> Listed {
        Listed {
            volume: Volume {
                id: id.into(),
                project_id: "p".into(),
                user_id: "u".into(),
                name: Some(name.into()),
                description: None,
                size,
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
                fail_reason: None,
                created_ms: size,
                updated_ms: size,
            },
            type_name: Some("__DEFAULT__".into()),
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
        let v = listed("a", "Alpha-1", 1, json!({"k": "v", "x": "y"}));
        assert!(matches(&v, &filter("name", json!("Alpha-1"), false)));
        assert!(!matches(&v, &filter("name", json!("alpha"), false)));
        assert!(matches(&v, &filter("name", json!("alpha"), true)));
        assert!(matches(&v, &filter("bootable", json!("False"), false)));
        assert!(matches(&v, &filter("metadata", json!({"k": "v"}), false)));
        assert!(!matches(&v, &filter("metadata", json!({"k": "w"}), false)));
        assert!(matches(
            &v,
            &filter("volume_type", json!("__DEFAULT__"), false)
        ));
        assert!(!matches(&v, &filter("unknown", json!("x"), false)));
    }

    #[test]
    fn metadata_filters_read_python_dicts() {
        assert_eq!(dict_of("{'a': 'b'}").unwrap()["a"], json!("b"));
        assert!(dict_of("nope").is_err());
    }

    #[test]
    fn sorting_follows_keys_then_id_and_pages_stop_at_the_marker() {
        let mut all = [
            listed("b", "x", 2, json!({})),
            listed("a", "x", 2, json!({})),
            listed("c", "y", 1, json!({})),
        ];
        let sort = vec![("size".to_string(), true), ("id".to_string(), true)];
        all.sort_by(|a, b| compare(a, b, &sort));
        let ids: Vec<&str> = all.iter().map(|l| l.volume.id.as_str()).collect();
        assert_eq!(ids, ["c", "a", "b"]);
        let q = Query {
            limit: Some(1),
            marker: Some("c".into()),
            ..Default::default()
        };
        let (items, full) = page(ids.clone(), |s| s, &q).unwrap();
        assert_eq!((items, full), (vec!["a"], true));
        let q = Query {
            marker: Some("zz".into()),
            ..Default::default()
        };
        assert!(page(ids, |s| s, &q).is_err());
    }

    #[test]
    fn sort_parameters_read_both_spellings() {
        assert_eq!(
            sort_of("name:asc,size").unwrap(),
            vec![("name".to_string(), true), ("size".to_string(), false)]
        );
        assert!(sort_of("bogus:asc").is_err());
        assert!(sort_pair("id", "up").is_err());
    }
}
