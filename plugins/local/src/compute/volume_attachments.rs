//! A server's volumes (`/servers/{id}/os-volume_attachments`): list, show, attach, swap or
//! update, detach — Nova's block device mappings, which here are the block-storage
//! attachments themselves (`volume::model`), so Nova and Cinder never disagree.

use std::collections::HashMap;
use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::interfaces::record;
use super::network_proxies::limited;
use super::servers::actions::{check_lock, check_state};
use super::servers::model::{self as servers, Server};
use super::servers::routes::{invalid, server_param, target};
use super::servers::states::Action;
use super::volumes::{object_of, StagedSnapshot};
use crate::compute::{body, param, reply, reply_empty, Call, Compute};
use crate::microversion::Version;
use crate::store::Tx;
use crate::time::now_ms;
use crate::volume::model::{self as vm, AttachSpec, Attachment, Volume};
use crate::volume::states::{VolumeAction, VolumeStatus};

type Svc = Arc<Compute>;

endpoint!(Svc; Attachments { on_get => list, on_post => attach });
endpoint!(Svc; AttachmentItem { on_get => show, on_put => update, on_delete => detach });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "v2_os_volume_attachments" => Attachments,
        "v2_os_volume_attachments_detail" => AttachmentItem,
        "v2_os_volume_attachment" => AttachmentItem,
    }
    Ok(())
}

/// Nova's `bdm_uuid` (2.89): Nova keeps the mapping apart from Cinder's attachment; here
/// they are one row, so the mapping's id is derived from the attachment's, stably.
fn bdm_uuid(a: &Attachment) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, a.id.as_bytes()).to_string()
}

/// `_translate_attachment_detail_view`: a listed or shown attachment.
fn view(a: &Attachment, server_id: &str, v: Version) -> Value {
    let mut m = Map::new();
    if !v.at_least(89) {
        m.insert("id".into(), json!(a.volume_id));
    }
    m.insert("volumeId".into(), json!(a.volume_id));
    m.insert("serverId".into(), json!(server_id));
    if let Some(d) = a.mountpoint.as_deref().filter(|d| !d.is_empty()) {
        m.insert("device".into(), json!(d));
    }
    if v.at_least(70) {
        m.insert("tag".into(), json!(a.tag));
    }
    if v.at_least(79) {
        m.insert(
            "delete_on_termination".into(),
            json!(a.delete_on_termination),
        );
    }
    if v.at_least(89) {
        m.insert("attachment_id".into(), json!(a.id));
        m.insert("bdm_uuid".into(), json!(bdm_uuid(a)));
    }
    Value::Object(m)
}

/// 404 unless `volume_id` is attached to `s`.
fn attachment_on(c: &dyn Tx, s: &Server, volume_id: &str) -> crate::compute::Result<Attachment> {
    vm::attachments_of_server(c, &s.id)?
        .into_iter()
        .find(|a| a.volume_id == volume_id)
        .ok_or_else(|| {
            Fault::not_found(format!(
                "Instance {} is not attached to volume {volume_id}",
                s.id
            ))
            .into()
        })
}

/// Before 2.20 Nova refuses volume changes on shelved servers.
fn check_shelved(call: &Call, s: &Server, action: &str) -> Result<(), Fault> {
    if matches!(s.vm_state.as_str(), "shelved" | "shelved_offloaded") && !call.version.at_least(20)
    {
        return Err(Fault::conflict(format!(
            "Cannot '{action}' instance {} while it is in vm_state {}",
            s.id, s.vm_state
        )));
    }
    Ok(())
}

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let (server_id, attached) = svc.read(|c| {
        let s = target(&call, req, c)?;
        Ok((s.id.clone(), vm::attachments_of_server(c, &s.id)?))
    })?;
    let items: Vec<Value> = limited(attached, req)?
        .iter()
        .map(|a| view(a, &server_id, call.version))
        .collect();
    reply(resp, &call, 200, &json!({ "volumeAttachments": items }))
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let volume_id = param(req, "volume_id")?;
    let body = svc.read(|c| {
        let s = target(&call, req, c)?;
        Ok(view(&attachment_on(c, &s, volume_id)?, &s.id, call.version))
    })?;
    reply(resp, &call, 200, &json!({ "volumeAttachment": body }))
}

/// Nova's schema for a device name (`/dev/vdb`, `/dev/xvdc`, `vdb`…).
fn device_name(v: &Value) -> Result<Option<String>, Fault> {
    match v {
        Value::Null => Ok(None),
        Value::String(d) => {
            let name = d.strip_prefix("/dev/").unwrap_or(d);
            let ok = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
            if !ok {
                return Err(invalid(
                    "device",
                    v,
                    &format!(
                        "'{d}' does not match '(^/dev/x{{0,1}}[a-z]{{0,1}}d{{0,1}})([a-z]+)[0-9]*$'"
                    ),
                ));
            }
            Ok(Some(format!("/dev/{name}")))
        }
        other => Err(invalid(
            "device",
            other,
            &format!("{other} is not of type 'string', 'null'"),
        )),
    }
}

/// The `volumeId` of a body: required, a UUID.
fn volume_id_of(att: &Map<String, Value>) -> Result<String, Fault> {
    match att.get("volumeId") {
        None => Err(Fault::bad_request(
            "Invalid input for field/attribute volumeAttachment. 'volumeId' is a required property",
        )),
        Some(Value::String(id)) if uuid::Uuid::parse_str(id).is_ok() => Ok(id.clone()),
        Some(other) => Err(invalid(
            "volumeId",
            other,
            &format!("{other} is not a 'uuid'"),
        )),
    }
}

fn boolean(att: &Map<String, Value>, key: &str) -> Result<Option<bool>, Fault> {
    match att.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(invalid(
            key,
            other,
            &format!("{other} is not of type 'boolean'"),
        )),
    }
}

/// What an attach to `s` needs besides the volume: Nova's checks of the volume, then
/// the attachment (reserved and completed in the caller's transaction).
#[allow(clippy::too_many_arguments)]
pub fn attach_to(
    svc: &Compute,
    c: &dyn Tx,
    call: &Call,
    s: &Server,
    volume: &Volume,
    device: Option<String>,
    boot_index: Option<i64>,
    delete_on_termination: bool,
    tag: Option<String>,
) -> crate::compute::Result<Attachment> {
    if volume.multiattach && !call.version.at_least(60) {
        return Err(Fault::bad_request(
            "Multiattach volumes are only supported starting with compute API version 2.60.",
        )
        .into());
    }
    let attached = vm::attachments_of_server(c, &s.id)?;
    if attached.iter().any(|a| a.volume_id == volume.id) {
        return Err(Fault::bad_request(format!(
            "Invalid volume: volume {} already attached",
            volume.id
        ))
        .into());
    }
    // A shelved-offloaded server has no host: its new volume gets a device when it lands.
    let mountpoint = if s.vm_state == "shelved_offloaded" {
        None
    } else {
        match device {
            Some(d) if attached.iter().any(|a| a.mountpoint.as_deref() == Some(&d)) => {
                return Err(
                    Fault::conflict(format!("The supplied device path ({d}) is in use.")).into(),
                )
            }
            Some(d) => Some(d),
            None => Some(vm::next_device(c, &s.id)?),
        }
    };
    vm::attach(
        c,
        volume,
        &AttachSpec {
            server_id: Some(s.id.clone()),
            host: mountpoint.as_ref().map(|_| svc.host.clone()),
            mountpoint,
            mode: None,
            connector: None,
            boot_index,
            delete_on_termination,
            tag,
        },
    )
    .map_err(Into::into)
}

fn attach(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let v = call.version;
    let b = body(req)?;
    let allowed: &[&str] = match (v.at_least(49), v.at_least(79)) {
        (_, true) => &["volumeId", "device", "tag", "delete_on_termination"],
        (true, false) => &["volumeId", "device", "tag"],
        _ => &["volumeId", "device"],
    };
    let att = object_of(&b, "volumeAttachment", allowed)?;
    let volume_id = volume_id_of(att)?;
    let device = att.get("device").map(device_name).transpose()?.flatten();
    let tag = match att.get("tag") {
        None => None,
        Some(Value::String(t)) if !t.is_empty() && t.len() <= 60 && !t.contains(['/', ',']) => {
            Some(t.clone())
        }
        Some(other) => return Err(invalid("tag", other, "is not a valid tag")),
    };
    let delete_on_termination = boolean(att, "delete_on_termination")?.unwrap_or(false);
    let a = svc.write(|c| {
        let s = target(&call, req, c)?;
        check_shelved(&call, &s, "attach_volume")?;
        check_lock(&call, &s)?;
        check_state(Action::AttachVolume, &s)?;
        let volume = vm::visible(c, &volume_id, &call.project_id, call.is_admin())?;
        let a = attach_to(
            svc,
            c,
            &call,
            &s,
            &volume,
            device.clone(),
            None,
            delete_on_termination,
            tag.clone(),
        )?;
        record(svc, c, &call, &s, req, "attach_volume")?;
        Ok(a)
    })?;
    let server_id = server_param(req)?;
    // Nova's create answer always names the device, null when none is known yet.
    let mut out = json!({
        "id": volume_id,
        "serverId": server_id,
        "volumeId": volume_id,
        "device": a.mountpoint,
    });
    if v.at_least(70) {
        out["tag"] = json!(a.tag);
    }
    if v.at_least(79) {
        out["delete_on_termination"] = json!(a.delete_on_termination);
    }
    reply(resp, &call, 200, &json!({ "volumeAttachment": out }))
}

/// `PUT`: swaps the volume for another (admins), or from 2.85 changes
/// `delete_on_termination` (the other fields may be given but not changed).
fn update(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let v = call.version;
    let old_id = param(req, "volume_id")?.to_string();
    let b = body(req)?;
    let allowed: &[&str] = if v.at_least(85) {
        &[
            "volumeId",
            "device",
            "tag",
            "delete_on_termination",
            "id",
            "serverId",
        ]
    } else {
        &["volumeId"]
    };
    let att = object_of(&b, "volumeAttachment", allowed)?;
    let new_id = volume_id_of(att)?;
    // A swap (every PUT before 2.85) is the admin's; the table's row is the update's.
    let swap = !v.at_least(85) || new_id != old_id;
    if swap {
        call.admin("os_compute_api:os-volumes-attachments:swap")?;
    }
    let delete_on_termination = boolean(att, "delete_on_termination")?;
    svc.write(|c| {
        let old = vm::visible(c, &old_id, &call.project_id, call.is_admin())?;
        let new = if swap {
            Some(
                vm::visible(c, &new_id, &call.project_id, call.is_admin())
                    .map_err(|_| vm::volume_not_found(&new_id))?,
            )
        } else {
            None
        };
        let s = target(&call, req, c)?;
        check_lock(&call, &s)?;
        let mut current = attachment_on(c, &s, &old.id).map_err(|_| {
            Fault::not_found(format!("No volume Block Device Mapping with id {old_id}."))
        })?;
        if let Some(new) = new {
            check_state(Action::SwapVolume, &s)?;
            current = swap_volume(c, &s, &old, &new, &current)?;
            record(svc, c, &call, &s, req, "swap_volume")?;
        }
        if !swap {
            let same = |key: &str, now: Value| {
                att.get(key).is_none_or(|given| *given == now)
            };
            for (key, now) in [
                ("id", json!(current.volume_id)),
                ("serverId", json!(s.id)),
                ("device", json!(current.mountpoint)),
                ("tag", json!(current.tag)),
            ] {
                if !same(key, now) {
                    return Err(Fault::bad_request(format!(
                        "Invalid input for field/attribute {key}. Changing '{key}' is not supported."
                    ))
                    .into());
                }
            }
        }
        if let Some(d) = delete_on_termination {
            c.set_delete_on_termination(&current.id, d, now_ms())?;
        }
        Ok(())
    })?;
    reply_empty(resp, &call, 202)
}

/// Nova's swap: the new volume takes the old one's place (device, boot index, flags);
/// the old one is detached.
fn swap_volume(
    c: &dyn Tx,
    s: &Server,
    old: &Volume,
    new: &Volume,
    current: &Attachment,
) -> crate::compute::Result<Attachment> {
    let invalid_volume = |why: &str| Fault::bad_request(format!("Invalid volume: {why}"));
    if old.multiattach && vm::attachments_of(c, &old.id)?.len() > 1 {
        return Err(Fault::bad_request(
            "Swapping multi-attach volumes with more than one read/write attachment is not supported.",
        )
        .into());
    }
    vm::check(c, new, VolumeAction::SwapIn)?;
    if new.size < old.size {
        return Err(invalid_volume("New volume must be the same size or larger.").into());
    }
    vm::detach(c, &current.id)?;
    vm::attach(
        c,
        new,
        &AttachSpec {
            server_id: Some(s.id.clone()),
            host: current.host.clone(),
            mountpoint: current.mountpoint.clone(),
            mode: None,
            connector: None,
            boot_index: current.boot_index,
            delete_on_termination: current.delete_on_termination,
            tag: current.tag.clone(),
        },
    )
    .map_err(Into::into)
}

fn detach(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let volume_id = param(req, "volume_id")?;
    svc.write(|c| {
        let s = target(&call, req, c)?;
        check_shelved(&call, &s, "detach_volume")?;
        let volume = vm::visible(c, volume_id, &call.project_id, call.is_admin())?;
        let a = attachment_on(c, &s, &volume.id)?;
        if a.boot_index == Some(0) {
            return Err(Fault::bad_request("Cannot detach a root device volume").into());
        }
        check_lock(&call, &s)?;
        check_state(Action::DetachVolume, &s)?;
        vm::detach(c, &a.id)?;
        record(svc, c, &call, &s, req, "detach_volume")
    })?;
    reply_empty(resp, &call, 202)
}

// ---------------------------------------------------------------- servers' side

/// `os-extended-volumes:volumes_attached` of many servers in one query (a listing reads
/// them all at once): server id → (volume id, delete_on_termination), oldest first.
pub fn volumes_attached(
    c: &dyn Tx,
    server_ids: &[&str],
) -> crate::compute::Result<HashMap<String, Vec<(String, bool)>>> {
    let mut out: HashMap<String, Vec<(String, bool)>> = HashMap::new();
    if server_ids.is_empty() {
        return Ok(out);
    }
    for (server, volume, dot) in c.volumes_attached(server_ids)? {
        out.entry(server).or_default().push((volume, dot));
    }
    Ok(out)
}

/// Detaches every volume of a server being deleted, in its delete transaction, and
/// deletes those marked delete_on_termination (as Nova, one that cannot go — it has
/// snapshots — stays). Returns the volumes deleted: their files go once the transaction
/// has committed (`remove_released`).
pub fn release_all(
    svc: &Compute,
    c: &dyn Tx,
    server_id: &str,
) -> crate::compute::Result<Vec<String>> {
    let mut deleted = Vec::new();
    for a in vm::attachments_of_server(c, server_id)? {
        vm::detach(c, &a.id)?;
        if !a.delete_on_termination {
            continue;
        }
        let Some(v) = vm::find(c, &a.volume_id)? else {
            continue;
        };
        match svc.volumes.delete_volume(c, &v, false, false) {
            Ok(_) => deleted.push(v.id),
            Err(crate::store::Failure::Fault(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(deleted)
}

/// Removes the files of the volumes `release_all` deleted.
pub fn remove_released(svc: &Compute, deleted: &[String]) {
    for id in deleted {
        svc.volumes.remove_files(id, &[]);
    }
}

/// Unshelve: the volumes attached while the server had no host get their devices.
pub fn land(svc: &Compute, c: &dyn Tx, server_id: &str) -> crate::compute::Result<()> {
    for a in vm::attachments_of_server(c, server_id)? {
        if a.mountpoint.is_none() {
            let device = vm::next_device(c, server_id)?;
            c.set_attachment_device(&a.id, &device, &svc.host, now_ms())?;
        }
    }
    Ok(())
}

/// Before `createImage` of a volume-backed server: copies of its volumes, staged ahead of
/// the action's transaction (`image_mapping` records them). None for other servers.
pub fn stage_server_snapshots(
    svc: &Compute,
    call: &Call,
    server_id: &str,
) -> Result<Vec<StagedSnapshot>, Fault> {
    let volumes = svc.read(|c| {
        let s = servers::visible(c, server_id, &call.project_id, call.is_admin())?;
        let attached = vm::attachments_of_server(c, &s.id)?;
        if !attached.iter().any(|a| a.boot_index == Some(0)) {
            return Ok(vec![]);
        }
        let mut volumes = Vec::new();
        for a in attached {
            volumes.extend(vm::find(c, &a.volume_id)?);
        }
        Ok(volumes)
    })?;
    volumes
        .iter()
        .map(|v| svc.volumes.stage_snapshot(v))
        .collect()
}

/// `createImage` of a volume-backed server (Nova's `snapshot_volume_backed`): a snapshot
/// of each volume, forced as they are in use, and the image's `block_device_mapping`
/// naming them, so that booting the image makes the server's disks again.
pub fn image_mapping(
    svc: &Compute,
    c: &dyn Tx,
    call: &Call,
    s: &Server,
    staged: Vec<StagedSnapshot>,
    image_name: &str,
    props: &mut Map<String, Value>,
) -> crate::compute::Result<()> {
    let vcall = super::volumes::volume_call(call);
    let attached = vm::attachments_of_server(c, &s.id)?;
    let mut mapping = Vec::new();
    for st in staged {
        let Some(a) = attached.iter().find(|a| a.volume_id == st.volume_id) else {
            continue; // detached meanwhile: its staged copy is dropped (removed)
        };
        let description = vm::find(c, &a.volume_id)?.and_then(|v| v.description);
        let snap = svc.volumes.record_snapshot(
            c,
            &vcall,
            st,
            Some(format!("snapshot for {image_name}")),
            description,
            true,
        )?;
        mapping.push(json!({
            "source_type": "snapshot",
            "destination_type": "volume",
            "snapshot_id": snap.id,
            "volume_size": snap.size,
            "device_name": a.mountpoint,
            "boot_index": a.boot_index,
            "delete_on_termination": a.delete_on_termination,
            "tag": a.tag,
            "guest_format": null,
            "device_type": "disk",
            "disk_bus": "virtio",
            "image_id": null,
            "volume_id": null,
            "no_device": null,
            "volume_type": null,
        }));
    }
    props.insert("root_device_name".into(), json!("/dev/vda"));
    if !mapping.is_empty() {
        // Glance's properties are strings: Nova writes the mapping as JSON.
        props.insert(
            "block_device_mapping".into(),
            json!(Value::Array(mapping).to_string()),
        );
        props.insert("bdm_v2".into(), json!("True"));
    }
    Ok(())
}

/// The block devices an image of a volume-backed server names (`block_device_mapping`).
pub fn image_block_devices(c: &dyn Tx, image_id: &str) -> crate::compute::Result<Vec<BlockDevice>> {
    let Ok(image) = crate::image::model::get(c, image_id) else {
        return Ok(vec![]);
    };
    let mapping: Vec<Value> = match image.properties.get("block_device_mapping") {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_default(),
        Some(Value::Array(a)) => a.clone(),
        _ => return Ok(vec![]),
    };
    Ok(mapping
        .iter()
        .filter_map(|m| {
            let snapshot = m.get("snapshot_id")?.as_str()?;
            Some(BlockDevice {
                source: Source::Snapshot(snapshot.to_string()),
                to_volume: true,
                boot_index: m
                    .get("boot_index")
                    .and_then(Value::as_i64)
                    .filter(|i| *i >= 0),
                volume_size: m.get("volume_size").and_then(Value::as_i64),
                delete_on_termination: m
                    .get("delete_on_termination")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                device_name: m
                    .get("device_name")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                tag: m.get("tag").and_then(Value::as_str).map(str::to_string),
                volume_type: None,
            })
        })
        .collect())
}

/// The root volume of a volume-backed server (None for a server booted from an image).
pub fn root_volume(c: &dyn Tx, server_id: &str) -> crate::compute::Result<Option<Volume>> {
    match vm::attachments_of_server(c, server_id)?
        .into_iter()
        .find(|a| a.boot_index == Some(0))
    {
        Some(a) => Ok(vm::find(c, &a.volume_id)?),
        None => Ok(None),
    }
}

/// Rebuild of a volume-backed server: before 2.93 only with the image already on its
/// volume; from 2.93 the volume is reimaged (its image metadata names the new image; its
/// bytes are not rewritten).
pub fn reimage(
    c: &dyn Tx,
    call: &Call,
    root: &Volume,
    image: &crate::image::model::Image,
) -> crate::compute::Result<()> {
    let current = root.image_metadata.get("image_id").and_then(Value::as_str);
    if current == Some(image.id.as_str()) {
        return Ok(());
    }
    if !call.version.at_least(93) {
        return Err(Fault::bad_request(
            "Unable to rebuild with a different image for a volume-backed server.",
        )
        .into());
    }
    let size = image.size.unwrap_or(0).max(0) as u64;
    if size > root.size as u64 * crate::volume::storage::GIB {
        return Err(Fault::bad_request(format!(
            "Volume is smaller than the minimum size specified in image metadata. Volume size is {} bytes, minimum size is {size} bytes.",
            root.size as u64 * crate::volume::storage::GIB
        ))
        .into());
    }
    let mut meta = root.image_metadata.clone();
    meta.insert("image_id".into(), json!(image.id));
    meta.insert("image_name".into(), json!(image.name));
    Ok(c.reimage_volume(&root.id, &meta, now_ms())?)
}

// ---------------------------------------------------------------- boot from volume

/// Where a block device's first bytes come from (`source_type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Volume(String),
    Image(String),
    Snapshot(String),
    Blank,
}

/// One entry of a create's `block_device_mapping_v2` (or legacy `block_device_mapping`).
#[derive(Debug, Clone)]
pub struct BlockDevice {
    pub source: Source,
    /// `destination_type: volume` (else `local`: the hypervisor's disk, no volume).
    pub to_volume: bool,
    pub boot_index: Option<i64>,
    pub volume_size: Option<i64>,
    pub delete_on_termination: bool,
    pub device_name: Option<String>,
    pub tag: Option<String>,
    pub volume_type: Option<String>,
}

impl BlockDevice {
    /// Whether this is the server's root disk and a volume (a volume-backed server).
    pub fn is_boot_volume(&self) -> bool {
        self.boot_index == Some(0) && self.to_volume
    }
}

/// Nova's `InvalidBDMFormat` / `InvalidBDM…` message.
fn invalid_bdm(details: &str) -> Fault {
    Fault::bad_request(format!("Block Device Mapping is Invalid: {details}"))
}

/// Nova's `parameter_types.boolean`: JSON booleans and their usual spellings.
pub fn boolean_value(key: &str, v: &Value) -> Result<bool, Fault> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "1" | "t" | "true" | "on" | "y" | "yes" => Ok(true),
            "0" | "f" | "false" | "off" | "n" | "no" => Ok(false),
            _ => Err(invalid(
                key,
                v,
                &format!("{v} is not of type 'boolean', 'string'"),
            )),
        },
        _ => Err(invalid(
            key,
            v,
            &format!("{v} is not of type 'boolean', 'string'"),
        )),
    }
}

/// An integer field that Nova also takes as a string of digits; null is absent.
fn bdm_int(key: &str, v: &Value) -> Result<Option<i64>, Fault> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| invalid(key, v, "is not an integer")),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| invalid(key, v, &format!("{v} is not of type 'integer', 'string'"))),
        _ => Err(invalid(
            key,
            v,
            &format!("{v} is not of type 'integer', 'string'"),
        )),
    }
}

fn bdm_string(key: &str, v: &Value) -> Result<Option<String>, Fault> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(invalid(key, v, &format!("{v} is not of type 'string'"))),
    }
}

/// The block devices a create body asks for, checked as Nova's schema and
/// `BlockDeviceDict.from_api` check them.
pub fn parse_block_devices(
    version: Version,
    server: &Map<String, Value>,
) -> Result<Vec<BlockDevice>, Fault> {
    let v2 = server.get("block_device_mapping_v2");
    let legacy = server.get("block_device_mapping");
    if v2.is_some() && legacy.is_some() {
        return Err(Fault::bad_request(
            "Using different block_device_mapping syntaxes is not allowed in the same request.",
        ));
    }
    let (list, is_v2) = match (v2, legacy) {
        (Some(l), _) => (l, true),
        (None, Some(l)) => (l, false),
        (None, None) => return Ok(vec![]),
    };
    let key = if is_v2 {
        "block_device_mapping_v2"
    } else {
        "block_device_mapping"
    };
    let items = list
        .as_array()
        .ok_or_else(|| invalid(key, list, &format!("{list} is not of type 'array'")))?;
    let mut out = Vec::new();
    for item in items {
        let m = item
            .as_object()
            .ok_or_else(|| invalid(key, item, &format!("{item} is not of type 'object'")))?;
        out.push(if is_v2 {
            parse_v2(version, m)?
        } else {
            parse_legacy(m)?
        });
    }
    let boots = out.iter().filter(|d| d.boot_index == Some(0)).count();
    if boots > 1 {
        return Err(invalid_bdm(
            "Boot sequence for the instance and image/block device mapping combination is not valid.",
        ));
    }
    Ok(out)
}

fn parse_v2(version: Version, m: &Map<String, Value>) -> Result<BlockDevice, Fault> {
    const KEYS: &[&str] = &[
        "source_type",
        "destination_type",
        "uuid",
        "image_id",
        "volume_id",
        "snapshot_id",
        "boot_index",
        "volume_size",
        "delete_on_termination",
        "device_name",
        "device_type",
        "disk_bus",
        "guest_format",
        "no_device",
        "connection_info",
        "tag",
        "volume_type",
        "encrypted",
        "encryption_secret_uuid",
        "encryption_format",
        "encryption_options",
    ];
    let extra: Vec<&String> = m.keys().filter(|k| !KEYS.contains(&k.as_str())).collect();
    let gated = [("tag", 42), ("volume_type", 67)];
    if let Some(k) = extra.first().copied().or_else(|| {
        gated
            .iter()
            .find(|(k, min)| m.contains_key(*k) && !version.at_least(*min))
            .and_then(|(k, _)| m.keys().find(|x| x == k))
    }) {
        return Err(Fault::bad_request(format!(
            "Additional properties are not allowed ('{k}' was unexpected)"
        )));
    }
    let source_type = match m.get("source_type") {
        None | Some(Value::Null) => None,
        Some(Value::String(s))
            if ["volume", "image", "snapshot", "blank"].contains(&s.as_str()) =>
        {
            Some(s.as_str())
        }
        Some(other) => {
            return Err(invalid(
                "source_type",
                other,
                &format!("{other} is not one of ['volume', 'image', 'snapshot', 'blank']"),
            ))
        }
    };
    let to_volume = match m.get("destination_type") {
        None | Some(Value::Null) => source_type.is_some_and(|s| s != "image" && s != "blank"),
        Some(Value::String(d)) if d == "volume" => true,
        Some(Value::String(d)) if d == "local" => false,
        Some(other) => {
            return Err(invalid(
                "destination_type",
                other,
                &format!("{other} is not one of ['local', 'volume']"),
            ))
        }
    };
    let uuid = match m.get("uuid") {
        None | Some(Value::Null) => None,
        Some(Value::String(u)) if !u.is_empty() && u.len() <= 255 => Some(u.clone()),
        Some(other) => {
            return Err(invalid(
                "uuid",
                other,
                &format!("{other} does not match '^[a-zA-Z0-9._-]*$'"),
            ))
        }
    };
    let source = match source_type {
        Some("blank") | None => Source::Blank,
        Some(kind) => {
            let id = uuid.ok_or_else(|| invalid_bdm("Missing device UUID."))?;
            match kind {
                "volume" => Source::Volume(id),
                "image" => Source::Image(id),
                _ => Source::Snapshot(id),
            }
        }
    };
    let d = BlockDevice {
        source,
        to_volume,
        boot_index: match m.get("boot_index") {
            None => None,
            Some(b) => bdm_int("boot_index", b)?.filter(|i| *i >= 0),
        },
        volume_size: match m.get("volume_size") {
            None => None,
            Some(s) => bdm_int("volume_size", s)?,
        },
        delete_on_termination: match m.get("delete_on_termination") {
            None => false,
            Some(b) => boolean_value("delete_on_termination", b)?,
        },
        device_name: match m.get("device_name") {
            None => None,
            Some(n) => bdm_string("device_name", n)?
                .filter(|n| !n.is_empty())
                .map(|n| format!("/dev/{}", n.trim_start_matches("/dev/"))),
        },
        tag: match m.get("tag") {
            None => None,
            Some(t) => bdm_string("tag", t)?,
        },
        volume_type: match m.get("volume_type") {
            None => None,
            Some(t) => bdm_string("volume_type", t)?,
        },
    };
    if d.to_volume {
        match (&d.source, d.volume_size) {
            (Source::Image(_), None | Some(0)) => {
                return Err(invalid_bdm(
                    "Images with destination_type 'volume' need to have a non-zero size specified",
                ))
            }
            (Source::Blank, None | Some(0)) => {
                return Err(invalid_bdm(
                    "Blank volumes (source: 'blank', dest: 'volume') need to have non-zero size",
                ))
            }
            _ => {}
        }
    }
    if d.volume_size.is_some_and(|s| s < 0) {
        return Err(invalid_bdm("volume_size must be a positive integer."));
    }
    Ok(d)
}

/// A legacy (v1) entry: `volume_id` or `snapshot_id` at `device_name`; the root device
/// (`vda`) is the boot volume.
fn parse_legacy(m: &Map<String, Value>) -> Result<BlockDevice, Fault> {
    let get = |k: &str| m.get(k).map(|v| bdm_string(k, v)).transpose();
    let device_name = get("device_name")?
        .flatten()
        .filter(|n| !n.is_empty())
        .map(|n| format!("/dev/{}", n.trim_start_matches("/dev/")));
    let source = match (get("volume_id")?.flatten(), get("snapshot_id")?.flatten()) {
        (Some(v), _) => Source::Volume(v),
        (None, Some(s)) => Source::Snapshot(s),
        (None, None) => return Err(invalid_bdm("Missing device UUID.")),
    };
    let root = device_name
        .as_deref()
        .is_some_and(|d| matches!(d, "/dev/vda" | "/dev/sda" | "/dev/xvda" | "/dev/hda"));
    Ok(BlockDevice {
        source,
        to_volume: true,
        boot_index: root.then_some(0),
        volume_size: match m.get("volume_size") {
            None => None,
            Some(s) => bdm_int("volume_size", s)?,
        },
        delete_on_termination: match m.get("delete_on_termination") {
            None => false,
            Some(b) => boolean_value("delete_on_termination", b)?,
        },
        device_name,
        tag: None,
        volume_type: None,
    })
}

/// The volume of one block device of one new server.
#[derive(Debug, Clone)]
pub struct DeviceVolume {
    /// Which block device (its index in the request).
    pub device: usize,
    pub volume_id: String,
    /// Made for this server by the create (deleted again if the create fails).
    pub made: bool,
}

/// Makes the volumes the block devices ask for (from an image, a snapshot, or blank),
/// `count` sets of them (one per server of a multi-create), each in block storage's own
/// transaction, before the server's. Returns per server the volume of each device that
/// is one, in order; on failure the volumes already made are deleted again.
pub fn make_volumes(
    svc: &Compute,
    call: &Call,
    devices: &[BlockDevice],
    count: i64,
) -> Result<Vec<Vec<DeviceVolume>>, Fault> {
    let vcall = crate::volume::Call {
        caller: call.caller.clone(),
        version: crate::volume::API.min,
        project_id: call.project_id.clone(),
    };
    let mut out: Vec<Vec<DeviceVolume>> = Vec::new();
    for _ in 0..count {
        let mut set = Vec::new();
        for (i, d) in devices.iter().enumerate().filter(|(_, d)| d.to_volume) {
            let spec = match &d.source {
                Source::Volume(id) => {
                    set.push(DeviceVolume {
                        device: i,
                        volume_id: id.clone(),
                        made: false,
                    });
                    continue;
                }
                Source::Image(id) => crate::volume::volumes::NewVolume {
                    size: d.volume_size,
                    image_ref: Some(id.clone()),
                    volume_type: d.volume_type.clone(),
                    ..Default::default()
                },
                Source::Snapshot(id) => crate::volume::volumes::NewVolume {
                    size: d.volume_size.filter(|s| *s > 0),
                    snapshot_id: Some(id.clone()),
                    volume_type: d.volume_type.clone(),
                    ..Default::default()
                },
                Source::Blank => crate::volume::volumes::NewVolume {
                    size: d.volume_size,
                    volume_type: d.volume_type.clone(),
                    ..Default::default()
                },
            };
            match svc.volumes.create_volume(&vcall, spec) {
                Ok(v) => set.push(DeviceVolume {
                    device: i,
                    volume_id: v.id,
                    made: true,
                }),
                Err(f) => {
                    out.push(set);
                    discard(svc, &out);
                    return Err(match (&d.source, f.status) {
                        (Source::Image(id), 404 | 400) if f.message.contains("mage") => {
                            invalid_bdm(&format!("failed to get image {id}."))
                        }
                        (Source::Snapshot(id), 404) => {
                            invalid_bdm(&format!("failed to get snapshot {id}."))
                        }
                        (_, 413) => Fault::forbidden(f.message),
                        _ => f,
                    });
                }
            }
        }
        out.push(set);
    }
    Ok(out)
}

/// Deletes the volumes a failed (or smaller than asked) create made.
pub fn discard(svc: &Compute, sets: &[Vec<DeviceVolume>]) {
    for DeviceVolume { volume_id: id, .. } in sets.iter().flatten().filter(|d| d.made) {
        let removed = svc.volumes.write(|c| match vm::find(c, id)? {
            Some(v) => svc.volumes.delete_volume(c, &v, false, true).map(Some),
            None => Ok(None),
        });
        if let Ok(Some(snapshots)) = removed {
            svc.volumes.remove_files(id, &snapshots);
        }
    }
}

/// Attaches a new server's volumes in its create transaction: the root volume at
/// `/dev/vda`, the others at their device or the next free one. A volume made for the
/// server is ready at once (its bytes were written before its row).
pub fn attach_block_devices(
    svc: &Compute,
    c: &dyn Tx,
    call: &Call,
    s: &Server,
    devices: &[BlockDevice],
    volumes: &[DeviceVolume],
) -> crate::compute::Result<()> {
    // The boot volume first, so that it takes /dev/vda.
    let mut order: Vec<&DeviceVolume> = volumes.iter().collect();
    order.sort_by_key(|v| devices[v.device].boot_index != Some(0));
    for DeviceVolume {
        device,
        volume_id,
        made,
    } in order
    {
        let d = &devices[*device];
        let volume = if *made {
            vm::set_status(c, volume_id, VolumeStatus::Available)?;
            vm::find(c, volume_id)?.ok_or_else(|| vm::volume_not_found(volume_id))?
        } else {
            vm::visible(c, volume_id, &call.project_id, call.is_admin())
                .map_err(|_| invalid_bdm(&format!("failed to get volume {volume_id}.")))?
        };
        if d.boot_index == Some(0) && !volume.bootable {
            return Err(
                Fault::bad_request(format!("Block Device {volume_id} is not bootable.")).into(),
            );
        }
        let device = if d.boot_index == Some(0) {
            Some("/dev/vda".to_string())
        } else {
            d.device_name.clone()
        };
        attach_to(
            svc,
            c,
            call,
            s,
            &volume,
            device,
            d.boot_index,
            d.delete_on_termination,
            d.tag.clone(),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn block_devices_follow_novas_rules() {
        let v = Version(2, 67);
        let boot = parse_block_devices(
            v,
            &server(json!({"block_device_mapping_v2": [
                {"boot_index": "0", "uuid": "i", "source_type": "image",
                 "destination_type": "volume", "volume_size": 1, "delete_on_termination": "true"},
                {"source_type": "blank", "destination_type": "volume", "volume_size": "2"},
            ]})),
        )
        .unwrap();
        assert!(boot[0].is_boot_volume() && boot[0].delete_on_termination);
        assert_eq!(boot[0].source, Source::Image("i".into()));
        assert_eq!(boot[1].volume_size, Some(2));
        assert!(!boot[1].is_boot_volume());
        let bad = |body: Value| parse_block_devices(v, &server(body)).unwrap_err().message;
        assert!(bad(json!({"block_device_mapping_v2": [
            {"source_type": "volume", "uuid": "x", "destination_type": "invalid"}]}))
        .contains("destination_type"));
        assert!(bad(json!({"block_device_mapping_v2": [
            {"source_type": "image", "uuid": "x", "destination_type": "volume"}]}))
        .starts_with("Block Device Mapping is Invalid"));
        assert!(bad(json!({"block_device_mapping_v2": [
            {"source_type": "volume", "destination_type": "volume"}]}))
        .contains("Missing device UUID"));
        assert!(
            bad(json!({"block_device_mapping": [], "block_device_mapping_v2": []}))
                .contains("different block_device_mapping syntaxes")
        );
        // tag arrives with 2.42, volume_type with 2.67.
        assert!(parse_block_devices(
            Version(2, 41),
            &server(json!({"block_device_mapping_v2": [
                {"source_type": "blank", "destination_type": "local", "tag": "t"}]})),
        )
        .is_err());
    }

    #[test]
    fn legacy_root_device_boots() {
        let d = parse_block_devices(
            Version(2, 1),
            &server(json!({"block_device_mapping": [
                {"volume_id": "v", "device_name": "vda", "delete_on_termination": true}]})),
        )
        .unwrap();
        assert_eq!(d[0].source, Source::Volume("v".into()));
        assert!(d[0].is_boot_volume());
        assert_eq!(d[0].device_name.as_deref(), Some("/dev/vda"));
    }

    #[test]
    fn device_names_are_checked() {
        assert_eq!(
            device_name(&json!("/dev/vdc")).unwrap().as_deref(),
            Some("/dev/vdc")
        );
        assert_eq!(
            device_name(&json!("vdc")).unwrap().as_deref(),
            Some("/dev/vdc")
        );
        assert_eq!(device_name(&Value::Null).unwrap(), None);
        assert!(device_name(&json!("/dev/VD!")).is_err());
    }

    #[test]
    fn attachment_views_follow_the_microversion() {
        let a = Attachment {
            id: "att".into(),
            volume_id: "vol".into(),
            server_id: Some("srv".into()),
            status: "attached".into(),
            attach_mode: "rw".into(),
            host: None,
            mountpoint: Some("/dev/vdb".into()),
            connector: None,
            boot_index: None,
            delete_on_termination: true,
            tag: None,
            attached_ms: None,
            created_ms: 0,
            updated_ms: 0,
        };
        let old = view(&a, "srv", Version(2, 1));
        assert_eq!(old["id"], "vol");
        assert!(old.get("tag").is_none() && old.get("delete_on_termination").is_none());
        let v79 = view(&a, "srv", Version(2, 79));
        assert_eq!(v79["tag"], Value::Null);
        assert_eq!(v79["delete_on_termination"], true);
        let v89 = view(&a, "srv", Version(2, 89));
        assert!(v89.get("id").is_none());
        assert_eq!(v89["attachment_id"], "att");
        assert_eq!(v89["bdm_uuid"], bdm_uuid(&a));
    }
}
