//! Cinder's scheduler as far as one back end needs it: whether the pool satisfies a volume
//! type's extra specs (its CapabilitiesFilter and `extra_specs_ops`). A volume it cannot
//! place is created in `error` with a user message, as Cinder's scheduler leaves it.

use serde_json::{Map, Value};

/// Whether a pool with `capabilities` satisfies every extra spec: unscoped keys and
/// `capabilities:`-scoped ones name capabilities (a missing one fails), other scopes
/// (`RESKEY:`, vendors') are not the scheduler's.
pub fn satisfies(specs: &Map<String, Value>, capabilities: &Value) -> bool {
    specs.iter().all(|(key, wanted)| {
        let mut scope: Vec<&str> = key.split(':').collect();
        if scope.len() > 1 {
            if scope[0] != "capabilities" {
                return true;
            }
            scope.remove(0);
        }
        let mut cap = capabilities;
        for s in scope {
            match cap.get(s) {
                Some(v) => cap = v,
                None => return false,
            }
        }
        match wanted {
            Value::String(w) => matches(cap, w),
            other => matches(cap, &other.to_string()),
        }
    })
}

/// A capability as Python would print it (`True`, `20.0`, `local`).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}

fn truthy(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "1" | "t" | "true" | "on" | "y" | "yes"
    )
}

/// Cinder's `extra_specs_ops.match`: `<is> True`, `<in> x`, `<or> a <or> b`, numeric
/// (`==`, `!=`, `>=`, `<=`, `=` meaning at least) and string (`s==`, `s!=`, `s<`, …)
/// comparisons; anything else must equal the capability.
fn matches(cap: &Value, wanted: &str) -> bool {
    let have = text(cap);
    let mut words = wanted.split_whitespace();
    let Some(op) = words.next() else {
        return have == wanted;
    };
    let rest: Vec<&str> = words.collect();
    if op == "<or>" {
        return std::iter::once(op)
            .chain(rest.iter().copied())
            .collect::<Vec<_>>()
            .split(|w| *w == "<or>")
            .any(|alt| alt.join(" ") == have);
    }
    let Some(arg) = rest.first() else {
        return have == wanted;
    };
    let num = |f: fn(f64, f64) -> bool| match (have.parse::<f64>(), arg.parse::<f64>()) {
        (Ok(x), Ok(y)) => f(x, y),
        _ => false,
    };
    match op {
        "<is>" => truthy(&have) == truthy(arg),
        "<in>" => have.contains(arg),
        "=" | ">=" => num(|x, y| x >= y),
        "==" => num(|x, y| x == y),
        "!=" => num(|x, y| x != y),
        "<=" => num(|x, y| x <= y),
        "s==" => have.as_str() == *arg,
        "s!=" => have.as_str() != *arg,
        "s<" => have.as_str() < *arg,
        "s<=" => have.as_str() <= *arg,
        "s>" => have.as_str() > *arg,
        "s>=" => have.as_str() >= *arg,
        _ => have == wanted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn specs(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn capabilities_filter_matches_cinders_operators_and_scopes() {
        let caps = json!({
            "vendor_name": "Jumpgate", "storage_protocol": "local", "multiattach": true,
            "total_capacity_gb": 100.5, "volume_backend_name": "local",
        });
        assert!(satisfies(&specs(json!({})), &caps));
        assert!(satisfies(
            &specs(json!({"vendor_name": "Jumpgate", "storage_protocol": "local"})),
            &caps
        ));
        assert!(!satisfies(&specs(json!({"vendor_name": "Other"})), &caps));
        assert!(satisfies(
            &specs(json!({"multiattach": "<is> True"})),
            &caps
        ));
        assert!(!satisfies(
            &specs(json!({"multiattach": "<is> False"})),
            &caps
        ));
        assert!(satisfies(
            &specs(json!({"capabilities:volume_backend_name": "local"})),
            &caps
        ));
        assert!(satisfies(
            &specs(json!({"RESKEY:availability_zones": "x"})),
            &caps
        ));
        assert!(!satisfies(
            &specs(json!({"replication_enabled": "<is> True"})),
            &caps
        ));
        assert!(satisfies(
            &specs(json!({"total_capacity_gb": ">= 100"})),
            &caps
        ));
        assert!(!satisfies(
            &specs(json!({"total_capacity_gb": "== 1"})),
            &caps
        ));
        assert!(satisfies(
            &specs(json!({"storage_protocol": "<or> iSCSI <or> local"})),
            &caps
        ));
        assert!(satisfies(
            &specs(json!({"vendor_name": "<in> Jump"})),
            &caps
        ));
    }
}
