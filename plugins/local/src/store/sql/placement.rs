//! Placement in SQL: `placement_providers` (a tree by parent and root), their inventories,
//! traits and aggregates, the custom classes and traits, consumers and allocations.

use crate::placement::model::{Allocation, Consumer, Inventory, Provider};
use crate::placement::repo::{PlacementRepo, Result};
use crate::store::db::{args, Db, Found, Row};
use crate::store::Unique;

const PROVIDER: &str =
    "SELECT uuid, name, generation, parent_uuid, root_uuid, created_at, updated_at
     FROM placement_providers";

fn provider(r: &Row) -> Found<Provider> {
    Ok(Provider {
        uuid: r.get(0)?,
        name: r.get(1)?,
        generation: r.get(2)?,
        parent: r.get(3)?,
        root: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

const INVENTORY: &str =
    "resource_class, total, reserved, min_unit, max_unit, step_size, allocation_ratio";

fn inventory(r: &Row, at: usize) -> Found<Inventory> {
    Ok(Inventory {
        resource_class: r.get(at)?,
        total: r.get(at + 1)?,
        reserved: r.get(at + 2)?,
        min_unit: r.get(at + 3)?,
        max_unit: r.get(at + 4)?,
        step_size: r.get(at + 5)?,
        allocation_ratio: r.get(at + 6)?,
    })
}

const CONSUMER: &str = "uuid, project_id, user_id, consumer_type, generation";

fn consumer(r: &Row) -> Found<Consumer> {
    Ok(Consumer {
        uuid: r.get(0)?,
        project_id: r.get(1)?,
        user_id: r.get(2)?,
        consumer_type: r.get(3)?,
        generation: r.get(4)?,
    })
}

impl<D: Db + ?Sized> PlacementRepo for D {
    fn providers(&self) -> Result<Vec<Provider>> {
        self.all(
            &format!("{PROVIDER} ORDER BY created_at, uuid"),
            args![],
            provider,
        )
    }

    fn provider(&self, uuid: &str) -> Result<Option<Provider>> {
        self.one(
            &format!("{PROVIDER} WHERE uuid = $1"),
            args![uuid],
            provider,
        )
    }

    fn provider_by_name(&self, name: &str) -> Result<Option<Provider>> {
        self.one(
            &format!("{PROVIDER} WHERE name = $1"),
            args![name],
            provider,
        )
    }

    fn insert_provider(&self, p: &Provider) -> Result<Unique> {
        self.unique(
            "INSERT INTO placement_providers
                (uuid, name, generation, parent_uuid, root_uuid, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                p.uuid,
                p.name,
                p.generation,
                p.parent,
                p.root,
                p.created_at,
                p.updated_at
            ],
        )
    }

    fn update_provider(&self, p: &Provider) -> Result<Unique> {
        self.unique(
            "UPDATE placement_providers SET name = $2, generation = $3, parent_uuid = $4,
                root_uuid = $5, updated_at = $6
             WHERE uuid = $1",
            args![p.uuid, p.name, p.generation, p.parent, p.root, p.updated_at],
        )
    }

    fn delete_provider(&self, uuid: &str) -> Result<()> {
        self.run(
            "DELETE FROM placement_providers WHERE uuid = $1",
            args![uuid],
        )?;
        Ok(())
    }

    fn inventories(&self, provider: &str) -> Result<Vec<Inventory>> {
        self.all(
            &format!(
                "SELECT {INVENTORY} FROM placement_inventories WHERE provider_uuid = $1
                 ORDER BY resource_class"
            ),
            args![provider],
            |r| inventory(r, 0),
        )
    }

    fn all_inventories(&self) -> Result<Vec<(String, Inventory)>> {
        self.all(
            &format!(
                "SELECT {INVENTORY}, provider_uuid FROM placement_inventories
                 ORDER BY provider_uuid, resource_class"
            ),
            args![],
            |r| Ok((r.get(7)?, inventory(r, 0)?)),
        )
    }

    fn replace_inventories(&self, provider: &str, inv: &[Inventory]) -> Result<()> {
        self.run(
            "DELETE FROM placement_inventories WHERE provider_uuid = $1",
            args![provider],
        )?;
        for i in inv {
            self.run(
                &format!(
                    "INSERT INTO placement_inventories (provider_uuid, {INVENTORY})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                ),
                args![
                    provider,
                    i.resource_class,
                    i.total,
                    i.reserved,
                    i.min_unit,
                    i.max_unit,
                    i.step_size,
                    i.allocation_ratio
                ],
            )?;
        }
        Ok(())
    }

    fn custom_classes(&self) -> Result<Vec<String>> {
        self.all(
            "SELECT name FROM placement_custom_classes ORDER BY created_at, name",
            args![],
            |r| r.get(0),
        )
    }

    fn insert_custom_class(&self, name: &str, now: &str) -> Result<Unique> {
        self.unique(
            "INSERT INTO placement_custom_classes (name, created_at) VALUES ($1, $2)",
            args![name, now],
        )
    }

    fn rename_custom_class(&self, old: &str, new: &str) -> Result<Unique> {
        if self.unique(
            "UPDATE placement_custom_classes SET name = $2 WHERE name = $1",
            args![old, new],
        )? == Unique::Taken
        {
            return Ok(Unique::Taken);
        }
        self.run(
            "UPDATE placement_inventories SET resource_class = $2 WHERE resource_class = $1",
            args![old, new],
        )?;
        self.run(
            "UPDATE placement_allocations SET resource_class = $2 WHERE resource_class = $1",
            args![old, new],
        )?;
        Ok(Unique::Stored)
    }

    fn delete_custom_class(&self, name: &str) -> Result<bool> {
        Ok(self.run(
            "DELETE FROM placement_custom_classes WHERE name = $1",
            args![name],
        )? > 0)
    }

    fn class_in_use(&self, name: &str) -> Result<bool> {
        self.exists(
            "SELECT EXISTS (SELECT 1 FROM placement_inventories WHERE resource_class = $1)
                 OR EXISTS (SELECT 1 FROM placement_allocations WHERE resource_class = $1)",
            args![name],
        )
    }

    fn custom_traits(&self) -> Result<Vec<String>> {
        self.all(
            "SELECT name FROM placement_custom_traits ORDER BY name",
            args![],
            |r| r.get(0),
        )
    }

    fn insert_custom_trait(&self, name: &str, now: &str) -> Result<Unique> {
        self.unique(
            "INSERT INTO placement_custom_traits (name, created_at) VALUES ($1, $2)",
            args![name, now],
        )
    }

    fn delete_custom_trait(&self, name: &str) -> Result<bool> {
        Ok(self.run(
            "DELETE FROM placement_custom_traits WHERE name = $1",
            args![name],
        )? > 0)
    }

    fn trait_in_use(&self, name: &str) -> Result<bool> {
        self.exists(
            "SELECT EXISTS (SELECT 1 FROM placement_provider_traits WHERE trait = $1)",
            args![name],
        )
    }

    fn provider_traits(&self, provider: &str) -> Result<Vec<String>> {
        self.all(
            "SELECT trait FROM placement_provider_traits WHERE provider_uuid = $1
             ORDER BY trait",
            args![provider],
            |r| r.get(0),
        )
    }

    fn all_provider_traits(&self) -> Result<Vec<(String, String)>> {
        self.all(
            "SELECT provider_uuid, trait FROM placement_provider_traits
             ORDER BY provider_uuid, trait",
            args![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    fn replace_provider_traits(&self, provider: &str, traits: &[String]) -> Result<()> {
        self.run(
            "DELETE FROM placement_provider_traits WHERE provider_uuid = $1",
            args![provider],
        )?;
        for t in traits {
            self.run(
                "INSERT INTO placement_provider_traits (provider_uuid, trait) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
                args![provider, t],
            )?;
        }
        Ok(())
    }

    fn provider_aggregates(&self, provider: &str) -> Result<Vec<String>> {
        self.all(
            "SELECT aggregate FROM placement_provider_aggregates WHERE provider_uuid = $1
             ORDER BY aggregate",
            args![provider],
            |r| r.get(0),
        )
    }

    fn all_provider_aggregates(&self) -> Result<Vec<(String, String)>> {
        self.all(
            "SELECT provider_uuid, aggregate FROM placement_provider_aggregates
             ORDER BY provider_uuid, aggregate",
            args![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    fn replace_provider_aggregates(&self, provider: &str, aggregates: &[String]) -> Result<()> {
        self.run(
            "DELETE FROM placement_provider_aggregates WHERE provider_uuid = $1",
            args![provider],
        )?;
        for a in aggregates {
            self.run(
                "INSERT INTO placement_provider_aggregates (provider_uuid, aggregate)
                 VALUES ($1, $2) ON CONFLICT DO NOTHING",
                args![provider, a],
            )?;
        }
        Ok(())
    }

    fn consumer(&self, uuid: &str) -> Result<Option<Consumer>> {
        self.one(
            &format!("SELECT {CONSUMER} FROM placement_consumers WHERE uuid = $1"),
            args![uuid],
            consumer,
        )
    }

    fn save_consumer(&self, c: &Consumer) -> Result<()> {
        let now = crate::time::now_iso();
        self.run(
            "INSERT INTO placement_consumers
                (uuid, project_id, user_id, consumer_type, generation, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)
             ON CONFLICT (uuid) DO UPDATE SET project_id = $2, user_id = $3,
                consumer_type = $4, generation = $5, updated_at = $6",
            args![
                c.uuid,
                c.project_id,
                c.user_id,
                c.consumer_type,
                c.generation,
                now
            ],
        )?;
        Ok(())
    }

    fn delete_consumer(&self, uuid: &str) -> Result<()> {
        self.run(
            "DELETE FROM placement_consumers WHERE uuid = $1",
            args![uuid],
        )?;
        Ok(())
    }

    fn consumer_allocations(&self, consumer: &str) -> Result<Vec<Allocation>> {
        self.all(
            "SELECT provider_uuid, resource_class, used FROM placement_allocations
             WHERE consumer_uuid = $1 ORDER BY provider_uuid, resource_class",
            args![consumer],
            |r| {
                Ok(Allocation {
                    provider: r.get(0)?,
                    resource_class: r.get(1)?,
                    used: r.get(2)?,
                })
            },
        )
    }

    fn replace_consumer_allocations(
        &self,
        consumer: &str,
        allocations: &[Allocation],
    ) -> Result<()> {
        self.run(
            "DELETE FROM placement_allocations WHERE consumer_uuid = $1",
            args![consumer],
        )?;
        for a in allocations {
            self.run(
                "INSERT INTO placement_allocations
                    (consumer_uuid, provider_uuid, resource_class, used)
                 VALUES ($1, $2, $3, $4)",
                args![consumer, a.provider, a.resource_class, a.used],
            )?;
        }
        Ok(())
    }

    fn provider_allocations(&self, provider: &str) -> Result<Vec<(String, String, i64)>> {
        self.all(
            "SELECT consumer_uuid, resource_class, used FROM placement_allocations
             WHERE provider_uuid = $1 ORDER BY consumer_uuid, resource_class",
            args![provider],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }

    fn provider_usages(&self, provider: &str) -> Result<Vec<(String, i64)>> {
        self.all(
            "SELECT resource_class, CAST(sum(used) AS BIGINT) FROM placement_allocations
             WHERE provider_uuid = $1 GROUP BY resource_class ORDER BY resource_class",
            args![provider],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    fn all_usages(&self) -> Result<Vec<(String, String, i64)>> {
        self.all(
            "SELECT provider_uuid, resource_class, CAST(sum(used) AS BIGINT)
             FROM placement_allocations GROUP BY provider_uuid, resource_class
             ORDER BY provider_uuid, resource_class",
            args![],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }

    fn project_allocations(
        &self,
        project_id: &str,
        user_id: Option<&str>,
    ) -> Result<Vec<(Consumer, String, i64)>> {
        self.all(
            "SELECT c.uuid, c.project_id, c.user_id, c.consumer_type, c.generation,
                    a.resource_class, a.used
             FROM placement_consumers c
             JOIN placement_allocations a ON a.consumer_uuid = c.uuid
             WHERE c.project_id = $1 AND (CAST($2 AS TEXT) IS NULL OR c.user_id = $2)
             ORDER BY c.uuid, a.resource_class",
            args![project_id, user_id],
            |r| Ok((consumer(r)?, r.get(5)?, r.get(6)?)),
        )
    }
}
