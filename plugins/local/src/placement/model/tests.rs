//! The model's rules, each pinned down on a fresh store (SQLite in memory, or PostgreSQL
//! with JUMPGATE_TEST_DATABASE).

use super::*;
use crate::store::Store;

const RP: &str = "6b2a1b4e-0000-4000-8000-000000000001";
const RP2: &str = "6b2a1b4e-0000-4000-8000-000000000002";
const C1: &str = "c0000000-0000-4000-8000-000000000001";
const C2: &str = "c0000000-0000-4000-8000-000000000002";

fn write<T>(s: &Store, f: impl FnOnce(Repo) -> Result<T>) -> Result<T> {
    s.write(|c| f(c))
}

fn read<T>(s: &Store, f: impl FnOnce(Repo) -> Result<T>) -> Result<T> {
    s.read(|c| f(c))
}

fn store_with_provider() -> Store {
    let s = Store::memory();
    write(&s, |c| create_provider(c, RP, "node1", None)).unwrap();
    s
}

fn inv(rc: &str, total: i64) -> Inventory {
    Inventory::of(rc, total)
}

fn alloc(
    consumer: &str,
    rp: &str,
    rc: &str,
    n: i64,
    generation: Option<Option<i64>>,
) -> ConsumerRequest {
    ConsumerRequest {
        consumer: consumer.into(),
        allocations: BTreeMap::from([(rp.to_string(), BTreeMap::from([(rc.to_string(), n)]))]),
        project_id: "p".into(),
        user_id: "u".into(),
        generation,
        consumer_type: None,
    }
}

#[test]
fn a_stale_provider_generation_is_a_concurrent_update() {
    let s = store_with_provider();
    let (p, _) = write(&s, |c| {
        set_inventories(c, RP, 0, vec![inv("VCPU", 8)], false)
    })
    .unwrap();
    assert_eq!(p.generation, 1);
    let e = write(&s, |c| {
        set_inventories(c, RP, 0, vec![inv("VCPU", 4)], false)
    })
    .unwrap_err();
    assert!(
        matches!(e, Error::Conflict(_, Some(code::CONCURRENT_UPDATE))),
        "{e:?}"
    );
    let e = write(&s, |c| set_provider_traits(c, RP, 0, &[])).unwrap_err();
    assert!(
        matches!(e, Error::Conflict(_, Some(code::CONCURRENT_UPDATE))),
        "{e:?}"
    );
    let e = write(&s, |c| set_provider_aggregates(c, RP, Some(0), &[])).unwrap_err();
    assert!(
        matches!(e, Error::Conflict(_, Some(code::CONCURRENT_UPDATE))),
        "{e:?}"
    );
    // Nothing changed: the generation is still 1.
    assert_eq!(read(&s, |c| get(c, RP)).unwrap().generation, 1);
}

#[test]
fn names_and_uuids_of_providers_are_unique() {
    let s = store_with_provider();
    let e = write(&s, |c| create_provider(c, RP2, "node1", None)).unwrap_err();
    assert!(matches!(e, Error::Conflict(_, Some(code::DUPLICATE_NAME))));
    let e = write(&s, |c| create_provider(c, RP, "other", None)).unwrap_err();
    assert!(matches!(e, Error::Conflict(_, Some(code::DUPLICATE_NAME))));
    let e = write(&s, |c| create_provider(c, RP2, "child", Some("nope"))).unwrap_err();
    assert!(matches!(e, Error::Invalid(_)));
}

#[test]
fn a_tree_keeps_its_root_and_refuses_loops_and_deleting_parents() {
    let s = store_with_provider();
    let child = write(&s, |c| create_provider(c, RP2, "child", Some(RP))).unwrap();
    assert_eq!(child.root, RP);
    let e = write(&s, |c| delete_provider(c, RP)).unwrap_err();
    assert!(matches!(
        e,
        Error::Conflict(_, Some(code::PROVIDER_CANNOT_DELETE_PARENT))
    ));
    // Before 1.37 a child may not move; from 1.37 it may, but not under itself.
    let up = |may| ProviderUpdate {
        name: None,
        parent: Some(None),
        may_reparent: may,
    };
    assert!(matches!(
        write(&s, |c| update_provider(c, RP2, up(false))),
        Err(Error::Invalid(_))
    ));
    let loop_ = ProviderUpdate {
        name: None,
        parent: Some(Some(RP2)),
        may_reparent: true,
    };
    assert!(matches!(
        write(&s, |c| update_provider(c, RP, loop_)),
        Err(Error::Invalid(_))
    ));
    let freed = write(&s, |c| update_provider(c, RP2, up(true))).unwrap();
    assert_eq!((freed.parent, freed.root.as_str()), (None, RP2));
    write(&s, |c| delete_provider(c, RP)).unwrap();
}

#[test]
fn inventory_capacity_must_be_positive_and_reserved_may_equal_total_from_1_26() {
    let s = store_with_provider();
    let full = Inventory {
        reserved: 4,
        ..inv("VCPU", 4)
    };
    assert!(matches!(
        write(&s, |c| set_inventories(c, RP, 0, vec![full.clone()], false)),
        Err(Error::Invalid(_))
    ));
    write(&s, |c| set_inventories(c, RP, 0, vec![full], true)).unwrap();
    let over = Inventory {
        reserved: 5,
        ..inv("VCPU", 4)
    };
    assert!(matches!(
        write(&s, |c| set_inventories(c, RP, 1, vec![over], true)),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        write(&s, |c| set_inventories(
            c,
            RP,
            1,
            vec![inv("NO_SUCH_CLASS", 1)],
            true
        )),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn capacity_is_total_less_reserved_times_the_ratio() {
    let i = Inventory {
        reserved: 2,
        allocation_ratio: 1.5,
        ..inv("VCPU", 10)
    };
    assert_eq!(i.capacity(), 12);
    assert_eq!(i.fits(10, 2), Fit::Yes);
    assert_eq!(i.fits(11, 2), Fit::Capacity);
    let units = Inventory {
        min_unit: 2,
        max_unit: 4,
        step_size: 2,
        ..inv("VCPU", 10)
    };
    assert_eq!(units.fits(0, 1), Fit::Constraints);
    assert_eq!(units.fits(0, 3), Fit::Constraints);
    assert_eq!(units.fits(0, 6), Fit::Constraints);
    assert_eq!(units.fits(0, 4), Fit::Yes);
    // Bounded fields never overflow.
    let big = Inventory {
        allocation_ratio: MAX_RATIO,
        ..inv("VCPU", MAX_INT)
    };
    assert_eq!(big.capacity(), i64::MAX);
    assert_eq!(big.fits(i64::MAX, MAX_INT), Fit::Yes);
}

#[test]
fn allocations_must_fit_and_move_generations_on() {
    let s = store_with_provider();
    write(&s, |c| {
        set_inventories(c, RP, 0, vec![inv("VCPU", 4)], false)
    })
    .unwrap();
    write(&s, |c| {
        set_allocations(c, &[alloc(C1, RP, "VCPU", 3, Some(None))])
    })
    .unwrap();
    let p = read(&s, |c| get(c, RP)).unwrap();
    assert_eq!(p.generation, 2, "the allocation moved the provider on");
    let consumer = read(&s, |c| Ok(c.consumer(C1)?)).unwrap().unwrap();
    assert_eq!(consumer.generation, 1);
    // Another consumer does not fit beside it.
    let e = write(&s, |c| {
        set_allocations(c, &[alloc(C2, RP, "VCPU", 2, Some(None))])
    })
    .unwrap_err();
    assert!(
        matches!(e, Error::Conflict(ref m, None) if m.contains("exceed the capacity")),
        "{e:?}"
    );
    // The consumer's own allocation is freed before its new one is checked.
    write(&s, |c| {
        set_allocations(c, &[alloc(C1, RP, "VCPU", 4, Some(Some(1)))])
    })
    .unwrap();
    // A class the provider has no inventory of.
    let e = write(&s, |c| {
        set_allocations(c, &[alloc(C2, RP, "MEMORY_MB", 1, None)])
    })
    .unwrap_err();
    assert!(
        matches!(e, Error::Conflict(ref m, None) if m.contains("invalid")),
        "{e:?}"
    );
    // An unknown provider.
    let e = write(&s, |c| {
        set_allocations(c, &[alloc(C2, RP2, "VCPU", 1, None)])
    })
    .unwrap_err();
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");
}

#[test]
fn consumer_generations_are_checked_from_1_28() {
    let s = store_with_provider();
    write(&s, |c| {
        set_inventories(c, RP, 0, vec![inv("VCPU", 8)], false)
    })
    .unwrap();
    // A new consumer must be named with a null generation.
    let e = write(&s, |c| {
        set_allocations(c, &[alloc(C1, RP, "VCPU", 1, Some(Some(0)))])
    })
    .unwrap_err();
    assert!(
        matches!(e, Error::Conflict(ref m, Some(code::CONCURRENT_UPDATE)) if m.contains("expected null"))
    );
    write(&s, |c| {
        set_allocations(c, &[alloc(C1, RP, "VCPU", 1, Some(None))])
    })
    .unwrap();
    // An existing one with its current generation.
    let e = write(&s, |c| {
        set_allocations(c, &[alloc(C1, RP, "VCPU", 1, Some(None))])
    })
    .unwrap_err();
    assert!(
        matches!(e, Error::Conflict(ref m, _) if m.contains("expected 1 but got None")),
        "{e:?}"
    );
    let e = write(&s, |c| {
        set_allocations(c, &[alloc(C1, RP, "VCPU", 1, Some(Some(7)))])
    })
    .unwrap_err();
    assert!(matches!(
        e,
        Error::Conflict(_, Some(code::CONCURRENT_UPDATE))
    ));
    // Before 1.28 nothing is checked.
    write(&s, |c| {
        set_allocations(c, &[alloc(C1, RP, "VCPU", 2, None)])
    })
    .unwrap();
    assert_eq!(
        read(&s, |c| Ok(c.consumer(C1)?))
            .unwrap()
            .unwrap()
            .generation,
        2
    );
}

#[test]
fn emptying_or_deleting_allocations_removes_the_consumer() {
    let s = store_with_provider();
    write(&s, |c| {
        set_inventories(c, RP, 0, vec![inv("VCPU", 8)], false)
    })
    .unwrap();
    write(&s, |c| {
        set_allocations(c, &[alloc(C1, RP, "VCPU", 1, None)])
    })
    .unwrap();
    let mut empty = alloc(C1, RP, "VCPU", 1, None);
    empty.allocations.clear();
    write(&s, |c| set_allocations(c, &[empty])).unwrap();
    assert!(read(&s, |c| Ok(c.consumer(C1)?)).unwrap().is_none());
    assert!(matches!(
        write(&s, |c| delete_allocations(c, C1)),
        Err(Error::NotFound(_))
    ));
    write(&s, |c| {
        set_allocations(c, &[alloc(C1, RP, "VCPU", 1, None)])
    })
    .unwrap();
    write(&s, |c| delete_allocations(c, C1)).unwrap();
    assert!(read(&s, |c| Ok(c.consumer_allocations(C1)?))
        .unwrap()
        .is_empty());
}

#[test]
fn inventory_in_use_cannot_go_and_providers_in_use_stay() {
    let s = store_with_provider();
    write(&s, |c| {
        set_inventories(c, RP, 0, vec![inv("VCPU", 8), inv("DISK_GB", 10)], false)
    })
    .unwrap();
    write(&s, |c| {
        set_allocations(c, &[alloc(C1, RP, "VCPU", 1, None)])
    })
    .unwrap();
    let g = read(&s, |c| get(c, RP)).unwrap().generation;
    let e = write(&s, |c| {
        set_inventories(c, RP, g, vec![inv("DISK_GB", 10)], false)
    })
    .unwrap_err();
    assert!(matches!(e, Error::Conflict(_, Some(code::INVENTORY_INUSE))));
    assert!(matches!(
        write(&s, |c| delete_inventory(c, RP, "VCPU")),
        Err(Error::Conflict(..))
    ));
    assert!(matches!(
        write(&s, |c| delete_inventories(c, RP)),
        Err(Error::Conflict(..))
    ));
    write(&s, |c| delete_inventory(c, RP, "DISK_GB")).unwrap();
    let e = write(&s, |c| delete_provider(c, RP)).unwrap_err();
    assert!(matches!(e, Error::Conflict(_, Some(code::PROVIDER_IN_USE))));
    write(&s, |c| delete_allocations(c, C1)).unwrap();
    write(&s, |c| delete_provider(c, RP)).unwrap();
}

#[test]
fn custom_classes_and_traits_follow_the_naming_and_usage_rules() {
    let s = store_with_provider();
    assert!(write(&s, |c| create_class(c, "CUSTOM_GOLD")).unwrap());
    assert!(!write(&s, |c| create_class(c, "CUSTOM_GOLD")).unwrap());
    assert!(matches!(
        write(&s, |c| create_class(c, "GOLD")),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        write(&s, |c| delete_class(c, "VCPU")),
        Err(Error::Invalid(_))
    ));
    write(&s, |c| {
        set_inventories(c, RP, 0, vec![inv("CUSTOM_GOLD", 3)], false)
    })
    .unwrap();
    assert!(matches!(
        write(&s, |c| delete_class(c, "CUSTOM_GOLD")),
        Err(Error::Conflict(..))
    ));
    let classes = read(&s, classes).unwrap();
    assert_eq!(classes[0], "VCPU");
    assert_eq!(classes.last().map(String::as_str), Some("CUSTOM_GOLD"));

    assert!(write(&s, |c| create_trait(c, "CUSTOM_FAST")).unwrap());
    assert!(!write(&s, |c| create_trait(c, "HW_CPU_X86_AVX2")).unwrap());
    assert!(matches!(
        write(&s, |c| create_trait(c, "FAST")),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        write(&s, |c| delete_trait(c, "HW_CPU_X86_AVX2")),
        Err(Error::Invalid(_))
    ));
    let g = read(&s, |c| get(c, RP)).unwrap().generation;
    let e = write(&s, |c| {
        set_provider_traits(c, RP, g, &["CUSTOM_NOPE".into()])
    })
    .unwrap_err();
    assert!(matches!(e, Error::Invalid(ref m) if m.contains("CUSTOM_NOPE")));
    write(&s, |c| {
        set_provider_traits(c, RP, g, &["CUSTOM_FAST".into(), "HW_CPU_X86_AVX2".into()])
    })
    .unwrap();
    assert!(matches!(
        write(&s, |c| delete_trait(c, "CUSTOM_FAST")),
        Err(Error::Conflict(..))
    ));
    assert!(read(&s, traits).unwrap().len() > STANDARD_TRAITS.len());
}

#[test]
fn the_standard_traits_are_sorted_for_lookup() {
    assert!(STANDARD_TRAITS.windows(2).all(|w| w[0] < w[1]));
    assert!(is_standard_trait("COMPUTE_VOLUME_MULTI_ATTACH"));
    assert!(STANDARD_CLASSES.iter().all(|c| well_formed(c)));
}

#[test]
fn lists_filter_by_resources_traits_aggregates_and_tree() {
    let s = store_with_provider();
    write(&s, |c| create_provider(c, RP2, "node2", None)).unwrap();
    write(&s, |c| {
        set_inventories(c, RP, 0, vec![inv("VCPU", 2)], false)
    })
    .unwrap();
    write(&s, |c| {
        set_inventories(c, RP2, 0, vec![inv("VCPU", 8)], false)
    })
    .unwrap();
    let agg = "a0000000-0000-4000-8000-000000000001".to_string();
    write(&s, |c| {
        set_provider_aggregates(c, RP2, None, std::slice::from_ref(&agg))
    })
    .unwrap();
    let names = |f: &ProviderFilter| -> Vec<String> {
        read(&s, |c| list_providers(c, f))
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect()
    };
    let f = ProviderFilter {
        resources: vec![("VCPU".into(), 4)],
        ..Default::default()
    };
    assert_eq!(names(&f), ["node2"]);
    let f = ProviderFilter {
        member_of: AggregateFilter {
            any_of: vec![vec![agg.clone()]],
            forbidden: vec![],
        },
        ..Default::default()
    };
    assert_eq!(names(&f), ["node2"]);
    let f = ProviderFilter {
        member_of: AggregateFilter {
            any_of: vec![],
            forbidden: vec![agg],
        },
        ..Default::default()
    };
    assert_eq!(names(&f), ["node1"]);
    let f = ProviderFilter {
        in_tree: Some(RP.into()),
        ..Default::default()
    };
    assert_eq!(names(&f), ["node1"]);
    let f = ProviderFilter {
        traits: TraitFilter {
            required: vec!["NOT_A_TRAIT".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(matches!(
        read(&s, |c| list_providers(c, &f)),
        Err(Error::Invalid(_))
    ));
    let f = ProviderFilter {
        traits: TraitFilter {
            forbidden: vec!["HW_CPU_X86_AVX2".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(names(&f).len(), 2);
}

fn group(suffix: &str, rs: &[(&str, i64)]) -> Group {
    Group {
        suffix: suffix.into(),
        resources: rs.iter().map(|(r, n)| (r.to_string(), *n)).collect(),
        ..Default::default()
    }
}

fn nested() -> RequestWide {
    RequestWide {
        nested_aware: true,
        ..Default::default()
    }
}

/// Provider → class → amount of each candidate, sorted.
fn taken(f: &Found) -> Vec<Vec<(String, String, i64)>> {
    let mut out: Vec<Vec<(String, String, i64)>> = f
        .candidates
        .iter()
        .map(|c| {
            c.allocations
                .iter()
                .flat_map(|(p, rcs)| rcs.iter().map(move |(rc, n)| (p.clone(), rc.clone(), *n)))
                .collect()
        })
        .collect();
    out.sort();
    out
}

fn provider(s: &Store, uuid: &str, parent: Option<&str>, inventory: Vec<Inventory>) {
    write(s, |c| create_provider(c, uuid, uuid, parent)).unwrap();
    write(s, |c| set_inventories(c, uuid, 0, inventory, false)).unwrap();
}

fn traits_of(s: &Store, uuid: &str, traits: &[&str]) {
    let g = read(s, |c| get(c, uuid)).unwrap().generation;
    let t: Vec<String> = traits.iter().map(|t| t.to_string()).collect();
    write(s, |c| set_provider_traits(c, uuid, g, &t)).unwrap();
}

fn aggregates_of(s: &Store, uuid: &str, aggs: &[&str]) {
    let a: Vec<String> = aggs.iter().map(|t| t.to_string()).collect();
    write(s, |c| set_provider_aggregates(c, uuid, None, &a)).unwrap();
}

#[test]
fn candidates_are_providers_with_room_for_every_group() {
    let s = store_with_provider();
    write(&s, |c| create_provider(c, RP2, "node2", None)).unwrap();
    write(&s, |c| {
        set_inventories(
            c,
            RP,
            0,
            vec![inv("VCPU", 2), inv("MEMORY_MB", 1024)],
            false,
        )
    })
    .unwrap();
    write(&s, |c| {
        set_inventories(c, RP2, 0, vec![inv("VCPU", 8)], false)
    })
    .unwrap();
    let rw = nested();
    let found = read(&s, |c| {
        candidates(c, &[group("", &[("VCPU", 1), ("MEMORY_MB", 512)])], &rw)
    })
    .unwrap();
    assert_eq!(found.candidates.len(), 1);
    assert!(found.candidates[0].allocations.contains_key(RP));
    assert_eq!(found.summaries, vec![RP.to_string()]);
    let found = read(&s, |c| candidates(c, &[group("", &[("VCPU", 2)])], &rw)).unwrap();
    assert_eq!(found.candidates.len(), 2);
    let limited = RequestWide {
        limit: Some(1),
        ..nested()
    };
    let found = read(&s, |c| {
        candidates(c, &[group("", &[("VCPU", 2)])], &limited)
    })
    .unwrap();
    assert_eq!(found.candidates.len(), 1);
    assert_eq!(found.summaries.len(), 1);
    // Two groups on one provider need room for their sum: node1 cannot hold 3.
    let groups = [group("1", &[("VCPU", 2)]), group("2", &[("VCPU", 1)])];
    let found = read(&s, |c| candidates(c, &groups, &rw)).unwrap();
    assert!(found
        .candidates
        .iter()
        .all(|c| c.allocations.get(RP).is_none_or(|r| r["VCPU"] <= 2)));
    assert_eq!(found.candidates.len(), 1);
    assert_eq!(found.candidates[0].allocations[RP2]["VCPU"], 3);
}

#[test]
fn isolate_gives_each_suffixed_group_its_own_provider() {
    let s = Store::memory();
    provider(&s, RP, None, vec![inv("VCPU", 8)]);
    provider(&s, RP2, Some(RP), vec![inv("VCPU", 8)]);
    let groups = [group("1", &[("VCPU", 1)]), group("2", &[("VCPU", 1)])];
    let all = read(&s, |c| candidates(c, &groups, &nested())).unwrap();
    // (RP,RP), (RP2,RP2) and the two crossings, which differ in their mappings.
    assert_eq!(all.candidates.len(), 4);
    let isolate = RequestWide {
        isolate: true,
        ..nested()
    };
    let isolated = read(&s, |c| candidates(c, &groups, &isolate)).unwrap();
    assert_eq!(isolated.candidates.len(), 2);
    assert!(isolated
        .candidates
        .iter()
        .all(|c| c.mappings["1"] != c.mappings["2"]));
}

#[test]
fn the_unsuffixed_group_takes_each_class_from_any_provider_of_a_tree() {
    // A compute root with VCPU and two NICs below it with VFs: the unsuffixed group
    // takes VCPU from the root and VFs from either child; a suffixed group cannot.
    const NIC1: &str = "6b2a1b4e-0000-4000-8000-000000000011";
    const NIC2: &str = "6b2a1b4e-0000-4000-8000-000000000012";
    let s = Store::memory();
    provider(&s, RP, None, vec![inv("VCPU", 4)]);
    provider(&s, NIC1, Some(RP), vec![inv("SRIOV_NET_VF", 2)]);
    provider(&s, NIC2, Some(RP), vec![inv("SRIOV_NET_VF", 2)]);
    write(&s, |c| create_trait(c, "CUSTOM_GENEVE")).unwrap();
    traits_of(&s, NIC2, &["CUSTOM_GENEVE"]);
    let ask = [group("", &[("VCPU", 1), ("SRIOV_NET_VF", 1)])];
    let found = read(&s, |c| candidates(c, &ask, &nested())).unwrap();
    assert_eq!(
        taken(&found),
        vec![
            vec![
                (RP.into(), "VCPU".into(), 1),
                (NIC1.into(), "SRIOV_NET_VF".into(), 1)
            ],
            vec![
                (RP.into(), "VCPU".into(), 1),
                (NIC2.into(), "SRIOV_NET_VF".into(), 1)
            ],
        ]
    );
    // Every provider of the tree is summarised, from 1.29.
    assert_eq!(found.summaries.len(), 3);
    // Required traits are met by the chosen providers together.
    let mut with_trait = ask[0].clone();
    with_trait.traits.required = vec!["CUSTOM_GENEVE".into()];
    let found = read(&s, |c| candidates(c, &[with_trait.clone()], &nested())).unwrap();
    assert_eq!(found.candidates.len(), 1);
    assert!(found.candidates[0].allocations.contains_key(NIC2));
    // A forbidden trait rules out the provider having it.
    let mut without = ask[0].clone();
    without.traits.forbidden = vec!["CUSTOM_GENEVE".into()];
    let found = read(&s, |c| candidates(c, &[without], &nested())).unwrap();
    assert_eq!(found.candidates.len(), 1);
    assert!(found.candidates[0].allocations.contains_key(NIC1));
    // One provider must hold all of a suffixed group.
    let found = read(&s, |c| {
        candidates(
            c,
            &[group("1", &[("VCPU", 1), ("SRIOV_NET_VF", 1)])],
            &nested(),
        )
    })
    .unwrap();
    assert!(found.candidates.is_empty());
    // Before 1.29 a candidate takes one provider of a tree.
    let old = read(&s, |c| candidates(c, &ask, &RequestWide::default())).unwrap();
    assert!(old.candidates.is_empty());
}

#[test]
fn sharing_providers_lend_their_inventory_to_the_trees_of_their_aggregates() {
    const CN1: &str = "6b2a1b4e-0000-4000-8000-000000000021";
    const CN2: &str = "6b2a1b4e-0000-4000-8000-000000000022";
    const CN3: &str = "6b2a1b4e-0000-4000-8000-000000000023";
    const SS: &str = "6b2a1b4e-0000-4000-8000-000000000024";
    const AGG: &str = "a0000000-0000-4000-8000-000000000001";
    let s = Store::memory();
    provider(&s, CN1, None, vec![inv("VCPU", 4)]);
    provider(&s, CN2, None, vec![inv("VCPU", 4), inv("DISK_GB", 100)]);
    provider(&s, CN3, None, vec![inv("VCPU", 4)]);
    provider(&s, SS, None, vec![inv("DISK_GB", 1000)]);
    traits_of(&s, SS, &["MISC_SHARES_VIA_AGGREGATE"]);
    for p in [CN1, CN2, SS] {
        aggregates_of(&s, p, &[AGG]);
    }
    let ask = [group("", &[("VCPU", 1), ("DISK_GB", 10)])];
    let found = read(&s, |c| candidates(c, &ask, &nested())).unwrap();
    // CN1 with the share, CN2 alone or with the share; CN3 is in no aggregate.
    assert_eq!(
        taken(&found),
        vec![
            vec![
                (CN1.into(), "VCPU".into(), 1),
                (SS.into(), "DISK_GB".into(), 10)
            ],
            vec![
                (CN2.into(), "DISK_GB".into(), 10),
                (CN2.into(), "VCPU".into(), 1)
            ],
            vec![
                (CN2.into(), "VCPU".into(), 1),
                (SS.into(), "DISK_GB".into(), 10)
            ],
        ]
    );
    let mut summaries = found.summaries.clone();
    summaries.sort();
    assert_eq!(summaries, vec![CN1.to_string(), CN2.into(), SS.into()]);
    // A suffixed group is served by the sharing provider alone, anchored at each tree.
    let granular = [group("", &[("VCPU", 1)]), group("1", &[("DISK_GB", 10)])];
    let found = read(&s, |c| candidates(c, &granular, &nested())).unwrap();
    assert_eq!(found.candidates.len(), 3);
    assert!(!found
        .candidates
        .iter()
        .any(|c| c.allocations.contains_key(CN3)));
}

#[test]
fn same_subtree_keeps_the_groups_under_one_of_their_providers() {
    // root ─┬─ numa0 ─ nic0      (nic0: VF)
    //       └─ numa1 ─ fpga1     (fpga1: FPGA), nic1 under numa1 (VF)
    const NUMA0: &str = "6b2a1b4e-0000-4000-8000-000000000031";
    const NUMA1: &str = "6b2a1b4e-0000-4000-8000-000000000032";
    const NIC0: &str = "6b2a1b4e-0000-4000-8000-000000000033";
    const NIC1: &str = "6b2a1b4e-0000-4000-8000-000000000034";
    const FPGA1: &str = "6b2a1b4e-0000-4000-8000-000000000035";
    let s = Store::memory();
    provider(&s, RP, None, vec![inv("VCPU", 4)]);
    provider(&s, NUMA0, Some(RP), vec![]);
    provider(&s, NUMA1, Some(RP), vec![]);
    provider(&s, NIC0, Some(NUMA0), vec![inv("SRIOV_NET_VF", 4)]);
    provider(&s, NIC1, Some(NUMA1), vec![inv("SRIOV_NET_VF", 4)]);
    provider(&s, FPGA1, Some(NUMA1), vec![inv("FPGA", 1)]);
    traits_of(&s, NUMA0, &["HW_NUMA_ROOT"]);
    traits_of(&s, NUMA1, &["HW_NUMA_ROOT"]);
    let mut numa = group("_NUMA", &[]);
    numa.traits.required = vec!["HW_NUMA_ROOT".into()];
    let groups = [
        numa,
        group("_NIC", &[("SRIOV_NET_VF", 1)]),
        group("_ACCEL", &[("FPGA", 1)]),
    ];
    let rw = RequestWide {
        same_subtrees: vec![["_NUMA", "_NIC", "_ACCEL"]
            .iter()
            .map(|s| s.to_string())
            .collect()],
        ..nested()
    };
    let found = read(&s, |c| candidates(c, &groups, &rw)).unwrap();
    // Only numa1 has both an FPGA and a NIC below it.
    assert_eq!(
        taken(&found),
        vec![vec![
            (NIC1.into(), "SRIOV_NET_VF".into(), 1),
            (FPGA1.into(), "FPGA".into(), 1)
        ]]
    );
    assert_eq!(
        found.candidates[0].mappings["_NUMA"],
        BTreeSet::from([NUMA1.to_string()])
    );
    // Without same_subtree nic0 serves as well.
    let loose = RequestWide {
        same_subtrees: Vec::new(),
        ..nested()
    };
    let found = read(&s, |c| candidates(c, &groups[1..], &loose)).unwrap();
    assert_eq!(found.candidates.len(), 2);
}

#[test]
fn root_required_looks_at_the_anchor_of_each_candidate() {
    let s = Store::memory();
    provider(&s, RP, None, vec![inv("VCPU", 4)]);
    provider(&s, RP2, None, vec![inv("VCPU", 4)]);
    write(&s, |c| create_trait(c, "CUSTOM_MULTIATTACH")).unwrap();
    traits_of(&s, RP2, &["CUSTOM_MULTIATTACH"]);
    let rw = RequestWide {
        root_required: TraitFilter {
            forbidden: vec!["CUSTOM_MULTIATTACH".into()],
            ..Default::default()
        },
        ..nested()
    };
    let found = read(&s, |c| candidates(c, &[group("", &[("VCPU", 1)])], &rw)).unwrap();
    assert_eq!(found.summaries, vec![RP.to_string()]);
    let bogus = RequestWide {
        root_required: TraitFilter {
            required: vec!["CUSTOM_NOPE".into()],
            ..Default::default()
        },
        ..nested()
    };
    assert!(matches!(
        read(&s, |c| candidates(c, &[group("", &[("VCPU", 1)])], &bogus)),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn the_compute_node_is_synced_without_needless_generation_moves() {
    let s = Store::memory();
    let size = NodeSize {
        vcpus: 4,
        memory_mb: 8192,
        disk_gb: 100,
        cpu_allocation_ratio: 4.0,
        ram_allocation_ratio: 1.0,
        disk_allocation_ratio: 1.0,
        reserved_host_memory_mb: 512,
    };
    write(&s, |c| sync_compute_node(c, RP, "host1", &size)).unwrap();
    let p = read(&s, |c| get(c, RP)).unwrap();
    assert_eq!((p.name.as_str(), p.generation), ("host1", 1));
    let inv = read(&s, |c| Ok(c.inventories(RP)?)).unwrap();
    let vcpu = inv.iter().find(|i| i.resource_class == "VCPU").unwrap();
    assert_eq!((vcpu.total, vcpu.allocation_ratio), (4, 4.0));
    let mem = inv
        .iter()
        .find(|i| i.resource_class == "MEMORY_MB")
        .unwrap();
    assert_eq!(mem.reserved, 512);
    write(&s, |c| sync_compute_node(c, RP, "host1", &size)).unwrap();
    assert_eq!(
        read(&s, |c| get(c, RP)).unwrap().generation,
        1,
        "unchanged: no move"
    );
    let smaller = NodeSize {
        disk_gb: 0,
        ..size.clone()
    };
    write(&s, |c| sync_compute_node(c, RP, "host1", &smaller)).unwrap();
    let inv = read(&s, |c| Ok(c.inventories(RP)?)).unwrap();
    assert!(inv.iter().all(|i| i.resource_class != "DISK_GB"));
    // The operator's ratio is the inventory's.
    let overcommitted = NodeSize {
        cpu_allocation_ratio: 16.0,
        ..size
    };
    write(&s, |c| sync_compute_node(c, RP, "host1", &overcommitted)).unwrap();
    let inv = read(&s, |c| Ok(c.inventories(RP)?)).unwrap();
    let vcpu = inv.iter().find(|i| i.resource_class == "VCPU").unwrap();
    assert_eq!((vcpu.total, vcpu.allocation_ratio), (4, 16.0));
    assert_eq!(vcpu.capacity(), 64);
}

#[test]
fn a_reshape_moves_allocations_to_new_inventory_at_once() {
    let s = store_with_provider();
    write(&s, |c| create_provider(c, RP2, "child", Some(RP))).unwrap();
    write(&s, |c| {
        set_inventories(c, RP, 0, vec![inv("VCPU", 8)], false)
    })
    .unwrap();
    write(&s, |c| {
        set_allocations(c, &[alloc(C1, RP, "VCPU", 2, Some(None))])
    })
    .unwrap();
    // VCPU moves from the root to the child, with the consumer's allocation.
    let g_root = read(&s, |c| get(c, RP)).unwrap().generation;
    let moved = || {
        vec![
            (RP.to_string(), g_root, vec![]),
            (RP2.to_string(), 0, vec![inv("VCPU", 8)]),
        ]
    };
    // Moving the inventory alone would leave the allocation on nothing: refused, nothing changes.
    assert!(matches!(
        write(&s, |c| reshape(c, moved(), &[])),
        Err(Error::Conflict(_, Some(code::INVENTORY_INUSE)))
    ));
    write(&s, |c| {
        reshape(c, moved(), &[alloc(C1, RP2, "VCPU", 2, Some(Some(1)))])
    })
    .unwrap();
    let a = read(&s, |c| Ok(c.consumer_allocations(C1)?)).unwrap();
    assert_eq!((a[0].provider.as_str(), a[0].used), (RP2, 2));
    assert!(read(&s, |c| Ok(c.inventories(RP)?)).unwrap().is_empty());
    // A stale provider generation refuses the whole reshape.
    let e = write(&s, |c| reshape(c, vec![(RP2.to_string(), 0, vec![])], &[])).unwrap_err();
    assert!(matches!(
        e,
        Error::Conflict(_, Some(code::CONCURRENT_UPDATE))
    ));
}
