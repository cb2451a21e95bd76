//! What compute's simple resources ask of the store (the server model has its own,
//! `servers/repo.rs`). Each backend under `store/` fills these traits.

use super::keypairs::Keypair;
use crate::store::StoreError;

pub type Result<T> = std::result::Result<T, StoreError>;

/// Keypairs, per user: a name is unique per user; `id` numbers them in creation order.
pub trait KeypairRepo {
    fn keypair(&self, user_id: &str, name: &str) -> Result<Option<Keypair>>;
    /// The user's keypairs numbered above `after`, at most `limit`, in creation order.
    fn keypairs(&self, user_id: &str, after: i64, limit: usize) -> Result<Vec<Keypair>>;
    /// Records a keypair (its `id` is given by the store).
    fn insert_keypair(&self, k: &Keypair) -> Result<()>;
    /// Whether there was such a keypair.
    fn delete_keypair(&self, user_id: &str, name: &str) -> Result<bool>;
}
