//! Cinder's limits (`GET /limits`): the project's absolute quotas and what it uses of
//! them; there are no rate limits.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::{quotas, reply, Call, Volumes};

type Svc = Arc<Volumes>;

endpoint!(Svc; Limits { on_get => show });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v2_limits" => Limits,
    }
    Ok(())
}

/// Cinder's names of each quota's limit and usage.
const NAMES: [(&str, &str, &str); 5] = [
    ("volumes", "maxTotalVolumes", "totalVolumesUsed"),
    ("snapshots", "maxTotalSnapshots", "totalSnapshotsUsed"),
    ("gigabytes", "maxTotalVolumeGigabytes", "totalGigabytesUsed"),
    ("backups", "maxTotalBackups", "totalBackupsUsed"),
    (
        "backup_gigabytes",
        "maxTotalBackupGigabytes",
        "totalBackupGigabytesUsed",
    ),
];

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    // From 3.39 an admin may ask for another project's limits.
    let project_id = match req.query_param("project_id") {
        Some(p) if call.version.at_least(39) && call.is_admin() => p.to_string(),
        _ => call.project_id.clone(),
    };
    // The limits are any token's; what the project uses, a reader's (Cinder's
    // `limits_extension:used_limits`, asked without failing the request).
    let usage = call.is_admin() || call.caller.has_role("reader");
    let absolute = svc.read(|c| {
        let used = quotas::in_use(c, &project_id)?;
        let mut absolute = Map::new();
        for (resource, max, total) in NAMES {
            absolute.insert(max.into(), json!(quotas::limit(c, &project_id, resource)?));
            if usage {
                absolute.insert(
                    total.into(),
                    json!(used.get(resource).copied().unwrap_or(0)),
                );
            }
        }
        Ok(absolute)
    })?;
    reply(
        resp,
        &call,
        200,
        &json!({"limits": {"rate": [], "absolute": Value::Object(absolute)}}),
    )
}
