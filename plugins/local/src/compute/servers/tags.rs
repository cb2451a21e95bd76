//! Server tags (2.26): Nova's rules for one tag and for a server's set.

use jumpgate_plugin_api::Fault;
use serde_json::Value;

/// Nova's `MAX_INSTANCE_TAGS`.
pub const MAX_TAGS: usize = 50;

/// A list of tags as Nova accepts it: strings of 1–60 characters without '/' or ','.
pub fn check(v: &Value) -> Result<Vec<String>, Fault> {
    let Some(list) = v.as_array() else {
        return Err(Fault::bad_request(format!(
            "Invalid input for field/attribute tags. Value: {v}. {v} is not of type 'array'"
        )));
    };
    let mut out: Vec<String> = Vec::new();
    for t in list {
        let Some(s) = t.as_str() else {
            return Err(Fault::bad_request(format!(
                "Invalid input for field/attribute tags. Value: {v}. {t} is not of type 'string'"
            )));
        };
        if s.is_empty() || s.chars().count() > 60 || s.contains('/') || s.contains(',') {
            return Err(Fault::bad_request(format!(
                "Invalid input for field/attribute tags. Value: {v}. '{s}' does not match '^[^,/]*$' or is not 1 to 60 characters"
            )));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    limit(&out)?;
    Ok(out)
}

/// At most `MAX_TAGS` per server.
pub fn limit(tags: &[String]) -> Result<(), Fault> {
    if tags.len() > MAX_TAGS {
        return Err(Fault::bad_request(format!(
            "The number of tags exceeded the per-server limit {MAX_TAGS}"
        )));
    }
    Ok(())
}
