//! User messages in SQL: `volume_messages`, each until its `expires_ms`.

use crate::store::db::{args, Db, Found, Row};

use super::volume::order_by;
use crate::volume::messages::Message;
use crate::volume::repo::{MessageRepo, Result, SortKey};

const COLUMNS: &str = "id, project_id, request_id, resource_type, resource_uuid, event_id, \
     message_level, user_message, created_ms, expires_ms";

fn row(r: &Row) -> Found<Message> {
    Ok(Message {
        id: r.get(0)?,
        project_id: r.get(1)?,
        request_id: r.get(2)?,
        resource_type: r.get(3)?,
        resource_uuid: r.get(4)?,
        event_id: r.get(5)?,
        message_level: r.get(6)?,
        user_message: r.get(7)?,
        created_ms: r.get(8)?,
        expires_ms: r.get(9)?,
    })
}

impl<D: Db + ?Sized> MessageRepo for D {
    fn message(&self, id: &str, now_ms: i64) -> Result<Option<Message>> {
        self.one(
            &format!("SELECT {COLUMNS} FROM volume_messages WHERE id = $1 AND expires_ms > $2"),
            args![id, now_ms],
            row,
        )
    }

    fn messages(
        &self,
        project_id: Option<&str>,
        now_ms: i64,
        sort: &[SortKey],
    ) -> Result<Vec<Message>> {
        let order = order_by(sort, "id", |k| match k {
            "event_id" => "event_id",
            "resource_type" => "resource_type",
            "resource_uuid" => "resource_uuid",
            "message_level" => "message_level",
            "request_id" => "request_id",
            "created_at" => "created_ms",
            _ => "id",
        });
        self.all(
            &format!(
                "SELECT {COLUMNS} FROM volume_messages
                 WHERE (CAST($1 AS TEXT) IS NULL OR project_id = $1) AND expires_ms > $2 ORDER BY {order}"
            ),
            args![project_id, now_ms],
            row,
        )
    }

    fn insert_message(&self, m: &Message) -> Result<()> {
        self.run(
            &format!("INSERT INTO volume_messages ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
            args![
                m.id,
                m.project_id,
                m.request_id,
                m.resource_type,
                m.resource_uuid,
                m.event_id,
                m.message_level,
                m.user_message,
                m.created_ms,
                m.expires_ms
            ],
        )?;
        Ok(())
    }

    fn delete_message(&self, id: &str) -> Result<()> {
        self.run("DELETE FROM volume_messages WHERE id = $1", args![id])?;
        Ok(())
    }
}
