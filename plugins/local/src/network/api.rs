//! Neutron's API conventions, once for every kind of resource: list (fields, filters,
//! sorting, paging, tags), show, create (one or bulk), update, delete, and the version
//! and extension documents.

use std::cmp::Ordering;
use std::marker::PhantomData;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::store::{self, Scope};
use super::{object_body, Ctx, Net, Result, Svc};
use crate::store::Tx;

/// What makes a kind of resource: its names, who sees it, and how it is made, changed and
/// removed. Everything else is common.
pub trait Kind: Send + Sync + 'static {
    /// `network`
    const SINGULAR: &'static str;
    /// `networks`
    const COLLECTION: &'static str;
    /// `Network`: faults say "Network {id} could not be found." (type `NetworkNotFound`).
    const NAME: &'static str;
    /// Attributes only admins see.
    const ADMIN_ONLY: &'static [&'static str] = &[];
    /// Attributes a PUT may change (others → 400).
    const MUTABLE: &'static [&'static str];

    /// Whether the caller may see a document (a reader of its project or an admin, by
    /// default: `ADMIN_OR_PROJECT_READER`).
    fn visible(ctx: &Ctx, doc: &Value) -> bool {
        ctx.sees(doc)
    }

    /// Whether the caller may see a document, when that depends on other documents (RBAC
    /// policies); `visible` by default.
    fn visible_in(_c: &dyn Tx, ctx: &Ctx, doc: &Value) -> Result<bool> {
        Ok(Self::visible(ctx, doc))
    }

    /// Makes (and stores) a new document from a create body.
    fn create(net: &Net, c: &dyn Tx, ctx: &Ctx, input: Map<String, Value>) -> Result<Value>;

    /// Applies a PUT body's changes to `doc` (already checked against MUTABLE); the caller
    /// saves it.
    fn update(
        _net: &Net,
        _c: &dyn Tx,
        _ctx: &Ctx,
        doc: &mut Value,
        input: &Map<String, Value>,
    ) -> Result<()> {
        for (k, v) in input {
            doc[k.as_str()] = v.clone();
        }
        Ok(())
    }

    /// Removes a document (and what hangs off it), or says why not.
    fn delete(_net: &Net, c: &dyn Tx, _ctx: &Ctx, doc: &Value) -> Result<()> {
        store::remove(c, Self::SINGULAR, doc["id"].as_str().unwrap_or_default())
    }
}

/// Neutron's 404 for a kind.
pub fn not_found<K: Kind>(id: &str) -> Fault {
    Fault::not_found(format!("{} {id} could not be found.", K::NAME))
        .kind(format!("{}NotFound", K::NAME.replace(' ', "")))
}

/// A document the caller may see, or 404.
pub fn get<K: Kind>(c: &dyn Tx, ctx: &Ctx, id: &str) -> Result<Value> {
    match store::fetch(c, K::SINGULAR, id)? {
        Some(doc) if K::visible_in(c, ctx, &doc)? => Ok(doc),
        _ => Err(not_found::<K>(id).into()),
    }
}

/// A document as the caller sees it: admin-only attributes removed for others, then only
/// the `fields` asked for.
pub fn view<K: Kind>(ctx: &Ctx, mut doc: Value, fields: &[&str]) -> Value {
    if !ctx.admin {
        if let Some(m) = doc.as_object_mut() {
            for k in K::ADMIN_ONLY {
                m.remove(*k);
            }
        }
    }
    if fields.is_empty() {
        return doc;
    }
    let Value::Object(m) = doc else { return doc };
    Value::Object(
        m.into_iter()
            .filter(|(k, _)| fields.contains(&k.as_str()))
            .collect(),
    )
}

/// Parameters of a list that are not attribute filters.
const CONTROL: &[&str] = &[
    "fields",
    "sort_key",
    "sort_dir",
    "limit",
    "marker",
    "page_reverse",
    "tags",
    "tags-any",
    "not-tags",
    "not-tags-any",
];

/// Whether a document's attribute matches one of a filter's values (Neutron compares the
/// attribute's string form; booleans as true/false in any case).
fn matches(attr: &Value, wanted: &[&str]) -> bool {
    wanted.iter().any(|w| match attr {
        Value::String(s) => s == w,
        Value::Bool(b) => w.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        Value::Number(n) => n.to_string() == *w,
        Value::Null => w.is_empty() || w.eq_ignore_ascii_case("none"),
        Value::Array(items) => items.iter().any(|i| matches(i, &[w])) || sub_filter(items, w),
        Value::Object(_) => false,
    })
}

/// `fixed_ips=ip_address=10.0.0.3`: a filter on a field of a list of objects;
/// `fixed_ips=ip_address_substr=0.0.3` (Neutron's ip-substring-filtering) matches part of
/// the address.
fn sub_filter(items: &[Value], w: &str) -> bool {
    let Some((key, value)) = w.split_once('=') else {
        return false;
    };
    if key == "ip_address_substr" {
        return items.iter().any(|i| {
            i.get("ip_address")
                .and_then(Value::as_str)
                .is_some_and(|ip| ip.contains(value))
        });
    }
    items
        .iter()
        .any(|i| i.get(key).and_then(Value::as_str) == Some(value))
}

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => a.to_string().cmp(&b.to_string()),
    }
}

fn tag_list(req: &Request, name: &str) -> Vec<String> {
    req.query_values(name)
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// The documents a list request selects, sorted and paged, with the page's links.
pub fn select<K: Kind>(
    c: &dyn Tx,
    ctx: &Ctx,
    req: &Request,
    base_url: &str,
) -> Result<(Vec<Value>, Option<Value>)> {
    // Read only the rows an indexed filter names, when there is one.
    fn single<'r>(req: &'r Request, name: &'r str) -> Option<&'r str> {
        let mut vals = req.query_values(name);
        match (vals.next(), vals.next()) {
            (Some(v), None) => Some(v),
            _ => None,
        }
    }
    let scope = if let Some(n) = single(req, "network_id") {
        Scope::Network(n)
    } else if let Some(d) = single(req, "device_id") {
        Scope::Device(d)
    } else if let Some(p) = single(req, "project_id").or_else(|| single(req, "tenant_id")) {
        Scope::Project(p)
    } else {
        Scope::All
    };
    let mut docs: Vec<Value> = Vec::new();
    for d in store::all(c, K::SINGULAR, scope)? {
        if K::visible_in(c, ctx, &d)? {
            docs.push(d);
        }
    }
    // Attribute filters, each a list of accepted values.
    let mut filters: Vec<(String, Vec<&str>)> = Vec::new();
    for p in req
        .query_params
        .iter()
        .filter(|p| !CONTROL.contains(&p.name.as_str()))
    {
        if !ctx.admin && K::ADMIN_ONLY.contains(&p.name.as_str()) {
            continue;
        }
        match filters.iter_mut().find(|(n, _)| *n == p.name.as_str()) {
            Some((_, vals)) => vals.push(p.value.as_str()),
            None => filters.push((p.name.to_string(), vec![p.value.as_str()])),
        }
    }
    if let Some(sample) = docs.first() {
        if let Some((bad, _)) = filters
            .iter()
            .find(|(n, _)| sample.get(n.as_str()).is_none())
        {
            return Err(
                Fault::bad_request(format!("[{bad}] is invalid attribute for filtering"))
                    .kind("HTTPBadRequest")
                    .into(),
            );
        }
    }
    docs.retain(|d| {
        filters
            .iter()
            .all(|(n, vals)| matches(&d[n.as_str()], vals))
    });
    let (tags, any, not, not_any) = (
        tag_list(req, "tags"),
        tag_list(req, "tags-any"),
        tag_list(req, "not-tags"),
        tag_list(req, "not-tags-any"),
    );
    let has = |d: &Value, t: &String| {
        d["tags"]
            .as_array()
            .is_some_and(|l| l.iter().any(|x| x == t))
    };
    docs.retain(|d| {
        tags.iter().all(|t| has(d, t))
            && (any.is_empty() || any.iter().any(|t| has(d, t)))
            && (not.is_empty() || !not.iter().all(|t| has(d, t)))
            && !not_any.iter().any(|t| has(d, t))
    });
    // Sorting: pairs of sort_key and sort_dir; ids break ties.
    let keys: Vec<&str> = req.query_values("sort_key").collect();
    let dirs: Vec<&str> = req.query_values("sort_dir").collect();
    if !dirs.is_empty() && dirs.len() != keys.len() {
        return Err(
            Fault::bad_request("The number of sort_keys and sort_dirs must be same")
                .kind("HTTPBadRequest")
                .into(),
        );
    }
    for d in &dirs {
        if *d != "asc" && *d != "desc" {
            return Err(Fault::bad_request(format!(
                "{d} is invalid value for sort_dir, valid value is 'asc' and 'desc'"
            ))
            .kind("HTTPBadRequest")
            .into());
        }
    }
    if let Some(sample) = docs.first() {
        if let Some(bad) = keys.iter().find(|k| sample.get(**k).is_none()) {
            return Err(
                Fault::bad_request(format!("{bad} is invalid attribute for sort_keys"))
                    .kind("HTTPBadRequest")
                    .into(),
            );
        }
    }
    docs.sort_by(|a, b| {
        for (i, k) in keys.iter().enumerate() {
            let o = compare(&a[*k], &b[*k]);
            let o = if dirs.get(i) == Some(&"desc") {
                o.reverse()
            } else {
                o
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        compare(&a["id"], &b["id"])
    });
    // Paging.
    let limit = match req.query_param("limit") {
        None => None,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if n > 0 => Some(n as usize),
            Ok(0) => None,
            _ => {
                return Err(Fault::bad_request(format!(
                    "Bad limit request: Limit must be an integer 0 or greater and not '{l}'."
                ))
                .kind("BadRequest")
                .into())
            }
        },
    };
    let reverse = req
        .query_param("page_reverse")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if reverse {
        docs.reverse();
    }
    let marker = req.query_param("marker");
    if let Some(m) = marker {
        match docs.iter().position(|d| d["id"].as_str() == Some(m)) {
            Some(at) => {
                docs.drain(..=at);
            }
            None => {
                if store::fetch(c, K::SINGULAR, m)?.is_none() {
                    return Err(not_found::<K>(m).into());
                }
            }
        }
    }
    let mut links = Vec::new();
    if let Some(n) = limit {
        let full = docs.len() > n;
        docs.truncate(n);
        if reverse {
            docs.reverse();
        }
        let query: Vec<Pair> = req
            .query_params
            .iter()
            .filter(|p| p.name != "page_reverse")
            .cloned()
            .collect();
        let first = docs
            .first()
            .and_then(|d| d["id"].as_str())
            .map(str::to_string);
        let last = docs
            .last()
            .and_then(|d| d["id"].as_str())
            .map(str::to_string);
        let (next_marker, prev_marker) = if reverse {
            (last.filter(|_| marker.is_some()), first.filter(|_| full))
        } else {
            (last.filter(|_| full), first.filter(|_| marker.is_some()))
        };
        if let Some(m) = next_marker {
            links.push(json!({"rel": "next", "href": next_href(base_url, &query, &m)}));
        }
        if let Some(m) = prev_marker {
            let mut q = query.clone();
            q.push(Pair::new("page_reverse", "True"));
            links.push(json!({"rel": "previous", "href": next_href(base_url, &q, &m)}));
        }
    }
    let links = (!links.is_empty()).then_some(Value::Array(links));
    Ok((docs, links))
}

fn fields(req: &Request) -> Vec<&str> {
    req.query_values("fields")
        .flat_map(|f| f.split(','))
        .collect()
}

fn reply(resp: &mut Response, status: u16, v: &Value) -> HandlerResult {
    resp.set_status(status);
    resp.json(v);
    Ok(())
}

fn collection_url(
    svc: &Net,
    req: &Request,
    collection: &str,
) -> std::result::Result<String, Fault> {
    let disp = svc
        .app
        .get_dispatcher("network")
        .ok_or_else(|| Fault::internal("network is not enabled"))?;
    let base = disp.get_endpoint_url(req, "v2_index", &[])?;
    Ok(format!("{}/{collection}", base.trim_end_matches('/')))
}

pub fn list<K: Kind>(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let ctx = Ctx::of(req)?;
    let url = collection_url(svc, req, K::COLLECTION)?;
    let (docs, links) = svc.read(|c| select::<K>(c, &ctx, req, &url))?;
    let f = fields(req);
    let items: Vec<Value> = docs.into_iter().map(|d| view::<K>(&ctx, d, &f)).collect();
    let mut out = json!({ K::COLLECTION: items });
    if let Some(l) = links {
        out[format!("{}_links", K::COLLECTION)] = l;
    }
    reply(resp, 200, &out)
}

pub fn show<K: Kind>(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let ctx = Ctx::of(req)?;
    let id = item_id(req)?;
    let doc = svc.read(|c| get::<K>(c, &ctx, id))?;
    reply(
        resp,
        200,
        &json!({ K::SINGULAR: view::<K>(&ctx, doc, &fields(req)) }),
    )
}

pub fn create<K: Kind>(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let ctx = Ctx::of(req)?;
    let v: Value = if req.body.is_empty() {
        return Err(Fault::bad_request("Resource body required").kind("HTTPBadRequest"));
    } else {
        serde_json::from_slice(&req.body).map_err(|_| {
            Fault::bad_request("Malformed JSON in request body.").kind("HTTPBadRequest")
        })?
    };
    // Bulk: {"networks": [...]}, all or nothing.
    if let Some(list) = v.get(K::COLLECTION).and_then(Value::as_array) {
        let inputs: Vec<Map<String, Value>> = list
            .iter()
            .map(|i| {
                i.as_object().cloned().ok_or_else(|| {
                    Fault::bad_request("Bulk operation items must be objects")
                        .kind("HTTPBadRequest")
                })
            })
            .collect::<std::result::Result<_, _>>()?;
        let docs = svc.write(|c| {
            inputs
                .into_iter()
                .map(|i| K::create(svc, c, &ctx, i))
                .collect::<Result<Vec<_>>>()
        })?;
        let items: Vec<Value> = docs.into_iter().map(|d| view::<K>(&ctx, d, &[])).collect();
        return reply(resp, 201, &json!({ K::COLLECTION: items }));
    }
    let input = object_body(req, K::SINGULAR)?;
    let doc = svc.write(|c| K::create(svc, c, &ctx, input))?;
    reply(
        resp,
        201,
        &json!({ K::SINGULAR: view::<K>(&ctx, doc, &[]) }),
    )
}

pub fn update<K: Kind>(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let ctx = Ctx::of(req)?;
    let id = item_id(req)?.to_string();
    let input = object_body(req, K::SINGULAR)?;
    if let Some(bad) = input.keys().find(|k| !K::MUTABLE.contains(&k.as_str())) {
        return Err(
            Fault::bad_request(format!("Cannot update read-only attribute {bad}"))
                .kind("HTTPBadRequest"),
        );
    }
    let doc = svc.write(|c| {
        let mut doc = get::<K>(c, &ctx, &id)?;
        if !ctx.owns(&doc) {
            return Err(super::denied(&format!("update_{}", K::SINGULAR)).into());
        }
        K::update(svc, c, &ctx, &mut doc, &input)?;
        store::save(c, K::SINGULAR, &mut doc)?;
        Ok(doc)
    })?;
    reply(
        resp,
        200,
        &json!({ K::SINGULAR: view::<K>(&ctx, doc, &[]) }),
    )
}

pub fn delete<K: Kind>(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let ctx = Ctx::of(req)?;
    let id = item_id(req)?.to_string();
    svc.write(|c| {
        let doc = get::<K>(c, &ctx, &id)?;
        if !ctx.owns(&doc) {
            return Err(super::denied(&format!("delete_{}", K::SINGULAR)).into());
        }
        K::delete(svc, c, &ctx, &doc)
    })?;
    resp.set_status(204);
    Ok(())
}

/// The item's id: the one path parameter that is not the tenant.
fn item_id(req: &Request) -> std::result::Result<&str, Fault> {
    req.params
        .iter()
        .find(|p| p.name.ends_with("_id") || p.name == "id")
        .map(|p| p.value.as_str())
        .ok_or_else(|| Fault::internal("route without an id"))
}

/// `GET/POST` on a collection.
pub struct Collection<K>(pub Svc, PhantomData<fn() -> K>);

/// `GET/PUT/DELETE` on an item.
pub struct Item<K>(pub Svc, PhantomData<fn() -> K>);

#[handler]
impl<K: Kind> Handler for Collection<K> {
    fn on_get(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        list::<K>(&self.0, req, resp)
    }
    fn on_post(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        create::<K>(&self.0, req, resp)
    }
}

#[handler]
impl<K: Kind> Handler for Item<K> {
    fn on_get(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        show::<K>(&self.0, req, resp)
    }
    fn on_put(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        update::<K>(&self.0, req, resp)
    }
    fn on_delete(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        delete::<K>(&self.0, req, resp)
    }
}

/// Sets a kind's collection and item handlers.
pub fn serve<K: Kind>(
    disp: &Dispatcher,
    svc: &Svc,
    collection: &str,
    item: &str,
) -> std::result::Result<(), Error> {
    use crate::policy::Policed;
    let collection_handler = Collection::<K>(svc.clone(), PhantomData);
    disp.set_handler(
        collection,
        Policed::new(disp, collection, collection_handler)?,
    )?;
    let item_handler = Item::<K>(svc.clone(), PhantomData);
    disp.set_handler(item, Policed::new(disp, item, item_handler)?)?;
    Ok(())
}

// ---------------------------------------------------------------- versions, extensions

endpoint!(Svc; Versions { on_get => versions } nonblocking);
endpoint!(Svc; V2 { on_get => v2 } nonblocking);
endpoint!(Svc; Extensions { on_get => extensions } nonblocking);
endpoint!(Svc; ExtensionItem { on_get => extension } nonblocking);
endpoint!(Svc; Agents { on_get => agents } nonblocking);
endpoint!(Svc; AgentItem { on_get => agent } nonblocking);

/// Resource collections the v2.0 document lists.
const RESOURCES: &[(&str, &str)] = &[
    ("network", "networks"),
    ("subnet", "subnets"),
    ("subnetpool", "subnetpools"),
    ("port", "ports"),
    ("security_group", "security-groups"),
    ("security_group_rule", "security-group-rules"),
    ("router", "routers"),
    ("floatingip", "floatingips"),
    ("quota", "quotas"),
    ("rbac_policy", "rbac-policies"),
];

fn versions(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let url = collection_url(svc, req, "")?;
    reply(
        resp,
        200,
        &json!({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": url}]}]}),
    )
}

fn v2(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let mut items = Vec::new();
    for (name, collection) in RESOURCES {
        let url = collection_url(svc, req, collection)?;
        items.push(json!({"name": name, "collection": collection, "links": [{"rel": "self", "href": url}]}));
    }
    reply(resp, 200, &json!({"resources": items}))
}

/// The API extensions this cloud implements: `(alias, name, description)`.
pub const EXTENSIONS: &[(&str, &str, &str)] = &[
    ("standard-attr-description", "standard-attr-description", "Extension to add descriptions to standard attributes"),
    ("standard-attr-revisions", "Resource revision numbers", "This extension will display the revision number of neutron resources."),
    ("standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes."),
    ("standard-attr-tag", "Tag support for resources with standard attribute: subnet, trunk, network_segment_range, router, network, policy, subnetpool, port, security_group, floatingip", "Enables to set tag on resources with standard attribute."),
    ("project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled."),
    ("sorting", "Sorting support", "Enables sort feature."),
    ("pagination", "Pagination support", "Enables pagination feature."),
    ("fields-filter", "Fields filter", "Indicates the API supports the fields query parameter."),
    ("filter-validation", "Filter parameters validation", "Provides validation on filter parameters."),
    ("empty-string-filtering", "Empty String Filtering Extension", "Allow filtering by attributes with empty string value"),
    ("external-net", "Neutron external network", "Adds external network attribute to network resource."),
    ("provider", "Provider Network", "Expose mapping of virtual networks to physical networks"),
    ("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    ("net-mtu-writable", "Network MTU (writable)", "Provides a writable MTU attribute for a network resource."),
    ("l2_adjacency", "L2 Adjacency", "Display L2 Adjacency for Neutron Networks."),
    ("subnet_allocation", "Subnet Allocation", "Enables allocation of subnets from a subnet pool"),
    ("default-subnetpools", "Default Subnetpools", "Provides ability to mark and use a subnetpool as the default."),
    ("subnetpool-prefix-ops", "Subnet Pool Prefix Operations", "Provides support for adjusting the prefix list of subnet pools"),
    ("subnet-external-network", "Subnet External Network", "Informs if the subnet is associated to an external network."),
    ("allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs"),
    ("extra_dhcp_opt", "Neutron Extra DHCP options", "Extra options configuration for DHCP. For example PXE boot options to DHCP clients can be specified (e.g. tftp-server, server-ip-address, bootfile-name)"),
    ("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
    ("port-security", "Port Security", "Provides port security"),
    ("ip-substring-filtering", "IP address substring filtering", "Provides IP address substring filtering when listing ports"),
    ("uplink-status-propagation", "Uplink status propagation extension", "Provides ability to propagate uplink status of physical ports to virtual ports"),
    ("ip_allocation", "IP Allocation", "IP allocation extension."),
    ("security-group", "security-group", "The security groups extension."),
    ("stateful-security-group", "Stateful security group", "Indicates if the security group is stateful or not"),
    ("security-groups-normalized-cidr", "Normalized CIDR field for security group rules", "Add new field with normalized remote_ip_prefix cidr in SG rule"),
    ("security-groups-rules-belongs-to-default-sg", "Security group rule belongs to the project's default security group", "Flag to determine if the security group rule belongs to the project's default security group"),
    ("quotas", "Quota management support", "Expose functions for quotas management per project"),
    ("quota_details", "Quota details management support", "Expose functions for quotas usage statistics per project"),
    ("quota-check-limit", "Quota engine limit check", "Support for checking the resource usage before applying a new quota limit"),
    ("availability_zone", "Availability Zone", "The availability zone extension."),
    ("network_availability_zone", "Network Availability Zone", "Availability zone support for network."),
    ("network-ip-availability", "Network IP Availability", "Provides IP availability data for each network and subnet."),
    ("rbac-policies", "RBAC Policies", "Allows creation and modification of policies that control tenant access to resources."),
    ("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway."),
    ("ext-gw-mode", "Neutron L3 Configurable external gateway mode", "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway"),
    ("extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router"),
    ("extraroute-atomic", "Atomically add/remove extra routes", "Edit extra routes of a router on server side by atomically adding/removing extra routes"),
    ("router_availability_zone", "Router Availability Zone", "Availability zone support for router."),
    ("floatingip-pools", "Floating IP Pools Extension", "Provides a floating IP pools API."),
    ("fip-port-details", "Floating IP Port Details Extension", "Add port_details attribute to Floating IP resource"),
];

fn extension_body(alias: &str, name: &str, description: &str) -> Value {
    json!({"alias": alias, "name": name, "description": description, "updated": "2019-01-01T10:00:00-00:00", "links": []})
}

fn extensions(_svc: &Svc, _req: &mut Request, resp: &mut Response) -> HandlerResult {
    let list: Vec<Value> = EXTENSIONS
        .iter()
        .map(|(a, n, d)| extension_body(a, n, d))
        .collect();
    reply(resp, 200, &json!({"extensions": list}))
}

fn extension(_svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let alias = req.param("alias").unwrap_or_default();
    let (a, n, d) = EXTENSIONS
        .iter()
        .find(|(a, _, _)| *a == alias)
        .ok_or_else(|| {
            Fault::not_found(format!("Extension with alias {alias} does not exist"))
                .kind("HTTPNotFound")
        })?;
    reply(resp, 200, &json!({"extension": extension_body(a, n, d)}))
}

/// This cloud runs no Neutron agents (no data plane): the list is empty for everyone.
fn agents(_svc: &Svc, _req: &mut Request, resp: &mut Response) -> HandlerResult {
    reply(resp, 200, &json!({"agents": []}))
}

fn agent(_svc: &Svc, req: &mut Request, _resp: &mut Response) -> HandlerResult {
    let id = req.param("agent_id").unwrap_or_default();
    Err(Fault::not_found(format!("Agent {id} could not be found.")).kind("AgentNotFound"))
}

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "index" => Versions,
        "v2_index" => V2,
        "v2_extensions" => Extensions,
        "v2_extension" => ExtensionItem,
        "v2_agents" => Agents,
        "v2_agent" => AgentItem,
    }
    Ok(())
}
