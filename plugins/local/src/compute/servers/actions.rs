//! `POST /servers/{id}/action`: each action with the states Nova allows it from
//! (`nova/compute/api.py` `check_instance_state`), else 409.

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::model::{self, power, Move, Server};
use super::routes::{
    self, boot_image, check_metadata, check_name, generate_password, image_ref, target, Svc,
};
use super::states::{self, Action};
use super::views::Shape;
use crate::compute::migrations::Resize;
use crate::compute::{
    body, flavors, quotas, reply, reply_empty, scheduler, volume_attachments, Call, Compute, Urls,
};
use crate::store::Tx;
use crate::time::now_ms;

/// 409 unless a non-admin's server is unlocked (admins act on locked servers).
pub fn check_lock(call: &Call, s: &Server) -> Result<(), Fault> {
    if s.locked && !call.is_admin() {
        return Err(Fault::conflict(format!("Instance {} is locked", s.id)));
    }
    Ok(())
}

/// Nova's 409 for an action in a state that does not allow it.
fn conflict(action: &str, s: &Server, attr: &str, state: &str) -> Fault {
    Fault::conflict(format!(
        "Cannot '{action}' instance {} while it is in {attr} {state}",
        s.id
    ))
}

/// 409 unless `action` may start from the server's vm_state and task_state
/// (`states::rule`, the one table).
pub fn check_state(action: Action, s: &Server) -> Result<(), Fault> {
    states::may_start_stored(action, &s.vm_state, s.task_state.as_deref())
        .map_err(|r| conflict(action.name(), s, r.attr.as_str(), r.state))
}

/// Metadata changes (Nova's server-metadata API). A refusal for a task in progress is
/// worded as one of the vm_state, as it always has been here.
pub fn metadata_state(s: &Server) -> Result<(), Fault> {
    check_state(Action::UpdateMetadata, s)
        .map_err(|_| conflict(Action::UpdateMetadata.name(), s, "vm_state", &s.vm_state))
}

/// Tag changes (Nova's server-tags API): the vm_state only, whatever the task.
pub fn tag_state(s: &Server) -> Result<(), Fault> {
    check_state(Action::UpdateTags, s)
}

/// What a handled action answers.
enum Answer {
    Empty(u16),
    Body(u16, Value),
}

/// Everything an action needs.
struct Act<'a> {
    svc: &'a Compute,
    call: &'a Call,
    urls: &'a Urls,
    c: &'a dyn Tx,
    s: Server,
    args: &'a Value,
    request_id: &'a str,
    now: i64,
    /// `createImage` of a volume-backed server: its volumes' copies, staged beforehand.
    staged: Vec<crate::compute::volumes::StagedSnapshot>,
}

impl Act<'_> {
    /// Starts a move and records the action with its event.
    fn go(&self, action: &str, event: &str, m: Move) -> crate::compute::Result<()> {
        let delay = self.svc.boot_delay_ms;
        model::begin(self.c, &self.s.id, &m, self.now, delay)?;
        self.record(action, event, delay)
    }

    fn record(&self, action: &str, event: &str, delay: i64) -> crate::compute::Result<()> {
        Ok(model::record_action(
            self.c,
            &model::ActionRecord {
                server_id: &self.s.id,
                action,
                request_id: self.request_id,
                user_id: &self.call.caller.user_id,
                project_id: &self.s.project_id,
                event,
                host: &self.svc.host,
                now_ms: self.now,
                due_ms: self.now + delay,
            },
        )?)
    }

    fn arg(&self, key: &str) -> Option<&Value> {
        self.args.get(key)
    }

    /// The power state a server has in `vm_state` at rest.
    fn power_of(vm_state: &str) -> i64 {
        match vm_state {
            "stopped" | "shelved" | "shelved_offloaded" => power::SHUTDOWN,
            "paused" => power::PAUSED,
            "suspended" => power::SUSPENDED,
            _ => power::RUNNING,
        }
    }
}

/// Every action `dispatch` answers (some only at some microversions). Each has its row in
/// `policies/compute.policy`, which a test holds to this list: an action the table does not
/// name would run under the endpoint's catch-all row, unpoliced.
pub const ACTIONS: &[&str] = &[
    "reboot",
    "os-stop",
    "os-start",
    "pause",
    "unpause",
    "suspend",
    "resume",
    "shelve",
    "shelveOffload",
    "unshelve",
    "rescue",
    "unrescue",
    "lock",
    "unlock",
    "rebuild",
    "resize",
    "confirmResize",
    "revertResize",
    "createImage",
    "createBackup",
    "changePassword",
    "os-getConsoleOutput",
    "os-getVNCConsole",
    "os-getSPICEConsole",
    "os-getSerialConsole",
    "os-getRDPConsole",
    "trigger_crash_dump",
    "os-resetState",
    "injectNetworkInfo",
    "migrate",
    "os-migrateLive",
    "evacuate",
    "restore",
    "forceDelete",
    "addSecurityGroup",
    "removeSecurityGroup",
    "addFloatingIp",
    "removeFloatingIp",
    "addFixedIp",
    "removeFixedIp",
];

pub fn act(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let b = body(req)?;
    let Some((name, args)) = b
        .as_object()
        .and_then(|o| (o.len() == 1).then(|| o.iter().next()).flatten())
    else {
        return Err(Fault::bad_request(
            "Malformed request body: an action names exactly one action",
        ));
    };
    // Nova answers an action it does not know before it looks for the server.
    if !ACTIONS.contains(&name.as_str()) {
        return Err(Fault::bad_request(format!(
            "There is no such action: {name}"
        )));
    }
    let name = name.clone();
    let args = args.clone();
    let urls = Urls::of(svc, req)?;
    let request_id = req.env("request_id").unwrap_or_default().to_string();
    // A volume-backed server's image is snapshots of its volumes: their bytes are copied
    // before the transaction that records them.
    let staged = if name == "createImage" {
        volume_attachments::stage_server_snapshots(svc, &call, routes::server_param(req)?)?
    } else {
        vec![]
    };
    let answer = svc.write(|c| {
        let s = target(&call, req, c)?;
        let mut a = Act {
            staged,
            svc,
            call: &call,
            urls: &urls,
            c,
            s,
            args: &args,
            request_id: &request_id,
            now: now_ms(),
        };
        dispatch(&mut a, &name)
    })?;
    match answer {
        Answer::Empty(status) => reply_empty(resp, &call, status),
        Answer::Body(status, v) => {
            if let Some(loc) = v.get("_location").and_then(Value::as_str) {
                resp.set_header("Location", loc);
                return reply_empty(resp, &call, status);
            }
            reply(resp, &call, status, &v)
        }
    }
}

fn dispatch(a: &mut Act, name: &str) -> crate::compute::Result<Answer> {
    let v = a.call.version;
    // Admins act on locked servers; lock and unlock have their own rules.
    if !matches!(
        name,
        "lock"
            | "unlock"
            | "os-getConsoleOutput"
            | "os-getVNCConsole"
            | "os-getSPICEConsole"
            | "os-getSerialConsole"
            | "os-getRDPConsole"
            | "os-resetState"
            | "createBackup"
            | "createImage"
    ) {
        check_lock(a.call, &a.s)?;
    }
    if let Some(console) =
        crate::compute::remote_consoles::action(a.svc, a.c, a.call, a.urls, &a.s, name, a.args)
    {
        return console.map(|v| Answer::Body(200, v));
    }
    match name {
        "reboot" => reboot(a),
        "os-stop" => simple(
            a,
            "os-stop",
            Action::Stop,
            "powering-off",
            "stopped",
            "compute_stop_instance",
        ),
        "os-start" => simple(
            a,
            "os-start",
            Action::Start,
            "powering-on",
            "active",
            "compute_start_instance",
        ),
        "pause" => simple(
            a,
            "pause",
            Action::Pause,
            "pausing",
            "paused",
            "compute_pause_instance",
        ),
        "unpause" => simple(
            a,
            "unpause",
            Action::Unpause,
            "unpausing",
            "active",
            "compute_unpause_instance",
        ),
        "suspend" => simple(
            a,
            "suspend",
            Action::Suspend,
            "suspending",
            "suspended",
            "compute_suspend_instance",
        ),
        "resume" => simple(
            a,
            "resume",
            Action::Resume,
            "resuming",
            "active",
            "compute_resume_instance",
        ),
        "shelveOffload" => simple(
            a,
            "shelveOffload",
            Action::ShelveOffload,
            "shelving_offloading",
            "shelved_offloaded",
            "compute_shelve_offload_instance",
        ),
        "unrescue" => simple(
            a,
            "unrescue",
            Action::Unrescue,
            "unrescuing",
            "active",
            "compute_unrescue_instance",
        ),
        "lock" => lock(a),
        "unlock" => unlock(a),
        "rebuild" => rebuild(a),
        "resize" => resize(a),
        "confirmResize" => confirm_resize(a),
        "revertResize" => revert_resize(a),
        "createImage" => create_image(a),
        "createBackup" => create_backup(a),
        "shelve" => shelve(a),
        "unshelve" => unshelve(a),
        "rescue" => rescue(a),
        "changePassword" => change_password(a),
        "os-getConsoleOutput" => super::console::output(a.s.clone(), a.args, a.svc, a.now)
            .map(|o| Answer::Body(200, json!({"output": o}))),
        "trigger_crash_dump" if v.at_least(17) => {
            check_state(Action::TriggerCrashDump, &a.s)?;
            a.record("trigger_crash_dump", "compute_trigger_crash_dump", 0)?;
            Ok(Answer::Empty(202))
        }
        "os-resetState" => reset_state(a),
        "migrate" | "os-migrateLive" => migrate(a, name),
        "restore" => deferred_delete(a, Action::Restore),
        "forceDelete" => deferred_delete(a, Action::ForceDelete),
        "addSecurityGroup" => security_group(a, true),
        "removeSecurityGroup" => security_group(a, false),
        "addFloatingIp" | "removeFloatingIp" | "addFixedIp" | "removeFixedIp"
            if !v.at_least(44) =>
        {
            crate::compute::network_proxies::server_action(a.svc, a.c, a.call, &a.s, name, a.args)
                .map(|()| Answer::Empty(202))
        }
        "injectNetworkInfo" => {
            check_state(Action::InjectNetworkInfo, &a.s)?;
            a.record("injectNetworkInfo", "compute_inject_network_info", 0)?;
            Ok(Answer::Empty(202))
        }
        "evacuate" => Err(Fault::bad_request(
            "No valid host was found. This cloud has one compute host.",
        )
        .into()),
        other => Err(Fault::bad_request(format!("There is no such action: {other}")).into()),
    }
}

/// An action that moves through one task to one state.
fn simple(
    a: &mut Act,
    action: &str,
    check: Action,
    task: &str,
    to: &str,
    event: &str,
) -> crate::compute::Result<Answer> {
    check_state(check, &a.s)?;
    let vm = a.s.vm_state.clone();
    a.go(
        action_name(action),
        event,
        Move {
            vm_state: &vm,
            task_state: Some(task),
            power_state: a.s.power_state,
            then_vm_state: to,
            then_power_state: Act::power_of(to),
        },
    )?;
    Ok(Answer::Empty(202))
}

/// The name os-instance-actions records (Nova's `instance_actions` constants).
fn action_name(action: &str) -> &str {
    match action {
        "os-stop" => "stop",
        "os-start" => "start",
        other => other,
    }
}

fn reboot(a: &mut Act) -> crate::compute::Result<Answer> {
    let kind = a.arg("type").and_then(Value::as_str).unwrap_or("");
    let hard = match kind.to_ascii_uppercase().as_str() {
        "HARD" => true,
        "SOFT" => false,
        _ => return Err(Fault::bad_request(format!("Invalid input for field/attribute type. Value: {kind}. '{kind}' is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']")).into()),
    };
    // A hard reboot may interrupt a soft one; nothing else may be in progress.
    check_state(
        if hard {
            Action::RebootHard
        } else {
            Action::RebootSoft
        },
        &a.s,
    )?;
    let vm = a.s.vm_state.clone();
    a.go(
        "reboot",
        "compute_reboot_instance",
        Move {
            vm_state: &vm,
            task_state: Some(if hard {
                "reboot_started_hard"
            } else {
                "reboot_started"
            }),
            power_state: a.s.power_state,
            then_vm_state: "active",
            then_power_state: power::RUNNING,
        },
    )?;
    Ok(Answer::Empty(202))
}

fn lock(a: &mut Act) -> crate::compute::Result<Answer> {
    let reason = match a.args {
        Value::Null => None,
        Value::Object(o) if o.is_empty() => None,
        Value::Object(o)
            if a.call.version.at_least(73) && o.len() == 1 && o.contains_key("locked_reason") =>
        {
            match &o["locked_reason"] {
                Value::String(r) if r.chars().count() <= 255 => Some(r.clone()),
                other => {
                    return Err(routes::invalid(
                        "locked_reason",
                        other,
                        "is not a string of at most 255 characters",
                    )
                    .into())
                }
            }
        }
        other => {
            return Err(
                routes::invalid("lock", other, "Additional properties are not allowed").into(),
            )
        }
    };
    a.s.locked = true;
    a.s.locked_reason = reason;
    a.s.locked_by = Some(
        if a.call.is_admin() && a.call.project_id != a.s.project_id {
            "admin"
        } else {
            "owner"
        }
        .into(),
    );
    model::save(a.c, &a.s, a.now)?;
    a.record("lock", "api_lock", 0)?;
    Ok(Answer::Empty(202))
}

fn unlock(a: &mut Act) -> crate::compute::Result<Answer> {
    if a.s.locked && a.s.locked_by.as_deref() == Some("admin") && !a.call.is_admin() {
        return Err(crate::compute::policy_denied(
            "os_compute_api:os-lock-server:unlock:unlock_override",
        )
        .into());
    }
    a.s.locked = false;
    a.s.locked_reason = None;
    a.s.locked_by = None;
    model::save(a.c, &a.s, a.now)?;
    a.record("unlock", "api_unlock", 0)?;
    Ok(Answer::Empty(202))
}

fn rebuild(a: &mut Act) -> crate::compute::Result<Answer> {
    let v = a.call.version;
    let args = a.args.as_object().cloned().unwrap_or_default();
    let mut allowed = vec![
        "imageRef",
        "name",
        "adminPass",
        "metadata",
        "preserve_ephemeral",
        "OS-DCF:diskConfig",
        "accessIPv4",
        "accessIPv6",
        "personality",
    ];
    for (key, min) in [
        ("description", 19),
        ("key_name", 54),
        ("user_data", 57),
        ("trusted_image_certificates", 63),
        ("hostname", 90),
    ] {
        if v.at_least(min) {
            allowed.push(key);
        }
    }
    if v.at_least(57) {
        allowed.retain(|k| *k != "personality");
    }
    let extra: Vec<&String> = args
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect();
    if !extra.is_empty() {
        return Err(Fault::bad_request(format!(
            "Additional properties are not allowed ({} was unexpected)",
            extra
                .iter()
                .map(|k| format!("'{k}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into());
    }
    let image_id = image_ref(args.get("imageRef").ok_or_else(|| {
        Fault::bad_request(
            "Invalid input for field/attribute rebuild. 'imageRef' is a required property",
        )
    })?)?;
    check_state(Action::Rebuild, &a.s)?;
    let flavor: flavors::Flavor = flavors::Flavor {
        id: a.s.flavor["id"].as_str().unwrap_or_default().into(),
        name: a.s.flavor["original_name"]
            .as_str()
            .unwrap_or_default()
            .into(),
        vcpus: a.s.flavor["vcpus"].as_i64().unwrap_or(1),
        ram: a.s.flavor["ram"].as_i64().unwrap_or(0),
        disk: a.s.flavor["disk"].as_i64().unwrap_or(0),
        ephemeral: 0,
        swap: 0,
        rxtx_factor: 1.0,
        is_public: true,
        disabled: false,
        description: None,
        extra_specs: Map::new(),
    };
    let root = volume_attachments::root_volume(a.c, &a.s.id)?;
    // A volume-backed server's root disk is its volume: the flavor's disk is moot.
    let flavor = if root.is_some() {
        flavors::Flavor { disk: 0, ..flavor }
    } else {
        flavor
    };
    let image = boot_image(a.svc, a.c, a.call, &image_id, &flavor)?;
    if let Some(root) = &root {
        volume_attachments::reimage(a.c, a.call, root, &image)?;
    }
    if let Some(n) = args.get("name") {
        a.s.name = check_name("name", n)?;
    }
    if let Some(m) = args.get("metadata") {
        a.s.metadata = check_metadata(m)?;
        routes::check_metadata_quota(a.c, a.call, &a.s.metadata)?;
    }
    if let Some(v) = args.get("accessIPv4") {
        a.s.access_ipv4 = routes::access_ip("accessIPv4", v)?;
    }
    if let Some(v) = args.get("accessIPv6") {
        a.s.access_ipv6 = routes::access_ip("accessIPv6", v)?;
    }
    if let Some(d) = args.get("description") {
        a.s.description = d.as_str().map(str::to_string);
    }
    if let Some(k) = args.get("key_name") {
        match k.as_str() {
            None => {
                a.s.key_name = None;
                a.s.key_data = None;
            }
            Some(name) => {
                let key =
                    a.c.keypair(&a.call.caller.user_id, name)?
                        .ok_or_else(|| Fault::bad_request("Invalid key_name provided."))?
                        .public_key;
                a.s.key_name = Some(name.into());
                a.s.key_data = Some(key);
            }
        }
    }
    if let Some(u) = args.get("user_data") {
        a.s.user_data = u.as_str().map(str::to_string);
    }
    if let Some(h) = args.get("hostname").and_then(Value::as_str) {
        a.s.hostname = h.into();
    }
    if let Some(d) = args.get("OS-DCF:diskConfig").and_then(Value::as_str) {
        a.s.disk_config = d.into();
    }
    let pass = args
        .get("adminPass")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(generate_password);
    a.s.admin_pass = Some(pass.clone());
    // A volume-backed server keeps showing no image: its image is its volume's.
    if root.is_none() {
        a.s.image_id = Some(image.id.clone());
    }
    model::save(a.c, &a.s, a.now)?;
    let vm = a.s.vm_state.clone();
    let (to, to_power) = if vm == "stopped" {
        ("stopped", power::SHUTDOWN)
    } else {
        ("active", power::RUNNING)
    };
    a.go(
        "rebuild",
        "compute_rebuild_instance",
        Move {
            vm_state: &vm,
            task_state: Some("rebuilding"),
            power_state: a.s.power_state,
            then_vm_state: to,
            then_power_state: to_power,
        },
    )?;
    let s = model::visible(a.c, &a.s.id, &a.call.project_id, true)?;
    let shape = if v.at_least(75) {
        Shape::Show
    } else {
        Shape::Basic
    };
    let mut body = routes::show_body(a.svc, a.call, a.urls, a.c, &s, shape)?;
    // Below 2.75 the answer is the basic view, which from 2.54 and 2.57 carries the
    // fields a rebuild may change.
    if v.at_least(54) {
        body["key_name"] = json!(s.key_name);
    }
    if v.at_least(57) {
        // The rebuild answer names it `user_data`, even for admins.
        if let Some(m) = body.as_object_mut() {
            m.remove("OS-EXT-SRV-ATTR:user_data");
        }
        body["user_data"] = json!(s.user_data);
    }
    body["adminPass"] = json!(pass);
    Ok(Answer::Body(202, json!({"server": body})))
}

fn flavor_ref(args: &Value) -> Result<String, Fault> {
    match args.get("flavorRef") {
        Some(Value::String(f)) if !f.is_empty() => {
            Ok(f.rsplit('/').next().unwrap_or(f).to_string())
        }
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(other) => Err(routes::invalid("flavorRef", other, "is not valid")),
        None => Err(Fault::bad_request(
            "Invalid input for field/attribute resize. 'flavorRef' is a required property",
        )),
    }
}

fn resize(a: &mut Act) -> crate::compute::Result<Answer> {
    let id = flavor_ref(a.args)?;
    let disk_config = match a.arg("OS-DCF:diskConfig") {
        None => None,
        Some(Value::String(d)) if d == "AUTO" || d == "MANUAL" => Some(d.clone()),
        Some(other) => {
            return Err(routes::invalid(
                "OS-DCF:diskConfig",
                other,
                "is not one of ['AUTO', 'MANUAL']",
            )
            .into())
        }
    };
    check_state(Action::Resize, &a.s)?;
    let new = a
        .c
        .flavor(&id)?
        .filter(|f| flavors::usable(a.c, f, &a.call.project_id, a.call.is_admin()).unwrap_or(false))
        .ok_or_else(|| Fault::bad_request(format!("Unable to find flavor with ID {id}")))?;
    if new.disabled {
        return Err(Fault::bad_request(format!("Flavor {id} is disabled.")).into());
    }
    let old = a.s.flavor.clone();
    if old["id"].as_str() == Some(new.id.as_str()) {
        return Err(Fault::bad_request("When resizing, instances must change flavor!").into());
    }
    let old_disk = old["disk"].as_i64().unwrap_or(0);
    // A volume-backed server's root disk is its volume: the flavor's disk does not shrink it.
    let volume_backed = volume_attachments::root_volume(a.c, &a.s.id)?.is_some();
    if new.disk < old_disk && new.disk != 0 && !volume_backed {
        return Err(Fault::bad_request("Resize error: Unable to resize disk down.").into());
    }
    if let Some(image) = a.s.image_id.clone() {
        if let Ok(Some(i)) = a.svc.images.bootable(a.c, &image, &a.s.project_id, true) {
            if new.ram < i.min_ram {
                return Err(Fault::bad_request(
                    "Flavor's memory is too small for requested image.",
                )
                .into());
            }
        }
    }
    let grow = |key: &str, new: i64| (new - old[key].as_i64().unwrap_or(0)).max(0);
    quotas::enforce(
        a.c,
        &a.s.project_id,
        &a.s.user_id,
        &[
            ("cores", grow("vcpus", new.vcpus)),
            ("ram", grow("ram", new.ram)),
        ],
    )?;
    let old_id = old["id"].as_str().unwrap_or_default().to_string();
    // The migration holds the old flavor's resources, the server the new one's, until
    // the resize is confirmed or reverted; a host without room for both refuses it.
    let migration = uuid::Uuid::new_v4().to_string();
    let owner = (a.s.project_id.clone(), a.s.user_id.clone());
    if !scheduler::claim_resize(
        a.c,
        &a.svc.host,
        &a.s.id,
        &migration,
        scheduler::resources(&old, volume_backed),
        scheduler::resources(&new.snapshot(), volume_backed),
        (&owner.0, &owner.1),
    )? {
        return Err(Fault::bad_request(scheduler::NO_HOST_FOR_RESIZE).into());
    }
    a.s.extra
        .insert(routes::RESIZE_MIGRATION.into(), json!(migration));
    a.s.old_flavor = Some(old);
    a.s.flavor = new.snapshot();
    a.c.record_resize(&Resize {
        uuid: migration.clone(),
        server_id: &a.s.id,
        project_id: &a.s.project_id,
        user_id: &a.s.user_id,
        host: &a.svc.host,
        old_flavor_id: &old_id,
        new_flavor_id: &new.id,
        now_ms: a.now,
    })?;
    a.s.extra.insert("resized_from".into(), json!(a.s.vm_state));
    if let Some(d) = disk_config {
        a.s.disk_config = d;
    }
    model::save(a.c, &a.s, a.now)?;
    let vm = a.s.vm_state.clone();
    a.go(
        "resize",
        "compute_prep_resize",
        Move {
            vm_state: &vm,
            task_state: Some("resize_prep"),
            power_state: a.s.power_state,
            then_vm_state: "resized",
            then_power_state: a.s.power_state,
        },
    )?;
    Ok(Answer::Empty(202))
}

/// What the server's flavor asks of the host (its root disk not, when that is a volume).
fn wants(a: &Act) -> crate::compute::Result<std::collections::BTreeMap<String, i64>> {
    let volume_backed = volume_attachments::root_volume(a.c, &a.s.id)?.is_some();
    Ok(scheduler::resources(&a.s.flavor, volume_backed))
}

/// Closes the server's open resize record as `confirmed` or `reverted`.
fn close_migration(a: &Act, status: &str) -> crate::compute::Result<()> {
    Ok(a.c.close_resize(&a.s.id, status, a.now)?)
}

fn confirm_resize(a: &mut Act) -> crate::compute::Result<Answer> {
    check_state(Action::ConfirmResize, &a.s)?;
    close_migration(a, "confirmed")?;
    // The old flavor's resources, which the migration held, are free.
    if let Some(m) = a.s.extra.remove(routes::RESIZE_MIGRATION) {
        scheduler::free(a.c, m.as_str().unwrap_or_default())?;
    }
    let back =
        a.s.extra
            .remove("resized_from")
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "active".into());
    a.s.old_flavor = None;
    model::save(a.c, &a.s, a.now)?;
    model::set_state(a.c, &a.s.id, &back, Act::power_of(&back), a.now)?;
    a.record("confirmResize", "compute_confirm_resize", 0)?;
    Ok(Answer::Empty(204))
}

fn revert_resize(a: &mut Act) -> crate::compute::Result<Answer> {
    check_state(Action::RevertResize, &a.s)?;
    close_migration(a, "reverted")?;
    let back =
        a.s.extra
            .remove("resized_from")
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "active".into());
    if let Some(old) = a.s.old_flavor.take() {
        a.s.flavor = old;
    }
    // The server takes back what the migration held.
    if let Some(m) = a.s.extra.remove(routes::RESIZE_MIGRATION) {
        let wanted = wants(a)?;
        let owner = (a.s.project_id.clone(), a.s.user_id.clone());
        scheduler::revert_resize(
            a.c,
            &a.svc.host,
            &a.s.id,
            m.as_str().unwrap_or_default(),
            wanted,
            (&owner.0, &owner.1),
        )?;
    }
    model::save(a.c, &a.s, a.now)?;
    a.go(
        "revertResize",
        "compute_revert_resize",
        Move {
            vm_state: "resized",
            task_state: Some("resize_reverting"),
            power_state: a.s.power_state,
            then_vm_state: &back,
            then_power_state: Act::power_of(&back),
        },
    )?;
    Ok(Answer::Empty(202))
}

/// Writes a snapshot of the server into the image store.
fn snapshot(a: &Act, name: &str, mut props: Map<String, Value>) -> crate::compute::Result<String> {
    let base = match &a.s.image_id {
        Some(id) => crate::image::model::get(a.c, id).ok(),
        None => None,
    };
    props.insert(
        "image_type".into(),
        json!(props
            .get("image_type")
            .cloned()
            .unwrap_or(json!("snapshot"))),
    );
    props.insert("instance_uuid".into(), json!(a.s.id));
    props.insert("user_id".into(), json!(a.call.caller.user_id));
    props.insert(
        "owner_project_name".into(),
        json!(a.call.caller.project_name),
    );
    props.insert("owner_user_name".into(), json!(a.call.caller.user_name));
    if let Some(b) = &base {
        props.insert("base_image_ref".into(), json!(b.id));
        for (k, v) in &b.properties {
            if !props.contains_key(k)
                && !matches!(
                    k.as_str(),
                    "image_type" | "instance_uuid" | "base_image_ref" | "image_location"
                )
            {
                props.insert(k.clone(), v.clone());
            }
        }
    } else {
        props.insert("base_image_ref".into(), json!(""));
    }
    let image = a
        .svc
        .images
        .snapshot(a.c, base.as_ref(), name, &a.s.project_id, props)
        .map_err(|e| match e {
            crate::image::model::Error::Store(s) => crate::compute::Error::Store(s),
            other => Fault::bad_request(format!("{other:?}")).into(),
        })?;
    Ok(image.id)
}

fn image_answer(a: &Act, image_id: &str) -> Answer {
    if a.call.version.at_least(45) {
        Answer::Body(202, json!({"image_id": image_id}))
    } else {
        Answer::Body(
            202,
            json!({"_location": format!("{}/images/{image_id}", a.urls.versioned)}),
        )
    }
}

fn image_metadata(a: &Act) -> Result<Map<String, Value>, Fault> {
    match a.arg("metadata") {
        None => Ok(Map::new()),
        Some(m) => check_metadata(m),
    }
}

fn create_image(a: &mut Act) -> crate::compute::Result<Answer> {
    let name = check_name(
        "name",
        a.arg("name").ok_or_else(|| {
            Fault::bad_request(
                "Invalid input for field/attribute createImage. 'name' is a required property",
            )
        })?,
    )?;
    let mut props = image_metadata(a)?;
    check_lock(a.call, &a.s)?;
    check_state(Action::CreateImage, &a.s)?;
    if !a.staged.is_empty() {
        let staged = std::mem::take(&mut a.staged);
        volume_attachments::image_mapping(a.svc, a.c, a.call, &a.s, staged, &name, &mut props)?;
    }
    let image_id = snapshot(a, &name, props)?;
    let vm = a.s.vm_state.clone();
    a.go(
        "createImage",
        "compute_snapshot_instance",
        Move {
            vm_state: &vm,
            task_state: Some("image_snapshot"),
            power_state: a.s.power_state,
            then_vm_state: &vm,
            then_power_state: a.s.power_state,
        },
    )?;
    Ok(image_answer(a, &image_id))
}

fn create_backup(a: &mut Act) -> crate::compute::Result<Answer> {
    let name = check_name(
        "name",
        a.arg("name").ok_or_else(|| {
            Fault::bad_request(
                "Invalid input for field/attribute createBackup. 'name' is a required property",
            )
        })?,
    )?;
    let backup_type = a.arg("backup_type").and_then(Value::as_str).ok_or_else(|| Fault::bad_request("Invalid input for field/attribute createBackup. 'backup_type' is a required property"))?.to_string();
    let rotation = a
        .arg("rotation")
        .and_then(|r| r.as_i64().or_else(|| r.as_str().and_then(|s| s.parse().ok())))
        .filter(|r| *r >= 0)
        .ok_or_else(|| Fault::bad_request("Invalid input for field/attribute rotation. Value must be an integer of at least 0."))?;
    let mut props = image_metadata(a)?;
    check_lock(a.call, &a.s)?;
    check_state(Action::CreateBackup, &a.s)?;
    props.insert("image_type".into(), json!("backup"));
    props.insert("backup_type".into(), json!(backup_type));
    let image_id = snapshot(a, &name, props)?;
    // Rotation: keep the newest `rotation` backups of this type for this server.
    let ids = a.c.server_backups(&a.s.id, &backup_type)?;
    for old in ids.iter().skip(rotation.max(1) as usize) {
        let _ = a.svc.images.remove(a.c, old);
    }
    if rotation == 0 {
        let _ = a.svc.images.remove(a.c, &image_id);
    }
    let vm = a.s.vm_state.clone();
    a.go(
        "createBackup",
        "compute_backup_instance",
        Move {
            vm_state: &vm,
            task_state: Some("image_backup"),
            power_state: a.s.power_state,
            then_vm_state: &vm,
            then_power_state: a.s.power_state,
        },
    )?;
    Ok(if a.call.version.at_least(45) {
        Answer::Body(202, json!({"image_id": image_id}))
    } else {
        image_answer(a, &image_id)
    })
}

fn shelve(a: &mut Act) -> crate::compute::Result<Answer> {
    check_state(Action::Shelve, &a.s)?;
    if a.s.image_id.is_some() {
        let name = format!("{}-shelved", a.s.name);
        let image_id = snapshot(a, &name, Map::new())?;
        a.s.extra.insert("shelved_image_id".into(), json!(image_id));
        model::save(a.c, &a.s, a.now)?;
    }
    // Offloaded, it holds nothing on the host (Nova frees its allocations then); the
    // offload follows at once, so the host's room is given back now.
    scheduler::free(a.c, &a.s.id)?;
    let vm = a.s.vm_state.clone();
    // Nova's default shelved_offload_time is 0: a shelved server is offloaded at once.
    a.go(
        "shelve",
        "compute_shelve_instance",
        Move {
            vm_state: &vm,
            task_state: Some("shelving"),
            power_state: a.s.power_state,
            then_vm_state: "shelved_offloaded",
            then_power_state: power::SHUTDOWN,
        },
    )?;
    Ok(Answer::Empty(202))
}

fn unshelve(a: &mut Act) -> crate::compute::Result<Answer> {
    match a.args {
        Value::Null => {}
        Value::Object(o) if a.call.version.at_least(77) => {
            for (k, v) in o {
                match k.as_str() {
                    "availability_zone"
                        if v.is_null() || v.as_str() == Some(crate::compute::ZONE) => {}
                    "availability_zone" => {
                        return Err(Fault::bad_request(
                            "The requested availability zone is not available",
                        )
                        .into())
                    }
                    "host" if a.call.version.at_least(91) => {
                        a.call.admin("os_compute_api:os-shelve:unshelve_to_host")?;
                        if v.as_str() != Some(a.svc.host.as_str()) {
                            return Err(Fault::bad_request(format!(
                                "Compute host {} could not be found.",
                                v.as_str().unwrap_or("")
                            ))
                            .into());
                        }
                    }
                    other => {
                        return Err(Fault::bad_request(format!(
                            "Additional properties are not allowed ('{other}' was unexpected)"
                        ))
                        .into())
                    }
                }
            }
        }
        Value::Object(o) if o.is_empty() => {}
        other => return Err(routes::invalid("unshelve", other, "is not of type 'null'").into()),
    }
    check_state(Action::Unshelve, &a.s)?;
    // Scheduled again: when the host has no room, Nova's conductor leaves the server
    // offloaded (the request was accepted; the action's event says it failed).
    let wanted = wants(a)?;
    let owner = (a.s.project_id.clone(), a.s.user_id.clone());
    if !scheduler::claim(
        a.c,
        &a.svc.host,
        &[(a.s.id.clone(), wanted)],
        (&owner.0, &owner.1),
    )? {
        a.record("unshelve", "conductor_unshelve_instance", 0)?;
        return Ok(Answer::Empty(202));
    }
    volume_attachments::land(a.svc, a.c, &a.s.id)?;
    if let Some(image) =
        a.s.extra
            .remove("shelved_image_id")
            .and_then(|v| v.as_str().map(str::to_string))
    {
        let _ = a.svc.images.remove(a.c, &image);
        model::save(a.c, &a.s, a.now)?;
    }
    let vm = a.s.vm_state.clone();
    a.go(
        "unshelve",
        "compute_unshelve_instance",
        Move {
            vm_state: &vm,
            task_state: Some("spawning"),
            power_state: a.s.power_state,
            then_vm_state: "active",
            then_power_state: power::RUNNING,
        },
    )?;
    Ok(Answer::Empty(202))
}

fn rescue(a: &mut Act) -> crate::compute::Result<Answer> {
    let args = a.args.as_object().cloned().unwrap_or_default();
    check_state(Action::Rescue, &a.s)?;
    // Stable device rescue (2.87) is what lets a volume-backed server be rescued.
    if !a.call.version.at_least(87) && volume_attachments::root_volume(a.c, &a.s.id)?.is_some() {
        return Err(Fault::bad_request(format!(
            "Instance {} cannot be rescued: Cannot rescue a volume-backed instance",
            a.s.id
        ))
        .into());
    }
    if let Some(r) = args.get("rescue_image_ref") {
        let id = image_ref(r)?;
        if a.svc
            .images
            .bootable(a.c, &id, &a.call.project_id, a.call.is_admin())
            .ok()
            .flatten()
            .is_none()
        {
            return Err(Fault::bad_request(format!("Image {id} could not be found.")).into());
        }
    }
    let pass = args
        .get("adminPass")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(generate_password);
    let vm = a.s.vm_state.clone();
    a.go(
        "rescue",
        "compute_rescue_instance",
        Move {
            vm_state: &vm,
            task_state: Some("rescuing"),
            power_state: a.s.power_state,
            then_vm_state: "rescued",
            then_power_state: power::RUNNING,
        },
    )?;
    Ok(Answer::Body(200, json!({"adminPass": pass})))
}

fn change_password(a: &mut Act) -> crate::compute::Result<Answer> {
    let pass = a
        .arg("adminPass")
        .and_then(Value::as_str)
        .ok_or_else(|| Fault::bad_request("Invalid input for field/attribute changePassword. 'adminPass' is a required property"))?
        .to_string();
    check_state(Action::ChangePassword, &a.s)?;
    a.s.admin_pass = Some(pass);
    model::save(a.c, &a.s, a.now)?;
    a.record("changePassword", "compute_set_admin_password", 0)?;
    Ok(Answer::Empty(202))
}

/// add/removeSecurityGroup: a group of the project on or off every port of the server.
fn security_group(a: &mut Act, add: bool) -> crate::compute::Result<Answer> {
    let verb = if add {
        "addSecurityGroup"
    } else {
        "removeSecurityGroup"
    };
    let name = a
        .arg("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| {
            Fault::bad_request(format!(
                "Invalid input for field/attribute {verb}. 'name' is a required property"
            ))
        })?
        .to_string();
    super::networking::change_security_group(a.c, &a.s.project_id, &a.s.id, &name, add)?;
    a.record(verb, "api_security_group", 0)?;
    Ok(Answer::Empty(202))
}

/// restore and forceDelete act on soft-deleted servers, which this cloud never has
/// (reclaim_instance_interval 0): the table refuses them from every state.
fn deferred_delete(a: &Act, action: Action) -> crate::compute::Result<Answer> {
    check_state(action, &a.s)?;
    Err(conflict(action.name(), &a.s, "vm_state", &a.s.vm_state).into())
}

fn reset_state(a: &mut Act) -> crate::compute::Result<Answer> {
    let state = a.arg("state").and_then(Value::as_str).unwrap_or("");
    let vm = match state {
        "active" => "active",
        "error" => "error",
        other => {
            return Err(routes::invalid(
                "state",
                &json!(other),
                &format!("'{other}' is not one of ['active', 'error']"),
            )
            .into())
        }
    };
    model::set_state(a.c, &a.s.id, vm, a.s.power_state, a.now)?;
    a.record("resetState", "api_reset_state", 0)?;
    Ok(Answer::Empty(202))
}

fn migrate(a: &mut Act, name: &str) -> crate::compute::Result<Answer> {
    let live = name == "os-migrateLive";
    // The table lets a project manager move a server; naming its host is the admin's.
    let host = a
        .arg("host")
        .and_then(Value::as_str)
        .filter(|h| !h.is_empty());
    if host.is_some() {
        a.call.admin(if live {
            "os_compute_api:os-migrate-server:migrate_live:host"
        } else {
            "os_compute_api:os-migrate-server:migrate:host"
        })?;
    }
    check_state(
        if live {
            Action::LiveMigrate
        } else {
            Action::Migrate
        },
        &a.s,
    )?;
    if let Some(host) = host {
        if host == a.svc.host {
            return Err(Fault::bad_request(format!(
                "Unable to migrate instance ({}) to current host ({host}).",
                a.s.id
            ))
            .into());
        }
        return Err(Fault::bad_request(format!("Compute host {host} could not be found.")).into());
    }
    Err(Fault::bad_request("No valid host was found. This cloud has one compute host, so there is nowhere to migrate to.").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_its_row_in_the_policy_table() {
        let rows = crate::policy::parse(crate::policy::table_text("compute").unwrap()).unwrap();
        let mut policed: Vec<&str> = rows
            .iter()
            .filter(|r| r.endpoint == "v2_server_action")
            .filter_map(|r| r.action.as_deref())
            .collect();
        let mut known = ACTIONS.to_vec();
        policed.sort_unstable();
        known.sort_unstable();
        assert_eq!(policed, known);
    }

    #[test]
    fn power_follows_state() {
        assert_eq!(Act::power_of("stopped"), power::SHUTDOWN);
        assert_eq!(Act::power_of("paused"), power::PAUSED);
        assert_eq!(Act::power_of("rescued"), power::RUNNING);
    }
}
