//! What the network service asks of the store: Neutron's documents (one JSON body per
//! resource, with the attributes lists filter on most kept beside it), the addresses
//! ports hold, and projects' quota limits. No rules live here; each backend under
//! `store/` fills this trait.

use serde_json::Value;

use crate::store::{StoreError, Unique};

pub type Result<T> = std::result::Result<T, StoreError>;

/// Which documents a listing reads: all of a kind, or only those with one indexed value.
pub enum Scope<'a> {
    All,
    Project(&'a str),
    Network(&'a str),
    Device(&'a str),
}

pub trait NetworkRepo {
    // Documents, by kind and id; `project_id`, `network_id` and `device_id` are read from
    // the body.
    fn insert_doc(&self, kind: &str, doc: &Value, created_ms: i64) -> Result<()>;
    fn update_doc(&self, kind: &str, doc: &Value) -> Result<()>;
    fn delete_doc(&self, kind: &str, id: &str) -> Result<()>;
    fn doc(&self, kind: &str, id: &str) -> Result<Option<Value>>;
    /// Oldest first.
    fn docs(&self, kind: &str, scope: Scope) -> Result<Vec<Value>>;
    fn count_docs(&self, kind: &str, project_id: &str) -> Result<u64>;
    /// Whether an RBAC policy with `action` on `object_id` targets `project_id` or `*`.
    fn rbac_grants(&self, object_id: &str, action: &str, project_id: &str) -> Result<bool>;
    /// The RBAC policies on `object_id`, oldest first.
    fn rbac_policies_on(&self, object_id: &str) -> Result<Vec<Value>>;
    /// Whether a port of the network other than `except` has `mac`.
    fn mac_in_use(&self, network_id: &str, mac: &str, except: &str) -> Result<bool>;

    // Addresses held, by subnet. `n` is the address (IPv4) or its low 64 bits (IPv6) as
    // a signed integer: ordered like the addresses within each half of a 2^64 span.
    fn ip_held(&self, subnet_id: &str, n: i64) -> Result<bool>;
    /// The lowest `n + 1` in `[a, b)` for a held `n` whose next is free, if any.
    fn first_gap(&self, subnet_id: &str, a: i64, b: i64) -> Result<Option<i64>>;
    /// Records `address` as the port's; Taken when another port holds it.
    fn claim_ip(&self, subnet_id: &str, address: &str, n: i64, port_id: &str) -> Result<Unique>;
    fn release_ip(&self, subnet_id: &str, address: &str, port_id: &str) -> Result<()>;
    /// Every address of the port, or (with `subnet_id`) those on one subnet.
    fn release_port_ips(&self, port_id: &str, subnet_id: Option<&str>) -> Result<()>;
    fn release_subnet_ips(&self, subnet_id: &str) -> Result<()>;
    fn ips_held(&self, subnet_id: &str) -> Result<u64>;

    // Quota limits a project was given (the defaults are the model's).
    fn quota(&self, project_id: &str, resource: &str) -> Result<Option<i64>>;
    /// Projects that were given any limit, sorted.
    fn quota_projects(&self) -> Result<Vec<String>>;
    fn set_quota(&self, project_id: &str, resource: &str, limit: i64) -> Result<()>;
    fn reset_quotas(&self, project_id: &str) -> Result<()>;
}
