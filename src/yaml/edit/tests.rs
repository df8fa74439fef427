//! Tests of the format-preserving editor: edits land at the spans, keep the text around them,
//! and fall back to a rewrite only where they must.
use super::*;
use crate::yaml::full::{parse_tree_full as parse_tree, parse_value_full as parse_value};
use serde_json::json;

/// Apply `change` to the value of `text` and return the edited text, checking its meaning.
fn edit(text: &str, change: impl FnOnce(&mut Value)) -> String {
    let old = parse_value(text).unwrap();
    let mut new = old.clone();
    change(&mut new);
    let root = parse_tree(text).unwrap().unwrap();
    let out = apply(text, &root, &old, &new, "\n").expect("in-place edit");
    assert_eq!(parse_value(&out).unwrap(), new, "edited text:\n{out}");
    out
}

#[test]
fn scalar_change_touches_only_the_scalar() {
    let text = "# Source: x\nspec:\n  runAsUser: 1000 # uid\n  mode: 0644\n  s: \"yes\"\n";
    let out = edit(text, |v| v["spec"]["runAsUser"] = json!(0));
    assert_eq!(out, text.replace("1000", "0"));
}

#[test]
fn new_keys_go_after_the_last_entry_with_its_indent() {
    let text = "spec:\n  a: 1\n  b:\n    c: |\n      text\n# trailing\n";
    let out = edit(text, |v| v["spec"]["z"] = json!({"w": [1, 2]}));
    assert_eq!(
        out,
        "spec:\n  a: 1\n  b:\n    c: |\n      text\n  z:\n    w:\n      - 1\n      - 2\n# trailing\n"
    );
}

#[test]
fn removing_keys_removes_their_lines() {
    let text = "c:\n- name: a\n  runAsUser: 5\n  x: 1\n- runAsUser: 7\n  name: b\n";
    let out = edit(text, |v| {
        v["c"][0].as_object_mut().unwrap().remove("runAsUser");
        v["c"][1].as_object_mut().unwrap().remove("runAsUser");
    });
    assert_eq!(out, "c:\n- name: a\n  x: 1\n- name: b\n");
}

#[test]
fn init_container_is_inserted_first_by_name() {
    let text = "initContainers:\n  - name: b\n    image: x\n";
    let out = edit(text, |v| {
        v["initContainers"]
            .as_array_mut()
            .unwrap()
            .insert(0, json!({"name": "a", "image": "z"}));
    });
    assert_eq!(
        out,
        "initContainers:\n  - name: a\n    image: z\n  - name: b\n    image: x\n"
    );
}

#[test]
fn empty_flow_map_becomes_a_block() {
    let text = "spec:\n  securityContext: {}\n  other: 1\n";
    let out = edit(text, |v| {
        v["spec"]["securityContext"] = json!({"runAsUser": 0})
    });
    assert_eq!(
        out,
        "spec:\n  securityContext:\n    runAsUser: 0\n  other: 1\n"
    );
}

#[test]
fn empty_value_becomes_a_block_in_place() {
    // `securityContext:` with nothing after it (a chart's empty toYaml) is null: filling it
    // must not re-render the whole document (that loses comments and re-indents lists).
    let text = "spec:\n  securityContext:\n  # keep me\n  containers:\n  - name: a\n";
    let out = edit(text, |v| {
        v["spec"]["securityContext"] = json!({"runAsUser": 0})
    });
    assert_eq!(
        out,
        "spec:\n  securityContext:\n    runAsUser: 0\n  # keep me\n  containers:\n  - name: a\n"
    );
    let out = edit("sc:\n  runAsNonRoot:\n  fsGroup: 5\n", |v| {
        v["sc"]["runAsNonRoot"] = json!(false)
    });
    assert_eq!(out, "sc:\n  runAsNonRoot: false\n  fsGroup: 5\n");
    let crlf = "spec:\r\n  securityContext:\r\n  containers: []\r\n";
    let root = parse_tree(crlf).unwrap().unwrap();
    let old = parse_value(crlf).unwrap();
    let mut new = old.clone();
    new["spec"]["securityContext"] = json!({"runAsUser": 0});
    let out = apply(crlf, &root, &old, &new, "\r\n").expect("in-place edit");
    assert_eq!(
        out,
        "spec:\r\n  securityContext:\r\n    runAsUser: 0\r\n  containers: []\r\n"
    );
}

#[test]
fn flow_sequence_is_rerendered_in_place() {
    let text = "args: [\"--a\", --b]\nk: 1\n";
    let out = edit(text, |v| v["args"] = json!(["--a"]));
    assert_eq!(out, "args: [\"--a\"]\nk: 1\n");
}

#[test]
fn no_trailing_newline_document() {
    let text = "spec:\n  a: 1";
    let out = edit(text, |v| v["spec"]["b"] = json!(2));
    assert_eq!(out, "spec:\n  a: 1\n  b: 2");
}

#[test]
fn edit_inside_an_anchor_writes_out_the_aliases_that_keep_the_old_value() {
    // Kubernetes reads every alias as a copy: `c` must stay `{b: 1}`.
    let text = "a: &x {b: 1} # mine\nc: *x\n";
    let out = edit(text, |v| v["a"]["b"] = json!(2));
    assert_eq!(out, "a: &x {b: 2} # mine\nc:\n  b: 1\n");
}

#[test]
fn an_alias_whose_place_changes_is_written_out_and_its_anchor_kept() {
    let text = "# c\nsc: &sc\n  runAsUser: 1000\nuse:\n  securityContext: *sc\nother: *sc\n";
    let out = edit(text, |v| {
        v["use"]["securityContext"]["runAsUser"] = json!(0)
    });
    assert_eq!(
        out,
        "# c\nsc: &sc\n  runAsUser: 1000\nuse:\n  securityContext:\n    runAsUser: 0\nother: *sc\n"
    );
}

#[test]
fn an_alias_stays_when_its_anchor_changes_the_same_way() {
    let text = "l:\n- &m\n  name: a\n  sc: &sc {u: 1000}\n- name: b\n  sc: *sc\n";
    let out = edit(text, |v| {
        v["l"][0]["sc"]["u"] = json!(0);
        v["l"][1]["sc"]["u"] = json!(0);
    });
    assert_eq!(out, text.replace("1000", "0"));
}

#[test]
fn a_replaced_anchored_block_keeps_its_anchor() {
    let text = "a: &x\n  p: 1\nb: *x\n";
    let out = edit(text, |v| v["a"] = json!([1, 2]));
    assert_eq!(out, "a: &x\n  - 1\n  - 2\nb:\n  p: 1\n");
}

#[test]
fn a_merged_key_is_overridden_in_the_merging_mapping() {
    let text = "base: &b\n  image: x # pinned\n  sc:\n    u: 1000\nc:\n  <<: *b\n  name: web\n";
    let out = edit(text, |v| v["c"]["sc"]["u"] = json!(0));
    assert_eq!(out, format!("{text}  sc:\n    u: 0\n"));
    // A change to a merged anchor itself would change every mapping merging it.
    let old = parse_value(text).unwrap();
    let mut new = old.clone();
    new["base"]["image"] = json!("y");
    let root = parse_tree(text).unwrap().unwrap();
    assert_eq!(apply(text, &root, &old, &new, "\n").err(), Some(Fallback));
}

#[test]
fn a_tagged_scalar_loses_its_tag_with_its_value() {
    let text = "a: !!str 1000 # c\nb: 1\n";
    let out = edit(text, |v| v["a"] = json!(0));
    assert_eq!(out, "a: 0 # c\nb: 1\n");
}

#[test]
fn json_document_is_edited_as_json() {
    let text = "{\"kind\":\"Pod\",\"spec\":{\"a\":1,\"l\":[1,2,3],\"gone\":true}}\n";
    let out = edit(text, |v| {
        v["spec"]["a"] = json!(0);
        v["spec"]["l"] = json!([1, 3, 4]);
        v["spec"].as_object_mut().unwrap().shift_remove("gone");
        v["spec"]["sc"] = json!({"runAsUser": 0, "x": "a,b"});
    });
    assert_eq!(
        out,
        "{\"kind\":\"Pod\",\"spec\":{\"a\":0,\"l\":[1,3,4],\"sc\":{\"runAsUser\":0,\"x\":\"a,b\"}}}\n"
    );
}

#[test]
fn flow_mapping_is_edited_in_place_in_its_style() {
    let text = "spec: {containers: ['web'], a: 1, b: 2}  # keep\nk: 1\n";
    let out = edit(text, |v| {
        v["spec"].as_object_mut().unwrap().shift_remove("a");
        v["spec"]["z"] = json!("x,y");
    });
    assert_eq!(
        out,
        "spec: {containers: ['web'], b: 2, z: \"x,y\"}  # keep\nk: 1\n"
    );
    let out = edit(text, |v| {
        v["spec"].as_object_mut().unwrap().shift_remove("b");
        v["spec"].as_object_mut().unwrap().shift_remove("a");
    });
    assert_eq!(out, "spec: {containers: ['web']}  # keep\nk: 1\n");
}

#[test]
fn edit_lands_on_the_last_of_two_duplicate_keys() {
    let text = "spec:\n  securityContext:\n    runAsUser: 5\n  x: 1\n  securityContext:\n    runAsUser: 7 # wins\n";
    let out = edit(text, |v| {
        v["spec"]["securityContext"]["runAsUser"] = json!(0)
    });
    assert_eq!(out, text.replace("7 # wins", "0 # wins"));
    // Added under the last copy too, and the first keeps its bytes.
    let out = edit(text, |v| v["spec"]["securityContext"]["fsGroup"] = json!(2));
    assert_eq!(
        out,
        text.replace("7 # wins\n", "7 # wins\n    fsGroup: 2\n")
    );
}

#[test]
fn removing_a_duplicate_key_removes_every_copy() {
    let text = "spec:\n  a: 1\n  b: 2\n  a: 3\n  c: 4\n";
    let out = edit(text, |v| {
        v["spec"].as_object_mut().unwrap().remove("a");
    });
    assert_eq!(out, "spec:\n  b: 2\n  c: 4\n");
}

#[test]
fn align_by_name_detects_insert_and_remove() {
    let old = vec![json!({"name": "a"}), json!({"name": "b"})];
    let new = vec![json!({"name": "z"}), json!({"name": "b"})];
    assert_eq!(
        align(&old, &new).unwrap(),
        vec![Pair::NewOnly(0), Pair::OldOnly(0), Pair::Both(1, 1)]
    );
}
