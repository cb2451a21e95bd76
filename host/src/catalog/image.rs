//! Image (Glance) API v2 and the legacy v1, mounted at /image.
//! Follows softlayer/jumpgate `jumpgate/image/__init__.py` (newest) plus the glance api-ref (api-ref/source/v2).
use super::{ep, Endpoint, DISCOVERY};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        // Versions — glance api-ref "API versions" (added)
        ep("index", "/").public(DISCOVERY),
        ep("versions", "/versions").public(DISCOVERY),
        ep("v2_index", "/v2").public(DISCOVERY),
        // Image schemas — glance api-ref "Image Schemas"
        ep("v2_schema_members", "/v2/schemas/members"),
        ep("v2_schema_member", "/v2/schemas/member"),
        ep("v2_schema_image", "/v2/schemas/image"),
        ep("v2_schema_images", "/v2/schemas/images"),
        // Task schemas — glance api-ref "Task Schemas" (added)
        ep("v2_schema_task", "/v2/schemas/task"),
        ep("v2_schema_tasks", "/v2/schemas/tasks"),
        // Metadata definition schemas — glance api-ref "Metadata definition schemas" (added)
        ep(
            "v2_schema_metadefs_namespace",
            "/v2/schemas/metadefs/namespace",
        ),
        ep(
            "v2_schema_metadefs_namespaces",
            "/v2/schemas/metadefs/namespaces",
        ),
        ep(
            "v2_schema_metadefs_resource_type",
            "/v2/schemas/metadefs/resource_type",
        ),
        ep(
            "v2_schema_metadefs_resource_types",
            "/v2/schemas/metadefs/resource_types",
        ),
        ep("v2_schema_metadefs_object", "/v2/schemas/metadefs/object"),
        ep("v2_schema_metadefs_objects", "/v2/schemas/metadefs/objects"),
        ep(
            "v2_schema_metadefs_property",
            "/v2/schemas/metadefs/property",
        ),
        ep(
            "v2_schema_metadefs_properties",
            "/v2/schemas/metadefs/properties",
        ),
        ep("v2_schema_metadefs_tag", "/v2/schemas/metadefs/tag"),
        ep("v2_schema_metadefs_tags", "/v2/schemas/metadefs/tags"),
        // Images, image data, tags — glance api-ref "Images", "Image data", "Image tags"
        ep("v2_image", "/v2/images/{image_guid}"),
        ep("v2_images", "/v2/images"),
        ep("v2_images_detail", "/v2/images/detail"),
        ep("v2_image_file", "/v2/images/{image_guid}/file"),
        ep("v2_image_tag", "/v2/images/{image_guid}/tags/{tag}"),
        // Image import and actions — glance api-ref "Interoperable image import", "Images" (added)
        ep("v2_image_stage", "/v2/images/{image_guid}/stage"),
        ep("v2_image_import", "/v2/images/{image_guid}/import"),
        ep(
            "v2_image_actions_deactivate",
            "/v2/images/{image_guid}/actions/deactivate",
        ),
        ep(
            "v2_image_actions_reactivate",
            "/v2/images/{image_guid}/actions/reactivate",
        ),
        ep("v2_image_locations", "/v2/images/{image_guid}/locations"),
        ep("v2_image_tasks", "/v2/images/{image_guid}/tasks"),
        // Image members — glance api-ref "Sharing" (added)
        ep("v2_image_members", "/v2/images/{image_guid}/members"),
        ep(
            "v2_image_member",
            "/v2/images/{image_guid}/members/{member_id}",
        ),
        // Discovery — glance api-ref "Image Service Info (Discovery)" (added)
        ep("v2_info_import", "/v2/info/import"),
        ep("v2_info_stores", "/v2/info/stores"),
        ep("v2_info_stores_detail", "/v2/info/stores/detail"),
        ep("v2_info_usage", "/v2/info/usage"),
        // Stores — glance api-ref "Stores" (delete an image's copy from one store; added)
        ep("v2_store_image", "/v2/stores/{store_id}/{image_guid}"),
        // Cache — glance api-ref "Cache Manage" (added)
        ep("v2_cache", "/v2/cache"),
        ep("v2_cache_image", "/v2/cache/{image_guid}"),
        // Tasks — glance api-ref "Tasks" (added)
        ep("v2_tasks", "/v2/tasks"),
        ep("v2_task", "/v2/tasks/{task_id}"),
        // Metadata definitions — glance api-ref "Metadata definition namespaces", "... resource types" (lists; added)
        ep("v2_metadefs_namespaces", "/v2/metadefs/namespaces"),
        ep(
            "v2_metadefs_namespace",
            "/v2/metadefs/namespaces/{namespace_name}",
        ),
        ep(
            "v2_metadefs_namespace_resource_types",
            "/v2/metadefs/namespaces/{namespace_name}/resource_types",
        ),
        ep(
            "v2_metadefs_namespace_objects",
            "/v2/metadefs/namespaces/{namespace_name}/objects",
        ),
        ep(
            "v2_metadefs_namespace_properties",
            "/v2/metadefs/namespaces/{namespace_name}/properties",
        ),
        ep(
            "v2_metadefs_namespace_tags",
            "/v2/metadefs/namespaces/{namespace_name}/tags",
        ),
        ep("v2_metadefs_resource_types", "/v2/metadefs/resource_types"),
        // ... and their items — glance api-ref "Metadata definition resource types",
        // "... objects", "... properties", "... tags" (added)
        ep(
            "v2_metadefs_namespace_resource_type",
            "/v2/metadefs/namespaces/{namespace_name}/resource_types/{name}",
        ),
        ep(
            "v2_metadefs_namespace_object",
            "/v2/metadefs/namespaces/{namespace_name}/objects/{object_name}",
        ),
        ep(
            "v2_metadefs_namespace_property",
            "/v2/metadefs/namespaces/{namespace_name}/properties/{property_name}",
        ),
        ep(
            "v2_metadefs_namespace_tag",
            "/v2/metadefs/namespaces/{namespace_name}/tags/{tag_name}",
        ),
        // Images v1 — legacy Glance v1 API (removed upstream; original order: item before `detail`)
        ep("v1_image", "/v1/images/{image_guid}"),
        ep("v1_images", "/v1/images"),
        ep("v1_images_detail", "/v1/images/detail"),
        ep("v1_image_members", "/v1/images/{image_guid}/members"),
        ep("v1_image_owner", "/v1/images/{image_guid}/members/{owner}"),
        ep("v1_shared_image_owner", "/v1/shared-images/{owner}"),
    ]
}
