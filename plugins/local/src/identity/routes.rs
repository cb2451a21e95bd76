//! Identity's endpoints: the only place that touches the dispatcher. Each handler reads the
//! request, asks policy, calls the model in one transaction and renders with views.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::model::{self, Actor, Assignment, Target};
use super::views::{self, Links};
use super::Identity;
use crate::policy;
use crate::time::now_iso;

type Id = Arc<Identity>;

// A handler struct per endpoint (see macros.rs), each method a function below.
endpoint!(Id; Versions { on_get => versions } nonblocking);
endpoint!(Id; V3Index { on_get => v3_index } nonblocking);
endpoint!(Id; V2Index { on_get => v2_index } nonblocking);
endpoint!(Id; AuthTokens { on_post => issue_token, on_get => validate_token, on_head => check_token, on_delete => revoke_token });
endpoint!(Id; AuthCatalog { on_get => auth_catalog } nonblocking);
endpoint!(Id; AuthProjects { on_get => auth_projects });
endpoint!(Id; AuthDomains { on_get => auth_domains });
endpoint!(Id; AuthSystem { on_get => auth_system });
endpoint!(Id; Users { on_get => list_users, on_post => create_user });
endpoint!(Id; UserItem { on_get => get_user, on_patch => update_user, on_delete => delete_user });
endpoint!(Id; UserPassword { on_post => change_password });
endpoint!(Id; UserGroups { on_get => user_groups });
endpoint!(Id; UserProjects { on_get => user_projects });
endpoint!(Id; Projects { on_get => list_projects, on_post => create_project });
endpoint!(Id; ProjectItem { on_get => get_project, on_patch => update_project, on_delete => delete_project });
endpoint!(Id; ProjectTags { on_get => project_tags, on_put => replace_project_tags, on_delete => clear_project_tags });
endpoint!(Id; ProjectTag { on_get => has_project_tag, on_head => has_project_tag, on_put => add_project_tag, on_delete => remove_project_tag });
endpoint!(Id; Domains { on_get => list_domains, on_post => create_domain });
endpoint!(Id; DomainItem { on_get => get_domain, on_patch => update_domain, on_delete => delete_domain });
endpoint!(Id; Roles { on_get => list_roles, on_post => create_role });
endpoint!(Id; RoleItem { on_get => get_role, on_patch => update_role, on_delete => delete_role });
endpoint!(Id; RoleImplies { on_get => list_implied });
endpoint!(Id; RoleImplied { on_get => get_implied, on_head => check_implied, on_put => add_implied, on_delete => remove_implied });
endpoint!(Id; RoleInferences { on_get => role_inferences });
endpoint!(Id; GrantList { on_get => list_grants });
endpoint!(Id; GrantItem { on_get => check_grant, on_head => check_grant, on_put => add_grant, on_delete => remove_grant });
endpoint!(Id; RoleAssignments { on_get => role_assignments });
endpoint!(Id; Groups { on_get => list_groups, on_post => create_group });
endpoint!(Id; GroupItem { on_get => get_group, on_patch => update_group, on_delete => delete_group });
endpoint!(Id; GroupUsers { on_get => group_users });
endpoint!(Id; GroupUser { on_get => check_member, on_head => check_member, on_put => add_member, on_delete => remove_member });
endpoint!(Id; AppCreds { on_get => list_app_creds, on_post => create_app_cred });
endpoint!(Id; AppCredItem { on_get => get_app_cred, on_delete => delete_app_cred });
endpoint!(Id; Credentials { on_get => list_credentials, on_post => create_credential });
endpoint!(Id; CredentialItem { on_get => get_credential, on_patch => update_credential, on_delete => delete_credential });
endpoint!(Id; Ec2Credentials { on_get => list_ec2_credentials, on_post => create_ec2_credential });
endpoint!(Id; Ec2CredentialItem { on_get => get_ec2_credential, on_delete => delete_ec2_credential });
endpoint!(Id; Policies { on_get => list_policies, on_post => create_policy });
endpoint!(Id; PolicyItem { on_get => get_policy, on_patch => update_policy, on_delete => delete_policy });
endpoint!(Id; Consumers { on_get => list_consumers, on_post => create_consumer });
endpoint!(Id; ConsumerItem { on_get => get_consumer, on_patch => update_consumer, on_delete => delete_consumer });
endpoint!(Id; EndpointGroups { on_get => list_endpoint_groups, on_post => create_endpoint_group });
endpoint!(Id; EndpointGroupItem { on_get => get_endpoint_group, on_head => check_endpoint_group, on_patch => update_endpoint_group, on_delete => delete_endpoint_group });
endpoint!(Id; DomainConfig { on_get => get_domain_config, on_head => get_domain_config, on_put => create_domain_config, on_patch => update_domain_config, on_delete => delete_domain_config });
endpoint!(Id; DomainConfigPart { on_get => get_domain_config, on_head => get_domain_config, on_patch => update_domain_config, on_delete => delete_domain_config });
endpoint!(Id; DomainConfigDefault { on_get => default_domain_config, on_head => default_domain_config });
endpoint!(Id; Regions { on_get => list_regions, on_post => create_region });
endpoint!(Id; RegionItem { on_get => get_region, on_put => put_region, on_patch => update_region, on_delete => delete_region });
endpoint!(Id; Services { on_get => list_services, on_post => create_service });
endpoint!(Id; ServiceItem { on_get => get_service, on_patch => update_service, on_delete => delete_service });
endpoint!(Id; Endpoints { on_get => list_endpoints, on_post => create_endpoint });
endpoint!(Id; EndpointItem { on_get => get_endpoint, on_patch => update_endpoint, on_delete => delete_endpoint });
endpoint!(Id; V2Tokens { on_post => issue_v2 });
endpoint!(Id; V2Token { on_get => validate_v2, on_head => check_v2 });
endpoint!(Id; V2Tenants { on_get => v2_tenants });

pub fn setup(disp: &Dispatcher, id: Id) -> Result<(), Error> {
    routes! {
        disp, id;
        "versions" => Versions,
        "v3_auth_index" => V3Index,
        "v2_auth_index" => V2Index,
        "v3_auth_tokens" => AuthTokens,
        "v3_auth_catalog" => AuthCatalog,
        "v3_auth_projects" => AuthProjects,
        "v3_auth_domains" => AuthDomains,
        "v3_auth_system" => AuthSystem,
        "v3_users" => Users,
        "v3_user" => UserItem,
        "v3_user_password" => UserPassword,
        "v3_user_groups" => UserGroups,
        "v3_user_projects" => UserProjects,
        "v3_projects" => Projects,
        "v3_projects_with_id" => ProjectItem,
        "v3_project_tags" => ProjectTags,
        "v3_project_tag" => ProjectTag,
        "v3_domains" => Domains,
        "v3_domains_with_id" => DomainItem,
        "v3_roles" => Roles,
        "v3_role" => RoleItem,
        "v3_role_implies" => RoleImplies,
        "v3_role_implied_role" => RoleImplied,
        "v3_role_inferences" => RoleInferences,
        "v3_project_user_roles" => GrantList,
        "v3_project_user_role" => GrantItem,
        "v3_project_group_roles" => GrantList,
        "v3_project_group_role" => GrantItem,
        "v3_domain_user_roles" => GrantList,
        "v3_domain_user_role" => GrantItem,
        "v3_domain_group_roles" => GrantList,
        "v3_domain_group_role" => GrantItem,
        "v3_system_user_roles" => GrantList,
        "v3_system_user_role" => GrantItem,
        "v3_system_group_roles" => GrantList,
        "v3_system_group_role" => GrantItem,
        "v3_os_inherit_domain_user_roles_inherited_to_projects" => GrantList,
        "v3_os_inherit_domain_user_role_inherited_to_projects" => GrantItem,
        "v3_os_inherit_domain_group_roles_inherited_to_projects" => GrantList,
        "v3_os_inherit_domain_group_role_inherited_to_projects" => GrantItem,
        "v3_os_inherit_project_user_role_inherited_to_projects" => GrantItem,
        "v3_os_inherit_project_group_role_inherited_to_projects" => GrantItem,
        "v3_role_assignments" => RoleAssignments,
        "v3_groups" => Groups,
        "v3_group" => GroupItem,
        "v3_group_users" => GroupUsers,
        "v3_group_user" => GroupUser,
        "v3_user_application_credentials" => AppCreds,
        "v3_user_application_credential" => AppCredItem,
        "v3_credentails" => Credentials,
        "v3_credentail" => CredentialItem,
        "v3_user_credentials_os_ec2" => Ec2Credentials,
        "v3_user_credentials_os_ec2_credential" => Ec2CredentialItem,
        "v3_policies" => Policies,
        "v3_policy" => PolicyItem,
        "v3_os_oauth1_consumers" => Consumers,
        "v3_os_oauth1_consumer" => ConsumerItem,
        "v3_os_ep_filter_endpoint_groups" => EndpointGroups,
        "v3_os_ep_filter_endpoint_group" => EndpointGroupItem,
        "v3_domain_config_default" => DomainConfigDefault,
        "v3_domain_config_group_default" => DomainConfigDefault,
        "v3_domain_config_option_default" => DomainConfigDefault,
        "v3_domain_config" => DomainConfig,
        "v3_domain_config_group" => DomainConfigPart,
        "v3_domain_config_option" => DomainConfigPart,
        "v3_regions" => Regions,
        "v3_region" => RegionItem,
        "v3_services" => Services,
        "v3_services_with_id" => ServiceItem,
        "v3_endpoints" => Endpoints,
        "v3_endpoints_with_id" => EndpointItem,
        "v2_tokens" => V2Tokens,
        "v2_token" => V2Token,
        "v2_tenants" => V2Tenants,
    }
    Ok(())
}

// ---------------------------------------------------------------- helpers

/// `http://host/v3`, for `links`.
fn base(id: &Identity, req: &Request) -> Result<String, Fault> {
    identity_url(id, req, "v3_auth_index")
}

/// The absolute URL of one of identity's endpoints, without a trailing slash.
fn identity_url(id: &Identity, req: &Request, nickname: &str) -> Result<String, Fault> {
    let disp = id
        .app
        .get_dispatcher("identity")
        .ok_or_else(|| Fault::internal("identity is not enabled"))?;
    let mut url = disp.get_endpoint_url(req, nickname, &[])?;
    while url.ends_with('/') {
        url.pop();
    }
    Ok(url)
}

fn param<'a>(req: &'a Request, name: &str) -> Result<&'a str, Fault> {
    req.param(name)
        .ok_or_else(|| Fault::internal(format!("route without {{{name}}}")))
}

/// Runs `f` in one transaction; model errors become Keystone's faults.
fn write<T>(id: &Identity, f: impl FnOnce(model::Repo) -> model::Result<T>) -> Result<T, Fault> {
    id.store.write(|tx| f(tx)).map_err(|e| id.fault(e))
}

fn read<T>(id: &Identity, f: impl FnOnce(model::Repo) -> model::Result<T>) -> Result<T, Fault> {
    id.read(f)
}

/// A query flag as Keystone reads it: present, and not `0` or `false`.
pub(super) fn flag(req: &Request, name: &str) -> bool {
    req.query_param(name).is_some_and(|v| {
        !matches!(
            v.to_ascii_lowercase().as_str(),
            "0" | "false" | "no" | "off"
        )
    })
}

fn ok_json(resp: &mut Response, status: u16, v: Value) -> HandlerResult {
    resp.set_status(status);
    resp.json(&v);
    Ok(())
}

fn no_content(resp: &mut Response) -> HandlerResult {
    resp.set_status(204);
    Ok(())
}

/// Keeps the items whose `field` equals the query parameter of the same name, if given.
fn filter_eq(req: &Request, items: Vec<Value>, fields: &[&str]) -> Vec<Value> {
    items
        .into_iter()
        .filter(|item| {
            fields.iter().all(|f| match req.query_param(f) {
                None => true,
                Some(want) => match &item[*f] {
                    Value::String(s) => s == want,
                    Value::Bool(b) => want.eq_ignore_ascii_case(&b.to_string()),
                    Value::Null => want.is_empty(),
                    other => other.to_string().as_str() == want,
                },
            })
        })
        .collect()
}

// ---------------------------------------------------------------- versions

fn identity_urls(id: &Identity, req: &Request) -> Result<(String, String), Fault> {
    Ok((
        identity_url(id, req, "v3_auth_index")?,
        identity_url(id, req, "v2_auth_index")?,
    ))
}

fn versions(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let (v3, v2) = identity_urls(id, req)?;
    resp.set_header("Location", &format!("{v3}/"));
    ok_json(
        resp,
        300,
        json!({"versions": {"values": [views::v3_version(&v3), views::v2_version(&v2)]}}),
    )
}

fn v3_index(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let (v3, _) = identity_urls(id, req)?;
    ok_json(resp, 200, json!({"version": views::v3_version(&v3)}))
}

fn v2_index(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let (_, v2) = identity_urls(id, req)?;
    ok_json(resp, 200, json!({"version": views::v2_version(&v2)}))
}

// ---------------------------------------------------------------- tokens

fn issue_token(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let (token, body) = id.issue_v3(req)?;
    resp.set_header("X-Subject-Token", &token);
    ok_json(resp, 201, body)
}

/// The subject token's claims, for validate, check and revoke: 404 when it is not valid.
/// Whose token it is the table cannot see: an admin, the token's own user, or (for
/// `identity:validate_token` only) a service user may ask (keystone/common/policies/token.py).
fn subject(id: &Identity, req: &Request, action: &str) -> Result<super::token::Claims, Fault> {
    let caller = policy::caller(req)?;
    let token = req
        .header("x-subject-token")
        .ok_or_else(|| Fault::bad_request("X-Subject-Token is missing."))?;
    let claims = id
        .open_valid(token)
        .ok_or_else(|| Fault::not_found(format!("Could not find token: {token}.")))?;
    let service = action == "identity:validate_token" && caller.has_role("service");
    if !caller.is_admin && !service && caller.user_id != claims.u.0 {
        return Err(policy::denied("identity", &req.method, action));
    }
    Ok(claims)
}

fn validate_token(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let claims = subject(id, req, "identity:validate_token")?;
    let token = req
        .header("x-subject-token")
        .unwrap_or_default()
        .to_string();
    let body = id.render_v3(req, &claims, !flag(req, "nocatalog"))?;
    resp.set_header("X-Subject-Token", &token);
    ok_json(resp, 200, body)
}

fn check_token(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    subject(id, req, "identity:check_token")?;
    resp.set_status(200);
    Ok(())
}

fn revoke_token(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let claims = subject(id, req, "identity:revoke_token")?;
    id.revoke(&claims)?;
    no_content(resp)
}

fn auth_catalog(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let caller = policy::caller(req)?;
    if caller.project_id.is_none() && caller.domain_id.is_none() && !caller.system_scope {
        return Err(Fault::forbidden(
            "The service catalog is only available to a scoped token.",
        ));
    }
    let entries = id.catalog(req, caller.project_id.as_deref())?;
    let links = Links(&base(id, req)?).collection("auth/catalog");
    ok_json(
        resp,
        200,
        json!({"catalog": super::catalog::v3(&entries), "links": links}),
    )
}

fn auth_projects(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let caller = policy::caller(req)?;
    let base = base(id, req)?;
    let l = Links(&base);
    let projects = read(id, |c| model::user_projects(c, &caller.user_id))?;
    let items: Vec<Value> = projects
        .iter()
        .filter(|p| p.enabled)
        .map(|p| views::project(&l, p))
        .collect();
    ok_json(
        resp,
        200,
        json!({"projects": items, "links": l.collection("auth/projects")}),
    )
}

fn auth_domains(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let caller = policy::caller(req)?;
    let base = base(id, req)?;
    let l = Links(&base);
    let domains = read(id, |c| model::user_domains(c, &caller.user_id))?;
    let items: Vec<Value> = domains
        .iter()
        .filter(|d| d.enabled)
        .map(|d| views::domain(&l, d))
        .collect();
    ok_json(
        resp,
        200,
        json!({"domains": items, "links": l.collection("auth/domains")}),
    )
}

fn auth_system(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let caller = policy::caller(req)?;
    let base = base(id, req)?;
    let roles = read(id, |c| {
        model::effective_role_ids(c, &caller.user_id, &Target::System)
    })?;
    let system = if roles.is_empty() {
        json!([])
    } else {
        json!([{"all": true}])
    };
    ok_json(
        resp,
        200,
        json!({"system": system, "links": Links(&base).collection("auth/system")}),
    )
}

// ---------------------------------------------------------------- users

fn list_users(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let base = base(id, req)?;
    let l = Links(&base);
    let users = read(id, model::list_users)?;
    let items = filter_eq(
        req,
        users.iter().map(|u| views::user(&l, u)).collect(),
        &["name", "domain_id", "enabled"],
    );
    ok_json(
        resp,
        200,
        json!({"users": items, "links": l.collection("users")}),
    )
}

fn create_user(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let caller = policy::caller(req)?;
    let body: Value = req.json()?;
    let u = views::object(&body, "user")?;
    let name = views::name(&u, "name", views::max_name("user"))?;
    let password = views::string(&u, "password")?;
    let hash = password
        .as_deref()
        .map(|p| id.hasher.hash(p))
        .transpose()
        .map_err(Fault::internal)?;
    let user = model::User {
        id: model::new_id(),
        name,
        domain_id: views::string(&u, "domain_id")?
            .or(caller.project_domain_id.clone())
            .unwrap_or_else(|| model::DEFAULT_DOMAIN.into()),
        password_hash: hash,
        enabled: views::boolean(&u, "enabled")?.unwrap_or(true),
        default_project_id: views::string(&u, "default_project_id")?,
        extra: views::extra(
            &u,
            &[
                "id",
                "name",
                "domain_id",
                "password",
                "enabled",
                "default_project_id",
                "links",
                "options",
                "password_expires_at",
            ],
        ),
        created_at: now_iso(),
        password_changed_at: None,
    };
    write(id, |tx| model::create_user(tx, &user))?;
    let base = base(id, req)?;
    ok_json(
        resp,
        201,
        json!({"user": views::user(&Links(&base), &user)}),
    )
}

fn get_user(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let uid = param(req, "user_id")?;
    let user = read(id, |c| model::get_user(c, uid))?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"user": views::user(&Links(&base), &user)}),
    )
}

fn update_user(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let uid = param(req, "user_id")?.to_string();
    let body: Value = req.json()?;
    let u = views::object(&body, "user")?;
    if u.get("id")
        .and_then(Value::as_str)
        .is_some_and(|x| x != uid)
    {
        return Err(Fault::bad_request("Cannot change user ID"));
    }
    let password = views::string(&u, "password")?;
    let hash = password
        .as_deref()
        .map(|p| id.hasher.hash(p))
        .transpose()
        .map_err(Fault::internal)?;
    let user = write(id, |tx| {
        let mut user = model::get_user(tx, &uid)?;
        let was_enabled = user.enabled;
        if let Some(n) = views::string(&u, "name").map_err(|f| model::Error::Invalid(f.message))? {
            views::check_name("name", &n, views::max_name("user"))
                .map_err(|f| model::Error::Invalid(f.message))?;
            user.name = n;
        }
        if let Some(e) =
            views::boolean(&u, "enabled").map_err(|f| model::Error::Invalid(f.message))?
        {
            user.enabled = e;
        }
        if u.contains_key("default_project_id") {
            user.default_project_id = u
                .get("default_project_id")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        if let Some(h) = &hash {
            user.password_hash = Some(h.clone());
            user.password_changed_at = Some(now_iso());
        }
        for (k, v) in views::extra(
            &u,
            &[
                "id",
                "name",
                "domain_id",
                "password",
                "enabled",
                "default_project_id",
                "links",
                "options",
                "password_expires_at",
            ],
        ) {
            if v.is_null() {
                user.extra.remove(&k);
            } else {
                user.extra.insert(k, v);
            }
        }
        model::update_user(tx, &user)?;
        if hash.is_some() || (was_enabled && !user.enabled) {
            id.revoke_user_in(tx, &user.id)?;
        }
        Ok(user)
    })?;
    id.revocations_changed();
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"user": views::user(&Links(&base), &user)}),
    )
}

fn delete_user(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let uid = param(req, "user_id")?;
    write(id, |tx| {
        model::delete_user(tx, uid)?;
        id.revoke_user_in(tx, uid)
    })?;
    id.revocations_changed();
    no_content(resp)
}

fn change_password(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let uid = param(req, "user_id")?.to_string();
    let body: Value = req.json()?;
    let u = views::object(&body, "user")?;
    let original = views::string(&u, "original_password")?
        .ok_or_else(|| Fault::bad_request("'original_password' is a required property"))?;
    let new = views::string(&u, "password")?
        .ok_or_else(|| Fault::bad_request("'password' is a required property"))?;
    let user = read(id, |c| model::get_user(c, &uid))?;
    if !id.hasher.verify(&original, user.password_hash.as_deref()) {
        return Err(Fault::unauthorized(super::auth::UNAUTHORIZED));
    }
    let hash = id.hasher.hash(&new).map_err(Fault::internal)?;
    write(id, |tx| {
        let mut user = model::get_user(tx, &uid)?;
        user.password_hash = Some(hash);
        user.password_changed_at = Some(now_iso());
        model::update_user(tx, &user)?;
        id.revoke_user_in(tx, &uid)
    })?;
    id.revocations_changed();
    no_content(resp)
}

fn user_groups(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let uid = param(req, "user_id")?;
    let base = base(id, req)?;
    let l = Links(&base);
    let groups = read(id, |c| model::user_groups(c, uid))?;
    let items: Vec<Value> = groups.iter().map(|g| views::group(&l, g)).collect();
    ok_json(
        resp,
        200,
        json!({"groups": items, "links": l.collection(&format!("users/{uid}/groups"))}),
    )
}

fn user_projects(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let uid = param(req, "user_id")?;
    let base = base(id, req)?;
    let l = Links(&base);
    let projects = read(id, |c| {
        model::get_user(c, uid)?;
        model::user_projects(c, uid)
    })?;
    let items = filter_eq(
        req,
        projects.iter().map(|p| views::project(&l, p)).collect(),
        &["name", "domain_id", "enabled"],
    );
    ok_json(
        resp,
        200,
        json!({"projects": items, "links": l.collection(&format!("users/{uid}/projects"))}),
    )
}

// ---------------------------------------------------------------- projects

const PROJECT_FIELDS: &[&str] = &[
    "id",
    "name",
    "domain_id",
    "parent_id",
    "description",
    "enabled",
    "is_domain",
    "tags",
    "links",
    "options",
];

fn list_projects(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let base = base(id, req)?;
    let l = Links(&base);
    let (projects, domains) = read(id, |c| {
        Ok((model::list_projects(c)?, model::list_domains(c)?))
    })?;
    // Domains are projects acting as domains, listed only when asked for (`is_domain`).
    let all = projects
        .iter()
        .map(|p| views::project(&l, p))
        .chain(domains.iter().map(|d| views::domain_project(&l, d)));
    let mut items = filter_eq(
        req,
        all.collect(),
        &["name", "domain_id", "enabled", "parent_id", "is_domain"],
    );
    if req.query_param("is_domain").is_none() {
        items.retain(|p| p["is_domain"] == json!(false));
    }
    if let Some(tags) = req.query_param("tags") {
        let want: Vec<&str> = tags.split(',').collect();
        items.retain(|p| {
            want.iter().all(|t| {
                p["tags"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == t))
            })
        });
    }
    ok_json(
        resp,
        200,
        json!({"projects": items, "links": l.collection("projects")}),
    )
}

fn create_project(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let caller = policy::caller(req)?;
    let body: Value = req.json()?;
    let p = views::object(&body, "project")?;
    if views::boolean(&p, "is_domain")? == Some(true) {
        let domain = model::Domain {
            id: model::new_id(),
            name: views::name(&p, "name", views::max_name("project"))?,
            description: views::string(&p, "description")?.unwrap_or_default(),
            enabled: views::boolean(&p, "enabled")?.unwrap_or(true),
            tags: views::tags(&p)?.unwrap_or_default(),
        };
        let (domain_id, parent_id) = (
            views::string(&p, "domain_id")?,
            views::string(&p, "parent_id")?,
        );
        write(id, |tx| {
            model::create_domain_project(tx, &domain, domain_id.as_deref(), parent_id.as_deref())
        })?;
        let base = base(id, req)?;
        return ok_json(
            resp,
            201,
            json!({"project": views::domain_project(&Links(&base), &domain)}),
        );
    }
    let domain_id = views::string(&p, "domain_id")?
        .or(caller.project_domain_id.clone())
        .unwrap_or_else(|| model::DEFAULT_DOMAIN.into());
    let project = model::Project {
        id: model::new_id(),
        name: views::name(&p, "name", views::max_name("project"))?,
        parent_id: Some(views::string(&p, "parent_id")?.unwrap_or_else(|| domain_id.clone())),
        domain_id,
        description: views::string(&p, "description")?.unwrap_or_default(),
        enabled: views::boolean(&p, "enabled")?.unwrap_or(true),
        tags: views::tags(&p)?.unwrap_or_default(),
        extra: views::extra(&p, PROJECT_FIELDS),
    };
    write(id, |tx| model::create_project(tx, &project))?;
    let base = base(id, req)?;
    ok_json(
        resp,
        201,
        json!({"project": views::project(&Links(&base), &project)}),
    )
}

fn get_project(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let pid = param(req, "project_id")?;
    let project = read(id, |c| model::get_project_or_domain(c, pid))?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"project": views::project_or_domain(&Links(&base), &project)}),
    )
}

fn update_project(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let pid = param(req, "project_id")?.to_string();
    let body: Value = req.json()?;
    let p = views::object(&body, "project")?;
    if let model::ProjectOrDomain::Domain(_) = read(id, |c| model::get_project_or_domain(c, &pid))?
    {
        return update_domain_project(id, req, resp, &pid, &p);
    }
    if p.contains_key("domain_id") || p.contains_key("parent_id") || p.contains_key("is_domain") {
        let current = read(id, |c| model::get_project(c, &pid))?;
        let same = |k: &str, v: &str| p.get(k).is_none_or(|x| x.as_str() == Some(v));
        if !same("domain_id", &current.domain_id)
            || !same("parent_id", current.parent_id.as_deref().unwrap_or(""))
        {
            return Err(Fault::bad_request(
                "Update of `domain_id` or `parent_id` is not allowed.",
            ));
        }
    }
    let name = views::optional_name(&p, "project")?;
    let description = views::string(&p, "description")?;
    let enabled = views::boolean(&p, "enabled")?;
    let tags = views::tags(&p)?;
    let extra = views::extra(&p, PROJECT_FIELDS);
    let project = write(id, |tx| {
        let mut project = model::get_project(tx, &pid)?;
        if let Some(n) = name {
            project.name = n;
        }
        if let Some(d) = description {
            project.description = d;
        }
        let disabling = enabled == Some(false) && project.enabled;
        if let Some(e) = enabled {
            project.enabled = e;
        }
        if let Some(t) = tags {
            project.tags = t;
        }
        for (k, v) in extra {
            if v.is_null() {
                project.extra.remove(&k);
            } else {
                project.extra.insert(k, v);
            }
        }
        model::update_project(tx, &project)?;
        if disabling {
            revoke_project_in(id, tx, &project.id)?;
        }
        Ok(project)
    })?;
    id.revocations_changed();
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"project": views::project(&Links(&base), &project)}),
    )
}

/// A project acting as a domain changes as the domain it is: its name, description,
/// enabled and tags; never its place (it stays a root and a domain).
fn update_domain_project(
    id: &Id,
    req: &Request,
    resp: &mut Response,
    did: &str,
    p: &Map<String, Value>,
) -> HandlerResult {
    let fixed = |k: &str, want: &Value| p.get(k).is_some_and(|v| v != want);
    if fixed("domain_id", &Value::Null) || fixed("parent_id", &Value::Null) {
        return Err(Fault::bad_request(
            "Update of `domain_id` or `parent_id` is not allowed.",
        ));
    }
    if fixed("is_domain", &json!(true)) {
        return Err(Fault::bad_request("Update of `is_domain` is not allowed."));
    }
    let name = views::optional_name(p, "project")?;
    let description = views::string(p, "description")?;
    let enabled = views::boolean(p, "enabled")?;
    let tags = views::tags(p)?;
    let domain = write(id, |tx| {
        model::change_domain(
            tx,
            did,
            model::DomainChange {
                name,
                description,
                enabled,
                tags,
            },
        )
    })?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"project": views::domain_project(&Links(&base), &domain)}),
    )
}

fn revoke_project_in(id: &Identity, tx: model::Repo, project_id: &str) -> model::Result<()> {
    let event = super::token::Revocation {
        audit_id: None,
        user_id: None,
        project_id: Some(project_id.into()),
        app_cred_id: None,
        issued_before: crate::time::now_ms(),
    };
    super::token::record(tx, &event, id.token_ttl * 1000)?;
    Ok(())
}

fn delete_project(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let pid = param(req, "project_id")?;
    write(id, |tx| match model::get_project_or_domain(tx, pid)? {
        // A project acting as a domain goes as the domain does: disabled first.
        model::ProjectOrDomain::Domain(_) => model::delete_domain(tx, pid),
        model::ProjectOrDomain::Project(_) => {
            model::delete_project(tx, pid)?;
            revoke_project_in(id, tx, pid)
        }
    })?;
    id.revocations_changed();
    no_content(resp)
}

fn project_tags(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let pid = param(req, "project_id")?;
    let project = read(id, |c| model::get_project(c, pid))?;
    ok_json(resp, 200, json!({"tags": project.tags}))
}

fn edit_tags(
    id: &Identity,
    req: &Request,
    f: impl FnOnce(&mut Vec<String>) -> Result<(), Fault>,
) -> Result<Vec<String>, Fault> {
    let pid = param(req, "project_id")?;
    let mut project = read(id, |c| model::get_project(c, pid))?;
    f(&mut project.tags)?;
    write(id, |tx| model::update_project(tx, &project))?;
    Ok(project.tags)
}

fn replace_project_tags(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let body: Value = req.json()?;
    let tags = views::tags(body.as_object().unwrap_or(&Map::new()))?.unwrap_or_default();
    let tags = edit_tags(id, req, |t| {
        *t = tags;
        Ok(())
    })?;
    ok_json(resp, 200, json!({"tags": tags}))
}

fn clear_project_tags(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    edit_tags(id, req, |t| {
        t.clear();
        Ok(())
    })?;
    no_content(resp)
}

fn has_project_tag(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let pid = param(req, "project_id")?;
    let tag = param(req, "tag")?;
    let project = read(id, |c| model::get_project(c, pid))?;
    if !project.tags.iter().any(|t| t == tag) {
        return Err(Fault::not_found(format!(
            "Tag {tag} not found for project {pid}"
        )));
    }
    no_content(resp)
}

fn add_project_tag(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let tag = param(req, "tag")?.to_string();
    let mut m = Map::new();
    m.insert("tags".into(), json!([tag.clone()]));
    views::tags(&m)?;
    edit_tags(id, req, |t| {
        if !t.contains(&tag) {
            if t.len() >= 80 {
                return Err(Fault::bad_request(
                    "Invalid input for field 'tags': too many tags (at most 80)",
                ));
            }
            t.push(tag.clone());
        }
        Ok(())
    })?;
    resp.set_status(201);
    Ok(())
}

fn remove_project_tag(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let tag = param(req, "tag")?.to_string();
    let pid = param(req, "project_id")?.to_string();
    edit_tags(id, req, |t| {
        let before = t.len();
        t.retain(|x| *x != tag);
        if t.len() == before {
            return Err(Fault::not_found(format!(
                "Tag {tag} not found for project {pid}"
            )));
        }
        Ok(())
    })?;
    no_content(resp)
}

// ---------------------------------------------------------------- domains

fn list_domains(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let base = base(id, req)?;
    let l = Links(&base);
    let domains = read(id, model::list_domains)?;
    let items = filter_eq(
        req,
        domains.iter().map(|d| views::domain(&l, d)).collect(),
        &["name", "enabled"],
    );
    ok_json(
        resp,
        200,
        json!({"domains": items, "links": l.collection("domains")}),
    )
}

fn create_domain(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let body: Value = req.json()?;
    let d = views::object(&body, "domain")?;
    let domain = model::Domain {
        id: views::string(&d, "explicit_domain_id")?.unwrap_or_else(model::new_id),
        name: views::name(&d, "name", views::max_name("domain"))?,
        description: views::string(&d, "description")?.unwrap_or_default(),
        enabled: views::boolean(&d, "enabled")?.unwrap_or(true),
        tags: views::tags(&d)?.unwrap_or_default(),
    };
    write(id, |tx| model::create_domain(tx, &domain))?;
    let base = base(id, req)?;
    ok_json(
        resp,
        201,
        json!({"domain": views::domain(&Links(&base), &domain)}),
    )
}

fn get_domain(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let did = param(req, "domain_id")?;
    let caller = policy::caller(req)?;
    let own = caller.domain_id.as_deref() == Some(did)
        || caller.project_domain_id.as_deref() == Some(did)
        || caller.user_domain_id == did;
    if !caller.is_admin && !own {
        return Err(Fault::forbidden(
            "You are not authorized to perform the requested action: identity:get_domain.",
        ));
    }
    let domain = read(id, |c| model::get_domain(c, did))?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"domain": views::domain(&Links(&base), &domain)}),
    )
}

fn update_domain(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let did = param(req, "domain_id")?.to_string();
    let body: Value = req.json()?;
    let d = views::object(&body, "domain")?;
    let name = views::optional_name(&d, "domain")?;
    let description = views::string(&d, "description")?;
    let enabled = views::boolean(&d, "enabled")?;
    let tags = views::tags(&d)?;
    let domain = write(id, |tx| {
        model::change_domain(
            tx,
            &did,
            model::DomainChange {
                name,
                description,
                enabled,
                tags,
            },
        )
    })?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"domain": views::domain(&Links(&base), &domain)}),
    )
}

fn delete_domain(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let did = param(req, "domain_id")?;
    write(id, |tx| model::delete_domain(tx, did))?;
    no_content(resp)
}

// ---------------------------------------------------------------- roles

fn list_roles(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let base = base(id, req)?;
    let l = Links(&base);
    let roles = read(id, model::list_roles)?;
    let domain_filter = req.query_param("domain_id").map(str::to_string);
    let items: Vec<Value> = filter_eq(
        req,
        roles.iter().map(|r| views::role(&l, r)).collect(),
        &["name"],
    )
    .into_iter()
    .filter(|r| match &domain_filter {
        Some(d) => r["domain_id"].as_str() == Some(d.as_str()),
        None => r["domain_id"].is_null(),
    })
    .collect();
    ok_json(
        resp,
        200,
        json!({"roles": items, "links": l.collection("roles")}),
    )
}

fn create_role(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let body: Value = req.json()?;
    let r = views::object(&body, "role")?;
    let role = model::Role {
        id: model::new_id(),
        name: views::name(&r, "name", views::max_name("role"))?,
        domain_id: views::string(&r, "domain_id")?,
        description: views::string(&r, "description")?,
    };
    write(id, |tx| {
        if let Some(d) = &role.domain_id {
            model::get_domain(tx, d)?;
        }
        model::create_role(tx, &role)
    })?;
    let base = base(id, req)?;
    ok_json(
        resp,
        201,
        json!({"role": views::role(&Links(&base), &role)}),
    )
}

fn get_role(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let rid = param(req, "role_id")?;
    let role = read(id, |c| model::get_role(c, rid))?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"role": views::role(&Links(&base), &role)}),
    )
}

fn update_role(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let rid = param(req, "role_id")?.to_string();
    let body: Value = req.json()?;
    let r = views::object(&body, "role")?;
    let name = views::optional_name(&r, "role")?;
    let description = views::string(&r, "description")?;
    let role = write(id, |tx| {
        let mut role = model::get_role(tx, &rid)?;
        if let Some(n) = name {
            role.name = n;
        }
        if r.contains_key("description") {
            role.description = description;
        }
        model::update_role(tx, &role)?;
        Ok(role)
    })?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"role": views::role(&Links(&base), &role)}),
    )
}

fn delete_role(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let rid = param(req, "role_id")?;
    write(id, |tx| model::delete_role(tx, rid))?;
    no_content(resp)
}

fn inference(l: &Links, prior: &model::Role, implies: Value) -> Value {
    json!({"prior_role": views::role_ref(l, prior), "implies": implies})
}

fn list_implied(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let prior = param(req, "prior_role_id")?;
    let base = base(id, req)?;
    let l = Links(&base);
    let (role, implied) = read(id, |c| {
        Ok((model::get_role(c, prior)?, model::implied_roles(c, prior)?))
    })?;
    let implies: Vec<Value> = implied.iter().map(|r| views::role_ref(&l, r)).collect();
    ok_json(
        resp,
        200,
        json!({"role_inference": inference(&l, &role, json!(implies)), "links": l.of(&format!("roles/{prior}/implies"))}),
    )
}

fn implication(id: &Identity, req: &Request) -> Result<(Value, bool), Fault> {
    let prior = param(req, "prior_role_id")?;
    let implied = param(req, "implied_role_id")?;
    let base = base(id, req)?;
    let l = Links(&base);
    let (p, i, exists) = read(id, |c| {
        let p = model::get_role(c, prior)?;
        let i = model::get_role(c, implied)?;
        let exists = model::implied_roles(c, prior)?
            .iter()
            .any(|r| r.id == implied);
        Ok((p, i, exists))
    })?;
    let body = json!({"role_inference": inference(&l, &p, views::role_ref(&l, &i)), "links": l.of(&format!("roles/{prior}/implies/{implied}"))});
    Ok((body, exists))
}

fn get_implied(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let (body, exists) = implication(id, req)?;
    if !exists {
        return Err(Fault::not_found(format!(
            "{} is not an implied role of {}",
            req.param("implied_role_id").unwrap_or_default(),
            req.param("prior_role_id").unwrap_or_default()
        )));
    }
    ok_json(resp, 200, body)
}

fn check_implied(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    get_implied(id, req, resp)?;
    resp.body = Default::default();
    no_content(resp)
}

fn add_implied(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let prior = param(req, "prior_role_id")?;
    let implied = param(req, "implied_role_id")?;
    write(id, |tx| model::add_implied_role(tx, prior, implied))?;
    let (body, _) = implication(id, req)?;
    ok_json(resp, 201, body)
}

fn remove_implied(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let prior = param(req, "prior_role_id")?;
    let implied = param(req, "implied_role_id")?;
    write(id, |tx| {
        model::get_role(tx, prior)?;
        model::get_role(tx, implied)?;
        model::remove_implied_role(tx, prior, implied)
    })?;
    no_content(resp)
}

fn role_inferences(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let base = base(id, req)?;
    let l = Links(&base);
    let (roles, edges) = read(id, |c| {
        Ok((model::list_roles(c)?, model::all_implications(c)?))
    })?;
    let by_id = |rid: &str| roles.iter().find(|r| r.id == rid);
    let mut out = Vec::new();
    for r in &roles {
        let implies: Vec<Value> = edges
            .iter()
            .filter(|(p, _)| *p == r.id)
            .filter_map(|(_, i)| by_id(i))
            .map(|i| views::role_ref(&l, i))
            .collect();
        if !implies.is_empty() {
            out.push(inference(&l, r, json!(implies)));
        }
    }
    ok_json(
        resp,
        200,
        json!({"role_inferences": out, "links": l.collection("role_inferences")}),
    )
}

// ---------------------------------------------------------------- grants

/// The grant a path names: actor, target, inherited flag, from the endpoint's nickname.
fn grant_of(req: &Request, role_id: &str) -> Result<Assignment, Fault> {
    let ep = req.endpoint.as_str();
    let actor = if let Some(u) = req.param("user_id") {
        Actor::User(u.into())
    } else {
        Actor::Group(param(req, "group_id")?.into())
    };
    let target = if ep.starts_with("v3_system_") {
        Target::System
    } else if let Some(p) = req.param("project_id") {
        Target::Project(p.into())
    } else {
        Target::Domain(param(req, "domain_id")?.into())
    };
    Ok(Assignment {
        actor,
        target,
        role_id: role_id.into(),
        inherited: ep.contains("inherited_to_projects"),
    })
}

fn list_grants(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let a = grant_of(req, "")?;
    let base = base(id, req)?;
    let l = Links(&base);
    let roles = read(id, |c| {
        model::grants_on(c, &a.actor, &a.target, a.inherited)
    })?;
    let items: Vec<Value> = roles.iter().map(|r| views::role(&l, r)).collect();
    let path = req
        .path
        .split_once("/v3/")
        .map(|(_, p)| p.to_string())
        .unwrap_or_default();
    ok_json(
        resp,
        200,
        json!({"roles": items, "links": l.collection(&path)}),
    )
}

fn check_grant(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let a = grant_of(req, param(req, "role_id")?)?;
    if !read(id, |c| model::has_grant(c, &a))? {
        return Err(Fault::not_found(format!("Could not find role assignment with role: {}, user or group: {:?}, project, domain, or system: {:?}.", a.role_id, a.actor, a.target)));
    }
    no_content(resp)
}

fn add_grant(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let a = grant_of(req, param(req, "role_id")?)?;
    write(id, |tx| model::grant(tx, &a))?;
    no_content(resp)
}

fn remove_grant(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let a = grant_of(req, param(req, "role_id")?)?;
    write(id, |tx| {
        model::revoke(tx, &a)?;
        // Tokens carry their roles: the holder's tokens on that target stop working.
        let event = super::token::Revocation {
            audit_id: None,
            user_id: match &a.actor {
                Actor::User(u) => Some(u.clone()),
                Actor::Group(_) => None,
            },
            project_id: match &a.target {
                Target::Project(p) => Some(p.clone()),
                _ => None,
            },
            app_cred_id: None,
            issued_before: crate::time::now_ms(),
        };
        if event.user_id.is_some() || event.project_id.is_some() {
            super::token::record(tx, &event, id.token_ttl * 1000)?;
        }
        Ok(())
    })?;
    id.revocations_changed();
    no_content(resp)
}

fn role_assignments(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let base = base(id, req)?;
    let l = Links(&base);
    let effective = flag(req, "effective");
    let include_names = flag(req, "include_names");
    let (assignments, members, projects, roles, implications) = read(id, |c| {
        let members: Vec<(String, String)> = model::list_groups(c)?
            .iter()
            .flat_map(|g| {
                model::group_members(c, &g.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|u| (g.id.clone(), u.id))
                    .collect::<Vec<_>>()
            })
            .collect();
        Ok((
            model::all_assignments(c)?,
            members,
            model::list_projects(c)?,
            model::list_roles(c)?,
            model::all_implications(c)?,
        ))
    })?;
    // (user or group, id, target, role, inherited, via group)
    let mut rows: Vec<(Actor, Target, String, bool)> = Vec::new();
    for a in &assignments {
        if !effective {
            rows.push((
                a.actor.clone(),
                a.target.clone(),
                a.role_id.clone(),
                a.inherited,
            ));
            continue;
        }
        let users: Vec<Actor> = match &a.actor {
            Actor::User(u) => vec![Actor::User(u.clone())],
            Actor::Group(g) => members
                .iter()
                .filter(|(gid, _)| gid == g)
                .map(|(_, u)| Actor::User(u.clone()))
                .collect(),
        };
        let targets: Vec<Target> = if a.inherited {
            match &a.target {
                Target::Domain(d) => projects
                    .iter()
                    .filter(|p| p.domain_id == *d)
                    .map(|p| Target::Project(p.id.clone()))
                    .collect(),
                Target::Project(pid) => descendants(&projects, pid)
                    .into_iter()
                    .map(Target::Project)
                    .collect(),
                Target::System => vec![],
            }
        } else {
            vec![a.target.clone()]
        };
        let mut role_ids = vec![a.role_id.clone()];
        let mut i = 0;
        while i < role_ids.len() {
            for (p, imp) in &implications {
                if *p == role_ids[i] && !role_ids.contains(imp) {
                    role_ids.push(imp.clone());
                }
            }
            i += 1;
        }
        // Domain-specific roles never take effect themselves, only what they imply.
        role_ids.retain(|rid| roles.iter().any(|r| r.id == *rid && r.domain_id.is_none()));
        for u in &users {
            for t in &targets {
                for r in &role_ids {
                    let row = (u.clone(), t.clone(), r.clone(), false);
                    if !rows.contains(&row) {
                        rows.push(row);
                    }
                }
            }
        }
    }
    let q = |k: &str| req.query_param(k).map(str::to_string);
    let (f_user, f_group, f_role, f_project, f_domain, f_system) = (
        q("user.id"),
        q("group.id"),
        q("role.id"),
        q("scope.project.id"),
        q("scope.domain.id"),
        q("scope.system"),
    );
    let inherited_only = q("scope.OS-INHERIT:inherited_to").is_some();
    rows.retain(|(actor, target, role, inherited)| {
        f_user
            .as_ref()
            .is_none_or(|u| *actor == Actor::User(u.clone()))
            && f_group
                .as_ref()
                .is_none_or(|g| *actor == Actor::Group(g.clone()))
            && f_role.as_ref().is_none_or(|r| r == role)
            && f_project
                .as_ref()
                .is_none_or(|p| *target == Target::Project(p.clone()))
            && f_domain
                .as_ref()
                .is_none_or(|d| *target == Target::Domain(d.clone()))
            && f_system.as_ref().is_none_or(|_| *target == Target::System)
            && (!inherited_only || *inherited)
    });
    let names = |kind: &str, rid: &str| -> Value {
        if !include_names {
            return json!({"id": rid});
        }
        let found = read(id, |c| {
            let named = |name: String, domain_id: String| {
                let domain_name = model::get_domain(c, &domain_id)
                    .map(|d| d.name)
                    .unwrap_or_default();
                (name, Some((domain_id, domain_name)))
            };
            Ok(match kind {
                "user" => model::get_user(c, rid)
                    .ok()
                    .map(|u| named(u.name, u.domain_id)),
                "group" => model::get_group(c, rid)
                    .ok()
                    .map(|g| named(g.name, g.domain_id)),
                "project" => model::get_project(c, rid)
                    .ok()
                    .map(|p| named(p.name, p.domain_id)),
                "domain" => model::get_domain(c, rid).ok().map(|d| (d.name, None)),
                _ => None,
            })
        })
        .ok()
        .flatten();
        match found {
            Some((name, None)) => json!({"id": rid, "name": name}),
            Some((name, Some((did, dname)))) => {
                json!({"id": rid, "name": name, "domain": {"id": did, "name": dname}})
            }
            None => json!({"id": rid}),
        }
    };
    let items: Vec<Value> = rows
        .iter()
        .map(|(actor, target, role, inherited)| {
            let (akind, aid) = match actor {
                Actor::User(u) => ("user", u.as_str()),
                Actor::Group(g) => ("group", g.as_str()),
            };
            let mut scope = match target {
                Target::Project(p) => json!({"project": names("project", p)}),
                Target::Domain(d) => json!({"domain": names("domain", d)}),
                Target::System => json!({"system": {"all": true}}),
            };
            if *inherited {
                scope["OS-INHERIT:inherited_to"] = json!("projects");
            }
            let role_v = match roles.iter().find(|r| r.id == *role) {
                Some(r) if include_names => json!({"id": r.id, "name": r.name}),
                _ => json!({"id": role}),
            };
            let link = match target {
                Target::Project(p) => format!("projects/{p}/{akind}s/{aid}/roles/{role}"),
                Target::Domain(d) => format!("domains/{d}/{akind}s/{aid}/roles/{role}"),
                Target::System => format!("system/{akind}s/{aid}/roles/{role}"),
            };
            let mut item = json!({"role": role_v, "scope": scope, "links": {"assignment": format!("{}/{link}", l.0)}});
            item[akind] = names(akind, aid);
            item
        })
        .collect();
    ok_json(
        resp,
        200,
        json!({"role_assignments": items, "links": l.collection("role_assignments")}),
    )
}

fn descendants(projects: &[model::Project], root: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_string()];
    while let Some(p) = todo.pop() {
        for child in projects
            .iter()
            .filter(|c| c.parent_id.as_deref() == Some(p.as_str()))
        {
            out.push(child.id.clone());
            todo.push(child.id.clone());
        }
    }
    out
}

// ---------------------------------------------------------------- groups

fn list_groups(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let base = base(id, req)?;
    let l = Links(&base);
    let groups = read(id, model::list_groups)?;
    let items = filter_eq(
        req,
        groups.iter().map(|g| views::group(&l, g)).collect(),
        &["name", "domain_id"],
    );
    ok_json(
        resp,
        200,
        json!({"groups": items, "links": l.collection("groups")}),
    )
}

fn create_group(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let caller = policy::caller(req)?;
    let body: Value = req.json()?;
    let g = views::object(&body, "group")?;
    let group = model::Group {
        id: model::new_id(),
        name: views::name(&g, "name", views::max_name("group"))?,
        domain_id: views::string(&g, "domain_id")?
            .or(caller.project_domain_id.clone())
            .unwrap_or_else(|| model::DEFAULT_DOMAIN.into()),
        description: views::string(&g, "description")?.unwrap_or_default(),
    };
    write(id, |tx| model::create_group(tx, &group))?;
    let base = base(id, req)?;
    ok_json(
        resp,
        201,
        json!({"group": views::group(&Links(&base), &group)}),
    )
}

fn get_group(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let gid = param(req, "group_id")?;
    let group = read(id, |c| model::get_group(c, gid))?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"group": views::group(&Links(&base), &group)}),
    )
}

fn update_group(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let gid = param(req, "group_id")?.to_string();
    let body: Value = req.json()?;
    let g = views::object(&body, "group")?;
    let name = views::optional_name(&g, "group")?;
    let description = views::string(&g, "description")?;
    let group = write(id, |tx| {
        let mut group = model::get_group(tx, &gid)?;
        if let Some(n) = name {
            group.name = n;
        }
        if let Some(d) = description {
            group.description = d;
        }
        model::update_group(tx, &group)?;
        Ok(group)
    })?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"group": views::group(&Links(&base), &group)}),
    )
}

fn delete_group(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let gid = param(req, "group_id")?;
    write(id, |tx| model::delete_group(tx, gid))?;
    no_content(resp)
}

fn group_users(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let gid = param(req, "group_id")?;
    let base = base(id, req)?;
    let l = Links(&base);
    let users = read(id, |c| model::group_members(c, gid))?;
    let items: Vec<Value> = users.iter().map(|u| views::user(&l, u)).collect();
    ok_json(
        resp,
        200,
        json!({"users": items, "links": l.collection(&format!("groups/{gid}/users"))}),
    )
}

fn check_member(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let (gid, uid) = (param(req, "group_id")?, param(req, "user_id")?);
    if !read(id, |c| model::is_member(c, gid, uid))? {
        return Err(Fault::not_found(format!(
            "User '{uid}' not found in group '{gid}'"
        )));
    }
    no_content(resp)
}

fn add_member(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let (gid, uid) = (param(req, "group_id")?, param(req, "user_id")?);
    write(id, |tx| model::add_member(tx, gid, uid))?;
    no_content(resp)
}

fn remove_member(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let (gid, uid) = (param(req, "group_id")?, param(req, "user_id")?);
    write(id, |tx| {
        model::remove_member(tx, gid, uid)?;
        // Roles held through the group are gone from the user's tokens too.
        id.revoke_user_in(tx, uid)
    })?;
    id.revocations_changed();
    no_content(resp)
}

// ---------------------------------------------------------------- application credentials

fn list_app_creds(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let uid = param(req, "user_id")?;
    let base = base(id, req)?;
    let l = Links(&base);
    let (creds, roles) = read(id, |c| {
        model::get_user(c, uid)?;
        Ok((model::list_app_creds(c, uid)?, model::list_roles(c)?))
    })?;
    let items: Vec<Value> = creds
        .iter()
        .map(|a| {
            let rs: Vec<model::Role> = roles
                .iter()
                .filter(|r| a.roles.contains(&r.id))
                .cloned()
                .collect();
            views::app_cred(&l, a, &rs)
        })
        .collect();
    let items = filter_eq(req, items, &["name"]);
    ok_json(
        resp,
        200,
        json!({"application_credentials": items, "links": l.collection(&format!("users/{uid}/application_credentials"))}),
    )
}

fn create_app_cred(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let uid = param(req, "user_id")?.to_string();
    let caller = policy::caller(req)?;
    if caller.user_id != uid {
        // rule:owner: not even an admin creates one for another user.
        return Err(policy::denied(
            "identity",
            &req.method,
            "identity:create_application_credential",
        ));
    }
    let project_id = caller.project_id.clone().ok_or_else(|| {
        Fault::forbidden("Application credentials are created with a project-scoped token.")
    })?;
    let body: Value = req.json()?;
    let a = views::object(&body, "application_credential")?;
    let name = views::name(&a, "name", views::max_name("app"))?;
    let secret = views::string(&a, "secret")?.unwrap_or_else(|| {
        use base64::Engine;
        let mut raw = [0u8; 64];
        let _ = getrandom::getrandom(&mut raw);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    });
    let expires_at = views::string(&a, "expires_at")?;
    if let Some(e) = &expires_at {
        let when = crate::time::parse_iso(e)
            .ok_or_else(|| views::invalid("expires_at", &format!("'{e}' is not a 'date-time'")))?;
        if when * 1000 <= crate::time::now_ms() {
            return Err(Fault::bad_request(format!(
                "The expiration time of the application credential, {e}, is in the past."
            )));
        }
    }
    let token_roles: Vec<String> = caller.roles.clone();
    let base = base(id, req)?;
    let l = Links(&base);
    let hash = id.hasher.hash(&secret).map_err(Fault::internal)?;
    let (cred, roles) = write(id, |tx| {
        let held = model::effective_role_ids(tx, &uid, &Target::Project(project_id.clone()))?;
        let all = model::list_roles(tx)?;
        // No roles, or an empty list: those of the token creating it, as Keystone does.
        let wanted: Vec<model::Role> = match a
            .get("roles")
            .and_then(Value::as_array)
            .filter(|l| !l.is_empty())
        {
            None => all
                .iter()
                .filter(|r| held.contains(&r.id) && token_roles.contains(&r.name))
                .cloned()
                .collect(),
            Some(list) => {
                let mut out = Vec::new();
                for item in list {
                    let role = match (
                        item.get("id").and_then(Value::as_str),
                        item.get("name").and_then(Value::as_str),
                    ) {
                        (Some(rid), _) => all.iter().find(|r| r.id == rid),
                        (None, Some(n)) => {
                            all.iter().find(|r| r.name == n && r.domain_id.is_none())
                        }
                        _ => None,
                    }
                    .ok_or_else(|| model::Error::NotFound("role", item.to_string()))?;
                    if !held.contains(&role.id) {
                        return Err(model::Error::Forbidden(format!("Cannot create an application credential with role {} that the user does not hold on the project.", role.name)));
                    }
                    out.push(role.clone());
                }
                out
            }
        };
        let cred = model::AppCred {
            id: model::new_id(),
            user_id: uid.clone(),
            project_id: project_id.clone(),
            name: name.clone(),
            description: views::string(&a, "description")
                .map_err(|f| model::Error::Invalid(f.message))?,
            secret_hash: hash.clone(),
            expires_at: expires_at.clone(),
            unrestricted: views::boolean(&a, "unrestricted")
                .map_err(|f| model::Error::Invalid(f.message))?
                .unwrap_or(false),
            roles: wanted.iter().map(|r| r.id.clone()).collect(),
            access_rules: a.get("access_rules").cloned().unwrap_or(json!([])),
            created_at: now_iso(),
        };
        model::create_app_cred(tx, &cred)?;
        Ok((cred, wanted))
    })?;
    let mut v = views::app_cred(&l, &cred, &roles);
    v["secret"] = json!(secret);
    ok_json(resp, 201, json!({"application_credential": v}))
}

fn get_app_cred(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let uid = param(req, "user_id")?;
    let aid = param(req, "application_credential_id")?;
    let base = base(id, req)?;
    let (cred, roles) = read(id, |c| {
        let a = model::get_app_cred(c, aid)?;
        if a.user_id != uid {
            return Err(model::Error::NotFound("application credential", aid.into()));
        }
        let roles = model::list_roles(c)?
            .into_iter()
            .filter(|r| a.roles.contains(&r.id))
            .collect::<Vec<_>>();
        Ok((a, roles))
    })?;
    ok_json(
        resp,
        200,
        json!({"application_credential": views::app_cred(&Links(&base), &cred, &roles)}),
    )
}

fn delete_app_cred(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let uid = param(req, "user_id")?;
    let aid = param(req, "application_credential_id")?;
    write(id, |tx| {
        let a = model::get_app_cred(tx, aid)?;
        if a.user_id != uid {
            return Err(model::Error::NotFound("application credential", aid.into()));
        }
        model::delete_app_cred(tx, aid)?;
        let event = super::token::Revocation {
            audit_id: None,
            user_id: None,
            project_id: None,
            app_cred_id: Some(aid.into()),
            issued_before: crate::time::now_ms(),
        };
        super::token::record(tx, &event, id.token_ttl * 1000)?;
        Ok(())
    })?;
    id.revocations_changed();
    no_content(resp)
}

// ---------------------------------------------------------------- credentials

/// Keystone's credential policy: an admin, or the credential's owner (`user_id`), for
/// every action; `owner` is None for a credential that does not exist, which only an
/// admin gets to hear about (404), as Keystone checks policy before it looks.
fn credential_policy(req: &Request, owner: Option<&str>, action: &str) -> Result<(), Fault> {
    let caller = policy::caller(req)?;
    if caller.is_admin || owner.is_some_and(|o| o == caller.user_id) {
        Ok(())
    } else {
        Err(policy::denied("identity", &req.method, action))
    }
}

/// A credential by id, after its policy.
fn credential_for(
    id: &Identity,
    req: &Request,
    cid: &str,
    action: &str,
) -> Result<model::Credential, Fault> {
    let found = read(id, |c| model::find_credential(c, cid))?;
    credential_policy(req, found.as_ref().map(|f| f.user_id.as_str()), action)?;
    found.ok_or_else(|| Fault::not_found(format!("Could not find credential: {cid}.")))
}

fn list_credentials(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let caller = policy::caller(req)?;
    let base = base(id, req)?;
    let l = Links(&base);
    let (user, kind) = (req.query_param("user_id"), req.query_param("type"));
    let creds = read(id, |c| model::list_credentials(c, user, kind))?;
    // Each is shown only to whom its get policy allows: an admin, or its owner.
    let items: Vec<Value> = creds
        .iter()
        .filter(|c| caller.is_admin || c.user_id == caller.user_id)
        .map(|c| views::credential(&l, c))
        .collect();
    ok_json(
        resp,
        200,
        json!({"credentials": items, "links": l.collection("credentials")}),
    )
}

/// The attributes of a credential request other than Keystone's own.
const CREDENTIAL_FIELDS: &[&str] = &["id", "user_id", "project_id", "type", "blob", "links"];

fn create_credential(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let body: Value = req.json()?;
    let c = views::object(&body, "credential")?;
    credential_policy(
        req,
        c.get("user_id").and_then(Value::as_str),
        "identity:create_credential",
    )?;
    let required = |key: &str| views::required_string(&c, key);
    let cred = model::Credential {
        id: model::new_id(),
        blob: required("blob")?,
        kind: required("type")?,
        user_id: required("user_id")?,
        project_id: views::string(&c, "project_id")?,
        extra: views::extra(&c, CREDENTIAL_FIELDS),
    };
    let base = base(id, req)?;
    let cred = write(id, |tx| model::create_credential(tx, cred))?;
    ok_json(
        resp,
        201,
        json!({"credential": views::credential(&Links(&base), &cred)}),
    )
}

fn get_credential(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let cred = credential_for(
        id,
        req,
        param(req, "credential_id")?,
        "identity:get_credential",
    )?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"credential": views::credential(&Links(&base), &cred)}),
    )
}

fn update_credential(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let cid = param(req, "credential_id")?.to_string();
    let current = credential_for(id, req, &cid, "identity:update_credential")?;
    let body: Value = req.json()?;
    let c = views::object(&body, "credential")?;
    if c.is_empty() {
        return Err(views::invalid(
            "credential",
            "{} does not have enough properties",
        ));
    }
    if views::string(&c, "id")?.is_some_and(|new| new != cid) {
        return Err(Fault::bad_request("Cannot change ID"));
    }
    let mut cred = current.clone();
    if let Some(blob) = views::string(&c, "blob")? {
        cred.blob = blob;
    }
    if let Some(kind) = views::string(&c, "type")? {
        cred.kind = kind;
    }
    if let Some(user) = views::string(&c, "user_id")? {
        cred.user_id = user;
    }
    if c.contains_key("project_id") {
        cred.project_id = views::string(&c, "project_id")?;
    }
    cred.extra.extend(views::extra(&c, CREDENTIAL_FIELDS));
    if current.kind.eq_ignore_ascii_case(model::EC2) && c.contains_key("blob") {
        model::keep_ec2_scope(&current.blob, &cred.blob).map_err(|e| id.fault(e))?;
    }
    // The owner it would have after the change must pass too: no giving it away.
    credential_policy(req, Some(&cred.user_id), "identity:update_credential")?;
    write(id, |tx| model::update_credential(tx, &cred))?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"credential": views::credential(&Links(&base), &cred)}),
    )
}

fn delete_credential(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let cid = param(req, "credential_id")?;
    credential_for(id, req, cid, "identity:delete_credential")?;
    write(id, |tx| model::delete_credential(tx, cid))?;
    no_content(resp)
}

// ---------------------------------------------------------------- EC2 credentials

fn list_ec2_credentials(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let uid = param(req, "user_id")?;
    let base = base(id, req)?;
    let l = Links(&base);
    let creds = read(id, |c| {
        model::get_user(c, uid)?;
        model::list_credentials(c, Some(uid), Some(model::EC2))
    })?;
    let items: Vec<Value> = creds.iter().map(|c| views::ec2_credential(&l, c)).collect();
    ok_json(
        resp,
        200,
        json!({"credentials": items, "links": l.collection(&format!("users/{uid}/credentials/OS-EC2"))}),
    )
}

fn create_ec2_credential(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let uid = param(req, "user_id")?.to_string();
    let body: Value = req.json()?;
    let project = body
        .get("tenant_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let blob = json!({
        "access": model::new_id(),
        "secret": model::new_id(),
        "trust_id": null,
    });
    let cred = model::Credential {
        id: String::new(),
        user_id: uid,
        project_id: Some(project),
        kind: model::EC2.into(),
        blob: blob.to_string(),
        extra: Map::new(),
    };
    let base = base(id, req)?;
    let cred = write(id, |tx| model::create_credential(tx, cred))?;
    ok_json(
        resp,
        201,
        json!({"credential": views::ec2_credential(&Links(&base), &cred)}),
    )
}

/// A user's EC2 credential by access key: none is Keystone's 404, a credential of
/// another type its 401.
fn ec2_credential_for(id: &Identity, req: &Request) -> Result<model::Credential, Fault> {
    let uid = param(req, "user_id")?;
    let access = param(req, "credential_id")?;
    let cid = model::ec2_credential_id(access);
    let found = read(id, |c| {
        model::get_user(c, uid)?;
        model::find_credential(c, &cid)
    })?;
    match found.filter(|c| c.user_id == uid) {
        None => Err(Fault::not_found(format!(
            "Could not find credential: {cid}."
        ))),
        Some(c) if !c.kind.eq_ignore_ascii_case(model::EC2) => {
            Err(Fault::unauthorized("EC2 access key not found."))
        }
        Some(c) => Ok(c),
    }
}

fn get_ec2_credential(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let cred = ec2_credential_for(id, req)?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"credential": views::ec2_credential(&Links(&base), &cred)}),
    )
}

fn delete_ec2_credential(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let cred = ec2_credential_for(id, req)?;
    write(id, |tx| model::delete_credential(tx, &cred.id))?;
    no_content(resp)
}

// ---------------------------------------------------------------- policies

/// The attributes of a policy request other than Keystone's own.
const POLICY_FIELDS: &[&str] = &["id", "type", "blob", "links"];

fn list_policies(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let base = base(id, req)?;
    let l = Links(&base);
    let policies = read(id, |c| model::list_policies(c, req.query_param("type")))?;
    let items: Vec<Value> = policies.iter().map(|p| views::policy(&l, p)).collect();
    ok_json(
        resp,
        200,
        json!({"policies": items, "links": l.collection("policies")}),
    )
}

fn create_policy(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let body: Value = req.json()?;
    let p = views::object(&body, "policy")?;
    let required = |key: &str| views::required_string(&p, key);
    let new = model::Policy {
        id: model::new_id(),
        blob: required("blob")?,
        kind: required("type")?,
        extra: views::extra(&p, POLICY_FIELDS),
    };
    let base = base(id, req)?;
    write(id, |tx| model::create_policy(tx, &new))?;
    ok_json(
        resp,
        201,
        json!({"policy": views::policy(&Links(&base), &new)}),
    )
}

fn get_policy(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let pid = param(req, "policy_id")?;
    let found = read(id, |c| model::get_policy(c, pid))?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"policy": views::policy(&Links(&base), &found)}),
    )
}

fn update_policy(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let pid = param(req, "policy_id")?.to_string();
    let body: Value = req.json()?;
    let p = views::object(&body, "policy")?;
    if p.is_empty() {
        return Err(views::invalid(
            "policy",
            "{} does not have enough properties",
        ));
    }
    let (blob, kind) = (views::string(&p, "blob")?, views::string(&p, "type")?);
    let changed = write(id, |tx| {
        let mut current = model::get_policy(tx, &pid)?;
        if let Some(b) = blob {
            current.blob = b;
        }
        if let Some(k) = kind {
            current.kind = k;
        }
        current.extra.extend(views::extra(&p, POLICY_FIELDS));
        model::update_policy(tx, &current)?;
        Ok(current)
    })?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"policy": views::policy(&Links(&base), &changed)}),
    )
}

fn delete_policy(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let pid = param(req, "policy_id")?;
    write(id, |tx| model::delete_policy(tx, pid))?;
    no_content(resp)
}

// ---------------------------------------------------------------- OAuth1 consumers

/// The attributes of a consumer request other than Keystone's own.
const CONSUMER_FIELDS: &[&str] = &["id", "description", "secret", "links"];

fn list_consumers(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let base = base(id, req)?;
    let l = Links(&base);
    let consumers = read(id, model::list_consumers)?;
    let items: Vec<Value> = consumers.iter().map(|c| views::consumer(&l, c)).collect();
    ok_json(
        resp,
        200,
        json!({"consumers": items, "links": l.collection("OS-OAUTH1/consumers")}),
    )
}

fn create_consumer(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    // Keystone reads the body leniently: none, or no `consumer`, is an empty consumer.
    let body: Value = req.json().unwrap_or(Value::Null);
    let c = match body.get("consumer") {
        None | Some(Value::Null) => Map::new(),
        Some(_) => views::object(&body, "consumer")?,
    };
    let consumer = model::Consumer {
        id: model::new_id(),
        description: views::string(&c, "description")?,
        secret: String::new(),
        extra: views::extra(&c, CONSUMER_FIELDS),
    };
    let base = base(id, req)?;
    let made = write(id, |tx| model::create_consumer(tx, consumer))?;
    let mut v = views::consumer(&Links(&base), &made);
    v["secret"] = json!(made.secret);
    ok_json(resp, 201, json!({ "consumer": v }))
}

fn get_consumer(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let cid = param(req, "consumer_id")?;
    let found = read(id, |c| model::get_consumer(c, cid))?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"consumer": views::consumer(&Links(&base), &found)}),
    )
}

fn update_consumer(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let cid = param(req, "consumer_id")?.to_string();
    let body: Value = req.json().unwrap_or(Value::Null);
    let c = match body.get("consumer") {
        None | Some(Value::Null) => Map::new(),
        Some(_) => views::object(&body, "consumer")?,
    };
    if c.is_empty() {
        return Err(views::invalid(
            "consumer",
            "{} does not have enough properties",
        ));
    }
    if c.contains_key("secret") {
        return Err(views::invalid(
            "consumer",
            &format!(
                "{} should not be valid under {{'required': ['secret']}}",
                Value::Object(c.clone())
            ),
        ));
    }
    let description = views::string(&c, "description")?;
    if views::string(&c, "id")?.is_some_and(|new| new != cid) {
        return Err(Fault::bad_request("Cannot change ID"));
    }
    let changed = write(id, |tx| {
        let mut current = model::get_consumer(tx, &cid)?;
        if c.contains_key("description") {
            current.description = description;
        }
        current.extra.extend(views::extra(&c, CONSUMER_FIELDS));
        model::update_consumer(tx, &current)?;
        Ok(current)
    })?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"consumer": views::consumer(&Links(&base), &changed)}),
    )
}

fn delete_consumer(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let cid = param(req, "consumer_id")?;
    write(id, |tx| model::delete_consumer(tx, cid))?;
    no_content(resp)
}

// ---------------------------------------------------------------- endpoint groups

fn list_endpoint_groups(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let base = base(id, req)?;
    let l = Links(&base);
    let groups = read(id, model::list_endpoint_groups)?;
    let items: Vec<Value> = groups
        .iter()
        .map(|g| views::endpoint_group(&l, g))
        .collect();
    let items = filter_eq(req, items, &["name"]);
    ok_json(
        resp,
        200,
        json!({"endpoint_groups": items, "links": l.collection("OS-EP-FILTER/endpoint_groups")}),
    )
}

/// A group's `filters`: an object.
fn endpoint_filters(g: &Map<String, Value>) -> Result<Option<Map<String, Value>>, Fault> {
    match g.get("filters") {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(other) => Err(views::invalid(
            "filters",
            &format!("{other} is not of type 'object'"),
        )),
    }
}

fn create_endpoint_group(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let body: Value = req.json()?;
    let g = views::object(&body, "endpoint_group")?;
    let name = views::name(&g, "name", 255)?;
    let filters = endpoint_filters(&g)?
        .ok_or_else(|| Fault::bad_request("'filters' is a required property"))?;
    let group = model::EndpointGroup {
        id: model::new_id(),
        name,
        description: views::string(&g, "description")?,
        filters,
    };
    let base = base(id, req)?;
    write(id, |tx| model::create_endpoint_group(tx, &group))?;
    ok_json(
        resp,
        201,
        json!({"endpoint_group": views::endpoint_group(&Links(&base), &group)}),
    )
}

fn get_endpoint_group(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let gid = param(req, "endpoint_group_id")?;
    let group = read(id, |c| model::get_endpoint_group(c, gid))?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"endpoint_group": views::endpoint_group(&Links(&base), &group)}),
    )
}

fn check_endpoint_group(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let gid = param(req, "endpoint_group_id")?;
    read(id, |c| model::get_endpoint_group(c, gid))?;
    resp.set_status(200);
    Ok(())
}

fn update_endpoint_group(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let gid = param(req, "endpoint_group_id")?.to_string();
    let body: Value = req.json()?;
    let g = views::object(&body, "endpoint_group")?;
    if g.is_empty() {
        return Err(views::invalid(
            "endpoint_group",
            "{} does not have enough properties",
        ));
    }
    let name = views::optional_name(&g, "endpoint_group")?;
    let description = views::string(&g, "description")?;
    let filters = endpoint_filters(&g)?;
    if views::string(&g, "id")?.is_some_and(|new| new != gid) {
        return Err(Fault::bad_request("Cannot change ID"));
    }
    let changed = write(id, |tx| {
        let mut current = model::get_endpoint_group(tx, &gid)?;
        if let Some(n) = name {
            current.name = n;
        }
        if g.contains_key("description") {
            current.description = description;
        }
        if let Some(f) = filters {
            current.filters = f;
        }
        model::update_endpoint_group(tx, &current)?;
        Ok(current)
    })?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"endpoint_group": views::endpoint_group(&Links(&base), &changed)}),
    )
}

fn delete_endpoint_group(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let gid = param(req, "endpoint_group_id")?;
    write(id, |tx| model::delete_endpoint_group(tx, gid))?;
    no_content(resp)
}

// ---------------------------------------------------------------- domain configuration

/// The `config` of a domain config request: its groups of options (anything else is
/// none, which Keystone refuses as such).
fn config_body(req: &Request) -> Result<Map<String, Value>, Fault> {
    let body: Value = req.json()?;
    Ok(body
        .get("config")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default())
}

fn get_domain_config(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let did = param(req, "domain_id")?;
    let (group, option) = (req.param("group"), req.param("option"));
    let config = if group == Some(model::SECURITY_COMPLIANCE) {
        // Anyone may read the password rules (get_security_compliance_domain_config),
        // through the default domain only.
        model::security_compliance_config(did, option).map_err(|e| id.fault(e))?
    } else {
        // The table lets any token ask for a group, for the password rules' sake.
        if !policy::caller(req)?.is_admin {
            return Err(policy::denied(
                "identity",
                &req.method,
                "identity:get_domain_config",
            ));
        }
        read(id, |c| model::get_domain_config(c, did, group, option))?
    };
    ok_json(resp, 200, json!({ "config": config }))
}

fn create_domain_config(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let did = param(req, "domain_id")?;
    let config = config_body(req)?;
    let (shown, first) = write(id, |tx| model::create_domain_config(tx, did, &config))?;
    ok_json(
        resp,
        if first { 201 } else { 200 },
        json!({ "config": shown }),
    )
}

fn update_domain_config(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let did = param(req, "domain_id")?;
    let (group, option) = (req.param("group"), req.param("option"));
    let config = config_body(req)?;
    let shown = write(id, |tx| {
        model::update_domain_config(tx, did, &config, group, option)
    })?;
    ok_json(resp, 200, json!({ "config": shown }))
}

fn delete_domain_config(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let did = param(req, "domain_id")?;
    let (group, option) = (req.param("group"), req.param("option"));
    write(id, |tx| model::delete_domain_config(tx, did, group, option))?;
    no_content(resp)
}

fn default_domain_config(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let (group, option) = (req.param("group"), req.param("option"));
    let config = model::default_domain_config(group, option).map_err(|e| id.fault(e))?;
    ok_json(resp, 200, json!({ "config": config }))
}

// ---------------------------------------------------------------- catalog resources

/// What this host serves is changed in jumpgate.conf, not through the API.
fn built_in(kind: &str) -> Fault {
    Fault::forbidden(format!(
        "This {kind} is built from this host's configuration (jumpgate.conf); change it there and reload."
    ))
}

fn region_view(l: &Links, r: &model::Region) -> Value {
    json!({"id": r.id, "description": r.description, "parent_region_id": r.parent_region_id, "links": l.of(&format!("regions/{}", r.id))})
}

/// The configured region, then the ones admins created.
fn regions(id: &Identity) -> Result<Vec<model::Region>, Fault> {
    let mut all = vec![model::Region {
        id: id.region.clone(),
        description: String::new(),
        parent_region_id: None,
    }];
    all.extend(
        read(id, model::list_regions)?
            .into_iter()
            .filter(|r| r.id != id.region),
    );
    Ok(all)
}

fn list_regions(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let base = base(id, req)?;
    let l = Links(&base);
    let items = filter_eq(
        req,
        regions(id)?.iter().map(|r| region_view(&l, r)).collect(),
        &["parent_region_id"],
    );
    ok_json(
        resp,
        200,
        json!({"regions": items, "links": l.collection("regions")}),
    )
}

fn get_region(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let rid = param(req, "region_id")?;
    let region = regions(id)?
        .into_iter()
        .find(|r| r.id == rid)
        .ok_or_else(|| Fault::not_found(format!("Could not find region: {rid}.")))?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"region": region_view(&Links(&base), &region)}),
    )
}

fn new_region(
    id: &Identity,
    req: &Request,
    resp: &mut Response,
    region_id: Option<String>,
) -> HandlerResult {
    let body: Value = req.json()?;
    let r = views::object(&body, "region")?;
    let rid = region_id
        .or(views::string(&r, "id")?)
        .unwrap_or_else(model::new_id);
    if rid == id.region {
        return Err(built_in("region"));
    }
    let region = model::Region {
        id: rid,
        description: views::string(&r, "description")?.unwrap_or_default(),
        parent_region_id: views::string(&r, "parent_region_id")?,
    };
    write(id, |tx| model::create_region(tx, &region))?;
    let base = base(id, req)?;
    ok_json(
        resp,
        201,
        json!({"region": region_view(&Links(&base), &region)}),
    )
}

fn create_region(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    new_region(id, req, resp, None)
}

fn put_region(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let rid = param(req, "region_id")?.to_string();
    new_region(id, req, resp, Some(rid))
}

fn update_region(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let rid = param(req, "region_id")?.to_string();
    if rid == id.region {
        return Err(built_in("region"));
    }
    let body: Value = req.json()?;
    let r = views::object(&body, "region")?;
    let description = views::string(&r, "description")?;
    let region = write(id, |tx| {
        let mut region = model::get_region(tx, &rid)?;
        if let Some(d) = description {
            region.description = d;
        }
        if r.contains_key("parent_region_id") {
            region.parent_region_id = r
                .get("parent_region_id")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        model::update_region(tx, &region)?;
        Ok(region)
    })?;
    let base = base(id, req)?;
    ok_json(
        resp,
        200,
        json!({"region": region_view(&Links(&base), &region)}),
    )
}

fn delete_region(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let rid = param(req, "region_id")?;
    if rid == id.region {
        return Err(built_in("region"));
    }
    write(id, |tx| model::delete_region(tx, rid))?;
    id.catalog_changed();
    no_content(resp)
}

fn service_view(l: &Links, e: &super::catalog::Entry) -> Value {
    json!({"id": e.service_id, "type": e.kind, "name": e.name, "description": e.description, "enabled": e.enabled, "links": l.of(&format!("services/{}", e.service_id))})
}

fn endpoint_view(
    l: &Links,
    e: &super::catalog::Entry,
    ep: &super::catalog::EndpointEntry,
) -> Value {
    json!({
        "id": ep.id, "interface": ep.interface, "url": ep.url, "region": ep.region, "region_id": ep.region,
        "service_id": e.service_id, "enabled": ep.enabled, "links": l.of(&format!("endpoints/{}", ep.id)),
    })
}

fn list_services(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let base = base(id, req)?;
    let l = Links(&base);
    let items = filter_eq(
        req,
        id.catalog(req, None)?
            .iter()
            .map(|e| service_view(&l, e))
            .collect(),
        &["type", "name"],
    );
    ok_json(
        resp,
        200,
        json!({"services": items, "links": l.collection("services")}),
    )
}

fn get_service(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let sid = param(req, "service_id")?;
    let base = base(id, req)?;
    let all = id.catalog(req, None)?;
    let e = all
        .iter()
        .find(|e| e.service_id == sid)
        .ok_or_else(|| Fault::not_found(format!("Could not find service: {sid}.")))?;
    ok_json(
        resp,
        200,
        json!({"service": service_view(&Links(&base), e)}),
    )
}

fn create_service(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let body: Value = req.json()?;
    let m = views::object(&body, "service")?;
    let kind = views::string(&m, "type")?
        .ok_or_else(|| Fault::bad_request("'type' is a required property"))?;
    views::check_name("type", &kind, 255)?;
    let service = model::Service {
        id: model::new_id(),
        kind,
        name: views::string(&m, "name")?,
        description: views::string(&m, "description")?,
        enabled: views::boolean(&m, "enabled")?.unwrap_or(true),
    };
    write(id, |tx| model::create_service(tx, &service))?;
    id.catalog_changed();
    let base = base(id, req)?;
    let l = Links(&base);
    let entry = id
        .catalog(req, None)?
        .into_iter()
        .find(|e| e.service_id == service.id);
    let view = entry.map(|e| service_view(&l, &e)).unwrap_or(Value::Null);
    ok_json(resp, 201, json!({"service": view}))
}

fn update_service(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let sid = param(req, "service_id")?.to_string();
    if id
        .catalog(req, None)?
        .iter()
        .any(|e| e.built_in && e.service_id == sid)
    {
        return Err(built_in("service"));
    }
    let body: Value = req.json()?;
    let m = views::object(&body, "service")?;
    let (kind, name, description, enabled) = (
        views::string(&m, "type")?,
        views::string(&m, "name")?,
        views::string(&m, "description")?,
        views::boolean(&m, "enabled")?,
    );
    write(id, |tx| {
        let mut s = model::get_service(tx, &sid)?;
        if let Some(k) = kind {
            s.kind = k;
        }
        if name.is_some() {
            s.name = name;
        }
        if description.is_some() {
            s.description = description;
        }
        if let Some(e) = enabled {
            s.enabled = e;
        }
        model::update_service(tx, &s)
    })?;
    id.catalog_changed();
    get_service(id, req, resp)
}

fn delete_service(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let sid = param(req, "service_id")?;
    if id
        .catalog(req, None)?
        .iter()
        .any(|e| e.built_in && e.service_id == sid)
    {
        return Err(built_in("service"));
    }
    write(id, |tx| model::delete_service(tx, sid))?;
    id.catalog_changed();
    no_content(resp)
}

fn list_endpoints(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let base = base(id, req)?;
    let l = Links(&base);
    let all = id.catalog(req, None)?;
    let items: Vec<Value> = all
        .iter()
        .flat_map(|e| {
            e.endpoints
                .iter()
                .map(|ep| endpoint_view(&l, e, ep))
                .collect::<Vec<_>>()
        })
        .collect();
    let items = filter_eq(req, items, &["interface", "service_id", "region_id"]);
    ok_json(
        resp,
        200,
        json!({"endpoints": items, "links": l.collection("endpoints")}),
    )
}

fn get_endpoint(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let eid = param(req, "endpoint_id")?;
    let base = base(id, req)?;
    let l = Links(&base);
    let all = id.catalog(req, None)?;
    let found = all
        .iter()
        .find_map(|e| {
            e.endpoints
                .iter()
                .find(|ep| ep.id == eid)
                .map(|ep| endpoint_view(&l, e, ep))
        })
        .ok_or_else(|| Fault::not_found(format!("Could not find endpoint: {eid}.")))?;
    ok_json(resp, 200, json!({"endpoint": found}))
}

/// An endpoint's fields from a request body, over `current` (None: creating).
fn endpoint_fields(
    id: &Identity,
    m: &Map<String, Value>,
    current: Option<model::Endpoint>,
) -> Result<model::Endpoint, Fault> {
    let creating = current.is_none();
    let mut e = current.unwrap_or(model::Endpoint {
        id: model::new_id(),
        service_id: String::new(),
        interface: String::new(),
        region_id: None,
        url: String::new(),
        enabled: true,
    });
    if let Some(s) = views::string(m, "service_id")? {
        e.service_id = s;
    }
    if let Some(i) = views::string(m, "interface")? {
        if !["public", "internal", "admin"].contains(&i.as_str()) {
            return Err(views::invalid(
                "interface",
                &format!("'{i}' is not one of ['public', 'internal', 'admin']"),
            ));
        }
        e.interface = i;
    }
    if let Some(u) = views::string(m, "url")? {
        if u.trim().is_empty() {
            return Err(views::invalid("url", "'' is too short"));
        }
        e.url = u;
    }
    if let Some(b) = views::boolean(m, "enabled")? {
        e.enabled = b;
    }
    // `region_id` must exist; the older `region` makes the region if it does not.
    if let Some(r) = views::string(m, "region_id")? {
        if r != id.region && read(id, |c| Ok(model::get_region(c, &r).is_err()))? {
            return Err(Fault::bad_request(format!("Could not find region: {r}.")));
        }
        e.region_id = Some(r);
    } else if let Some(r) = views::string(m, "region")? {
        if r != id.region {
            write(id, |tx| match model::get_region(tx, &r) {
                Ok(_) => Ok(()),
                Err(_) => model::create_region(
                    tx,
                    &model::Region {
                        id: r.clone(),
                        description: String::new(),
                        parent_region_id: None,
                    },
                ),
            })?;
        }
        e.region_id = Some(r);
    }
    if creating {
        for (field, value) in [
            ("service_id", &e.service_id),
            ("interface", &e.interface),
            ("url", &e.url),
        ] {
            if value.is_empty() {
                return Err(Fault::bad_request(format!(
                    "'{field}' is a required property"
                )));
            }
        }
    }
    Ok(e)
}

fn create_endpoint(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let body: Value = req.json()?;
    let m = views::object(&body, "endpoint")?;
    let e = endpoint_fields(id, &m, None)?;
    if id
        .catalog(req, None)?
        .iter()
        .any(|s| s.built_in && s.service_id == e.service_id)
    {
        return Err(built_in("service's endpoint"));
    }
    write(id, |tx| model::create_endpoint(tx, &e))?;
    id.catalog_changed();
    let base = base(id, req)?;
    let view = json!({
        "id": e.id, "interface": e.interface, "url": e.url, "region": e.region_id, "region_id": e.region_id,
        "service_id": e.service_id, "enabled": e.enabled, "links": Links(&base).of(&format!("endpoints/{}", e.id)),
    });
    ok_json(resp, 201, json!({"endpoint": view}))
}

fn update_endpoint(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let eid = param(req, "endpoint_id")?.to_string();
    let current = match read(id, |c| Ok(model::get_endpoint(c, &eid).ok()))? {
        Some(e) => e,
        None if id
            .catalog(req, None)?
            .iter()
            .any(|s| s.endpoints.iter().any(|ep| ep.id == eid)) =>
        {
            return Err(built_in("endpoint"));
        }
        None => return Err(Fault::not_found(format!("Could not find endpoint: {eid}."))),
    };
    let body: Value = req.json()?;
    let m = views::object(&body, "endpoint")?;
    let e = endpoint_fields(id, &m, Some(current))?;
    write(id, |tx| model::update_endpoint(tx, &e))?;
    id.catalog_changed();
    get_endpoint(id, req, resp)
}

fn delete_endpoint(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let eid = param(req, "endpoint_id")?;
    if id
        .catalog(req, None)?
        .iter()
        .any(|s| s.built_in && s.endpoints.iter().any(|ep| ep.id == eid))
    {
        return Err(built_in("endpoint"));
    }
    write(id, |tx| model::delete_endpoint(tx, eid))?;
    id.catalog_changed();
    no_content(resp)
}

// ---------------------------------------------------------------- v2.0

fn issue_v2(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let body = id.issue_v2(req)?;
    ok_json(resp, 200, body)
}

fn v2_subject(id: &Identity, req: &Request) -> Result<(String, super::token::Claims), Fault> {
    let token = param(req, "token_id")?.to_string();
    let claims = id
        .open_valid(&token)
        .ok_or_else(|| Fault::not_found(format!("Could not find token: {token}.")))?;
    if let Some(belongs) = req.query_param("belongsTo") {
        if claims.p.as_ref().map(|p| p.0.as_str()) != Some(belongs) {
            return Err(Fault::not_found(format!("Could not find token: {token}.")));
        }
    }
    Ok((token, claims))
}

fn validate_v2(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let (token, claims) = v2_subject(id, req)?;
    let body = id.render_v2(req, &token, &claims, false)?;
    ok_json(resp, 200, body)
}

fn check_v2(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    v2_subject(id, req)?;
    resp.set_status(200);
    Ok(())
}

fn v2_tenants(id: &Id, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let caller = policy::caller(req)?;
    let projects = read(id, |c| model::user_projects(c, &caller.user_id))?;
    let items: Vec<Value> = projects
        .iter()
        .filter(|p| p.domain_id == model::DEFAULT_DOMAIN)
        .map(|p| json!({"id": p.id, "name": p.name, "description": p.description, "enabled": p.enabled}))
        .collect();
    ok_json(resp, 200, json!({"tenants": items, "tenants_links": []}))
}
