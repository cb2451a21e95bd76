//! The legacy extensions listing (`/extensions`): Nova v2.1's fixed list
//! (`extension_info.py`). Nova lists every extension of its code base whatever a
//! deployment serves, and clients (Tempest among them) look for entries such as Hosts and
//! os-consoles, so this is that list, with the Volumes entry of the seed document.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Value};

use super::{param, reply, Call, Compute};

type Svc = Arc<Compute>;

/// `(alias, name, description)` of Nova v2.1's entries, all with its placeholder
/// namespace and date.
const NOVA: &[(&str, &str, &str)] = &[
    ("OS-DCF", "DiskConfig", "Disk Management Extension."),
    ("OS-EXT-AZ", "ExtendedAvailabilityZone", "Extended Availability Zone support."),
    ("OS-EXT-IPS", "ExtendedIps", "Adds type parameter to the ip list."),
    ("OS-EXT-IPS-MAC", "ExtendedIpsMac", "Adds mac address parameter to the ip list."),
    ("OS-EXT-SRV-ATTR", "ExtendedServerAttributes", "Extended Server Attributes support."),
    ("OS-EXT-STS", "ExtendedStatus", "Extended Status support."),
    ("OS-FLV-DISABLED", "FlavorDisabled", "Support to show the disabled status of a flavor."),
    ("OS-FLV-EXT-DATA", "FlavorExtraData", "Provide additional data for flavors."),
    ("OS-SCH-HNT", "SchedulerHints", "Pass arbitrary key/value pairs to the scheduler."),
    ("OS-SRV-USG", "ServerUsage", "Adds launched_at and terminated_at on Servers."),
    ("os-access-ips", "AccessIPs", "Access IPs support."),
    ("os-admin-actions", "AdminActions", "Enable admin-only server actions\n\n    Actions include: resetNetwork, injectNetworkInfo, os-resetState\n    "),
    ("os-admin-password", "AdminPassword", "Admin password management support."),
    ("os-availability-zone", "AvailabilityZone", "1. Add availability_zone to the Create Server API.\n       2. Add availability zones describing.\n    "),
    ("os-config-drive", "ConfigDrive", "Config Drive Extension."),
    ("os-console-output", "ConsoleOutput", "Console log output support, with tailing ability."),
    ("os-create-backup", "CreateBackup", "Create a backup of a server."),
    ("os-deferred-delete", "DeferredDelete", "Instance deferred delete."),
    ("os-extended-quotas", "ExtendedQuotas", "Adds ability for admins to delete quota and optionally force the update Quota command."),
    ("os-extended-services", "ExtendedServices", "Extended services support."),
    ("os-extended-status", "ExtendedStatus", "Extended Status support."),
    ("os-flavor-access", "FlavorAccess", "Flavor access support."),
    ("os-flavor-extra-specs", "FlavorExtraSpecs", "Flavors extra specs support."),
    ("os-flavor-manage", "FlavorManage", "Flavor create/delete API support."),
    ("os-flavor-rxtx", "FlavorRxtx", "Support to show the rxtx status of a flavor."),
    ("os-flavor-swap", "FlavorSwap", "Support to show the swap status of a flavor."),
    ("os-hypervisor-status", "HypervisorStatus", "Show hypervisor status."),
    ("os-hypervisors", "Hypervisors", "Admin-only hypervisor administration."),
    ("os-instance-actions", "InstanceActions", "View a log of actions and events taken on an instance."),
    ("os-keypairs", "Keypairs", "Keypair Support."),
    ("os-lock-server", "LockServer", "Enable lock/unlock server actions."),
    ("os-multiple-create", "MultipleCreate", "Allow multiple create in the Create Server v2.1 API."),
    ("os-pause-server", "PauseServer", "Enable pause/unpause server actions."),
    ("os-quota-class-sets", "QuotaClasses", "Quota classes management support."),
    ("os-quota-sets", "Quotas", "Quotas management support."),
    ("os-rescue", "Rescue", "Instance rescue mode."),
    ("os-server-group-quotas", "ServerGroupQuotas", "Adds quota support to server groups."),
    ("os-server-groups", "ServerGroups", "Server group support."),
    ("os-server-list-multi-status", "ServerListMultiStatus", "Allow to filter the servers by a set of status values."),
    ("os-server-sort-keys", "ServerSortKeys", "Add sorting support in get Server v2 API."),
    ("os-server-start-stop", "ServerStartStop", "Start/Stop instance compute API support."),
    ("os-services", "Services", "Services support."),
    ("os-shelve", "Shelve", "Instance shelve mode."),
    ("os-simple-tenant-usage", "SimpleTenantUsage", "Simple tenant usage extension."),
    ("os-suspend-server", "SuspendServer", "Enable suspend/resume server actions."),
    ("os-used-limits", "UsedLimits", "Provide data on limited resources that are being used."),
    ("os-used-limits-for-admin", "UsedLimitsForAdmin", "Provide data to admin on limited resources used by other tenants."),
    ("os-user-data", "UserData", "Add user_data to the Create Server API."),
    ("os-user-quotas", "UserQuotas", "Project user quota support."),
    ("os-aggregates", "Aggregates", "Admin-only aggregate administration."),
    ("os-attach-interfaces", "AttachInterfaces", "Attach interface support."),
    ("os-block-device-mapping", "BlockDeviceMapping", "Block device mapping boot support."),
    ("os-console-auth-tokens", "ConsoleAuthTokens", "Console token authentication support."),
    ("os-consoles", "Consoles", "Interactive Console support."),
    ("os-evacuate", "Evacuate", "Enables server evacuation."),
    ("os-fixed-ips", "FixedIPs", "Fixed IPs support."),
    ("os-floating-ip-pools", "FloatingIpPools", "Floating IPs support."),
    ("os-floating-ips", "FloatingIps", "Floating IPs support."),
    ("os-hide-server-addresses", "HideServerAddresses", "Support hiding server addresses in certain states."),
    ("os-hosts", "Hosts", "Admin-only host administration."),
    ("os-instance-usage-audit-log", "OSInstanceUsageAuditLog", "Admin-only Task Log Monitoring."),
    ("os-migrate-server", "MigrateServer", "Enable migrate and live-migrate server actions"),
    ("os-migrations", "Migrations", "Provide data on migrations."),
    ("os-networks", "Networks", "Admin-only Network Management Extension."),
    ("os-preserve-ephemeral-rebuild", "PreserveEphemeralOnRebuild", "Allow preservation of the ephemeral partition on rebuild."),
    ("os-remote-consoles", "RemoteConsoles", "Interactive Console support."),
    ("os-security-groups", "SecurityGroups", "Security group support."),
    ("os-server-diagnostics", "ServerDiagnostics", "Allow Admins to view server diagnostics through server action."),
    ("os-server-external-events", "ServerExternalEvents", "Server External Event Triggers."),
    ("os-server-password", "ServerPassword", "Server password support."),
    ("os-tenant-networks", "OSTenantNetworks", "Tenant-based Network Management Extension."),
    ("os-virtual-interfaces", "VirtualInterfaces", "Virtual interface support."),
];

/// The Volumes entry as the volume proxy announces it (the v2 extension's own text).
fn volumes() -> Value {
    json!({
        "name": "Volumes",
        "alias": "os-volumes",
        "namespace": "http://docs.openstack.org/ext/volumes/api/v1.1",
        "description": "Volumes support",
        "updated": "2011-03-25T00:00:00+00:00",
        "links": [],
    })
}

/// Every extension, sorted by alias as Nova lists them.
pub fn all() -> Vec<Value> {
    let mut list: Vec<Value> = NOVA
        .iter()
        .map(|(alias, name, description)| {
            json!({
                "alias": alias,
                "name": name,
                "description": description,
                "namespace": "http://docs.openstack.org/compute/ext/fake_xml",
                "updated": "2014-12-03T00:00:00Z",
                "links": [],
            })
        })
        .collect();
    list.push(volumes());
    list.sort_by(|a, b| a["alias"].as_str().cmp(&b["alias"].as_str()));
    list
}

endpoint!(Svc; Extensions { on_get => index } nonblocking);
endpoint!(Svc; Extension { on_get => show } nonblocking);

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "v2_extensions" => Extensions,
        "v2_extension" => Extension,
    }
    Ok(())
}

fn index(_svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    reply(resp, &call, 200, &json!({ "extensions": all() }))
}

fn show(_svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let alias = param(req, "alias")?;
    let ext = all()
        .into_iter()
        .find(|e| e["alias"] == alias)
        .ok_or_else(|| Fault::not_found("The resource could not be found."))?;
    reply(resp, &call, 200, &json!({ "extension": ext }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_each_alias_once_in_order() {
        let list = all();
        let aliases: Vec<&str> = list.iter().map(|e| e["alias"].as_str().unwrap()).collect();
        let mut sorted = aliases.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(aliases, sorted);
        assert!(list.contains(&volumes()));
    }
}
