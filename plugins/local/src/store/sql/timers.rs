//! The cloud's clock-driven changes, all in one place: a server reaching its `next_*` state,
//! an instance action's event finishing, a volume, snapshot, backup, group or group
//! snapshot reaching its `next_status`. Every write transaction applies what has come due
//! before its own change (so a rule always judges the current state), and the store's
//! settler applies each as it comes due (so reads never write).

use crate::store::db::{args, Db, Dialect, Found};

/// Tables whose rows carry `status`, `next_status` and `ready_at`.
const STATUS_TABLES: [&str; 5] = [
    "volumes",
    "volume_snapshots",
    "volume_backups",
    "volume_groups",
    "group_snapshots",
];

/// Applies every change that has come due by `now_ms`.
pub fn settle(c: &(impl Db + ?Sized), now_ms: i64) -> Found<()> {
    if c.dialect() == Dialect::Postgres {
        // One round trip, not seven: every write runs this first, under the writer lock.
        c.one(&SETTLE_ALL, args![now_ms], |_| Ok(()))?;
        return Ok(());
    }
    c.run(
        "UPDATE servers SET vm_state = next_vm_state, task_state = next_task_state, power_state = next_power_state,
            updated_ms = ready_at,
            launched_ms = CASE WHEN launched_ms IS NULL AND next_vm_state = 'active' THEN ready_at ELSE launched_ms END,
            next_vm_state = NULL, next_task_state = NULL, next_power_state = NULL, ready_at = NULL
         WHERE ready_at IS NOT NULL AND ready_at <= $1",
        args![now_ms],
    )?;
    c.run(
        "UPDATE instance_action_events SET finish_ms = due_ms, result = 'Success'
         WHERE finish_ms IS NULL AND due_ms <= $1",
        args![now_ms],
    )?;
    for table in STATUS_TABLES {
        c.run(
            &format!(
                "UPDATE {table} SET status = next_status, updated_ms = ready_at,
                    next_status = NULL, ready_at = NULL
                 WHERE ready_at IS NOT NULL AND ready_at <= $1"
            ),
            args![now_ms],
        )?;
    }
    Ok(())
}

/// Every update of `settle` as one statement (data-modifying CTEs: PostgreSQL's).
static SETTLE_ALL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let mut parts = vec![
        "servers AS (UPDATE servers SET vm_state = next_vm_state, task_state = next_task_state,
            power_state = next_power_state, updated_ms = ready_at,
            launched_ms = CASE WHEN launched_ms IS NULL AND next_vm_state = 'active' THEN ready_at ELSE launched_ms END,
            next_vm_state = NULL, next_task_state = NULL, next_power_state = NULL, ready_at = NULL
         WHERE ready_at IS NOT NULL AND ready_at <= $1 RETURNING 1)"
            .to_string(),
        "events AS (UPDATE instance_action_events SET finish_ms = due_ms, result = 'Success'
         WHERE finish_ms IS NULL AND due_ms <= $1 RETURNING 1)"
            .to_string(),
    ];
    for table in STATUS_TABLES {
        parts.push(format!(
            "{table} AS (UPDATE {table} SET status = next_status, updated_ms = ready_at,
                next_status = NULL, ready_at = NULL
             WHERE ready_at IS NOT NULL AND ready_at <= $1 RETURNING 1)"
        ));
    }
    format!("WITH {} SELECT 1", parts.join(",\n"))
});

/// When the next change comes due (milliseconds since the epoch), if any is pending.
pub fn next_due(c: &(impl Db + ?Sized)) -> Found<Option<i64>> {
    let mut due = c.all(
        "SELECT min(ready_at) FROM servers WHERE ready_at IS NOT NULL
         UNION ALL
         SELECT min(due_ms) FROM instance_action_events WHERE finish_ms IS NULL",
        args![],
        |r| r.get::<Option<i64>>(0),
    )?;
    for table in STATUS_TABLES {
        due.push(
            c.one(
                &format!("SELECT min(ready_at) FROM {table} WHERE ready_at IS NOT NULL"),
                args![],
                |r| r.get::<Option<i64>>(0),
            )?
            .flatten(),
        );
    }
    Ok(due.into_iter().flatten().min())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_due_volume_status_is_applied_and_a_later_one_waits() {
        let conn = crate::store::sqlite::test_connection();
        assert_eq!(next_due(&conn).unwrap(), None);
        conn.run(
            "INSERT INTO volume_types (id, name, created_ms) VALUES ('t', 't', 0)",
            args![],
        )
        .unwrap();
        for (id, ready) in [("due", 100), ("later", 300)] {
            conn.run(
                "INSERT INTO volumes (id, project_id, user_id, size, status, next_status, ready_at,
                    volume_type_id, availability_zone, created_ms, updated_ms)
                 VALUES ($1, 'p', 'u', 1, 'creating', 'available', $2, 't', 'nova', 0, 0)",
                args![id, ready],
            )
            .unwrap();
        }
        assert_eq!(next_due(&conn).unwrap(), Some(100));
        settle(&conn, 200).unwrap();
        let status = |id: &str| -> String {
            conn.one("SELECT status FROM volumes WHERE id = $1", args![id], |r| {
                r.get(0)
            })
            .unwrap()
            .unwrap()
        };
        assert_eq!(status("due"), "available");
        assert_eq!(status("later"), "creating");
        assert_eq!(next_due(&conn).unwrap(), Some(300));
    }
}
