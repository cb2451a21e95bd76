//! What Placement's model asks of the store: providers, their inventories, traits and
//! aggregates, custom classes and traits, consumers and their allocations, read and written
//! inside the caller's transaction. No rules live here (they are `model`'s); `store/sql`
//! fills it for both backends.

use super::model::{Allocation, Consumer, Inventory, Provider};
use crate::store::{StoreError, Unique};

pub type Result<T> = std::result::Result<T, StoreError>;

pub trait PlacementRepo {
    // Providers: a uuid and a name are each unique.
    /// By creation, then uuid.
    fn providers(&self) -> Result<Vec<Provider>>;
    fn provider(&self, uuid: &str) -> Result<Option<Provider>>;
    fn provider_by_name(&self, name: &str) -> Result<Option<Provider>>;
    fn insert_provider(&self, p: &Provider) -> Result<Unique>;
    /// Rewrites name, parent, root, generation and update time.
    fn update_provider(&self, p: &Provider) -> Result<Unique>;
    /// The provider with its inventories, traits and aggregates.
    fn delete_provider(&self, uuid: &str) -> Result<()>;

    // Inventories: one per provider and resource class.
    /// By resource class.
    fn inventories(&self, provider: &str) -> Result<Vec<Inventory>>;
    /// Every inventory of the cloud, with its provider.
    fn all_inventories(&self) -> Result<Vec<(String, Inventory)>>;
    /// Replaces the provider's inventories by `inv`.
    fn replace_inventories(&self, provider: &str, inv: &[Inventory]) -> Result<()>;

    // Custom resource classes and traits (the standard ones are data, not rows).
    fn custom_classes(&self) -> Result<Vec<String>>;
    fn insert_custom_class(&self, name: &str, now: &str) -> Result<Unique>;
    /// Renames the class everywhere it is used.
    fn rename_custom_class(&self, old: &str, new: &str) -> Result<Unique>;
    fn delete_custom_class(&self, name: &str) -> Result<bool>;
    /// Whether any inventory or allocation names the class.
    fn class_in_use(&self, name: &str) -> Result<bool>;
    fn custom_traits(&self) -> Result<Vec<String>>;
    fn insert_custom_trait(&self, name: &str, now: &str) -> Result<Unique>;
    fn delete_custom_trait(&self, name: &str) -> Result<bool>;
    /// Whether any provider has the trait.
    fn trait_in_use(&self, name: &str) -> Result<bool>;

    // A provider's traits and aggregates.
    /// By name.
    fn provider_traits(&self, provider: &str) -> Result<Vec<String>>;
    /// Every (provider, trait).
    fn all_provider_traits(&self) -> Result<Vec<(String, String)>>;
    fn replace_provider_traits(&self, provider: &str, traits: &[String]) -> Result<()>;
    /// By uuid.
    fn provider_aggregates(&self, provider: &str) -> Result<Vec<String>>;
    /// Every (provider, aggregate).
    fn all_provider_aggregates(&self) -> Result<Vec<(String, String)>>;
    fn replace_provider_aggregates(&self, provider: &str, aggregates: &[String]) -> Result<()>;

    // Consumers and allocations.
    fn consumer(&self, uuid: &str) -> Result<Option<Consumer>>;
    /// Inserts or rewrites the consumer.
    fn save_consumer(&self, c: &Consumer) -> Result<()>;
    /// The consumer and its allocations.
    fn delete_consumer(&self, uuid: &str) -> Result<()>;
    /// The consumer's allocations, by provider then class.
    fn consumer_allocations(&self, consumer: &str) -> Result<Vec<Allocation>>;
    /// Replaces the consumer's allocations by `allocations`.
    fn replace_consumer_allocations(
        &self,
        consumer: &str,
        allocations: &[Allocation],
    ) -> Result<()>;
    /// The allocations against a provider: (consumer, class, used), by consumer.
    fn provider_allocations(&self, provider: &str) -> Result<Vec<(String, String, i64)>>;
    /// What is used of each class on one provider, by class.
    fn provider_usages(&self, provider: &str) -> Result<Vec<(String, i64)>>;
    /// What is used of each (provider, class) across the cloud.
    fn all_usages(&self) -> Result<Vec<(String, String, i64)>>;
    /// Every allocation with its consumer, for the consumers of a project (and a user).
    fn project_allocations(
        &self,
        project_id: &str,
        user_id: Option<&str>,
    ) -> Result<Vec<(Consumer, String, i64)>>;
}
