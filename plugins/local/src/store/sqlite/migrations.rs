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
    // 4: compute. Times are unix milliseconds. A server moving between states has its
    // destination in next_* and the moment it arrives in ready_at; `compute::settle`
    // applies arrivals before any read or write.
    "
    CREATE TABLE flavors (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        vcpus INTEGER NOT NULL,
        ram INTEGER NOT NULL,
        disk INTEGER NOT NULL,
        ephemeral INTEGER NOT NULL DEFAULT 0,
        swap INTEGER NOT NULL DEFAULT 0,
        rxtx_factor REAL NOT NULL DEFAULT 1.0,
        is_public INTEGER NOT NULL DEFAULT 1,
        disabled INTEGER NOT NULL DEFAULT 0,
        description TEXT,
        extra_specs TEXT NOT NULL DEFAULT '{}',
        created_ms INTEGER NOT NULL
    );
    CREATE TABLE flavor_access (
        flavor_id TEXT NOT NULL REFERENCES flavors(id) ON DELETE CASCADE,
        project_id TEXT NOT NULL,
        PRIMARY KEY (flavor_id, project_id)
    );
    CREATE TABLE servers (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        name TEXT NOT NULL,
        hostname TEXT NOT NULL,
        vm_state TEXT NOT NULL,
        task_state TEXT,
        power_state INTEGER NOT NULL,
        next_vm_state TEXT,
        next_task_state TEXT,
        next_power_state INTEGER,
        ready_at INTEGER,
        image_id TEXT,
        flavor TEXT NOT NULL,
        old_flavor TEXT,
        key_name TEXT,
        key_data TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        tags TEXT NOT NULL DEFAULT '[]',
        addresses TEXT NOT NULL DEFAULT '{}',
        access_ipv4 TEXT NOT NULL DEFAULT '',
        access_ipv6 TEXT NOT NULL DEFAULT '',
        description TEXT,
        availability_zone TEXT NOT NULL,
        pinned_availability_zone TEXT,
        user_data TEXT,
        admin_pass TEXT,
        reservation_id TEXT NOT NULL,
        launch_index INTEGER NOT NULL DEFAULT 0,
        config_drive TEXT NOT NULL DEFAULT '',
        disk_config TEXT NOT NULL DEFAULT 'MANUAL',
        locked INTEGER NOT NULL DEFAULT 0,
        locked_reason TEXT,
        locked_by TEXT,
        fault TEXT,
        trusted_image_certificates TEXT,
        extra TEXT NOT NULL DEFAULT '{}',
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        launched_ms INTEGER,
        terminated_ms INTEGER,
        deleted INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX servers_project ON servers (project_id, deleted, created_ms, id);
    CREATE INDEX servers_all ON servers (deleted, created_ms, id);
    CREATE INDEX servers_updated ON servers (updated_ms);
    CREATE INDEX servers_moving ON servers (ready_at) WHERE ready_at IS NOT NULL;
    CREATE TABLE instance_actions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        server_id TEXT NOT NULL,
        action TEXT NOT NULL,
        request_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        project_id TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        message TEXT
    );
    CREATE INDEX instance_actions_server ON instance_actions (server_id, start_ms);
    CREATE TABLE instance_action_events (
        action_id INTEGER NOT NULL REFERENCES instance_actions(id) ON DELETE CASCADE,
        event TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        due_ms INTEGER NOT NULL,
        finish_ms INTEGER,
        result TEXT,
        host TEXT NOT NULL
    );
    CREATE INDEX instance_action_events_action ON instance_action_events (action_id);
    CREATE INDEX instance_action_events_due ON instance_action_events (due_ms) WHERE finish_ms IS NULL;
    CREATE TABLE keypairs (
        user_id TEXT NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        public_key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (user_id, name)
    );
    CREATE TABLE server_groups (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        project_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        policy TEXT NOT NULL,
        rules TEXT NOT NULL DEFAULT '{}',
        created_ms INTEGER NOT NULL
    );
    CREATE TABLE server_group_members (
        group_id TEXT NOT NULL REFERENCES server_groups(id) ON DELETE CASCADE,
        server_id TEXT NOT NULL,
        PRIMARY KEY (group_id, server_id)
    );
    CREATE INDEX server_group_members_server ON server_group_members (server_id);
    -- Per-project (user_id '') or per-user hard limits set by an admin; defaults otherwise.
    CREATE TABLE compute_quotas (
        project_id TEXT NOT NULL,
        user_id TEXT NOT NULL DEFAULT '',
        resource TEXT NOT NULL,
        hard_limit INTEGER NOT NULL,
        PRIMARY KEY (project_id, user_id, resource)
    );
    CREATE TABLE compute_quota_defaults (
        resource TEXT PRIMARY KEY,
        hard_limit INTEGER NOT NULL
    );
    ",
    // 5: the addresses of compute's built-in network, 10.0.0.0/16: n is the host part.
    "
    CREATE TABLE fixed_ips (
        n INTEGER PRIMARY KEY,
        server_id TEXT NOT NULL
    );
    CREATE INDEX fixed_ips_server ON fixed_ips (server_id);
    ",
    // 6: network. Every Neutron resource is one JSON document (`body`, exactly what the
    // API shows an admin); the columns beside it are copies of the attributes lists filter
    // on most, indexed.
    "
    CREATE TABLE net_objects (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        project_id TEXT NOT NULL DEFAULT '',
        network_id TEXT,
        device_id TEXT,
        body TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (kind, id)
    );
    CREATE INDEX net_objects_project ON net_objects (kind, project_id);
    CREATE INDEX net_objects_network ON net_objects (kind, network_id) WHERE network_id IS NOT NULL;
    CREATE INDEX net_objects_device ON net_objects (kind, device_id) WHERE device_id IS NOT NULL;
    -- IPAM: an address of a subnet belongs to at most one port. n is the address as a
    -- number (IPv4), or its low 64 bits (IPv6), for finding the first free one.
    CREATE TABLE net_ips (
        subnet_id TEXT NOT NULL,
        address TEXT NOT NULL,
        n INTEGER NOT NULL,
        port_id TEXT NOT NULL,
        PRIMARY KEY (subnet_id, address)
    );
    CREATE UNIQUE INDEX net_ips_n ON net_ips (subnet_id, n);
    CREATE INDEX net_ips_port ON net_ips (port_id);
    CREATE TABLE net_quotas (
        project_id TEXT NOT NULL,
        resource TEXT NOT NULL,
        hard_limit INTEGER NOT NULL,
        PRIMARY KEY (project_id, resource)
    );
    ",
    // 7: compute's migrations (a resize is one) and host aggregates.
    "
    CREATE TABLE compute_migrations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        uuid TEXT NOT NULL UNIQUE,
        server_id TEXT NOT NULL,
        project_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        migration_type TEXT NOT NULL,
        status TEXT NOT NULL,
        source_compute TEXT NOT NULL,
        dest_compute TEXT NOT NULL,
        old_flavor_id TEXT NOT NULL,
        new_flavor_id TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    );
    CREATE INDEX compute_migrations_server ON compute_migrations (server_id);
    CREATE TABLE aggregates (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        uuid TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL UNIQUE,
        availability_zone TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        hosts TEXT NOT NULL DEFAULT '[]',
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    );
    ",
    // 8: servers' addresses come from the network service's ports now.
    "
    DROP TABLE fixed_ips;
    ",
    // 9: a port's MAC is unique on its network: look it up by index, not by reading ports.
    "
    CREATE INDEX net_objects_mac ON net_objects (network_id, json_extract(body, '$.mac_address'))
        WHERE kind = 'port';
    ",
    // 10: block storage (Cinder). A volume's bytes are `data_dir/volumes/<id>`, a snapshot's
    // `data_dir/snapshots/<id>`, a backup's `data_dir/backups/<id>`. Like servers, a row may
    // carry the status a timed step ends in (`next_status`), applied once `ready_at` passes.
    // An attachment is one row for both sides: Cinder's attachment and Nova's block device
    // mapping (boot_index, delete_on_termination, tag), so neither can disagree with the other.
    "
    CREATE TABLE volume_types (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        description TEXT,
        is_public INTEGER NOT NULL DEFAULT 1,
        extra_specs TEXT NOT NULL DEFAULT '{}',
        created_ms INTEGER NOT NULL
    );
    CREATE TABLE volume_type_access (
        type_id TEXT NOT NULL REFERENCES volume_types(id) ON DELETE CASCADE,
        project_id TEXT NOT NULL,
        PRIMARY KEY (type_id, project_id)
    );
    CREATE TABLE volumes (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        name TEXT,
        description TEXT,
        size INTEGER NOT NULL,
        status TEXT NOT NULL,
        next_status TEXT,
        ready_at INTEGER,
        volume_type_id TEXT NOT NULL REFERENCES volume_types(id),
        availability_zone TEXT NOT NULL,
        bootable INTEGER NOT NULL DEFAULT 0,
        readonly INTEGER NOT NULL DEFAULT 0,
        multiattach INTEGER NOT NULL DEFAULT 0,
        snapshot_id TEXT,
        source_volid TEXT,
        backup_id TEXT,
        migration_status TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        image_metadata TEXT NOT NULL DEFAULT '{}',
        fail_reason TEXT,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    );
    CREATE INDEX volumes_project ON volumes (project_id, created_ms);
    CREATE INDEX volumes_due ON volumes (ready_at) WHERE ready_at IS NOT NULL;
    CREATE TABLE volume_attachments (
        id TEXT PRIMARY KEY,
        volume_id TEXT NOT NULL REFERENCES volumes(id) ON DELETE CASCADE,
        server_id TEXT,
        status TEXT NOT NULL,
        attach_mode TEXT NOT NULL DEFAULT 'rw',
        host TEXT,
        mountpoint TEXT,
        connector TEXT,
        boot_index INTEGER,
        delete_on_termination INTEGER NOT NULL DEFAULT 0,
        tag TEXT,
        attached_ms INTEGER,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    );
    CREATE INDEX volume_attachments_volume ON volume_attachments (volume_id);
    CREATE INDEX volume_attachments_server ON volume_attachments (server_id);
    CREATE TABLE volume_snapshots (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        volume_id TEXT NOT NULL REFERENCES volumes(id),
        name TEXT,
        description TEXT,
        size INTEGER NOT NULL,
        status TEXT NOT NULL,
        next_status TEXT,
        ready_at INTEGER,
        metadata TEXT NOT NULL DEFAULT '{}',
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    );
    CREATE INDEX volume_snapshots_project ON volume_snapshots (project_id, created_ms);
    CREATE INDEX volume_snapshots_volume ON volume_snapshots (volume_id);
    CREATE TABLE volume_backups (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        volume_id TEXT NOT NULL,
        snapshot_id TEXT,
        name TEXT,
        description TEXT,
        size INTEGER NOT NULL,
        status TEXT NOT NULL,
        next_status TEXT,
        ready_at INTEGER,
        availability_zone TEXT,
        container TEXT,
        is_incremental INTEGER NOT NULL DEFAULT 0,
        parent_id TEXT,
        object_count INTEGER NOT NULL DEFAULT 0,
        fail_reason TEXT,
        restore_volume_id TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        data_timestamp_ms INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    );
    CREATE INDEX volume_backups_project ON volume_backups (project_id, created_ms);
    -- project_id '' holds the defaults (Cinder's quota class `default`).
    CREATE TABLE volume_quotas (
        project_id TEXT NOT NULL,
        resource TEXT NOT NULL,
        hard_limit INTEGER NOT NULL,
        PRIMARY KEY (project_id, resource)
    );
    ",
    // 11: volume transfers: a volume offered to whoever presents the key. Only a hash of
    // the key is kept, as Cinder keeps a salted hash.
    "
    CREATE TABLE volume_transfers (
        id TEXT PRIMARY KEY,
        volume_id TEXT NOT NULL REFERENCES volumes(id) ON DELETE CASCADE,
        name TEXT,
        salt TEXT NOT NULL,
        key_hash TEXT NOT NULL,
        source_project_id TEXT NOT NULL,
        no_snapshots INTEGER NOT NULL DEFAULT 0,
        created_ms INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX volume_transfers_volume ON volume_transfers (volume_id);
    ",
    // 12: what admins attach to volume types: encryption (one per type), QoS specs (a
    // type names at most one), and per-project default types (3.62).
    "
    CREATE TABLE volume_type_encryption (
        type_id TEXT PRIMARY KEY REFERENCES volume_types(id) ON DELETE CASCADE,
        encryption_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        control_location TEXT NOT NULL,
        cipher TEXT,
        key_size INTEGER,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    );
    CREATE TABLE qos_specs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        consumer TEXT NOT NULL,
        specs TEXT NOT NULL DEFAULT '{}',
        created_ms INTEGER NOT NULL
    );
    ALTER TABLE volume_types ADD COLUMN qos_specs_id TEXT REFERENCES qos_specs(id);
    CREATE TABLE default_volume_types (
        project_id TEXT PRIMARY KEY,
        volume_type_id TEXT NOT NULL REFERENCES volume_types(id) ON DELETE CASCADE
    );
    ",
    // 13: generic volume groups (3.13+), their types and snapshots, and user messages
    // (3.3): what an asynchronous failure tells the user afterwards.
    "
    CREATE TABLE group_types (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        description TEXT,
        is_public INTEGER NOT NULL DEFAULT 1,
        group_specs TEXT NOT NULL DEFAULT '{}',
        created_ms INTEGER NOT NULL
    );
    CREATE TABLE volume_groups (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        name TEXT,
        description TEXT,
        status TEXT NOT NULL,
        next_status TEXT,
        ready_at INTEGER,
        group_type_id TEXT NOT NULL REFERENCES group_types(id),
        volume_type_ids TEXT NOT NULL DEFAULT '[]',
        availability_zone TEXT NOT NULL,
        group_snapshot_id TEXT,
        source_group_id TEXT,
        replication_status TEXT,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    );
    CREATE TABLE group_snapshots (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        group_id TEXT NOT NULL REFERENCES volume_groups(id),
        group_type_id TEXT NOT NULL,
        name TEXT,
        description TEXT,
        status TEXT NOT NULL,
        next_status TEXT,
        ready_at INTEGER,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    );
    ALTER TABLE volumes ADD COLUMN group_id TEXT REFERENCES volume_groups(id);
    ALTER TABLE volume_snapshots ADD COLUMN group_snapshot_id TEXT REFERENCES group_snapshots(id);
    CREATE TABLE volume_messages (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        request_id TEXT NOT NULL,
        resource_type TEXT NOT NULL,
        resource_uuid TEXT,
        event_id TEXT NOT NULL,
        message_level TEXT NOT NULL,
        user_message TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
    );
    CREATE INDEX volume_messages_project ON volume_messages (project_id, created_ms);
    -- Why a volume failed is told by a message, as Cinder tells it.
    ALTER TABLE volumes DROP COLUMN fail_reason;
    ",
    // 14: what lived in one driver build's memory and was lost on reload: the compute
    // service's enabled/forced-down state and Nova's non-default quota classes. And an index
    // per timed table, so the settler finds the next due change without a scan.
    "
    CREATE TABLE compute_services (
        host TEXT PRIMARY KEY,
        disabled INTEGER NOT NULL DEFAULT 0,
        disabled_reason TEXT,
        forced_down INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE compute_quota_classes (
        class_name TEXT NOT NULL,
        resource TEXT NOT NULL,
        hard_limit INTEGER NOT NULL,
        PRIMARY KEY (class_name, resource)
    );
    CREATE INDEX volume_snapshots_due ON volume_snapshots (ready_at) WHERE ready_at IS NOT NULL;
    CREATE INDEX volume_backups_due ON volume_backups (ready_at) WHERE ready_at IS NOT NULL;
    CREATE INDEX volume_groups_due ON volume_groups (ready_at) WHERE ready_at IS NOT NULL;
    CREATE INDEX group_snapshots_due ON group_snapshots (ready_at) WHERE ready_at IS NOT NULL;
    ",
    // 15: whether a volume has Cinder's `readonly` admin metadata (os-attach and
    // os-update_readonly_flag record it; a new volume has none). Volumes made before kept
    // showing it, and still do.
    "
    ALTER TABLE volumes ADD COLUMN readonly_recorded INTEGER NOT NULL DEFAULT 1;
    ",
    // 16: Glance's metadata definitions (metadefs): namespaces, the resource types they
    // apply to (with a prefix for property names), their properties (each one JSON schema
    // document), objects (named groups of properties) and tags. Seeded with the resource
    // types and the one namespace that describes image properties this cloud keeps (it
    // records and shows them; it does not act on them).
    "
    CREATE TABLE metadef_namespaces (
        id INTEGER PRIMARY KEY,
        namespace TEXT NOT NULL UNIQUE,
        display_name TEXT,
        description TEXT,
        visibility TEXT NOT NULL DEFAULT 'private',
        protected INTEGER NOT NULL DEFAULT 0,
        owner TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE metadef_resource_types (
        name TEXT PRIMARY KEY,
        protected INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE metadef_associations (
        namespace_id INTEGER NOT NULL REFERENCES metadef_namespaces(id) ON DELETE CASCADE,
        resource_type TEXT NOT NULL REFERENCES metadef_resource_types(name),
        prefix TEXT,
        properties_target TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (namespace_id, resource_type)
    );
    CREATE INDEX metadef_associations_type ON metadef_associations (resource_type);
    CREATE TABLE metadef_properties (
        namespace_id INTEGER NOT NULL REFERENCES metadef_namespaces(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        json_schema TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (namespace_id, name)
    );
    CREATE TABLE metadef_objects (
        namespace_id INTEGER NOT NULL REFERENCES metadef_namespaces(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        description TEXT,
        required TEXT NOT NULL DEFAULT '[]',
        properties TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (namespace_id, name)
    );
    CREATE TABLE metadef_tags (
        namespace_id INTEGER NOT NULL REFERENCES metadef_namespaces(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (namespace_id, name)
    );
    INSERT INTO metadef_resource_types (name, protected, created_at, updated_at)
    SELECT t.name, 1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
    FROM (SELECT 'OS::Glance::Image' AS name UNION ALL SELECT 'OS::Cinder::Volume'
          UNION ALL SELECT 'OS::Nova::Flavor' UNION ALL SELECT 'OS::Nova::Server') AS t;
    INSERT INTO metadef_namespaces (namespace, display_name, description, visibility,
        protected, owner, created_at, updated_at)
    VALUES ('OS::Glance::CommonImageProperties', 'Common Image Properties',
        'When adding an image to Glance, you may specify some common image properties that may prove useful to consumers of your image. On this cloud they are descriptive: they are kept on the image (and on volumes made from it) and shown, but nothing acts on them.',
        'public', 1, 'admin', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
    INSERT INTO metadef_associations (namespace_id, resource_type, prefix, properties_target,
        created_at, updated_at)
    SELECT n.id, t.name, NULL, t.target, n.created_at, n.created_at
    FROM metadef_namespaces n,
        (SELECT 'OS::Glance::Image' AS name, NULL AS target
         UNION ALL SELECT 'OS::Cinder::Volume', 'image') AS t
    WHERE n.namespace = 'OS::Glance::CommonImageProperties';
    INSERT INTO metadef_properties (namespace_id, name, json_schema, created_at, updated_at)
    SELECT n.id, p.name, p.doc, n.created_at, n.created_at
    FROM metadef_namespaces n,
        (SELECT 'os_distro' AS name, '{\"title\": \"OS Distro\", \"description\": \"The common name of the operating system distribution in lowercase (uses the same data vocabulary as the libosinfo project). Specify only a recognized value for this field.\", \"type\": \"string\"}' AS doc
         UNION ALL SELECT 'os_version', '{\"title\": \"OS Version\", \"description\": \"Operating system version as specified by the distributor. (for example, 11.10)\", \"type\": \"string\"}'
         UNION ALL SELECT 'os_type', '{\"title\": \"OS Type\", \"description\": \"The operating system installed on the image.\", \"type\": \"string\", \"enum\": [\"linux\", \"windows\"]}') AS p
    WHERE n.namespace = 'OS::Glance::CommonImageProperties';
    ",
    // 17: remote console tokens, as Nova's console_auth_tokens: only the token's sha256 is
    // kept, with the server it opens and when it stops working.
    "
    CREATE TABLE console_auth_tokens (
        token_hash TEXT PRIMARY KEY,
        server_id TEXT NOT NULL,
        console_type TEXT NOT NULL,
        host TEXT NOT NULL,
        port INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
    );
    CREATE INDEX console_auth_tokens_expiry ON console_auth_tokens (expires_ms);
    ",
    // 18: Keystone credentials (EC2 and others): a user's, gone with the user, and with the
    // project an EC2 credential is for, as Keystone's callbacks remove them.
    "
    CREATE TABLE credentials (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        project_id TEXT REFERENCES projects(id) ON DELETE CASCADE,
        type TEXT NOT NULL,
        blob TEXT NOT NULL,
        extra TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX credentials_user ON credentials (user_id, type);
    ",
    // 19: Keystone's policy blobs (/v3/policies): stored for other services, never enforced.
    "
    CREATE TABLE policies (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        blob TEXT NOT NULL,
        extra TEXT NOT NULL DEFAULT '{}'
    );
    ",
    // 20: OAuth1 consumers (/v3/OS-OAUTH1/consumers), with the secret Keystone shows once.
    "
    CREATE TABLE oauth_consumers (
        id TEXT PRIMARY KEY,
        description TEXT,
        secret TEXT NOT NULL,
        extra TEXT NOT NULL DEFAULT '{}'
    );
    ",
    // 21: endpoint groups (/v3/OS-EP-FILTER/endpoint_groups): named filters on the catalog's
    // endpoints (service_id, region_id, interface), as JSON.
    "
    CREATE TABLE endpoint_groups (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        description TEXT,
        filters TEXT NOT NULL DEFAULT '{}'
    );
    ",
    // 22: domain-specific configuration (/v3/domains/{id}/config): one row per option, its
    // value as JSON; sensitive ones (the LDAP password) are never shown. Gone with the domain.
    "
    CREATE TABLE domain_config (
        domain_id TEXT NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
        grp TEXT NOT NULL,
        option TEXT NOT NULL,
        value TEXT NOT NULL,
        sensitive INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (domain_id, grp, option)
    );
    ",
    // 23: the MAC index on the expression the SQL both backends share asks for (`->>`).
    "
    DROP INDEX net_objects_mac;
    CREATE INDEX net_objects_mac ON net_objects (network_id, (body ->> 'mac_address'))
        WHERE kind = 'port';
    ",
    // 24: Placement: resource providers (a tree by parent and root), their inventories,
    // traits and aggregates; the custom resource classes and traits (the standard ones are
    // data in the driver); consumers with their generation, and their allocations.
    "
    CREATE TABLE placement_providers (
        uuid TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        generation INTEGER NOT NULL DEFAULT 0,
        -- No foreign key: a provider re-parented (1.37) under a younger one would come
        -- before its parent in migrate-store's copy. The model keeps the tree whole.
        parent_uuid TEXT,
        root_uuid TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE placement_inventories (
        provider_uuid TEXT NOT NULL REFERENCES placement_providers(uuid) ON DELETE CASCADE,
        resource_class TEXT NOT NULL,
        total INTEGER NOT NULL,
        reserved INTEGER NOT NULL,
        min_unit INTEGER NOT NULL,
        max_unit INTEGER NOT NULL,
        step_size INTEGER NOT NULL,
        allocation_ratio REAL NOT NULL,
        PRIMARY KEY (provider_uuid, resource_class)
    );
    CREATE TABLE placement_custom_classes (
        name TEXT PRIMARY KEY,
        created_at TEXT NOT NULL
    );
    CREATE TABLE placement_custom_traits (
        name TEXT PRIMARY KEY,
        created_at TEXT NOT NULL
    );
    CREATE TABLE placement_provider_traits (
        provider_uuid TEXT NOT NULL REFERENCES placement_providers(uuid) ON DELETE CASCADE,
        trait TEXT NOT NULL,
        PRIMARY KEY (provider_uuid, trait)
    );
    CREATE INDEX placement_provider_traits_trait ON placement_provider_traits (trait);
    CREATE TABLE placement_provider_aggregates (
        provider_uuid TEXT NOT NULL REFERENCES placement_providers(uuid) ON DELETE CASCADE,
        aggregate TEXT NOT NULL,
        PRIMARY KEY (provider_uuid, aggregate)
    );
    CREATE TABLE placement_consumers (
        uuid TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        consumer_type TEXT,
        generation INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX placement_consumers_project ON placement_consumers (project_id, user_id);
    CREATE TABLE placement_allocations (
        consumer_uuid TEXT NOT NULL REFERENCES placement_consumers(uuid) ON DELETE CASCADE,
        provider_uuid TEXT NOT NULL REFERENCES placement_providers(uuid),
        resource_class TEXT NOT NULL,
        used INTEGER NOT NULL,
        PRIMARY KEY (consumer_uuid, provider_uuid, resource_class)
    );
    CREATE INDEX placement_allocations_provider
        ON placement_allocations (provider_uuid, resource_class);
    ",
];

pub fn apply(conn: &mut Connection) -> Result<(), StoreError> {
    apply_to(conn, MIGRATIONS.len())
}

/// Brings the schema up to migration `last` (the previous release's, in tests).
fn apply_to(conn: &mut Connection, last: usize) -> Result<(), StoreError> {
    let done: usize =
        conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    if done > MIGRATIONS.len() {
        return Err(StoreError(format!(
            "the database is at schema {done}, newer than this driver knows ({}): upgrade jumpgate",
            MIGRATIONS.len()
        )));
    }
    // Each step reads the version inside its own write transaction: hosts starting at once
    // on one database apply each migration once between them.
    for _ in done..last {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let at = tx.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
        if let Some(sql) = MIGRATIONS.get(at).filter(|_| at < last) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (at + 1) as i64)?;
        }
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every migration applies to a new database, in order.
    #[test]
    fn migrations_apply_to_a_new_database() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
    }

    /// The schema of the previous release (13 migrations) with data in it is brought up to
    /// date in place, keeping the data.
    #[test]
    fn the_previous_release_database_upgrades_in_place() {
        const PREVIOUS_RELEASE: usize = 13;
        let mut conn = Connection::open_in_memory().unwrap();
        apply_to(&mut conn, PREVIOUS_RELEASE).unwrap();
        conn.execute_batch(
            "INSERT INTO volume_types (id, name, created_ms) VALUES ('t', '__DEFAULT__', 0);
             INSERT INTO volumes (id, project_id, user_id, size, status, volume_type_id,
                availability_zone, created_ms, updated_ms)
             VALUES ('v', 'p', 'u', 1, 'available', 't', 'nova', 0, 0);",
        )
        .unwrap();
        apply(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
        let status: String = conn
            .query_row("SELECT status FROM volumes WHERE id = 'v'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(status, "available");
        let recorded: bool = conn
            .query_row(
                "SELECT readonly_recorded FROM volumes WHERE id = 'v'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(recorded, "volumes made before keep showing `readonly`");
        conn.execute(
            "INSERT INTO compute_services (host, disabled) VALUES ('h', 1)",
            [],
        )
        .unwrap();
    }
}
