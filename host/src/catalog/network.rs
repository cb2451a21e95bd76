//! Networking (Neutron) API v2.0, mounted at /network.
//! Follows softlayer/jumpgate `jumpgate/network/__init__.py` (newest) plus the neutron-lib api-ref (api-ref/source/v2).
use super::{ep, Endpoint, DISCOVERY};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        // Versions — neutron api-ref "API versions" (added)
        ep("index", "/").public(DISCOVERY),
        ep("v2_index", "/v2.0").public(DISCOVERY),
        // Networks — neutron api-ref "Networks" (`v2_network` added: the original SL driver registers it)
        ep("v2_networks", "/v2.0/networks"),
        ep("v2_network", "/v2.0/networks/{network_id}"),
        // Subnets — neutron api-ref "Subnets"
        ep("v2_subnets", "/v2.0/subnets"),
        ep("v2_subnet", "/v2.0/subnets/{subnet_id}"),
        // Extensions — neutron api-ref "Extensions" (item added)
        ep("v2_extensions", "/v2.0/extensions"),
        ep("v2_extension", "/v2.0/extensions/{alias}"),
        // Segments and segment ranges — neutron api-ref "Segments", "Network Segment Ranges" (added)
        ep("v2_segments", "/v2.0/segments"),
        ep("v2_segment", "/v2.0/segments/{segment_id}"),
        ep("v2_network_segment_ranges", "/v2.0/network_segment_ranges"),
        ep(
            "v2_network_segment_range",
            "/v2.0/network_segment_ranges/{network_segment_range_id}",
        ),
        // Subnet pools — neutron api-ref "Subnet pools", "Subnet pool prefix operations" (added)
        ep("v2_subnetpools", "/v2.0/subnetpools"),
        ep("v2_subnetpool", "/v2.0/subnetpools/{subnetpool_id}"),
        ep(
            "v2_subnetpool_add_prefixes",
            "/v2.0/subnetpools/{subnetpool_id}/add_prefixes",
        ),
        ep(
            "v2_subnetpool_remove_prefixes",
            "/v2.0/subnetpools/{subnetpool_id}/remove_prefixes",
        ),
        ep(
            "v2_subnetpool_onboard_network_subnets",
            "/v2.0/subnetpools/{subnetpool_id}/onboard_network_subnets",
        ),
        // Ports — neutron api-ref "Ports" (added)
        ep("v2_ports", "/v2.0/ports"),
        ep("v2_port", "/v2.0/ports/{port_id}"),
        // Routers and router operations — neutron api-ref "Routers" (added)
        ep("v2_routers", "/v2.0/routers"),
        ep("v2_router", "/v2.0/routers/{router_id}"),
        ep(
            "v2_router_add_router_interface",
            "/v2.0/routers/{router_id}/add_router_interface",
        ),
        ep(
            "v2_router_remove_router_interface",
            "/v2.0/routers/{router_id}/remove_router_interface",
        ),
        ep(
            "v2_router_add_extraroutes",
            "/v2.0/routers/{router_id}/add_extraroutes",
        ),
        ep(
            "v2_router_remove_extraroutes",
            "/v2.0/routers/{router_id}/remove_extraroutes",
        ),
        ep(
            "v2_router_add_external_gateways",
            "/v2.0/routers/{router_id}/add_external_gateways",
        ),
        ep(
            "v2_router_update_external_gateways",
            "/v2.0/routers/{router_id}/update_external_gateways",
        ),
        ep(
            "v2_router_remove_external_gateways",
            "/v2.0/routers/{router_id}/remove_external_gateways",
        ),
        // Router conntrack helpers — neutron api-ref "Routers Conntrack Helper (CT) target rules" (added)
        ep(
            "v2_router_conntrack_helpers",
            "/v2.0/routers/{router_id}/conntrack_helpers",
        ),
        ep(
            "v2_router_conntrack_helper",
            "/v2.0/routers/{router_id}/conntrack_helpers/{conntrack_helper_id}",
        ),
        // Floating IPs, pools, port forwardings — neutron api-ref "Floating IPs", "Port forwarding" (added)
        ep("v2_floatingips", "/v2.0/floatingips"),
        ep("v2_floatingip", "/v2.0/floatingips/{floatingip_id}"),
        ep("v2_floatingip_pools", "/v2.0/floatingip_pools"),
        ep(
            "v2_floatingip_port_forwardings",
            "/v2.0/floatingips/{floatingip_id}/port_forwardings",
        ),
        ep(
            "v2_floatingip_port_forwarding",
            "/v2.0/floatingips/{floatingip_id}/port_forwardings/{port_forwarding_id}",
        ),
        // Security groups and rules — neutron api-ref "Security groups", "... rules", "Default ... Rules" (added)
        ep("v2_security_groups", "/v2.0/security-groups"),
        ep(
            "v2_security_group",
            "/v2.0/security-groups/{security_group_id}",
        ),
        ep("v2_security_group_rules", "/v2.0/security-group-rules"),
        ep(
            "v2_security_group_rule",
            "/v2.0/security-group-rules/{security_group_rule_id}",
        ),
        ep(
            "v2_default_security_group_rules",
            "/v2.0/default-security-group-rules",
        ),
        ep(
            "v2_default_security_group_rule",
            "/v2.0/default-security-group-rules/{default_security_group_rule_id}",
        ),
        // Address scopes and address groups — neutron api-ref "Address scopes", "Address groups" (added)
        ep("v2_address_scopes", "/v2.0/address-scopes"),
        ep(
            "v2_address_scope",
            "/v2.0/address-scopes/{address_scope_id}",
        ),
        ep("v2_address_groups", "/v2.0/address-groups"),
        ep(
            "v2_address_group",
            "/v2.0/address-groups/{address_group_id}",
        ),
        ep(
            "v2_address_group_add_addresses",
            "/v2.0/address-groups/{address_group_id}/add_addresses",
        ),
        ep(
            "v2_address_group_remove_addresses",
            "/v2.0/address-groups/{address_group_id}/remove_addresses",
        ),
        // Local IPs — neutron api-ref "Local IPs", "Local IP Associations" (added)
        ep("v2_local_ips", "/v2.0/local_ips"),
        ep("v2_local_ip", "/v2.0/local_ips/{local_ip_id}"),
        ep(
            "v2_local_ip_port_associations",
            "/v2.0/local_ips/{local_ip_id}/port_associations",
        ),
        ep(
            "v2_local_ip_port_association",
            "/v2.0/local_ips/{local_ip_id}/port_associations/{fixed_port_id}",
        ),
        // NDP proxies — neutron api-ref "Router NDP proxy" (added)
        ep("v2_ndp_proxies", "/v2.0/ndp_proxies"),
        ep("v2_ndp_proxy", "/v2.0/ndp_proxies/{ndp_proxy_id}"),
        // RBAC policies — neutron api-ref "RBAC Policies" (added)
        ep("v2_rbac_policies", "/v2.0/rbac-policies"),
        ep("v2_rbac_policy", "/v2.0/rbac-policies/{rbac_policy_id}"),
        // QoS policies, rules, rule types — neutron api-ref "Quality of Service" sections (added)
        ep("v2_qos_policies", "/v2.0/qos/policies"),
        ep("v2_qos_policy", "/v2.0/qos/policies/{policy_id}"),
        ep(
            "v2_qos_policy_bandwidth_limit_rules",
            "/v2.0/qos/policies/{policy_id}/bandwidth_limit_rules",
        ),
        ep(
            "v2_qos_policy_bandwidth_limit_rule",
            "/v2.0/qos/policies/{policy_id}/bandwidth_limit_rules/{rule_id}",
        ),
        ep(
            "v2_qos_policy_dscp_marking_rules",
            "/v2.0/qos/policies/{policy_id}/dscp_marking_rules",
        ),
        ep(
            "v2_qos_policy_dscp_marking_rule",
            "/v2.0/qos/policies/{policy_id}/dscp_marking_rules/{dscp_rule_id}",
        ),
        ep(
            "v2_qos_policy_minimum_bandwidth_rules",
            "/v2.0/qos/policies/{policy_id}/minimum_bandwidth_rules",
        ),
        ep(
            "v2_qos_policy_minimum_bandwidth_rule",
            "/v2.0/qos/policies/{policy_id}/minimum_bandwidth_rules/{rule_id}",
        ),
        ep(
            "v2_qos_policy_minimum_packet_rate_rules",
            "/v2.0/qos/policies/{policy_id}/minimum_packet_rate_rules",
        ),
        ep(
            "v2_qos_policy_minimum_packet_rate_rule",
            "/v2.0/qos/policies/{policy_id}/minimum_packet_rate_rules/{rule_id}",
        ),
        ep("v2_qos_policy_tags", "/v2.0/qos/policies/{policy_id}/tags"),
        ep(
            "v2_qos_policy_tag",
            "/v2.0/qos/policies/{policy_id}/tags/{tag}",
        ),
        ep(
            "v2_qos_alias_bandwidth_limit_rule",
            "/v2.0/qos/alias-bandwidth-limit-rules/{rule_id}",
        ),
        ep(
            "v2_qos_alias_dscp_marking_rule",
            "/v2.0/qos/alias-dscp-marking-rules/{dscp_rule_id}",
        ),
        ep(
            "v2_qos_alias_minimum_bandwidth_rule",
            "/v2.0/qos/alias-minimum-bandwidth-rules/{rule_id}",
        ),
        ep(
            "v2_qos_alias_minimum_packet_rate_rule",
            "/v2.0/qos/alias-minimum-packet-rate-rules/{rule_id}",
        ),
        ep("v2_qos_rule_types", "/v2.0/qos/rule-types"),
        ep("v2_qos_rule_type", "/v2.0/qos/rule-types/{rule_type}"),
        // Trunks — neutron api-ref "Trunk networking" (added)
        ep("v2_trunks", "/v2.0/trunks"),
        ep("v2_trunk", "/v2.0/trunks/{trunk_id}"),
        ep(
            "v2_trunk_add_subports",
            "/v2.0/trunks/{trunk_id}/add_subports",
        ),
        ep(
            "v2_trunk_remove_subports",
            "/v2.0/trunks/{trunk_id}/remove_subports",
        ),
        ep(
            "v2_trunk_get_subports",
            "/v2.0/trunks/{trunk_id}/get_subports",
        ),
        // Quotas — neutron api-ref "Quotas extension" (added; router strips the api-ref's `details.json`)
        ep("v2_quotas", "/v2.0/quotas"),
        ep("v2_quota", "/v2.0/quotas/{project_id}"),
        ep("v2_quota_default", "/v2.0/quotas/{project_id}/default"),
        ep("v2_quota_details", "/v2.0/quotas/{project_id}/details"),
        // Availability zones and service providers — neutron api-ref "Availability zones", "Service providers" (added)
        ep("v2_availability_zones", "/v2.0/availability_zones"),
        ep("v2_service_providers", "/v2.0/service-providers"),
        // Agents and scheduling — neutron api-ref "Networking agents", "L3/DHCP agent scheduler" (added)
        ep("v2_agents", "/v2.0/agents"),
        ep("v2_agent", "/v2.0/agents/{agent_id}"),
        ep("v2_agent_l3_routers", "/v2.0/agents/{agent_id}/l3-routers"),
        ep(
            "v2_agent_l3_router",
            "/v2.0/agents/{agent_id}/l3-routers/{router_id}",
        ),
        ep("v2_router_l3_agents", "/v2.0/routers/{router_id}/l3-agents"),
        ep(
            "v2_agent_dhcp_networks",
            "/v2.0/agents/{agent_id}/dhcp-networks",
        ),
        ep(
            "v2_agent_dhcp_network",
            "/v2.0/agents/{agent_id}/dhcp-networks/{network_id}",
        ),
        ep(
            "v2_network_dhcp_agents",
            "/v2.0/networks/{network_id}/dhcp-agents",
        ),
        // Network IP availability — neutron api-ref "Network IP availability and usage stats" (added)
        ep(
            "v2_network_ip_availabilities",
            "/v2.0/network-ip-availabilities",
        ),
        ep(
            "v2_network_ip_availability",
            "/v2.0/network-ip-availabilities/{network_id}",
        ),
        // Auto allocated topology — neutron api-ref "Auto Allocated Topology" (added)
        ep(
            "v2_auto_allocated_topology",
            "/v2.0/auto-allocated-topology/{project_id}",
        ),
        // Metering — neutron api-ref "Metering labels and rules" (added)
        ep(
            "v2_metering_metering_labels",
            "/v2.0/metering/metering-labels",
        ),
        ep(
            "v2_metering_metering_label",
            "/v2.0/metering/metering-labels/{metering_label_id}",
        ),
        ep(
            "v2_metering_metering_label_rules",
            "/v2.0/metering/metering-label-rules",
        ),
        ep(
            "v2_metering_metering_label_rule",
            "/v2.0/metering/metering-label-rules/{metering_label_rule_id}",
        ),
        // Logging — neutron api-ref "Logging", "Loggable resources" (added)
        ep("v2_log_logs", "/v2.0/log/logs"),
        ep("v2_log_log", "/v2.0/log/logs/{log_id}"),
        ep("v2_log_loggable_resources", "/v2.0/log/loggable-resources"),
        // Networking flavors and service profiles — neutron api-ref "Networking Flavors Framework" (added)
        ep("v2_flavors", "/v2.0/flavors"),
        ep("v2_flavor", "/v2.0/flavors/{flavor_id}"),
        ep(
            "v2_flavor_service_profiles",
            "/v2.0/flavors/{flavor_id}/service_profiles",
        ),
        ep(
            "v2_flavor_service_profile",
            "/v2.0/flavors/{flavor_id}/service_profiles/{profile_id}",
        ),
        ep("v2_service_profiles", "/v2.0/service_profiles"),
        ep("v2_service_profile", "/v2.0/service_profiles/{profile_id}"),
        // Resource tags — neutron api-ref "Resource tag" (added; generic patterns last so every static route wins)
        ep("v2_tags", "/v2.0/{resource_type}/{resource_id}/tags"),
        ep("v2_tag", "/v2.0/{resource_type}/{resource_id}/tags/{tag}"),
    ]
}
