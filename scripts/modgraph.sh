#!/usr/bin/env bash
# Print the module dependency graph of src/ and fail if it has a cycle.
#
# Why: the YAML layer is meant to depend in one direction only (see src/yaml/mod.rs), and a
# cycle creeps back in one `use` at a time; this makes it visible in review and in CI.
#
# Nodes are the crate's top-level modules (src/X.rs or src/X/), except that the modules listed
# in EXPAND (default: yaml) are split into their submodules (src/yaml/lex.rs is `yaml::lex`,
# src/yaml/mod.rs is `yaml`). An edge A -> B is a `crate::B` path in A's code: `use crate::B`,
# `use crate::{B, ...}`, `crate::B::...`; inside an expanded module also `super::B` and, in its
# mod.rs, a bare `B::` for a submodule B. Comments and string literals are left out (an
# intra-doc link is no dependency). Test modules (`#[cfg(test)] mod x { ... }`) count, so tests
# obey the layering too, and an edge only they make is marked `(test)`; `--lib` leaves them out.
# lib.rs and main.rs, the crate root, are not nodes.
#
# Usage: scripts/modgraph.sh [--lib] [SRC_DIR]   (default: src of this repository)
# Output: one `A -> B, C` line per module, then `no cycle` or each cycle found; exit 1 on a cycle.
set -euo pipefail
lib=0
src="$(cd "$(dirname "$0")/.." && pwd)/src"
for arg in "$@"; do
    case "$arg" in
        --lib) lib=1 ;;
        -*) echo "usage: $0 [--lib] [SRC_DIR]" >&2; exit 2 ;;
        *) src="$arg" ;;
    esac
done
EXPAND="${EXPAND:-yaml}" LIB_ONLY="$lib" exec python3 - "$src" <<'PY'
import os, re, sys

src = sys.argv[1]
expand = set(os.environ["EXPAND"].split())
lib_only = os.environ["LIB_ONLY"] == "1"

def node_of(rel):
    parts = rel[:-3].split(os.sep)  # drop .rs
    if parts[0] in ("lib", "main") and len(parts) == 1:
        return None
    top = parts[0]
    if top in expand and len(parts) > 1 and parts[1] != "mod":
        return f"{top}::{parts[1]}"
    return top

files = {}
for d, _, names in os.walk(src):
    for n in names:
        if n.endswith(".rs"):
            p = os.path.join(d, n)
            node = node_of(os.path.relpath(p, src))
            if node:
                files.setdefault(node, []).append(p)

nodes = set(files)
subs = {t: {n.split("::")[1] for n in nodes if n.startswith(t + "::")} for t in expand}

# Comments, strings and char literals, in the order a lexer meets them; lifetimes (`'a`) are
# not char literals.
TOKEN = re.compile(
    r"//[^\n]*|/\*.*?\*/"
    r"|b?r(#*)\"(?:.|\n)*?\"\1"
    r"|b?\"(?:\\.|[^\\\"])*\""
    r"|b?'(?:\\.|[^\\'\n])'",
    re.S,
)

def blank(text):
    """The code with comments and literals blanked (line breaks kept)."""
    return TOKEN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)

def split_tests(code):
    """(code outside test modules, code inside them)."""
    outside, inside, at = [], [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{", code):
        if m.start() < at:
            continue
        depth, i = 1, m.end()
        while i < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        outside.append(code[at:m.start()])
        inside.append(code[m.start():i])
        at = i
    outside.append(code[at:])
    return "".join(outside), "".join(inside)

def target(top, sub):
    """The node a path `crate::top::sub...` lands in."""
    if top in expand and sub in subs.get(top, ()):
        return f"{top}::{sub}"
    return top

def group_items(body):
    """Top-level items of a `{a, b::c, d::{e, f}}` group: (first, second) name pairs."""
    out, depth, cur = [], 0, ""
    for ch in body:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    pairs = []
    for item in out:
        names = re.findall(r"[A-Za-z_]\w*", item)
        if names:
            pairs.append((names[0], names[1] if len(names) > 1 else ""))
    return pairs

def refs(node, code, tests):
    """The nodes `code`, a part of module `node` (of its test modules if `tests`), refers to."""
    top = node.split("::")[0]
    is_sub = "::" in node
    found = set()
    # `use crate::{a, b::c}` and `crate::a::b` paths.
    for m in re.finditer(r"\bcrate::\{((?:[^{}]|\{[^{}]*\})*)\}", code):
        for first, second in group_items(m.group(1)):
            found.add(target(first, second))
    for m in re.finditer(r"\bcrate::([A-Za-z_]\w*)(?:::\{([^}]*)\}|::([A-Za-z_]\w*))?", code):
        first = m.group(1)
        if m.group(2) is not None:
            for sub, _ in group_items(m.group(2)):
                found.add(target(first, sub))
        else:
            found.add(target(first, m.group(3) or ""))
    if top in expand:
        # The path to the parent module: `super::` from a submodule, one more `super::` from
        # its test module, and from mod.rs's test module `super::` is mod.rs itself.
        if is_sub:
            parent = r"\bsuper::super::" if tests else r"(?<!super::)\bsuper::"
        else:
            parent = r"\bsuper::" if tests else None
        if parent:
            for m in re.finditer(parent + r"(?:\{([^}]*)\}|([A-Za-z_]\w*))", code):
                names = [s for s, _ in group_items(m.group(1))] if m.group(1) else [m.group(2)]
                for s in names:
                    found.add(target(top, s) if s in subs[top] else top)
        if not is_sub:
            # A bare `x::` (or `self::x::`) for a submodule x in mod.rs.
            for m in re.finditer(r"(?<![\w:])(?:self::)?([a-z_]\w*)::", code):
                if m.group(1) in subs[top]:
                    found.add(f"{top}::{m.group(1)}")
    found.discard(node)
    return {f for f in found if f in nodes}

edges = {n: set() for n in nodes}
test_only = {n: set() for n in nodes}
for node, paths in files.items():
    lib_refs, test_refs = set(), set()
    for p in paths:
        code, tests = split_tests(blank(open(p, encoding="utf-8").read()))
        lib_refs |= refs(node, code, False)
        test_refs |= refs(node, tests, True)
    edges[node] = lib_refs if lib_only else lib_refs | test_refs
    test_only[node] = set() if lib_only else test_refs - lib_refs

for n in sorted(nodes):
    shown = [f"{e} (test)" if e in test_only[n] else e for e in sorted(edges[n])]
    print(f"{n} -> {', '.join(shown) or '(nothing)'}")

# Strongly connected components (Tarjan): every component of more than one module is a cycle.
index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)
def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in sorted(edges[v]):
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            comps.append(sorted(comp))
for v in sorted(nodes):
    if v not in index:
        visit(v)

if not comps:
    print("no cycle")
    sys.exit(0)
for comp in comps:
    # One concrete cycle through the component, for the reader.
    start, members = comp[0], set(comp)
    path, seen = [start], {start}
    def walk(v):
        for w in sorted(edges[v] & members):
            if w == start and len(path) > 1:
                return True
            if w not in seen:
                seen.add(w)
                path.append(w)
                if walk(w):
                    return True
                path.pop()
        return False
    walk(start)
    print(f"cycle among {', '.join(comp)}: {' -> '.join(path + [start])}")
sys.exit(1)
PY
