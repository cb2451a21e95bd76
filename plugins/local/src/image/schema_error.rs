//! Glance's 400 for a value its image schema refuses. `glance/schema.py` `Schema.validate`
//! raises InvalidObject("Provided object does not match schema 'image': <reason>") with
//! `str()` of jsonschema's ValidationError as the reason: the message, the schema fragment
//! that failed (`pprint.pformat(width=72, sort_dicts=False)`) and the value. The image API
//! answers that as `HTTPBadRequest(explanation=e.msg)`, on create and on PATCH alike.

use serde_json::Value;

use super::model::{CONTAINER_FORMATS, DISK_FORMATS, VISIBILITIES};
use crate::compute::quotas::py_repr;
use jumpgate_plugin_api::Fault;

/// A schema fragment in Glance's key order (a serde_json Map would sort it).
enum Py {
    None,
    Str(&'static str),
    List(Vec<Py>),
    Dict(Vec<(&'static str, Py)>),
}

impl Py {
    fn repr(&self) -> String {
        match self {
            Py::None => "None".into(),
            Py::Str(s) => py_repr(&Value::from(*s)),
            Py::List(items) => format!(
                "[{}]",
                items.iter().map(Py::repr).collect::<Vec<_>>().join(", ")
            ),
            Py::Dict(items) => format!(
                "{{{}}}",
                items
                    .iter()
                    .map(|(k, v)| format!("{}: {}", py_repr(&Value::from(*k)), v.repr()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// `pprint.PrettyPrinter(width=72, sort_dicts=False)._format`: on one line if it
    /// fits, else a dict's items or a list's entries one per line.
    fn pformat(&self, indent: usize, allowance: usize, out: &mut String) {
        let rep = self.repr();
        if rep.chars().count() + indent + allowance <= 72 {
            out.push_str(&rep);
            return;
        }
        match self {
            Py::Dict(items) => {
                out.push('{');
                for (i, (key, value)) in items.iter().enumerate() {
                    let last = i + 1 == items.len();
                    if i > 0 {
                        out.push_str(",\n");
                        out.push_str(&" ".repeat(indent + 1));
                    }
                    let key = py_repr(&Value::from(*key));
                    out.push_str(&key);
                    out.push_str(": ");
                    let ent_allowance = if last { allowance + 1 } else { 1 };
                    value.pformat(indent + 1 + key.len() + 2, ent_allowance, out);
                }
                out.push('}');
            }
            Py::List(items) => {
                out.push('[');
                for (i, value) in items.iter().enumerate() {
                    let last = i + 1 == items.len();
                    if i > 0 {
                        out.push_str(",\n");
                        out.push_str(&" ".repeat(indent + 1));
                    }
                    value.pformat(indent + 1, if last { allowance + 1 } else { 1 }, out);
                }
                out.push(']');
            }
            // Strings longer than a line are split by pprint; Glance's are short.
            _ => out.push_str(&rep),
        }
    }
}

/// Glance's image schema for `key`, if it is one of its enums.
fn enum_property(key: &str) -> Option<Py> {
    let strings = |values: &[&'static str]| values.iter().map(|v| Py::Str(v)).collect();
    let formats = |values: &[&'static str]| {
        let mut all = vec![Py::None];
        all.extend(values.iter().map(|v| Py::Str(v)));
        all
    };
    let (kind, description, values) = match key {
        "visibility" => (
            Py::Str("string"),
            "Scope of image accessibility",
            strings(VISIBILITIES),
        ),
        "container_format" => (
            Py::List(vec![Py::Str("null"), Py::Str("string")]),
            "Format of the container",
            formats(CONTAINER_FORMATS),
        ),
        "disk_format" => (
            Py::List(vec![Py::Str("null"), Py::Str("string")]),
            "Format of the disk",
            formats(DISK_FORMATS),
        ),
        _ => return None,
    };
    Some(Py::Dict(vec![
        ("type", kind),
        ("description", Py::Str(description)),
        ("enum", Py::List(values)),
    ]))
}

/// The 400 for a string `value` of `key` (visibility, container_format, disk_format) that
/// is not one of the schema's values.
pub fn not_one_of(key: &str, value: &str) -> Fault {
    let Some(Py::Dict(schema)) = enum_property(key) else {
        return Fault::bad_request(format!("Invalid value '{value}' for attribute '{key}'"));
    };
    let instance = py_repr(&Value::from(value));
    let allowed = schema
        .iter()
        .find(|(k, _)| *k == "enum")
        .map(|(_, v)| v.repr())
        .unwrap_or_default();
    let mut fragment = String::new();
    Py::Dict(schema).pformat(0, 0, &mut fragment);
    let fragment = fragment.replace('\n', "\n    ");
    Fault::bad_request(format!(
        "Provided object does not match schema 'image': {instance} is not one of {allowed}\n\n\
         Failed validating 'enum' in schema['properties']['{key}']:\n    {fragment}\n\n\
         On instance['{key}']:\n    {instance}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Glance answers, as jsonschema 4 prints it (`str(ValidationError)`).
    #[test]
    fn disk_format_as_glance_words_it() {
        let f = not_one_of("disk_format", "bogus");
        assert_eq!(f.status, 400);
        assert_eq!(
            f.message,
            "Provided object does not match schema 'image': 'bogus' is not one of [None, 'ami', \
             'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop']\n\n\
             Failed validating 'enum' in schema['properties']['disk_format']:\n    \
             {'type': ['null', 'string'],\n     \
             'description': 'Format of the disk',\n     \
             'enum': [None,\n              'ami',\n              'ari',\n              'aki',\n              \
             'vhd',\n              'vhdx',\n              'vmdk',\n              'raw',\n              \
             'qcow2',\n              'vdi',\n              'iso',\n              'ploop']}\n\n\
             On instance['disk_format']:\n    'bogus'"
        );
    }

    #[test]
    fn visibility_fits_its_enum_on_one_line() {
        let f = not_one_of("visibility", "it's");
        assert_eq!(
            f.message,
            "Provided object does not match schema 'image': \"it's\" is not one of ['community', \
             'public', 'private', 'shared']\n\n\
             Failed validating 'enum' in schema['properties']['visibility']:\n    \
             {'type': 'string',\n     \
             'description': 'Scope of image accessibility',\n     \
             'enum': ['community', 'public', 'private', 'shared']}\n\n\
             On instance['visibility']:\n    \"it's\""
        );
    }
}
