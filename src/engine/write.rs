//! Writing the output: each document as it came in, or edited at its spans, or rewritten; added
//! documents in the stream's form; `kind: List` items put back in place.

use super::*;

/// The output of one segment: its input bytes when nothing changed it, otherwise its BOM and the
/// edited text (and, with `diff`, the unified diff); no allocation for the untouched ones.
/// Segments are independent here, so the engine writes them in parallel. A changed object's
/// fixed value is taken out of its slot, and every value is dropped as soon as it is no longer
/// needed (see [`rewrite`]).
pub(super) fn write_seg(
    seg: &Seg,
    slots: &[Mutex<Value>],
    touched: &BTreeSet<usize>,
    diff: bool,
) -> Result<(Piece, Option<Piece>, Option<String>), Error> {
    let take = |i: usize| std::mem::take(&mut *slots[i].lock().unwrap_or_else(|e| e.into_inner()));
    let copy = |i: usize| slots[i].lock().unwrap_or_else(|e| e.into_inner()).clone();
    let (fixed, new) = match &seg.role {
        Role::Object(i) if touched.contains(i) => {
            let new = take(*i);
            let (value, root) = yaml::parse_both(seg.text)
                .map_err(|e| Error::Internal(format!("re-reading a document: {}", e.message)))?;
            if value == new {
                return Ok((Piece::Input(seg.span.clone()), None, None));
            }
            (rewrite(seg.text, root, value, &new)?, new)
        }
        Role::List(list, first, n) => {
            let Value::Array(old) = &list["items"] else {
                return Ok((Piece::Input(seg.span.clone()), None, None));
            };
            let mut new = list.clone();
            let mut changed = false;
            for k in 0..*n {
                if touched.contains(&(first + k)) {
                    let back = item_back(&old[k], &copy(first + k));
                    changed |= back != old[k];
                    new["items"][k] = back;
                }
            }
            if !changed {
                return Ok((Piece::Input(seg.span.clone()), None, None));
            }
            (rewrite(seg.text, None, list.clone(), &new)?, new)
        }
        Role::Skipped | Role::Empty | Role::Object(_) => {
            return Ok((Piece::Input(seg.span.clone()), None, None));
        }
    };
    let diff = diff.then(|| report::unified(&Identity::of(&new).to_string(), seg.text, &fixed));
    drop(new);
    Ok((
        Piece::Input(seg.span.start..seg.span.start + seg.bom),
        Some(Piece::Text(fixed)),
        diff,
    ))
}

/// Whether Kubernetes reads a document as a list of objects, each applied on its own. Helm
/// (4.2.4 `pkg/kube/client.go` `buildResourceList`: `Flatten().Unstructured()`) and kubectl
/// decode every document with cli-runtime's unstructured decoder, and
/// `unstructuredJSONScheme.decode` (apimachinery v0.36.1
/// `pkg/apis/meta/v1/unstructured/helpers.go`) makes an `UnstructuredList` of any object with
/// an `items` field, whatever its kind (`List`, `DeploymentList`, `ConfigMapList`, ...);
/// `FlattenListVisitor` (cli-runtime v0.36.1 `pkg/resource/visitor.go`) then unpacks it.
pub(super) fn is_list(v: &Value) -> bool {
    v.get("items").is_some_and(Value::is_array)
}

/// The kind an item of a typed list gets when it names neither kind nor apiVersion:
/// `decodeToList` (apimachinery v0.36.1, as [`is_list`]) gives it the list's kind without its
/// `List` suffix and the list's apiVersion. `None` for a plain `List` (the item stays kindless).
pub(super) fn inferred_kind(list: &Value, item: &Value) -> Option<String> {
    let o = item.as_object()?;
    if o.contains_key("kind") || o.contains_key("apiVersion") {
        return None;
    }
    let kind = list.get("kind")?.as_str()?;
    let kind = kind.strip_suffix("List").unwrap_or(kind);
    (!kind.is_empty()).then(|| kind.to_string())
}

/// A list item as the fixes see it: with the kind and apiVersion Kubernetes infers for it.
pub(super) fn list_item(list: &Value, item: &Value) -> Value {
    let mut item = item.clone();
    if let (Some(kind), Some(o)) = (inferred_kind(list, &item), item.as_object_mut()) {
        o.insert("kind".into(), Value::String(kind));
        if let Some(v) = list.get("apiVersion").and_then(Value::as_str) {
            o.insert("apiVersion".into(), Value::String(v.into()));
        }
    }
    item
}

/// A fixed list item as it goes back into the list: the kind and apiVersion [`list_item`]
/// inferred are taken out again, so the item keeps the text it had.
pub(super) fn item_back(original: &Value, fixed: &Value) -> Value {
    let mut fixed = fixed.clone();
    if let Some(o) = original.as_object()
        && !o.contains_key("kind")
        && !o.contains_key("apiVersion")
        && let Some(f) = fixed.as_object_mut()
    {
        f.shift_remove("kind");
        f.shift_remove("apiVersion");
    }
    fixed
}

/// A document must be a mapping with a kind (or empty). List items must be too, or have the
/// kind a typed list gives them (see [`inferred_kind`]).
pub(super) fn validate(v: &Value, doc: usize, seg: &Segment, body: &str) -> Result<(), Error> {
    let fail = |reason: String| {
        let first = body
            .lines()
            .position(|l| {
                let t = l.trim_start();
                !t.is_empty() && !t.starts_with('#') && !stream::line_is_marker(l)
            })
            .unwrap_or(0);
        Error::Input {
            doc,
            line: seg.first_line + first,
            column: 1,
            reason,
        }
    };
    match v {
        Value::Null => Ok(()),
        Value::Object(o) => {
            match o.get("kind") {
                Some(Value::String(k)) if !k.is_empty() => {}
                _ => return Err(fail("the document has no kind".into())),
            }
            if is_list(v) {
                let list = o.get("kind").and_then(Value::as_str).unwrap_or("List");
                for (i, item) in o["items"].as_array().into_iter().flatten().enumerate() {
                    if !item.is_object() {
                        return Err(fail(format!(
                            "item {i} of the {list} is {}, not a mapping",
                            type_name(item)
                        )));
                    }
                    if item
                        .get("kind")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                        && inferred_kind(v, item).is_none()
                    {
                        return Err(fail(format!("item {i} of the {list} has no kind")));
                    }
                }
            }
            Ok(())
        }
        other => Err(fail(format!(
            "the document is {}, not a mapping",
            type_name(other)
        ))),
    }
}

pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "a list",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        _ => "a scalar",
    }
}

/// The text of a changed document ([`yaml::rewrite`]), its failures as internal errors: the
/// document read as a value, so its tree must build, and what the fixes made must be writable.
pub(super) fn rewrite(
    text: &str,
    tree: Option<Node>,
    old: Value,
    new: &Value,
) -> Result<String, Error> {
    yaml::rewrite(text, tree, old, new).map_err(|e| {
        Error::Internal(match e {
            yaml::RewriteError::Tree(e) => e.message,
            yaml::RewriteError::Empty => "a changed document has no content".into(),
            yaml::RewriteError::ReadBack => format!("could not write {} back", Identity::of(new)),
        })
    })
}

/// An added object, in the stream's form: Helm 3 gets a `# Source:` line, Helm 4 the filename
/// annotation (otherwise Helm names it `generated-by-postrender-N.yaml`).
pub(super) fn added_document(form: Form, profile: &str, mut v: Value, eol: &str) -> String {
    let id = Identity::of(&v);
    let file = format!("fixup/{profile}/{}.yaml", id.name);
    let mut out = format!("---{eol}");
    match form {
        Form::Helm3 => out.push_str(&format!("# Source: {file}{eol}")),
        Form::Helm4 => {
            if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
                let ann = meta
                    .entry("annotations")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(a) = ann.as_object_mut() {
                    a.entry(FILENAME_ANNOTATION).or_insert(Value::String(file));
                }
            }
        }
        Form::Plain => {}
    }
    out.push_str(&yaml::render_document(&v, eol));
    out
}
