//! Writing values as YAML text, for the parts of a document a fix adds or replaces.
//!
//! The one rule: what we write must mean, to Kubernetes (YAML 1.1 via sigs.k8s.io/yaml) and to
//! YAML 1.2 readers alike, exactly the value we hold. So a string is written plain only when no
//! reader could take it for anything else; otherwise it is double-quoted with JSON escapes,
//! which every YAML version reads the same way.

use super::lex::null_or_bool_word;
use serde_json::{Map, Value};

/// Render a scalar (or an empty collection) as it would appear after `key: `.
pub fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(o) if o.is_empty() => "{}".into(),
        other => flow(other),
    }
}

/// A string, plain when that is unambiguous, else double-quoted.
pub fn string(s: &str) -> String {
    if plain_is_safe(s) {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    }
}

fn plain_is_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if null_or_bool_word(s) {
        return false;
    }
    // Anything that starts like a number, a sign, or a special YAML indicator gets quotes (`~`,
    // null, among them).
    if !(first.is_ascii_alphabetic() || first == '/' || first == '_') {
        return false;
    }
    if s.starts_with('.') || s.ends_with(' ') || s.ends_with(':') {
        return false;
    }
    // No spaces and no colons or hashes at all: so neither `: ` nor ` #` can occur. `1e3`-like
    // strings start with a digit and are already excluded; `.inf`/`.nan` start with '.'.
    s.bytes().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'_' | b'.' | b'/' | b'=' | b'+' | b',' | b'(' | b')' | b'@'
            )
    })
}

/// A string inside a flow collection: as [`string`], but a comma ends a plain scalar there
/// (`[a,b]` is two items), so a string with one is quoted.
pub fn flow_string(s: &str) -> String {
    if s.contains(',') {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    } else {
        string(s)
    }
}

/// One-line flow (JSON-compatible) rendering: valid YAML with unchanged meaning.
pub fn flow(v: &Value) -> String {
    match v {
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(flow).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(o) => {
            let items: Vec<String> = o
                .iter()
                .map(|(k, v)| format!("{}: {}", flow_string(k), flow(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::String(s) => flow_string(s),
        other => scalar(other),
    }
}

/// Lines of a block mapping's entries at `indent` spaces, each ending with `eol`.
pub fn block_entries(map: &Map<String, Value>, indent: usize, eol: &str) -> String {
    let mut out = String::new();
    for (k, v) in map {
        entry(&mut out, k, v, indent, eol);
    }
    out
}

/// One `key: value` entry (with nested block content) at `indent`.
pub fn entry(out: &mut String, key: &str, v: &Value, indent: usize, eol: &str) {
    out.extend(std::iter::repeat_n(' ', indent));
    out.push_str(&string(key));
    out.push(':');
    match v {
        Value::Object(o) if !o.is_empty() => {
            out.push_str(eol);
            for (k, v) in o {
                entry(out, k, v, indent + 2, eol);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            out.push_str(eol);
            for item in a {
                seq_item(out, item, indent + 2, eol);
            }
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push_str(eol);
        }
    }
}

/// One `- item` of a block sequence whose dashes sit at `indent`.
pub fn seq_item(out: &mut String, v: &Value, indent: usize, eol: &str) {
    let pad = || std::iter::repeat_n(' ', indent);
    match v {
        Value::Object(o) if !o.is_empty() => {
            // The entries at `indent + 2`, written in place; the first one's last two spaces of
            // indentation become the dash.
            let start = out.len();
            for (k, v) in o {
                entry(out, k, v, indent + 2, eol);
            }
            out.replace_range(start + indent..start + indent + 2, "- ");
        }
        Value::Array(a) if !a.is_empty() => {
            out.extend(pad());
            out.push('-');
            out.push_str(eol);
            for item in a {
                seq_item(out, item, indent + 2, eol);
            }
        }
        other => {
            out.extend(pad());
            out.push_str("- ");
            out.push_str(&scalar(other));
            out.push_str(eol);
        }
    }
}

/// A whole document body in block style (the fallback when in-place edits are not possible).
pub fn document(v: &Value, eol: &str) -> String {
    match v {
        Value::Object(o) if !o.is_empty() => block_entries(o, 0, eol),
        Value::Array(a) if !a.is_empty() => {
            let mut out = String::new();
            for item in a {
                seq_item(&mut out, item, 0, eol);
            }
            out
        }
        other => format!("{}{eol}", scalar(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::full::parse_value_full as parse_value;
    use super::*;
    use serde_json::json;

    #[test]
    fn ambiguous_strings_are_quoted() {
        for s in [
            "yes", "on", "0777", "1e3", "~", "", "true", "-1", ".inf", "a: b", "x #y", "0644",
            "Null",
        ] {
            let out = string(s);
            assert!(out.starts_with('"'), "{s} -> {out}");
        }
        assert_eq!(string("busybox:1.38.0"), "\"busybox:1.38.0\"");
        assert_eq!(string("fixup-chown"), "fixup-chown");
        assert_eq!(string("/prometheus"), "/prometheus");
    }

    #[test]
    fn rendered_documents_parse_back_to_the_same_value() {
        let v = json!({
            "a": "yes", "b": 0, "c": [1, {"d": "0644", "e": []}, [2, 3]], "f": {},
            "g": {"h": null, "i": "multi\nline"}, "j": [{"k": 1, "l": {"m": "x"}}]
        });
        let text = document(&v, "\n");
        assert_eq!(parse_value(&text).unwrap(), v, "{text}");
        assert_eq!(parse_value(&flow(&v)).unwrap(), v);
    }
}
