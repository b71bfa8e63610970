//! Typed redb tables and the shape of a schema: each domain declares its own tables (with
//! versioned names) beside its records, and the layer above the domains (`crate::schema`)
//! lists them all once; this module knows none of them but the store's own metadata.
//!
//! Tenant tables are keyed `(org_id, local_key)` and only reachable through an org-scoped
//! handle; global tables are the few named in DESIGN.md. Values are JSON documents, except the
//! records every booking writes, which have compact layouts (`store::codec`); changing a
//! value's shape incompatibly means a new table name or layout tag, and a migration step.

use std::marker::PhantomData;

use redb::TableDefinition;

/// The raw redb shape of every tenant table.
pub type TenantDef = TableDefinition<'static, (u128, &'static [u8]), &'static [u8]>;
/// The raw redb shape of every global table.
pub type GlobalDef = TableDefinition<'static, &'static [u8], &'static [u8]>;

/// A tenant-owned table holding values of type `V`.
pub struct TenantTable<V> {
    name: &'static str,
    _value: PhantomData<fn() -> V>,
}

impl<V> TenantTable<V> {
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            _value: PhantomData,
        }
    }
    pub(crate) fn def(&self) -> TenantDef {
        TableDefinition::new(self.name)
    }
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

/// An install-wide table holding values of type `V`.
pub struct GlobalTable<V> {
    name: &'static str,
    _value: PhantomData<fn() -> V>,
}

impl<V> GlobalTable<V> {
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            _value: PhantomData,
        }
    }
    pub(crate) fn def(&self) -> GlobalDef {
        TableDefinition::new(self.name)
    }
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

// Values of no single domain, stored as JSON.
super::codec::stored_as_json!(
    serde_json::Value,
    uuid::Uuid,
    Vec<f32>,
    chrono::DateTime<chrono::Utc>,
);

/// Install metadata (`schema_version`).
pub const META: GlobalTable<serde_json::Value> = GlobalTable::new("meta_v1");

/// One schema step: applied once, in order, to files older than its version.
pub struct Migration {
    pub version: u64,
    pub name: &'static str,
    pub apply: fn(&mut super::StoreWrite) -> Result<(), super::StoreError>,
}

/// Every table and migration of the appliance, as the layer above the domains lists them;
/// the store uses it to migrate, copy, count and purge without knowing any domain.
pub struct Schema {
    /// Ordered steps, append only.
    pub migrations: &'static [Migration],
    /// Every tenant table of the current schema.
    pub tenant: fn() -> Vec<TenantDef>,
    /// Every global table of the current schema.
    pub global: fn() -> Vec<GlobalDef>,
    /// Removes an org's entries from the global tables (their keys do not start with the
    /// org, so each owning domain says which entries point at it); returns how many went.
    pub forget_org_globals:
        fn(&mut super::StoreWrite, crate::domain::OrgId) -> Result<usize, super::StoreError>,
}

impl Schema {
    /// The version of the newest step.
    pub fn version(&self) -> u64 {
        self.migrations.last().map(|m| m.version).unwrap_or(0)
    }
}
