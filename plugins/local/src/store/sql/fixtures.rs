//! Records tests start from, written straight to the tables: only the columns a test
//! sets, the rest as a fresh row has them.

use crate::store::db::{args, Db};
use serde_json::{json, Value};

/// A server row for a test; `deleted` marks it deleted (at `terminated_ms`, if given).
pub struct TestServer<'a> {
    pub id: &'a str,
    pub project_id: &'a str,
    pub user_id: &'a str,
    pub vm_state: &'a str,
    pub flavor: Value,
    pub created_ms: i64,
    pub launched_ms: Option<i64>,
    pub terminated_ms: Option<i64>,
    pub deleted: bool,
}

impl Default for TestServer<'_> {
    fn default() -> Self {
        TestServer {
            id: "s",
            project_id: "p",
            user_id: "u",
            vm_state: "active",
            flavor: json!({}),
            created_ms: 0,
            launched_ms: None,
            terminated_ms: None,
            deleted: false,
        }
    }
}

/// What tests write beside the repositories, in the same transaction (`Tx` has it in
/// tests only).
pub trait Fixtures {
    fn test_server(&self, s: &TestServer);
}

impl<D: Db + ?Sized> Fixtures for D {
    fn test_server(&self, s: &TestServer) {
        server(self, s)
    }
}

/// Writes the server row a test describes.
pub fn server(c: &(impl Db + ?Sized), s: &TestServer) {
    c.run(
        "INSERT INTO servers (id, project_id, user_id, name, hostname, vm_state, power_state,
            flavor, availability_zone, reservation_id, created_ms, updated_ms,
            launched_ms, terminated_ms, deleted)
         VALUES ($1, $2, $3, $1, $1, $4, 1, $5, 'nova', 'r', $6, 0, $7, $8, $9)",
        args![
            s.id,
            s.project_id,
            s.user_id,
            s.vm_state,
            s.flavor.to_string(),
            s.created_ms,
            s.launched_ms,
            s.terminated_ms,
            s.deleted as i64
        ],
    )
    .expect("test server");
}
