//! Compute quotas: per-project hard limits (admins may set them per project or per user),
//! defaults as Nova's, usage counted from the store, checked inside the transaction that
//! would exceed them.

pub mod repo;
mod routes;

use repo::ComputeQuotaRepo;

use super::microversion::Version;
use super::Result;
use jumpgate_plugin_api::Fault;

pub use routes::setup;

/// Nova's quota resources and their defaults (`nova/conf/quota.py`); -1 is unlimited.
pub const DEFAULTS: &[(&str, i64)] = &[
    ("instances", 10),
    ("cores", 20),
    ("ram", 51200),
    ("metadata_items", 128),
    ("key_pairs", 100),
    ("server_groups", 10),
    ("server_group_members", 10),
    ("injected_files", 5),
    ("injected_file_content_bytes", 10240),
    ("injected_file_path_bytes", 255),
    // nova-network's, shown and settable below 2.36 only; nothing here counts them.
    ("floating_ips", 10),
    ("fixed_ips", -1),
    ("security_groups", 10),
    ("security_group_rules", 20),
];

/// The resources Nova dropped from os-quota-sets at 2.36 (from os-quota-class-sets at 2.50).
pub const NETWORK: &[&str] = &[
    "floating_ips",
    "fixed_ips",
    "security_groups",
    "security_group_rules",
];

/// The resources Nova dropped from both at 2.57 (personality files went away).
pub const INJECTED: &[&str] = &[
    "injected_files",
    "injected_file_content_bytes",
    "injected_file_path_bytes",
];

/// The resources os-quota-sets shows and accepts at `v`.
pub fn set_resources(v: Version) -> Vec<&'static str> {
    DEFAULTS
        .iter()
        .map(|(r, _)| *r)
        .filter(|r| !(v.at_least(36) && NETWORK.contains(r)))
        .filter(|r| !(v.at_least(57) && INJECTED.contains(r)))
        .collect()
}

/// The resources os-quota-class-sets shows and accepts at `v`: the server group ones only
/// from 2.50, when the network ones went away there.
pub fn class_resources(v: Version) -> Vec<&'static str> {
    DEFAULTS
        .iter()
        .map(|(r, _)| *r)
        .filter(|r| {
            if v.at_least(50) {
                !NETWORK.contains(r)
            } else {
                !r.starts_with("server_group")
            }
        })
        .filter(|r| !(v.at_least(57) && INJECTED.contains(r)))
        .collect()
}

/// The default limit of `resource`: an admin's `PUT os-quota-class-sets/default` value,
/// else Nova's.
pub fn default_limit(c: &dyn ComputeQuotaRepo, resource: &str) -> Result<i64> {
    let set = c.quota_default(resource)?;
    Ok(set.unwrap_or_else(|| {
        DEFAULTS
            .iter()
            .find(|(r, _)| *r == resource)
            .map(|(_, v)| *v)
            .unwrap_or(-1)
    }))
}

/// The limit that applies to `user_id` in `project_id`: the user's own, else the
/// project's, else the default.
pub fn limit(
    c: &dyn ComputeQuotaRepo,
    project_id: &str,
    user_id: &str,
    resource: &str,
) -> Result<i64> {
    match c.applied_quota_limit(project_id, user_id, resource)? {
        Some(v) => Ok(v),
        None => default_limit(c, resource),
    }
}

/// What `project_id` uses of `resource` now (servers, their cores and RAM, the user's
/// keypairs, the project's server groups).
pub fn usage(
    c: &dyn ComputeQuotaRepo,
    project_id: &str,
    user_id: &str,
    resource: &str,
) -> Result<i64> {
    Ok(c.quota_usage(project_id, user_id, false, resource)?)
}

/// Checks that adding `deltas` keeps the project within its limits, else Nova's 403
/// ("Quota exceeded for cores: Requested 4, but already used 18 of 20 cores").
pub fn enforce(
    c: &dyn ComputeQuotaRepo,
    project_id: &str,
    user_id: &str,
    deltas: &[(&str, i64)],
) -> Result<()> {
    for &(resource, delta) in deltas {
        if delta <= 0 {
            continue;
        }
        let limit = limit(c, project_id, user_id, resource)?;
        if limit < 0 {
            continue;
        }
        let used = usage(c, project_id, user_id, resource)?;
        if used + delta > limit {
            return Err(exceeded(resource, delta, used, limit).into());
        }
    }
    Ok(())
}

/// Nova's over-quota fault for `resource`.
pub fn exceeded(resource: &str, requested: i64, used: i64, limit: i64) -> Fault {
    let message = match resource {
        "key_pairs" => "Quota exceeded, too many key pairs.".to_string(),
        "server_groups" => "Quota exceeded, too many server groups.".to_string(),
        "server_group_members" => "Quota exceeded, too many servers in group".to_string(),
        "metadata_items" => format!("Quota exceeded for metadata_items: Requested {requested}, but already used {used} of {limit} metadata_items"),
        _ => format!("Quota exceeded for {resource}: Requested {requested}, but already used {used} of {limit} {resource}"),
    };
    Fault::forbidden(message)
}

/// The project's own limit of `resource` (its per-user ones aside), else the default.
pub fn project_limit(c: &dyn ComputeQuotaRepo, project_id: &str, resource: &str) -> Result<i64> {
    match c.project_quota_limit(project_id, resource)? {
        Some(v) => Ok(v),
        None => default_limit(c, resource),
    }
}

/// What one user of a project uses of `resource`: Nova counts servers, cores, RAM and
/// server groups per user for per-user quotas.
pub fn user_usage(
    c: &dyn ComputeQuotaRepo,
    project_id: &str,
    user_id: &str,
    resource: &str,
) -> Result<i64> {
    Ok(c.quota_usage(project_id, user_id, true, resource)?)
}

/// The sum of the per-user limits set in a project for `resource`, -1 when one of them
/// is unlimited.
fn user_limits_sum(
    c: &dyn ComputeQuotaRepo,
    project_id: &str,
    except_user: Option<&str>,
    resource: &str,
) -> Result<i64> {
    let mut sum = 0;
    for (user, v) in c.user_quota_limits(project_id, resource)? {
        if Some(user.as_str()) == except_user {
            continue;
        }
        if v < 0 {
            return Ok(-1);
        }
        sum += v;
    }
    Ok(sum)
}

/// The range an admin may set `resource` to without `force` (Nova's
/// `get_settable_quotas`): a project's limit not below what it uses nor below what its
/// users were given; a user's not below what they use nor above what the project has
/// left. -1 as maximum means no bound.
pub fn settable(
    c: &dyn ComputeQuotaRepo,
    project_id: &str,
    user_id: Option<&str>,
    resource: &str,
) -> Result<(i64, i64)> {
    match user_id {
        None => {
            let used = usage(c, project_id, "", resource)?;
            let given = user_limits_sum(c, project_id, None, resource)?;
            Ok((used.max(given), -1))
        }
        Some(user) => {
            let used = user_usage(c, project_id, user, resource)?;
            let project = project_limit(c, project_id, resource)?;
            let others = user_limits_sum(c, project_id, Some(user), resource)?;
            let max = if project < 0 || others < 0 {
                -1
            } else {
                project - others
            };
            Ok((used, max))
        }
    }
}

/// A JSON value as Python prints it: Nova's validation messages quote the request's values
/// through jsonschema, which uses `repr`.
pub fn py_repr(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let quote = if s.contains('\'') && !s.contains('"') {
                '"'
            } else {
                '\''
            };
            let mut out = String::from(quote);
            for ch in s.chars() {
                match ch {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    '\r' => out.push_str("\\r"),
                    c if c == quote => {
                        out.push('\\');
                        out.push(c);
                    }
                    c => out.push(c),
                }
            }
            out.push(quote);
            out
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", py_repr(&Value::String(k.clone())), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `str()` of a value in Nova's "Value: …" part: strings bare, the rest as `repr`.
pub fn py_str(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// Nova's 400 for a body that fails its JSON schema at `field`.
pub fn invalid_input(field: &str, value: &serde_json::Value, message: &str) -> Fault {
    Fault::bad_request(format!(
        "Invalid input for field/attribute {field}. Value: {}. {message}",
        py_str(value)
    ))
}

/// jsonschema's message for properties a schema does not allow.
pub fn unexpected(extras: &[&str]) -> String {
    let names = extras
        .iter()
        .map(|e| py_repr(&serde_json::Value::String(e.to_string())))
        .collect::<Vec<_>>()
        .join(", ");
    let verb = if extras.len() == 1 { "was" } else { "were" };
    format!("Additional properties are not allowed ({names} {verb} unexpected)")
}

/// Nova's `parameter_types.boolean`: what a boolean field accepts, and what it means.
pub fn nova_bool(v: &serde_json::Value) -> Option<bool> {
    match v {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::String(s) => match s.as_str() {
            "True" | "TRUE" | "true" | "1" | "ON" | "On" | "on" | "YES" | "Yes" | "yes" => {
                Some(true)
            }
            "False" | "FALSE" | "false" | "0" | "OFF" | "Off" | "off" | "NO" | "No" | "no" => {
                Some(false)
            }
            _ => None,
        },
        _ => None,
    }
}

/// jsonschema's message for a value outside `parameter_types.boolean`.
pub fn not_a_bool(v: &serde_json::Value) -> String {
    format!(
        "{} is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']",
        py_repr(v)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn resources_follow_the_microversion() {
        let sets = set_resources(Version(2, 1));
        assert!(sets.contains(&"floating_ips") && sets.contains(&"server_groups"));
        let sets = set_resources(Version(2, 36));
        assert!(!sets.contains(&"security_groups") && sets.contains(&"injected_files"));
        let sets = set_resources(Version(2, 57));
        assert!(!sets.contains(&"injected_files") && sets.contains(&"server_group_members"));
        let classes = class_resources(Version(2, 49));
        assert!(classes.contains(&"fixed_ips") && !classes.contains(&"server_groups"));
        let classes = class_resources(Version(2, 50));
        assert!(!classes.contains(&"fixed_ips") && classes.contains(&"server_groups"));
    }

    #[test]
    fn limits_fall_back_from_user_to_project_to_default() {
        let store = Store::memory();
        store
            .write(|c| -> Result<()> {
                assert_eq!(limit(c, "p", "u", "cores")?, 20);
                c.set_quota_default("cores", 30)?;
                assert_eq!(project_limit(c, "p", "cores")?, 30);
                c.set_quota_limit("p", None, "cores", 40)?;
                c.set_quota_limit("p", Some("u"), "cores", 8)?;
                assert_eq!(limit(c, "p", "u", "cores")?, 8);
                assert_eq!(limit(c, "p", "v", "cores")?, 40);
                // A user may get what the project has left; the project no less than
                // its users were given.
                assert_eq!(settable(c, "p", Some("v"), "cores")?, (0, 32));
                assert_eq!(settable(c, "p", None, "cores")?, (8, -1));
                c.set_quota_limit("p", Some("w"), "cores", -1)?;
                assert_eq!(settable(c, "p", Some("v"), "cores")?, (0, -1));
                c.clear_quota_limits("p", Some("u"))?;
                assert_eq!(limit(c, "p", "u", "cores")?, 40);
                c.clear_quota_limits("p", None)?;
                assert_eq!(limit(c, "p", "w", "cores")?, 30);
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn messages_quote_values_as_python() {
        assert_eq!(py_repr(&serde_json::json!("a'b")), "\"a'b\"");
        assert_eq!(
            py_repr(&serde_json::json!({"x": [true, null, 1]})),
            "{'x': [True, None, 1]}"
        );
        assert_eq!(
            invalid_input(
                "cores",
                &serde_json::json!(-2),
                "-2 is less than the minimum of -1"
            )
            .message,
            "Invalid input for field/attribute cores. Value: -2. -2 is less than the minimum of -1"
        );
        assert_eq!(
            unexpected(&["a", "b"]),
            "Additional properties are not allowed ('a', 'b' were unexpected)"
        );
    }
}
