//! Nova's scheduler and resource tracker for the one compute host: the host reports itself
//! to Placement as a resource provider (its size from `[local]`, with Nova's allocation
//! ratios), and every server's resources are claimed there in the server's own
//! transaction, so capacity is real and Placement's usages are what Nova placed. The rules
//! are Placement's (`placement::model`); this file says what Nova asks of it and when.

use std::collections::BTreeMap;

use serde_json::Value;

use super::hypervisors::{node_uuid, Machine};
use super::Result;
use crate::placement::model::{self as placement, ConsumerRequest, NodeSize};
use crate::placement::repo::PlacementRepo;
use crate::settings::HostSize;
use crate::store::{Failure, Tx};

/// Nova's NoValidHost, as the scheduler words it when the host is full.
pub const NO_VALID_HOST: &str = "No valid host was found. There are not enough hosts available.";
/// Nova's NoValidHost for a resize that does not fit (the API answers it 400).
pub const NO_HOST_FOR_RESIZE: &str = "No valid host was found. No valid host found for resize";

/// Placement's consumer types (1.38) for what Nova allocates.
const INSTANCE: &str = "INSTANCE";
const MIGRATION: &str = "MIGRATION";

/// The compute node's size: `[local]`'s, or the machine's where it names none.
pub fn node_size(settings: &HostSize, data_dir: &std::path::Path) -> NodeSize {
    let machine = Machine::read(data_dir);
    NodeSize {
        vcpus: settings.vcpus.unwrap_or(machine.vcpus),
        memory_mb: settings.memory_mb.unwrap_or(machine.memory_mb),
        disk_gb: settings.local_gb.unwrap_or(machine.local_gb),
        cpu_allocation_ratio: settings.cpu_allocation_ratio,
        ram_allocation_ratio: settings.ram_allocation_ratio,
        disk_allocation_ratio: settings.disk_allocation_ratio,
        reserved_host_memory_mb: settings.reserved_host_memory_mb,
    }
}

/// What a flavor asks of Placement (Nova's `resources_from_flavor`): VCPU, MEMORY_MB, and
/// DISK_GB for the root disk (none when the root is a volume), the ephemeral disk and the
/// swap (MiB, rounded up to GiB). Zero amounts are left out, as Placement refuses them.
pub fn resources(flavor: &Value, volume_backed: bool) -> BTreeMap<String, i64> {
    let n = |key: &str| flavor[key].as_i64().unwrap_or(0).max(0);
    let root = if volume_backed { 0 } else { n("disk") };
    let swap_gb = n("swap").saturating_add(1023) / 1024;
    let disk = root.saturating_add(n("ephemeral")).saturating_add(swap_gb);
    [
        ("VCPU", n("vcpus")),
        ("MEMORY_MB", n("ram")),
        ("DISK_GB", disk),
    ]
    .into_iter()
    .filter(|(_, amount)| *amount > 0)
    .map(|(rc, amount)| (rc.to_string(), amount))
    .collect()
}

/// One consumer's allocations against the node, for `set_allocations` (Nova writes
/// without a consumer generation, as before 1.28: it owns these consumers).
fn request(
    node: &str,
    consumer: &str,
    amounts: BTreeMap<String, i64>,
    owner: (&str, &str),
    consumer_type: &str,
) -> ConsumerRequest {
    let allocations = if amounts.is_empty() {
        BTreeMap::new()
    } else {
        BTreeMap::from([(node.to_string(), amounts)])
    };
    ConsumerRequest {
        consumer: consumer.to_string(),
        allocations,
        project_id: owner.0.to_string(),
        user_id: owner.1.to_string(),
        generation: None,
        consumer_type: Some(consumer_type.to_string()),
    }
}

/// Writes the requests; `false` when they do not fit the node (nothing is written then).
fn write(c: &dyn Tx, requests: &[ConsumerRequest]) -> Result<bool> {
    match placement::set_allocations(c, requests) {
        Ok(()) => Ok(true),
        // No room, or no node to put it on (an operator deleted the provider or its
        // inventory through Placement): Nova's scheduler finds no host either way.
        Err(placement::Error::Conflict(..))
        | Err(placement::Error::Invalid(_))
        | Err(placement::Error::NotFound(_)) => Ok(false),
        Err(placement::Error::Store(e)) => Err(Failure::Store(e)),
    }
}

/// Claims each server's resources on the host `host`, all or none: Nova's scheduler fails
/// a multiple create whole when the host cannot hold every server of it. `servers`:
/// (server id, its resources); `owner`: (project, user).
pub fn claim(
    c: &dyn Tx,
    host: &str,
    servers: &[(String, BTreeMap<String, i64>)],
    owner: (&str, &str),
) -> Result<bool> {
    let node = node_uuid(host);
    let requests: Vec<ConsumerRequest> = servers
        .iter()
        .map(|(id, amounts)| request(&node, id, amounts.clone(), owner, INSTANCE))
        .collect();
    write(c, &requests)
}

/// A resize on this host (Nova's `allow_resize_to_same_host`): the migration holds the old
/// flavor's resources and the server the new one's until the resize is confirmed or
/// reverted. `false`: the host cannot hold both (nothing is written).
pub fn claim_resize(
    c: &dyn Tx,
    host: &str,
    server: &str,
    migration: &str,
    old: BTreeMap<String, i64>,
    new: BTreeMap<String, i64>,
    owner: (&str, &str),
) -> Result<bool> {
    let node = node_uuid(host);
    write(
        c,
        &[
            request(&node, migration, old, owner, MIGRATION),
            request(&node, server, new, owner, INSTANCE),
        ],
    )
}

/// A revert: the server takes back what the migration held (the migration's freed in the
/// same step, so it always fits), and the migration's allocations go.
pub fn revert_resize(
    c: &dyn Tx,
    host: &str,
    server: &str,
    migration: &str,
    old: BTreeMap<String, i64>,
    owner: (&str, &str),
) -> Result<()> {
    let node = node_uuid(host);
    write(
        c,
        &[
            request(&node, migration, BTreeMap::new(), owner, MIGRATION),
            request(&node, server, old, owner, INSTANCE),
        ],
    )?;
    Ok(())
}

/// A Placement refusal where Nova's own bookkeeping expects none: logged and answered
/// as a store failure (500), naming what was being done.
fn unexpected(e: placement::Error, doing: &str) -> Failure {
    match e {
        placement::Error::Store(e) => Failure::Store(e),
        other => Failure::Store(crate::store::StoreError(format!("{doing}: {other:?}"))),
    }
}

/// Frees what a consumer (a server or a migration) holds; nothing held is no error.
pub fn free(c: &dyn Tx, consumer: &str) -> Result<()> {
    match placement::delete_allocations(c, consumer) {
        Ok(()) | Err(placement::Error::NotFound(_)) => Ok(()),
        Err(e) => Err(unexpected(e, &format!("freeing {consumer}"))),
    }
}

/// What nova-compute does at start: reports the node (creating its provider or putting its
/// inventory right), then gives every server on it that holds nothing its flavor's
/// allocations (`nova-manage placement heal_allocations`: servers made before Jumpgate
/// wrote allocations). A heal is not refused for room: the servers are there already.
pub fn report(c: &dyn Tx, host: &str, size: &NodeSize) -> Result<usize> {
    let node = node_uuid(host);
    placement::sync_compute_node(c, &node, host, size)
        .map_err(|e| unexpected(e, "placement: the compute node's provider"))?;
    if c.provider(&node)?.is_none() {
        return Ok(0); // an operator's provider holds the host's name
    }
    let mut healed = 0;
    for (id, _) in c.servers_on_host()? {
        if PlacementRepo::consumer(c, &id)?.is_some() {
            continue;
        }
        let Some(s) = super::servers::model::find(c, &id)? else {
            continue;
        };
        let volume_backed = super::volume_attachments::root_volume(c, &id)?.is_some();
        let amounts = resources(&s.flavor, volume_backed);
        if amounts.is_empty() {
            continue;
        }
        placement::force_allocations(
            c,
            &request(&node, &id, amounts, (&s.project_id, &s.user_id), INSTANCE),
        )
        .map_err(|e| unexpected(e, &format!("healing the allocations of {id}")))?;
        healed += 1;
    }
    Ok(healed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use serde_json::json;

    const HOST: &str = "host1";
    const OWNER: (&str, &str) = ("project", "user");

    fn cpus(n: i64) -> BTreeMap<String, i64> {
        BTreeMap::from([("VCPU".to_string(), n)])
    }

    /// A store whose compute node has `vcpus` VCPU (ratio 1) and plenty of the rest.
    fn host_of(vcpus: i64) -> Store {
        let s = Store::memory();
        let size = NodeSize {
            vcpus,
            memory_mb: 1 << 20,
            disk_gb: 1 << 20,
            cpu_allocation_ratio: 1.0,
            ram_allocation_ratio: 1.0,
            disk_allocation_ratio: 1.0,
            reserved_host_memory_mb: 0,
        };
        s.write(|c| report(c, HOST, &size).map(|_| ())).unwrap();
        s
    }

    fn used(s: &Store) -> i64 {
        let node = node_uuid(HOST);
        let usages = s
            .read(|c| {
                placement::usages(c, &node).map_err(|e| match e {
                    placement::Error::Store(e) => Failure::Store(e),
                    other => panic!("{other:?}"),
                })
            })
            .unwrap();
        usages.get("VCPU").copied().unwrap_or(0)
    }

    fn servers(ids: &[&str], each: i64) -> Vec<(String, BTreeMap<String, i64>)> {
        ids.iter().map(|id| (id.to_string(), cpus(each))).collect()
    }

    #[test]
    fn a_request_the_host_cannot_hold_is_refused_whole() {
        let s = host_of(4);
        let claim_ = |ids: &[&str]| {
            s.write(|c| claim(c, HOST, &servers(ids, 1), OWNER))
                .unwrap()
        };
        assert!(claim_(&["a", "b", "c"]));
        assert_eq!(used(&s), 3);
        // Two more do not fit: neither is placed, nothing is written.
        assert!(!claim_(&["d", "e"]));
        assert_eq!(used(&s), 3);
        assert!(claim_(&["d"]));
        assert_eq!(used(&s), 4);
        // A server gone gives its room back; freeing twice is no error.
        s.write(|c| free(c, "a")).unwrap();
        s.write(|c| free(c, "a")).unwrap();
        assert_eq!(used(&s), 3);
    }

    #[test]
    fn a_resize_holds_both_flavors_until_confirmed_or_reverted() {
        let s = host_of(4);
        s.write(|c| claim(c, HOST, &servers(&["srv"], 1), OWNER))
            .unwrap();
        let resize = |new: i64| {
            s.write(|c| claim_resize(c, HOST, "srv", "mig", cpus(1), cpus(new), OWNER))
                .unwrap()
        };
        // 1 (the migration) + 4 (the new flavor) is more than the host has.
        assert!(!resize(4));
        assert_eq!(used(&s), 1);
        assert!(resize(2));
        assert_eq!(used(&s), 3, "the old flavor and the new, on one host");
        // Revert: the server takes back what the migration held.
        s.write(|c| revert_resize(c, HOST, "srv", "mig", cpus(1), OWNER))
            .unwrap();
        assert_eq!(used(&s), 1);
        assert!(s
            .read(|c| Ok::<_, Failure>(PlacementRepo::consumer(c, "mig")?))
            .unwrap()
            .is_none());
        // Confirm: the migration's share goes, the new flavor stays.
        assert!(resize(3));
        assert_eq!(used(&s), 4);
        s.write(|c| free(c, "mig")).unwrap();
        assert_eq!(used(&s), 3);
    }

    #[test]
    fn a_server_made_before_allocations_is_healed_at_report() {
        use crate::store::sql::fixtures::TestServer;
        let s = host_of(2);
        s.write(|c| {
            for (id, vm_state, deleted) in [
                ("old", "active", false),
                ("gone", "active", true),
                ("offloaded", "shelved_offloaded", false),
            ] {
                c.test_server(&TestServer {
                    id,
                    vm_state,
                    deleted,
                    flavor: json!({"vcpus": 2, "ram": 64, "disk": 1}),
                    ..TestServer::default()
                });
            }
            Ok::<_, Failure>(())
        })
        .unwrap();
        let size = NodeSize {
            vcpus: 2,
            memory_mb: 1 << 20,
            disk_gb: 1 << 20,
            cpu_allocation_ratio: 1.0,
            ram_allocation_ratio: 1.0,
            disk_allocation_ratio: 1.0,
            reserved_host_memory_mb: 0,
        };
        // Only the server on the host is given its flavor's allocations, once.
        assert_eq!(s.write(|c| report(c, HOST, &size)).unwrap(), 1);
        assert_eq!(used(&s), 2);
        assert_eq!(s.write(|c| report(c, HOST, &size)).unwrap(), 0);
        assert_eq!(used(&s), 2);
    }

    #[test]
    fn a_flavor_asks_for_its_cpus_memory_and_disks() {
        let f = json!({"vcpus": 2, "ram": 4096, "disk": 40, "ephemeral": 5, "swap": 1536});
        let r = resources(&f, false);
        assert_eq!(r["VCPU"], 2);
        assert_eq!(r["MEMORY_MB"], 4096);
        assert_eq!(r["DISK_GB"], 40 + 5 + 2, "swap rounds up to whole GiB");
        // A volume-backed server's root disk is its volume's, not the host's.
        assert_eq!(resources(&f, true)["DISK_GB"], 5 + 2);
        // Nothing of zero: Placement refuses zero amounts.
        let tiny = json!({"vcpus": 1, "ram": 64, "disk": 0});
        assert!(!resources(&tiny, true).contains_key("DISK_GB"));
        assert!(!resources(&tiny, false).contains_key("DISK_GB"));
    }
}
