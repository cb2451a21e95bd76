//! `GET /allocation_candidates` as Placement's `objects/allocation_candidate.py` and
//! `research_context.py` answer it: each request group gives allocation requests anchored
//! at a tree's root, and the groups' requests of one anchor are merged.

use std::collections::{BTreeMap, BTreeSet};

use super::{check_query_names, missing_traits, Error, Repo, Result, TraitFilter, World};
use super::{AggregateFilter, Provider};

/// The trait by which a provider shares its inventory with the trees of its aggregates.
pub const MISC_SHARES_VIA_AGGREGATE: &str = "MISC_SHARES_VIA_AGGREGATE";

/// One request group (`lib.RequestGroup`): the unsuffixed one, whose resources may come from
/// several providers of a tree and sharing providers, or a suffixed one (`resourcesN`,
/// `resources_X`), which one provider satisfies. A suffixed group may have no resources
/// (1.35, with `same_subtree`).
#[derive(Debug, Default, Clone)]
pub struct Group {
    pub suffix: String,
    pub resources: Vec<(String, i64)>,
    pub traits: TraitFilter,
    pub member_of: AggregateFilter,
    pub in_tree: Option<String>,
}

impl Group {
    fn use_same_provider(&self) -> bool {
        !self.suffix.is_empty()
    }
}

/// The request-wide parameters (`lib.RequestWideParams`).
#[derive(Debug, Default, Clone)]
pub struct RequestWide {
    /// `group_policy=isolate`: the suffixed groups' providers differ.
    pub isolate: bool,
    /// `root_required` (1.35): traits the anchor (root) of each candidate has or lacks.
    pub root_required: TraitFilter,
    /// `same_subtree` (1.36): each a set of suffixes whose providers lie under one of them.
    pub same_subtrees: Vec<BTreeSet<String>>,
    pub limit: Option<usize>,
    /// 1.29: candidates may take several providers of one tree.
    pub nested_aware: bool,
}

/// An allocation candidate: what it takes from each provider and which providers serve
/// each group (`mappings`, shown from 1.34).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Candidate {
    pub allocations: BTreeMap<String, BTreeMap<String, i64>>,
    pub mappings: BTreeMap<String, BTreeSet<String>>,
}

/// The candidates and the providers summarised beside them.
pub struct Found {
    pub candidates: Vec<Candidate>,
    pub summaries: Vec<String>,
    pub world: World,
}

/// One group's allocation request (`AllocationRequest`), anchored at a root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Request {
    anchor: String,
    /// (provider, class, amount).
    resources: Vec<(String, String, i64)>,
    providers: BTreeSet<String>,
}

pub fn candidates(c: Repo, groups: &[Group], rw: &RequestWide) -> Result<Found> {
    for g in groups {
        check_query_names(c, &g.resources, &g.traits)?;
    }
    let missing = missing_traits(c, &rw.root_required.names())?;
    if !missing.is_empty() {
        return Err(Error::Invalid(format!(
            "No such trait(s): {}.",
            missing.join(", ")
        )));
    }
    let world = World::read(c)?;
    let mut found = Found {
        candidates: Vec::new(),
        summaries: Vec::new(),
        world,
    };
    let w = &found.world;
    let s = Search::new(w, rw);
    let mut by_group: Vec<Vec<Request>> = Vec::new();
    for g in groups {
        let requests = if g.use_same_provider() {
            s.single_provider(g)
        } else {
            s.multiple_providers(g)
        };
        if requests.is_empty() {
            return Ok(found);
        }
        by_group.push(requests);
    }
    let merged = s.merge(groups, &by_group);
    let (kept, summaries) = s.exclude_nested_and_limit(merged);
    found.candidates = kept;
    found.summaries = summaries;
    Ok(found)
}

/// A provider able to give one class, and the root (anchor) of the tree it would serve.
type Nominee<'a> = (&'a str, &'a str);

struct Search<'a> {
    w: &'a World,
    rw: &'a RequestWide,
    by_uuid: BTreeMap<&'a str, &'a Provider>,
    sharing: BTreeSet<&'a str>,
    has_trees: bool,
    /// Roots that `root_required` allows; `None` when it names nothing.
    anchors: Option<BTreeSet<&'a str>>,
}

impl<'a> Search<'a> {
    fn new(w: &'a World, rw: &'a RequestWide) -> Search<'a> {
        let by_uuid = w.providers.iter().map(|p| (p.uuid.as_str(), p)).collect();
        let sharing = w
            .providers
            .iter()
            .filter(|p| {
                w.traits
                    .get(&p.uuid)
                    .is_some_and(|t| t.contains(MISC_SHARES_VIA_AGGREGATE))
            })
            .map(|p| p.uuid.as_str())
            .collect();
        let rr = &rw.root_required;
        let anchors = (!rr.required.is_empty() || !rr.forbidden.is_empty()).then(|| {
            w.providers
                .iter()
                .filter(|p| p.parent.is_none() && w.has_traits(&p.uuid, rr))
                .map(|p| p.uuid.as_str())
                .collect()
        });
        Search {
            w,
            rw,
            by_uuid,
            sharing,
            has_trees: w.providers.iter().any(|p| p.parent.is_some()),
            anchors,
        }
    }

    fn in_filtered_anchors(&self, root: &str) -> bool {
        self.anchors.as_ref().is_none_or(|a| a.contains(root))
    }

    fn root_of(&self, uuid: &str) -> Option<&'a str> {
        self.by_uuid.get(uuid).map(|p| p.root.as_str())
    }

    /// `anchors_for_sharing_providers`: the roots of every tree with a provider in one
    /// of the sharing provider's aggregates (its own among them).
    fn anchors_for_sharing(&self, sp: &str) -> BTreeSet<&'a str> {
        let Some(aggs) = self.w.aggregates.get(sp) else {
            return BTreeSet::new();
        };
        self.w
            .providers
            .iter()
            .filter(|p| {
                self.w
                    .aggregates
                    .get(&p.uuid)
                    .is_some_and(|a| !a.is_disjoint(aggs))
            })
            .map(|p| p.root.as_str())
            .collect()
    }

    /// Providers in one of each `member_of` list (`provider_ids_matching_aggregates`);
    /// `None` when the group names none.
    fn in_aggregates(&self, f: &AggregateFilter) -> Option<BTreeSet<&'a str>> {
        if f.any_of.is_empty() {
            return None;
        }
        let only = AggregateFilter {
            any_of: f.any_of.clone(),
            forbidden: Vec::new(),
        };
        Some(
            self.w
                .providers
                .iter()
                .filter(|p| self.w.in_aggregates(&p.uuid, &only))
                .map(|p| p.uuid.as_str())
                .collect(),
        )
    }

    fn in_forbidden_aggregates(&self, f: &AggregateFilter, uuid: &str) -> bool {
        self.w
            .aggregates
            .get(uuid)
            .is_some_and(|a| f.forbidden.iter().any(|x| a.contains(x)))
    }

    /// The root of the group's `in_tree`: `Err(())` when that provider does not exist.
    fn tree_root(&self, g: &Group) -> std::result::Result<Option<&'a str>, ()> {
        match &g.in_tree {
            None => Ok(None),
            Some(t) => self.root_of(t).map(Some).ok_or(()),
        }
    }

    /// A suffixed group (`_alloc_candidates_single_provider`): each provider that alone
    /// has room and the traits and aggregates asked for; a sharing one also anchored at
    /// every tree of its aggregates.
    fn single_provider(&self, g: &Group) -> Vec<Request> {
        let Ok(tree_root) = self.tree_root(g) else {
            return Vec::new();
        };
        let in_aggs = self.in_aggregates(&g.member_of);
        let mut out = Vec::new();
        for p in &self.w.providers {
            let uuid = p.uuid.as_str();
            if !self.w.has_traits(uuid, &g.traits)
                || in_aggs.as_ref().is_some_and(|a| !a.contains(uuid))
                || self.in_forbidden_aggregates(&g.member_of, uuid)
            {
                continue;
            }
            // A resourceless group is not held to its in_tree (Placement's
            // get_providers_with_root looks at no tree).
            if !g.resources.is_empty()
                && (tree_root.is_some_and(|r| r != p.root) || !self.w.has_room(uuid, &g.resources))
            {
                continue;
            }
            let request = Request {
                anchor: p.root.clone(),
                resources: g
                    .resources
                    .iter()
                    .map(|(rc, n)| (p.uuid.clone(), rc.clone(), *n))
                    .collect(),
                providers: BTreeSet::from([p.uuid.clone()]),
            };
            if self.sharing.contains(uuid) {
                for anchor in self.anchors_for_sharing(uuid) {
                    if anchor != p.root && self.in_filtered_anchors(anchor) {
                        out.push(Request {
                            anchor: anchor.to_string(),
                            ..request.clone()
                        });
                    }
                }
            }
            if self.in_filtered_anchors(&p.root) {
                out.push(request);
            }
        }
        out
    }

    /// The unsuffixed group (`get_trees_matching_all` and
    /// `_alloc_candidates_multiple_providers`): each class from any provider of a tree or
    /// a sharing provider of the tree's aggregates, the providers chosen together having
    /// the required traits and none having a forbidden one.
    fn multiple_providers(&self, g: &Group) -> Vec<Request> {
        let Ok(tree_root) = self.tree_root(g) else {
            return Vec::new();
        };
        let in_aggs = self.in_aggregates(&g.member_of);
        if in_aggs.as_ref().is_some_and(BTreeSet::is_empty) {
            return Vec::new();
        }
        // Per class: (provider, anchor) pairs, keeping only anchors common to all classes.
        let mut per_class: Vec<(&str, i64, Vec<Nominee<'a>>)> = Vec::new();
        let mut trees: Option<BTreeSet<&str>> = None;
        for (rc, amount) in &g.resources {
            let need = [(rc.clone(), *amount)];
            let mut pairs: BTreeSet<Nominee<'a>> = BTreeSet::new();
            for p in &self.w.providers {
                if !self.w.has_room(&p.uuid, &need) {
                    continue;
                }
                if tree_root.is_none_or(|r| r == p.root) {
                    pairs.insert((p.uuid.as_str(), p.root.as_str()));
                }
                let shares = self.sharing.contains(p.uuid.as_str())
                    && in_aggs.as_ref().is_none_or(|a| a.contains(p.uuid.as_str()));
                if shares && tree_root.is_none() {
                    for anchor in self.anchors_for_sharing(&p.uuid) {
                        pairs.insert((p.uuid.as_str(), anchor));
                    }
                }
            }
            pairs.retain(|(rp, anchor)| {
                self.in_filtered_anchors(anchor)
                    && in_aggs
                        .as_ref()
                        .is_none_or(|a| a.contains(rp) || a.contains(anchor))
                    && !self.in_forbidden_aggregates(&g.member_of, rp)
                    && !self.in_forbidden_aggregates(&g.member_of, anchor)
            });
            if pairs.is_empty() {
                return Vec::new();
            }
            let here: BTreeSet<&str> = pairs.iter().map(|(_, a)| *a).collect();
            trees = Some(match trees {
                None => here,
                Some(t) => t.intersection(&here).copied().collect(),
            });
            per_class.push((rc.as_str(), *amount, pairs.into_iter().collect()));
        }
        let Some(trees) = trees else {
            return Vec::new();
        };
        let mut out = BTreeSet::new();
        for anchor in trees {
            let options: Vec<Vec<&str>> = per_class
                .iter()
                .map(|(_, _, pairs)| {
                    pairs
                        .iter()
                        .filter(|(_, a)| *a == anchor)
                        .map(|(rp, _)| *rp)
                        .collect()
                })
                .collect();
            for pick in product(&options) {
                if !self.traits_together(&pick, &g.traits) {
                    continue;
                }
                out.insert(Request {
                    anchor: anchor.to_string(),
                    resources: per_class
                        .iter()
                        .zip(&pick)
                        .map(|((rc, n, _), rp)| (rp.to_string(), rc.to_string(), *n))
                        .collect(),
                    providers: pick.iter().map(|p| p.to_string()).collect(),
                });
            }
        }
        out.into_iter().collect()
    }

    /// `_check_traits_for_alloc_request`: no provider has a forbidden trait, and their
    /// traits together meet every required one (each `in:` list by one of its traits).
    fn traits_together(&self, providers: &[&str], f: &TraitFilter) -> bool {
        let mut all: BTreeSet<&str> = BTreeSet::new();
        for p in providers {
            if let Some(t) = self.w.traits.get(*p) {
                if f.forbidden.iter().any(|x| t.contains(x)) {
                    return false;
                }
                all.extend(t.iter().map(String::as_str));
            }
        }
        f.required.iter().all(|t| all.contains(t.as_str()))
            && f.any_of
                .iter()
                .all(|g| g.iter().any(|t| all.contains(t.as_str())))
    }

    /// `_merge_candidates`: per anchor, one request of each group, as long as the
    /// group policy, `same_subtree` and the providers' capacity allow the sum.
    fn merge(&self, groups: &[Group], by_group: &[Vec<Request>]) -> Vec<Candidate> {
        let anchors: BTreeSet<&str> = by_group[0].iter().map(|r| r.anchor.as_str()).collect();
        let granular = groups.iter().filter(|g| g.use_same_provider()).count();
        let mut out: Vec<Candidate> = Vec::new();
        let mut seen: BTreeSet<Candidate> = BTreeSet::new();
        for anchor in anchors {
            let options: Vec<Vec<&Request>> = by_group
                .iter()
                .map(|rs| rs.iter().filter(|r| r.anchor == anchor).collect())
                .collect();
            if options.iter().any(Vec::is_empty) {
                continue;
            }
            for pick in product(&options) {
                if self.rw.isolate {
                    let used: BTreeSet<&String> = groups
                        .iter()
                        .zip(&pick)
                        .filter(|(g, _)| g.use_same_provider())
                        .flat_map(|(_, r)| r.providers.iter())
                        .collect();
                    if used.len() != granular {
                        continue;
                    }
                }
                let mut cand = Candidate {
                    allocations: BTreeMap::new(),
                    mappings: BTreeMap::new(),
                };
                for (g, r) in groups.iter().zip(&pick) {
                    for (rp, rc, n) in &r.resources {
                        let slot = cand
                            .allocations
                            .entry(rp.clone())
                            .or_default()
                            .entry(rc.clone())
                            .or_insert(0);
                        *slot = slot.saturating_add(*n);
                    }
                    cand.mappings
                        .entry(g.suffix.clone())
                        .or_default()
                        .extend(r.providers.iter().cloned());
                }
                if !self.same_subtrees(&cand) || self.exceeds_capacity(&cand) {
                    continue;
                }
                if seen.insert(cand.clone()) {
                    out.push(cand);
                }
            }
        }
        out
    }

    /// `_satisfies_same_subtree`: the providers of each named set of groups all lie
    /// under one of them.
    fn same_subtrees(&self, c: &Candidate) -> bool {
        self.rw.same_subtrees.iter().all(|suffixes| {
            let rps: BTreeSet<&str> = suffixes
                .iter()
                .filter_map(|s| c.mappings.get(s))
                .flatten()
                .map(String::as_str)
                .collect();
            if rps.len() <= 1 {
                return true;
            }
            let mut common: Option<BTreeSet<&str>> = None;
            for rp in &rps {
                let line = self.ancestry(rp);
                common = Some(match common {
                    None => line,
                    Some(c) => c.intersection(&line).copied().collect(),
                });
            }
            common.is_some_and(|c| c.iter().any(|a| rps.contains(a)))
        })
    }

    /// The provider and its ancestors.
    fn ancestry(&self, uuid: &str) -> BTreeSet<&'a str> {
        let mut out = BTreeSet::new();
        let mut at = self.by_uuid.get(uuid).copied();
        while let Some(p) = at {
            if !out.insert(p.uuid.as_str()) {
                break;
            }
            at = p
                .parent
                .as_deref()
                .and_then(|pp| self.by_uuid.get(pp).copied());
        }
        out
    }

    /// `exceeds_capacity`: the summed amounts beside what is used, and within max_unit.
    fn exceeds_capacity(&self, c: &Candidate) -> bool {
        c.allocations.iter().any(|(rp, rcs)| {
            rcs.iter().any(|(rc, n)| {
                let inv = self
                    .w
                    .inventories
                    .get(rp)
                    .and_then(|all| all.iter().find(|i| &i.resource_class == rc));
                inv.is_none_or(|i| {
                    self.w.used(rp, rc).saturating_add(*n) > i.capacity() || *n > i.max_unit
                })
            })
        })
    }

    /// Before 1.29 a candidate takes at most one provider of a tree
    /// (`exclude_nested_providers`); then `limit`. The summaries cover every provider
    /// of the candidates' trees (before 1.29 with trees about: only those the candidates
    /// use).
    fn exclude_nested_and_limit(&self, all: Vec<Candidate>) -> (Vec<Candidate>, Vec<String>) {
        let mut kept = all;
        let mut used: Option<BTreeSet<String>> = None;
        if !self.rw.nested_aware && self.has_trees {
            kept.retain(|c| {
                let roots: BTreeSet<Option<&str>> =
                    c.allocations.keys().map(|p| self.root_of(p)).collect();
                roots.len() == c.allocations.len()
            });
            used = Some(
                kept.iter()
                    .flat_map(|c| c.allocations.keys().cloned())
                    .collect(),
            );
        }
        if let Some(l) = self.rw.limit {
            kept.truncate(l);
        }
        let trees: BTreeSet<&str> = kept
            .iter()
            .flat_map(|c| c.allocations.keys())
            .filter_map(|p| self.root_of(p))
            .collect();
        let summaries = self
            .w
            .providers
            .iter()
            .filter(|p| trees.contains(p.root.as_str()))
            .filter(|p| used.as_ref().is_none_or(|u| u.contains(&p.uuid)))
            .map(|p| p.uuid.clone())
            .collect();
        (kept, summaries)
    }
}

/// Every way to take one item of each list, in order.
fn product<T: Copy>(lists: &[Vec<T>]) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = vec![Vec::new()];
    for list in lists {
        let mut next = Vec::with_capacity(out.len() * list.len());
        for prefix in &out {
            for item in list {
                let mut p = prefix.clone();
                p.push(*item);
                next.push(p);
            }
        }
        out = next;
    }
    out
}
