//! Block Storage (Cinder v3, and v2 as its alias) for the local cloud: volumes are sparse
//! files under `data_dir/volumes`, snapshots and backups copies of them; attachments are
//! shared with Compute (`model.rs`), so both services tell one truth.

pub mod attachments;
pub mod backups;
pub mod default_types;
pub mod encryption;
pub mod group_snapshots;
pub mod group_types;
pub mod groups;
pub mod limits;
pub mod messages;
pub mod misc;
pub mod model;
pub mod qos;
pub mod quotas;
pub mod repo;
pub mod scheduler;
pub mod snapshots;
pub mod states;
pub mod storage;
pub mod transfers;
pub mod types;
pub mod versions;
pub mod volumes;

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;

use crate::image::Images;
use crate::microversion::{Api, Version};
use crate::settings::Settings;
use crate::store::{Store, Tx};

pub use crate::store::{Failure as Error, Outcome as Result};

/// Cinder's faults for the volume model's errors (Nova's volume calls answer them too).
impl From<model::Error> for Error {
    fn from(e: model::Error) -> Self {
        use model::Error as E;
        Error::Fault(match e {
            E::VolumeNotFound(id) => Fault::not_found(format!("Volume {id} could not be found.")),
            E::AttachmentNotFound(id) => {
                Fault::not_found(format!("VolumeAttachment {id} could not be found."))
            }
            E::Refused(r, id, status) => Fault::bad_request(r.message(&id, &status)),
            E::AlreadyAttached(volume, server) => Fault::bad_request(format!(
                "Invalid volume: volume {volume} is already attached to instance {server}."
            )),
            E::NoFreeDevice => Fault::bad_request("No free disk device names for prefix 'vd'"),
            E::Store(e) => return Error::Store(e),
        })
    }
}

pub const API: Api = Api {
    service: "volume",
    min: Version(3, 0),
    max: Version(3, 70),
    legacy_header: None,
    fault_kind: "computeFault",
};

/// The one availability zone of this cloud's storage (Cinder's default).
pub const ZONE: &str = "nova";

/// Cinder's default volume type, created with the store (as Cinder's migration does).
pub const DEFAULT_TYPE: &str = "__DEFAULT__";

pub struct Volumes {
    pub app: App,
    pub store: Arc<Store>,
    /// The image service's store: volumes are created from images and uploaded to them.
    pub images: Arc<Images>,
    pub disks: storage::Disks,
    /// `[local] boot_delay`, milliseconds: how long creating, snapshotting, backing up and
    /// the other timed steps take.
    pub delay_ms: i64,
    /// This machine's name: the storage host (`os-vol-host-attr:host` is `host@local#local`).
    pub host: String,
}

impl Volumes {
    pub fn new(
        app: App,
        store: Arc<Store>,
        images: Arc<Images>,
        settings: &Settings,
    ) -> std::result::Result<Volumes, jumpgate_plugin_api::Error> {
        let disks = storage::Disks::new(&settings.data_dir).map_err(|e| {
            jumpgate_plugin_api::Error(format!("{}: {e}", settings.data_dir.display()))
        })?;
        let volumes = Volumes {
            app,
            store,
            images,
            disks,
            delay_ms: settings.boot_delay_ms,
            host: settings.host.clone(),
        };
        volumes
            .store
            .write(|c| seed_default_type(c))
            .map_err(|e| jumpgate_plugin_api::Error(volumes.fault(e).message))?;
        Ok(volumes)
    }

    /// Removes the files a crash left behind: temp files no live writer holds, and files no
    /// row names. It holds the write lock, inside which files are renamed into place, so a
    /// file another request (in this build, another one, or another host) is recording is
    /// never taken for an orphan.
    pub fn sweep(&self) -> std::result::Result<(), jumpgate_plugin_api::Error> {
        let removed = self
            .store
            .write(|c| {
                let c: &dyn Tx = c;
                let (volumes, snapshots, backups) =
                    (c.volume_ids()?, c.snapshot_ids()?, c.backup_ids()?);
                self.disks
                    .sweep(|kind, id| match kind {
                        storage::Kind::Volume => volumes.contains(id),
                        storage::Kind::Snapshot => snapshots.contains(id),
                        storage::Kind::Backup => backups.contains(id),
                    })
                    .map_err(|e| self.io("sweeping volume files", e))
            })
            .map_err(|e| jumpgate_plugin_api::Error(self.fault(e).message))?;
        if removed > 0 {
            self.app.log(
                LogLevel::Warn,
                &format!("removed {removed} volume file(s) an interrupted request left behind"),
            );
        }
        Ok(())
    }

    /// The fault for an error; store failures are logged and answered 500.
    pub fn fault(&self, e: Error) -> Fault {
        match e {
            Error::Fault(f) => f,
            Error::Store(e) if e.unstorable_reason().is_some() => Fault::bad_request(format!(
                "Invalid input received: {}",
                e.unstorable_reason().unwrap_or_default()
            )),
            Error::Store(e) => {
                self.app.log(LogLevel::Error, &format!("volume store: {e}"));
                Fault::internal("The server has either erred or is incapable of performing the requested operation.")
                    .kind("computeFault")
            }
        }
    }

    /// Runs `f` in one transaction, after every clock-driven change that has come due.
    pub fn write<T>(&self, f: impl FnOnce(&dyn Tx) -> Result<T>) -> std::result::Result<T, Fault> {
        self.store.write(|c| f(c)).map_err(|e| self.fault(e))
    }

    /// Reads one snapshot of the store (never waits for a write).
    pub fn read<T>(&self, f: impl FnOnce(&dyn Tx) -> Result<T>) -> std::result::Result<T, Fault> {
        self.store.read(|c| f(c)).map_err(|e| self.fault(e))
    }

    /// A store error for a file operation that failed.
    pub fn io(&self, what: &str, e: std::io::Error) -> Error {
        Error::Store(crate::store::StoreError(format!("{what}: {e}")))
    }
}

fn seed_default_type(c: &dyn Tx) -> Result<()> {
    c.seed_volume_type(&types::VolumeType {
        id: uuid::Uuid::new_v4().to_string(),
        name: DEFAULT_TYPE.into(),
        description: Some("Default Volume Type".into()),
        is_public: true,
        extra_specs: Default::default(),
        created_ms: crate::time::now_ms(),
        qos_specs_id: None,
    })?;
    Ok(())
}

/// What every volume handler starts from: the caller and the microversion.
pub struct Call {
    pub caller: AuthContext,
    /// 3.0 for v2 requests, which have no microversions.
    pub version: Version,
    /// The project the caller acts in.
    pub project_id: String,
}

impl Call {
    /// The caller (401 without one) and the version they asked for (406 out of range).
    pub fn of(req: &Request) -> std::result::Result<Call, Fault> {
        let version = if req.path.contains("/v2/") || req.path.ends_with("/v2") {
            API.min
        } else {
            API.requested(req)?
        };
        let caller = crate::policy::caller(req)?;
        let project_id = caller.project_id.clone().unwrap_or_default();
        Ok(Call {
            caller,
            version,
            project_id,
        })
    }

    pub fn is_admin(&self) -> bool {
        self.caller.is_admin
    }

    /// An admin-only part of a request that the policy table cannot see (a query or body
    /// field: `force`, `visibility: public`), refused in Cinder's words.
    pub fn admin(&self, rule: &str) -> std::result::Result<(), Fault> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(crate::policy::denied("volume", "POST", rule))
        }
    }

    /// A method that exists from `3.minor`: below it Cinder answers 404, as for a path it
    /// does not know.
    pub fn requires(&self, minor: u16) -> std::result::Result<(), Fault> {
        if self.version.at_least(minor) {
            Ok(())
        } else {
            Err(Fault::not_found("The resource could not be found."))
        }
    }
}

/// A required path parameter.
pub fn param<'a>(req: &'a Request, name: &str) -> std::result::Result<&'a str, Fault> {
    req.param(name)
        .ok_or_else(|| Fault::internal(format!("route without {{{name}}}")))
}

/// The request's JSON body, or Cinder's 400 for a missing or malformed one.
pub fn body(req: &Request) -> std::result::Result<serde_json::Value, Fault> {
    if req.body.is_empty() {
        return Err(Fault::bad_request("The request body is missing or empty."));
    }
    serde_json::from_slice(&req.body).map_err(|_| Fault::bad_request("Malformed request body"))
}

/// Writes `v` with `status`, stamped with the version used.
pub fn reply(
    resp: &mut Response,
    call: &Call,
    status: u16,
    v: &serde_json::Value,
) -> HandlerResult {
    resp.set_status(status);
    API.stamp(resp, call.version);
    resp.json(v);
    Ok(())
}

/// An empty answer (202, 204), stamped with the version used.
pub fn reply_empty(resp: &mut Response, call: &Call, status: u16) -> HandlerResult {
    resp.set_status(status);
    API.stamp(resp, call.version);
    Ok(())
}

/// Cinder's timestamps: microseconds, no zone (`2024-01-02T03:04:05.000000`).
pub fn timestamp(ms: i64) -> String {
    crate::time::iso_micros(ms)
        .trim_end_matches('Z')
        .to_string()
}

/// Where a resource's `links` point: `self` under the version the request used,
/// `bookmark` without it, as Cinder.
pub struct Urls {
    /// `http://host/volume/v3/project`
    pub versioned: String,
    /// `http://host/volume/project`
    pub bookmark: String,
}

impl Urls {
    pub fn of(svc: &Volumes, req: &Request, call: &Call) -> std::result::Result<Urls, Fault> {
        let disp = svc
            .app
            .get_dispatcher("volume")
            .ok_or_else(|| Fault::internal("volume is not enabled"))?;
        let mut base = disp.get_endpoint_url(req, "index", &[])?;
        while base.ends_with('/') {
            base.pop();
        }
        let version = if req.path.contains("/v2/") {
            "v2"
        } else {
            "v3"
        };
        let project = req.param("tenant_id").unwrap_or(&call.project_id);
        Ok(Urls {
            versioned: format!("{base}/{version}/{project}"),
            bookmark: format!("{base}/{project}"),
        })
    }

    /// `[{"rel": "self", …}, {"rel": "bookmark", …}]` for `collection/id`.
    pub fn links(&self, collection: &str, id: &str) -> serde_json::Value {
        serde_json::json!([
            {"rel": "self", "href": format!("{}/{collection}/{id}", self.versioned)},
            {"rel": "bookmark", "href": format!("{}/{collection}/{id}", self.bookmark)},
        ])
    }

    /// The `*_links` of a page that stopped at `marker`.
    pub fn next(&self, req: &Request, collection: &str, marker: &str) -> serde_json::Value {
        let url = format!("{}/{collection}", self.versioned);
        serde_json::json!([{"rel": "next", "href": next_href(&url, &req.query_params, marker)}])
    }
}

pub fn setup(
    disp: &Dispatcher,
    volumes: Arc<Volumes>,
) -> std::result::Result<(), jumpgate_plugin_api::Error> {
    versions::setup(disp, volumes.clone())?;
    types::setup(disp, volumes.clone())?;
    encryption::setup(disp, volumes.clone())?;
    qos::setup(disp, volumes.clone())?;
    default_types::setup(disp, volumes.clone())?;
    quotas::setup(disp, volumes.clone())?;
    limits::setup(disp, volumes.clone())?;
    misc::setup(disp, volumes.clone())?;
    volumes::setup(disp, volumes.clone())?;
    snapshots::setup(disp, volumes.clone())?;
    backups::setup(disp, volumes.clone())?;
    attachments::setup(disp, volumes.clone())?;
    group_types::setup(disp, volumes.clone())?;
    groups::setup(disp, volumes.clone())?;
    group_snapshots::setup(disp, volumes.clone())?;
    messages::setup(disp, volumes.clone())?;
    transfers::setup(disp, volumes)?;
    Ok(())
}

/// Records the tests of the volume service start from, stored through the repositories.
#[cfg(test)]
pub mod fixtures {
    use super::model::Volume;
    use super::types::VolumeType;
    use crate::store::Tx;

    /// A public volume type without extra specs.
    pub fn volume_type(c: &dyn Tx, id: &str, name: &str) {
        c.insert_volume_type(&VolumeType {
            id: id.into(),
            name: name.into(),
            description: None,
            is_public: true,
            extra_specs: Default::default(),
            created_ms: 0,
            qos_specs_id: None,
        })
        .unwrap();
    }

    /// An available volume of `size` GiB, owned by `project_id`.
    pub fn volume(c: &dyn Tx, id: &str, project_id: &str, type_id: &str, size: i64) -> Volume {
        let v = Volume {
            id: id.into(),
            project_id: project_id.into(),
            user_id: "u".into(),
            name: None,
            description: None,
            size,
            status: "available".into(),
            volume_type_id: type_id.into(),
            availability_zone: super::ZONE.into(),
            bootable: false,
            readonly: false,
            multiattach: false,
            snapshot_id: None,
            source_volid: None,
            backup_id: None,
            migration_status: None,
            metadata: Default::default(),
            image_metadata: Default::default(),
            created_ms: 0,
            updated_ms: 0,
            readonly_recorded: false,
        };
        c.insert_volume(&v, None, None).unwrap();
        v
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::{parse, table_text, Role};

    /// Each action an action endpoint's handler answers is policed by its own row (Cinder's
    /// rule for it), not by the endpoint's `-` row, and the admin's actions are the admin's.
    #[test]
    fn every_action_the_handlers_answer_has_its_row() {
        let rows = parse(table_text("volume").unwrap()).unwrap();
        let role = |endpoint: &str, action: &str| {
            rows.iter()
                .find(|r| r.endpoint == endpoint && r.action.as_deref() == Some(action))
                .map(|r| r.rule.role)
                .unwrap_or_else(|| panic!("no row for {endpoint} {action}"))
        };
        let handled: &[(&str, &[&str])] = &[
            (
                "v2_volume_action",
                &[
                    "os-show_image_metadata",
                    "os-set_image_metadata",
                    "os-unset_image_metadata",
                    "os-extend",
                    "os-attach",
                    "os-detach",
                    "os-reserve",
                    "os-unreserve",
                    "os-begin_detaching",
                    "os-roll_detaching",
                    "os-initialize_connection",
                    "os-terminate_connection",
                    "os-set_bootable",
                    "os-update_readonly_flag",
                    "os-volume_upload_image",
                    "os-retype",
                    "revert",
                    "os-reimage",
                    "os-reset_status",
                    "os-force_delete",
                    "os-force_detach",
                ],
            ),
            (
                "v2_snapshot_action",
                &[
                    "os-update_snapshot_status",
                    "os-reset_status",
                    "os-force_delete",
                ],
            ),
            ("v2_backup_action", &["os-reset_status", "os-force_delete"]),
            ("v3_groups_action", &["create-from-src"]),
            (
                "v3_group_action",
                &[
                    "delete",
                    "reset_status",
                    "enable_replication",
                    "disable_replication",
                    "failover_replication",
                    "list_replication_targets",
                ],
            ),
            ("v3_group_snapshot_action", &["reset_status"]),
            ("v3_attachment_action", &["os-complete"]),
            (
                "v2_volume_type_action",
                &["addProjectAccess", "removeProjectAccess"],
            ),
        ];
        for (endpoint, actions) in handled {
            for action in *actions {
                role(endpoint, action);
            }
        }
        for (endpoint, action) in [
            ("v2_volume_action", "os-reset_status"),
            ("v2_volume_action", "os-force_delete"),
            ("v2_volume_action", "os-force_detach"),
            ("v2_snapshot_action", "os-reset_status"),
            ("v2_backup_action", "os-force_delete"),
            ("v3_group_action", "reset_status"),
            ("v3_group_snapshot_action", "reset_status"),
        ] {
            assert_eq!(role(endpoint, action), Role::Admin, "{endpoint} {action}");
        }
        assert_eq!(role("v2_volume_action", "os-extend"), Role::Member);
        assert_eq!(
            role("v2_volume_action", "os-show_image_metadata"),
            Role::Reader
        );
    }
}
