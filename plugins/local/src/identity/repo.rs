//! What identity's model asks of the store: its records, read and written inside the
//! caller's transaction. No rules live here (those are the model's); each backend under
//! `store/` fills this trait.

use super::model::{
    Actor, AppCred, Assignment, ConfigOption, Consumer, Credential, Domain, Endpoint,
    EndpointGroup, Group, Policy, Project, Region, Role, Service, Target, User,
};
use super::token::Revocation;
use crate::store::{StoreError, Unique};

pub type Result<T> = std::result::Result<T, StoreError>;

pub trait IdentityRepo {
    // Domains: a name is unique across the cloud.
    fn insert_domain(&self, d: &Domain) -> Result<Unique>;
    fn domain(&self, id: &str) -> Result<Option<Domain>>;
    fn domain_by_name(&self, name: &str) -> Result<Option<Domain>>;
    /// By name.
    fn domains(&self) -> Result<Vec<Domain>>;
    fn update_domain(&self, d: &Domain) -> Result<Unique>;
    /// The domain with its projects, users, groups, domain roles and every assignment on
    /// or by them.
    fn delete_domain(&self, id: &str) -> Result<()>;

    // Projects: a name is unique within its domain.
    fn insert_project(&self, p: &Project) -> Result<Unique>;
    fn project(&self, id: &str) -> Result<Option<Project>>;
    fn project_by_name(&self, name: &str, domain_id: &str) -> Result<Option<Project>>;
    /// By name, then id.
    fn projects(&self) -> Result<Vec<Project>>;
    fn update_project(&self, p: &Project) -> Result<Unique>;
    fn child_projects(&self, id: &str) -> Result<u64>;
    /// The project with its assignments and application credentials; users that had it
    /// as their default project lose that default.
    fn delete_project(&self, id: &str) -> Result<()>;

    // Users: a name is unique within its domain.
    fn insert_user(&self, u: &User) -> Result<Unique>;
    fn user(&self, id: &str) -> Result<Option<User>>;
    fn user_by_name(&self, name: &str, domain_id: &str) -> Result<Option<User>>;
    /// By name, then id.
    fn users(&self) -> Result<Vec<User>>;
    fn update_user(&self, u: &User) -> Result<Unique>;
    /// The user with the assignments it holds.
    fn delete_user(&self, id: &str) -> Result<()>;

    // Groups and their members.
    fn insert_group(&self, g: &Group) -> Result<Unique>;
    fn group(&self, id: &str) -> Result<Option<Group>>;
    /// By name, then id.
    fn groups(&self) -> Result<Vec<Group>>;
    fn update_group(&self, g: &Group) -> Result<Unique>;
    /// The group with the assignments it holds.
    fn delete_group(&self, id: &str) -> Result<()>;
    /// Adding a member twice keeps one membership.
    fn add_member(&self, group_id: &str, user_id: &str) -> Result<()>;
    /// Whether there was such a membership.
    fn remove_member(&self, group_id: &str, user_id: &str) -> Result<bool>;
    fn is_member(&self, group_id: &str, user_id: &str) -> Result<bool>;
    /// By name.
    fn group_members(&self, group_id: &str) -> Result<Vec<User>>;
    /// By name.
    fn user_groups(&self, user_id: &str) -> Result<Vec<Group>>;

    // Roles and which role implies which.
    fn insert_role(&self, r: &Role) -> Result<Unique>;
    fn role(&self, id: &str) -> Result<Option<Role>>;
    /// By name.
    fn roles(&self) -> Result<Vec<Role>>;
    fn update_role(&self, r: &Role) -> Result<Unique>;
    fn delete_role(&self, id: &str) -> Result<()>;
    /// Recording an implication twice keeps one.
    fn add_implication(&self, prior: &str, implied: &str) -> Result<()>;
    /// Whether there was such an implication.
    fn remove_implication(&self, prior: &str, implied: &str) -> Result<bool>;
    /// (prior role id, implied role id), every implication.
    fn implications(&self) -> Result<Vec<(String, String)>>;

    // Role assignments.
    /// Granting twice keeps one assignment.
    fn grant(&self, a: &Assignment) -> Result<()>;
    /// Whether there was such an assignment.
    fn revoke(&self, a: &Assignment) -> Result<bool>;
    fn has_grant(&self, a: &Assignment) -> Result<bool>;
    /// The role ids `actor` holds on `target` directly (`inherited`: the grants made on
    /// `target` for what is below it).
    fn granted_role_ids(
        &self,
        actor: &Actor,
        target: &Target,
        inherited: bool,
    ) -> Result<Vec<String>>;
    /// Ordered by actor, then target, then role.
    fn assignments(&self) -> Result<Vec<Assignment>>;

    // Application credentials: a name is unique per user.
    fn insert_app_cred(&self, a: &AppCred) -> Result<Unique>;
    fn app_cred(&self, id: &str) -> Result<Option<AppCred>>;
    fn app_cred_by_name(&self, user_id: &str, name: &str) -> Result<Option<AppCred>>;
    /// By name.
    fn app_creds(&self, user_id: &str) -> Result<Vec<AppCred>>;
    /// Whether there was such a credential.
    fn delete_app_cred(&self, id: &str) -> Result<bool>;

    // Credentials (EC2 and others), by id; an EC2 credential's id is its access key's hash.
    fn insert_credential(&self, c: &Credential) -> Result<Unique>;
    fn credential(&self, id: &str) -> Result<Option<Credential>>;
    /// In creation order, of one user and of one type when given.
    fn credentials(&self, user_id: Option<&str>, kind: Option<&str>) -> Result<Vec<Credential>>;
    fn update_credential(&self, c: &Credential) -> Result<()>;
    /// Whether there was such a credential.
    fn delete_credential(&self, id: &str) -> Result<bool>;

    // Policy blobs, by id.
    fn insert_policy(&self, p: &Policy) -> Result<()>;
    fn policy(&self, id: &str) -> Result<Option<Policy>>;
    /// In creation order, of one type when given.
    fn policies(&self, kind: Option<&str>) -> Result<Vec<Policy>>;
    fn update_policy(&self, p: &Policy) -> Result<()>;
    /// Whether there was such a policy.
    fn delete_policy(&self, id: &str) -> Result<bool>;

    // OAuth1 consumers, by id.
    fn insert_consumer(&self, c: &Consumer) -> Result<()>;
    fn consumer(&self, id: &str) -> Result<Option<Consumer>>;
    /// In creation order.
    fn consumers(&self) -> Result<Vec<Consumer>>;
    fn update_consumer(&self, c: &Consumer) -> Result<()>;
    /// Whether there was such a consumer.
    fn delete_consumer(&self, id: &str) -> Result<bool>;

    // Endpoint groups, by id.
    fn insert_endpoint_group(&self, g: &EndpointGroup) -> Result<()>;
    fn endpoint_group(&self, id: &str) -> Result<Option<EndpointGroup>>;
    /// In creation order.
    fn endpoint_groups(&self) -> Result<Vec<EndpointGroup>>;
    fn update_endpoint_group(&self, g: &EndpointGroup) -> Result<()>;
    /// Whether there was such a group.
    fn delete_endpoint_group(&self, id: &str) -> Result<bool>;

    // A domain's configuration options.
    /// In the order they were first set.
    fn domain_config(&self, domain_id: &str) -> Result<Vec<ConfigOption>>;
    /// Sets an option, replacing its value if it was set.
    fn set_domain_config(&self, domain_id: &str, o: &ConfigOption) -> Result<()>;
    /// Removes all options, a group's, or one; how many there were.
    fn delete_domain_config(
        &self,
        domain_id: &str,
        group: Option<&str>,
        option: Option<&str>,
    ) -> Result<usize>;

    // Regions, services and endpoints an admin registered.
    fn insert_region(&self, r: &Region) -> Result<Unique>;
    fn region(&self, id: &str) -> Result<Option<Region>>;
    /// By id.
    fn regions(&self) -> Result<Vec<Region>>;
    fn update_region(&self, r: &Region) -> Result<()>;
    fn child_regions(&self, id: &str) -> Result<u64>;
    /// The region; its endpoints keep their place with no region.
    fn delete_region(&self, id: &str) -> Result<()>;
    fn insert_service(&self, s: &Service) -> Result<()>;
    fn service(&self, id: &str) -> Result<Option<Service>>;
    /// By type, then id.
    fn services(&self) -> Result<Vec<Service>>;
    fn update_service(&self, s: &Service) -> Result<()>;
    fn delete_service(&self, id: &str) -> Result<()>;
    fn insert_endpoint(&self, e: &Endpoint) -> Result<()>;
    fn endpoint(&self, id: &str) -> Result<Option<Endpoint>>;
    /// By service, interface, then id.
    fn endpoints(&self) -> Result<Vec<Endpoint>>;
    fn update_endpoint(&self, e: &Endpoint) -> Result<()>;
    fn delete_endpoint(&self, id: &str) -> Result<()>;

    // Token revocations, shared by every host on the store.
    /// Records `r`, kept until `expires_ms`; forgets those that expired before
    /// `forget_before_ms`; moves the revision every host's cache watches.
    fn record_revocation(
        &self,
        r: &Revocation,
        expires_ms: i64,
        forget_before_ms: i64,
    ) -> Result<()>;
    /// The revision of the revocation list: it moves on every change.
    fn revocation_rev(&self) -> Result<i64>;
    /// The revocations still kept at `now_ms`.
    fn revocations(&self, now_ms: i64) -> Result<Vec<Revocation>>;
}
