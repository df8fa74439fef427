//! Mirror rules and image references: `FROM=TO` prefixes matched on path components, tag edits,
//! and what a reference becomes under them.

/// One edit of a tag: `s/^v//` (strip a leading `v`), `s/-distroless$//`, `s/$/-loong64/`,
/// `s/rc/-rc/` (first occurrence). Literal text with optional `^`/`$` anchors, not a regular
/// expression: enough for the renamings mirrors make, and no surprises with `.` in versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagEdit {
    pub(super) find: String,
    pub(super) anchor: Anchor,
    pub(super) replace: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Anchor {
    Start,
    End,
    Anywhere,
}

impl TagEdit {
    /// `s/PATTERN/REPLACEMENT/`.
    pub(super) fn parse(text: &str) -> Result<TagEdit, String> {
        let bad = || format!("tag edit {text:?}: expected s/PATTERN/REPLACEMENT/ (e.g. s/^v//)");
        let body = text.strip_prefix("s/").ok_or_else(bad)?;
        let parts: Vec<&str> = body.split('/').collect();
        let [find, replace, ""] = parts.as_slice() else {
            return Err(bad());
        };
        let (find, anchor) = if let Some(f) = find.strip_prefix('^') {
            (f, Anchor::Start)
        } else if let Some(f) = find.strip_suffix('$') {
            (f, Anchor::End)
        } else {
            (*find, Anchor::Anywhere)
        };
        if find.is_empty() && anchor == Anchor::Anywhere {
            return Err(format!("tag edit {text:?}: the pattern is empty"));
        }
        for part in [find, replace] {
            if !part.chars().all(tag_char) {
                return Err(format!(
                    "tag edit {text:?}: {part:?} has characters a tag cannot have (only A-Z a-z 0-9 _ . -)"
                ));
            }
        }
        Ok(TagEdit {
            find: find.to_string(),
            anchor,
            replace: replace.to_string(),
        })
    }

    pub(super) fn apply(&self, tag: &str) -> String {
        match self.anchor {
            Anchor::Start => match tag.strip_prefix(&self.find) {
                Some(rest) => format!("{}{rest}", self.replace),
                None => tag.to_string(),
            },
            Anchor::End => match tag.strip_suffix(&self.find) {
                Some(rest) => format!("{rest}{}", self.replace),
                None => tag.to_string(),
            },
            Anchor::Anywhere => tag.replacen(&self.find, &self.replace, 1),
        }
    }
}

pub(super) fn tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// A tag as the registry grammar allows it: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub(super) fn valid_tag(t: &str) -> bool {
    !t.is_empty() && t.len() <= 128 && t.chars().all(tag_char) && !t.starts_with(['.', '-'])
}

/// One mirror rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The normalised prefix it matches.
    pub(super) from: String,
    /// A plain text prefix (`FROM*`) rather than whole path components.
    pub(super) plain: bool,
    /// What replaces `from`.
    pub(super) to: String,
    pub(super) tags: Vec<TagEdit>,
    /// As the user wrote it, for messages.
    pub(super) text: String,
}

impl Rule {
    /// `FROM=TO[;tag=s/A/B/]...`.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let text = text.trim();
        let (from, rest) = text.split_once('=').ok_or_else(|| {
            format!("rule {text:?}: expected FROM=TO (e.g. quay.io=mirror.example.com/quay)")
        })?;
        let mut parts = rest.split(';');
        let to = parts.next().unwrap_or("").trim().trim_end_matches('/');
        let mut tags = Vec::new();
        for opt in parts.map(str::trim).filter(|o| !o.is_empty()) {
            let edit = opt.strip_prefix("tag=").ok_or_else(|| {
                format!("rule {text:?}: unknown option {opt:?} (valid: tag=s/PATTERN/REPLACEMENT/)")
            })?;
            tags.push(TagEdit::parse(edit).map_err(|e| format!("rule {text:?}: {e}"))?);
        }
        let from = from.trim();
        let (from, plain) = match from.strip_suffix('*') {
            Some(f) => (f, true),
            None => (from.trim_end_matches('/'), false),
        };
        if from.is_empty() {
            return Err(format!("rule {text:?}: FROM is empty"));
        }
        let from = normalise_prefix(from).map_err(|e| format!("rule {text:?}: FROM {e}"))?;
        if to.is_empty() {
            return Err(format!("rule {text:?}: TO is empty"));
        }
        let to_name = normalise_prefix(to).map_err(|e| format!("rule {text:?}: TO {e}"))?;
        if !has_registry(to) {
            return Err(format!(
                "rule {text:?}: TO {to:?} names no registry; write it in full (mirror.example.com/{to}, or docker.io/{to})"
            ));
        }
        Ok(Rule {
            from,
            plain,
            to: to_name,
            tags,
            text: text.to_string(),
        })
    }

    /// The part of `name` after this rule's FROM, when it matches.
    pub(super) fn rest<'a>(&self, name: &'a str) -> Option<&'a str> {
        let rest = name.strip_prefix(&self.from)?;
        (self.plain || rest.is_empty() || rest.starts_with('/')).then_some(rest)
    }
}

/// Whether the first path component of a reference is a registry host (Docker's rule: it has a
/// `.` or a `:`, or is `localhost`, and more components follow).
pub(super) fn has_registry(name: &str) -> bool {
    match name.split_once('/') {
        Some((first, _)) => first.contains(['.', ':']) || first == "localhost",
        None => false,
    }
}

/// Normalise a rule's FROM or TO: like a reference without tag or digest, except that a bare
/// registry (`quay.io`, `localhost:5000`) stays a registry.
pub(super) fn normalise_prefix(p: &str) -> Result<String, String> {
    if !p.contains('/') && (p.contains(['.', ':']) || p == "localhost") {
        let p = if p == "index.docker.io" {
            "docker.io"
        } else {
            p
        };
        return if p
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
        {
            Ok(p.to_string())
        } else {
            Err(format!("{p:?} is not a registry host"))
        };
    }
    if p.contains('@') {
        return Err(format!("{p:?} has a digest; a rule matches repositories"));
    }
    let last = p.rsplit('/').next().unwrap_or(p);
    if last.contains(':') {
        return Err(format!(
            "{p:?} has a tag; a rule matches repositories (change tags with ;tag=s/A/B/)"
        ));
    }
    let r = Reference::parse(p).ok_or_else(|| format!("{p:?} is not an image repository"))?;
    if has_registry(p) {
        // Written with its registry, a prefix is taken as written: `docker.io/bitnami` is the
        // bitnami namespace, not the image `docker.io/library/bitnami`.
        let (registry, path) = p.split_once('/').unwrap_or((p, ""));
        let registry = if registry == "index.docker.io" {
            "docker.io"
        } else {
            registry
        };
        return Ok(format!("{registry}/{path}"));
    }
    Ok(r.name)
}

/// An image reference, split and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The normalised repository (`docker.io/library/busybox`).
    pub name: String,
    pub tag: Option<String>,
    /// `sha256:…`, without the `@`.
    pub digest: Option<String>,
}

impl Reference {
    /// Parse and normalise `[registry/]path[:tag][@digest]`; `None` when it is not a reference
    /// (spaces, upper case in the path, an empty component, a bad tag or digest).
    pub fn parse(text: &str) -> Option<Reference> {
        let (rest, digest) = match text.split_once('@') {
            Some((r, d)) => {
                let (algo, hex) = d.split_once(':')?;
                let ok = !algo.is_empty()
                    && algo.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-_".contains(c)
                    })
                    && hex.len() >= 32
                    && hex.chars().all(|c| c.is_ascii_hexdigit());
                if !ok {
                    return None;
                }
                (r, Some(d.to_string()))
            }
            None => (text, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag
            && !valid_tag(t)
        {
            return None;
        }
        let mut parts: Vec<&str> = name.split('/').collect();
        let registry = if parts.len() > 1 && has_registry(name) {
            let r = parts.remove(0);
            if !r
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
            {
                return None;
            }
            if r == "index.docker.io" {
                "docker.io"
            } else {
                r
            }
        } else {
            "docker.io"
        };
        let component_ok = |c: &str| {
            !c.is_empty()
                && c.chars().all(|ch| {
                    ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-')
                })
                && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
                && c.ends_with(|ch: char| ch.is_ascii_alphanumeric())
        };
        if parts.is_empty() || !parts.iter().all(|c| component_ok(c)) {
            return None;
        }
        if registry == "docker.io" && parts.len() == 1 {
            parts.insert(0, "library");
        }
        Some(Reference {
            name: format!("{registry}/{}", parts.join("/")),
            tag: tag.map(str::to_string),
            digest,
        })
    }
}

/// What the rules make of one reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    /// Rewritten by rule `rule` (an index into the settings' rules).
    Mapped {
        after: String,
        rule: usize,
        /// The digest that was dropped (the reference had a tag to fall back to).
        dropped_digest: Option<String>,
        /// The reference had a digest and no tag: kept.
        kept_digest: bool,
        /// The rule edits tags, but the reference has none (the operator may append one).
        untagged: bool,
    },
    /// Already under a rule's TO: a mirrored reference, left as it is.
    Mirrored,
    /// No rule matches.
    Unmapped,
    /// Not an image reference at all.
    Invalid,
}
