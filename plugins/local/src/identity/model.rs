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
