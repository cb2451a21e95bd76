//! IP address management: CIDRs and ranges as numbers, Neutron's pool rules, and the
//! addresses of ports. An address belongs to a port when its row is in `net_ips`; the
//! table's UNIQUE (subnet_id, n) makes the INSERT the allocation, so two ports can never
//! hold one address however requests interleave.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use jumpgate_plugin_api::prelude::*;

use serde_json::{json, Value};

use crate::network::{bad, Result};
use crate::store::Tx;

/// A fault with Neutron's `type`.
pub fn fault(status: u16, kind: &str, message: impl Into<String>) -> Fault {
    Fault::new(status, message).kind(kind)
}

/// A parsed subnet: its first address, prefix length and family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub first: u128,
    pub prefix: u8,
    pub v6: bool,
}

impl Cidr {
    pub fn bits(&self) -> u8 {
        if self.v6 {
            128
        } else {
            32
        }
    }

    pub fn version(&self) -> i64 {
        if self.v6 {
            6
        } else {
            4
        }
    }

    pub fn last(&self) -> u128 {
        let host = self.bits() - self.prefix;
        if host == 128 {
            u128::MAX
        } else {
            self.first | ((1u128 << host) - 1)
        }
    }

    pub fn contains(&self, n: u128) -> bool {
        (self.first..=self.last()).contains(&n)
    }

    pub fn overlaps(&self, o: &Cidr) -> bool {
        self.v6 == o.v6 && self.first <= o.last() && o.first <= self.last()
    }

    /// How many addresses it has, saturating (an IPv6 /0 has 2^128).
    pub fn size(&self) -> u128 {
        (self.last() - self.first).saturating_add(1)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", show(self.first, self.v6), self.prefix)
    }
}

/// An address as a number, and whether it is IPv6.
pub fn parse_ip(s: &str) -> Option<(u128, bool)> {
    match s.trim().parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => Some((u32::from(a) as u128, false)),
        IpAddr::V6(a) => Some((u128::from(a), true)),
    }
}

pub fn show(n: u128, v6: bool) -> String {
    if v6 {
        Ipv6Addr::from(n).to_string()
    } else {
        Ipv4Addr::from(n as u32).to_string()
    }
}

/// `10.0.0.0/24` (host bits may be set: the subnet is the network they are in, as
/// Neutron turns `10.0.0.1/24` into `10.0.0.0/24`).
pub fn parse_cidr(s: &str) -> Option<Cidr> {
    let (addr, len) = s.trim().split_once('/')?;
    let (n, v6) = parse_ip(addr)?;
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u8 = len.parse().ok()?;
    let bits = if v6 { 128 } else { 32 };
    if prefix > bits {
        return None;
    }
    let host = bits - prefix;
    let mask = if host == 128 {
        0
    } else {
        !((1u128 << host) - 1)
    };
    let first = if v6 { n & mask } else { n & mask & 0xffff_ffff };
    Some(Cidr { first, prefix, v6 })
}

/// An inclusive range of addresses (an allocation pool).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub first: u128,
    pub last: u128,
}

impl Range {
    /// netaddr's IPRange spelling, which Neutron's pool messages use.
    pub fn show(&self, v6: bool) -> String {
        format!("{}-{}", show(self.first, v6), show(self.last, v6))
    }

    pub fn json(&self, v6: bool) -> Value {
        json!({"start": show(self.first, v6), "end": show(self.last, v6)})
    }
}

/// The CIDR minus the network address, the broadcast (IPv4) and the gateway, as Neutron's
/// `generate_pools`.
pub fn default_pools(cidr: &Cidr, gateway: Option<u128>) -> Vec<Range> {
    let (first, last) = (cidr.first, cidr.last());
    if first == last {
        return vec![Range { first, last }];
    }
    let lo = first + 1;
    let hi = last - u128::from(!cidr.v6);
    if lo >= hi {
        return Vec::new();
    }
    match gateway {
        Some(g) if (lo..=hi).contains(&g) => {
            let mut out = Vec::new();
            if g > lo {
                out.push(Range {
                    first: lo,
                    last: g - 1,
                });
            }
            if g < hi {
                out.push(Range {
                    first: g + 1,
                    last: hi,
                });
            }
            out
        }
        _ => vec![Range {
            first: lo,
            last: hi,
        }],
    }
}

/// A request's `allocation_pools`, checked as Neutron's `validate_allocation_pools` and
/// `validate_gw_out_of_pools` do.
pub fn parse_pools(v: &Value, cidr: &Cidr, gateway: Option<u128>) -> Result<Vec<Range>> {
    let Some(items) = v.as_array() else {
        return Err(crate::network::bad_value("allocation_pools", v, "is not a list").into());
    };
    let mut pools = Vec::new();
    for item in items {
        let invalid = || {
            let shown = match item {
                Value::Object(m) => format!(
                    "{{'start': '{}', 'end': '{}'}}",
                    m.get("start").and_then(Value::as_str).unwrap_or(""),
                    m.get("end").and_then(Value::as_str).unwrap_or("")
                ),
                other => other.to_string(),
            };
            fault(
                400,
                "InvalidAllocationPool",
                format!("The allocation pool {shown} is not valid."),
            )
        };
        let start = item.get("start").and_then(Value::as_str).and_then(parse_ip);
        let end = item.get("end").and_then(Value::as_str).and_then(parse_ip);
        let (Some((s, sv6)), Some((e, ev6))) = (start, end) else {
            return Err(invalid().into());
        };
        if sv6 != ev6 || s > e {
            return Err(invalid().into());
        }
        let range = Range { first: s, last: e };
        if sv6 != cidr.v6 {
            return Err(fault(
                400,
                "InvalidAllocationPool",
                format!("The allocation pool {} is not valid.", range.show(sv6)),
            )
            .into());
        }
        let lo = cidr.first + 1;
        let hi = cidr.last() - u128::from(!cidr.v6);
        if s < lo || e > hi {
            return Err(fault(
                400,
                "OutOfBoundsAllocationPool",
                format!(
                    "The allocation pool {} spans beyond the subnet cidr {cidr}.",
                    range.show(cidr.v6)
                ),
            )
            .into());
        }
        pools.push(range);
    }
    for (i, a) in pools.iter().enumerate() {
        for b in &pools[i + 1..] {
            if a.first <= b.last && b.first <= a.last {
                return Err(fault(
                    400,
                    "OverlappingAllocationPools",
                    format!(
                        "Found overlapping allocation pools: {} {} for subnet {cidr}.",
                        a.show(cidr.v6),
                        b.show(cidr.v6)
                    ),
                )
                .into());
            }
        }
    }
    if let Some(g) = gateway {
        gateway_out_of_pools(g, &pools, cidr.v6)?;
    }
    Ok(pools)
}

/// Neutron's 409 for a gateway inside an allocation pool.
pub fn gateway_out_of_pools(g: u128, pools: &[Range], v6: bool) -> Result<()> {
    if let Some(p) = pools.iter().find(|p| (p.first..=p.last).contains(&g)) {
        return Err(fault(
            409,
            "GatewayConflictWithAllocationPools",
            format!(
                "Gateway ip {} conflicts with allocation pool {}.",
                show(g, v6),
                p.show(v6)
            ),
        )
        .into());
    }
    Ok(())
}

/// A subnet document's pools.
pub fn pools_of(subnet: &Value) -> Vec<Range> {
    subnet["allocation_pools"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|p| {
                    let (s, _) = parse_ip(p["start"].as_str()?)?;
                    let (e, _) = parse_ip(p["end"].as_str()?)?;
                    Some(Range { first: s, last: e })
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn cidr_of(subnet: &Value) -> Option<Cidr> {
    parse_cidr(subnet["cidr"].as_str()?)
}

/// Whether an address may be a port's on a subnet (Neutron's `check_subnet_ip`): in the
/// CIDR, not its network address, nor (IPv4) its broadcast. IPv6 router ports may take
/// the subnet-router anycast address.
pub fn valid_for_subnet(cidr: &Cidr, n: u128, router_port: bool) -> bool {
    if !cidr.contains(n) {
        return false;
    }
    if cidr.v6 {
        router_port || n != cidr.first
    } else {
        n != cidr.first && n != cidr.last()
    }
}

/// Subnets whose hosts configure their own addresses (SLAAC, DHCPv6 stateless): Neutron
/// gives every port there its EUI-64 address.
pub fn auto_address(subnet: &Value) -> bool {
    let auto = |m: &Value| matches!(m.as_str(), Some("slaac" | "dhcpv6-stateless"));
    if subnet["ipv6_address_mode"].is_null() {
        auto(&subnet["ipv6_ra_mode"])
    } else {
        auto(&subnet["ipv6_address_mode"])
    }
}

/// A MAC's EUI-64 address in an IPv6 prefix.
pub fn eui64(cidr: &Cidr, mac: &str) -> Option<u128> {
    let b: Vec<u8> = mac
        .split(':')
        .map(|x| u8::from_str_radix(x, 16))
        .collect::<std::result::Result<_, _>>()
        .ok()?;
    if b.len() != 6 {
        return None;
    }
    let iid = u64::from_be_bytes([b[0] ^ 0x02, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]]);
    Some(cidr.first | u128::from(iid))
}

/// `net_ips.n`: the address (IPv4), or its low 64 bits (IPv6), as SQLite's signed integer.
pub fn n_of(a: u128) -> i64 {
    a as u64 as i64
}

fn exists(c: &dyn Tx, subnet_id: &str, n: i64) -> Result<bool> {
    Ok(c.ip_held(subnet_id, n)?)
}

/// The first free address of a pool, or None. Pools are cut where `n` would not grow
/// with the address (at each 2^63 of the low 64 bits), so each piece is one ordered span
/// of `n` and the first gap is one indexed query.
fn first_free(c: &dyn Tx, subnet_id: &str, pool: &Range) -> Result<Option<u128>> {
    let mut lo = pool.first;
    loop {
        let span_end = lo | 0x7fff_ffff_ffff_ffff;
        let hi = pool.last.min(span_end);
        let high = lo & !0xffff_ffff_ffff_ffffu128;
        let (a, b) = (n_of(lo), n_of(hi));
        if !exists(c, subnet_id, a)? {
            return Ok(Some(lo));
        }
        let gap = c.first_gap(subnet_id, a, b)?;
        if let Some(n) = gap {
            return Ok(Some(high | u128::from(n as u64)));
        }
        if hi >= pool.last {
            return Ok(None);
        }
        lo = hi + 1;
    }
}

/// Records `address` as the port's; false when another port holds it.
fn claim(c: &dyn Tx, subnet_id: &str, n: u128, v6: bool, port_id: &str) -> Result<bool> {
    let stored = c.claim_ip(subnet_id, &show(n, v6), n_of(n), port_id)?;
    Ok(stored == crate::store::Unique::Stored)
}

/// Neutron's 409 when no subnet of a network has a free address.
pub fn exhausted(network_id: &str) -> Fault {
    fault(
        409,
        "IpAddressGenerationFailure",
        format!("No more IP addresses available on network {network_id}."),
    )
}

/// Allocates the first free address of a subnet's pools to a port, or None when they are
/// all taken.
pub fn allocate_any(c: &dyn Tx, subnet: &Value, port_id: &str) -> Result<Option<String>> {
    let id = subnet["id"].as_str().unwrap_or_default();
    let Some(cidr) = cidr_of(subnet) else {
        return Ok(None);
    };
    for pool in pools_of(subnet) {
        // One transaction holds the write lock, so the free address found stays free;
        // the INSERT would refuse it otherwise.
        if let Some(n) = first_free(c, id, &pool)? {
            if claim(c, id, n, cidr.v6, port_id)? {
                return Ok(Some(show(n, cidr.v6)));
            }
        }
    }
    Ok(None)
}

/// Allocates a given address of a subnet to a port: 400 InvalidIpForSubnet when it cannot
/// be one, 409 IpAddressAlreadyAllocated when another port has it. Returns its canonical
/// spelling.
pub fn allocate_ip(
    c: &dyn Tx,
    subnet: &Value,
    ip: &str,
    port_id: &str,
    router_port: bool,
) -> Result<String> {
    let id = subnet["id"].as_str().unwrap_or_default();
    let invalid = || {
        fault(
            400,
            "InvalidIpForSubnet",
            format!("IP address {ip} is not a valid IP for the specified subnet."),
        )
    };
    let cidr = cidr_of(subnet).ok_or_else(invalid)?;
    let (n, v6) = parse_ip(ip).ok_or_else(invalid)?;
    if v6 != cidr.v6 || !valid_for_subnet(&cidr, n, router_port) {
        return Err(invalid().into());
    }
    if !claim(c, id, n, v6, port_id)? {
        return Err(fault(
            409,
            "IpAddressAlreadyAllocated",
            format!(
                "IP address {} already allocated in subnet {id}",
                show(n, v6)
            ),
        )
        .into());
    }
    Ok(show(n, v6))
}

/// Returns one address of a port to its subnet.
pub fn release_ip(c: &dyn Tx, subnet_id: &str, address: &str, port_id: &str) -> Result<()> {
    Ok(c.release_ip(subnet_id, address, port_id)?)
}

/// An IP address attribute of a request: its number, checked against the family.
pub fn ip_attr(attr: &str, v: &Value, v6: bool, version: i64) -> Result<u128> {
    let s = v.as_str().unwrap_or_default();
    let Some((n, is6)) = parse_ip(s) else {
        return Err(crate::network::bad_value(attr, v, "is not a valid IP address").into());
    };
    if is6 != v6 {
        return Err(bad(format!(
            "{attr} '{s}' does not match the ip_version '{version}'"
        ))
        .into());
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_are_normalized_and_pools_skip_network_broadcast_and_gateway() {
        let c = parse_cidr("10.0.0.7/24").unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/24");
        let g = parse_ip("10.0.0.1").unwrap().0;
        let p = default_pools(&c, Some(g));
        assert_eq!(
            p,
            vec![Range {
                first: g + 1,
                last: g + 253
            }]
        );
        assert_eq!(
            p[0].json(false),
            json!({"start": "10.0.0.2", "end": "10.0.0.254"})
        );
        let v6 = parse_cidr("2001:db8::/64").unwrap();
        let p = default_pools(&v6, Some(v6.first + 1));
        assert_eq!(
            p[0].json(true),
            json!({"start": "2001:db8::2", "end": "2001:db8::ffff:ffff:ffff:ffff"})
        );
        assert!(parse_cidr("10/24").is_none());
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(parse_cidr("10.0.0.0").is_none());
    }

    #[test]
    fn pools_are_validated_as_neutron() {
        let c = parse_cidr("10.0.0.0/24").unwrap();
        let g = Some(parse_ip("10.0.0.1").unwrap().0);
        let err = |v: Value| match parse_pools(&v, &c, g) {
            Err(crate::network::Error::Fault(f)) => (f.status, f.kind.unwrap()),
            _ => panic!("accepted {v}"),
        };
        assert_eq!(
            err(json!([{"start": "10.0.0.2", "end": "10.0.1.5"}])),
            (400, "OutOfBoundsAllocationPool".into())
        );
        assert_eq!(
            err(json!([{"start": "10.0.0.9", "end": "10.0.0.5"}])),
            (400, "InvalidAllocationPool".into())
        );
        assert_eq!(
            err(
                json!([{"start": "10.0.0.2", "end": "10.0.0.9"}, {"start": "10.0.0.9", "end": "10.0.0.20"}])
            ),
            (400, "OverlappingAllocationPools".into())
        );
        assert_eq!(
            err(json!([{"start": "10.0.0.1", "end": "10.0.0.9"}])),
            (409, "GatewayConflictWithAllocationPools".into())
        );
        assert!(parse_pools(&json!([{"start": "10.0.0.2", "end": "10.0.0.9"}]), &c, g).is_ok());
    }

    #[test]
    fn eui64_addresses_come_from_the_mac() {
        let c = parse_cidr("2001:db8::/64").unwrap();
        let n = eui64(&c, "fa:16:3e:12:34:56").unwrap();
        assert_eq!(show(n, true), "2001:db8::f816:3eff:fe12:3456");
    }
}
