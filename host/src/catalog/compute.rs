//! Compute (Nova) API v2 / v2.1, mounted at /compute.
//! Follows softlayer/jumpgate `jumpgate/compute/__init__.py` (newest) plus nova api-ref and routes.
use super::{ep, Endpoint, DISCOVERY};

/// A Nova resource under `/v2/{tenant_id}` that also answers under `/v2.1/{tenant_id}` and,
/// without the project in the URL, under `/v2.1`.
macro_rules! nova {
    ($name:literal, $rest:literal) => {
        ep($name, concat!("/v2/{tenant_id}", $rest))
            .alias(concat!("/v2.1/{tenant_id}", $rest))
            .alias(concat!("/v2.1", $rest))
    };
}

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        // Versions — nova api-ref "API Versions" (v21_index added)
        ep("index", "/").public(DISCOVERY),
        ep("v3_index", "/v3").public(DISCOVERY),
        ep("v2_index", "/v2").public(DISCOVERY),
        ep("v21_index", "/v2.1").public(DISCOVERY),
        // Extensions — nova api-ref "Extensions (extensions) (DEPRECATED)"
        nova!("v2_extensions", "/extensions"),
        nova!("v2_extension", "/extensions/{alias}"),
        // Limits — nova api-ref "Limits (limits)"
        nova!("v2_limits", "/limits"),
        // Servers — nova api-ref "Servers (servers)" (original order: item before `detail`)
        nova!("v2_server", "/servers/{server_id}"),
        nova!("v2_servers", "/servers"),
        nova!("v2_servers_detail", "/servers/detail"),
        // Server metadata — nova api-ref "Server metadata (servers, metadata)"
        nova!("v2_server_metadata", "/servers/{server_id}/metadata"),
        nova!(
            "v2_server_metadata_key",
            "/servers/{server_id}/metadata/{key}"
        ),
        // Server addresses — nova api-ref "Servers IPs (servers, ips)"
        nova!("v2_server_ips", "/servers/{server_id}/ips"),
        nova!(
            "v2_server_ips_network",
            "/servers/{server_id}/ips/{network_label}"
        ),
        // Server actions — nova api-ref "Servers - run an action", "Servers actions (servers, os-instance-actions)"
        nova!("v2_server_action", "/servers/{instance_id}/action"),
        nova!(
            "v2_os_instance_actions",
            "/servers/{server_id}/os-instance-actions"
        ),
        nova!(
            "v2_os_instance_action",
            "/servers/{server_id}/os-instance-actions/{action_id}"
        ),
        // Server tags — nova api-ref "Server tags (servers, tags)" (added)
        nova!("v2_server_tags", "/servers/{server_id}/tags"),
        nova!("v2_server_tag", "/servers/{server_id}/tags/{tag}"),
        // Server diagnostics and topology — nova api-ref "Servers diagnostics", "Servers Topology" (added)
        nova!("v2_server_diagnostics", "/servers/{server_id}/diagnostics"),
        nova!("v2_server_topology", "/servers/{server_id}/topology"),
        // Server consoles — nova api-ref "Server Consoles", "Server Console Auth Tokens" (added)
        nova!(
            "v2_server_remote_consoles",
            "/servers/{server_id}/remote-consoles"
        ),
        nova!(
            "v2_os_console_auth_token",
            "/os-console-auth-tokens/{console_token}"
        ),
        // The page a noVNC console URL opens (nova-novncproxy's `vnc_auto.html`, served
        // here): the console token in its query is its key, so no auth token.
        ep("novnc_console", "/vnc_auto.html").public(DISCOVERY),
        // Server password — nova api-ref "Servers Password (servers, os-server-password)" (added)
        nova!(
            "v2_server_os_server_password",
            "/servers/{server_id}/os-server-password"
        ),
        // Port interfaces — nova api-ref "Port interfaces (servers, os-interface)" (added)
        nova!(
            "v2_server_os_interface",
            "/servers/{server_id}/os-interface"
        ),
        nova!(
            "v2_server_os_interface_port",
            "/servers/{server_id}/os-interface/{port_id}"
        ),
        // Virtual interfaces — nova api-ref "Servers virtual interfaces" (DEPRECATED; added)
        nova!(
            "v2_server_os_virtual_interfaces",
            "/servers/{server_id}/os-virtual-interfaces"
        ),
        // Server migrations — nova api-ref "Server migrations (servers, migrations)" (added)
        nova!("v2_server_migrations", "/servers/{server_id}/migrations"),
        nova!(
            "v2_server_migration",
            "/servers/{server_id}/migrations/{migration_id}"
        ),
        nova!(
            "v2_server_migration_action",
            "/servers/{server_id}/migrations/{migration_id}/action"
        ),
        // Server shares — nova api-ref "Server shares (servers, shares)" (added, 2.97)
        nova!("v2_server_shares", "/servers/{server_id}/shares"),
        nova!("v2_server_share", "/servers/{server_id}/shares/{share_id}"),
        // Images — nova api-ref "Images (DEPRECATED)" (original order: item before `detail`)
        nova!("v2_image", "/images/{image_guid}"),
        nova!("v2_images", "/images"),
        nova!("v2_images_detail", "/images/detail"),
        // Image metadata — nova api-ref "Image metadata (DEPRECATED)" (added)
        nova!("v2_image_metadata", "/images/{image_id}/metadata"),
        nova!("v2_image_metadata_key", "/images/{image_id}/metadata/{key}"),
        // Flavors — nova api-ref "Flavors (flavors)"; the project-less `/v2/flavors` forms are the original's
        ep("v2_flavor", "/v2/flavors/{flavor_id}"),
        ep("v2_flavors", "/v2/flavors"),
        ep("v2_flavors_detail", "/v2/flavors/detail"),
        nova!("v2_tenant_flavor", "/flavors/{flavor_id}"),
        nova!("v2_tenant_flavors", "/flavors"),
        nova!("v2_tenant_flavors_detail", "/flavors/detail"),
        // Flavor access — nova api-ref "Flavors access (flavors, os-flavor-access, action)" (added)
        nova!(
            "v2_flavor_os_flavor_access",
            "/flavors/{flavor_id}/os-flavor-access"
        ),
        nova!("v2_flavor_action", "/flavors/{flavor_id}/action"),
        // Availability zones — nova api-ref "Availability zones (os-availability-zone)"
        nova!("v2_availability_zone", "/os-availability-zone"),
        nova!(
            "v2_availability_zone_detail",
            "/os-availability-zone/detail"
        ),
        // Flavor extra specs — nova api-ref "Flavors extra-specs (flavors, os-extra_specs)"
        nova!(
            "v2_os_extra_specs_flavor",
            "/flavors/{flavor_id}/os-extra_specs"
        ),
        nova!(
            "v2_os_extra_specs_flavor_key",
            "/flavors/{flavor_id}/os-extra_specs/{key_id}"
        ),
        // Floating IPs — nova api-ref "Floating IPs (os-floating-ips) (DEPRECATED)"
        nova!("v2_os_floating_ips", "/os-floating-ips"),
        nova!("v2_os_floating_ips_id", "/os-floating-ips/{id}"),
        // Floating IP DNS — legacy nova-network extension (removed upstream)
        nova!("v2_os_floating_ip_dns", "/os-floating-ip-dns"),
        nova!(
            "v2_os_floating_ip_dns_domain",
            "/os-floating-ip-dns/{domain}"
        ),
        nova!(
            "v2_os_floating_ip_dns_domain_entry",
            "/os-floating-ip-dns/{domain}/entries/{entry}"
        ),
        // Floating IP pools — nova api-ref "Floating IP pools (os-floating-ip-pools) (DEPRECATED)"
        nova!("v2_os_floating_ip_pools", "/os-floating-ip-pools"),
        // Host aggregates — nova api-ref "Host Aggregates (os-aggregates)" (images added, 2.81)
        nova!("v2_os_aggregates", "/os-aggregates"),
        nova!("v2_os_aggregate", "/os-aggregates/{aggregate_id}"),
        nova!(
            "v2_os_aggregate_action",
            "/os-aggregates/{aggregate_id}/action"
        ),
        nova!(
            "v2_os_aggregate_images",
            "/os-aggregates/{aggregate_id}/images"
        ),
        // Hypervisors — nova api-ref "Hypervisors (os-hypervisors)" (item and sub-resources added)
        nova!("v2_os_hypervisors", "/os-hypervisors"),
        nova!("v2_os_hypervisors_detail", "/os-hypervisors/detail"),
        nova!("v2_os_hypervisors_statistics", "/os-hypervisors/statistics"),
        nova!("v2_os_hypervisor", "/os-hypervisors/{hypervisor_id}"),
        nova!(
            "v2_os_hypervisor_uptime",
            "/os-hypervisors/{hypervisor_id}/uptime"
        ),
        nova!(
            "v2_os_hypervisor_search",
            "/os-hypervisors/{hypervisor_hostname_pattern}/search"
        ),
        nova!(
            "v2_os_hypervisor_servers",
            "/os-hypervisors/{hypervisor_hostname_pattern}/servers"
        ),
        // Keypairs — nova api-ref "Keypairs (keypairs)"
        nova!("v2_os_keypairs", "/os-keypairs"),
        nova!("v2_os_keypair", "/os-keypairs/{keypair_name}"),
        // Compute services — nova api-ref "Compute services (os-services)" (last three added)
        nova!("v2_os_services", "/os-services"),
        nova!("v2_os_services_enable", "/os-services/enable"),
        nova!("v2_os_services_disable", "/os-services/disable"),
        nova!("v2_os_services_force_down", "/os-services/force-down"),
        nova!(
            "v2_os_services_disable_log_reason",
            "/os-services/disable-log-reason"
        ),
        nova!("v2_os_service", "/os-services/{service_id}"),
        // Networks — nova api-ref "Networks (os-networks)", "Project networks (os-tenant-networks)" (DEPRECATED)
        nova!("v2_os_tenant_networks", "/os-tenant-networks"),
        nova!("v2_os_tenant_network", "/os-tenant-networks/{network_id}"),
        nova!("v2_os_networks", "/os-networks"),
        nova!("v2_os_network", "/os-networks/{network_id}"),
        // Quota sets — nova api-ref "Quota sets (os-quota-sets)"; `user={user_id}` kept as the original wrote it
        nova!("v2_os_quota_sets", "/os-quota-sets"),
        nova!("v2_os_quota_sets_default", "/os-quota-sets/default"),
        nova!("v2_os_quota_sets_target", "/os-quota-sets/{target_id}"),
        nova!(
            "v2_os_quota_sets_target_defaults",
            "/os-quota-sets/{target_id}/defaults"
        ),
        nova!("v2_os_quota_sets_user", "/os-quota-sets/user={user_id}"),
        nova!("v2_os_tenant_quota_sets", "/os-quota-sets/{account_id}"),
        ep(
            "v1_os_quota_sets_target",
            "/v1/{tenant_id}/os-quota-sets/{target_id}",
        ),
        ep(
            "v1_os_quota_sets_target_defaults",
            "/v1/{tenant_id}/os-quota-sets/{target_id}/defaults",
        ),
        nova!(
            "v2_os_quota_sets_target_detail",
            "/os-quota-sets/{target_id}/detail"
        ),
        // Quota class sets — nova api-ref "Quota class sets (os-quota-class-sets)" (added)
        nova!("v2_os_quota_class_set", "/os-quota-class-sets/{id}"),
        // Security groups — nova api-ref "Security groups (os-security-groups)" (DEPRECATED; last three added)
        nova!("v2_os_security_groups", "/os-security-groups"),
        nova!(
            "v2_os_server_security_groups",
            "/servers/{instance_id}/os-security-groups"
        ),
        nova!(
            "v2_os_security_group",
            "/os-security-groups/{security_group_id}"
        ),
        nova!("v2_os_security_group_rules", "/os-security-group-rules"),
        nova!(
            "v2_os_security_group_rule",
            "/os-security-group-rules/{security_group_rule_id}"
        ),
        // Usage reports — nova api-ref "Usage reports (os-simple-tenant-usage)"
        nova!("v2_tenants_usage", "/os-simple-tenant-usage"),
        nova!("v2_tenant_usage", "/os-simple-tenant-usage/{target_id}"),
        // Volume attachments — nova api-ref "Servers with volume attachments (servers, os-volume_attachments)"
        nova!(
            "v2_os_volume_attachments_detail",
            "/servers/{instance_id}/os-volume_attachments/{volume_id}"
        ),
        nova!(
            "v2_os_volume_attachments",
            "/servers/{instance_id}/os-volume_attachments"
        ),
        // Same item under the brief's nickname; the original's `..._detail` above comes first
        nova!(
            "v2_os_volume_attachment",
            "/servers/{instance_id}/os-volume_attachments/{volume_id}"
        ),
        // Volumes proxy — nova api-ref "Volume extension (os-volumes, os-snapshots)" (DEPRECATED; added)
        nova!("v2_os_volumes", "/os-volumes"),
        nova!("v2_os_volumes_detail", "/os-volumes/detail"),
        nova!("v2_os_volume", "/os-volumes/{volume_id}"),
        nova!("v2_os_snapshots", "/os-snapshots"),
        nova!("v2_os_snapshots_detail", "/os-snapshots/detail"),
        nova!("v2_os_snapshot", "/os-snapshots/{snapshot_id}"),
        // Assisted volume snapshots — nova api-ref "Assisted volume snapshots (os-assisted-volume-snapshots)" (added)
        nova!(
            "v2_os_assisted_volume_snapshots",
            "/os-assisted-volume-snapshots"
        ),
        nova!(
            "v2_os_assisted_volume_snapshot",
            "/os-assisted-volume-snapshots/{snapshot_id}"
        ),
        // Server groups — nova api-ref "Server groups (os-server-groups)" (added)
        nova!("v2_os_server_groups", "/os-server-groups"),
        nova!("v2_os_server_group", "/os-server-groups/{server_group_id}"),
        // Migrations — nova api-ref "Migrations (os-migrations)" (added)
        nova!("v2_os_migrations", "/os-migrations"),
        // Server external events — nova api-ref "Create external events (os-server-external-events)" (added)
        nova!("v2_os_server_external_events", "/os-server-external-events"),
        // Usage audit log — nova api-ref "Server usage audit log (os-instance-usage-audit-log)" (added)
        nova!(
            "v2_os_instance_usage_audit_log",
            "/os-instance_usage_audit_log"
        ),
        nova!(
            "v2_os_instance_usage_audit_log_before",
            "/os-instance_usage_audit_log/{before_timestamp}"
        ),
        // Hosts — nova api-ref "Hosts (os-hosts) (DEPRECATED)" (added)
        nova!("v2_os_hosts", "/os-hosts"),
        nova!("v2_os_host", "/os-hosts/{host_name}"),
        nova!("v2_os_host_reboot", "/os-hosts/{host_name}/reboot"),
        nova!("v2_os_host_shutdown", "/os-hosts/{host_name}/shutdown"),
        nova!("v2_os_host_startup", "/os-hosts/{host_name}/startup"),
        // Bare metal nodes proxy — nova api-ref "Bare metal nodes (os-baremetal-nodes) (DEPRECATED)" (added)
        nova!("v2_os_baremetal_nodes", "/os-baremetal-nodes"),
        nova!("v2_os_baremetal_node", "/os-baremetal-nodes/{node_id}"),
    ]
}
