//! Bare Metal (Ironic) API v1, mounted at /baremetal.
//! Follows softlayer/jumpgate `jumpgate/baremetal/__init__.py` (newest) plus the ironic api-ref (api-ref/source).
use super::{ep, Endpoint, DISCOVERY};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        // Versions — ironic api-ref "API versions" (added; `/v1/versions` below is the original's)
        ep("index", "/").public(DISCOVERY),
        ep("v1_index", "/v1").public(DISCOVERY),
        // Versions as the original listed them (not an Ironic API)
        ep("v1_versions", "/v1/versions"),
        ep("v1_version", "/v1/versions/{version_id}"),
        // Nodes — ironic api-ref "Nodes (nodes)" (original order: item before `detail`)
        ep("v1_nodes", "/v1/nodes"),
        ep("v1_node", "/v1/nodes/{node_id}"),
        ep("v1_nodes_detail", "/v1/nodes/detail"),
        // Node management — ironic api-ref "Node Management (nodes)" (added)
        ep("v1_node_validate", "/v1/nodes/{node_id}/validate"),
        ep("v1_node_maintenance", "/v1/nodes/{node_id}/maintenance"),
        ep(
            "v1_node_management_boot_device",
            "/v1/nodes/{node_id}/management/boot_device",
        ),
        ep(
            "v1_node_management_boot_device_supported",
            "/v1/nodes/{node_id}/management/boot_device/supported",
        ),
        ep(
            "v1_node_management_inject_nmi",
            "/v1/nodes/{node_id}/management/inject_nmi",
        ),
        ep("v1_node_states", "/v1/nodes/{node_id}/states"),
        ep("v1_node_states_power", "/v1/nodes/{node_id}/states/power"),
        ep(
            "v1_node_states_provision",
            "/v1/nodes/{node_id}/states/provision",
        ),
        ep("v1_node_states_raid", "/v1/nodes/{node_id}/states/raid"),
        ep(
            "v1_node_states_console",
            "/v1/nodes/{node_id}/states/console",
        ),
        ep(
            "v1_node_states_boot_mode",
            "/v1/nodes/{node_id}/states/boot_mode",
        ),
        ep(
            "v1_node_states_secure_boot",
            "/v1/nodes/{node_id}/states/secure_boot",
        ),
        // Indicators — ironic api-ref "Indicators Management" (added; `{ind}@{component}` item left out)
        ep(
            "v1_node_management_indicators",
            "/v1/nodes/{node_id}/management/indicators",
        ),
        ep(
            "v1_node_management_indicator",
            "/v1/nodes/{node_id}/management/indicators/{component}",
        ),
        // Node traits, VIFs, BIOS, firmware, inventory, history, children, vmedia — ironic api-ref (added)
        ep("v1_node_traits", "/v1/nodes/{node_id}/traits"),
        ep("v1_node_trait", "/v1/nodes/{node_id}/traits/{trait}"),
        ep("v1_node_vifs", "/v1/nodes/{node_id}/vifs"),
        ep("v1_node_vif", "/v1/nodes/{node_id}/vifs/{vif_id}"),
        ep("v1_node_bios", "/v1/nodes/{node_id}/bios"),
        ep(
            "v1_node_bios_setting",
            "/v1/nodes/{node_id}/bios/{setting_name}",
        ),
        ep("v1_node_firmware", "/v1/nodes/{node_id}/firmware"),
        ep("v1_node_inventory", "/v1/nodes/{node_id}/inventory"),
        ep("v1_node_history", "/v1/nodes/{node_id}/history"),
        ep(
            "v1_node_history_event",
            "/v1/nodes/{node_id}/history/{event_id}",
        ),
        ep("v1_node_children", "/v1/nodes/{node_id}/children"),
        ep("v1_node_vmedia", "/v1/nodes/{node_id}/vmedia"),
        // Node ports, portgroups, volume, allocation — ironic api-ref node sub-resources (added)
        ep("v1_node_ports", "/v1/nodes/{node_id}/ports"),
        ep("v1_node_ports_detail", "/v1/nodes/{node_id}/ports/detail"),
        ep("v1_node_portgroups", "/v1/nodes/{node_id}/portgroups"),
        ep(
            "v1_node_portgroups_detail",
            "/v1/nodes/{node_id}/portgroups/detail",
        ),
        ep("v1_node_volume", "/v1/nodes/{node_id}/volume"),
        ep(
            "v1_node_volume_connectors",
            "/v1/nodes/{node_id}/volume/connectors",
        ),
        ep(
            "v1_node_volume_targets",
            "/v1/nodes/{node_id}/volume/targets",
        ),
        ep("v1_node_allocation", "/v1/nodes/{node_id}/allocation"),
        // Chassis — ironic api-ref "Chassis (chassis)" (original `{chassis_id}}` typo fixed)
        ep("v1_chassis", "/v1/chassis"),
        ep("v1_chassis_single", "/v1/chassis/{chassis_id}"),
        ep("v1_chassis_detail", "/v1/chassis/detail"),
        ep("v1_chassis_nodes", "/v1/chassis/{chassis_id}/nodes"),
        // Ports — ironic api-ref "Ports (ports)" (original order: item before `detail`)
        ep("v1_ports", "/v1/ports"),
        ep("v1_port", "/v1/ports/{port_id}"),
        ep("v1_ports_detail", "/v1/ports/detail"),
        // Portgroups — ironic api-ref "Portgroups (portgroups)", "Listing Ports by Portgroup" (added)
        ep("v1_portgroups", "/v1/portgroups"),
        ep("v1_portgroups_detail", "/v1/portgroups/detail"),
        ep("v1_portgroup", "/v1/portgroups/{portgroup_id}"),
        ep("v1_portgroup_ports", "/v1/portgroups/{portgroup_id}/ports"),
        ep(
            "v1_portgroup_ports_detail",
            "/v1/portgroups/{portgroup_id}/ports/detail",
        ),
        // Drivers — ironic api-ref "Drivers (drivers)", "Driver Vendor Passthru (drivers)" (sub-resources added)
        ep("v1_drivers", "/v1/drivers"),
        ep("v1_driver", "/v1/drivers/{driver_id}"),
        ep("v1_driver_properties", "/v1/drivers/{driver_id}/properties"),
        ep(
            "v1_driver_raid_logical_disk_properties",
            "/v1/drivers/{driver_id}/raid/logical_disk_properties",
        ),
        ep(
            "v1_driver_vendor_passthru",
            "/v1/drivers/{driver_id}/vendor_passthru",
        ),
        ep(
            "v1_driver_vendor_passthru_methods",
            "/v1/drivers/{driver_id}/vendor_passthru/methods",
        ),
        // Images — the original's (not an Ironic API)
        ep("v1_images", "/v1/images"),
        ep("v1_image", "/v1/images/{image_id}"),
        // Early node sub-resources — the original's (pre-release Ironic spec)
        ep(
            "v1_driver_configuration",
            "/v1/nodes/{node_id}/driver_configuration",
        ),
        ep(
            "v1_driver_configuration_parameters",
            "/v1/nodes/{node_id}/driver_configuration/parameters",
        ),
        ep("v1_state", "/v1/nodes/{node_id}/state"),
        ep("v1_meta_data", "/v1/nodes/{node_id}/meta_data"),
        // Node vendor passthru — ironic api-ref "Node Vendor Passthru" (first two added)
        ep(
            "v1_node_vendor_passthru",
            "/v1/nodes/{node_id}/vendor_passthru",
        ),
        ep(
            "v1_node_vendor_passthru_methods",
            "/v1/nodes/{node_id}/vendor_passthru/methods",
        ),
        ep(
            "v1_vendor_passthru",
            "/v1/nodes/{node_id}/vendor_passthru/{method_name}",
        ),
        // Volume connectors and targets — ironic api-ref "Volume (volume)" (added)
        ep("v1_volume", "/v1/volume"),
        ep("v1_volume_connectors", "/v1/volume/connectors"),
        ep(
            "v1_volume_connector",
            "/v1/volume/connectors/{volume_connector_id}",
        ),
        ep("v1_volume_targets", "/v1/volume/targets"),
        ep("v1_volume_target", "/v1/volume/targets/{volume_target_id}"),
        // Allocations — ironic api-ref "Allocations (allocations)" (added)
        ep("v1_allocations", "/v1/allocations"),
        ep("v1_allocation", "/v1/allocations/{allocation_id}"),
        // Deploy templates and runbooks — ironic api-ref "Deploy Templates", "Runbooks" (added)
        ep("v1_deploy_templates", "/v1/deploy_templates"),
        ep(
            "v1_deploy_template",
            "/v1/deploy_templates/{deploy_template_id}",
        ),
        ep("v1_runbooks", "/v1/runbooks"),
        ep("v1_runbook", "/v1/runbooks/{runbook_id}"),
        // Conductors, shards, events — ironic api-ref "Conductors (conductors)", "Shards", events (1.54) (added)
        ep("v1_conductors", "/v1/conductors"),
        ep("v1_conductor", "/v1/conductors/{hostname}"),
        ep("v1_shards", "/v1/shards"),
        ep("v1_events", "/v1/events"),
        // Inspection rules — ironic api-ref "Inspection Rules (inspection_rules)" (1.96; added)
        ep("v1_inspection_rules", "/v1/inspection_rules"),
        ep(
            "v1_inspection_rule",
            "/v1/inspection_rules/{inspection_rule_id}",
        ),
        // Agent lookup and heartbeat — ironic api-ref "Utility"; called by ironic-python-agent without a token
        ep("v1_lookup", "/v1/lookup").public(&["GET"]),
        ep("v1_heartbeat", "/v1/heartbeat/{node_id}").public(&["POST"]),
    ]
}
