//! Placement's JSON, per microversion: one renderer per resource, the field names of the
//! placement api-ref (and of `placement/handlers/*.py`, which the api-ref describes).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::model::{Consumer, Found, Group, Inventory, Provider};
use crate::microversion::Version;

/// The links of a provider: itself and its sub-resources, as many as the version has.
fn provider_links(prefix: &str, uuid: &str, v: Version) -> Value {
    let url = format!("{prefix}/resource_providers/{uuid}");
    let mut links = vec![json!({"rel": "self", "href": url})];
    let mut rels = vec!["inventories", "usages"];
    if v.at_least(1) {
        rels.push("aggregates");
    }
    if v.at_least(6) {
        rels.push("traits");
    }
    if v.at_least(11) {
        rels.push("allocations");
    }
    for rel in rels {
        links.push(json!({"rel": rel, "href": format!("{url}/{rel}")}));
    }
    Value::Array(links)
}

pub fn provider(prefix: &str, p: &Provider, v: Version) -> Value {
    let mut out = json!({
        "uuid": p.uuid,
        "name": p.name,
        "generation": p.generation,
        "links": provider_links(prefix, &p.uuid, v),
    });
    if v.at_least(14) {
        out["parent_provider_uuid"] = json!(p.parent);
        out["root_provider_uuid"] = json!(p.root);
    }
    out
}

pub fn providers(prefix: &str, ps: &[Provider], v: Version) -> Value {
    json!({"resource_providers": ps.iter().map(|p| provider(prefix, p, v)).collect::<Vec<_>>()})
}

/// One inventory's fields (`OUTPUT_INVENTORY_FIELDS`).
pub fn inventory_fields(i: &Inventory) -> Value {
    json!({
        "total": i.total,
        "reserved": i.reserved,
        "min_unit": i.min_unit,
        "max_unit": i.max_unit,
        "step_size": i.step_size,
        "allocation_ratio": i.allocation_ratio,
    })
}

/// One inventory with the provider's generation (GET/PUT/POST of one class).
pub fn inventory(i: &Inventory, generation: i64) -> Value {
    let mut out = inventory_fields(i);
    out["resource_provider_generation"] = json!(generation);
    out
}

pub fn inventories(inv: &[Inventory], generation: i64) -> Value {
    let map: Map<String, Value> = inv
        .iter()
        .map(|i| (i.resource_class.clone(), inventory_fields(i)))
        .collect();
    json!({"resource_provider_generation": generation, "inventories": map})
}

pub fn resource_class(prefix: &str, name: &str) -> Value {
    json!({
        "name": name,
        "links": [{"rel": "self", "href": format!("{prefix}/resource_classes/{name}")}],
    })
}

/// `GET /resource_providers/{uuid}/usages`: every class of the inventory, used or not.
pub fn provider_usages(inv: &[Inventory], used: &BTreeMap<String, i64>, generation: i64) -> Value {
    let mut usages: BTreeMap<&str, i64> =
        inv.iter().map(|i| (i.resource_class.as_str(), 0)).collect();
    for (rc, u) in used {
        usages.insert(rc, *u);
    }
    json!({"resource_provider_generation": generation, "usages": usages})
}

/// `GET /allocations/{consumer_uuid}`.
pub fn consumer_allocations(
    allocations: &[(Provider, String, i64)],
    consumer: Option<&Consumer>,
    v: Version,
) -> Value {
    let mut by_rp: Map<String, Value> = Map::new();
    for (p, rc, used) in allocations {
        let entry = by_rp
            .entry(p.uuid.clone())
            .or_insert_with(|| json!({"resources": {}}));
        entry["resources"][rc] = json!(used);
        entry["generation"] = json!(p.generation);
    }
    let mut out = json!({ "allocations": by_rp });
    if let (false, Some(c)) = (allocations.is_empty(), consumer) {
        if v.at_least(12) {
            out["project_id"] = json!(c.project_id);
            out["user_id"] = json!(c.user_id);
        }
        if v.at_least(28) {
            out["consumer_generation"] = json!(c.generation);
        }
        if v.at_least(38) {
            out["consumer_type"] = json!(c.consumer_type.as_deref().unwrap_or("unknown"));
        }
    }
    out
}

/// `GET /resource_providers/{uuid}/allocations`.
pub fn provider_allocations(
    allocations: &[(String, String, i64)],
    consumers: &BTreeMap<String, Option<i64>>,
    generation: i64,
    v: Version,
) -> Value {
    let mut by_consumer: Map<String, Value> = Map::new();
    for (consumer, rc, used) in allocations {
        let entry = by_consumer
            .entry(consumer.clone())
            .or_insert_with(|| json!({"resources": {}}));
        entry["resources"][rc] = json!(used);
        if v.at_least(28) {
            entry["consumer_generation"] = json!(consumers.get(consumer).copied().flatten());
        }
    }
    json!({"allocations": by_consumer, "resource_provider_generation": generation})
}

/// `GET /allocation_candidates`.
pub fn allocation_candidates(groups: &[Group], found: &Found, v: Version) -> Value {
    let w = &found.world;
    let mut requests = Vec::new();
    for c in &found.candidates {
        let allocations: Value = if v.at_least(12) {
            let m: Map<String, Value> = c
                .allocations
                .iter()
                .map(|(p, r)| (p.clone(), json!({ "resources": r })))
                .collect();
            Value::Object(m)
        } else {
            c.allocations
                .iter()
                .map(|(p, r)| json!({"resource_provider": {"uuid": p}, "resources": r}))
                .collect()
        };
        let mut request = json!({ "allocations": allocations });
        if v.at_least(34) {
            request["mappings"] = json!(c.mappings);
        }
        requests.push(request);
    }
    let requested: Vec<&str> = groups
        .iter()
        .flat_map(|g| g.resources.iter().map(|(rc, _)| rc.as_str()))
        .collect();
    let mut summaries = Map::new();
    for p in &found.summaries {
        let mut resources = Map::new();
        for i in w.inventories.get(p).map(Vec::as_slice).unwrap_or(&[]) {
            // Before 1.27 only the requested classes are summarised.
            if !v.at_least(27) && !requested.contains(&i.resource_class.as_str()) {
                continue;
            }
            resources.insert(
                i.resource_class.clone(),
                json!({"capacity": i.capacity(), "used": w.used(p, &i.resource_class)}),
            );
        }
        let mut summary = json!({ "resources": resources });
        if v.at_least(17) {
            let mut traits: Vec<&String> = w
                .traits
                .get(p)
                .map(|t| t.iter().collect())
                .unwrap_or_default();
            // Placement lists them by row id: the standard traits were made first.
            traits.sort_by_key(|t| (t.starts_with("CUSTOM_"), *t));
            summary["traits"] = json!(traits);
        }
        if v.at_least(29) {
            let prov = w.providers.iter().find(|x| &x.uuid == p);
            summary["parent_provider_uuid"] = json!(prov.and_then(|x| x.parent.clone()));
            summary["root_provider_uuid"] = json!(prov.map(|x| x.root.clone()));
        }
        summaries.insert(p.clone(), summary);
    }
    json!({"allocation_requests": requests, "provider_summaries": summaries})
}
