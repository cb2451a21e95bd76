//! Identity's records in SQL: one table per record kind, tags and free attributes as
//! JSON text.

use crate::store::db::{args, Db, Found, Row};
use serde_json::{Map, Value};

use crate::identity::model::{
    Actor, AppCred, Assignment, ConfigOption, Consumer, Credential, Domain, Endpoint,
    EndpointGroup, Group, Policy, Project, Region, Role, Service, Target, User,
};
use crate::identity::repo::{IdentityRepo, Result};
use crate::identity::token::Revocation;
use crate::store::Unique;

fn json_col(row: &Row, idx: &str) -> Found<Value> {
    let text: String = row.get(idx)?;
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn json_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn domain_row(r: &Row) -> Found<Domain> {
    Ok(Domain {
        id: r.get("id")?,
        name: r.get("name")?,
        description: r.get("description")?,
        enabled: r.get("enabled")?,
        tags: serde_json::from_value(json_col(r, "tags")?).unwrap_or_default(),
    })
}

fn project_row(r: &Row) -> Found<Project> {
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

fn user_row(r: &Row) -> Found<User> {
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

fn group_row(r: &Row) -> Found<Group> {
    Ok(Group {
        id: r.get("id")?,
        name: r.get("name")?,
        domain_id: r.get("domain_id")?,
        description: r.get("description")?,
    })
}

fn role_row(r: &Row) -> Found<Role> {
    Ok(Role {
        id: r.get("id")?,
        name: r.get("name")?,
        domain_id: r.get("domain_id")?,
        description: r.get("description")?,
    })
}

fn app_cred_row(r: &Row) -> Found<AppCred> {
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

fn credential_row(r: &Row) -> Found<Credential> {
    Ok(Credential {
        id: r.get("id")?,
        user_id: r.get("user_id")?,
        project_id: r.get("project_id")?,
        kind: r.get("type")?,
        blob: r.get("blob")?,
        extra: match json_col(r, "extra")? {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    })
}

fn policy_row(r: &Row) -> Found<Policy> {
    Ok(Policy {
        id: r.get("id")?,
        kind: r.get("type")?,
        blob: r.get("blob")?,
        extra: match json_col(r, "extra")? {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    })
}

fn consumer_row(r: &Row) -> Found<Consumer> {
    Ok(Consumer {
        id: r.get("id")?,
        description: r.get("description")?,
        secret: r.get("secret")?,
        extra: match json_col(r, "extra")? {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    })
}

fn endpoint_group_row(r: &Row) -> Found<EndpointGroup> {
    Ok(EndpointGroup {
        id: r.get("id")?,
        name: r.get("name")?,
        description: r.get("description")?,
        filters: match json_col(r, "filters")? {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    })
}

fn config_option_row(r: &Row) -> Found<ConfigOption> {
    Ok(ConfigOption {
        group: r.get("grp")?,
        option: r.get("option")?,
        value: json_col(r, "value")?,
        sensitive: r.get("sensitive")?,
    })
}

fn region_row(r: &Row) -> Found<Region> {
    Ok(Region {
        id: r.get("id")?,
        description: r.get("description")?,
        parent_region_id: r.get("parent_region_id")?,
    })
}

fn service_row(r: &Row) -> Found<Service> {
    Ok(Service {
        id: r.get("id")?,
        kind: r.get("type")?,
        name: r.get("name")?,
        description: r.get("description")?,
        enabled: r.get("enabled")?,
    })
}

fn endpoint_row(r: &Row) -> Found<Endpoint> {
    Ok(Endpoint {
        id: r.get("id")?,
        service_id: r.get("service_id")?,
        interface: r.get("interface")?,
        region_id: r.get("region_id")?,
        url: r.get("url")?,
        enabled: r.get("enabled")?,
    })
}

fn assignment_row(r: &Row) -> Found<Assignment> {
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

/// How assignments name their actor and target.
fn actor_key(a: &Actor) -> (&'static str, &str) {
    match a {
        Actor::User(id) => ("user", id),
        Actor::Group(id) => ("group", id),
    }
}

fn target_key(t: &Target) -> (&'static str, &str) {
    match t {
        Target::Project(id) => ("project", id),
        Target::Domain(id) => ("domain", id),
        Target::System => ("system", "all"),
    }
}

impl<D: Db + ?Sized> IdentityRepo for D {
    fn insert_domain(&self, d: &Domain) -> Result<Unique> {
        self.unique(
            "INSERT INTO domains (id, name, description, enabled, tags) VALUES ($1, $2, $3, $4, $5)",
            args![d.id, d.name, d.description, d.enabled, json_text(&d.tags)],
        )
    }

    fn domain(&self, id: &str) -> Result<Option<Domain>> {
        self.one("SELECT * FROM domains WHERE id = $1", args![id], domain_row)
    }

    fn domain_by_name(&self, name: &str) -> Result<Option<Domain>> {
        self.one(
            "SELECT * FROM domains WHERE name = $1",
            args![name],
            domain_row,
        )
    }

    fn domains(&self) -> Result<Vec<Domain>> {
        self.all("SELECT * FROM domains ORDER BY name", args![], domain_row)
    }

    fn update_domain(&self, d: &Domain) -> Result<Unique> {
        self.unique(
            "UPDATE domains SET name = $2, description = $3, enabled = $4, tags = $5 WHERE id = $1",
            args![d.id, d.name, d.description, d.enabled, json_text(&d.tags)],
        )
    }

    fn delete_domain(&self, id: &str) -> Result<()> {
        for sql in [
            "DELETE FROM assignments WHERE target_type = 'project' AND target_id IN (SELECT id FROM projects WHERE domain_id = $1)",
            "DELETE FROM assignments WHERE target_type = 'domain' AND target_id = $1",
            "DELETE FROM assignments WHERE actor_type = 'user' AND actor_id IN (SELECT id FROM users WHERE domain_id = $1)",
            "DELETE FROM assignments WHERE actor_type = 'group' AND actor_id IN (SELECT id FROM groups WHERE domain_id = $1)",
            "DELETE FROM users WHERE domain_id = $1",
            "DELETE FROM groups WHERE domain_id = $1",
            "DELETE FROM projects WHERE domain_id = $1",
            "DELETE FROM roles WHERE domain_id = $1",
            "DELETE FROM domains WHERE id = $1",
        ] {
            self.run(sql, args![id])?;
        }
        Ok(())
    }

    fn insert_project(&self, p: &Project) -> Result<Unique> {
        self.unique(
            "INSERT INTO projects (id, name, domain_id, parent_id, description, enabled, tags, extra) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![
                p.id,
                p.name,
                p.domain_id,
                p.parent_id,
                p.description,
                p.enabled,
                json_text(&p.tags),
                json_text(&p.extra)
            ],
        )
    }

    fn project(&self, id: &str) -> Result<Option<Project>> {
        self.one(
            "SELECT * FROM projects WHERE id = $1",
            args![id],
            project_row,
        )
    }

    fn project_by_name(&self, name: &str, domain_id: &str) -> Result<Option<Project>> {
        self.one(
            "SELECT * FROM projects WHERE name = $1 AND domain_id = $2",
            args![name, domain_id],
            project_row,
        )
    }

    fn projects(&self) -> Result<Vec<Project>> {
        self.all(
            "SELECT * FROM projects ORDER BY name, id",
            args![],
            project_row,
        )
    }

    fn update_project(&self, p: &Project) -> Result<Unique> {
        self.unique(
            "UPDATE projects SET name = $2, description = $3, enabled = $4, tags = $5, extra = $6 WHERE id = $1",
            args![
                p.id,
                p.name,
                p.description,
                p.enabled,
                json_text(&p.tags),
                json_text(&p.extra)
            ],
        )
    }

    fn child_projects(&self, id: &str) -> Result<u64> {
        self.count(
            "SELECT count(*) FROM projects WHERE parent_id = $1",
            args![id],
        )
    }

    fn delete_project(&self, id: &str) -> Result<()> {
        for sql in [
            "DELETE FROM assignments WHERE target_type = 'project' AND target_id = $1",
            "DELETE FROM application_credentials WHERE project_id = $1",
            "UPDATE users SET default_project_id = NULL WHERE default_project_id = $1",
            "DELETE FROM projects WHERE id = $1",
        ] {
            self.run(sql, args![id])?;
        }
        Ok(())
    }

    fn insert_user(&self, u: &User) -> Result<Unique> {
        self.unique(
            "INSERT INTO users (id, name, domain_id, password_hash, enabled, default_project_id, extra, created_at, password_changed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            args![
                u.id,
                u.name,
                u.domain_id,
                u.password_hash,
                u.enabled,
                u.default_project_id,
                json_text(&u.extra),
                u.created_at,
                u.password_changed_at
            ],
        )
    }

    fn user(&self, id: &str) -> Result<Option<User>> {
        self.one("SELECT * FROM users WHERE id = $1", args![id], user_row)
    }

    fn user_by_name(&self, name: &str, domain_id: &str) -> Result<Option<User>> {
        self.one(
            "SELECT * FROM users WHERE name = $1 AND domain_id = $2",
            args![name, domain_id],
            user_row,
        )
    }

    fn users(&self) -> Result<Vec<User>> {
        self.all("SELECT * FROM users ORDER BY name, id", args![], user_row)
    }

    fn update_user(&self, u: &User) -> Result<Unique> {
        self.unique(
            "UPDATE users SET name = $2, password_hash = $3, enabled = $4, default_project_id = $5, extra = $6, password_changed_at = $7 WHERE id = $1",
            args![
                u.id,
                u.name,
                u.password_hash,
                u.enabled,
                u.default_project_id,
                json_text(&u.extra),
                u.password_changed_at
            ],
        )
    }

    fn delete_user(&self, id: &str) -> Result<()> {
        self.run(
            "DELETE FROM assignments WHERE actor_type = 'user' AND actor_id = $1",
            args![id],
        )?;
        self.run("DELETE FROM users WHERE id = $1", args![id])?;
        Ok(())
    }

    fn insert_group(&self, g: &Group) -> Result<Unique> {
        self.unique(
            "INSERT INTO groups (id, name, domain_id, description) VALUES ($1, $2, $3, $4)",
            args![g.id, g.name, g.domain_id, g.description],
        )
    }

    fn group(&self, id: &str) -> Result<Option<Group>> {
        self.one("SELECT * FROM groups WHERE id = $1", args![id], group_row)
    }

    fn groups(&self) -> Result<Vec<Group>> {
        self.all("SELECT * FROM groups ORDER BY name, id", args![], group_row)
    }

    fn update_group(&self, g: &Group) -> Result<Unique> {
        self.unique(
            "UPDATE groups SET name = $2, description = $3 WHERE id = $1",
            args![g.id, g.name, g.description],
        )
    }

    fn delete_group(&self, id: &str) -> Result<()> {
        self.run(
            "DELETE FROM assignments WHERE actor_type = 'group' AND actor_id = $1",
            args![id],
        )?;
        self.run("DELETE FROM groups WHERE id = $1", args![id])?;
        Ok(())
    }

    fn add_member(&self, group_id: &str, user_id: &str) -> Result<()> {
        self.run(
            "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            args![group_id, user_id],
        )?;
        Ok(())
    }

    fn remove_member(&self, group_id: &str, user_id: &str) -> Result<bool> {
        let n = self.run(
            "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2",
            args![group_id, user_id],
        )?;
        Ok(n > 0)
    }

    fn is_member(&self, group_id: &str, user_id: &str) -> Result<bool> {
        let n = self.count(
            "SELECT count(*) FROM group_members WHERE group_id = $1 AND user_id = $2",
            args![group_id, user_id],
        )?;
        Ok(n > 0)
    }

    fn group_members(&self, group_id: &str) -> Result<Vec<User>> {
        self.all(
            "SELECT u.* FROM users u JOIN group_members m ON m.user_id = u.id WHERE m.group_id = $1 ORDER BY u.name",
            args![group_id],
            user_row,
        )
    }

    fn user_groups(&self, user_id: &str) -> Result<Vec<Group>> {
        self.all(
            "SELECT g.* FROM groups g JOIN group_members m ON m.group_id = g.id WHERE m.user_id = $1 ORDER BY g.name",
            args![user_id],
            group_row,
        )
    }

    fn insert_role(&self, r: &Role) -> Result<Unique> {
        self.unique(
            "INSERT INTO roles (id, name, domain_id, description) VALUES ($1, $2, $3, $4)",
            args![r.id, r.name, r.domain_id, r.description],
        )
    }

    fn role(&self, id: &str) -> Result<Option<Role>> {
        self.one("SELECT * FROM roles WHERE id = $1", args![id], role_row)
    }

    fn roles(&self) -> Result<Vec<Role>> {
        self.all("SELECT * FROM roles ORDER BY name", args![], role_row)
    }

    fn update_role(&self, r: &Role) -> Result<Unique> {
        self.unique(
            "UPDATE roles SET name = $2, description = $3 WHERE id = $1",
            args![r.id, r.name, r.description],
        )
    }

    fn delete_role(&self, id: &str) -> Result<()> {
        self.run("DELETE FROM roles WHERE id = $1", args![id])?;
        Ok(())
    }

    fn add_implication(&self, prior: &str, implied: &str) -> Result<()> {
        self.run(
            "INSERT INTO implied_roles (prior_role_id, implied_role_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            args![prior, implied],
        )?;
        Ok(())
    }

    fn remove_implication(&self, prior: &str, implied: &str) -> Result<bool> {
        let n = self.run(
            "DELETE FROM implied_roles WHERE prior_role_id = $1 AND implied_role_id = $2",
            args![prior, implied],
        )?;
        Ok(n > 0)
    }

    fn implications(&self) -> Result<Vec<(String, String)>> {
        self.all(
            "SELECT prior_role_id, implied_role_id FROM implied_roles",
            args![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    fn grant(&self, a: &Assignment) -> Result<()> {
        let ((at, ai), (tt, ti)) = (actor_key(&a.actor), target_key(&a.target));
        self.run(
            "INSERT INTO assignments (actor_type, actor_id, target_type, target_id, role_id, inherited) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            args![at, ai, tt, ti, a.role_id, a.inherited],
        )?;
        Ok(())
    }

    fn revoke(&self, a: &Assignment) -> Result<bool> {
        let ((at, ai), (tt, ti)) = (actor_key(&a.actor), target_key(&a.target));
        let n = self.run(
            "DELETE FROM assignments WHERE actor_type = $1 AND actor_id = $2 AND target_type = $3 AND target_id = $4 AND role_id = $5 AND inherited = $6",
            args![at, ai, tt, ti, a.role_id, a.inherited],
        )?;
        Ok(n > 0)
    }

    fn has_grant(&self, a: &Assignment) -> Result<bool> {
        let ((at, ai), (tt, ti)) = (actor_key(&a.actor), target_key(&a.target));
        let n = self.count(
            "SELECT count(*) FROM assignments WHERE actor_type = $1 AND actor_id = $2 AND target_type = $3 AND target_id = $4 AND role_id = $5 AND inherited = $6",
            args![at, ai, tt, ti, a.role_id, a.inherited],
        )?;
        Ok(n > 0)
    }

    fn granted_role_ids(
        &self,
        actor: &Actor,
        target: &Target,
        inherited: bool,
    ) -> Result<Vec<String>> {
        let ((at, ai), (tt, ti)) = (actor_key(actor), target_key(target));
        self.all(
            "SELECT role_id FROM assignments WHERE actor_type = $1 AND actor_id = $2 AND target_type = $3 AND target_id = $4 AND inherited = $5",
            args![at, ai, tt, ti, inherited],
            |r| r.get(0),
        )
    }

    fn assignments(&self) -> Result<Vec<Assignment>> {
        self.all(
            "SELECT actor_type, actor_id, target_type, target_id, role_id, inherited FROM assignments ORDER BY actor_type, actor_id, target_type, target_id, role_id",
            args![],
            assignment_row,
        )
    }

    fn insert_app_cred(&self, a: &AppCred) -> Result<Unique> {
        self.unique(
            "INSERT INTO application_credentials (id, user_id, project_id, name, description, secret_hash, expires_at, unrestricted, roles, access_rules, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            args![
                a.id,
                a.user_id,
                a.project_id,
                a.name,
                a.description,
                a.secret_hash,
                a.expires_at,
                a.unrestricted,
                json_text(&a.roles),
                a.access_rules.to_string(),
                a.created_at
            ],
        )
    }

    fn app_cred(&self, id: &str) -> Result<Option<AppCred>> {
        self.one(
            "SELECT * FROM application_credentials WHERE id = $1",
            args![id],
            app_cred_row,
        )
    }

    fn app_cred_by_name(&self, user_id: &str, name: &str) -> Result<Option<AppCred>> {
        self.one(
            "SELECT * FROM application_credentials WHERE user_id = $1 AND name = $2",
            args![user_id, name],
            app_cred_row,
        )
    }

    fn app_creds(&self, user_id: &str) -> Result<Vec<AppCred>> {
        self.all(
            "SELECT * FROM application_credentials WHERE user_id = $1 ORDER BY name",
            args![user_id],
            app_cred_row,
        )
    }

    fn delete_app_cred(&self, id: &str) -> Result<bool> {
        let n = self.run(
            "DELETE FROM application_credentials WHERE id = $1",
            args![id],
        )?;
        Ok(n > 0)
    }

    fn insert_credential(&self, c: &Credential) -> Result<Unique> {
        self.unique(
            "INSERT INTO credentials (id, user_id, project_id, type, blob, extra) VALUES ($1, $2, $3, $4, $5, $6)",
            args![c.id, c.user_id, c.project_id, c.kind, c.blob, json_text(&c.extra)],
        )
    }

    fn credential(&self, id: &str) -> Result<Option<Credential>> {
        self.one(
            "SELECT * FROM credentials WHERE id = $1",
            args![id],
            credential_row,
        )
    }

    fn credentials(&self, user_id: Option<&str>, kind: Option<&str>) -> Result<Vec<Credential>> {
        self.all(
            "SELECT * FROM credentials WHERE (CAST($1 AS TEXT) IS NULL OR user_id = $1) AND (CAST($2 AS TEXT) IS NULL OR type = $2) ORDER BY rowid",
            args![user_id, kind],
            credential_row,
        )
    }

    fn update_credential(&self, c: &Credential) -> Result<()> {
        self.run(
            "UPDATE credentials SET user_id = $2, project_id = $3, type = $4, blob = $5, extra = $6 WHERE id = $1",
            args![c.id, c.user_id, c.project_id, c.kind, c.blob, json_text(&c.extra)],
        )?;
        Ok(())
    }

    fn delete_credential(&self, id: &str) -> Result<bool> {
        Ok(self.run("DELETE FROM credentials WHERE id = $1", args![id])? > 0)
    }

    fn insert_policy(&self, p: &Policy) -> Result<()> {
        self.run(
            "INSERT INTO policies (id, type, blob, extra) VALUES ($1, $2, $3, $4)",
            args![p.id, p.kind, p.blob, json_text(&p.extra)],
        )?;
        Ok(())
    }

    fn policy(&self, id: &str) -> Result<Option<Policy>> {
        self.one(
            "SELECT * FROM policies WHERE id = $1",
            args![id],
            policy_row,
        )
    }

    fn policies(&self, kind: Option<&str>) -> Result<Vec<Policy>> {
        self.all(
            "SELECT * FROM policies WHERE (CAST($1 AS TEXT) IS NULL OR type = $1) ORDER BY rowid",
            args![kind],
            policy_row,
        )
    }

    fn update_policy(&self, p: &Policy) -> Result<()> {
        self.run(
            "UPDATE policies SET type = $2, blob = $3, extra = $4 WHERE id = $1",
            args![p.id, p.kind, p.blob, json_text(&p.extra)],
        )?;
        Ok(())
    }

    fn delete_policy(&self, id: &str) -> Result<bool> {
        Ok(self.run("DELETE FROM policies WHERE id = $1", args![id])? > 0)
    }

    fn insert_consumer(&self, c: &Consumer) -> Result<()> {
        self.run(
            "INSERT INTO oauth_consumers (id, description, secret, extra) VALUES ($1, $2, $3, $4)",
            args![c.id, c.description, c.secret, json_text(&c.extra)],
        )?;
        Ok(())
    }

    fn consumer(&self, id: &str) -> Result<Option<Consumer>> {
        self.one(
            "SELECT * FROM oauth_consumers WHERE id = $1",
            args![id],
            consumer_row,
        )
    }

    fn consumers(&self) -> Result<Vec<Consumer>> {
        self.all(
            "SELECT * FROM oauth_consumers ORDER BY rowid",
            args![],
            consumer_row,
        )
    }

    fn update_consumer(&self, c: &Consumer) -> Result<()> {
        self.run(
            "UPDATE oauth_consumers SET description = $2, extra = $3 WHERE id = $1",
            args![c.id, c.description, json_text(&c.extra)],
        )?;
        Ok(())
    }

    fn delete_consumer(&self, id: &str) -> Result<bool> {
        Ok(self.run("DELETE FROM oauth_consumers WHERE id = $1", args![id])? > 0)
    }

    fn insert_endpoint_group(&self, g: &EndpointGroup) -> Result<()> {
        self.run(
            "INSERT INTO endpoint_groups (id, name, description, filters) VALUES ($1, $2, $3, $4)",
            args![g.id, g.name, g.description, json_text(&g.filters)],
        )?;
        Ok(())
    }

    fn endpoint_group(&self, id: &str) -> Result<Option<EndpointGroup>> {
        self.one(
            "SELECT * FROM endpoint_groups WHERE id = $1",
            args![id],
            endpoint_group_row,
        )
    }

    fn endpoint_groups(&self) -> Result<Vec<EndpointGroup>> {
        self.all(
            "SELECT * FROM endpoint_groups ORDER BY rowid",
            args![],
            endpoint_group_row,
        )
    }

    fn update_endpoint_group(&self, g: &EndpointGroup) -> Result<()> {
        self.run(
            "UPDATE endpoint_groups SET name = $2, description = $3, filters = $4 WHERE id = $1",
            args![g.id, g.name, g.description, json_text(&g.filters)],
        )?;
        Ok(())
    }

    fn delete_endpoint_group(&self, id: &str) -> Result<bool> {
        Ok(self.run("DELETE FROM endpoint_groups WHERE id = $1", args![id])? > 0)
    }

    fn domain_config(&self, domain_id: &str) -> Result<Vec<ConfigOption>> {
        self.all(
            "SELECT * FROM domain_config WHERE domain_id = $1 ORDER BY rowid",
            args![domain_id],
            config_option_row,
        )
    }

    fn set_domain_config(&self, domain_id: &str, o: &ConfigOption) -> Result<()> {
        self.run(
            "INSERT INTO domain_config (domain_id, grp, option, value, sensitive) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (domain_id, grp, option) DO UPDATE SET value = excluded.value, sensitive = excluded.sensitive",
            args![domain_id, o.group, o.option, json_text(&o.value), o.sensitive],
        )?;
        Ok(())
    }

    fn delete_domain_config(
        &self,
        domain_id: &str,
        group: Option<&str>,
        option: Option<&str>,
    ) -> Result<usize> {
        self.run(
            "DELETE FROM domain_config WHERE domain_id = $1 AND (CAST($2 AS TEXT) IS NULL OR grp = $2) AND (CAST($3 AS TEXT) IS NULL OR option = $3)",
            args![domain_id, group, option],
        )
    }

    fn insert_region(&self, r: &Region) -> Result<Unique> {
        self.unique(
            "INSERT INTO regions (id, description, parent_region_id) VALUES ($1, $2, $3)",
            args![r.id, r.description, r.parent_region_id],
        )
    }

    fn region(&self, id: &str) -> Result<Option<Region>> {
        self.one("SELECT * FROM regions WHERE id = $1", args![id], region_row)
    }

    fn regions(&self) -> Result<Vec<Region>> {
        self.all("SELECT * FROM regions ORDER BY id", args![], region_row)
    }

    fn update_region(&self, r: &Region) -> Result<()> {
        self.run(
            "UPDATE regions SET description = $2, parent_region_id = $3 WHERE id = $1",
            args![r.id, r.description, r.parent_region_id],
        )?;
        Ok(())
    }

    fn child_regions(&self, id: &str) -> Result<u64> {
        self.count(
            "SELECT count(*) FROM regions WHERE parent_region_id = $1",
            args![id],
        )
    }

    fn delete_region(&self, id: &str) -> Result<()> {
        self.run(
            "UPDATE endpoints SET region_id = NULL WHERE region_id = $1",
            args![id],
        )?;
        self.run("DELETE FROM regions WHERE id = $1", args![id])?;
        Ok(())
    }

    fn insert_service(&self, s: &Service) -> Result<()> {
        self.run(
            "INSERT INTO services (id, type, name, description, enabled) VALUES ($1, $2, $3, $4, $5)",
            args![s.id, s.kind, s.name, s.description, s.enabled],
        )?;
        Ok(())
    }

    fn service(&self, id: &str) -> Result<Option<Service>> {
        self.one(
            "SELECT * FROM services WHERE id = $1",
            args![id],
            service_row,
        )
    }

    fn services(&self) -> Result<Vec<Service>> {
        self.all(
            "SELECT * FROM services ORDER BY type, id",
            args![],
            service_row,
        )
    }

    fn update_service(&self, s: &Service) -> Result<()> {
        self.run(
            "UPDATE services SET type = $2, name = $3, description = $4, enabled = $5 WHERE id = $1",
            args![s.id, s.kind, s.name, s.description, s.enabled],
        )?;
        Ok(())
    }

    fn delete_service(&self, id: &str) -> Result<()> {
        self.run("DELETE FROM services WHERE id = $1", args![id])?;
        Ok(())
    }

    fn insert_endpoint(&self, e: &Endpoint) -> Result<()> {
        self.run(
            "INSERT INTO endpoints (id, service_id, interface, region_id, url, enabled) VALUES ($1, $2, $3, $4, $5, $6)",
            args![e.id, e.service_id, e.interface, e.region_id, e.url, e.enabled],
        )?;
        Ok(())
    }

    fn endpoint(&self, id: &str) -> Result<Option<Endpoint>> {
        self.one(
            "SELECT * FROM endpoints WHERE id = $1",
            args![id],
            endpoint_row,
        )
    }

    fn endpoints(&self) -> Result<Vec<Endpoint>> {
        self.all(
            "SELECT * FROM endpoints ORDER BY service_id, interface, id",
            args![],
            endpoint_row,
        )
    }

    fn update_endpoint(&self, e: &Endpoint) -> Result<()> {
        self.run(
            "UPDATE endpoints SET service_id = $2, interface = $3, region_id = $4, url = $5, enabled = $6 WHERE id = $1",
            args![e.id, e.service_id, e.interface, e.region_id, e.url, e.enabled],
        )?;
        Ok(())
    }

    fn delete_endpoint(&self, id: &str) -> Result<()> {
        self.run("DELETE FROM endpoints WHERE id = $1", args![id])?;
        Ok(())
    }

    fn record_revocation(
        &self,
        r: &Revocation,
        expires_ms: i64,
        forget_before_ms: i64,
    ) -> Result<()> {
        self.run(
            "INSERT INTO revocations (audit_id, user_id, project_id, app_cred_id, issued_before, expires) VALUES ($1, $2, $3, $4, $5, $6)",
            args![r.audit_id, r.user_id, r.project_id, r.app_cred_id, r.issued_before, expires_ms],
        )?;
        self.run(
            "DELETE FROM revocations WHERE expires < $1",
            args![forget_before_ms],
        )?;
        self.run(
            "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) WHERE key = 'revocation_rev'",
            args![],
        )?;
        Ok(())
    }

    fn revocation_rev(&self) -> Result<i64> {
        let rev = self.one(
            "SELECT value FROM meta WHERE key = 'revocation_rev'",
            args![],
            |r| r.get::<String>(0),
        )?;
        Ok(rev.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    fn revocations(&self, now_ms: i64) -> Result<Vec<Revocation>> {
        self.all(
            "SELECT audit_id, user_id, project_id, app_cred_id, issued_before FROM revocations WHERE expires > $1",
            args![now_ms],
            |r| {
                Ok(Revocation {
                    audit_id: r.get(0)?,
                    user_id: r.get(1)?,
                    project_id: r.get(2)?,
                    app_cred_id: r.get(3)?,
                    issued_before: r.get(4)?,
                })
            },
        )
    }
}
