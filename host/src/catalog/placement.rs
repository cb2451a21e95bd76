//! Placement API 1.0–1.39, mounted at /placement.
//! Every route of `placement/handler.py` (`ROUTE_DECLARATIONS`) in the placement api-ref's words.
use super::{ep, Endpoint, DISCOVERY};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        // Versions — placement api-ref "API Versions": the root answers without a token.
        ep("index", "/").public(DISCOVERY),
        // Resource providers — placement api-ref "Resource Providers", "Resource Provider"
        ep("resource_providers", "/resource_providers"),
        ep("resource_provider", "/resource_providers/{uuid}"),
        // Resource classes — placement api-ref "Resource Classes", "Resource Class" (1.2)
        ep("resource_classes", "/resource_classes"),
        ep("resource_class", "/resource_classes/{name}"),
        // Inventories — placement api-ref "Resource Provider Inventories", "... Inventory"
        ep(
            "resource_provider_inventories",
            "/resource_providers/{uuid}/inventories",
        ),
        ep(
            "resource_provider_inventory",
            "/resource_providers/{uuid}/inventories/{resource_class}",
        ),
        // Usages — placement api-ref "Resource Provider Usages", "Usages" (1.9)
        ep(
            "resource_provider_usages",
            "/resource_providers/{uuid}/usages",
        ),
        ep("usages", "/usages"),
        // Aggregates — placement api-ref "Resource Provider Aggregates" (1.1)
        ep(
            "resource_provider_aggregates",
            "/resource_providers/{uuid}/aggregates",
        ),
        // Traits — placement api-ref "Traits", "Resource Provider Traits" (1.6)
        ep("traits", "/traits"),
        ep("trait", "/traits/{name}"),
        ep(
            "resource_provider_traits",
            "/resource_providers/{uuid}/traits",
        ),
        // Allocations — placement api-ref "Resource Provider Allocations", "Allocations"
        ep(
            "resource_provider_allocations",
            "/resource_providers/{uuid}/allocations",
        ),
        ep("allocations", "/allocations"),
        ep("allocation", "/allocations/{consumer_uuid}"),
        // Allocation candidates — placement api-ref "Allocation candidates" (1.10)
        ep("allocation_candidates", "/allocation_candidates"),
        // Reshaper — placement api-ref "Reshaper" (1.30)
        ep("reshaper", "/reshaper"),
    ]
}
