//! What the image service's model asks of the store: images, their members, tasks and
//! the metadata definitions, read and written inside the caller's transaction. No rules
//! live here (those are `model`'s and `metadefs`'); each backend under `store/` fills it.

use super::metadefs::{
    Association, Member as Kind, Namespace, Object, Property, ResourceType, Tag,
};
use super::model::{Image, Member, Task};
use crate::store::{StoreError, Unique};

pub type Result<T> = std::result::Result<T, StoreError>;

pub trait ImageRepo {
    // Images: an id is unique.
    fn insert_image(&self, i: &Image) -> Result<Unique>;
    fn image(&self, id: &str) -> Result<Option<Image>>;
    /// Newest first.
    fn images(&self) -> Result<Vec<Image>>;
    /// Rewrites every attribute but the creation time; whether there was such an image.
    fn update_image(&self, i: &Image) -> Result<bool>;
    fn delete_image(&self, id: &str) -> Result<()>;
    fn set_image_status(&self, id: &str, status: &str, now: &str) -> Result<()>;

    // Members: a project is a member of an image once.
    fn insert_member(&self, m: &Member) -> Result<Unique>;
    /// In the order they were added.
    fn members(&self, image_id: &str) -> Result<Vec<Member>>;
    fn all_members(&self) -> Result<Vec<Member>>;
    fn member(&self, image_id: &str, member_id: &str) -> Result<Option<Member>>;
    fn set_member_status(
        &self,
        image_id: &str,
        member_id: &str,
        status: &str,
        now: &str,
    ) -> Result<()>;
    fn delete_member(&self, image_id: &str, member_id: &str) -> Result<()>;

    // Tasks.
    fn insert_task(&self, t: &Task) -> Result<()>;
    fn task(&self, id: &str) -> Result<Option<Task>>;
    /// Newest first.
    fn tasks(&self) -> Result<Vec<Task>>;

    // Metadata definition namespaces: a name is unique; each has a number of its own,
    // which its contents refer to.
    fn namespaces(&self) -> Result<Vec<Namespace>>;
    fn namespace(&self, name: &str) -> Result<Option<Namespace>>;
    /// The new namespace's number, or None when the name is taken.
    fn insert_namespace(&self, ns: &Namespace) -> Result<Option<i64>>;
    /// Rewrites the namespace with `ns.id` (its name may change).
    fn update_namespace(&self, ns: &Namespace) -> Result<Unique>;
    /// The namespace and everything in it.
    fn delete_namespace(&self, id: i64) -> Result<()>;

    // Resource types and which namespaces apply to them.
    /// By name.
    fn resource_types(&self) -> Result<Vec<ResourceType>>;
    /// In the order they were made.
    fn associations(&self, ns: i64) -> Result<Vec<Association>>;
    /// Every (namespace number, resource type).
    fn all_associations(&self) -> Result<Vec<(i64, String)>>;
    /// Records the resource type if it is new; Taken if the pair exists.
    fn associate(&self, ns: i64, a: &Association) -> Result<Unique>;
    /// Whether there was such an association.
    fn dissociate(&self, ns: i64, resource_type: &str) -> Result<bool>;

    // A namespace's properties, objects and tags: a name is unique within the namespace
    // and kind.
    /// By name.
    fn properties(&self, ns: i64) -> Result<Vec<Property>>;
    fn property(&self, ns: i64, name: &str) -> Result<Option<Property>>;
    fn insert_property(&self, ns: i64, p: &Property, now: &str) -> Result<Unique>;
    /// Replaces property `old` by `p`.
    fn update_property(&self, ns: i64, old: &str, p: &Property, now: &str) -> Result<Unique>;
    /// In the order they were made.
    fn objects(&self, ns: i64) -> Result<Vec<Object>>;
    fn object(&self, ns: i64, name: &str) -> Result<Option<Object>>;
    fn insert_object(&self, ns: i64, o: &Object) -> Result<Unique>;
    /// Replaces object `old` by `o`, keeping its creation time.
    fn update_object(&self, ns: i64, old: &str, o: &Object) -> Result<Unique>;
    /// In the order they were made.
    fn tags(&self, ns: i64) -> Result<Vec<Tag>>;
    fn tag(&self, ns: i64, name: &str) -> Result<Option<Tag>>;
    fn insert_tag(&self, ns: i64, name: &str, now: &str) -> Result<Unique>;
    fn rename_tag(&self, ns: i64, old: &str, new: &str, now: &str) -> Result<Unique>;
    /// Whether there was such a member of `kind`.
    fn delete_metadef(&self, kind: Kind, ns: i64, name: &str) -> Result<bool>;
    /// Every member of `kind`.
    fn delete_metadefs(&self, kind: Kind, ns: i64) -> Result<()>;
}
