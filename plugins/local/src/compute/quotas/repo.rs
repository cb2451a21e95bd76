//! What compute quotas ask of the store: the limits an admin set (per project, per user,
//! per class, the defaults) and what is in use. Each backend under `store/` fills this
//! trait; the fallbacks between limits are the model's (`quotas/mod.rs`).

use crate::store::StoreError;

pub type Result<T> = std::result::Result<T, StoreError>;

pub trait ComputeQuotaRepo {
    /// The default an admin set for `resource` (`os-quota-class-sets/default`).
    fn quota_default(&self, resource: &str) -> Result<Option<i64>>;
    fn set_quota_default(&self, resource: &str, value: i64) -> Result<()>;
    /// The limit set for the user in the project, else the project's own.
    fn applied_quota_limit(
        &self,
        project_id: &str,
        user_id: &str,
        resource: &str,
    ) -> Result<Option<i64>>;
    /// The project's own limit (its per-user ones aside).
    fn project_quota_limit(&self, project_id: &str, resource: &str) -> Result<Option<i64>>;
    /// The per-user limits set in the project, by user.
    fn user_quota_limits(&self, project_id: &str, resource: &str) -> Result<Vec<(String, i64)>>;
    /// Sets a project's (or one of its users') limit.
    fn set_quota_limit(
        &self,
        project_id: &str,
        user_id: Option<&str>,
        resource: &str,
        value: i64,
    ) -> Result<()>;
    /// Forgets a project's limits (with its users') or one user's.
    fn clear_quota_limits(&self, project_id: &str, user_id: Option<&str>) -> Result<()>;
    /// A quota class's limit (only `default` means anything; the others are kept).
    fn quota_class_limit(&self, class: &str, resource: &str) -> Result<Option<i64>>;
    fn set_quota_class_limit(&self, class: &str, resource: &str, value: i64) -> Result<()>;
    /// What is used of `resource`: the project's servers (`instances`), their `cores` and
    /// `ram`, its `server_groups` (only `user_id`'s of those when `per_user`), and
    /// `user_id`'s `key_pairs`; 0 of anything else.
    fn quota_usage(
        &self,
        project_id: &str,
        user_id: &str,
        per_user: bool,
        resource: &str,
    ) -> Result<i64>;
}
