//! `POST /volumes/{id}/action`: Cinder's volume actions, one key per request body
//! (`os-extend`, `os-attach`, `os-volume_upload_image`, …). Attachments go through the
//! shared steps in `model.rs`, so Nova sees what Cinder records.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::super::model::{self, AttachSpec, Volume};
use super::super::states::{self, SnapshotAction, SnapshotStatus, VolumeAction, VolumeStatus};
use super::super::storage::{Kind, Source, GIB};
use super::super::{body, param, reply, reply_empty, timestamp, Call, Volumes};
use super::views;
use crate::store::Tx;
use crate::volume::quotas::{self, Usage};
use crate::volume::snapshots::{flag, metadata_in};
use crate::volume::types;

type Svc = Arc<Volumes>;
type Outcome<T> = crate::store::Outcome<T>;

fn invalid_input(why: impl std::fmt::Display) -> Fault {
    Fault::bad_request(format!("Invalid input received: {why}"))
}

fn no_such_action(action: &str) -> Fault {
    Fault::bad_request(format!("There is no such action: {action}"))
}

/// The value of a required key of an action's body (Cinder's "Must specify …").
fn required<'a>(args: &'a Value, key: &str) -> Result<&'a Value, Fault> {
    args.get(key)
        .filter(|v| !v.is_null())
        .ok_or_else(|| Fault::bad_request(format!("Must specify '{key}'")))
}

pub fn act(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "volume_id")?.to_string();
    let body = body(req)?;
    let Some((action, args)) = body.as_object().and_then(|o| o.iter().next()) else {
        return Err(Fault::bad_request("Malformed request body"));
    };
    let args = args.clone();
    match action.as_str() {
        "os-show_image_metadata" => {
            let v = visible(svc, &call, &id)?;
            return reply(
                resp,
                &call,
                200,
                &json!({"metadata": views::stringified(&v.image_metadata)}),
            );
        }
        // Actions of later microversions do not exist below them.
        "revert" if !call.version.at_least(40) => return Err(no_such_action(action)),
        "os-reimage" if !call.version.at_least(68) => return Err(no_such_action(action)),
        _ => {}
    }
    match action.as_str() {
        "os-extend" => extend(svc, &call, &id, &args)?,
        "os-attach" => attach(svc, &call, &id, &args)?,
        "os-detach" | "os-force_detach" => detach(svc, &call, &id, &args)?,
        // Cinder's legacy reserve: `attaching` with no attachment yet (os-attach makes it);
        // not `model::reserve`, whose attachment is `reserved` at once.
        "os-reserve" => change(svc, &call, &id, |c, v| {
            model::check(c, v, VolumeAction::Reserve)?;
            Ok(model::set_status(c, &v.id, VolumeStatus::Attaching)?)
        })?,
        "os-unreserve" => change(svc, &call, &id, |c, v| undo(c, v, VolumeAction::Unreserve))?,
        "os-begin_detaching" => change(svc, &call, &id, |c, v| {
            model::check(c, v, VolumeAction::BeginDetaching)?;
            Ok(model::set_status(c, &v.id, VolumeStatus::Detaching)?)
        })?,
        "os-roll_detaching" => change(svc, &call, &id, |c, v| {
            undo(c, v, VolumeAction::RollDetaching)
        })?,
        "os-initialize_connection" => {
            required(&args, "connector")?;
            let v = visible(svc, &call, &id)?;
            let mode = if v.readonly { "ro" } else { "rw" };
            let path = svc.disks.path(Kind::Volume, &v.id);
            let info = json!({"connection_info": {
                "driver_volume_type": "local",
                "data": {"device_path": path.display().to_string(), "access_mode": mode},
            }});
            return reply(resp, &call, 200, &info);
        }
        "os-terminate_connection" => {
            required(&args, "connector")?;
            visible(svc, &call, &id)?;
        }
        "os-set_bootable" => {
            let b = args
                .get("bootable")
                .ok_or_else(|| Fault::bad_request("Must specify bootable in request."))?;
            let b = flag(Some(b), "bootable")?;
            change(svc, &call, &id, |c, v| {
                c.set_bootable(&v.id, b, crate::time::now_ms())?;
                Ok(())
            })?;
            return reply_empty(resp, &call, 200);
        }
        "os-update_readonly_flag" => {
            let r = args
                .get("readonly")
                .ok_or_else(|| Fault::bad_request("Must specify readonly in request."))?;
            let r = flag(Some(r), "readonly")?;
            change(svc, &call, &id, |c, v| {
                model::check(c, v, VolumeAction::UpdateReadonly)?;
                c.set_readonly(&v.id, r, crate::time::now_ms())?;
                Ok(())
            })?;
        }
        "os-volume_upload_image" => {
            let out = upload_image(svc, &call, &id, &args)?;
            return reply(resp, &call, 202, &json!({ "os-volume_upload_image": out }));
        }
        "os-set_image_metadata" => {
            let m = match args.get("metadata") {
                Some(m) => metadata_in(m)?,
                None => return Err(Fault::bad_request("Malformed request body")),
            };
            let mut out = Map::new();
            change(svc, &call, &id, |c, v| {
                let mut all = v.image_metadata.clone();
                all.extend(m);
                save_image_metadata(c, &v.id, &all)?;
                out = views::stringified(&all);
                Ok(())
            })?;
            return reply(resp, &call, 200, &json!({ "metadata": out }));
        }
        "os-unset_image_metadata" => {
            let key = args
                .get("key")
                .and_then(Value::as_str)
                .ok_or_else(|| Fault::bad_request("Malformed request body"))?
                .to_string();
            change(svc, &call, &id, |c, v| {
                let mut all = v.image_metadata.clone();
                if all.remove(&key).is_none() {
                    return Err(Fault::not_found("The resource could not be found.").into());
                }
                save_image_metadata(c, &v.id, &all)
            })?;
            return reply_empty(resp, &call, 200);
        }
        "os-reset_status" => reset_status(svc, &call, &id, &args)?,
        "os-force_delete" => {
            let snapshots = svc.write(|c| {
                let v = model::visible(c, &id, &call.project_id, call.is_admin())?;
                svc.delete_volume(c, &v, true, true)
            })?;
            svc.remove_files(&id, &snapshots);
        }
        "os-retype" => retype(svc, &call, &id, &args)?,
        "revert" => revert(svc, &call, &id, &args)?,
        "os-reimage" => reimage(svc, &call, &id, &args)?,
        other => return Err(no_such_action(other)),
    }
    reply_empty(resp, &call, 202)
}

fn visible(svc: &Volumes, call: &Call, id: &str) -> Result<Volume, Fault> {
    svc.read(|c| Ok(model::visible(c, id, &call.project_id, call.is_admin())?))
}

/// Runs `f` on the caller's volume in one transaction.
fn change(
    svc: &Volumes,
    call: &Call,
    id: &str,
    f: impl FnOnce(&dyn Tx, &Volume) -> Outcome<()>,
) -> Result<(), Fault> {
    svc.write(|c| {
        let v = model::visible(c, id, &call.project_id, call.is_admin())?;
        f(c, &v)
    })
}

/// Takes back a step begun (`attaching` by os-reserve: os-unreserve; `detaching` by
/// os-begin_detaching: os-roll_detaching): the volume is in-use while attached, else
/// available. From other statuses, as Cinder, nothing changes.
fn undo(c: &dyn Tx, v: &Volume, action: VolumeAction) -> Outcome<()> {
    match model::may_start(c, v, action)? {
        Ok(()) => {}
        Err(r) if r.is_quiet() => return Ok(()),
        Err(r) => return Err(model::refused(r, v).into()),
    }
    let attached = model::attachments_of(c, &v.id)?
        .iter()
        .any(|a| a.status == "attached");
    let status = if attached {
        VolumeStatus::InUse
    } else {
        VolumeStatus::Available
    };
    Ok(model::set_status(c, &v.id, status)?)
}

fn save_image_metadata(c: &dyn Tx, id: &str, m: &Map<String, Value>) -> Outcome<()> {
    c.set_image_metadata(id, m, crate::time::now_ms())?;
    Ok(())
}

fn extend(svc: &Volumes, call: &Call, id: &str, args: &Value) -> Result<(), Fault> {
    let raw = required(args, "new_size")?;
    let new_size = super::gigabytes(
        "new_size",
        raw,
        &format!("{raw} is not of type 'integer', 'string'"),
    )?;
    // Set when the file system cannot hold the new size; the transaction is then undone.
    let mut no_room: Option<String> = None;
    let extended = svc.write(|c| {
        let v = model::visible(c, id, &call.project_id, call.is_admin())?;
        let action = if call.version.at_least(42) {
            VolumeAction::ExtendInUse
        } else {
            VolumeAction::Extend
        };
        model::check(c, &v, action)?;
        if new_size <= v.size {
            return Err(invalid_input(format!(
                "New size for extend must be greater than current size. (current: {}, extended: {new_size}).",
                v.size
            ))
            .into());
        }
        let type_name = types::name_of(c, &v.volume_type_id)?;
        quotas::check(
            c,
            &v.project_id,
            &Usage {
                gigabytes: new_size - v.size,
                ..Default::default()
            },
            type_name.as_deref(),
        )?;
        quotas::check_size(c, &v.project_id, new_size)?;
        c.set_volume_size(&v.id, new_size)?;
        model::set_busy(c, &v.id, VolumeStatus::Extending, svc.delay_ms)?;
        if v.state() == Some(VolumeStatus::InUse) {
            // Cinder tells Nova ("volume-extended"), which records an `extend_volume`
            // action on every server the volume is attached to.
            let now = crate::time::now_ms();
            let request_id = format!("req-{}", uuid::Uuid::new_v4());
            for server in model::attachments_of(c, &v.id)?
                .iter()
                .filter_map(|a| a.server_id.as_deref())
            {
                crate::compute::servers::model::record_action(
                    c,
                    &crate::compute::servers::model::ActionRecord {
                        server_id: server,
                        action: "extend_volume",
                        request_id: &request_id,
                        user_id: &call.caller.user_id,
                        project_id: &call.project_id,
                        event: "compute_extend_volume",
                        host: &svc.host,
                        now_ms: now,
                        due_ms: now + svc.delay_ms,
                    },
                )?;
            }
        }
        // new_size is at most DB_MAX_INT, so its bytes (at most 2^61) fit.
        match svc.disks.grow(Kind::Volume, &v.id, new_size as u64 * GIB) {
            Err(e) if super::super::storage::too_large(&e) => {
                no_room = Some(v.project_id.clone());
                Err(Fault::internal("no room for the new size").into())
            }
            other => other.map_err(|e| svc.io("growing the volume's file", e)),
        }
    });
    match no_room {
        // Cinder's scheduler finds no back end with room for the new size: the quota goes
        // back, the volume keeps its size and status, and its owner gets a message
        // (`SchedulerManager.extend_volume` on NoValidBackend). The request was accepted.
        Some(project_id) => svc.write(|c| {
            super::super::messages::record(
                c,
                &project_id,
                &format!("req-{}", uuid::Uuid::new_v4()),
                super::super::messages::VOLUME,
                id,
                super::super::messages::EXTEND_VOLUME,
                super::super::messages::NO_BACKEND_AVAILABLE,
            )?;
            Ok(())
        }),
        None => extended,
    }
}

fn attach(svc: &Volumes, call: &Call, id: &str, args: &Value) -> Result<(), Fault> {
    let server_id = args
        .get("instance_uuid")
        .and_then(Value::as_str)
        .map(str::to_string);
    let host = args
        .get("host_name")
        .and_then(Value::as_str)
        .map(str::to_string);
    if server_id.is_none() && host.is_none() {
        return Err(Fault::bad_request(
            "Invalid request to attach volume to an invalid target",
        ));
    }
    let mode = args
        .get("mode")
        .and_then(Value::as_str)
        .unwrap_or("rw")
        .to_string();
    if mode != "rw" && mode != "ro" {
        return Err(Fault::bad_request(
            "Invalid request to attach volume with an invalid mode. Attaching mode should be 'rw' or 'ro'",
        ));
    }
    let mountpoint = args
        .get("mountpoint")
        .and_then(Value::as_str)
        .map(str::to_string);
    svc.write(|c| {
        let v = model::visible(c, id, &call.project_id, call.is_admin())?;
        if v.readonly && mode == "rw" {
            return Err(Fault::bad_request(format!(
                "Invalid attaching mode 'rw' for volume {}.",
                v.id
            ))
            .into());
        }
        let spec = AttachSpec {
            server_id: server_id.clone(),
            host: host.clone(),
            mountpoint: mountpoint.clone(),
            mode: Some(mode.clone()),
            ..Default::default()
        };
        // A volume os-reserve left attaching (no attachment yet) is attached too.
        model::attach_as(c, &v, &spec, VolumeAction::Attach)?;
        // Cinder's attach adds the `readonly` admin metadata when missing.
        c.record_readonly(&v.id)?;
        Ok(())
    })
}

fn detach(svc: &Volumes, call: &Call, id: &str, args: &Value) -> Result<(), Fault> {
    let wanted = args
        .get("attachment_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    svc.write(|c| {
        let v = model::visible(c, id, &call.project_id, call.is_admin())?;
        model::check(c, &v, VolumeAction::Detach)?;
        let attachments = model::attachments_of(c, &v.id)?;
        // As Cinder's volume manager: detaching what is not attached settles the volume
        // as available.
        let attachment = match &wanted {
            Some(a) => attachments.iter().find(|x| &x.id == a),
            None => match attachments.as_slice() {
                [one] => Some(one),
                [] => None,
                _ => {
                    return Err(Fault::bad_request(
                        "Invalid volume: Detach volume failed: More than one attachment, but no attachment_id provided.",
                    )
                    .into())
                }
            },
        };
        match attachment {
            Some(a) => Ok(model::detach(c, &a.id)?),
            None if attachments.is_empty() => {
                Ok(model::set_status(c, &v.id, VolumeStatus::Available)?)
            }
            None => Ok(()),
        }
    })
}

fn reset_status(svc: &Volumes, call: &Call, id: &str, args: &Value) -> Result<(), Fault> {
    let status = args.get("status").and_then(Value::as_str);
    let attach_status = args.get("attach_status").and_then(Value::as_str);
    let migration_status = args.get("migration_status").and_then(Value::as_str);
    if status.is_none() && attach_status.is_none() && migration_status.is_none() {
        return Err(Fault::bad_request(
            "Must specify 'status', 'attach_status' or 'migration_status' for update.",
        ));
    }
    let status = match status {
        None => None,
        Some(s) => match VolumeStatus::parse(s).filter(|v| VolumeStatus::RESETTABLE.contains(v)) {
            Some(v) => Some(v),
            None => {
                let resettable: Vec<&str> = VolumeStatus::RESETTABLE
                    .iter()
                    .map(|v| v.as_str())
                    .collect();
                return Err(Fault::bad_request(format!(
                    "Invalid input for field/attribute status. Value: {s}. '{s}' is not one of {resettable:?}"
                )));
            }
        },
    };
    if let Some(a) = attach_status {
        if a != "attached" && a != "detached" {
            return Err(Fault::bad_request(format!(
                "Invalid input received: Must specify a valid attach status, attach_status {a} is invalid"
            )));
        }
    }
    change(svc, call, id, |c, v| {
        if let Some(s) = status {
            model::set_status(c, &v.id, s)?;
        }
        if attach_status == Some("detached") {
            c.delete_attachments_of(&v.id)?;
        }
        if let Some(m) = migration_status {
            let m = if m.eq_ignore_ascii_case("none") {
                None
            } else {
                Some(m)
            };
            c.set_migration_status(&v.id, m)?;
        }
        Ok(())
    })
}

fn retype(svc: &Volumes, call: &Call, id: &str, args: &Value) -> Result<(), Fault> {
    let new_type = required(args, "new_type")?
        .as_str()
        .ok_or_else(|| Fault::bad_request("Invalid input for field/attribute new_type."))?
        .to_string();
    change(svc, call, id, |c, v| {
        model::check(c, v, VolumeAction::Retype)?;
        let t = types::resolve(c, Some(&new_type), &call.project_id, call.is_admin())?;
        if t.id == v.volume_type_id {
            return Err(
                invalid_input("Retype cannot be performed to the same volume type.").into(),
            );
        }
        // A volume is multiattach exactly when its type is: retyping changes the flag.
        c.retype_volume(&v.id, &t.id, t.multiattach(), crate::time::now_ms())?;
        // The type changes at once: a local volume needs no migration, and Cinder's
        // `retyping` ends with the new type, never shows it earlier.
        Ok(())
    })
}

/// Disk formats Cinder uploads a volume as.
const DISK_FORMATS: &[&str] = &["raw", "vmdk", "vdi", "qcow2", "vhd", "vhdx", "ploop"];

/// Streams the volume's bytes into a new active image; the volume is `uploading` for the
/// usual delay, then back to its status.
fn upload_image(svc: &Volumes, call: &Call, id: &str, args: &Value) -> Result<Value, Fault> {
    let image_name = args
        .get("image_name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Fault::bad_request("No image_name was specified in request."))?
        .to_string();
    let force = flag(args.get("force"), "force")?;
    let disk_format = args
        .get("disk_format")
        .and_then(Value::as_str)
        .unwrap_or("raw")
        .to_lowercase();
    if !DISK_FORMATS.contains(&disk_format.as_str()) {
        return Err(Fault::bad_request(format!(
            "Invalid disk-format '{disk_format}' is specified. Allowed disk-formats are {}.",
            DISK_FORMATS.join(", ")
        )));
    }
    let container_format = args
        .get("container_format")
        .and_then(Value::as_str)
        .unwrap_or("bare")
        .to_string();
    let (visibility, protected) = if call.version.at_least(1) {
        (
            args.get("visibility")
                .and_then(Value::as_str)
                .unwrap_or("private")
                .to_string(),
            flag(args.get("protected"), "protected")?,
        )
    } else {
        ("private".to_string(), false)
    };
    if !["public", "private", "shared", "community"].contains(&visibility.as_str()) {
        return Err(invalid_input(format!("Invalid visibility: {visibility}")));
    }
    // The table lets a member upload; a public image is an admin's (Cinder asks this
    // policy only when the body says `public`).
    if visibility == "public" {
        call.admin("volume_extension:volume_actions:upload_public")?;
    }
    let (v, vtype) = svc.write(|c| {
        let v = model::visible(c, id, &call.project_id, call.is_admin())?;
        let action = if force {
            VolumeAction::ForceUploadImage
        } else {
            VolumeAction::UploadImage
        };
        model::check(c, &v, action)?;
        let vtype = types::find(c, &v.volume_type_id)?;
        model::set_busy(c, &v.id, VolumeStatus::Uploading, svc.delay_ms)?;
        Ok((v, vtype))
    })?;
    let now = crate::time::now_seconds_iso();
    let mut image = crate::image::model::Image::queued(
        uuid::Uuid::new_v4().to_string(),
        Some(v.project_id.clone()),
        &now,
    );
    image.name = Some(image_name.clone());
    image.disk_format = Some(disk_format.clone());
    image.container_format = Some(container_format.clone());
    image.visibility = visibility.clone();
    image.protected = protected;
    for (k, val) in &v.image_metadata {
        const CORE: &[&str] = &[
            "image_id",
            "image_name",
            "checksum",
            "container_format",
            "disk_format",
            "min_disk",
            "min_ram",
            "size",
        ];
        if !CORE.contains(&k.as_str()) {
            image.properties.insert(k.clone(), val.clone());
        }
    }
    let uploaded = std::fs::File::open(svc.disks.path(Kind::Volume, &v.id))
        .map_err(|e| svc.fault(svc.io("reading the volume's file", e)))
        .and_then(|mut f| svc.images.create_active(image, &mut f));
    let image = match uploaded {
        Ok(i) => i,
        Err(f) => {
            // The upload failed: the volume is back as it was at once.
            let _ = svc.write(|c| Ok(model::end_busy(c, &v.id)?));
            return Err(f);
        }
    };
    let vtype = vtype.map(|t| {
        json!({
            "id": t.id, "name": t.name, "description": t.description,
            "is_public": t.is_public, "extra_specs": t.extra_specs,
            "created_at": timestamp(t.created_ms), "updated_at": null,
            "deleted": false, "deleted_at": null, "qos_specs_id": null,
        })
    });
    Ok(json!({
        "id": v.id,
        "updated_at": timestamp(crate::time::now_ms()),
        "status": VolumeStatus::Uploading.as_str(),
        "display_description": v.description,
        "size": v.size,
        "volume_type": vtype,
        "image_id": image.id,
        "container_format": container_format,
        "disk_format": disk_format,
        "image_name": image_name,
        "protected": protected,
        "visibility": visibility,
        "is_public": visibility == "public",
    }))
}

/// `revert` (3.40): the volume's bytes become its latest snapshot's, as Cinder's
/// `revert_to_snapshot`; the volume is `reverting` and the snapshot `restoring` for the
/// usual delay, then both `available`.
fn revert(svc: &Volumes, call: &Call, id: &str, args: &Value) -> Result<(), Fault> {
    let snapshot_id = match args.get("snapshot_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(Fault::bad_request(format!(
                "Invalid input for field/attribute snapshot_id. Value: {other}. {other} is not of type 'string', 'null'"
            )))
        }
    };
    // Checked as Cinder does, before the bytes are copied and again as they are recorded.
    let checked = |c: &dyn Tx| -> Outcome<(Volume, crate::volume::snapshots::Snapshot)> {
        let v = model::visible(c, id, &call.project_id, call.is_admin())?;
        // Cinder's `get_latest_snapshot`.
        let latest = c.latest_snapshot(&v.id)?.ok_or_else(|| {
            Fault::bad_request(format!("Volume {} doesn't have any snapshots.", v.id))
        })?;
        if snapshot_id.as_deref() != Some(latest.id.as_str()) {
            return Err(Fault::bad_request(format!(
                "Specified snapshot {} is None or not the latest one of volume {}.",
                snapshot_id.as_deref().unwrap_or("None"),
                v.id
            ))
            .into());
        }
        if v.size != latest.size {
            return Err(Fault::bad_request(format!(
                "Can't revert volume {} to its latest snapshot {}. The volume size must be equal to the snapshot size.",
                v.id, latest.id
            ))
            .into());
        }
        if model::may_start(c, &v, VolumeAction::Revert)?.is_err() {
            return Err(Fault::conflict(format!(
                "Invalid volume: {}",
                states::revert_refused(&v.id, &latest.id, "Volume")
            ))
            .into());
        }
        let facts = states::SnapshotFacts {
            in_group: latest.group_snapshot_id.is_some(),
        };
        if states::may_start_stored(SnapshotAction::Revert, &latest.status, facts).is_err() {
            return Err(Fault::conflict(format!(
                "Invalid snapshot: {}",
                states::revert_refused(&v.id, &latest.id, "Snapshot")
            ))
            .into());
        }
        Ok((v, latest))
    };
    let (v, snap) = svc.read(|c| checked(c))?;
    let staged = svc
        .disks
        .stage(
            Kind::Volume,
            &v.id,
            v.size as u64 * GIB,
            Source::File(&svc.disks.path(Kind::Snapshot, &snap.id)),
        )
        .map_err(|e| svc.fault(svc.io("reverting the volume's file", e)))?;
    svc.write(move |c| {
        let (v, snap) = checked(c)?;
        model::set_status_then(
            c,
            &v.id,
            VolumeStatus::Reverting,
            VolumeStatus::Available,
            svc.delay_ms,
        )?;
        let now = crate::time::now_ms();
        c.set_snapshot_status_then(
            &snap.id,
            SnapshotStatus::Restoring.as_str(),
            SnapshotStatus::Available.as_str(),
            now + svc.delay_ms,
            now,
        )?;
        staged
            .commit()
            .map_err(|e| svc.io("placing the reverted volume's file", e))?;
        Ok(())
    })
}

/// os-reimage (3.68): the volume's bytes become the image's, as Cinder's `reimage`; it is
/// `downloading` for the usual delay, then has the status it had again.
fn reimage(svc: &Volumes, call: &Call, id: &str, args: &Value) -> Result<(), Fault> {
    let field = |name: &str, value: &Value, why: String| {
        Fault::bad_request(format!(
            "Invalid input for field/attribute {name}. Value: {value}. {why}"
        ))
    };
    let o = args.as_object().ok_or_else(|| {
        field(
            "os-reimage",
            args,
            format!("{args} is not of type 'object'"),
        )
    })?;
    if let Some(k) = o
        .keys()
        .find(|k| !["image_id", "reimage_reserved"].contains(&k.as_str()))
    {
        return Err(field(
            "os-reimage",
            args,
            format!("Additional properties are not allowed ('{k}' was unexpected)"),
        ));
    }
    let raw = o.get("image_id").ok_or_else(|| {
        field(
            "os-reimage",
            args,
            "'image_id' is a required property".into(),
        )
    })?;
    let image_id = raw
        .as_str()
        .filter(|s| uuid::Uuid::parse_str(s).is_ok())
        .ok_or_else(|| field("image_id", raw, format!("{raw} is not a 'uuid'")))?
        .to_string();
    let reserved_too = flag(o.get("reimage_reserved"), "reimage_reserved")?;
    let checked = |c: &dyn Tx| -> Outcome<(Volume, crate::image::model::Image)> {
        let v = model::visible(c, id, &call.project_id, call.is_admin())?;
        let image = svc
            .images
            .bootable(c, &image_id, &call.project_id, call.is_admin())
            .ok()
            .flatten()
            .ok_or_else(|| Fault::not_found(format!("Image {image_id} could not be found.")))?;
        if model::attachments_of(c, &v.id)?.len() > 1 {
            return Err(Fault::conflict(
                "Cannot re-image a volume which is attached to more than one server.",
            )
            .into());
        }
        model::check(
            c,
            &v,
            if reserved_too {
                VolumeAction::ReimageReserved
            } else {
                VolumeAction::Reimage
            },
        )?;
        if image.status != "active" {
            return Err(invalid_input(format!("Image {} is not active.", image.id)).into());
        }
        let need = super::image_gib(&image);
        if need > v.size {
            return Err(invalid_input(format!(
                "Size of specified image {need}GB is larger than volume size {}GB.",
                v.size
            ))
            .into());
        }
        if image.min_disk > v.size {
            return Err(invalid_input(format!(
                "Volume size {}GB cannot be smaller than the image minDisk size {}GB.",
                v.size, image.min_disk
            ))
            .into());
        }
        Ok((v, image))
    };
    let (v, image) = svc.read(|c| checked(c))?;
    let staged = svc
        .images
        .data(&image.id)
        .and_then(|mut f| {
            svc.disks.stage(
                Kind::Volume,
                &v.id,
                v.size as u64 * GIB,
                Source::Reader(&mut f),
            )
        })
        .map_err(|e| svc.fault(svc.io("writing the image to the volume's file", e)))?;
    svc.write(move |c| {
        let (v, image) = checked(c)?;
        c.restore_volume(&v.id, &v.metadata, true, &super::image_metadata_of(&image))?;
        model::set_busy(c, &v.id, VolumeStatus::Downloading, svc.delay_ms)?;
        staged
            .commit()
            .map_err(|e| svc.io("placing the re-imaged volume's file", e))?;
        Ok(())
    })
}
