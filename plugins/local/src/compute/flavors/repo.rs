//! What flavors ask of the store: flavors by id, and which projects may use a private
//! one (`flavor_access`). Each backend under `store/` fills this trait.

use super::Flavor;
use crate::store::StoreError;

pub type Result<T> = std::result::Result<T, StoreError>;

/// Where a flavor sits in the store: its creation time and row (Nova's internal id, the
/// tie-breaker of every sort).
#[derive(Debug, Clone, Copy, Default)]
pub struct FlavorPlace {
    pub created_ms: i64,
    pub row: i64,
}

pub trait FlavorRepo {
    fn flavor(&self, id: &str) -> Result<Option<Flavor>>;
    /// Every flavor, ordered by id.
    fn flavors(&self) -> Result<Vec<Flavor>>;
    /// Every flavor's place, by id.
    fn flavor_places(&self) -> Result<Vec<(String, FlavorPlace)>>;
    /// Whether a flavor has this name.
    fn flavor_named(&self, name: &str) -> Result<bool>;
    /// Whether a flavor has this id or this name (seeding skips those).
    fn flavor_id_or_name_taken(&self, id: &str, name: &str) -> Result<bool>;
    fn insert_flavor(&self, f: &Flavor, now_ms: i64) -> Result<()>;
    fn set_flavor_description(&self, id: &str, description: Option<&str>) -> Result<()>;
    /// Writes back `f`'s extra specs.
    fn set_flavor_extra_specs(&self, f: &Flavor) -> Result<()>;
    /// Deletes the flavor and who may use it; whether there was such a flavor.
    fn delete_flavor(&self, id: &str) -> Result<bool>;

    /// Projects a private flavor is shared with, ordered.
    fn flavor_access(&self, flavor_id: &str) -> Result<Vec<String>>;
    /// Whether the flavor is shared with the project.
    fn flavor_shared_with(&self, flavor_id: &str, project_id: &str) -> Result<bool>;
    /// The flavors shared with a project.
    fn flavors_shared_with(&self, project_id: &str) -> Result<Vec<String>>;
    fn grant_flavor_access(&self, flavor_id: &str, project_id: &str) -> Result<()>;
    fn revoke_flavor_access(&self, flavor_id: &str, project_id: &str) -> Result<()>;
}
