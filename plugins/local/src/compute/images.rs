//! Nova's image proxy (`/images`, `/images/{id}/metadata`): the image service's own
//! records, seen through Nova's older view of them. Lists, shows and deletes answer up to
//! 2.35 and the metadata calls up to 2.38 (Nova's proxy limits); later they are not found.
//! What a project sees and may change is what Glance would let it (the same store, the
//! same rules), and Glance's refusals come back as Nova words them.

use std::collections::BTreeMap;
use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::servers::routes::check_metadata;
use super::{body, param, quotas, reply, reply_empty, Call, Compute, Error, Result, Urls};
use crate::image::model::{self, Image, Member, Viewer};
use crate::image::views::CORE;
use crate::store::Tx;

type Svc = Arc<Compute>;

endpoint!(Svc; ImageList { on_get => list, on_delete => no_route });
endpoint!(Svc; ImageDetailList { on_get => list_detail });
endpoint!(Svc; ImageItem { on_get => show, on_delete => delete });
endpoint!(Svc; Metadata { on_get => list_metadata, on_post => merge_metadata, on_put => replace_metadata });
endpoint!(Svc; MetadataItem { on_get => show_meta, on_put => set_meta, on_delete => delete_meta });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), jumpgate_plugin_api::Error> {
    routes! {
        disp, svc;
        "v2_images" => ImageList,
        "v2_images_detail" => ImageDetailList,
        "v2_image" => ImageItem,
        "v2_image_metadata" => Metadata,
        "v2_image_metadata_key" => MetadataItem,
    }
    Ok(())
}

/// The newest version serving `/images` (Nova's `MAX_PROXY_API_SUPPORT_VERSION`).
const MAX_IMAGES: u16 = 35;
/// The newest version serving `/images/{id}/metadata` (`MAX_IMAGE_META_PROXY_API_VERSION`).
const MAX_METADATA: u16 = 38;
/// Nova's `[api] max_limit` (and Glance's `api_limit_max`).
const MAX_LIMIT: usize = 1000;

// ---------------------------------------------------------------- helpers

/// Who asks, as the rules below need it.
struct Who<'a> {
    project: &'a str,
    user: &'a str,
    admin: bool,
    /// Holds the `member` role (Glance's ADMIN_OR_PROJECT_MEMBER for changes).
    writer: bool,
}

impl Who<'_> {
    fn of(call: &Call) -> Who<'_> {
        Who {
            project: &call.project_id,
            user: &call.caller.user_id,
            admin: call.is_admin(),
            writer: call.is_admin() || crate::policy::is_member(&call.caller),
        }
    }

    fn viewer(&self) -> Viewer<'_> {
        Viewer {
            project: (!self.project.is_empty()).then_some(self.project),
            admin: self.admin,
        }
    }
}

/// The caller and version, or Nova's 404 once the proxy is gone (after `max`).
fn proxied(req: &Request, max: u16) -> std::result::Result<Call, Fault> {
    let call = Call::of(req)?;
    if call.version.at_least(max + 1) {
        return Err(Fault::not_found("The resource could not be found."));
    }
    Ok(call)
}

fn not_found() -> Fault {
    Fault::not_found("Image not found.")
}

/// Glance's 403 for a change, as Nova's `ImageNotAuthorized` words it.
fn not_authorized(id: &str) -> Fault {
    Fault::forbidden(format!("Not authorized for image {id}."))
}

fn store(e: model::Error) -> Error {
    match e {
        model::Error::NotFound(_) => not_found().into(),
        model::Error::Conflict(m) => Fault::conflict(m).into(),
        model::Error::Invalid(m) => Fault::bad_request(m).into(),
        model::Error::Store(e) => Error::Store(e),
    }
}

/// The image `id` if the caller may see it, else Nova's 404.
fn visible(c: &dyn Tx, who: &Who, id: &str) -> Result<Image> {
    let image = model::get(c, id).map_err(store)?;
    let membership = if who.project.is_empty() {
        None
    } else {
        model::get_member(c, id, who.project).ok()
    };
    if !who.viewer().can_see(&image, membership.as_ref()) {
        return Err(not_found().into());
    }
    Ok(image)
}

/// Nova's status for a Glance status.
fn status(image: &Image) -> &'static str {
    match image.status.as_str() {
        "active" => "ACTIVE",
        "queued" | "saving" | "uploading" | "importing" => "SAVING",
        "deleted" | "pending_delete" => "DELETED",
        "killed" => "ERROR",
        _ => "UNKNOWN",
    }
}

/// Nova's `progress`: 25 queued, 50 on the way, 100 active.
fn progress(image: &Image) -> i64 {
    match image.status.as_str() {
        "queued" => 25,
        "saving" | "uploading" | "importing" => 50,
        "active" => 100,
        _ => 0,
    }
}

/// Nova's dates: to the second, `Z`.
fn date(iso: &str) -> String {
    crate::time::parse_iso(iso)
        .map(crate::time::iso_seconds)
        .unwrap_or_else(|| iso.to_string())
}

/// oslo's `bool_from_string`.
fn truthy(s: &str) -> bool {
    matches!(
        s.trim().to_lowercase().as_str(),
        "1" | "t" | "true" | "on" | "y" | "yes"
    )
}

/// Where an image's links point: Nova's own URLs and the image service's.
struct Links {
    urls: Urls,
    /// `http://host/image`: the image service's root (Nova's `alternate` is `…/images/id`).
    glance: Option<String>,
}

impl Links {
    fn of(svc: &Compute, req: &Request) -> std::result::Result<Links, Fault> {
        let glance = match svc.app.get_dispatcher("image") {
            Some(d) => {
                let mut url = d.get_endpoint_url(req, "index", &[])?;
                while url.ends_with('/') {
                    url.pop();
                }
                Some(url)
            }
            None => None,
        };
        Ok(Links {
            urls: Urls::of(svc, req)?,
            glance,
        })
    }

    fn image(&self, id: &str) -> Value {
        let mut links = self.urls.links("images", id);
        if let (Some(glance), Some(list)) = (&self.glance, links.as_array_mut()) {
            list.push(json!({
                "rel": "alternate",
                "type": "application/vnd.openstack.image",
                "href": format!("{glance}/images/{id}"),
            }));
        }
        links
    }
}

fn basic(links: &Links, image: &Image) -> Value {
    json!({"id": image.id, "name": image.name, "links": links.image(&image.id)})
}

fn detail(links: &Links, image: &Image) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(image.id));
    o.insert("name".into(), json!(image.name));
    o.insert("minRam".into(), json!(image.min_ram));
    o.insert("minDisk".into(), json!(image.min_disk));
    o.insert("metadata".into(), Value::Object(image.properties.clone()));
    o.insert("created".into(), json!(date(&image.created_at)));
    o.insert("updated".into(), json!(date(&image.updated_at)));
    o.insert("status".into(), json!(status(image)));
    o.insert("progress".into(), json!(progress(image)));
    o.insert("OS-EXT-IMG-SIZE:size".into(), json!(image.size));
    o.insert("links".into(), links.image(&image.id));
    if let Some(server) = image
        .properties
        .get("instance_uuid")
        .and_then(Value::as_str)
    {
        o.insert(
            "server".into(),
            json!({"id": server, "links": links.urls.links("servers", server)}),
        );
    }
    if let Some(auto) = image.properties.get("auto_disk_config") {
        let on = match auto {
            Value::String(s) => truthy(s),
            Value::Bool(b) => *b,
            _ => false,
        };
        o.insert(
            "OS-DCF:diskConfig".into(),
            json!(if on { "AUTO" } else { "MANUAL" }),
        );
    }
    Value::Object(o)
}

// ---------------------------------------------------------------- list

/// What a list asks for: Nova's filters, as it hands them to Glance, and the page.
#[derive(Debug, Default)]
struct Query {
    name: Option<String>,
    status: Option<String>,
    /// `changes-since`, unix seconds: updated at or after.
    since: Option<i64>,
    min_ram: Option<i64>,
    min_disk: Option<i64>,
    /// `server` (instance_uuid), `type` (image_type) and `property-*`: equal properties.
    properties: Vec<(String, String)>,
    limit: Option<usize>,
    marker: Option<String>,
}

impl Query {
    /// The query string, the last of a repeated parameter winning (as webob's `get`);
    /// empty values filter nothing (as Glance).
    fn parse<'a>(
        pairs: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> std::result::Result<Query, Fault> {
        let mut last: BTreeMap<&str, &str> = BTreeMap::new();
        for (k, v) in pairs {
            last.insert(k, v);
        }
        let mut q = Query::default();
        let int = |name: &str, raw: &str| -> std::result::Result<i64, Fault> {
            raw.trim()
                .parse()
                .map_err(|_| Fault::bad_request(format!("Invalid {name} filter [{raw}]")))
        };
        for (&k, &v) in &last {
            match k {
                "limit" => {
                    let n: i64 = v.trim().parse().map_err(|_| {
                        Fault::bad_request("Invalid input received: limit must be an integer")
                    })?;
                    if n < 0 {
                        return Err(Fault::bad_request(
                            "Invalid input received: limit must be >= 0",
                        ));
                    }
                    q.limit = Some(n as usize);
                }
                "marker" => q.marker = Some(v.to_string()),
                _ if v.is_empty() => {}
                "name" => q.name = Some(v.to_string()),
                "status" => q.status = Some(v.to_lowercase()),
                "changes-since" => {
                    let t = v.trim();
                    let t = t.strip_suffix("+00:00").unwrap_or(t);
                    q.since = Some(crate::time::parse_iso(t).ok_or_else(|| {
                        Fault::bad_request(format!("Invalid changes-since value: {v}"))
                    })?);
                }
                "server" => q.properties.push((
                    "instance_uuid".into(),
                    v.rsplit('/').next().unwrap_or(v).to_string(),
                )),
                "type" => q.properties.push(("image_type".into(), v.to_string())),
                "minRam" => q.min_ram = Some(int(k, v)?),
                "minDisk" => q.min_disk = Some(int(k, v)?),
                _ => {
                    if let Some(p) = k.strip_prefix("property-") {
                        q.properties.push((p.to_string(), v.to_string()));
                    }
                }
            }
        }
        Ok(q)
    }

    /// Whether `i` passes the filters. `minRam`/`minDisk` compare for equality: Glance v2
    /// matches its own columns exactly, and Nova passes them on as they are.
    fn accepts(&self, i: &Image) -> bool {
        self.name
            .as_ref()
            .is_none_or(|n| i.name.as_deref() == Some(n.as_str()))
            && self.status.as_ref().is_none_or(|s| *s == i.status)
            && self
                .since
                .is_none_or(|t| crate::time::parse_iso(&i.updated_at).is_some_and(|u| u >= t))
            && self.min_ram.is_none_or(|m| i.min_ram == m)
            && self.min_disk.is_none_or(|m| i.min_disk == m)
            && self
                .properties
                .iter()
                .all(|(k, v)| match i.properties.get(k) {
                    Some(Value::String(s)) => s == v,
                    Some(other) => *other == Value::String(v.clone()),
                    None => false,
                })
    }

    /// How many to return at most, and whether a full page earns a `next` link.
    fn page_size(&self) -> usize {
        match self.limit {
            Some(n) if n > 0 => n.min(MAX_LIMIT),
            _ => usize::MAX,
        }
    }
}

/// The images a list shows (Glance's default listing: the project's own, public ones,
/// and those shared with it that it accepted; hidden ones only to admins), newest first,
/// after the marker. The flag says whether the page is full (Nova then links the next).
fn page<'a>(
    images: &'a [Image],
    members: &[Member],
    who: &Who,
    q: &Query,
) -> std::result::Result<(Vec<&'a Image>, bool), Fault> {
    let viewer = who.viewer();
    let membership = |i: &Image| {
        members
            .iter()
            .find(|m| m.image_id == i.id && m.member_id == who.project)
    };
    let listed = |i: &Image| {
        let shown = viewer.owns(i)
            || i.visibility == "public"
            || (i.visibility == "shared" && membership(i).is_some_and(|m| m.status == "accepted"));
        shown && (who.admin || !i.os_hidden)
    };
    let after = match &q.marker {
        None => None,
        Some(m) => {
            let marker = images
                .iter()
                .find(|i| i.id == *m && viewer.can_see(i, membership(i)))
                .ok_or_else(|| Fault::bad_request(format!("No image found with ID {m}")))?;
            Some((marker.created_at.as_str(), marker.id.as_str()))
        }
    };
    let size = q.page_size();
    let out: Vec<&Image> = images
        .iter()
        .filter(|i| after.is_none_or(|a| (i.created_at.as_str(), i.id.as_str()) < a))
        .filter(|i| listed(i) && q.accepts(i))
        .take(size)
        .collect();
    let full = out.len() == size.min(MAX_LIMIT);
    Ok((out, full))
}

fn listing(
    svc: &Svc,
    req: &Request,
    resp: &mut Response,
    view: fn(&Links, &Image) -> Value,
    collection: &str,
) -> HandlerResult {
    let call = proxied(req, MAX_IMAGES)?;
    let q = Query::parse(
        req.query_params
            .iter()
            .map(|p| (p.name.as_str(), p.value.as_str())),
    )?;
    let (images, members) = svc.read(|c| {
        Ok((
            model::list(c).map_err(store)?,
            model::all_members(c).map_err(store)?,
        ))
    })?;
    let (shown, full) = page(&images, &members, &Who::of(&call), &q)?;
    let links = Links::of(svc, req)?;
    let mut out = json!({"images": shown.iter().map(|i| view(&links, i)).collect::<Vec<_>>()});
    if let (true, Some(last)) = (full, shown.last()) {
        out["images_links"] = links.urls.next(req, collection, &last.id);
    }
    reply(resp, &call, 200, &out)
}

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    listing(svc, req, resp, basic, "images")
}

fn list_detail(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    listing(svc, req, resp, detail, "images/detail")
}

/// `DELETE /images/` (no id): Nova has no such route.
fn no_route(_: &Svc, req: &mut Request, _: &mut Response) -> HandlerResult {
    Call::of(req)?;
    Err(Fault::not_found("The resource could not be found."))
}

// ---------------------------------------------------------------- show, delete

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = proxied(req, MAX_IMAGES)?;
    let id = param(req, "image_guid")?;
    let image = svc.read(|c| visible(c, &Who::of(&call), id))?;
    let links = Links::of(svc, req)?;
    reply(resp, &call, 200, &json!({"image": detail(&links, &image)}))
}

/// Whether the caller may delete `image` (Glance's rules; Nova's 403 when not).
fn deletable(who: &Who, image: &Image) -> std::result::Result<(), Fault> {
    if !who.writer || !who.viewer().owns(image) || image.protected {
        return Err(Fault::forbidden("You are not allowed to delete the image."));
    }
    Ok(())
}

fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = proxied(req, MAX_IMAGES)?;
    let id = param(req, "image_guid")?;
    let who = Who::of(&call);
    svc.write(|c| {
        let image = visible(c, &who, id)?;
        deletable(&who, &image)?;
        svc.images.remove(c, &image.id).map_err(store)
    })?;
    reply_empty(resp, &call, 204)
}

// ---------------------------------------------------------------- metadata

/// A change to an image's properties, as each metadata call makes it.
enum Change {
    Merge(Map<String, Value>),
    Replace(Map<String, Value>),
    Set(String, Value),
    Remove(String),
}

/// Applies `change` to image `id` in the caller's transaction: the image must be visible
/// (404), the key to remove present (404), the result within the project's
/// `metadata_items` (403), and the caller its owner with a writer's role, touching no
/// attribute Glance reserves (403). Returns the properties after.
fn change(c: &dyn Tx, who: &Who, id: &str, change: Change) -> Result<Map<String, Value>> {
    let mut image = visible(c, who, id)?;
    let mut props = image.properties.clone();
    let touched: Vec<String> = match change {
        Change::Merge(m) => {
            let keys = m.keys().cloned().collect();
            props.extend(m);
            keys
        }
        Change::Replace(m) => {
            props = m;
            props.keys().cloned().collect()
        }
        Change::Set(k, v) => {
            props.insert(k.clone(), v);
            vec![k]
        }
        Change::Remove(k) => {
            if props.remove(&k).is_none() {
                return Err(Fault::not_found("Invalid metadata key").into());
            }
            vec![]
        }
    };
    if !props.is_empty() {
        let limit = quotas::limit(c, who.project, who.user, "metadata_items")?;
        if limit >= 0 && props.len() as i64 > limit {
            return Err(Fault::forbidden("Image metadata limit exceeded").into());
        }
    }
    // Attributes Glance names itself: a metadata key among them would change (or be
    // refused as) the attribute, never a property, so Glance's 403 is what Nova passes on.
    let reserved = |k: &String| {
        CORE.contains(&k.as_str()) || k.starts_with(crate::image::views::RESERVED_NAMESPACE)
    };
    if !who.writer || !who.viewer().owns(&image) || touched.iter().any(reserved) {
        return Err(not_authorized(id).into());
    }
    image.properties = props.clone();
    image.updated_at = crate::time::now_seconds_iso();
    model::save(c, &image).map_err(store)?;
    Ok(props)
}

/// A body's one member `key` (400 for a missing one or any other).
fn member(b: &Value, key: &str) -> std::result::Result<Value, Fault> {
    let o = b.as_object().ok_or_else(|| {
        Fault::bad_request(format!(
            "Malformed request body: '{key}' is a required property"
        ))
    })?;
    if let Some(extra) = o.keys().find(|k| *k != key) {
        return Err(Fault::bad_request(format!(
            "Invalid input for field/attribute body. Additional properties are not allowed ('{extra}' was unexpected)"
        )));
    }
    o.get(key).cloned().ok_or_else(|| {
        Fault::bad_request(format!(
            "Malformed request body: '{key}' is a required property"
        ))
    })
}

fn list_metadata(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = proxied(req, MAX_METADATA)?;
    let id = param(req, "image_id")?;
    let image = svc.read(|c| visible(c, &Who::of(&call), id))?;
    reply(resp, &call, 200, &json!({"metadata": image.properties}))
}

fn write_metadata(svc: &Svc, req: &Request, resp: &mut Response, replace: bool) -> HandlerResult {
    let call = proxied(req, MAX_METADATA)?;
    let id = param(req, "image_id")?;
    let m = check_metadata(&member(&body(req)?, "metadata")?)?;
    let op = if replace {
        Change::Replace(m)
    } else {
        Change::Merge(m)
    };
    let props = svc.write(|c| change(c, &Who::of(&call), id, op))?;
    reply(resp, &call, 200, &json!({"metadata": props}))
}

fn merge_metadata(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    write_metadata(svc, req, resp, false)
}

fn replace_metadata(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    write_metadata(svc, req, resp, true)
}

fn show_meta(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = proxied(req, MAX_METADATA)?;
    let id = param(req, "image_id")?;
    let key = param(req, "key")?;
    let image = svc.read(|c| visible(c, &Who::of(&call), id))?;
    let value = image
        .properties
        .get(key)
        .ok_or_else(|| Fault::not_found("The resource could not be found."))?;
    reply(resp, &call, 200, &json!({"meta": {key: value}}))
}

fn set_meta(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = proxied(req, MAX_METADATA)?;
    let id = param(req, "image_id")?;
    let key = param(req, "key")?;
    let meta = check_metadata(&member(&body(req)?, "meta")?)?;
    if meta.len() != 1 {
        return Err(Fault::bad_request("Request body contains too many items"));
    }
    let Some(value) = meta.get(key).cloned() else {
        return Err(Fault::bad_request("Request body and URI mismatch"));
    };
    svc.write(|c| change(c, &Who::of(&call), id, Change::Set(key.to_string(), value)))?;
    reply(resp, &call, 200, &json!({"meta": meta}))
}

fn delete_meta(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = proxied(req, MAX_METADATA)?;
    let id = param(req, "image_id")?;
    let key = param(req, "key")?;
    svc.write(|c| change(c, &Who::of(&call), id, Change::Remove(key.to_string())))?;
    reply_empty(resp, &call, 204)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn image(id: &str, owner: &str, visibility: &str, created: &str) -> Image {
        Image {
            name: Some(format!("name-{id}")),
            visibility: visibility.into(),
            status: "active".into(),
            ..Image::queued(id.into(), Some(owner.into()), created)
        }
    }

    fn who(project: &str) -> Who<'_> {
        Who {
            project,
            user: "u1",
            admin: false,
            writer: true,
        }
    }

    fn query(pairs: &[(&str, &str)]) -> Query {
        Query::parse(pairs.iter().copied()).unwrap()
    }

    fn ids(v: &[&Image]) -> Vec<String> {
        v.iter().map(|i| i.id.clone()).collect()
    }

    #[test]
    fn statuses_and_progress_are_nova_s() {
        let mut i = image("a", "p1", "private", "2024-01-01T00:00:00Z");
        for (glance, nova, pct) in [
            ("queued", "SAVING", 25),
            ("saving", "SAVING", 50),
            ("uploading", "SAVING", 50),
            ("importing", "SAVING", 50),
            ("active", "ACTIVE", 100),
            ("killed", "ERROR", 0),
            ("pending_delete", "DELETED", 0),
            ("deactivated", "UNKNOWN", 0),
        ] {
            i.status = glance.into();
            assert_eq!((status(&i), progress(&i)), (nova, pct), "{glance}");
        }
    }

    #[test]
    fn lists_what_glance_lists_newest_first() {
        let images = vec![
            image("d", "p2", "shared", "2024-01-04T00:00:00Z"),
            image("c", "p2", "community", "2024-01-03T00:00:00Z"),
            image("b", "p2", "public", "2024-01-02T00:00:00Z"),
            image("z", "p2", "private", "2024-01-01T00:00:00Z"),
            image("a", "p1", "private", "2024-01-01T00:00:00Z"),
        ];
        let accepted = Member {
            image_id: "d".into(),
            member_id: "p1".into(),
            status: "accepted".into(),
            created_at: "t".into(),
            updated_at: "t".into(),
        };
        let q = Query::default();
        let (shown, _) = page(&images, &[], &who("p1"), &q).unwrap();
        assert_eq!(ids(&shown), ["b", "a"]);
        let (shown, _) = page(&images, std::slice::from_ref(&accepted), &who("p1"), &q).unwrap();
        assert_eq!(ids(&shown), ["d", "b", "a"]);
        let pending = Member {
            status: "pending".into(),
            ..accepted
        };
        let (shown, _) = page(&images, &[pending], &who("p1"), &q).unwrap();
        assert_eq!(ids(&shown), ["b", "a"]);
        let admin = Who {
            admin: true,
            ..who("p1")
        };
        let (shown, _) = page(&images, &[], &admin, &q).unwrap();
        assert_eq!(ids(&shown), ["d", "c", "b", "z", "a"]);
    }

    #[test]
    fn pages_after_the_marker_and_says_when_full() {
        let images: Vec<Image> = (1..=5)
            .rev()
            .map(|n| {
                image(
                    &format!("i{n}"),
                    "p1",
                    "private",
                    &format!("2024-01-0{n}T00:00:00Z"),
                )
            })
            .collect();
        let (shown, full) = page(&images, &[], &who("p1"), &query(&[("limit", "2")])).unwrap();
        assert_eq!((ids(&shown), full), (vec!["i5".into(), "i4".into()], true));
        let q = query(&[("limit", "2"), ("marker", "i4")]);
        let (shown, _) = page(&images, &[], &who("p1"), &q).unwrap();
        assert_eq!(ids(&shown), ["i3", "i2"]);
        let q = query(&[("limit", "9"), ("marker", "i2")]);
        let (shown, full) = page(&images, &[], &who("p1"), &q).unwrap();
        assert_eq!((ids(&shown), full), (vec!["i1".into()], false));
        let bad = page(&images, &[], &who("p1"), &query(&[("marker", "nope")]));
        assert_eq!(bad.unwrap_err().status, 400);
        // Another project's private image is no marker either.
        let bad = page(&images, &[], &who("p2"), &query(&[("marker", "i1")]));
        assert_eq!(bad.unwrap_err().status, 400);
        assert_eq!(
            Query::parse([("limit", "x")].into_iter())
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            Query::parse([("limit", "-1")].into_iter())
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn filters_as_nova_hands_them_to_glance() {
        let mut snap = image("s", "p1", "private", "2024-01-02T00:00:00Z");
        snap.properties
            .insert("instance_uuid".into(), json!("srv-1"));
        snap.properties
            .insert("image_type".into(), json!("snapshot"));
        snap.updated_at = "2024-02-01T00:00:00Z".into();
        snap.min_ram = 512;
        let mut plain = image("p", "p1", "private", "2024-01-01T00:00:00Z");
        plain.status = "queued".into();
        let images = vec![snap, plain];
        let only =
            |pairs: &[(&str, &str)]| ids(&page(&images, &[], &who("p1"), &query(pairs)).unwrap().0);
        assert_eq!(only(&[("server", "srv-1")]), ["s"]);
        assert_eq!(
            only(&[("server", "http://h/compute/v2.1/servers/srv-1")]),
            ["s"]
        );
        assert_eq!(only(&[("type", "snapshot")]), ["s"]);
        assert_eq!(only(&[("property-image_type", "snapshot")]), ["s"]);
        assert_eq!(only(&[("status", "ACTIVE")]), ["s"]);
        assert_eq!(only(&[("status", "QUEUED")]), ["p"]);
        assert_eq!(only(&[("name", "name-p")]), ["p"]);
        assert_eq!(only(&[("changes-since", "2024-01-15T00:00:00Z")]), ["s"]);
        assert_eq!(only(&[("minRam", "512")]), ["s"]);
        assert_eq!(only(&[("name", "")]).len(), 2);
        assert!(Query::parse([("changes-since", "soon")].into_iter()).is_err());
    }

    #[test]
    fn detail_names_the_server_and_disk_config() {
        let mut i = image("s", "p1", "private", "2024-01-02T00:00:00Z");
        i.properties.insert("instance_uuid".into(), json!("srv-1"));
        i.properties
            .insert("auto_disk_config".into(), json!("True"));
        i.size = Some(1024);
        let links = Links {
            urls: Urls {
                root: "http://h/compute".into(),
                versioned: "http://h/compute/v2.1".into(),
                bookmark: "http://h/compute".into(),
            },
            glance: Some("http://h/image".into()),
        };
        let d = detail(&links, &i);
        assert_eq!(d["server"]["id"], "srv-1");
        assert_eq!(
            d["server"]["links"][0]["href"],
            "http://h/compute/v2.1/servers/srv-1"
        );
        assert_eq!(d["OS-DCF:diskConfig"], "AUTO");
        assert_eq!(d["OS-EXT-IMG-SIZE:size"], 1024);
        assert_eq!(d["links"][2]["href"], "http://h/image/images/s");
        assert_eq!(d["links"][2]["type"], "application/vnd.openstack.image");
        assert_eq!(
            (d["status"].as_str(), d["progress"].as_i64()),
            (Some("ACTIVE"), Some(100))
        );
        let b = basic(&links, &i);
        assert_eq!(b.as_object().unwrap().len(), 3);
    }

    #[test]
    fn metadata_changes_follow_glance_and_the_quota() {
        let store = Store::memory();
        store
            .write(|c| {
                model::create(c, &image("i", "p1", "private", "2024-01-01T00:00:00Z"))?;
                model::create(c, &image("pub", "p2", "public", "2024-01-01T00:00:00Z"))
            })
            .unwrap();
        let run = |w: &Who, id: &str, ch: Change| store.write(|c| change(c, w, id, ch));
        let m = |pairs: &[(&str, &str)]| -> Map<String, Value> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect()
        };
        let fault = |r: Result<Map<String, Value>>| match r {
            Err(Error::Fault(f)) => f.status,
            other => panic!("{other:?}"),
        };
        let p1 = who("p1");
        let out = run(&p1, "i", Change::Merge(m(&[("a", "1"), ("b", "2")]))).unwrap();
        assert_eq!(out, m(&[("a", "1"), ("b", "2")]));
        let out = run(&p1, "i", Change::Set("a".into(), json!("9"))).unwrap();
        assert_eq!(out, m(&[("a", "9"), ("b", "2")]));
        let out = run(&p1, "i", Change::Replace(m(&[("c", "3")]))).unwrap();
        assert_eq!(out, m(&[("c", "3")]));
        assert_eq!(fault(run(&p1, "i", Change::Remove("zz".into()))), 404);
        run(&p1, "i", Change::Remove("c".into())).unwrap();
        assert!(store
            .read(|c| model::get(c, "i"))
            .unwrap()
            .properties
            .is_empty());
        // Invisible: 404; visible but not one's own, or a reserved key: 403.
        assert_eq!(
            fault(run(&who("p2"), "i", Change::Merge(m(&[("a", "1")])))),
            404
        );
        assert_eq!(fault(run(&p1, "pub", Change::Merge(m(&[("a", "1")])))), 403);
        assert_eq!(
            fault(run(&p1, "i", Change::Merge(m(&[("status", "x")])))),
            403
        );
        let reader = Who {
            writer: false,
            ..who("p1")
        };
        assert_eq!(
            fault(run(&reader, "i", Change::Merge(m(&[("a", "1")])))),
            403
        );
        // Over the project's metadata_items.
        let many: Map<String, Value> = (0..129).map(|n| (format!("k{n}"), json!("v"))).collect();
        assert_eq!(fault(run(&p1, "i", Change::Replace(many))), 403);
    }

    #[test]
    fn only_owners_delete_unprotected_images() {
        let mut i = image("i", "p1", "private", "t");
        assert!(deletable(&who("p1"), &i).is_ok());
        assert_eq!(deletable(&who("p2"), &i).unwrap_err().status, 403);
        i.protected = true;
        assert_eq!(deletable(&who("p1"), &i).unwrap_err().status, 403);
    }
}
