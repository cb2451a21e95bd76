//! Numbered schema migrations. `PRAGMA user_version` records how many have run; each new
//! one is appended, never edited, and runs in the same transaction as the version bump.

use rusqlite::Connection;

use super::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: identity
    "
    CREATE TABLE domains (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL DEFAULT '',
        enabled INTEGER NOT NULL DEFAULT 1,
        tags TEXT NOT NULL DEFAULT '[]',
        extra TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE projects (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        domain_id TEXT NOT NULL REFERENCES domains(id),
        parent_id TEXT,
        description TEXT NOT NULL DEFAULT '',
        enabled INTEGER NOT NULL DEFAULT 1,
        tags TEXT NOT NULL DEFAULT '[]',
        extra TEXT NOT NULL DEFAULT '{}',
        UNIQUE (domain_id, name)
    );
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        domain_id TEXT NOT NULL REFERENCES domains(id),
        password_hash TEXT,
        enabled INTEGER NOT NULL DEFAULT 1,
        default_project_id TEXT,
        extra TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        password_changed_at TEXT,
        UNIQUE (domain_id, name)
    );
    CREATE TABLE roles (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        domain_id TEXT,
        description TEXT,
        extra TEXT NOT NULL DEFAULT '{}'
    );
    CREATE UNIQUE INDEX roles_name ON roles (name, ifnull(domain_id, ''));
    CREATE TABLE implied_roles (
        prior_role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
        implied_role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
        PRIMARY KEY (prior_role_id, implied_role_id)
    );
    CREATE TABLE groups (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        domain_id TEXT NOT NULL REFERENCES domains(id),
        description TEXT NOT NULL DEFAULT '',
        extra TEXT NOT NULL DEFAULT '{}',
        UNIQUE (domain_id, name)
    );
    CREATE TABLE group_members (
        group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, user_id)
    );
    -- actor_type: user | group; target_type: project | domain | system
    CREATE TABLE assignments (
        actor_type TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        target_type TEXT NOT NULL,
        target_id TEXT NOT NULL,
        role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
        inherited INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (actor_type, actor_id, target_type, target_id, role_id, inherited)
    );
    CREATE INDEX assignments_target ON assignments (target_type, target_id);
    CREATE TABLE application_credentials (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        project_id TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT,
        secret_hash TEXT NOT NULL,
        expires_at TEXT,
        unrestricted INTEGER NOT NULL DEFAULT 0,
        roles TEXT NOT NULL,
        access_rules TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        UNIQUE (user_id, name)
    );
    -- A token is revoked when an event matches it and it was issued at or before issued_before.
    CREATE TABLE revocations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        audit_id TEXT,
        user_id TEXT,
        project_id TEXT,
        app_cred_id TEXT,
        issued_before INTEGER NOT NULL,
        expires INTEGER NOT NULL
    );
    CREATE TABLE regions (
        id TEXT PRIMARY KEY,
        description TEXT NOT NULL DEFAULT '',
        parent_region_id TEXT,
        extra TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE services (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        name TEXT,
        description TEXT,
        enabled INTEGER NOT NULL DEFAULT 1,
        extra TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE endpoints (
        id TEXT PRIMARY KEY,
        service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
        interface TEXT NOT NULL,
        region_id TEXT,
        url TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        extra TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    INSERT INTO meta (key, value) VALUES ('revocation_rev', '0');
    ",
    // 2: images
    "
    CREATE TABLE images (
        id TEXT PRIMARY KEY,
        name TEXT,
        status TEXT NOT NULL,
        visibility TEXT NOT NULL,
        protected INTEGER NOT NULL DEFAULT 0,
        os_hidden INTEGER NOT NULL DEFAULT 0,
        owner TEXT,
        disk_format TEXT,
        container_format TEXT,
        size INTEGER,
        virtual_size INTEGER,
        checksum TEXT,
        os_hash_algo TEXT,
        os_hash_value TEXT,
        min_disk INTEGER NOT NULL DEFAULT 0,
        min_ram INTEGER NOT NULL DEFAULT 0,
        properties TEXT NOT NULL DEFAULT '{}',
        tags TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE image_members (
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        member_id TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (image_id, member_id)
    );
    ",
    // 3: image tasks
    "
    CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        status TEXT NOT NULL,
        owner TEXT,
        input TEXT NOT NULL,
        result TEXT,
        message TEXT NOT NULL DEFAULT '',
        image_id TEXT,
        request_id TEXT,
        user_id TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        expires_at TEXT
    );
    ",
];

pub fn apply(conn: &mut Connection) -> Result<(), StoreError> {
    let done: usize =
        conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    if done > MIGRATIONS.len() {
        return Err(StoreError(format!(
            "the database is at schema {done}, newer than this driver knows ({}): upgrade jumpgate",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
