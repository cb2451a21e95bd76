//! Glance's metadata definitions (metadefs): namespaces, the resource types they apply to,
//! and their properties, objects and tags. Knows nothing of HTTP nor of SQL (records come
//! from `repo`'s trait, inside the caller's transaction). Who may see a namespace is
//! `Namespace::visible_to`.

use serde_json::{Map, Value};

use super::model::{unique, Error, Repo, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Namespace {
    pub id: i64,
    pub namespace: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// public or private
    pub visibility: String,
    pub protected: bool,
    pub owner: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Namespace {
    /// Glance's rule: public namespaces are everybody's to read, private ones their
    /// owner's (and an admin's).
    pub fn visible_to(&self, project: Option<&str>, admin: bool) -> bool {
        admin
            || self.visibility == "public"
            || (project.is_some() && self.owner.as_deref() == project)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Association {
    pub name: String,
    pub prefix: Option<String>,
    pub properties_target: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    pub name: String,
    /// The property's JSON schema document, without its name.
    pub schema: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub name: String,
    pub description: Option<String>,
    pub required: Vec<String>,
    pub properties: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A namespace with everything in it, as `GET /v2/metadefs/namespaces/{ns}` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    pub namespace: Namespace,
    pub associations: Vec<Association>,
    pub properties: Vec<Property>,
    pub objects: Vec<Object>,
    pub tags: Vec<Tag>,
}

// ---------------------------------------------------------------- namespaces

pub fn list_namespaces(c: Repo) -> Result<Vec<Namespace>> {
    Ok(c.namespaces()?)
}

pub fn get_namespace(c: Repo, name: &str) -> Result<Namespace> {
    c.namespace(name)?
        .ok_or_else(|| Error::NotFound(not_found_namespace(name)))
}

pub fn not_found_namespace(name: &str) -> String {
    format!("Metadata definition namespace={name} was not found.")
}

fn namespace_exists(name: &str) -> String {
    format!("Metadata definition namespace={name} already exists.")
}

/// Records a new namespace; answers its number.
pub fn create_namespace(c: Repo, ns: &Namespace) -> Result<i64> {
    c.insert_namespace(ns)?
        .ok_or_else(|| Error::Conflict(namespace_exists(&ns.namespace)))
}

/// Rewrites a namespace (by id): its name may change.
pub fn update_namespace(c: Repo, ns: &Namespace) -> Result<()> {
    unique(c.update_namespace(ns)?, || namespace_exists(&ns.namespace))
}

pub fn delete_namespace(c: Repo, id: i64) -> Result<()> {
    Ok(c.delete_namespace(id)?)
}

pub fn detail(c: Repo, ns: Namespace) -> Result<Detail> {
    Ok(Detail {
        associations: associations(c, ns.id)?,
        properties: properties(c, ns.id)?,
        objects: objects(c, ns.id)?,
        tags: tags(c, ns.id)?,
        namespace: ns,
    })
}

// ---------------------------------------------------------------- resource types

pub fn resource_types(c: Repo) -> Result<Vec<ResourceType>> {
    Ok(c.resource_types()?)
}

pub fn associations(c: Repo, ns: i64) -> Result<Vec<Association>> {
    Ok(c.associations(ns)?)
}

/// Every (namespace id, resource type) pair, for filtering lists.
pub fn all_associations(c: Repo) -> Result<Vec<(i64, String)>> {
    Ok(c.all_associations()?)
}

/// Associates a namespace with a resource type, which is recorded if it is new.
pub fn associate(c: Repo, ns: &Namespace, a: &Association) -> Result<()> {
    unique(c.associate(ns.id, a)?, || {
        format!(
            "The metadata definition resource-type association of resource-type={} to namespace={}, already exists.",
            a.name, ns.namespace
        )
    })
}

pub fn dissociate(c: Repo, ns: &Namespace, name: &str) -> Result<()> {
    if !c.dissociate(ns.id, name)? {
        return Err(Error::NotFound(format!(
            "The metadata definition resource-type association of resource-type={name} to namespace={} was not found.",
            ns.namespace
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------- properties

pub fn properties(c: Repo, ns: i64) -> Result<Vec<Property>> {
    Ok(c.properties(ns)?)
}

fn property_not_found(ns: &Namespace, name: &str) -> Error {
    Error::NotFound(format!(
        "Metadata definition property={name} was not found in namespace={}.",
        ns.namespace
    ))
}

fn property_exists(ns: &Namespace, name: &str) -> String {
    format!(
        "A metadata definition property with name={name} already exists in namespace={}.",
        ns.namespace
    )
}

pub fn get_property(c: Repo, ns: &Namespace, name: &str) -> Result<Property> {
    c.property(ns.id, name)?
        .ok_or_else(|| property_not_found(ns, name))
}

pub fn create_property(c: Repo, ns: &Namespace, p: &Property, now: &str) -> Result<()> {
    unique(c.insert_property(ns.id, p, now)?, || {
        property_exists(ns, &p.name)
    })
}

/// Replaces property `old` by `p` (its name may change).
pub fn update_property(c: Repo, ns: &Namespace, old: &str, p: &Property, now: &str) -> Result<()> {
    get_property(c, ns, old)?;
    unique(c.update_property(ns.id, old, p, now)?, || {
        property_exists(ns, &p.name)
    })
}

// ---------------------------------------------------------------- objects

pub fn objects(c: Repo, ns: i64) -> Result<Vec<Object>> {
    Ok(c.objects(ns)?)
}

fn object_not_found(ns: &Namespace, name: &str) -> Error {
    Error::NotFound(format!(
        "Metadata definition object={name} was not found in namespace={}.",
        ns.namespace
    ))
}

pub fn get_object(c: Repo, ns: &Namespace, name: &str) -> Result<Object> {
    c.object(ns.id, name)?
        .ok_or_else(|| object_not_found(ns, name))
}

fn object_exists(ns: &Namespace, name: &str) -> String {
    format!(
        "A metadata definition object with name={name} already exists in namespace={}.",
        ns.namespace
    )
}

pub fn create_object(c: Repo, ns: &Namespace, o: &Object) -> Result<()> {
    unique(c.insert_object(ns.id, o)?, || object_exists(ns, &o.name))
}

/// Replaces object `old` by `o` (its name may change; its creation time stays).
pub fn update_object(c: Repo, ns: &Namespace, old: &str, o: &Object) -> Result<()> {
    get_object(c, ns, old)?;
    unique(c.update_object(ns.id, old, o)?, || {
        object_exists(ns, &o.name)
    })
}

// ---------------------------------------------------------------- tags

pub fn tags(c: Repo, ns: i64) -> Result<Vec<Tag>> {
    Ok(c.tags(ns)?)
}

fn tag_not_found(ns: &Namespace, name: &str) -> Error {
    Error::NotFound(format!(
        "Metadata definition tag={name} was not found in namespace={}.",
        ns.namespace
    ))
}

fn tag_exists(ns: &Namespace, name: &str) -> String {
    format!(
        "A metadata tag with name={name} already exists in namespace={}.",
        ns.namespace
    )
}

pub fn get_tag(c: Repo, ns: &Namespace, name: &str) -> Result<Tag> {
    c.tag(ns.id, name)?.ok_or_else(|| tag_not_found(ns, name))
}

pub fn create_tag(c: Repo, ns: &Namespace, name: &str, now: &str) -> Result<Tag> {
    unique(c.insert_tag(ns.id, name, now)?, || tag_exists(ns, name))?;
    Ok(Tag {
        name: name.into(),
        created_at: now.into(),
        updated_at: now.into(),
    })
}

pub fn rename_tag(c: Repo, ns: &Namespace, old: &str, new: &str, now: &str) -> Result<Tag> {
    get_tag(c, ns, old)?;
    unique(c.rename_tag(ns.id, old, new, now)?, || tag_exists(ns, new))?;
    get_tag(c, ns, new)
}

/// A namespace's members of one kind, for what every kind does alike.
#[derive(Debug, Clone, Copy)]
pub enum Member {
    Property,
    Object,
    Tag,
}

impl Member {
    fn not_found(self, ns: &Namespace, name: &str) -> Error {
        match self {
            Member::Property => property_not_found(ns, name),
            Member::Object => object_not_found(ns, name),
            Member::Tag => tag_not_found(ns, name),
        }
    }
}

/// Deletes the member `name` of `kind` (its 404 if there is none).
pub fn delete_member(c: Repo, kind: Member, ns: &Namespace, name: &str) -> Result<()> {
    if !c.delete_metadef(kind, ns.id, name)? {
        return Err(kind.not_found(ns, name));
    }
    Ok(())
}

/// Deletes every member of `kind`.
pub fn delete_members(c: Repo, kind: Member, ns: &Namespace) -> Result<()> {
    Ok(c.delete_metadefs(kind, ns.id)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: impl FnOnce(Repo)) {
        let store = crate::store::Store::memory();
        store
            .write(|tx| {
                f(tx);
                Ok::<_, crate::store::StoreError>(())
            })
            .unwrap();
    }

    #[test]
    fn the_seeded_namespace_describes_common_image_properties() {
        run(|c| {
            let ns = get_namespace(c, "OS::Glance::CommonImageProperties").unwrap();
            assert_eq!(ns.visibility, "public");
            assert!(ns.protected);
            assert!(ns.visible_to(Some("someone"), false));
            let d = detail(c, ns).unwrap();
            let names: Vec<_> = d.properties.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(names, ["os_distro", "os_type", "os_version"]);
            assert_eq!(d.properties[0].schema["type"], "string");
            let types: Vec<_> = d.associations.iter().map(|a| a.name.as_str()).collect();
            assert!(types.contains(&"OS::Glance::Image"));
            assert!(resource_types(c).unwrap().len() >= 4);
        });
    }

    #[test]
    fn deleting_a_namespace_takes_its_contents_and_names_stay_unique() {
        run(|c| {
            let now = "2026-01-01T00:00:00Z".to_string();
            let mut ns = Namespace {
                id: 0,
                namespace: "n".into(),
                display_name: None,
                description: None,
                visibility: "private".into(),
                protected: false,
                owner: Some("p".into()),
                created_at: now.clone(),
                updated_at: now.clone(),
            };
            ns.id = create_namespace(c, &ns).unwrap();
            assert!(!ns.visible_to(Some("q"), false));
            assert!(matches!(create_namespace(c, &ns), Err(Error::Conflict(_))));
            create_tag(c, &ns, "t", &now).unwrap();
            assert!(matches!(
                create_tag(c, &ns, "t", &now),
                Err(Error::Conflict(_))
            ));
            let a = Association {
                name: "X::Y".into(),
                prefix: Some("x_".into()),
                properties_target: None,
                created_at: now.clone(),
                updated_at: now.clone(),
            };
            associate(c, &ns, &a).unwrap();
            delete_namespace(c, ns.id).unwrap();
            assert!(tags(c, ns.id).unwrap().is_empty());
            assert!(all_associations(c)
                .unwrap()
                .iter()
                .all(|(id, _)| *id != ns.id));
        });
    }
}
