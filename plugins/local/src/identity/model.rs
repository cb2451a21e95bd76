//! Identity's state and its rules: domains, projects, users, groups, roles and who holds
//! which role where. Knows nothing of HTTP nor of SQL: its records come from `repo`'s
//! trait, inside the caller's transaction.

use serde_json::{Map, Value};

use super::repo::IdentityRepo;
use crate::store::{StoreError, Unique};

/// What can go wrong, in the model's terms; routes turn it into Keystone's faults.
#[derive(Debug)]
pub enum Error {
    /// (kind, id): "Could not find project: x."
    NotFound(&'static str, String),
    Conflict(String),
    Invalid(String),
    Forbidden(String),
    /// A 404 in Keystone's own words ("Consumer not found").
    Missing(String),
    Store(StoreError),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// The store every function here works on: the caller's transaction or snapshot.
pub type Repo<'a> = &'a dyn IdentityRepo;

pub const DEFAULT_DOMAIN: &str = "default";

pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn conflict(kind: &str, name: &str, scope: Option<&str>) -> Error {
    match scope {
        Some(d) => Error::Conflict(format!(
            "Conflict occurred attempting to store {kind} - Duplicate entry found with name {name} at domain ID {d}."
        )),
        None => Error::Conflict(format!(
            "Conflict occurred attempting to store {kind} - Duplicate entry found with name {name}."
        )),
    }
}

/// A name already taken is Keystone's 409.
fn unique(u: Unique, kind: &str, name: &str, scope: Option<&str>) -> Result<()> {
    match u {
        Unique::Stored => Ok(()),
        Unique::Taken => Err(conflict(kind, name, scope)),
    }
}

fn found<T>(r: Option<T>, kind: &'static str, id: &str) -> Result<T> {
    r.ok_or_else(|| Error::NotFound(kind, id.into()))
}

// ---------------------------------------------------------------- domains

#[derive(Debug, Clone, PartialEq)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub tags: Vec<String>,
}

pub fn create_domain(c: Repo, d: &Domain) -> Result<()> {
    unique(c.insert_domain(d)?, "domain", &d.name, None)
}

pub fn get_domain(c: Repo, id: &str) -> Result<Domain> {
    found(c.domain(id)?, "domain", id)
}

pub fn find_domain_by_name(c: Repo, name: &str) -> Result<Domain> {
    found(c.domain_by_name(name)?, "domain", name)
}

pub fn list_domains(c: Repo) -> Result<Vec<Domain>> {
    Ok(c.domains()?)
}

pub fn update_domain(c: Repo, d: &Domain) -> Result<()> {
    unique(c.update_domain(d)?, "domain", &d.name, None)
}

/// What a PATCH of a domain (or of a project acting as one) may change.
pub struct DomainChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub tags: Option<Vec<String>>,
}

/// Applies `change` to domain `id`: the default domain is never disabled.
pub fn change_domain(c: Repo, id: &str, change: DomainChange) -> Result<Domain> {
    let mut domain = get_domain(c, id)?;
    if let Some(n) = change.name {
        domain.name = n;
    }
    if let Some(x) = change.description {
        domain.description = x;
    }
    if let Some(e) = change.enabled {
        if id == DEFAULT_DOMAIN && !e {
            return Err(Error::Forbidden(
                "Cannot disable the default domain.".into(),
            ));
        }
        domain.enabled = e;
    }
    if let Some(t) = change.tags {
        domain.tags = t;
    }
    update_domain(c, &domain)?;
    Ok(domain)
}

pub fn delete_domain(c: Repo, id: &str) -> Result<()> {
    let d = get_domain(c, id)?;
    if d.enabled {
        return Err(Error::Forbidden(
            "Cannot delete a domain that is enabled, please disable it first.".into(),
        ));
    }
    if id == DEFAULT_DOMAIN {
        return Err(Error::Forbidden("Cannot delete the default domain.".into()));
    }
    Ok(c.delete_domain(id)?)
}

// ---------------------------------------------------------------- projects

#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub parent_id: Option<String>,
    pub description: String,
    pub enabled: bool,
    pub tags: Vec<String>,
    /// Attributes Keystone does not know, kept and returned as given.
    pub extra: Map<String, Value>,
}

pub fn create_project(c: Repo, p: &Project) -> Result<()> {
    get_domain(c, &p.domain_id)
        .map_err(|_| Error::Invalid(format!("Could not find domain: {}.", p.domain_id)))?;
    if let Some(parent) = &p.parent_id {
        if parent != &p.domain_id {
            let parent = get_project(c, parent)?;
            if parent.domain_id != p.domain_id {
                return Err(Error::Invalid(
                    "Cannot create project, the parent is in another domain.".into(),
                ));
            }
        }
    }
    unique(c.insert_project(p)?, "project", &p.name, Some(&p.domain_id))
}

pub fn get_project(c: Repo, id: &str) -> Result<Project> {
    found(c.project(id)?, "project", id)
}

pub fn find_project(c: Repo, name: &str, domain_id: &str) -> Result<Project> {
    found(c.project_by_name(name, domain_id)?, "project", name)
}

pub fn list_projects(c: Repo) -> Result<Vec<Project>> {
    Ok(c.projects()?)
}

pub fn update_project(c: Repo, p: &Project) -> Result<()> {
    unique(c.update_project(p)?, "project", &p.name, Some(&p.domain_id))
}

pub fn delete_project(c: Repo, id: &str) -> Result<()> {
    get_project(c, id)?;
    if c.child_projects(id)? > 0 {
        return Err(Error::Forbidden(format!(
            "Cannot delete the project {id} since it is not a leaf in the hierarchy. Use the cascade option if you want to delete a whole subtree."
        )));
    }
    Ok(c.delete_project(id)?)
}

/// What a project id names: a project, or a domain — Keystone's domains are projects
/// acting as domains (`is_domain`), reachable through the projects API too.
#[derive(Debug, Clone, PartialEq)]
pub enum ProjectOrDomain {
    Project(Project),
    Domain(Domain),
}

pub fn get_project_or_domain(c: Repo, id: &str) -> Result<ProjectOrDomain> {
    if let Some(p) = c.project(id)? {
        return Ok(ProjectOrDomain::Project(p));
    }
    match c.domain(id)? {
        Some(d) => Ok(ProjectOrDomain::Domain(d)),
        None => Err(Error::NotFound("project", id.into())),
    }
}

/// A project acting as a domain is a root: it has neither a domain nor a parent, and its
/// name is unique among domains.
pub fn create_domain_project(
    c: Repo,
    d: &Domain,
    domain_id: Option<&str>,
    parent_id: Option<&str>,
) -> Result<()> {
    if domain_id.is_some() || parent_id.is_some() {
        return Err(Error::Invalid(
            "only root projects are allowed to act as domains.".into(),
        ));
    }
    match c.insert_domain(d)? {
        Unique::Stored => Ok(()),
        Unique::Taken => Err(Error::Conflict(format!(
            "Conflict occurred attempting to store project - it is not permitted to have two projects acting as domains with the same name: {}.",
            d.name
        ))),
    }
}

// ---------------------------------------------------------------- users

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub password_hash: Option<String>,
    pub enabled: bool,
    pub default_project_id: Option<String>,
    pub extra: Map<String, Value>,
    pub created_at: String,
    pub password_changed_at: Option<String>,
}

pub fn create_user(c: Repo, u: &User) -> Result<()> {
    get_domain(c, &u.domain_id)?;
    unique(c.insert_user(u)?, "user", &u.name, Some(&u.domain_id))
}

pub fn get_user(c: Repo, id: &str) -> Result<User> {
    found(c.user(id)?, "user", id)
}

pub fn find_user(c: Repo, name: &str, domain_id: &str) -> Result<User> {
    found(c.user_by_name(name, domain_id)?, "user", name)
}

pub fn list_users(c: Repo) -> Result<Vec<User>> {
    Ok(c.users()?)
}

pub fn update_user(c: Repo, u: &User) -> Result<()> {
    unique(c.update_user(u)?, "user", &u.name, Some(&u.domain_id))
}

pub fn delete_user(c: Repo, id: &str) -> Result<()> {
    get_user(c, id)?;
    Ok(c.delete_user(id)?)
}

// ---------------------------------------------------------------- groups

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub description: String,
}

pub fn create_group(c: Repo, g: &Group) -> Result<()> {
    get_domain(c, &g.domain_id)?;
    unique(c.insert_group(g)?, "group", &g.name, Some(&g.domain_id))
}

pub fn get_group(c: Repo, id: &str) -> Result<Group> {
    found(c.group(id)?, "group", id)
}

pub fn list_groups(c: Repo) -> Result<Vec<Group>> {
    Ok(c.groups()?)
}

pub fn update_group(c: Repo, g: &Group) -> Result<()> {
    unique(c.update_group(g)?, "group", &g.name, Some(&g.domain_id))
}

pub fn delete_group(c: Repo, id: &str) -> Result<()> {
    get_group(c, id)?;
    Ok(c.delete_group(id)?)
}

pub fn add_member(c: Repo, group_id: &str, user_id: &str) -> Result<()> {
    get_group(c, group_id)?;
    get_user(c, user_id)?;
    Ok(c.add_member(group_id, user_id)?)
}

pub fn remove_member(c: Repo, group_id: &str, user_id: &str) -> Result<()> {
    get_group(c, group_id)?;
    get_user(c, user_id)?;
    if !c.remove_member(group_id, user_id)? {
        return Err(Error::NotFound(
            "user in group",
            format!("{user_id} in {group_id}"),
        ));
    }
    Ok(())
}

pub fn is_member(c: Repo, group_id: &str, user_id: &str) -> Result<bool> {
    get_group(c, group_id)?;
    get_user(c, user_id)?;
    Ok(c.is_member(group_id, user_id)?)
}

pub fn group_members(c: Repo, group_id: &str) -> Result<Vec<User>> {
    get_group(c, group_id)?;
    Ok(c.group_members(group_id)?)
}

pub fn user_groups(c: Repo, user_id: &str) -> Result<Vec<Group>> {
    get_user(c, user_id)?;
    Ok(c.user_groups(user_id)?)
}

// ---------------------------------------------------------------- roles

#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub domain_id: Option<String>,
    pub description: Option<String>,
}

pub fn create_role(c: Repo, r: &Role) -> Result<()> {
    unique(c.insert_role(r)?, "role", &r.name, r.domain_id.as_deref())
}

pub fn get_role(c: Repo, id: &str) -> Result<Role> {
    found(c.role(id)?, "role", id)
}

pub fn list_roles(c: Repo) -> Result<Vec<Role>> {
    Ok(c.roles()?)
}

pub fn update_role(c: Repo, r: &Role) -> Result<()> {
    unique(c.update_role(r)?, "role", &r.name, r.domain_id.as_deref())
}

pub fn delete_role(c: Repo, id: &str) -> Result<()> {
    get_role(c, id)?;
    Ok(c.delete_role(id)?)
}

pub fn add_implied_role(c: Repo, prior: &str, implied: &str) -> Result<()> {
    let p = get_role(c, prior)?;
    let i = get_role(c, implied)?;
    if p.domain_id.is_none() && i.domain_id.is_some() {
        return Err(Error::Forbidden(
            "Global role cannot imply a domain-specific role".into(),
        ));
    }
    if prior == implied
        || implied_closure(c, &[implied.to_string()])?
            .iter()
            .any(|r| r == prior)
    {
        return Err(Error::Invalid(format!(
            "Implied role {implied} would form a cycle with {prior}."
        )));
    }
    Ok(c.add_implication(prior, implied)?)
}

pub fn remove_implied_role(c: Repo, prior: &str, implied: &str) -> Result<()> {
    if !c.remove_implication(prior, implied)? {
        return Err(Error::NotFound(
            "implied role",
            format!("{prior} implies {implied}"),
        ));
    }
    Ok(())
}

/// The roles `prior` implies directly, by name.
pub fn implied_roles(c: Repo, prior: &str) -> Result<Vec<Role>> {
    get_role(c, prior)?;
    let ids: Vec<String> = c
        .implications()?
        .into_iter()
        .filter(|(p, _)| p == prior)
        .map(|(_, i)| i)
        .collect();
    roles_by_name(c, &ids)
}

pub fn all_implications(c: Repo) -> Result<Vec<(String, String)>> {
    Ok(c.implications()?)
}

/// `roles` and every role they imply, transitively, each once, in discovery order.
pub fn implied_closure(c: Repo, roles: &[String]) -> Result<Vec<String>> {
    let edges = c.implications()?;
    let mut out: Vec<String> = Vec::new();
    let mut todo: Vec<String> = roles.to_vec();
    while let Some(r) = todo.pop() {
        if out.contains(&r) {
            continue;
        }
        for (prior, implied) in &edges {
            if *prior == r {
                todo.push(implied.clone());
            }
        }
        out.push(r);
    }
    Ok(out)
}

// ---------------------------------------------------------------- assignments

/// Where a role is held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Project(String),
    Domain(String),
    System,
}

/// Who holds a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(String),
    Group(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub actor: Actor,
    pub target: Target,
    pub role_id: String,
    pub inherited: bool,
}

fn check_actor_target(c: Repo, actor: &Actor, target: &Target) -> Result<()> {
    match actor {
        Actor::User(id) => drop(get_user(c, id)?),
        Actor::Group(id) => drop(get_group(c, id)?),
    }
    match target {
        Target::Project(id) => drop(get_project(c, id)?),
        Target::Domain(id) => drop(get_domain(c, id)?),
        Target::System => {}
    }
    Ok(())
}

pub fn grant(c: Repo, a: &Assignment) -> Result<()> {
    check_actor_target(c, &a.actor, &a.target)?;
    get_role(c, &a.role_id)?;
    Ok(c.grant(a)?)
}

pub fn revoke(c: Repo, a: &Assignment) -> Result<()> {
    check_actor_target(c, &a.actor, &a.target)?;
    get_role(c, &a.role_id)?;
    if !c.revoke(a)? {
        return Err(Error::NotFound("role assignment", a.role_id.clone()));
    }
    Ok(())
}

pub fn has_grant(c: Repo, a: &Assignment) -> Result<bool> {
    check_actor_target(c, &a.actor, &a.target)?;
    get_role(c, &a.role_id)?;
    Ok(c.has_grant(a)?)
}

/// Direct grants on `target` to `actor` (roles listed by a grant's GET), by name.
pub fn grants_on(c: Repo, actor: &Actor, target: &Target, inherited: bool) -> Result<Vec<Role>> {
    check_actor_target(c, actor, target)?;
    let ids = c.granted_role_ids(actor, target, inherited)?;
    roles_by_name(c, &ids)
}

pub fn all_assignments(c: Repo) -> Result<Vec<Assignment>> {
    Ok(c.assignments()?)
}

/// The role ids a user holds on `target`: directly, through groups, inherited from the
/// project's domain or parents, and everything those imply.
pub fn effective_role_ids(c: Repo, user_id: &str, target: &Target) -> Result<Vec<String>> {
    let mut actors = vec![Actor::User(user_id.to_string())];
    actors.extend(
        c.user_groups(user_id)?
            .into_iter()
            .map(|g| Actor::Group(g.id)),
    );
    // Where a grant reaches `target` from: the target itself, and (inherited grants only)
    // the project's domain and each parent project.
    let mut places: Vec<(Target, bool)> = vec![(target.clone(), false)];
    if let Target::Project(pid) = target {
        let mut cur = get_project(c, pid)?;
        places.push((Target::Domain(cur.domain_id.clone()), true));
        while let Some(parent) = cur.parent_id.clone().filter(|p| *p != cur.domain_id) {
            places.push((Target::Project(parent.clone()), true));
            cur = get_project(c, &parent)?;
        }
    }
    let mut direct: Vec<String> = Vec::new();
    for actor in &actors {
        for (place, inherited) in &places {
            for r in c.granted_role_ids(actor, place, *inherited)? {
                if !direct.contains(&r) {
                    direct.push(r);
                }
            }
        }
    }
    global_only(c, implied_closure(c, &direct)?)
}

/// Domain-specific roles never reach a token: only the global roles they imply do.
pub fn global_only(c: Repo, roles: Vec<String>) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(roles.len());
    for r in roles {
        if c.role(&r)?.is_some_and(|role| role.domain_id.is_none()) {
            out.push(r);
        }
    }
    Ok(out)
}

/// Projects where the user holds any role.
pub fn user_projects(c: Repo, user_id: &str) -> Result<Vec<Project>> {
    let mut out = Vec::new();
    for p in list_projects(c)? {
        if !effective_role_ids(c, user_id, &Target::Project(p.id.clone()))?.is_empty() {
            out.push(p);
        }
    }
    Ok(out)
}

/// Domains where the user holds any role.
pub fn user_domains(c: Repo, user_id: &str) -> Result<Vec<Domain>> {
    let mut out = Vec::new();
    for d in list_domains(c)? {
        if !effective_role_ids(c, user_id, &Target::Domain(d.id.clone()))?.is_empty() {
            out.push(d);
        }
    }
    Ok(out)
}

pub fn roles_by_ids(c: Repo, ids: &[String]) -> Result<Vec<Role>> {
    ids.iter().map(|id| get_role(c, id)).collect()
}

/// The roles of `ids` that exist, by name.
fn roles_by_name(c: Repo, ids: &[String]) -> Result<Vec<Role>> {
    let mut roles = Vec::with_capacity(ids.len());
    for id in ids {
        roles.extend(c.role(id)?);
    }
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(roles)
}

// ---------------------------------------------------------------- application credentials

#[derive(Debug, Clone, PartialEq)]
pub struct AppCred {
    pub id: String,
    pub user_id: String,
    pub project_id: String,
    pub name: String,
    pub description: Option<String>,
    pub secret_hash: String,
    pub expires_at: Option<String>,
    pub unrestricted: bool,
    /// Role ids the credential may use.
    pub roles: Vec<String>,
    pub access_rules: Value,
    pub created_at: String,
}

pub fn create_app_cred(c: Repo, a: &AppCred) -> Result<()> {
    unique(
        c.insert_app_cred(a)?,
        "application_credential",
        &a.name,
        None,
    )
}

pub fn get_app_cred(c: Repo, id: &str) -> Result<AppCred> {
    found(c.app_cred(id)?, "application credential", id)
}

pub fn find_app_cred(c: Repo, user_id: &str, name: &str) -> Result<AppCred> {
    found(
        c.app_cred_by_name(user_id, name)?,
        "application credential",
        name,
    )
}

pub fn list_app_creds(c: Repo, user_id: &str) -> Result<Vec<AppCred>> {
    Ok(c.app_creds(user_id)?)
}

pub fn delete_app_cred(c: Repo, id: &str) -> Result<()> {
    if !c.delete_app_cred(id)? {
        return Err(Error::NotFound("application credential", id.into()));
    }
    Ok(())
}

// ---------------------------------------------------------------- credentials

/// The type of credential the EC2 API (`OS-EC2`) makes and reads.
pub const EC2: &str = "ec2";

/// A credential Keystone keeps for another service (an EC2 key pair, a certificate …):
/// `blob` is the client's serialized secret, shown back to its owner.
#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    pub id: String,
    pub user_id: String,
    pub project_id: Option<String>,
    pub kind: String,
    pub blob: String,
    /// Attributes Keystone keeps without knowing them.
    pub extra: Map<String, Value>,
}

/// An EC2 blob's access key, which the credential's id is the hash of.
fn ec2_access(blob: &str) -> Result<String> {
    let Ok(doc) = serde_json::from_str::<Value>(blob) else {
        return Err(Error::Invalid("Invalid blob in credential".into()));
    };
    let Some(map) = doc.as_object().filter(|m| !m.is_empty()) else {
        return Err(expecting("blob", "credential"));
    };
    match map.get("access") {
        None | Some(Value::Null) => Err(expecting("access", "credential")),
        Some(Value::String(a)) => Ok(a.clone()),
        Some(other) => Ok(other.to_string()),
    }
}

/// Keystone's `ValidationError(attribute, target)`.
fn expecting(attribute: &str, target: &str) -> Error {
    Error::Invalid(format!("Expecting to find {attribute} in {target}. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error."))
}

/// The id Keystone gives an EC2 credential: the sha256 of its access key, in hex.
pub fn ec2_credential_id(access: &str) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(access.as_bytes()))
}

/// Records a credential: an EC2 one needs a project and takes its id from its access key
/// (whatever id was asked for), others get a new id. Its user and project must exist.
pub fn create_credential(c: Repo, mut cred: Credential) -> Result<Credential> {
    if cred.kind.eq_ignore_ascii_case(EC2) {
        if cred.project_id.is_none() {
            return Err(expecting("project_id", "credential"));
        }
        cred.id = ec2_credential_id(&ec2_access(&cred.blob)?);
    }
    get_user(c, &cred.user_id)?;
    if let Some(p) = &cred.project_id {
        get_project(c, p)?;
    }
    match c.insert_credential(&cred)? {
        Unique::Stored => Ok(cred),
        Unique::Taken => Err(Error::Conflict(format!(
            "Conflict occurred attempting to store credential - Duplicate ID, {}.",
            cred.id
        ))),
    }
}

/// None when there is no such credential (the API decides what the caller hears).
pub fn find_credential(c: Repo, id: &str) -> Result<Option<Credential>> {
    Ok(c.credential(id)?)
}

pub fn list_credentials(
    c: Repo,
    user_id: Option<&str>,
    kind: Option<&str>,
) -> Result<Vec<Credential>> {
    Ok(c.credentials(user_id, kind)?)
}

/// An EC2 credential's new blob keeps the scope the old one was made in (Keystone's
/// `_validate_blob_update_keys`).
pub fn keep_ec2_scope(old: &str, new: &str) -> Result<()> {
    ec2_access(new)?;
    let parse = |b: &str| serde_json::from_str::<Value>(b).unwrap_or(Value::Null);
    let (old, new) = (parse(old), parse(new));
    for key in ["trust_id", "app_cred_id", "access_token_id", "access_id"] {
        if old.get(key) != new.get(key) {
            return Err(Error::Invalid(format!(
                "{key} can not be updated for credential"
            )));
        }
    }
    Ok(())
}

/// Stores a changed credential: one that is (or becomes) EC2 keeps a project.
pub fn update_credential(c: Repo, cred: &Credential) -> Result<()> {
    if cred.kind.eq_ignore_ascii_case(EC2) && cred.project_id.is_none() {
        return Err(expecting("project_id", "credential"));
    }
    get_user(c, &cred.user_id)?;
    if let Some(p) = &cred.project_id {
        get_project(c, p)?;
    }
    c.update_credential(cred)?;
    Ok(())
}

pub fn delete_credential(c: Repo, id: &str) -> Result<()> {
    if !c.delete_credential(id)? {
        return Err(Error::NotFound("credential", id.into()));
    }
    Ok(())
}

// ---------------------------------------------------------------- policies

/// A policy blob Keystone keeps for other services (`/v3/policies`, deprecated since
/// Queens): stored and shown back, never enforced.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub id: String,
    pub kind: String,
    pub blob: String,
    /// Attributes Keystone keeps without knowing them.
    pub extra: Map<String, Value>,
}

/// Keystone's schema for a policy's `type`: at most 255 characters.
fn policy_type(kind: &str) -> Result<()> {
    if kind.chars().count() > 255 {
        return Err(Error::Invalid(format!(
            "Invalid input for field 'type': '{kind}' is too long"
        )));
    }
    Ok(())
}

pub fn create_policy(c: Repo, p: &Policy) -> Result<()> {
    policy_type(&p.kind)?;
    Ok(c.insert_policy(p)?)
}

pub fn get_policy(c: Repo, id: &str) -> Result<Policy> {
    found(c.policy(id)?, "policy", id)
}

pub fn list_policies(c: Repo, kind: Option<&str>) -> Result<Vec<Policy>> {
    Ok(c.policies(kind)?)
}

pub fn update_policy(c: Repo, p: &Policy) -> Result<()> {
    policy_type(&p.kind)?;
    get_policy(c, &p.id)?;
    Ok(c.update_policy(p)?)
}

pub fn delete_policy(c: Repo, id: &str) -> Result<()> {
    if !c.delete_policy(id)? {
        return Err(Error::NotFound("policy", id.into()));
    }
    Ok(())
}

// ---------------------------------------------------------------- OAuth1 consumers

/// An OAuth1 consumer (`OS-OAUTH1`): a client that may ask users to delegate their roles.
/// Its secret is shown when it is made, never after.
#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    pub id: String,
    pub description: Option<String>,
    pub secret: String,
    /// Attributes Keystone keeps without knowing them.
    pub extra: Map<String, Value>,
}

fn consumer_missing() -> Error {
    Error::Missing("Consumer not found".into())
}

/// Records a consumer with a new secret.
pub fn create_consumer(c: Repo, mut consumer: Consumer) -> Result<Consumer> {
    consumer.secret = new_id();
    c.insert_consumer(&consumer)?;
    Ok(consumer)
}

pub fn get_consumer(c: Repo, id: &str) -> Result<Consumer> {
    c.consumer(id)?.ok_or_else(consumer_missing)
}

pub fn list_consumers(c: Repo) -> Result<Vec<Consumer>> {
    Ok(c.consumers()?)
}

/// Only its description and extra attributes change; its secret never does.
pub fn update_consumer(c: Repo, consumer: &Consumer) -> Result<()> {
    get_consumer(c, &consumer.id)?;
    Ok(c.update_consumer(consumer)?)
}

pub fn delete_consumer(c: Repo, id: &str) -> Result<()> {
    if !c.delete_consumer(id)? {
        return Err(consumer_missing());
    }
    Ok(())
}

// ---------------------------------------------------------------- endpoint groups

/// An endpoint group (`OS-EP-FILTER`): a named filter on the catalog's endpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointGroup {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub filters: Map<String, Value>,
}

/// The endpoint attributes a group may filter on.
const ENDPOINT_FILTERS: [&str; 3] = ["service_id", "region_id", "interface"];

/// Keystone's `_require_valid_filter`: only endpoint attributes it knows.
fn valid_filters(g: &EndpointGroup) -> Result<()> {
    if g.filters
        .keys()
        .any(|k| !ENDPOINT_FILTERS.contains(&k.as_str()))
    {
        return Err(expecting(&ENDPOINT_FILTERS.join(" or "), "endpoint_group"));
    }
    Ok(())
}

/// A new group needs at least one filter, and only known ones.
pub fn create_endpoint_group(c: Repo, g: &EndpointGroup) -> Result<()> {
    if g.filters.is_empty() {
        return Err(Error::Invalid(
            "filters field is required and cannot be empty".into(),
        ));
    }
    valid_filters(g)?;
    Ok(c.insert_endpoint_group(g)?)
}

pub fn get_endpoint_group(c: Repo, id: &str) -> Result<EndpointGroup> {
    found(c.endpoint_group(id)?, "endpoint group", id)
}

pub fn list_endpoint_groups(c: Repo) -> Result<Vec<EndpointGroup>> {
    Ok(c.endpoint_groups()?)
}

pub fn update_endpoint_group(c: Repo, g: &EndpointGroup) -> Result<()> {
    valid_filters(g)?;
    get_endpoint_group(c, &g.id)?;
    Ok(c.update_endpoint_group(g)?)
}

pub fn delete_endpoint_group(c: Repo, id: &str) -> Result<()> {
    if !c.delete_endpoint_group(id)? {
        return Err(Error::NotFound("endpoint group", id.into()));
    }
    Ok(())
}

// ---------------------------------------------------------------- domain configuration

/// One option of a domain's configuration (`[group] option = value`); a sensitive one (the
/// LDAP bind password) is kept but never shown.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigOption {
    pub group: String,
    pub option: String,
    pub value: Value,
    pub sensitive: bool,
}

/// The options a domain may set, with Keystone's defaults (`keystone.conf`'s `[identity]`
/// and `[ldap]`): only those the domain-specific identity drivers read.
const CONFIG_DEFAULTS: &[(&str, &[(&str, DefaultValue)])] = &[
    (
        "identity",
        &[
            ("driver", DefaultValue::Str("sql")),
            ("list_limit", DefaultValue::None),
        ],
    ),
    (
        "ldap",
        &[
            ("url", DefaultValue::Str("ldap://localhost")),
            ("user", DefaultValue::None),
            ("suffix", DefaultValue::Str("cn=example,cn=com")),
            ("query_scope", DefaultValue::Str("one")),
            ("page_size", DefaultValue::Int(0)),
            ("alias_dereferencing", DefaultValue::Str("default")),
            ("debug_level", DefaultValue::None),
            ("chase_referrals", DefaultValue::None),
            ("user_tree_dn", DefaultValue::None),
            ("user_filter", DefaultValue::None),
            ("user_objectclass", DefaultValue::Str("inetOrgPerson")),
            ("user_id_attribute", DefaultValue::Str("cn")),
            ("user_name_attribute", DefaultValue::Str("sn")),
            ("user_mail_attribute", DefaultValue::Str("mail")),
            (
                "user_description_attribute",
                DefaultValue::Str("description"),
            ),
            ("user_pass_attribute", DefaultValue::Str("userPassword")),
            ("user_enabled_attribute", DefaultValue::Str("enabled")),
            ("user_enabled_invert", DefaultValue::Bool(false)),
            ("user_enabled_mask", DefaultValue::Int(0)),
            ("user_enabled_default", DefaultValue::Str("True")),
            (
                "user_attribute_ignore",
                DefaultValue::List(&["default_project_id"]),
            ),
            ("user_default_project_id_attribute", DefaultValue::None),
            ("user_enabled_emulation", DefaultValue::Bool(false)),
            ("user_enabled_emulation_dn", DefaultValue::None),
            (
                "user_enabled_emulation_use_group_config",
                DefaultValue::Bool(false),
            ),
            ("user_additional_attribute_mapping", DefaultValue::List(&[])),
            ("group_tree_dn", DefaultValue::None),
            ("group_filter", DefaultValue::None),
            ("group_objectclass", DefaultValue::Str("groupOfNames")),
            ("group_id_attribute", DefaultValue::Str("cn")),
            ("group_name_attribute", DefaultValue::Str("ou")),
            ("group_members_are_ids", DefaultValue::Bool(false)),
            ("group_member_attribute", DefaultValue::Str("member")),
            ("group_desc_attribute", DefaultValue::Str("description")),
            ("group_attribute_ignore", DefaultValue::List(&[])),
            (
                "group_additional_attribute_mapping",
                DefaultValue::List(&[]),
            ),
            ("tls_cacertfile", DefaultValue::None),
            ("tls_cacertdir", DefaultValue::None),
            ("use_tls", DefaultValue::Bool(false)),
            ("tls_req_cert", DefaultValue::Str("demand")),
            ("use_pool", DefaultValue::Bool(true)),
            ("pool_size", DefaultValue::Int(10)),
            ("pool_retry_max", DefaultValue::Int(3)),
            ("pool_retry_delay", DefaultValue::Float(0.1)),
            ("pool_connection_timeout", DefaultValue::Int(-1)),
            ("pool_connection_lifetime", DefaultValue::Int(600)),
            ("use_auth_pool", DefaultValue::Bool(true)),
            ("auth_pool_size", DefaultValue::Int(100)),
            ("auth_pool_connection_lifetime", DefaultValue::Int(60)),
        ],
    ),
];

/// Options a domain may set that are never shown back.
const CONFIG_SENSITIVE: &[(&str, &str)] = &[("ldap", "password")];

/// The group whose two password options any domain's config shows (the default domain's).
pub const SECURITY_COMPLIANCE: &str = "security_compliance";

/// A `keystone.conf` default, as a constant.
#[derive(Debug, Clone, Copy)]
enum DefaultValue {
    None,
    Str(&'static str),
    Int(i64),
    Float(f64),
    Bool(bool),
    List(&'static [&'static str]),
}

impl DefaultValue {
    fn json(self) -> Value {
        match self {
            DefaultValue::None => Value::Null,
            DefaultValue::Str(s) => Value::from(s),
            DefaultValue::Int(i) => Value::from(i),
            DefaultValue::Float(f) => Value::from(f),
            DefaultValue::Bool(b) => Value::from(b),
            DefaultValue::List(l) => Value::from(l.to_vec()),
        }
    }
}

fn whitelisted(group: &str) -> Option<&'static [(&'static str, DefaultValue)]> {
    CONFIG_DEFAULTS
        .iter()
        .find(|(g, _)| *g == group)
        .map(|(_, opts)| *opts)
}

fn is_sensitive(group: &str, option: &str) -> bool {
    CONFIG_SENSITIVE.contains(&(group, option))
}

/// Keystone's `InvalidDomainConfig` (403).
fn invalid_config(reason: &str) -> Error {
    Error::Forbidden(format!("Invalid domain specific configuration: {reason}."))
}

/// Keystone's `DomainConfigNotFound`.
fn config_not_found(domain_id: &str, group: Option<&str>, option: Option<&str>) -> Error {
    let what = match (group, option) {
        (Some(g), Some(o)) => format!("option {o} in group {g}"),
        (Some(g), None) => format!("group {g}"),
        _ => "any options".to_string(),
    };
    Error::Missing(format!(
        "Could not find {what} in domain configuration for domain {domain_id}."
    ))
}

fn valid_group_and_option(group: Option<&str>, option: Option<&str>) -> Result<()> {
    let Some(group) = group else {
        return Ok(());
    };
    let Some(known) = whitelisted(group) else {
        return Err(invalid_config(&format!(
            "Group {group} is not supported for domain specific configurations"
        )));
    };
    if let Some(option) = option {
        if !known.iter().any(|(o, _)| *o == option) && !is_sensitive(group, option) {
            return Err(invalid_config(&format!(
                "Option {option} in group {group} is not supported for domain specific configurations"
            )));
        }
    }
    Ok(())
}

/// A config in a request: groups of options, each a known one.
fn valid_config(config: &Map<String, Value>) -> Result<()> {
    if config.is_empty() {
        return Err(invalid_config("No options specified"));
    }
    for (group, options) in config {
        let Some(options) = options.as_object().filter(|o| !o.is_empty()) else {
            return Err(invalid_config(&format!(
                "The value of group {group} specified in the config should be a dictionary of options"
            )));
        };
        for option in options.keys() {
            valid_group_and_option(Some(group), Some(option))?;
        }
    }
    Ok(())
}

/// Options as Keystone shows them: `{group: {option: value}}`, or `{option: value}` when one
/// option was asked for.
fn config_json(options: &[ConfigOption], one: bool) -> Value {
    let mut out = Map::new();
    for o in options {
        if one {
            out.insert(o.option.clone(), o.value.clone());
        } else if let Value::Object(g) = out
            .entry(o.group.clone())
            .or_insert_with(|| Value::Object(Map::new()))
        {
            g.insert(o.option.clone(), o.value.clone());
        }
    }
    Value::Object(out)
}

/// The options set for a domain, of one group and one option when given.
fn config_options(
    c: Repo,
    domain_id: &str,
    group: Option<&str>,
    option: Option<&str>,
    sensitive: bool,
) -> Result<Vec<ConfigOption>> {
    Ok(c.domain_config(domain_id)?
        .into_iter()
        .filter(|o| sensitive || !o.sensitive)
        .filter(|o| group.is_none_or(|g| o.group == g))
        .filter(|o| option.is_none_or(|x| o.option == x))
        .collect())
}

/// Python's truth of a value: Keystone treats an empty or zero option as not set.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// What a domain's config shows (never its sensitive options); 404 when nothing matches.
pub fn get_domain_config(
    c: Repo,
    domain_id: &str,
    group: Option<&str>,
    option: Option<&str>,
) -> Result<Value> {
    valid_group_and_option(group, option)?;
    let options = config_options(c, domain_id, group, option, false)?;
    if options.is_empty() {
        return Err(config_not_found(domain_id, group, option));
    }
    Ok(config_json(&options, option.is_some()))
}

/// Replaces a domain's whole config; also says whether it had none before (Keystone's 201).
pub fn create_domain_config(
    c: Repo,
    domain_id: &str,
    config: &Map<String, Value>,
) -> Result<(Value, bool)> {
    get_domain(c, domain_id)?;
    valid_config(config)?;
    let first = c.domain_config(domain_id)?.is_empty();
    c.delete_domain_config(domain_id, None, None)?;
    set_config(c, domain_id, config)?;
    let shown = config_options(c, domain_id, None, None, false)?;
    Ok((config_json(&shown, false), first))
}

fn set_config(c: Repo, domain_id: &str, config: &Map<String, Value>) -> Result<()> {
    for (group, options) in config {
        for (option, value) in options.as_object().into_iter().flatten() {
            c.set_domain_config(
                domain_id,
                &ConfigOption {
                    group: group.clone(),
                    option: option.clone(),
                    value: value.clone(),
                    sensitive: is_sensitive(group, option),
                },
            )?;
        }
    }
    Ok(())
}

/// Merges into a domain's config: the whole of it, one group (which must be set, and the
/// only one given) or one option (`config` is then `{option: value}`). Shows the result.
pub fn update_domain_config(
    c: Repo,
    domain_id: &str,
    config: &Map<String, Value>,
    group: Option<&str>,
    option: Option<&str>,
) -> Result<Value> {
    get_domain(c, domain_id)?;
    let update = match (group, option) {
        (Some(g), Some(_)) => {
            let mut m = Map::new();
            m.insert(g.to_string(), Value::Object(config.clone()));
            m
        }
        _ => config.clone(),
    };
    valid_config(&update)?;
    valid_group_and_option(group, option)?;
    if let Some(group) = group {
        let options_in = |g: &str| update.get(g).and_then(Value::as_object).map_or(0, Map::len);
        if update.len() != 1 || (option.is_some() && options_in(group) != 1) {
            return Err(invalid_config(&match option {
                Some(o) => format!("Trying to update option {o} in group {group}, so that, and only that, option must be specified  in the config"),
                None => format!("Trying to update group {group}, so that, and only that, group must be specified in the config"),
            }));
        }
        if !update.contains_key(group) {
            let other = update.keys().next().cloned().unwrap_or_default();
            return Err(invalid_config(&format!(
                "request to update group {group}, but config provided contains group {other} instead"
            )));
        }
        if let Some(o) = option {
            let given = &update[group];
            if given.get(o).is_none() {
                let other = given
                    .as_object()
                    .and_then(|m| m.keys().next().cloned())
                    .unwrap_or_default();
                return Err(invalid_config(&format!(
                    "Trying to update option {o} in group {group}, but config provided contains option {other} instead"
                )));
            }
        }
        if config_options(c, domain_id, Some(group), option, true)?.is_empty() {
            return Err(config_not_found(domain_id, Some(group), option));
        }
    }
    set_config(c, domain_id, &update)?;
    get_domain_config(c, domain_id, None, None)
}

/// Removes a domain's whole config, a group or an option; a group or option that is not
/// set is 404.
pub fn delete_domain_config(
    c: Repo,
    domain_id: &str,
    group: Option<&str>,
    option: Option<&str>,
) -> Result<()> {
    get_domain(c, domain_id)?;
    valid_group_and_option(group, option)?;
    if let Some(g) = group {
        let current = config_options(c, domain_id, Some(g), None, true)?;
        if current.is_empty() {
            return Err(config_not_found(domain_id, Some(g), None));
        }
        if let Some(o) = option {
            if !current.iter().any(|x| x.option == o && truthy(&x.value)) {
                return Err(config_not_found(domain_id, Some(g), Some(o)));
            }
        }
    }
    c.delete_domain_config(domain_id, group, option)?;
    Ok(())
}

/// The defaults a domain's config overrides: all groups, one, or one option.
pub fn default_domain_config(group: Option<&str>, option: Option<&str>) -> Result<Value> {
    valid_group_and_option(group, option)?;
    let options: Vec<ConfigOption> = CONFIG_DEFAULTS
        .iter()
        .filter(|(g, _)| group.is_none_or(|x| *g == x))
        .flat_map(|(g, opts)| {
            opts.iter().map(|(o, v)| ConfigOption {
                group: g.to_string(),
                option: o.to_string(),
                value: v.json(),
                sensitive: false,
            })
        })
        .filter(|o| option.is_none_or(|x| o.option == x))
        .collect();
    if let (Some(g), Some(o)) = (group, option) {
        if options.is_empty() {
            return Err(invalid_config(&format!(
                "Reading the default for option {o} in group {g} is not supported"
            )));
        }
    }
    Ok(config_json(&options, option.is_some()))
}

/// The `security_compliance` group: its password rules, readable only through the default
/// domain (this cloud sets none).
pub fn security_compliance_config(domain_id: &str, option: Option<&str>) -> Result<Value> {
    if domain_id != DEFAULT_DOMAIN {
        return Err(invalid_config("Reading security compliance information for any domain other than the default domain is not allowed or supported."));
    }
    const READABLE: [&str; 2] = ["password_regex", "password_regex_description"];
    match option {
        Some(o) if !READABLE.contains(&o) => Err(invalid_config("Reading security compliance values other than password_regex and password_regex_description is not allowed.")),
        Some(o) => Ok(serde_json::json!({ o: null })),
        None => Ok(serde_json::json!({
            SECURITY_COMPLIANCE: {"password_regex": null, "password_regex_description": null}
        })),
    }
}

// ---------------------------------------------------------------- catalog additions

/// A region an admin created, beside the configured one.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub id: String,
    pub description: String,
    pub parent_region_id: Option<String>,
}

pub fn create_region(c: Repo, r: &Region) -> Result<()> {
    if let Some(parent) = &r.parent_region_id {
        get_region(c, parent)?;
    }
    match c.insert_region(r)? {
        Unique::Stored => Ok(()),
        Unique::Taken => Err(Error::Conflict(format!(
            "Conflict occurred attempting to store region - Duplicate ID, {}.",
            r.id
        ))),
    }
}

pub fn get_region(c: Repo, id: &str) -> Result<Region> {
    found(c.region(id)?, "region", id)
}

pub fn list_regions(c: Repo) -> Result<Vec<Region>> {
    Ok(c.regions()?)
}

pub fn update_region(c: Repo, r: &Region) -> Result<()> {
    let mut parent = r.parent_region_id.clone();
    while let Some(p) = parent {
        if p == r.id {
            return Err(Error::Invalid(format!(
                "The specified parent region {} would create a circular region hierarchy.",
                r.parent_region_id.clone().unwrap_or_default()
            )));
        }
        parent = get_region(c, &p)?.parent_region_id;
    }
    Ok(c.update_region(r)?)
}

pub fn delete_region(c: Repo, id: &str) -> Result<()> {
    get_region(c, id)?;
    if c.child_regions(id)? > 0 {
        return Err(Error::Forbidden(format!("Unable to delete region {id} because it or its child regions have associated endpoints.")));
    }
    Ok(c.delete_region(id)?)
}

/// A service an admin registered (another cloud's, say), beside the ones this host serves.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub id: String,
    pub kind: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: bool,
}

pub fn create_service(c: Repo, s: &Service) -> Result<()> {
    Ok(c.insert_service(s)?)
}

pub fn get_service(c: Repo, id: &str) -> Result<Service> {
    found(c.service(id)?, "service", id)
}

pub fn list_services(c: Repo) -> Result<Vec<Service>> {
    Ok(c.services()?)
}

pub fn update_service(c: Repo, s: &Service) -> Result<()> {
    Ok(c.update_service(s)?)
}

pub fn delete_service(c: Repo, id: &str) -> Result<()> {
    get_service(c, id)?;
    Ok(c.delete_service(id)?)
}

/// An endpoint of a registered service.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub id: String,
    pub service_id: String,
    pub interface: String,
    pub region_id: Option<String>,
    pub url: String,
    pub enabled: bool,
}

fn endpoint_service(c: Repo, e: &Endpoint) -> Result<()> {
    get_service(c, &e.service_id)
        .map(drop)
        .map_err(|_| Error::Invalid(format!("Could not find service: {}.", e.service_id)))
}

pub fn create_endpoint(c: Repo, e: &Endpoint) -> Result<()> {
    endpoint_service(c, e)?;
    Ok(c.insert_endpoint(e)?)
}

pub fn get_endpoint(c: Repo, id: &str) -> Result<Endpoint> {
    found(c.endpoint(id)?, "endpoint", id)
}

pub fn list_endpoints(c: Repo) -> Result<Vec<Endpoint>> {
    Ok(c.endpoints()?)
}

pub fn update_endpoint(c: Repo, e: &Endpoint) -> Result<()> {
    endpoint_service(c, e)?;
    Ok(c.update_endpoint(e)?)
}

pub fn delete_endpoint(c: Repo, id: &str) -> Result<()> {
    get_endpoint(c, id)?;
    Ok(c.delete_endpoint(id)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn seeded(store: &Store) {
        store
            .write(|tx| -> Result<()> {
                create_domain(
                    tx,
                    &Domain {
                        id: DEFAULT_DOMAIN.into(),
                        name: "Default".into(),
                        description: String::new(),
                        enabled: true,
                        tags: vec![],
                    },
                )?;
                for (id, name) in [
                    ("r-admin", "admin"),
                    ("r-member", "member"),
                    ("r-reader", "reader"),
                ] {
                    create_role(
                        tx,
                        &Role {
                            id: id.into(),
                            name: name.into(),
                            domain_id: None,
                            description: None,
                        },
                    )?;
                }
                add_implied_role(tx, "r-admin", "r-member")?;
                add_implied_role(tx, "r-member", "r-reader")?;
                let project = |id: &str, parent: &str| Project {
                    id: id.into(),
                    name: id.into(),
                    domain_id: DEFAULT_DOMAIN.into(),
                    parent_id: Some(parent.into()),
                    description: String::new(),
                    enabled: true,
                    tags: vec![],
                    extra: Map::new(),
                };
                create_project(tx, &project("p1", DEFAULT_DOMAIN))?;
                create_project(tx, &project("p1a", "p1"))?;
                create_user(
                    tx,
                    &User {
                        id: "u1".into(),
                        name: "alice".into(),
                        domain_id: DEFAULT_DOMAIN.into(),
                        password_hash: None,
                        enabled: true,
                        default_project_id: None,
                        extra: Map::new(),
                        created_at: "now".into(),
                        password_changed_at: None,
                    },
                )?;
                create_group(
                    tx,
                    &Group {
                        id: "g1".into(),
                        name: "devs".into(),
                        domain_id: DEFAULT_DOMAIN.into(),
                        description: String::new(),
                    },
                )?;
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn implied_roles_are_transitive() {
        let store = Store::memory();
        seeded(&store);
        let roles = store
            .read(|c| implied_closure(c, &["r-admin".into()]))
            .unwrap();
        assert_eq!(roles, vec!["r-admin", "r-member", "r-reader"]);
    }

    #[test]
    fn a_cycle_of_implications_is_refused() {
        let store = Store::memory();
        seeded(&store);
        let err = store
            .write(|tx| add_implied_role(tx, "r-reader", "r-admin"))
            .unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{err:?}");
    }

    #[test]
    fn roles_come_through_groups_and_inheritance() {
        let store = Store::memory();
        seeded(&store);
        store
            .write(|tx| -> Result<()> {
                add_member(tx, "g1", "u1")?;
                grant(
                    tx,
                    &Assignment {
                        actor: Actor::Group("g1".into()),
                        target: Target::Project("p1".into()),
                        role_id: "r-member".into(),
                        inherited: false,
                    },
                )?;
                grant(
                    tx,
                    &Assignment {
                        actor: Actor::User("u1".into()),
                        target: Target::Project("p1".into()),
                        role_id: "r-admin".into(),
                        inherited: true,
                    },
                )
            })
            .unwrap();
        let on_p1 = store
            .read(|c| effective_role_ids(c, "u1", &Target::Project("p1".into())))
            .unwrap();
        assert_eq!(
            on_p1,
            vec!["r-member", "r-reader"],
            "inherited grants do not apply to the project itself"
        );
        let on_child = store
            .read(|c| effective_role_ids(c, "u1", &Target::Project("p1a".into())))
            .unwrap();
        assert_eq!(on_child, vec!["r-admin", "r-member", "r-reader"]);
    }

    #[test]
    fn duplicate_names_are_409_and_change_nothing() {
        let store = Store::memory();
        seeded(&store);
        let err = store
            .write(|tx| -> Result<()> {
                create_group(
                    tx,
                    &Group {
                        id: "g2".into(),
                        name: "other".into(),
                        domain_id: DEFAULT_DOMAIN.into(),
                        description: String::new(),
                    },
                )?;
                create_group(
                    tx,
                    &Group {
                        id: "g3".into(),
                        name: "devs".into(),
                        domain_id: DEFAULT_DOMAIN.into(),
                        description: String::new(),
                    },
                )
            })
            .unwrap_err();
        assert!(
            matches!(&err, Error::Conflict(m) if m.contains("Duplicate entry found with name devs")),
            "{err:?}"
        );
        let groups = store.read(|c| list_groups(c)).unwrap();
        assert_eq!(groups.len(), 1, "the transaction rolled back");
    }

    #[test]
    fn policies_are_kept_listed_by_type_changed_and_deleted() {
        let store = Store::memory();
        let policy = |id: &str, kind: &str| Policy {
            id: id.into(),
            kind: kind.into(),
            blob: format!("{{\"{id}\": \"rule:admin\"}}"),
            extra: Map::new(),
        };
        store
            .write(|tx| -> Result<()> {
                create_policy(tx, &policy("pol1", "application/json"))?;
                create_policy(tx, &policy("pol2", "text/plain"))
            })
            .unwrap();
        let json = store
            .read(|c| list_policies(c, Some("application/json")))
            .unwrap();
        assert_eq!(json, vec![policy("pol1", "application/json")]);
        assert_eq!(store.read(|c| list_policies(c, None)).unwrap().len(), 2);
        let too_long = policy("pol3", &"t".repeat(256));
        assert!(matches!(
            store.write(|tx| create_policy(tx, &too_long)),
            Err(Error::Invalid(_))
        ));
        let mut changed = policy("pol2", "application/yaml");
        changed.extra.insert("note".into(), Value::from("kept"));
        store.write(|tx| update_policy(tx, &changed)).unwrap();
        assert_eq!(store.read(|c| get_policy(c, "pol2")).unwrap(), changed);
        store.write(|tx| delete_policy(tx, "pol2")).unwrap();
        assert!(matches!(
            store.write(|tx| delete_policy(tx, "pol2")),
            Err(Error::NotFound("policy", _))
        ));
        assert!(matches!(
            store.write(|tx| update_policy(tx, &changed)),
            Err(Error::NotFound("policy", _))
        ));
    }

    #[test]
    fn a_consumer_gets_a_secret_that_an_update_keeps() {
        let store = Store::memory();
        let made = store
            .write(|tx| {
                create_consumer(
                    tx,
                    Consumer {
                        id: "c1".into(),
                        description: Some("app".into()),
                        secret: String::new(),
                        extra: Map::new(),
                    },
                )
            })
            .unwrap();
        assert_eq!(made.secret.len(), 32, "a fresh secret");
        let mut changed = made.clone();
        changed.description = None;
        changed.secret = "ignored".into();
        store.write(|tx| update_consumer(tx, &changed)).unwrap();
        let read = store.read(|c| get_consumer(c, "c1")).unwrap();
        assert_eq!(read.description, None);
        assert_eq!(read.secret, made.secret, "the secret never changes");
        assert_eq!(store.read(|c| list_consumers(c)).unwrap().len(), 1);
        store.write(|tx| delete_consumer(tx, "c1")).unwrap();
        assert!(matches!(
            store.read(|c| get_consumer(c, "c1")),
            Err(Error::Missing(m)) if m == "Consumer not found"
        ));
        assert!(matches!(
            store.write(|tx| delete_consumer(tx, "c1")),
            Err(Error::Missing(_))
        ));
    }

    #[test]
    fn an_endpoint_group_filters_on_endpoint_attributes_only() {
        let store = Store::memory();
        let group = |filters: Value| EndpointGroup {
            id: "eg1".into(),
            name: "public".into(),
            description: None,
            filters: filters.as_object().cloned().unwrap_or_default(),
        };
        assert!(matches!(
            store.write(|tx| create_endpoint_group(tx, &group(serde_json::json!({})))),
            Err(Error::Invalid(m)) if m == "filters field is required and cannot be empty"
        ));
        assert!(matches!(
            store.write(|tx| create_endpoint_group(tx, &group(serde_json::json!({"url": "x"})))),
            Err(Error::Invalid(m)) if m.starts_with("Expecting to find service_id or region_id or interface in endpoint_group.")
        ));
        let made = group(serde_json::json!({"interface": "public"}));
        store.write(|tx| create_endpoint_group(tx, &made)).unwrap();
        assert_eq!(store.read(|c| get_endpoint_group(c, "eg1")).unwrap(), made);
        let changed = group(serde_json::json!({"service_id": "s1", "region_id": "r1"}));
        store
            .write(|tx| update_endpoint_group(tx, &changed))
            .unwrap();
        assert_eq!(
            store.read(|c| list_endpoint_groups(c)).unwrap(),
            vec![changed]
        );
        store.write(|tx| delete_endpoint_group(tx, "eg1")).unwrap();
        assert!(matches!(
            store.read(|c| get_endpoint_group(c, "eg1")),
            Err(Error::NotFound("endpoint group", _))
        ));
    }

    #[test]
    fn a_project_acting_as_a_domain_is_a_root_domain() {
        let store = Store::memory();
        seeded(&store);
        let d = Domain {
            id: "d2".into(),
            name: "acme".into(),
            description: String::new(),
            enabled: true,
            tags: vec![],
        };
        for (domain, parent) in [(Some(DEFAULT_DOMAIN), None), (None, Some("p1"))] {
            assert!(matches!(
                store.write(|tx| create_domain_project(tx, &d, domain, parent)),
                Err(Error::Invalid(m)) if m == "only root projects are allowed to act as domains."
            ));
        }
        store
            .write(|tx| create_domain_project(tx, &d, None, None))
            .unwrap();
        assert!(matches!(
            store.write(|tx| create_domain_project(tx, &Domain { id: "d3".into(), ..d.clone() }, None, None)),
            Err(Error::Conflict(m)) if m.contains("two projects acting as domains with the same name: acme")
        ));
        assert_eq!(
            store.read(|c| get_project_or_domain(c, "d2")).unwrap(),
            ProjectOrDomain::Domain(d.clone())
        );
        assert!(matches!(
            store.read(|c| get_project_or_domain(c, "p1")).unwrap(),
            ProjectOrDomain::Project(p) if p.id == "p1"
        ));
        assert!(matches!(
            store.read(|c| get_project_or_domain(c, "nope")),
            Err(Error::NotFound("project", _))
        ));
        assert!(store.read(|c| list_domains(c)).unwrap().contains(&d));
    }

    #[test]
    fn a_domain_config_keeps_known_options_and_hides_sensitive_ones() {
        let store = Store::memory();
        seeded(&store);
        let config = |v: Value| v.as_object().cloned().unwrap();
        let ldap = serde_json::json!({
            "identity": {"driver": "ldap"},
            "ldap": {"url": "ldap://x/", "password": "s3cret"}
        });
        let (shown, first) = store
            .write(|tx| create_domain_config(tx, DEFAULT_DOMAIN, &config(ldap.clone())))
            .unwrap();
        assert!(first);
        assert_eq!(
            shown,
            serde_json::json!({"identity": {"driver": "ldap"}, "ldap": {"url": "ldap://x/"}}),
            "the password is never shown"
        );
        let (_, first) = store
            .write(|tx| create_domain_config(tx, DEFAULT_DOMAIN, &config(ldap.clone())))
            .unwrap();
        assert!(!first, "a second create replaces (200)");
        for bad in [
            serde_json::json!({}),
            serde_json::json!({"oops": {"x": 1}}),
            serde_json::json!({"ldap": {"nope": 1}}),
            serde_json::json!({"ldap": {}}),
        ] {
            assert!(
                matches!(
                    store.write(|tx| create_domain_config(tx, DEFAULT_DOMAIN, &config(bad.clone()))),
                    Err(Error::Forbidden(m)) if m.starts_with("Invalid domain specific configuration: ")
                ),
                "{bad}"
            );
        }
        assert_eq!(
            store
                .read(|c| get_domain_config(c, DEFAULT_DOMAIN, Some("ldap"), Some("url")))
                .unwrap(),
            serde_json::json!({"url": "ldap://x/"})
        );
        // A group update needs the group set already, and only that group.
        let shown = store
            .write(|tx| {
                update_domain_config(
                    tx,
                    DEFAULT_DOMAIN,
                    &config(serde_json::json!({"identity": {"driver": "sql", "list_limit": 5}})),
                    Some("identity"),
                    None,
                )
            })
            .unwrap();
        assert_eq!(
            shown["identity"],
            serde_json::json!({"driver": "sql", "list_limit": 5})
        );
        assert!(matches!(
            store.write(|tx| update_domain_config(tx, DEFAULT_DOMAIN, &config(serde_json::json!({"ldap": {"url": "y"}})), Some("identity"), None)),
            Err(Error::Forbidden(m)) if m.contains("request to update group identity, but config provided contains group ldap instead")
        ));
        store
            .write(|tx| delete_domain_config(tx, DEFAULT_DOMAIN, Some("identity"), Some("driver")))
            .unwrap();
        assert!(matches!(
            store.read(|c| get_domain_config(c, DEFAULT_DOMAIN, Some("identity"), Some("driver"))),
            Err(Error::Missing(m)) if m == "Could not find option driver in group identity in domain configuration for domain default."
        ));
        store
            .write(|tx| delete_domain_config(tx, DEFAULT_DOMAIN, None, None))
            .unwrap();
        assert!(matches!(
            store.read(|c| get_domain_config(c, DEFAULT_DOMAIN, None, None)),
            Err(Error::Missing(m)) if m.starts_with("Could not find any options")
        ));
        assert!(matches!(
            store.write(|tx| delete_domain_config(tx, DEFAULT_DOMAIN, Some("ldap"), None)),
            Err(Error::Missing(_))
        ));
    }

    #[test]
    fn domain_config_defaults_are_keystones() {
        let all = default_domain_config(None, None).unwrap();
        assert_eq!(all["identity"]["driver"], "sql");
        assert!(all["identity"]["list_limit"].is_null());
        assert_eq!(all["ldap"]["url"], "ldap://localhost");
        assert!(
            all["ldap"].get("password").is_none(),
            "not a whitelisted option"
        );
        assert_eq!(
            default_domain_config(Some("ldap"), Some("pool_size")).unwrap(),
            serde_json::json!({"pool_size": 10})
        );
        assert!(matches!(
            default_domain_config(Some("ldap"), Some("password")),
            Err(Error::Forbidden(m)) if m.contains("Reading the default for option password in group ldap is not supported")
        ));
        assert!(matches!(
            security_compliance_config("other", None),
            Err(Error::Forbidden(_))
        ));
    }

    #[test]
    fn a_project_with_children_is_not_deleted() {
        let store = Store::memory();
        seeded(&store);
        assert!(matches!(
            store.write(|tx| delete_project(tx, "p1")),
            Err(Error::Forbidden(_))
        ));
        store.write(|tx| delete_project(tx, "p1a")).unwrap();
        store.write(|tx| delete_project(tx, "p1")).unwrap();
    }
}
