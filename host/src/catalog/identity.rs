//! Identity (Keystone) API v3 and v2.0, mounted at the root.
//! Follows softlayer/jumpgate `jumpgate/identity/__init__.py` (newest) plus the keystone api-ref (api-ref/source/v3).
use super::{ep, Endpoint, DISCOVERY};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        // Versions — Keystone api-ref "API versions" (original `versions` at `/`)
        ep("versions", "/").public(DISCOVERY),
        ep("v3_auth_index", "/v3").public(DISCOVERY),
        // Tokens — api-ref v3 "Authentication and token management"; only POST (issue) needs no token
        ep("v3_auth_tokens", "/v3/auth/tokens").public(&["POST"]),
        ep("v3_tokens", "/v3/tokens"),
        // Auth catalog and scopes — api-ref v3 "Authentication and token management" (added)
        ep("v3_auth_catalog", "/v3/auth/catalog"),
        ep("v3_auth_projects", "/v3/auth/projects"),
        ep("v3_auth_domains", "/v3/auth/domains"),
        ep("v3_auth_system", "/v3/auth/system"),
        // Services — api-ref v3 "Service catalog and endpoints"
        ep("v3_services", "/v3/services"),
        ep("v3_services_with_id", "/v3/services/{service_id}"),
        // Endpoints — api-ref v3 "Service catalog and endpoints"
        ep("v3_endpoints", "/v3/endpoints"),
        ep("v3_endpoints_with_id", "/v3/endpoints/{endpoint_id}"),
        // Regions — api-ref v3 "Regions" (added)
        ep("v3_regions", "/v3/regions"),
        ep("v3_region", "/v3/regions/{region_id}"),
        // Domains and role grants — api-ref v3 "Domains"; original `/role/{role_id}` first, `/roles/` alias
        ep("v3_domains", "/v3/domains"),
        ep("v3_domains_with_id", "/v3/domains/{domain_id}"),
        ep("v3_domain_user_roles", "/v3/domains/{domain_id}/users/{user_id}/roles"),
        ep("v3_domain_user_role", "/v3/domains/{domain_id}/users/{user_id}/role/{role_id}")
            .alias("/v3/domains/{domain_id}/users/{user_id}/roles/{role_id}"),
        ep("v3_domain_group_roles", "/v3/domains/{domain_id}/groups/{group_id}/roles"),
        ep("v3_domain_group_role", "/v3/domains/{domain_id}/groups/{group_id}/role/{role_id}")
            .alias("/v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}"),
        // Domain configuration — api-ref v3 "Domain configuration" (added; the defaults before `{domain_id}`)
        ep("v3_domain_config_default", "/v3/domains/config/default"),
        ep("v3_domain_config_group_default", "/v3/domains/config/{group}/default"),
        ep("v3_domain_config_option_default", "/v3/domains/config/{group}/{option}/default"),
        ep("v3_domain_config", "/v3/domains/{domain_id}/config"),
        ep("v3_domain_config_group", "/v3/domains/{domain_id}/config/{group}"),
        ep("v3_domain_config_option", "/v3/domains/{domain_id}/config/{group}/{option}"),
        // Projects and project role grants — api-ref v3 "Projects"
        ep("v3_projects", "/v3/projects"),
        ep("v3_projects_with_id", "/v3/projects/{project_id}"),
        ep("v3_project_users", "/v3/projects/{project_id}/users"),
        ep("v3_project_user_roles", "/v3/projects/{project_id}/users/{user_id}/roles"),
        ep("v3_project_user_role", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}"),
        ep("v3_project_group_roles", "/v3/projects/{project_id}/groups/{group_id}/roles"),
        // Project group grant, tags — api-ref v3 "Projects", "Project tags" (added; before v3_project_role)
        ep("v3_project_group_role", "/v3/projects/{project_id}/groups/{group_id}/roles/{role_id}"),
        ep("v3_project_tags", "/v3/projects/{project_id}/tags"),
        ep("v3_project_tag", "/v3/projects/{project_id}/tags/{tag}"),
        // Original catch-all project role path (not a Keystone API; kept as the original had it)
        ep("v3_project_role", "/v3/projects/{project_id}/{role_id}"),
        // Users — api-ref v3 "Users"
        ep("v3_users", "/v3/users"),
        ep("v3_user", "/v3/users/{user_id}"),
        ep("v3_user_groups", "/v3/users/{user_id}/groups"),
        ep("v3_user_projects", "/v3/users/{user_id}/projects"),
        ep("v3_user_roles", "/v3/users/{user_id}/roles"),
        // Password, app credentials, access rules, EC2 — api-ref v3 "Users", "Application Credentials" (added)
        ep("v3_user_password", "/v3/users/{user_id}/password"),
        ep("v3_user_application_credentials", "/v3/users/{user_id}/application_credentials"),
        ep(
            "v3_user_application_credential",
            "/v3/users/{user_id}/application_credentials/{application_credential_id}",
        ),
        ep("v3_user_access_rules", "/v3/users/{user_id}/access_rules"),
        ep("v3_user_access_rule", "/v3/users/{user_id}/access_rules/{access_rule_id}"),
        ep("v3_user_credentials_os_ec2", "/v3/users/{user_id}/credentials/OS-EC2"),
        ep(
            "v3_user_credentials_os_ec2_credential",
            "/v3/users/{user_id}/credentials/OS-EC2/{credential_id}",
        ),
        // Groups and membership — api-ref v3 "Groups"
        ep("v3_groups", "/v3/groups"),
        ep("v3_group", "/v3/groups/{group_id}"),
        ep("v3_group_users", "/v3/groups/{group_id}/users"),
        ep("v3_group_user", "/v3/groups/{group_id}/users/{user_id}"),
        // Credentials — api-ref v3 "Credentials" (nicknames keep the original's spelling)
        ep("v3_credentails", "/v3/credentials"),
        ep("v3_credentail", "/v3/credentials/{credential_id}"),
        // Roles — api-ref v3 "Roles"
        ep("v3_roles", "/v3/roles"),
        ep("v3_role", "/v3/roles/{role_id}"),
        ep("v3_role_users", "/v3/roles/{role_id}/users"),
        // Implied roles, inferences and assignments — api-ref v3 "Roles" (added)
        ep("v3_role_implies", "/v3/roles/{prior_role_id}/implies"),
        ep("v3_role_implied_role", "/v3/roles/{prior_role_id}/implies/{implied_role_id}"),
        ep("v3_role_inferences", "/v3/role_inferences"),
        ep("v3_role_assignments", "/v3/role_assignments"),
        // System role grants — api-ref v3 "System Role Assignments" (added)
        ep("v3_system_user_roles", "/v3/system/users/{user_id}/roles"),
        ep("v3_system_user_role", "/v3/system/users/{user_id}/roles/{role_id}"),
        ep("v3_system_group_roles", "/v3/system/groups/{group_id}/roles"),
        ep("v3_system_group_role", "/v3/system/groups/{group_id}/roles/{role_id}"),
        // Inherited role grants — api-ref v3 "OS-INHERIT" (added)
        ep(
            "v3_os_inherit_domain_user_roles_inherited_to_projects",
            "/v3/OS-INHERIT/domains/{domain_id}/users/{user_id}/roles/inherited_to_projects",
        ),
        ep(
            "v3_os_inherit_domain_user_role_inherited_to_projects",
            "/v3/OS-INHERIT/domains/{domain_id}/users/{user_id}/roles/{role_id}/inherited_to_projects",
        ),
        ep(
            "v3_os_inherit_domain_group_roles_inherited_to_projects",
            "/v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/inherited_to_projects",
        ),
        ep(
            "v3_os_inherit_domain_group_role_inherited_to_projects",
            "/v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects",
        ),
        ep(
            "v3_os_inherit_project_user_role_inherited_to_projects",
            "/v3/OS-INHERIT/projects/{project_id}/users/{user_id}/roles/{role_id}/inherited_to_projects",
        ),
        ep(
            "v3_os_inherit_project_group_role_inherited_to_projects",
            "/v3/OS-INHERIT/projects/{project_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects",
        ),
        // Policies — api-ref v3 "Policies"
        ep("v3_policies", "/v3/policies"),
        ep("v3_policy", "/v3/policies/{policy_id}"),
        // OAuth1 consumers — api-ref v3-ext "OS-OAUTH1" (added)
        ep("v3_os_oauth1_consumers", "/v3/OS-OAUTH1/consumers"),
        ep("v3_os_oauth1_consumer", "/v3/OS-OAUTH1/consumers/{consumer_id}"),
        // Endpoint groups — api-ref v3-ext "OS-EP-FILTER" (added)
        ep("v3_os_ep_filter_endpoint_groups", "/v3/OS-EP-FILTER/endpoint_groups"),
        ep("v3_os_ep_filter_endpoint_group", "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}"),
        // Unified limits — api-ref v3 "Unified Limits" (added; `limits/model` before the `{limit_id}` item)
        ep("v3_registered_limits", "/v3/registered_limits"),
        ep("v3_registered_limit", "/v3/registered_limits/{registered_limit_id}"),
        ep("v3_limits", "/v3/limits"),
        ep("v3_limits_model", "/v3/limits/model"),
        ep("v3_limit", "/v3/limits/{limit_id}"),
        // v2.0 public API — Keystone v2.0 (removed upstream; original served public and admin together)
        ep("v2_auth_index", "/v2.0").public(DISCOVERY),
        ep("v2_extensions", "/v2.0/extensions"),
        ep("v2_extension_alias", "/v2.0/extensions/{alias}"),
        ep("v2_tokens", "/v2.0/tokens").public(&["POST"]),
        ep("v2_token_tenants", "/v2.0/tokens/tenants"),
        // v2.0 admin API — resource `{tenant_id}` renamed `{project_id}` (`{tenant_id}` = URL scope)
        ep("v2_token", "/v2.0/tokens/{token_id}"),
        ep("v2_token_endpoints", "/v2.0/tokens/{token_id}/endpoints"),
        ep("v2_users", "/v2.0/users"),
        ep("v2_user", "/v2.0/users/{user_id}"),
        ep("v2_user_roles", "/v2.0/users/{user_id}/roles"),
        ep("v2_tenants", "/v2.0/tenants"),
        ep("v2_tenant", "/v2.0/tenants/{project_id}"),
        ep("v2_tenant_user_roles", "/v2.0/tenants/{project_id}/users/{user_id}/roles"),
    ]
}
