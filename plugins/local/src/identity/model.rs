//! Identity's state and its rules: domains, projects, users, groups, roles and who holds
//! which role where. Knows nothing of HTTP; every change runs inside the caller's transaction.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{Map, Value};

use crate::store::{is_duplicate, StoreError};

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

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Store(e.into())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

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

/// Maps a UNIQUE violation to Keystone's 409; other errors pass through.
fn dup(e: rusqlite::Error, kind: &str, name: &str, scope: Option<&str>) -> Error {
    if is_duplicate(&e) {
        conflict(kind, name, scope)
    } else {
        e.into()
    }
}

fn json_col(row: &Row, idx: &str) -> rusqlite::Result<Value> {
    let text: String = row.get(idx)?;
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
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

fn domain_row(r: &Row) -> rusqlite::Result<Domain> {
    Ok(Domain {
        id: r.get("id")?,
        name: r.get("name")?,
        description: r.get("description")?,
        enabled: r.get("enabled")?,
        tags: serde_json::from_value(json_col(r, "tags")?).unwrap_or_default(),
    })
}

pub fn create_domain(c: &Connection, d: &Domain) -> Result<()> {
    c.execute(
        "INSERT INTO domains (id, name, description, enabled, tags) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            d.id,
            d.name,
            d.description,
            d.enabled,
            serde_json::to_string(&d.tags).unwrap_or_default()
        ],
    )
    .map_err(|e| dup(e, "domain", &d.name, None))?;
    Ok(())
}

pub fn get_domain(c: &Connection, id: &str) -> Result<Domain> {
    c.query_row("SELECT * FROM domains WHERE id = ?1", [id], domain_row)
        .optional()?
        .ok_or_else(|| Error::NotFound("domain", id.into()))
}

pub fn find_domain_by_name(c: &Connection, name: &str) -> Result<Domain> {
    c.query_row("SELECT * FROM domains WHERE name = ?1", [name], domain_row)
        .optional()?
        .ok_or_else(|| Error::NotFound("domain", name.into()))
}

pub fn list_domains(c: &Connection) -> Result<Vec<Domain>> {
    let mut st = c.prepare("SELECT * FROM domains ORDER BY name")?;
    let rows = st
        .query_map([], domain_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn update_domain(c: &Connection, d: &Domain) -> Result<()> {
    c.execute(
        "UPDATE domains SET name = ?2, description = ?3, enabled = ?4, tags = ?5 WHERE id = ?1",
        params![
            d.id,
            d.name,
            d.description,
            d.enabled,
            serde_json::to_string(&d.tags).unwrap_or_default()
        ],
    )
    .map_err(|e| dup(e, "domain", &d.name, None))?;
    Ok(())
}

pub fn delete_domain(c: &Connection, id: &str) -> Result<()> {
    let d = get_domain(c, id)?;
    if d.enabled {
        return Err(Error::Forbidden(
            "Cannot delete a domain that is enabled, please disable it first.".into(),
        ));
    }
    if id == DEFAULT_DOMAIN {
        return Err(Error::Forbidden("Cannot delete the default domain.".into()));
    }
    for sql in [
        "DELETE FROM assignments WHERE target_type = 'project' AND target_id IN (SELECT id FROM projects WHERE domain_id = ?1)",
        "DELETE FROM assignments WHERE target_type = 'domain' AND target_id = ?1",
        "DELETE FROM assignments WHERE actor_type = 'user' AND actor_id IN (SELECT id FROM users WHERE domain_id = ?1)",
        "DELETE FROM assignments WHERE actor_type = 'group' AND actor_id IN (SELECT id FROM groups WHERE domain_id = ?1)",
        "DELETE FROM users WHERE domain_id = ?1",
        "DELETE FROM groups WHERE domain_id = ?1",
        "DELETE FROM projects WHERE domain_id = ?1",
        "DELETE FROM roles WHERE domain_id = ?1",
        "DELETE FROM domains WHERE id = ?1",
    ] {
        c.execute(sql, [id])?;
    }
    Ok(())
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

fn project_row(r: &Row) -> rusqlite::Result<Project> {
    Ok(Project {
        id: r.get("id")?,
        name: r.get("name")?,
        domain_id: r.get("domain_id")?,
        parent_id: r.get("parent_id")?,
        description: r.get("description")?,
        enabled: r.get("enabled")?,
        tags: serde_json::from_value(json_col(r, "tags")?).unwrap_or_default(),
        extra: serde_json::from_value(json_col(r, "extra")?).unwrap_or_default(),
    })
}

pub fn create_project(c: &Connection, p: &Project) -> Result<()> {
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
    c.execute(
        "INSERT INTO projects (id, name, domain_id, parent_id, description, enabled, tags, extra) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            p.id,
            p.name,
            p.domain_id,
            p.parent_id,
            p.description,
            p.enabled,
            serde_json::to_string(&p.tags).unwrap_or_default(),
            Value::Object(p.extra.clone()).to_string()
        ],
    )
    .map_err(|e| dup(e, "project", &p.name, Some(&p.domain_id)))?;
    Ok(())
}

pub fn get_project(c: &Connection, id: &str) -> Result<Project> {
    c.query_row("SELECT * FROM projects WHERE id = ?1", [id], project_row)
        .optional()?
        .ok_or_else(|| Error::NotFound("project", id.into()))
}

pub fn find_project(c: &Connection, name: &str, domain_id: &str) -> Result<Project> {
    c.query_row(
        "SELECT * FROM projects WHERE name = ?1 AND domain_id = ?2",
        [name, domain_id],
        project_row,
    )
    .optional()?
    .ok_or_else(|| Error::NotFound("project", name.into()))
}

pub fn list_projects(c: &Connection) -> Result<Vec<Project>> {
    let mut st = c.prepare("SELECT * FROM projects ORDER BY name, id")?;
    let rows = st
        .query_map([], project_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn update_project(c: &Connection, p: &Project) -> Result<()> {
    c.execute(
        "UPDATE projects SET name = ?2, description = ?3, enabled = ?4, tags = ?5, extra = ?6 WHERE id = ?1",
        params![
            p.id,
            p.name,
            p.description,
            p.enabled,
            serde_json::to_string(&p.tags).unwrap_or_default(),
            Value::Object(p.extra.clone()).to_string()
        ],
    )
    .map_err(|e| dup(e, "project", &p.name, Some(&p.domain_id)))?;
    Ok(())
}

pub fn delete_project(c: &Connection, id: &str) -> Result<()> {
    get_project(c, id)?;
    let children: i64 = c.query_row(
        "SELECT count(*) FROM projects WHERE parent_id = ?1",
        [id],
        |r| r.get(0),
    )?;
    if children > 0 {
        return Err(Error::Forbidden(format!(
            "Cannot delete the project {id} since it is not a leaf in the hierarchy. Use the cascade option if you want to delete a whole subtree."
        )));
    }
    c.execute(
        "DELETE FROM assignments WHERE target_type = 'project' AND target_id = ?1",
        [id],
    )?;
    c.execute(
        "DELETE FROM application_credentials WHERE project_id = ?1",
        [id],
    )?;
    c.execute(
        "UPDATE users SET default_project_id = NULL WHERE default_project_id = ?1",
        [id],
    )?;
    c.execute("DELETE FROM projects WHERE id = ?1", [id])?;
    Ok(())
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

fn user_row(r: &Row) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get("id")?,
        name: r.get("name")?,
        domain_id: r.get("domain_id")?,
        password_hash: r.get("password_hash")?,
        enabled: r.get("enabled")?,
        default_project_id: r.get("default_project_id")?,
        extra: serde_json::from_value(json_col(r, "extra")?).unwrap_or_default(),
        created_at: r.get("created_at")?,
        password_changed_at: r.get("password_changed_at")?,
    })
}

pub fn create_user(c: &Connection, u: &User) -> Result<()> {
    get_domain(c, &u.domain_id)?;
    c.execute(
        "INSERT INTO users (id, name, domain_id, password_hash, enabled, default_project_id, extra, created_at, password_changed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            u.id,
            u.name,
            u.domain_id,
            u.password_hash,
            u.enabled,
            u.default_project_id,
            Value::Object(u.extra.clone()).to_string(),
            u.created_at,
            u.password_changed_at
        ],
    )
    .map_err(|e| dup(e, "user", &u.name, Some(&u.domain_id)))?;
    Ok(())
}

pub fn get_user(c: &Connection, id: &str) -> Result<User> {
    c.query_row("SELECT * FROM users WHERE id = ?1", [id], user_row)
        .optional()?
        .ok_or_else(|| Error::NotFound("user", id.into()))
}

pub fn find_user(c: &Connection, name: &str, domain_id: &str) -> Result<User> {
    c.query_row(
        "SELECT * FROM users WHERE name = ?1 AND domain_id = ?2",
        [name, domain_id],
        user_row,
    )
    .optional()?
    .ok_or_else(|| Error::NotFound("user", name.into()))
}

pub fn list_users(c: &Connection) -> Result<Vec<User>> {
    let mut st = c.prepare("SELECT * FROM users ORDER BY name, id")?;
    let rows = st
        .query_map([], user_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn update_user(c: &Connection, u: &User) -> Result<()> {
    c.execute(
        "UPDATE users SET name = ?2, password_hash = ?3, enabled = ?4, default_project_id = ?5, extra = ?6, password_changed_at = ?7 WHERE id = ?1",
        params![
            u.id,
            u.name,
            u.password_hash,
            u.enabled,
            u.default_project_id,
            Value::Object(u.extra.clone()).to_string(),
            u.password_changed_at
        ],
    )
    .map_err(|e| dup(e, "user", &u.name, Some(&u.domain_id)))?;
    Ok(())
}

pub fn delete_user(c: &Connection, id: &str) -> Result<()> {
    get_user(c, id)?;
    c.execute(
        "DELETE FROM assignments WHERE actor_type = 'user' AND actor_id = ?1",
        [id],
    )?;
    c.execute("DELETE FROM users WHERE id = ?1", [id])?;
    Ok(())
}

// ---------------------------------------------------------------- groups

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub description: String,
}

fn group_row(r: &Row) -> rusqlite::Result<Group> {
    Ok(Group {
        id: r.get("id")?,
        name: r.get("name")?,
        domain_id: r.get("domain_id")?,
        description: r.get("description")?,
    })
}

pub fn create_group(c: &Connection, g: &Group) -> Result<()> {
    get_domain(c, &g.domain_id)?;
    c.execute(
        "INSERT INTO groups (id, name, domain_id, description) VALUES (?1, ?2, ?3, ?4)",
        params![g.id, g.name, g.domain_id, g.description],
    )
    .map_err(|e| dup(e, "group", &g.name, Some(&g.domain_id)))?;
    Ok(())
}

pub fn get_group(c: &Connection, id: &str) -> Result<Group> {
    c.query_row("SELECT * FROM groups WHERE id = ?1", [id], group_row)
        .optional()?
        .ok_or_else(|| Error::NotFound("group", id.into()))
}

pub fn list_groups(c: &Connection) -> Result<Vec<Group>> {
    let mut st = c.prepare("SELECT * FROM groups ORDER BY name, id")?;
    let rows = st
        .query_map([], group_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn update_group(c: &Connection, g: &Group) -> Result<()> {
    c.execute(
        "UPDATE groups SET name = ?2, description = ?3 WHERE id = ?1",
        params![g.id, g.name, g.description],
    )
    .map_err(|e| dup(e, "group", &g.name, Some(&g.domain_id)))?;
    Ok(())
}

pub fn delete_group(c: &Connection, id: &str) -> Result<()> {
    get_group(c, id)?;
    c.execute(
        "DELETE FROM assignments WHERE actor_type = 'group' AND actor_id = ?1",
        [id],
    )?;
    c.execute("DELETE FROM groups WHERE id = ?1", [id])?;
    Ok(())
}

pub fn add_member(c: &Connection, group_id: &str, user_id: &str) -> Result<()> {
    get_group(c, group_id)?;
    get_user(c, user_id)?;
    c.execute(
        "INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?1, ?2)",
        [group_id, user_id],
    )?;
    Ok(())
}

pub fn remove_member(c: &Connection, group_id: &str, user_id: &str) -> Result<()> {
    get_group(c, group_id)?;
    get_user(c, user_id)?;
    let n = c.execute(
        "DELETE FROM group_members WHERE group_id = ?1 AND user_id = ?2",
        [group_id, user_id],
    )?;
    if n == 0 {
        return Err(Error::NotFound(
            "user in group",
            format!("{user_id} in {group_id}"),
        ));
    }
    Ok(())
}

pub fn is_member(c: &Connection, group_id: &str, user_id: &str) -> Result<bool> {
    get_group(c, group_id)?;
    get_user(c, user_id)?;
    let n: i64 = c.query_row(
        "SELECT count(*) FROM group_members WHERE group_id = ?1 AND user_id = ?2",
        [group_id, user_id],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

pub fn group_members(c: &Connection, group_id: &str) -> Result<Vec<User>> {
    get_group(c, group_id)?;
    let mut st = c.prepare(
        "SELECT u.* FROM users u JOIN group_members m ON m.user_id = u.id WHERE m.group_id = ?1 ORDER BY u.name",
    )?;
    let rows = st
        .query_map([group_id], user_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn user_groups(c: &Connection, user_id: &str) -> Result<Vec<Group>> {
    get_user(c, user_id)?;
    let mut st = c.prepare(
        "SELECT g.* FROM groups g JOIN group_members m ON m.group_id = g.id WHERE m.user_id = ?1 ORDER BY g.name",
    )?;
    let rows = st
        .query_map([user_id], group_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

// ---------------------------------------------------------------- roles

#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub domain_id: Option<String>,
    pub description: Option<String>,
}

fn role_row(r: &Row) -> rusqlite::Result<Role> {
    Ok(Role {
        id: r.get("id")?,
        name: r.get("name")?,
        domain_id: r.get("domain_id")?,
        description: r.get("description")?,
    })
}

pub fn create_role(c: &Connection, r: &Role) -> Result<()> {
    c.execute(
        "INSERT INTO roles (id, name, domain_id, description) VALUES (?1, ?2, ?3, ?4)",
        params![r.id, r.name, r.domain_id, r.description],
    )
    .map_err(|e| dup(e, "role", &r.name, r.domain_id.as_deref()))?;
    Ok(())
}

pub fn get_role(c: &Connection, id: &str) -> Result<Role> {
    c.query_row("SELECT * FROM roles WHERE id = ?1", [id], role_row)
        .optional()?
        .ok_or_else(|| Error::NotFound("role", id.into()))
}

pub fn list_roles(c: &Connection) -> Result<Vec<Role>> {
    let mut st = c.prepare("SELECT * FROM roles ORDER BY name")?;
    let rows = st
        .query_map([], role_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn update_role(c: &Connection, r: &Role) -> Result<()> {
    c.execute(
        "UPDATE roles SET name = ?2, description = ?3 WHERE id = ?1",
        params![r.id, r.name, r.description],
    )
    .map_err(|e| dup(e, "role", &r.name, r.domain_id.as_deref()))?;
    Ok(())
}

pub fn delete_role(c: &Connection, id: &str) -> Result<()> {
    get_role(c, id)?;
    c.execute("DELETE FROM roles WHERE id = ?1", [id])?;
    Ok(())
}

pub fn add_implied_role(c: &Connection, prior: &str, implied: &str) -> Result<()> {
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
    c.execute(
        "INSERT OR IGNORE INTO implied_roles (prior_role_id, implied_role_id) VALUES (?1, ?2)",
        [prior, implied],
    )?;
    Ok(())
}

pub fn remove_implied_role(c: &Connection, prior: &str, implied: &str) -> Result<()> {
    let n = c.execute(
        "DELETE FROM implied_roles WHERE prior_role_id = ?1 AND implied_role_id = ?2",
        [prior, implied],
    )?;
    if n == 0 {
        return Err(Error::NotFound(
            "implied role",
            format!("{prior} implies {implied}"),
        ));
    }
    Ok(())
}

pub fn implied_roles(c: &Connection, prior: &str) -> Result<Vec<Role>> {
    get_role(c, prior)?;
    let mut st = c.prepare(
        "SELECT r.* FROM roles r JOIN implied_roles i ON i.implied_role_id = r.id WHERE i.prior_role_id = ?1 ORDER BY r.name",
    )?;
    let rows = st
        .query_map([prior], role_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn all_implications(c: &Connection) -> Result<Vec<(String, String)>> {
    let mut st = c.prepare("SELECT prior_role_id, implied_role_id FROM implied_roles")?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// `roles` and every role they imply, transitively, each once, in discovery order.
pub fn implied_closure(c: &Connection, roles: &[String]) -> Result<Vec<String>> {
    let edges = all_implications(c)?;
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

impl Target {
    fn kind(&self) -> &'static str {
        match self {
            Target::Project(_) => "project",
            Target::Domain(_) => "domain",
            Target::System => "system",
        }
    }

    fn id(&self) -> &str {
        match self {
            Target::Project(id) | Target::Domain(id) => id,
            Target::System => "all",
        }
    }
}

/// Who holds a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(String),
    Group(String),
}

impl Actor {
    fn kind(&self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::Group(_) => "group",
        }
    }

    fn id(&self) -> &str {
        match self {
            Actor::User(id) | Actor::Group(id) => id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub actor: Actor,
    pub target: Target,
    pub role_id: String,
    pub inherited: bool,
}

fn check_actor_target(c: &Connection, actor: &Actor, target: &Target) -> Result<()> {
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

pub fn grant(c: &Connection, a: &Assignment) -> Result<()> {
    check_actor_target(c, &a.actor, &a.target)?;
    get_role(c, &a.role_id)?;
    c.execute(
        "INSERT OR IGNORE INTO assignments (actor_type, actor_id, target_type, target_id, role_id, inherited) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![a.actor.kind(), a.actor.id(), a.target.kind(), a.target.id(), a.role_id, a.inherited],
    )?;
    Ok(())
}

pub fn revoke(c: &Connection, a: &Assignment) -> Result<()> {
    check_actor_target(c, &a.actor, &a.target)?;
    get_role(c, &a.role_id)?;
    let n = c.execute(
        "DELETE FROM assignments WHERE actor_type = ?1 AND actor_id = ?2 AND target_type = ?3 AND target_id = ?4 AND role_id = ?5 AND inherited = ?6",
        params![a.actor.kind(), a.actor.id(), a.target.kind(), a.target.id(), a.role_id, a.inherited],
    )?;
    if n == 0 {
        return Err(Error::NotFound("role assignment", a.role_id.clone()));
    }
    Ok(())
}

pub fn has_grant(c: &Connection, a: &Assignment) -> Result<bool> {
    check_actor_target(c, &a.actor, &a.target)?;
    get_role(c, &a.role_id)?;
    let n: i64 = c.query_row(
        "SELECT count(*) FROM assignments WHERE actor_type = ?1 AND actor_id = ?2 AND target_type = ?3 AND target_id = ?4 AND role_id = ?5 AND inherited = ?6",
        params![a.actor.kind(), a.actor.id(), a.target.kind(), a.target.id(), a.role_id, a.inherited],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Direct grants on `target` to `actor` (roles listed by a grant's GET).
pub fn grants_on(
    c: &Connection,
    actor: &Actor,
    target: &Target,
    inherited: bool,
) -> Result<Vec<Role>> {
    check_actor_target(c, actor, target)?;
    let mut st = c.prepare(
        "SELECT r.* FROM roles r JOIN assignments a ON a.role_id = r.id
         WHERE a.actor_type = ?1 AND a.actor_id = ?2 AND a.target_type = ?3 AND a.target_id = ?4 AND a.inherited = ?5 ORDER BY r.name",
    )?;
    let rows = st
        .query_map(
            params![
                actor.kind(),
                actor.id(),
                target.kind(),
                target.id(),
                inherited
            ],
            role_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn assignment_row(r: &Row) -> rusqlite::Result<Assignment> {
    let actor_type: String = r.get(0)?;
    let actor_id: String = r.get(1)?;
    let target_type: String = r.get(2)?;
    let target_id: String = r.get(3)?;
    Ok(Assignment {
        actor: if actor_type == "group" {
            Actor::Group(actor_id)
        } else {
            Actor::User(actor_id)
        },
        target: match target_type.as_str() {
            "project" => Target::Project(target_id),
            "domain" => Target::Domain(target_id),
            _ => Target::System,
        },
        role_id: r.get(4)?,
        inherited: r.get(5)?,
    })
}

pub fn all_assignments(c: &Connection) -> Result<Vec<Assignment>> {
    let mut st = c.prepare(
        "SELECT actor_type, actor_id, target_type, target_id, role_id, inherited FROM assignments ORDER BY actor_type, actor_id, target_type, target_id, role_id",
    )?;
    let rows = st
        .query_map([], assignment_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The groups a user is in, by id.
fn group_ids(c: &Connection, user_id: &str) -> Result<Vec<String>> {
    let mut st = c.prepare("SELECT group_id FROM group_members WHERE user_id = ?1")?;
    let rows = st
        .query_map([user_id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(rows)
}

/// The role ids a user holds on `target`: directly, through groups, inherited from the
/// project's domain or parents, and everything those imply.
pub fn effective_role_ids(c: &Connection, user_id: &str, target: &Target) -> Result<Vec<String>> {
    let mut actors = vec![("user".to_string(), user_id.to_string())];
    actors.extend(
        group_ids(c, user_id)?
            .into_iter()
            .map(|g| ("group".to_string(), g)),
    );
    // (target_type, target_id, inherited?)
    let mut places: Vec<(&str, String, bool)> =
        vec![(target.kind(), target.id().to_string(), false)];
    if let Target::Project(pid) = target {
        let mut cur = get_project(c, pid)?;
        places.push(("domain", cur.domain_id.clone(), true));
        while let Some(parent) = cur.parent_id.clone().filter(|p| *p != cur.domain_id) {
            places.push(("project", parent.clone(), true));
            cur = get_project(c, &parent)?;
        }
    }
    let mut direct: Vec<String> = Vec::new();
    let mut st = c.prepare_cached(
        "SELECT role_id FROM assignments WHERE actor_type = ?1 AND actor_id = ?2 AND target_type = ?3 AND target_id = ?4 AND inherited = ?5",
    )?;
    for (atype, aid) in &actors {
        for (ttype, tid, inherited) in &places {
            let rows = st
                .query_map(params![atype, aid, ttype, tid, inherited], |r| {
                    r.get::<_, String>(0)
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for r in rows {
                if !direct.contains(&r) {
                    direct.push(r);
                }
            }
        }
    }
    global_only(c, implied_closure(c, &direct)?)
}

/// Domain-specific roles never reach a token: only the global roles they imply do.
pub fn global_only(c: &Connection, roles: Vec<String>) -> Result<Vec<String>> {
    let mut st = c.prepare_cached("SELECT domain_id IS NULL FROM roles WHERE id = ?1")?;
    let mut out = Vec::with_capacity(roles.len());
    for r in roles {
        if st.query_row([&r], |row| row.get::<_, bool>(0)).optional()? == Some(true) {
            out.push(r);
        }
    }
    Ok(out)
}

/// Projects where the user holds any role.
pub fn user_projects(c: &Connection, user_id: &str) -> Result<Vec<Project>> {
    let mut out = Vec::new();
    for p in list_projects(c)? {
        if !effective_role_ids(c, user_id, &Target::Project(p.id.clone()))?.is_empty() {
            out.push(p);
        }
    }
    Ok(out)
}

/// Domains where the user holds any role.
pub fn user_domains(c: &Connection, user_id: &str) -> Result<Vec<Domain>> {
    let mut out = Vec::new();
    for d in list_domains(c)? {
        if !effective_role_ids(c, user_id, &Target::Domain(d.id.clone()))?.is_empty() {
            out.push(d);
        }
    }
    Ok(out)
}

pub fn roles_by_ids(c: &Connection, ids: &[String]) -> Result<Vec<Role>> {
    ids.iter().map(|id| get_role(c, id)).collect()
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

fn app_cred_row(r: &Row) -> rusqlite::Result<AppCred> {
    Ok(AppCred {
        id: r.get("id")?,
        user_id: r.get("user_id")?,
        project_id: r.get("project_id")?,
        name: r.get("name")?,
        description: r.get("description")?,
        secret_hash: r.get("secret_hash")?,
        expires_at: r.get("expires_at")?,
        unrestricted: r.get("unrestricted")?,
        roles: serde_json::from_value(json_col(r, "roles")?).unwrap_or_default(),
        access_rules: json_col(r, "access_rules")?,
        created_at: r.get("created_at")?,
    })
}

pub fn create_app_cred(c: &Connection, a: &AppCred) -> Result<()> {
    c.execute(
        "INSERT INTO application_credentials (id, user_id, project_id, name, description, secret_hash, expires_at, unrestricted, roles, access_rules, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            a.id,
            a.user_id,
            a.project_id,
            a.name,
            a.description,
            a.secret_hash,
            a.expires_at,
            a.unrestricted,
            serde_json::to_string(&a.roles).unwrap_or_default(),
            a.access_rules.to_string(),
            a.created_at
        ],
    )
    .map_err(|e| {
        if is_duplicate(&e) {
            Error::Conflict(format!(
                "Conflict occurred attempting to store application_credential - Duplicate entry found with name {}.",
                a.name
            ))
        } else {
            e.into()
        }
    })?;
    Ok(())
}

pub fn get_app_cred(c: &Connection, id: &str) -> Result<AppCred> {
    c.query_row(
        "SELECT * FROM application_credentials WHERE id = ?1",
        [id],
        app_cred_row,
    )
    .optional()?
    .ok_or_else(|| Error::NotFound("application credential", id.into()))
}

pub fn find_app_cred(c: &Connection, user_id: &str, name: &str) -> Result<AppCred> {
    c.query_row(
        "SELECT * FROM application_credentials WHERE user_id = ?1 AND name = ?2",
        [user_id, name],
        app_cred_row,
    )
    .optional()?
    .ok_or_else(|| Error::NotFound("application credential", name.into()))
}

pub fn list_app_creds(c: &Connection, user_id: &str) -> Result<Vec<AppCred>> {
    let mut st =
        c.prepare("SELECT * FROM application_credentials WHERE user_id = ?1 ORDER BY name")?;
    let rows = st
        .query_map([user_id], app_cred_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn delete_app_cred(c: &Connection, id: &str) -> Result<()> {
    let n = c.execute("DELETE FROM application_credentials WHERE id = ?1", [id])?;
    if n == 0 {
        return Err(Error::NotFound("application credential", id.into()));
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

fn region_row(r: &Row) -> rusqlite::Result<Region> {
    Ok(Region {
        id: r.get("id")?,
        description: r.get("description")?,
        parent_region_id: r.get("parent_region_id")?,
    })
}

pub fn create_region(c: &Connection, r: &Region) -> Result<()> {
    if let Some(parent) = &r.parent_region_id {
        get_region(c, parent)?;
    }
    c.execute(
        "INSERT INTO regions (id, description, parent_region_id) VALUES (?1, ?2, ?3)",
        params![r.id, r.description, r.parent_region_id],
    )
    .map_err(|e| {
        if is_duplicate(&e) {
            Error::Conflict(format!(
                "Conflict occurred attempting to store region - Duplicate ID, {}.",
                r.id
            ))
        } else {
            e.into()
        }
    })?;
    Ok(())
}

pub fn get_region(c: &Connection, id: &str) -> Result<Region> {
    c.query_row("SELECT * FROM regions WHERE id = ?1", [id], region_row)
        .optional()?
        .ok_or_else(|| Error::NotFound("region", id.into()))
}

pub fn list_regions(c: &Connection) -> Result<Vec<Region>> {
    let mut st = c.prepare("SELECT * FROM regions ORDER BY id")?;
    let rows = st
        .query_map([], region_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn update_region(c: &Connection, r: &Region) -> Result<()> {
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
    c.execute(
        "UPDATE regions SET description = ?2, parent_region_id = ?3 WHERE id = ?1",
        params![r.id, r.description, r.parent_region_id],
    )?;
    Ok(())
}

pub fn delete_region(c: &Connection, id: &str) -> Result<()> {
    get_region(c, id)?;
    let children: i64 = c.query_row(
        "SELECT count(*) FROM regions WHERE parent_region_id = ?1",
        [id],
        |r| r.get(0),
    )?;
    if children > 0 {
        return Err(Error::Forbidden(format!("Unable to delete region {id} because it or its child regions have associated endpoints.")));
    }
    c.execute(
        "UPDATE endpoints SET region_id = NULL WHERE region_id = ?1",
        [id],
    )?;
    c.execute("DELETE FROM regions WHERE id = ?1", [id])?;
    Ok(())
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

fn service_row(r: &Row) -> rusqlite::Result<Service> {
    Ok(Service {
        id: r.get("id")?,
        kind: r.get("type")?,
        name: r.get("name")?,
        description: r.get("description")?,
        enabled: r.get("enabled")?,
    })
}

pub fn create_service(c: &Connection, s: &Service) -> Result<()> {
    c.execute(
        "INSERT INTO services (id, type, name, description, enabled) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![s.id, s.kind, s.name, s.description, s.enabled],
    )?;
    Ok(())
}

pub fn get_service(c: &Connection, id: &str) -> Result<Service> {
    c.query_row("SELECT * FROM services WHERE id = ?1", [id], service_row)
        .optional()?
        .ok_or_else(|| Error::NotFound("service", id.into()))
}

pub fn list_services(c: &Connection) -> Result<Vec<Service>> {
    let mut st = c.prepare("SELECT * FROM services ORDER BY type, id")?;
    let rows = st
        .query_map([], service_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn update_service(c: &Connection, s: &Service) -> Result<()> {
    c.execute(
        "UPDATE services SET type = ?2, name = ?3, description = ?4, enabled = ?5 WHERE id = ?1",
        params![s.id, s.kind, s.name, s.description, s.enabled],
    )?;
    Ok(())
}

pub fn delete_service(c: &Connection, id: &str) -> Result<()> {
    get_service(c, id)?;
    c.execute("DELETE FROM services WHERE id = ?1", [id])?;
    Ok(())
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

fn endpoint_row(r: &Row) -> rusqlite::Result<Endpoint> {
    Ok(Endpoint {
        id: r.get("id")?,
        service_id: r.get("service_id")?,
        interface: r.get("interface")?,
        region_id: r.get("region_id")?,
        url: r.get("url")?,
        enabled: r.get("enabled")?,
    })
}

pub fn create_endpoint(c: &Connection, e: &Endpoint) -> Result<()> {
    get_service(c, &e.service_id)
        .map_err(|_| Error::Invalid(format!("Could not find service: {}.", e.service_id)))?;
    c.execute(
        "INSERT INTO endpoints (id, service_id, interface, region_id, url, enabled) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![e.id, e.service_id, e.interface, e.region_id, e.url, e.enabled],
    )?;
    Ok(())
}

pub fn get_endpoint(c: &Connection, id: &str) -> Result<Endpoint> {
    c.query_row("SELECT * FROM endpoints WHERE id = ?1", [id], endpoint_row)
        .optional()?
        .ok_or_else(|| Error::NotFound("endpoint", id.into()))
}

pub fn list_endpoints(c: &Connection) -> Result<Vec<Endpoint>> {
    let mut st = c.prepare("SELECT * FROM endpoints ORDER BY service_id, interface, id")?;
    let rows = st
        .query_map([], endpoint_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn update_endpoint(c: &Connection, e: &Endpoint) -> Result<()> {
    get_service(c, &e.service_id)
        .map_err(|_| Error::Invalid(format!("Could not find service: {}.", e.service_id)))?;
    c.execute(
        "UPDATE endpoints SET service_id = ?2, interface = ?3, region_id = ?4, url = ?5, enabled = ?6 WHERE id = ?1",
        params![e.id, e.service_id, e.interface, e.region_id, e.url, e.enabled],
    )?;
    Ok(())
}

pub fn delete_endpoint(c: &Connection, id: &str) -> Result<()> {
    get_endpoint(c, id)?;
    c.execute("DELETE FROM endpoints WHERE id = ?1", [id])?;
    Ok(())
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
        let groups = store.read(list_groups).unwrap();
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
