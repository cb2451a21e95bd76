//! Block Storage (Cinder) API v3, v2 and the legacy v1, mounted at /volume.
//! Follows softlayer/jumpgate `jumpgate/volume/__init__.py` (newest) plus the cinder api-ref (api-ref/source/v3).
use super::{ep, Endpoint, DISCOVERY};

/// A resource Cinder serves in both v2 and v3: `/v2/{tenant_id}` canonical, also answering under
/// `/v3/{tenant_id}` and, without the project in the URL (microversion 3.67), under `/v3`.
macro_rules! cinder {
    ($name:literal, $rest:literal) => {
        ep($name, concat!("/v2/{tenant_id}", $rest))
            .alias(concat!("/v3/{tenant_id}", $rest))
            .alias(concat!("/v3", $rest))
    };
}

/// A v3-only resource: `/v3/{tenant_id}` canonical, also answering project-less under `/v3`.
macro_rules! cinder3 {
    ($name:literal, $rest:literal) => {
        ep($name, concat!("/v3/{tenant_id}", $rest)).alias(concat!("/v3", $rest))
    };
}

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        // Versions — cinder api-ref "API versions" (index and v3_index added)
        ep("index", "/").public(DISCOVERY),
        ep("v2_index", "/v2").public(DISCOVERY),
        ep("v3_index", "/v3").public(DISCOVERY),
        // Volumes — cinder api-ref "Volumes (volumes)"; `os-volumes` is the original's v2-only path
        cinder!("v2_volumes", "/volumes"),
        ep("v2_os_volumes", "/v2/{tenant_id}/os-volumes"),
        cinder!("v2_volumes_detail", "/volumes/detail"),
        cinder3!("v3_volumes_summary", "/volumes/summary"),
        cinder!("v2_volume", "/volumes/{volume_id}"),
        // Volume actions, metadata, encryption — cinder api-ref "Volume actions", "Volumes" (added)
        cinder!("v2_volume_action", "/volumes/{volume_id}/action"),
        cinder!("v2_volume_metadata", "/volumes/{volume_id}/metadata"),
        cinder!(
            "v2_volume_metadata_key",
            "/volumes/{volume_id}/metadata/{key}"
        ),
        cinder!("v2_volume_encryption", "/volumes/{volume_id}/encryption"),
        cinder!(
            "v2_volume_encryption_key",
            "/volumes/{volume_id}/encryption/{encryption_key}"
        ),
        // Volume manage — cinder api-ref "Volume manage extension (os-volume-manage)" (added)
        cinder!("v2_os_volume_manage", "/os-volume-manage"),
        cinder3!("v3_manageable_volumes", "/manageable_volumes"),
        cinder3!("v3_manageable_volumes_detail", "/manageable_volumes/detail"),
        // Volume types — cinder api-ref "Volume types (types)" (`types/default`, 3.62, added before the item)
        cinder!("v2_volume_types", "/types"),
        cinder3!("v3_types_default", "/types/default"),
        cinder!("v2_volume_type", "/types/{type_id}"),
        // Extra specs, access, actions, encryption — cinder api-ref "Volume types", "Volume type access" (added)
        cinder!("v2_volume_type_extra_specs", "/types/{type_id}/extra_specs"),
        cinder!(
            "v2_volume_type_extra_spec",
            "/types/{type_id}/extra_specs/{key}"
        ),
        cinder!(
            "v2_volume_type_os_volume_type_access",
            "/types/{type_id}/os-volume-type-access"
        ),
        cinder!("v2_volume_type_action", "/types/{type_id}/action"),
        cinder!("v2_volume_type_encryption", "/types/{type_id}/encryption"),
        cinder!(
            "v2_volume_type_encryption_item",
            "/types/{type_id}/encryption/{encryption_id}"
        ),
        // Default volume types — cinder api-ref "Default Volume Types" (3.62; never project-scoped; added)
        ep("v3_default_types", "/v3/default-types"),
        ep("v3_default_type", "/v3/default-types/{project_id}"),
        // Snapshots — cinder api-ref "Volume snapshots (snapshots)" (`detail` added before the item)
        cinder!("v2_snapshots", "/snapshots"),
        cinder!("v2_snapshots_detail", "/snapshots/detail"),
        cinder!("v2_snapshot", "/snapshots/{snapshot_id}"),
        // Snapshot actions and metadata — cinder api-ref "Snapshot actions", "Volume snapshots (snapshots)" (added)
        cinder!("v2_snapshot_action", "/snapshots/{snapshot_id}/action"),
        cinder!("v2_snapshot_metadata", "/snapshots/{snapshot_id}/metadata"),
        cinder!(
            "v2_snapshot_metadata_key",
            "/snapshots/{snapshot_id}/metadata/{key}"
        ),
        // Snapshot manage — cinder api-ref "Snapshot manage extension (os-snapshot-manage)" (added)
        cinder!("v2_os_snapshot_manage", "/os-snapshot-manage"),
        cinder3!("v3_manageable_snapshots", "/manageable_snapshots"),
        cinder3!(
            "v3_manageable_snapshots_detail",
            "/manageable_snapshots/detail"
        ),
        // Backups — cinder api-ref "Backups (backups)", "Backup actions" (added; `import_record` before the item)
        cinder!("v2_backups", "/backups"),
        cinder!("v2_backups_detail", "/backups/detail"),
        cinder!("v2_backups_import_record", "/backups/import_record"),
        cinder!("v2_backup", "/backups/{backup_id}"),
        cinder!("v2_backup_restore", "/backups/{backup_id}/restore"),
        cinder!("v2_backup_action", "/backups/{backup_id}/action"),
        cinder!(
            "v2_backup_export_record",
            "/backups/{backup_id}/export_record"
        ),
        // Attachments — cinder api-ref "Attachments" (3.27; complete = `action` os-complete; added)
        cinder3!("v3_attachments", "/attachments"),
        cinder3!("v3_attachments_detail", "/attachments/detail"),
        cinder3!("v3_attachment", "/attachments/{attachment_id}"),
        cinder3!(
            "v3_attachment_action",
            "/attachments/{attachment_id}/action"
        ),
        // Limits — cinder api-ref "Limits (limits)" (added)
        cinder!("v2_limits", "/limits"),
        // Quotas — cinder api-ref "Quota sets extension", "Quota class set extension" (added)
        cinder!("v2_os_quota_set", "/os-quota-sets/{project_id}"),
        cinder!(
            "v2_os_quota_set_defaults",
            "/os-quota-sets/{project_id}/defaults"
        ),
        cinder!(
            "v2_os_quota_class_set",
            "/os-quota-class-sets/{quota_class_name}"
        ),
        // Availability zones — cinder api-ref "Availability zones (os-availability-zone)" (added)
        cinder!("v2_os_availability_zone", "/os-availability-zone"),
        // Pools and capabilities — cinder api-ref "Back-end storage pools", "Capabilities" (added)
        cinder!("v2_scheduler_stats_get_pools", "/scheduler-stats/get_pools"),
        cinder!("v2_capability", "/capabilities/{hostname}"),
        // Services — cinder api-ref "Services (os-services)" (added)
        cinder!("v2_os_services", "/os-services"),
        cinder!("v2_os_services_enable", "/os-services/enable"),
        cinder!("v2_os_services_disable", "/os-services/disable"),
        cinder!(
            "v2_os_services_disable_log_reason",
            "/os-services/disable-log-reason"
        ),
        cinder!("v2_os_services_freeze", "/os-services/freeze"),
        cinder!("v2_os_services_thaw", "/os-services/thaw"),
        cinder!("v2_os_services_failover_host", "/os-services/failover_host"),
        cinder3!("v3_os_services_failover", "/os-services/failover"),
        cinder3!("v3_os_services_set_log", "/os-services/set-log"),
        cinder3!("v3_os_services_get_log", "/os-services/get-log"),
        // Hosts — cinder api-ref "Hosts extension (os-hosts)" (added)
        cinder!("v2_os_hosts", "/os-hosts"),
        cinder!("v2_os_host", "/os-hosts/{host_name}"),
        // Messages — cinder api-ref "Messages (messages)" (3.3; added)
        cinder3!("v3_messages", "/messages"),
        cinder3!("v3_message", "/messages/{message_id}"),
        // Generic volume groups — cinder api-ref "Generic volume groups (groups)", "Group replication" (3.13; added)
        cinder3!("v3_groups", "/groups"),
        cinder3!("v3_groups_detail", "/groups/detail"),
        cinder3!("v3_groups_action", "/groups/action"),
        cinder3!("v3_group", "/groups/{group_id}"),
        cinder3!("v3_group_action", "/groups/{group_id}/action"),
        // Group types and group specs — cinder api-ref "Group types (group_types)", "Group type specs" (3.11; added)
        cinder3!("v3_group_types", "/group_types"),
        cinder3!("v3_group_types_default", "/group_types/default"),
        cinder3!("v3_group_type", "/group_types/{group_type_id}"),
        cinder3!(
            "v3_group_type_group_specs",
            "/group_types/{group_type_id}/group_specs"
        ),
        cinder3!(
            "v3_group_type_group_spec",
            "/group_types/{group_type_id}/group_specs/{spec_id}"
        ),
        // Group snapshots — cinder api-ref "Group snapshots (group_snapshots)" (3.14; added)
        cinder3!("v3_group_snapshots", "/group_snapshots"),
        cinder3!("v3_group_snapshots_detail", "/group_snapshots/detail"),
        cinder3!("v3_group_snapshot", "/group_snapshots/{group_snapshot_id}"),
        cinder3!(
            "v3_group_snapshot_action",
            "/group_snapshots/{group_snapshot_id}/action"
        ),
        // QoS specs — cinder api-ref "Quality of service (QoS) specifications (qos-specs)" (added)
        cinder!("v2_qos_specs", "/qos-specs"),
        cinder!("v2_qos_spec", "/qos-specs/{qos_id}"),
        cinder!(
            "v2_qos_spec_associations",
            "/qos-specs/{qos_id}/associations"
        ),
        cinder!("v2_qos_spec_associate", "/qos-specs/{qos_id}/associate"),
        cinder!(
            "v2_qos_spec_disassociate",
            "/qos-specs/{qos_id}/disassociate"
        ),
        cinder!(
            "v2_qos_spec_disassociate_all",
            "/qos-specs/{qos_id}/disassociate_all"
        ),
        cinder!("v2_qos_spec_delete_keys", "/qos-specs/{qos_id}/delete_keys"),
        // Extensions — cinder api-ref "API extensions (extensions)" (added)
        cinder!("v2_extensions", "/extensions"),
        // Resource filters — cinder api-ref "Resource Filters" (3.33; added)
        cinder3!("v3_resource_filters", "/resource_filters"),
        // Workers — cinder api-ref "Workers (workers)" (3.24; added)
        cinder3!("v3_workers_cleanup", "/workers/cleanup"),
        // Volume transfers (legacy) — cinder api-ref "Volume transfer (os-volume-transfer)" (added)
        cinder!("v2_os_volume_transfer", "/os-volume-transfer"),
        cinder!("v2_os_volume_transfer_detail", "/os-volume-transfer/detail"),
        cinder!(
            "v2_os_volume_transfer_item",
            "/os-volume-transfer/{transfer_id}"
        ),
        cinder!(
            "v2_os_volume_transfer_accept",
            "/os-volume-transfer/{transfer_id}/accept"
        ),
        // Volume transfers — cinder api-ref "Volume transfers (volume-transfers)" (3.55; added)
        cinder3!("v3_volume_transfers", "/volume-transfers"),
        cinder3!("v3_volume_transfers_detail", "/volume-transfers/detail"),
        cinder3!("v3_volume_transfer", "/volume-transfers/{transfer_id}"),
        cinder3!(
            "v3_volume_transfer_accept",
            "/volume-transfers/{transfer_id}/accept"
        ),
        // Clusters — cinder api-ref "Clusters (clusters)" (3.7; enable/disable before the item; added)
        cinder3!("v3_clusters", "/clusters"),
        cinder3!("v3_clusters_detail", "/clusters/detail"),
        cinder3!("v3_clusters_enable", "/clusters/enable"),
        cinder3!("v3_clusters_disable", "/clusters/disable"),
        cinder3!("v3_cluster", "/clusters/{cluster_name}"),
        // Volumes v1 — legacy Cinder v1 API (removed upstream; original order: item before `detail`)
        ep("v1_snapshots_detail", "/v1/{tenant_id}/snapshots/detail"),
        ep("v1_volume_types", "/v1/{tenant_id}/types"),
        ep("v1_volumes", "/v1/{tenant_id}/volumes"),
        ep("v1_volume", "/v1/{tenant_id}/volumes/{volume_id}"),
        ep("v1_volumes_detail", "/v1/{tenant_id}/volumes/detail"),
    ]
}
