//! Placement's state and its rules: providers (a tree, each with a generation that every
//! change to its inventory, traits, aggregates or allocations moves on), inventories and
//! their capacity, resource classes and traits (standard as data, custom as rows),
//! consumers with generations, and the allocations that must fit. No HTTP here: the API
//! side turns [`Error`] into Placement's faults.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::repo::PlacementRepo;
use super::standard::{STANDARD_CLASSES, STANDARD_TRAITS};
use crate::store::{StoreError, Unique};

/// `placement/db/constants.py`: the largest integer an inventory field may hold.
pub const MAX_INT: i64 = 2_147_483_647;
/// `SQL_SP_FLOAT_MAX`: the largest allocation ratio (a single-precision column there).
pub const MAX_RATIO: f64 = 3.40282e38;

/// Placement's error codes (`placement/errors.py`), shown from 1.23.
pub mod code {
    pub const CONCURRENT_UPDATE: &str = "placement.concurrent_update";
    pub const INVENTORY_INUSE: &str = "placement.inventory.inuse";
    pub const DUPLICATE_NAME: &str = "placement.duplicate_name";
    pub const PROVIDER_IN_USE: &str = "placement.resource_provider.inuse";
    pub const PROVIDER_CANNOT_DELETE_PARENT: &str =
        "placement.resource_provider.cannot_delete_parent";
    pub const QUERYPARAM_BAD_VALUE: &str = "placement.query.bad_value";
    pub const QUERYPARAM_MISSING_VALUE: &str = "placement.query.missing_value";
    pub const QUERYPARAM_DUPLICATE: &str = "placement.query.duplicate_key";
}

#[derive(Debug)]
pub enum Error {
    /// 404, with Placement's detail.
    NotFound(String),
    /// 400.
    Invalid(String),
    /// 409, with its error code when Placement names one.
    Conflict(String, Option<&'static str>),
    Store(StoreError),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;
pub type Repo<'a> = &'a dyn PlacementRepo;

fn conflict(message: impl Into<String>, code: &'static str) -> Error {
    Error::Conflict(message.into(), Some(code))
}

#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    pub uuid: String,
    pub name: String,
    pub generation: i64,
    pub parent: Option<String>,
    pub root: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    pub resource_class: String,
    pub total: i64,
    pub reserved: i64,
    pub min_unit: i64,
    pub max_unit: i64,
    pub step_size: i64,
    pub allocation_ratio: f64,
}

impl Inventory {
    /// An inventory of `total` with Placement's defaults for every other field.
    pub fn of(resource_class: &str, total: i64) -> Inventory {
        Inventory {
            resource_class: resource_class.to_string(),
            total,
            reserved: 0,
            min_unit: 1,
            max_unit: MAX_INT,
            step_size: 1,
            allocation_ratio: 1.0,
        }
    }

    /// What may be allocated: `(total - reserved) * allocation_ratio`, as Placement
    /// computes it (a float; the fields are bounded, so it is finite).
    pub fn capacity_f(&self) -> f64 {
        (self.total - self.reserved) as f64 * self.allocation_ratio
    }

    /// The capacity Placement shows (`int(...)`).
    pub fn capacity(&self) -> i64 {
        let c = self.capacity_f();
        if c >= i64::MAX as f64 {
            i64::MAX
        } else {
            c.trunc() as i64
        }
    }

    /// Whether `amount` more fits beside `used`, within the unit rules.
    pub fn fits(&self, used: i64, amount: i64) -> Fit {
        if amount < self.min_unit || amount > self.max_unit || amount % self.step_size != 0 {
            return Fit::Constraints;
        }
        if self.capacity_f() < used.saturating_add(amount) as f64 {
            return Fit::Capacity;
        }
        Fit::Yes
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    Yes,
    /// Outside min_unit..=max_unit or not a multiple of step_size.
    Constraints,
    /// More than the capacity left.
    Capacity,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    pub uuid: String,
    pub project_id: String,
    pub user_id: String,
    pub consumer_type: Option<String>,
    pub generation: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    pub provider: String,
    pub resource_class: String,
    pub used: i64,
}

// --- names --------------------------------------------------------------------------

/// `^[A-Z0-9_]+$`: how a resource class or trait may be spelled.
pub fn well_formed(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// `^CUSTOM_[A-Z0-9_]+$`, at most 255 characters.
pub fn custom_name(name: &str) -> bool {
    name.len() <= 255 && name.strip_prefix("CUSTOM_").is_some_and(well_formed)
}

pub fn is_standard_class(name: &str) -> bool {
    STANDARD_CLASSES.contains(&name)
}

pub fn is_standard_trait(name: &str) -> bool {
    STANDARD_TRAITS.binary_search(&name).is_ok()
}

/// Every resource class: the standard ones in `os-resource-classes` order, then the custom.
pub fn classes(c: Repo) -> Result<Vec<String>> {
    let mut out: Vec<String> = STANDARD_CLASSES.iter().map(|s| s.to_string()).collect();
    out.extend(c.custom_classes()?);
    Ok(out)
}

pub fn class_exists(c: Repo, name: &str) -> Result<bool> {
    Ok(is_standard_class(name) || c.custom_classes()?.iter().any(|n| n == name))
}

/// Every trait, by name.
pub fn traits(c: Repo) -> Result<Vec<String>> {
    let mut out: Vec<String> = STANDARD_TRAITS.iter().map(|s| s.to_string()).collect();
    out.extend(c.custom_traits()?);
    out.sort();
    Ok(out)
}

pub fn trait_exists(c: Repo, name: &str) -> Result<bool> {
    Ok(is_standard_trait(name) || c.custom_traits()?.iter().any(|n| n == name))
}

/// The names of `wanted` that are no trait, for "No such trait(s): …".
pub fn missing_traits(c: Repo, wanted: &[String]) -> Result<Vec<String>> {
    let custom: BTreeSet<String> = c.custom_traits()?.into_iter().collect();
    Ok(wanted
        .iter()
        .filter(|t| !is_standard_trait(t) && !custom.contains(*t))
        .cloned()
        .collect())
}

// --- resource classes -----------------------------------------------------------------

/// Creates a custom class; `Ok(false)` when it exists.
pub fn create_class(c: Repo, name: &str) -> Result<bool> {
    if !custom_name(name) {
        return Err(Error::Invalid(format!(
            "JSON does not validate: '{name}' does not match '^CUSTOM_[A-Z0-9_]+$'"
        )));
    }
    let now = crate::time::now_iso();
    Ok(c.insert_custom_class(name, &now)? == Unique::Stored)
}

pub fn rename_class(c: Repo, old: &str, new: &str) -> Result<()> {
    if is_standard_class(old) {
        return Err(Error::Invalid(format!(
            "Cannot update standard resource class {old}"
        )));
    }
    if !c.custom_classes()?.iter().any(|n| n == old) {
        return Err(Error::NotFound(format!("No such resource class {old}.")));
    }
    if is_standard_class(new) || c.rename_custom_class(old, new)? == Unique::Taken {
        return Err(conflict(
            format!("Resource class already exists: {new}"),
            code::DUPLICATE_NAME,
        ));
    }
    Ok(())
}

pub fn delete_class(c: Repo, name: &str) -> Result<()> {
    if is_standard_class(name) {
        return Err(Error::Invalid(format!(
            "Cannot delete standard resource class {name}: Cannot delete standard resource class {name}."
        )));
    }
    if !c.custom_classes()?.iter().any(|n| n == name) {
        return Err(Error::NotFound(format!("No such resource class {name}.")));
    }
    if c.class_in_use(name)? {
        return Err(Error::Conflict(
            format!(
                "Unable to delete resource class {name}: Cannot delete resource class {name}. Class is in use in inventory."
            ),
            None,
        ));
    }
    c.delete_custom_class(name)?;
    Ok(())
}

// --- traits ---------------------------------------------------------------------------

/// Creates a custom trait; `Ok(false)` when it exists (standard or custom).
pub fn create_trait(c: Repo, name: &str) -> Result<bool> {
    if !custom_name(name) {
        if is_standard_trait(name) {
            return Ok(false);
        }
        return Err(Error::Invalid(
            "The trait is invalid. A valid trait must be no longer than 255 characters, start with the prefix \"CUSTOM_\" and use following characters: \"A\"-\"Z\", \"0\"-\"9\" and \"_\"".into(),
        ));
    }
    let now = crate::time::now_iso();
    Ok(c.insert_custom_trait(name, &now)? == Unique::Stored)
}

pub fn delete_trait(c: Repo, name: &str) -> Result<()> {
    if is_standard_trait(name) {
        return Err(Error::Invalid(format!(
            "Cannot delete standard trait {name}."
        )));
    }
    if !c.custom_traits()?.iter().any(|n| n == name) {
        return Err(Error::NotFound(format!("No such trait(s): {name}.")));
    }
    if c.trait_in_use(name)? {
        return Err(Error::Conflict(
            format!("The trait {name} is in use by a resource provider."),
            None,
        ));
    }
    c.delete_custom_trait(name)?;
    Ok(())
}

// --- providers ------------------------------------------------------------------------

pub fn get(c: Repo, uuid: &str) -> Result<Provider> {
    c.provider(uuid)?
        .ok_or_else(|| Error::NotFound(format!("No resource provider with uuid {uuid} found")))
}

/// Checks the generation a request names against the provider's.
pub fn check_generation(p: &Provider, named: i64, message: &str) -> Result<()> {
    if p.generation != named {
        return Err(conflict(message, code::CONCURRENT_UPDATE));
    }
    Ok(())
}

/// Moves the provider's generation on: something it holds changed.
fn bump(c: Repo, p: &mut Provider) -> Result<()> {
    p.generation = p.generation.saturating_add(1);
    p.updated_at = crate::time::now_iso();
    // The name is unchanged, so it cannot be taken.
    let _ = c.update_provider(p)?;
    Ok(())
}

pub fn create_provider(c: Repo, uuid: &str, name: &str, parent: Option<&str>) -> Result<Provider> {
    let root = match parent {
        None => uuid.to_string(),
        Some(parent_uuid) => match c.provider(parent_uuid)? {
            Some(pp) => pp.root,
            None => {
                return Err(Error::Invalid(format!(
                    "Unable to create resource provider \"{name}\", {uuid}: Object action create failed because: parent provider UUID does not exist."
                )))
            }
        },
    };
    if c.provider(uuid)?.is_some() {
        return Err(conflict(
            format!("Conflicting resource provider uuid: {uuid} already exists."),
            code::DUPLICATE_NAME,
        ));
    }
    if c.provider_by_name(name)?.is_some() {
        return Err(conflict(
            format!("Conflicting resource provider name: {name} already exists."),
            code::DUPLICATE_NAME,
        ));
    }
    let now = crate::time::now_iso();
    let p = Provider {
        uuid: uuid.to_string(),
        name: name.to_string(),
        generation: 0,
        parent: parent.map(str::to_string),
        root,
        created_at: now.clone(),
        updated_at: now,
    };
    if c.insert_provider(&p)? == Unique::Taken {
        return Err(conflict(
            format!("Conflicting resource provider name: {name} already exists."),
            code::DUPLICATE_NAME,
        ));
    }
    Ok(p)
}

/// What a PUT of a provider may change: its name and, from 1.14, its parent (`Some(None)`
/// un-parents).
pub struct ProviderUpdate<'a> {
    pub name: Option<&'a str>,
    pub parent: Option<Option<&'a str>>,
    /// 1.37: re-parenting and un-parenting allowed.
    pub may_reparent: bool,
}

pub fn update_provider(c: Repo, uuid: &str, u: ProviderUpdate) -> Result<Provider> {
    let mut p = get(c, uuid)?;
    let fail = |why: &str| {
        Error::Invalid(format!(
            "Unable to save resource provider {uuid}: Object action update failed because: {why}"
        ))
    };
    if let Some(name) = u.name {
        if name != p.name {
            if c.provider_by_name(name)?.is_some() {
                return Err(conflict(
                    format!("Conflicting resource provider {name} already exists."),
                    code::DUPLICATE_NAME,
                ));
            }
            p.name = name.to_string();
        }
    }
    if let Some(parent) = u.parent {
        if parent != p.parent.as_deref() {
            match parent {
                None if !u.may_reparent => {
                    return Err(fail("un-parenting a provider is not currently allowed."))
                }
                Some(_) if p.parent.is_some() && !u.may_reparent => {
                    return Err(fail("re-parenting a provider is not currently allowed."))
                }
                _ => {}
            }
            let all = c.providers()?;
            let new_root = match parent {
                None => p.uuid.clone(),
                Some(new_parent) => {
                    let Some(np) = all.iter().find(|x| x.uuid == new_parent) else {
                        return Err(fail("parent provider UUID does not exist."));
                    };
                    // The new parent may not be the provider or one of its descendants.
                    if subtree(&all, &p.uuid).contains(new_parent) {
                        return Err(fail("creating loop in the provider tree is not allowed."));
                    }
                    np.root.clone()
                }
            };
            p.parent = parent.map(str::to_string);
            if new_root != p.root {
                for d in subtree(&all, &p.uuid) {
                    if d == p.uuid {
                        continue;
                    }
                    if let Some(mut dp) = all.iter().find(|x| x.uuid == d).cloned() {
                        dp.root = new_root.clone();
                        // Only the root changes: no name is taken.
                        let _ = c.update_provider(&dp)?;
                    }
                }
                p.root = new_root;
            }
        }
    }
    p.updated_at = crate::time::now_iso();
    if c.update_provider(&p)? == Unique::Taken {
        return Err(conflict(
            format!("Conflicting resource provider {} already exists.", p.name),
            code::DUPLICATE_NAME,
        ));
    }
    Ok(p)
}

/// The provider and everything below it.
pub fn subtree(all: &[Provider], uuid: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::from([uuid.to_string()]);
    loop {
        let before = out.len();
        for p in all {
            if p.parent.as_ref().is_some_and(|pp| out.contains(pp)) {
                out.insert(p.uuid.clone());
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

pub fn delete_provider(c: Repo, uuid: &str) -> Result<()> {
    let Some(_) = c.provider(uuid)? else {
        return Err(Error::NotFound(format!(
            "No resource provider with uuid {uuid} found for delete"
        )));
    };
    if !c.provider_allocations(uuid)?.is_empty() {
        return Err(conflict(
            format!(
                "Unable to delete resource provider {uuid}: Resource provider has allocations."
            ),
            code::PROVIDER_IN_USE,
        ));
    }
    if c.providers()?
        .iter()
        .any(|p| p.parent.as_deref() == Some(uuid))
    {
        return Err(conflict(
            format!("Unable to delete parent resource provider {uuid}: It has child resource providers."),
            code::PROVIDER_CANNOT_DELETE_PARENT,
        ));
    }
    c.delete_provider(uuid)?;
    Ok(())
}

// --- inventories ----------------------------------------------------------------------

/// What is used of each class on `provider`.
pub fn usages(c: Repo, provider: &str) -> Result<BTreeMap<String, i64>> {
    Ok(c.provider_usages(provider)?.into_iter().collect())
}

/// Placement's capacity rule: `(total - reserved) * ratio` must be positive (before 1.26)
/// or not negative (1.26: reserved may equal total).
fn check_capacity(uuid: &str, inv: &Inventory, reserved_can_be_total: bool) -> Result<()> {
    let cap = inv.capacity_f();
    if reserved_can_be_total && cap < 0.0 {
        return Err(Error::Invalid(format!(
            "Unable to update inventory for resource provider {uuid}: Invalid inventory for '{}' on resource provider '{uuid}'. The reserved value is greater than total.",
            inv.resource_class
        )));
    }
    if !reserved_can_be_total && cap <= 0.0 {
        return Err(Error::Invalid(format!(
            "Unable to update inventory for resource provider {uuid}: Invalid inventory for '{}' on resource provider '{uuid}'. The reserved value is greater than or equal to total.",
            inv.resource_class
        )));
    }
    Ok(())
}

/// Replaces every inventory of the provider (PUT …/inventories), at `generation`.
pub fn set_inventories(
    c: Repo,
    uuid: &str,
    generation: i64,
    inv: Vec<Inventory>,
    reserved_can_be_total: bool,
) -> Result<(Provider, Vec<Inventory>)> {
    let mut p = get(c, uuid)?;
    check_generation(&p, generation, "resource provider generation conflict")?;
    for i in &inv {
        if !class_exists(c, &i.resource_class)? {
            return Err(Error::Invalid(format!(
                "Unknown resource class in inventory for resource provider {uuid}: No such resource class {}.",
                i.resource_class
            )));
        }
        check_capacity(uuid, i, reserved_can_be_total)?;
    }
    let used = usages(c, uuid)?;
    let gone: Vec<&String> = used
        .keys()
        .filter(|rc| !inv.iter().any(|i| &i.resource_class == *rc))
        .collect();
    if !gone.is_empty() {
        let names: Vec<&str> = gone.iter().map(|s| s.as_str()).collect();
        return Err(conflict(
            format!(
                "update conflict: Inventory for '{}' on resource provider '{uuid}' in use.",
                names.join(", ")
            ),
            code::INVENTORY_INUSE,
        ));
    }
    let mut inv = inv;
    inv.sort_by(|a, b| a.resource_class.cmp(&b.resource_class));
    c.replace_inventories(uuid, &inv)?;
    bump(c, &mut p)?;
    Ok((p, inv))
}

/// Adds one inventory (POST …/inventories).
pub fn add_inventory(
    c: Repo,
    uuid: &str,
    generation: Option<i64>,
    i: Inventory,
    reserved_can_be_total: bool,
) -> Result<(Provider, Inventory)> {
    let mut p = get(c, uuid)?;
    if let Some(g) = generation {
        check_generation(&p, g, "resource provider generation conflict")?;
    }
    if !class_exists(c, &i.resource_class)? {
        return Err(Error::Invalid(format!(
            "Unable to create inventory for resource provider {uuid}: No such resource class {}.",
            i.resource_class
        )));
    }
    check_capacity(uuid, &i, reserved_can_be_total)?;
    let mut all = c.inventories(uuid)?;
    if all.iter().any(|x| x.resource_class == i.resource_class) {
        return Err(conflict(
            format!(
                "Update conflict: Inventory for {} on resource provider {uuid} already exists.",
                i.resource_class
            ),
            code::CONCURRENT_UPDATE,
        ));
    }
    all.push(i.clone());
    all.sort_by(|a, b| a.resource_class.cmp(&b.resource_class));
    c.replace_inventories(uuid, &all)?;
    bump(c, &mut p)?;
    Ok((p, i))
}

/// Rewrites one inventory (PUT …/inventories/{rc}).
pub fn update_inventory(
    c: Repo,
    uuid: &str,
    generation: i64,
    i: Inventory,
    reserved_can_be_total: bool,
) -> Result<(Provider, Inventory)> {
    let mut p = get(c, uuid)?;
    check_generation(&p, generation, "resource provider generation conflict")?;
    let mut all = c.inventories(uuid)?;
    let Some(slot) = all
        .iter_mut()
        .find(|x| x.resource_class == i.resource_class)
    else {
        return Err(Error::Invalid(format!(
            "No inventory record with resource class for resource provider {uuid}: No inventory of class {} found",
            i.resource_class
        )));
    };
    check_capacity(uuid, &i, reserved_can_be_total)?;
    *slot = i.clone();
    c.replace_inventories(uuid, &all)?;
    bump(c, &mut p)?;
    Ok((p, i))
}

/// Deletes one inventory; refused while allocations use it.
pub fn delete_inventory(c: Repo, uuid: &str, rc: &str) -> Result<()> {
    let mut p = get(c, uuid)?;
    let mut all = c.inventories(uuid)?;
    let before = all.len();
    all.retain(|x| x.resource_class != rc);
    if all.len() == before {
        return Err(Error::NotFound(format!(
            "No inventory of class {rc} found for delete: No inventory of class {rc} found for delete"
        )));
    }
    if usages(c, uuid)?.get(rc).is_some_and(|u| *u > 0) {
        return Err(conflict(
            format!("Unable to delete inventory of class {rc}: Inventory for '{rc}' on resource provider '{uuid}' in use."),
            code::CONCURRENT_UPDATE,
        ));
    }
    c.replace_inventories(uuid, &all)?;
    bump(c, &mut p)?;
    Ok(())
}

/// Deletes every inventory (1.5); refused while allocations use any.
pub fn delete_inventories(c: Repo, uuid: &str) -> Result<()> {
    let mut p = get(c, uuid)?;
    let used = usages(c, uuid)?;
    if used.values().any(|u| *u > 0) {
        let names: Vec<&str> = used.keys().map(String::as_str).collect();
        return Err(conflict(
            format!(
                "Unable to delete inventory for resource provider {uuid} because the inventory is in use: Inventory for '{}' on resource provider '{uuid}' in use.",
                names.join(", ")
            ),
            code::INVENTORY_INUSE,
        ));
    }
    c.replace_inventories(uuid, &[])?;
    bump(c, &mut p)?;
    Ok(())
}

// --- traits and aggregates of a provider ------------------------------------------------

pub fn set_provider_traits(
    c: Repo,
    uuid: &str,
    generation: i64,
    traits: &[String],
) -> Result<Provider> {
    let mut p = get(c, uuid)?;
    check_generation(
        &p,
        generation,
        "Resource provider's generation already changed. Please update the generation and try again.",
    )?;
    let missing = missing_traits(c, traits)?;
    if !missing.is_empty() {
        return Err(Error::Invalid(format!(
            "No such trait(s): {}.",
            missing.join(", ")
        )));
    }
    c.replace_provider_traits(uuid, traits)?;
    bump(c, &mut p)?;
    Ok(p)
}

pub fn delete_provider_traits(c: Repo, uuid: &str) -> Result<()> {
    let mut p = get(c, uuid)?;
    c.replace_provider_traits(uuid, &[])?;
    bump(c, &mut p)?;
    Ok(())
}

/// Sets the provider's aggregates; from 1.19 at `generation`, moving it on.
pub fn set_provider_aggregates(
    c: Repo,
    uuid: &str,
    generation: Option<i64>,
    aggregates: &[String],
) -> Result<Provider> {
    let mut p = get(c, uuid)?;
    if let Some(g) = generation {
        check_generation(
            &p,
            g,
            "Resource provider's generation already changed. Please update the generation and try again.",
        )?;
    }
    c.replace_provider_aggregates(uuid, aggregates)?;
    if generation.is_some() {
        bump(c, &mut p)?;
    }
    Ok(p)
}

// --- allocations ----------------------------------------------------------------------

/// One consumer's allocations as a request sets them.
pub struct ConsumerRequest {
    pub consumer: String,
    /// provider → class → amount.
    pub allocations: BTreeMap<String, BTreeMap<String, i64>>,
    pub project_id: String,
    pub user_id: String,
    /// From 1.28: the generation the caller saw (`None`: a new consumer). Before 1.28 the
    /// generation is not checked.
    pub generation: Option<Option<i64>>,
    pub consumer_type: Option<String>,
}

/// Sets the allocations of one or more consumers at once, all or none: every amount within
/// its inventory's units and capacity (the consumers' own earlier allocations freed
/// first), every touched provider's generation moved on, and the consumers' generations.
pub fn set_allocations(c: Repo, requests: &[ConsumerRequest]) -> Result<()> {
    let mut consumers = Vec::new();
    for r in requests {
        let existing = check_consumer_generation(c, r)?;
        consumers.push((r, existing));
    }
    set_checked_allocations(c, consumers)
}

/// The consumer a request names, after checking the generation it names (from 1.28).
fn check_consumer_generation(c: Repo, r: &ConsumerRequest) -> Result<Option<Consumer>> {
    let existing = c.consumer(&r.consumer)?;
    if let Some(named) = r.generation {
        match (&existing, named) {
            (Some(e), Some(g)) if e.generation == g => {}
            (Some(e), g) => {
                return Err(conflict(
                    format!(
                        "consumer generation conflict - expected {} but got {}",
                        e.generation,
                        g.map_or("None".to_string(), |g| g.to_string())
                    ),
                    code::CONCURRENT_UPDATE,
                ))
            }
            (None, Some(g)) => {
                return Err(conflict(
                    format!("consumer generation conflict - expected null but got {g}"),
                    code::CONCURRENT_UPDATE,
                ))
            }
            (None, None) => {}
        }
    }
    Ok(existing)
}

/// Writes the allocations of consumers whose generations were checked. Every amount is
/// checked first, against what the providers hold less what these consumers hold now (they
/// are replaced); only when all fit is anything written, so a refusal leaves the
/// transaction as it was. The generations that move are those of the providers the new
/// allocations are on (Placement's `_set_allocations`): a provider only freed keeps its.
fn set_checked_allocations(
    c: Repo,
    consumers: Vec<(&ConsumerRequest, Option<Consumer>)>,
) -> Result<()> {
    let mut touched: BTreeSet<String> = BTreeSet::new();
    let mut held: HashMap<(String, String), i64> = HashMap::new();
    for (r, _) in &consumers {
        for a in c.consumer_allocations(&r.consumer)? {
            let slot = held.entry((a.provider, a.resource_class)).or_insert(0);
            *slot = slot.saturating_add(a.used);
        }
    }
    // What is used of each touched provider, read when first needed (not the whole cloud's).
    let mut used: HashMap<(String, String), i64> = HashMap::new();
    let mut read: BTreeSet<String> = BTreeSet::new();
    let mut plans = Vec::new();
    for (r, existing) in &consumers {
        let mut rows = Vec::new();
        for (provider, resources) in &r.allocations {
            if c.provider(provider)?.is_none() {
                return Err(Error::Invalid(format!(
                    "Unable to allocate inventory for consumer {}: No such resource provider {provider}",
                    r.consumer
                )));
            }
            let inventories = c.inventories(provider)?;
            if read.insert(provider.clone()) {
                for (rc, u) in c.provider_usages(provider)? {
                    let key = (provider.clone(), rc);
                    let mine = held.get(&key).copied().unwrap_or(0);
                    used.insert(key, u.saturating_sub(mine));
                }
            }
            for (rc, amount) in resources {
                let Some(inv) = inventories.iter().find(|i| &i.resource_class == rc) else {
                    if !class_exists(c, rc)? {
                        return Err(Error::Invalid(format!(
                            "Unable to allocate inventory for consumer {}: No such resource class {rc}.",
                            r.consumer
                        )));
                    }
                    return Err(Error::Conflict(
                        format!("Unable to allocate inventory: Inventory for '{rc}' on resource provider '{provider}' invalid."),
                        None,
                    ));
                };
                let key = (provider.clone(), rc.clone());
                let now_used = used.get(&key).copied().unwrap_or(0);
                match inv.fits(now_used, *amount) {
                    Fit::Yes => {}
                    Fit::Constraints => return Err(Error::Conflict(
                        format!("Unable to allocate inventory: Unable to create allocation for '{rc}' on resource provider '{provider}'. The requested amount would violate inventory constraints."),
                        None,
                    )),
                    Fit::Capacity => return Err(Error::Conflict(
                        format!("Unable to allocate inventory: Unable to create allocation for '{rc}' on resource provider '{provider}'. The requested amount would exceed the capacity."),
                        None,
                    )),
                }
                used.insert(key, now_used.saturating_add(*amount));
                rows.push(Allocation {
                    provider: provider.clone(),
                    resource_class: rc.clone(),
                    used: *amount,
                });
                touched.insert(provider.clone());
            }
        }
        plans.push((r, existing, rows));
    }
    for (r, existing, rows) in plans {
        if rows.is_empty() {
            c.replace_consumer_allocations(&r.consumer, &[])?;
            // A consumer without allocations is no consumer (Placement deletes it).
            if existing.is_some() {
                c.delete_consumer(&r.consumer)?;
            }
            continue;
        }
        let consumer = Consumer {
            uuid: r.consumer.clone(),
            project_id: r.project_id.clone(),
            user_id: r.user_id.clone(),
            consumer_type: r
                .consumer_type
                .clone()
                .or_else(|| existing.as_ref().and_then(|e| e.consumer_type.clone())),
            generation: existing
                .as_ref()
                .map_or(1, |e| e.generation.saturating_add(1)),
        };
        c.save_consumer(&consumer)?;
        c.replace_consumer_allocations(&r.consumer, &rows)?;
    }
    for uuid in touched {
        if let Some(mut p) = c.provider(&uuid)? {
            bump(c, &mut p)?;
        }
    }
    Ok(())
}

/// `POST /reshaper` (1.30): replaces the inventories of the providers named and the
/// allocations of the consumers named together, so allocations can move to inventories
/// that only exist after the change. The listed consumers' old allocations are freed
/// first; then every inventory is replaced (each provider at its generation, a class
/// still used by others refused); then the new allocations are checked and written.
pub fn reshape(
    c: Repo,
    inventories: Vec<(String, i64, Vec<Inventory>)>,
    allocations: &[ConsumerRequest],
) -> Result<()> {
    for (uuid, generation, _) in &inventories {
        let Some(p) = c.provider(uuid)? else {
            return Err(Error::Invalid(format!(
                "Resource provider {uuid} in inventories not found: No resource provider with uuid {uuid} found"
            )));
        };
        if p.generation != *generation {
            return Err(conflict(
                format!(
                    "resource provider generation conflict for provider {uuid}: actual: {}, given: {generation}",
                    p.generation
                ),
                code::CONCURRENT_UPDATE,
            ));
        }
    }
    let mut freed: BTreeSet<String> = BTreeSet::new();
    for r in allocations {
        check_consumer_generation(c, r)?;
        for a in c.consumer_allocations(&r.consumer)? {
            freed.insert(a.provider);
        }
        c.replace_consumer_allocations(&r.consumer, &[])?;
    }
    for (uuid, generation, inv) in inventories {
        set_inventories(c, &uuid, generation, inv, true)?;
    }
    // The consumers' generations were checked above and have not moved since.
    set_allocations(c, allocations)?;
    for uuid in freed {
        if let Some(mut p) = c.provider(&uuid)? {
            bump(c, &mut p)?;
        }
    }
    Ok(())
}

/// Writes a consumer's allocations without asking whether they fit: for what already
/// runs and was never recorded (Nova's `heal_allocations`), where refusing would only
/// hide the usage. Amounts and providers are still the request's as given.
pub fn force_allocations(c: Repo, r: &ConsumerRequest) -> Result<()> {
    let existing = c.consumer(&r.consumer)?;
    let mut rows = Vec::new();
    for (provider, resources) in &r.allocations {
        for (rc, amount) in resources {
            rows.push(Allocation {
                provider: provider.clone(),
                resource_class: rc.clone(),
                used: *amount,
            });
        }
    }
    c.save_consumer(&Consumer {
        uuid: r.consumer.clone(),
        project_id: r.project_id.clone(),
        user_id: r.user_id.clone(),
        consumer_type: r.consumer_type.clone(),
        generation: existing.map_or(1, |e| e.generation.saturating_add(1)),
    })?;
    c.replace_consumer_allocations(&r.consumer, &rows)?;
    for uuid in r.allocations.keys() {
        if let Some(mut p) = c.provider(uuid)? {
            bump(c, &mut p)?;
        }
    }
    Ok(())
}

/// Deletes every allocation of a consumer, and the consumer. No provider's generation moves
/// (Placement's `delete_all` leaves them).
pub fn delete_allocations(c: Repo, consumer: &str) -> Result<()> {
    if c.consumer_allocations(consumer)?.is_empty() {
        return Err(Error::NotFound(format!(
            "No allocations for consumer '{consumer}'"
        )));
    }
    c.delete_consumer(consumer)?;
    Ok(())
}

// --- queries over every provider ---------------------------------------------------------

/// Everything the list and candidate queries look at, read once.
pub struct World {
    pub providers: Vec<Provider>,
    pub inventories: HashMap<String, Vec<Inventory>>,
    pub used: HashMap<(String, String), i64>,
    pub traits: HashMap<String, BTreeSet<String>>,
    pub aggregates: HashMap<String, BTreeSet<String>>,
}

impl World {
    pub fn read(c: Repo) -> Result<World> {
        let mut inventories: HashMap<String, Vec<Inventory>> = HashMap::new();
        for (p, i) in c.all_inventories()? {
            inventories.entry(p).or_default().push(i);
        }
        let mut traits: HashMap<String, BTreeSet<String>> = HashMap::new();
        for (p, t) in c.all_provider_traits()? {
            traits.entry(p).or_default().insert(t);
        }
        let mut aggregates: HashMap<String, BTreeSet<String>> = HashMap::new();
        for (p, a) in c.all_provider_aggregates()? {
            aggregates.entry(p).or_default().insert(a);
        }
        Ok(World {
            providers: c.providers()?,
            inventories,
            used: c
                .all_usages()?
                .into_iter()
                .map(|(p, rc, u)| ((p, rc), u))
                .collect(),
            traits,
            aggregates,
        })
    }

    pub fn used(&self, provider: &str, rc: &str) -> i64 {
        self.used
            .get(&(provider.to_string(), rc.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Whether the provider has room for every `(class, amount)`.
    pub fn has_room(&self, provider: &str, resources: &[(String, i64)]) -> bool {
        let inv = self.inventories.get(provider);
        resources.iter().all(|(rc, amount)| {
            inv.and_then(|all| all.iter().find(|i| &i.resource_class == rc))
                .is_some_and(|i| i.fits(self.used(provider, rc), *amount) == Fit::Yes)
        })
    }

    /// Whether the provider's traits satisfy the trait filter.
    pub fn has_traits(&self, provider: &str, f: &TraitFilter) -> bool {
        let empty = BTreeSet::new();
        let have = self.traits.get(provider).unwrap_or(&empty);
        f.required.iter().all(|t| have.contains(t))
            && f.forbidden.iter().all(|t| !have.contains(t))
            && f.any_of.iter().all(|g| g.iter().any(|t| have.contains(t)))
    }

    /// Whether the provider is in the aggregates the filter asks for.
    pub fn in_aggregates(&self, provider: &str, f: &AggregateFilter) -> bool {
        let empty = BTreeSet::new();
        let have = self.aggregates.get(provider).unwrap_or(&empty);
        f.any_of.iter().all(|g| g.iter().any(|a| have.contains(a)))
            && f.forbidden.iter().all(|a| !have.contains(a))
    }
}

/// `required=`: traits a provider must have, must not have (`!`, 1.22) and groups of which
/// it must have one (`in:`, 1.39).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TraitFilter {
    pub required: Vec<String>,
    pub forbidden: Vec<String>,
    pub any_of: Vec<Vec<String>>,
}

impl TraitFilter {
    pub fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = self.required.clone();
        out.extend(self.forbidden.iter().cloned());
        out.extend(self.any_of.iter().flatten().cloned());
        out
    }
}

/// `member_of=`: each entry a set of aggregates of which the provider must be in one;
/// `!` ones it must be in none of (1.32).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AggregateFilter {
    pub any_of: Vec<Vec<String>>,
    pub forbidden: Vec<String>,
}

/// The filters of `GET /resource_providers`.
#[derive(Debug, Default)]
pub struct ProviderFilter {
    pub name: Option<String>,
    pub uuid: Option<String>,
    pub in_tree: Option<String>,
    pub resources: Vec<(String, i64)>,
    pub traits: TraitFilter,
    pub member_of: AggregateFilter,
}

/// A query's classes and traits must exist (Placement's 400 otherwise).
fn check_query_names(c: Repo, resources: &[(String, i64)], traits: &TraitFilter) -> Result<()> {
    for (rc, _) in resources {
        if !class_exists(c, rc)? {
            return Err(Error::Invalid(format!(
                "Invalid resource class in resources parameter: No such resource class {rc}."
            )));
        }
    }
    let missing = missing_traits(c, &traits.names())?;
    if !missing.is_empty() {
        return Err(Error::Invalid(format!(
            "Invalid trait(s) in \"required\" parameter: No such trait(s): {}.",
            missing.join(", ")
        )));
    }
    Ok(())
}

pub fn list_providers(c: Repo, f: &ProviderFilter) -> Result<Vec<Provider>> {
    check_query_names(c, &f.resources, &f.traits)?;
    let w = World::read(c)?;
    let tree_root = match &f.in_tree {
        None => None,
        Some(t) => match w.providers.iter().find(|p| &p.uuid == t) {
            Some(p) => Some(p.root.clone()),
            None => return Ok(Vec::new()),
        },
    };
    Ok(w.providers
        .iter()
        .filter(|p| f.name.as_ref().is_none_or(|n| &p.name == n))
        .filter(|p| f.uuid.as_ref().is_none_or(|u| &p.uuid == u))
        .filter(|p| tree_root.as_ref().is_none_or(|r| &p.root == r))
        .filter(|p| w.has_room(&p.uuid, &f.resources))
        .filter(|p| w.has_traits(&p.uuid, &f.traits))
        .filter(|p| w.in_aggregates(&p.uuid, &f.member_of))
        .cloned()
        .collect())
}

mod candidates;
pub use candidates::{candidates, Found, Group, RequestWide};

// --- the compute node -------------------------------------------------------------------

/// What Nova's resource tracker reports for the compute node: its size, its allocation
/// ratios and the memory kept for the host itself.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSize {
    pub vcpus: i64,
    pub memory_mb: i64,
    pub disk_gb: i64,
    pub cpu_allocation_ratio: f64,
    pub ram_allocation_ratio: f64,
    pub disk_allocation_ratio: f64,
    pub reserved_host_memory_mb: i64,
}

/// The compute node's inventories, as nova-compute reports them (the reserved memory kept
/// below the total so the inventory stays valid on a small machine).
pub fn node_inventories(size: &NodeSize) -> Vec<Inventory> {
    let mut out = Vec::new();
    let mut add = |rc: &str, total: i64, reserved: i64, ratio: f64| {
        let total = total.clamp(0, MAX_INT);
        if total >= 1 {
            out.push(Inventory {
                reserved: reserved.min(total - 1).max(0),
                max_unit: total,
                allocation_ratio: ratio,
                ..Inventory::of(rc, total)
            });
        }
    };
    add("DISK_GB", size.disk_gb, 0, size.disk_allocation_ratio);
    add(
        "MEMORY_MB",
        size.memory_mb,
        size.reserved_host_memory_mb,
        size.ram_allocation_ratio,
    );
    add("VCPU", size.vcpus, 0, size.cpu_allocation_ratio);
    out
}

/// Makes the compute node a provider named `host` with uuid `uuid` whose inventory is the
/// machine's, creating it or putting its inventory right (the generation moves only when
/// something changed). Inventory that allocations use stays, as Nova's report leaves it
/// to Placement to refuse.
pub fn sync_compute_node(c: Repo, uuid: &str, host: &str, size: &NodeSize) -> Result<()> {
    let mut p = match c.provider(uuid)? {
        Some(p) => p,
        None => {
            if let Some(old) = c.provider_by_name(host)? {
                // Another provider holds the name: leave the operator's provider alone.
                let _ = old;
                return Ok(());
            }
            create_provider(c, uuid, host, None)?
        }
    };
    let want = node_inventories(size);
    let have = c.inventories(uuid)?;
    if want != have {
        let used = usages(c, uuid)?;
        let mut next = want;
        for h in have {
            if used.get(&h.resource_class).is_some_and(|u| *u > 0)
                && !next.iter().any(|i| i.resource_class == h.resource_class)
            {
                next.push(h);
            }
        }
        next.sort_by(|a, b| a.resource_class.cmp(&b.resource_class));
        c.replace_inventories(uuid, &next)?;
        bump(c, &mut p)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
