//! Generated documentation: the example file and the Markdown reference.
//!
//! Both are produced from the JSON schema that `schemars` derives from the config types, so
//! their doc comments, defaults and examples are the only source: nothing here names a key.
//! The schema is first read into a small model ([`Reference`]), which the two writers render.

mod example;
mod fields;
mod markdown;

use serde_json::{Map, Value};

use crate::model::{
    Accounts, Admin, Config, ContentFilter, Dkim, Limits, Listener, Log, Outbound, Policy, Server,
    Spool, Tls,
};

pub use example::example_toml;
pub use markdown::markdown_reference;

/// The whole configuration, as the manual describes it.
pub(crate) struct Reference {
    /// What the file as a whole is (the doc comment of [`Config`]).
    pub(crate) intro: String,
    /// One per top-level key, in declaration order.
    pub(crate) sections: Vec<Section>,
}

/// A `[table]` or an array of `[[tables]]`.
pub(crate) struct Section {
    /// The TOML key, e.g. `server` or `listener`.
    pub(crate) name: String,
    /// `[[name]]` (an array of tables) rather than `[name]`.
    pub(crate) array: bool,
    pub(crate) description: String,
    pub(crate) keys: Vec<Key>,
    /// For an array section: the tables it holds by default.
    pub(crate) default_items: Vec<Map<String, Value>>,
}

/// One key of a section.
pub(crate) struct Key {
    pub(crate) name: String,
    /// Human type name, e.g. `path` or `list of strings`.
    pub(crate) kind: String,
    /// `None` for an optional key that is unset by default, or a required key.
    pub(crate) default: Option<Value>,
    pub(crate) example: Option<Value>,
    pub(crate) required: bool,
    pub(crate) description: String,
    /// For a key with a fixed set of values: each value and what it means.
    pub(crate) choices: Vec<(String, String)>,
}

/// The serde key order of each config struct, by its schema name. A struct missing here
/// still works (its keys come out sorted); a test checks none is missing.
fn key_order(def: &str) -> Option<&'static [&'static str]> {
    Some(match def {
        "Config" => fields::names::<Config>(),
        "Server" => fields::names::<Server>(),
        "Listener" => fields::names::<Listener>(),
        "Tls" => fields::names::<Tls>(),
        "Accounts" => fields::names::<Accounts>(),
        "Limits" => fields::names::<Limits>(),
        "Policy" => fields::names::<Policy>(),
        "Outbound" => fields::names::<Outbound>(),
        "Admin" => fields::names::<Admin>(),
        "Dkim" => fields::names::<Dkim>(),
        "ContentFilter" => fields::names::<ContentFilter>(),
        "Spool" => fields::names::<Spool>(),
        "Log" => fields::names::<Log>(),
        _ => return None,
    })
}

impl Reference {
    /// Reads the schema of [`Config`].
    pub(crate) fn build() -> Reference {
        let root = schemars::schema_for!(Config).to_value();
        let schema = SchemaView { root: &root };
        let sections = schema
            .ordered_properties("Config", &root)
            .into_iter()
            .filter_map(|(name, prop)| schema.section(name, prop))
            .collect();
        Reference {
            intro: text(&root, "description"),
            sections,
        }
    }
}

/// A schema document, for following `$ref`s into `$defs`.
struct SchemaView<'a> {
    root: &'a Value,
}

impl<'a> SchemaView<'a> {
    /// The definition `schema` refers to (with its name), or `schema` itself.
    fn resolve(&self, schema: &'a Value) -> (Option<&'a str>, &'a Value) {
        let Some(name) = schema.get("$ref").and_then(Value::as_str) else {
            return (None, schema);
        };
        let name = name.strip_prefix("#/$defs/").unwrap_or(name);
        match self.root.get("$defs").and_then(|defs| defs.get(name)) {
            Some(def) => (Some(name), def),
            None => (None, schema),
        }
    }

    /// The properties of an object schema: declaration order first, then any others sorted.
    fn ordered_properties(&self, def: &str, schema: &'a Value) -> Vec<(&'a str, &'a Value)> {
        let Some(props) = schema.get("properties").and_then(Value::as_object) else {
            return Vec::new();
        };
        let order = key_order(def).unwrap_or_default();
        let mut out: Vec<_> = order
            .iter()
            .filter_map(|name| props.get_key_value(*name))
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        let rest = props.iter().filter(|(k, _)| !order.contains(&k.as_str()));
        out.extend(rest.map(|(k, v)| (k.as_str(), v)));
        out
    }

    /// A top-level key as a section, if it is a table or an array of tables.
    fn section(&self, name: &str, prop: &'a Value) -> Option<Section> {
        let (def, target) = self.resolve(prop);
        if is_type(target, "object") {
            return Some(self.table(name, def?, target, prop, false));
        }
        let (def, item) = self.resolve(prop.get("items")?);
        if !is_type(prop, "array") || !is_type(item, "object") {
            return None;
        }
        let mut section = self.table(name, def?, item, prop, true);
        section.default_items = match prop.get("default") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_object().cloned())
                .collect(),
            _ => Vec::new(),
        };
        Some(section)
    }

    fn table(
        &self,
        name: &str,
        def: &str,
        schema: &'a Value,
        prop: &Value,
        array: bool,
    ) -> Section {
        // A table is described by its type's doc comment. An array of tables is described by
        // the field's (what the list is), then the item type's (what each entry is).
        let description = if array {
            [text(prop, "description"), text(schema, "description")]
                .into_iter()
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join("\n\n")
        } else {
            text(schema, "description")
        };
        let required: Vec<&str> = match schema.get("required") {
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let keys = self
            .ordered_properties(def, schema)
            .into_iter()
            .map(|(key, prop)| self.key(key, prop, required.contains(&key)))
            .collect();
        Section {
            name: name.to_owned(),
            array,
            description,
            keys,
            default_items: Vec::new(),
        }
    }

    fn key(&self, name: &str, prop: &'a Value, required: bool) -> Key {
        let (_, target) = self.resolve(prop);
        let choices = match target.get("oneOf") {
            Some(Value::Array(variants)) => variants.iter().filter_map(choice).collect(),
            _ => Vec::new(),
        };
        Key {
            name: name.to_owned(),
            kind: self.kind(prop),
            default: prop.get("default").cloned(),
            example: prop.get("examples").and_then(|e| e.get(0)).cloned(),
            required,
            description: text(prop, "description"),
            choices,
        }
    }

    /// A human name for the type of `schema`.
    fn kind(&self, schema: &'a Value) -> String {
        let (_, schema) = self.resolve(schema);
        if let Some(Value::Array(variants)) = schema.get("oneOf") {
            let names: Vec<String> = variants
                .iter()
                .filter_map(choice)
                .map(|(v, _)| format!("`{v}`"))
                .collect();
            return format!("one of {}", names.join(", "));
        }
        let format = schema.get("format").and_then(Value::as_str);
        match (primary_type(schema), format) {
            (Some("string"), Some("path")) => "path".to_owned(),
            (Some("string"), Some("socket-address")) => "socket address".to_owned(),
            (Some("string"), Some("cidr")) => "CIDR network".to_owned(),
            (Some("string"), _) if schema.get("maxLength") == Some(&Value::from(1)) => {
                "character".to_owned()
            }
            (Some("array"), _) => match schema.get("items") {
                Some(items) => format!("list of {}", plural(&self.kind(items))),
                None => "list".to_owned(),
            },
            (Some("object"), _) => match schema.get("additionalProperties") {
                Some(values @ Value::Object(_)) => {
                    format!("table of {}", plural(&self.kind(values)))
                }
                _ => "table".to_owned(),
            },
            (Some(other), _) => other.to_owned(),
            (None, _) => "value".to_owned(),
        }
    }
}

/// The first non-null type of a schema (`["string", "null"]` is an optional string).
fn primary_type(schema: &Value) -> Option<&str> {
    match schema.get("type")? {
        Value::String(t) => Some(t),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null"),
        _ => None,
    }
}

fn is_type(schema: &Value, wanted: &str) -> bool {
    primary_type(schema) == Some(wanted)
}

/// A `oneOf` variant with a `const` value: the value and its doc comment.
fn choice(variant: &Value) -> Option<(String, String)> {
    let value = variant.get("const")?.as_str()?.to_owned();
    Some((value, text(variant, "description")))
}

fn text(schema: &Value, field: &str) -> String {
    schema
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn plural(noun: &str) -> String {
    if noun.ends_with('s') {
        format!("{noun}es")
    } else {
        format!("{noun}s")
    }
}

/// A value as inline TOML (`"text"`, `[1, 2]`, `{ a = "b" }`), or `None` if TOML cannot hold
/// it (null).
pub(crate) fn inline_toml(value: &Value) -> Option<String> {
    toml::Value::try_from(value).ok().map(|v| v.to_string())
}

#[cfg(test)]
mod tests;
