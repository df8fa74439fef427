//! Reading the input: splitting the stream, parsing each document (in parallel for large
//! streams), alias and duplicate-key checks, and the documents the fixes read.

use super::*;

/// Whether a document can be copied through after [`yaml::scan`] alone: no fix reads its kind.
pub(super) fn skippable(body: &str, plan: &Plan) -> bool {
    let Some(kind) = yaml::sniff_kind(body) else {
        return false;
    };
    // List items are counted as documents of their own, even with no profile; Kubernetes
    // unpacks any document with a top-level `items` (see [`is_list`]), whatever its kind.
    if kind.ends_with("List")
        || body.starts_with("items:")
        || memchr::memmem::find(body.as_bytes(), b"\nitems:").is_some()
        || !plan.profiles.is_empty() && workload::kind_is_read(kind)
        // A configuration file that sets a loopback listener (exec-probes reads it); any other
        // ConfigMap is copied through unread.
        || !plan.profiles.is_empty()
            && kind == "ConfigMap"
            && crate::profile::exec_probes::CONFIG_MARKERS
                .iter()
                .any(|m| memchr::memmem::find(body.as_bytes(), m.as_bytes()).is_some())
    {
        return false;
    }
    yaml::scan(body).is_ok_and(|s| s.kind == kind)
}

/// A document read: its checked value and the keys its mappings repeat.
pub(super) type Read = (Value, Vec<yaml::DuplicateKey>);

/// Read one document: `None` when it is only validated and copied through (see [`skippable`]),
/// its checked value otherwise. A document that repeats a key is never skipped (the validators
/// hand it on), so every repeated key is named (see [`duplicate_key_warnings`]).
pub(super) fn read_one(
    text: &str,
    n: usize,
    seg: &Segment,
    plan: &Plan,
) -> Result<Option<Read>, Error> {
    let raw = &text[seg.span.clone()];
    let body = raw.strip_prefix('\u{feff}').unwrap_or(raw);
    if skippable(body, plan) {
        return Ok(None);
    }
    let (value, dups) = yaml::read_value(body).map_err(|e| Error::Input {
        doc: n + 1,
        line: seg.first_line + e.line - 1,
        column: e.column,
        reason: e.message.clone(),
    })?;
    validate(&value, n + 1, seg, body)?;
    Ok(Some((value, dups)))
}

/// One `duplicate-key` warning per key a document repeats. Kubernetes keeps the last value (see
/// [`yaml::DuplicateKey`]) and so does every reader here, but the chart almost certainly meant
/// one of them, so the user hears which key and where. `first_line` is the document's first line
/// in the stream; a `kind: List` names the item the key is in.
pub(super) fn duplicate_key_warnings(
    report: &mut Report,
    value: &Value,
    dups: &[yaml::DuplicateKey],
    first_line: usize,
) {
    for d in dups {
        let item = match d.path.as_slice() {
            [yaml::PathStep::Key(items), yaml::PathStep::Index(i), ..]
                if items == "items" && is_list(value) =>
            {
                value["items"].get(*i)
            }
            _ => None,
        };
        let (object, key) = match item {
            Some(item) => (Identity::of(&list_item(value, item)), d.dotted(2)),
            None => (Identity::of(value), d.dotted(0)),
        };
        let lines: Vec<String> = d
            .lines
            .iter()
            .map(|l| (first_line + l - 1).to_string())
            .collect();
        let (times, at) = match lines.as_slice() {
            // Keys serde-saphyr alone finds equal (`11` and `0xB`): only the repeat's line.
            [a] => ("more than once".to_string(), format!("line {a}")),
            [a, b] => ("twice".to_string(), format!("lines {a} and {b}")),
            [rest @ .., last] => (
                format!("{} times", lines.len()),
                format!("lines {} and {last}", rest.join(", ")),
            ),
            [] => continue,
        };
        report.warn_code(
            Code::DuplicateKey,
            "",
            Some(object.to_string()),
            format!(
                "chart bug: key {key} appears {times}, at {at}; Kubernetes uses the last value"
            ),
        );
    }
}

/// Where the stream's aliases pass [`yaml::MAX_STREAM_ALIAS_EVENTS`]: the 0-based document and
/// the total it reaches there.
pub(super) struct AliasBreach {
    pub(super) doc: usize,
    pub(super) total: usize,
}

impl AliasBreach {
    pub(super) fn error(&self, seg: &Segment) -> Error {
        Error::Input {
            doc: self.doc + 1,
            line: seg.first_line,
            column: 1,
            reason: format!(
                "aliases in the stream up to this document repeat {} YAML events, more than the \
                 limit of {} for a whole stream (each document may repeat up to {}, but not \
                 every one of them: an alias bomb spread over documents?)",
                self.total,
                yaml::MAX_STREAM_ALIAS_EVENTS,
                yaml::MAX_ALIAS_EVENTS
            ),
        }
    }
}

/// Check the stream-wide alias limit before any document becomes a value, so a stream of
/// documents that each stay under their own limit cannot expand to gigabytes between them.
/// Every document counts, those copied through too: whether a stream is refused does not depend
/// on the profiles chosen. Counting costs two byte searches for a document without `&` and `*`.
pub(super) fn alias_budget_breach(text: &str, segs: &[Segment]) -> Option<AliasBreach> {
    let counts = in_parallel(
        segs,
        text.len(),
        |s| s.span.len(),
        |_, s| yaml::replayed_events(&text[s.span.clone()]).unwrap_or(0),
    );
    let mut total = 0usize;
    for (doc, n) in counts.into_iter().enumerate() {
        total = total.saturating_add(n);
        if total > yaml::MAX_STREAM_ALIAS_EVENTS {
            return Some(AliasBreach { doc, total });
        }
    }
    None
}

/// Streams smaller than this are handled on the calling thread.
pub(super) const PARALLEL_FROM: usize = 256 * 1024;

/// [`read_one`] for every segment, in order. Documents are independent until the fixes run, so a
/// large stream is read on all cores; the first error in stream order is the one reported, as if
/// read one by one.
pub(super) fn read_all(
    text: &str,
    segs: &[Segment],
    plan: &Plan,
) -> Vec<Result<Option<Read>, Error>> {
    in_parallel(
        segs,
        text.len(),
        |s| s.span.len(),
        |n, s| read_one(text, n, s, plan),
    )
}

/// `f` over every element of `list` (with its index), in order. When the work is large
/// (`total` bytes, `bytes` per element) the list is cut into runs of about equal bytes, one per
/// core, run on scoped threads; the results come back in the order of `list` either way, so the
/// output never depends on the number of cores.
pub(super) fn in_parallel<T: Sync, R: Send>(
    list: &[T],
    total: usize,
    bytes: impl Fn(&T) -> usize,
    f: impl Fn(usize, &T) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if threads < 2 || total < PARALLEL_FROM || list.len() < 2 {
        return list.iter().enumerate().map(|(n, t)| f(n, t)).collect();
    }
    let share = total / threads + 1;
    let mut runs: Vec<Range<usize>> = Vec::new();
    let (mut start, mut sum) = (0, 0);
    for (i, t) in list.iter().enumerate() {
        sum += bytes(t);
        if sum >= share {
            runs.push(start..i + 1);
            (start, sum) = (i + 1, 0);
        }
    }
    if start < list.len() {
        runs.push(start..list.len());
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = runs
            .into_iter()
            .map(|run| scope.spawn(move || run.map(|n| f(n, &list[n])).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Like [`process`], but untouched documents stay ranges of `input`.
/// A stream read: its text and form, the documents as written, and what the fixes see.
pub(super) struct Stream<'a> {
    pub(super) text: &'a str,
    pub(super) form: Form,
    pub(super) segs: Vec<Seg<'a>>,
    pub(super) docs: Docs,
    /// The documents only validated and copied through.
    pub(super) skipped: usize,
    /// The keys documents repeat (warnings).
    pub(super) repeated: Report,
}

/// Read and check every document of `input`: the first error in stream order is the one
/// reported (exit 2), and nothing is written.
pub(super) fn read_stream<'a>(input: &'a [u8], plan: &Plan) -> Result<Stream<'a>, Error> {
    let text = std::str::from_utf8(input).map_err(|e| {
        let at = e.valid_up_to();
        let valid = std::str::from_utf8(&input[..at]).unwrap_or("");
        let segs = stream::split(&input[..at]);
        let (line, column) = stream::line_col(valid, at);
        Error::Input {
            doc: segs.len().max(1),
            line,
            column,
            reason: "invalid UTF-8".into(),
        }
    })?;
    let form = stream::detect_form(input);
    let mut segs: Vec<Seg> = Vec::new();
    // The documents the fixes see: List items are documents of their own.
    let mut items = Vec::new();
    let mut skipped = 0;
    let mut skipped_templates = false;
    let split = stream::split(input);
    let read = match alias_budget_breach(text, &split) {
        // The documents before the breach are read first, so an error in one of them is still
        // the one reported (the first in stream order); none are read past it.
        Some(breach) => {
            for r in read_all(text, &split[..breach.doc], plan) {
                r?;
            }
            return Err(breach.error(&split[breach.doc]));
        }
        None => read_all(text, &split, plan),
    };
    // The keys documents repeat, with the document's value and first line.
    let mut repeated = Report::default();
    for (seg, read) in split.into_iter().zip(read) {
        let raw = &text[seg.span.clone()];
        let (bom, body) = match raw.strip_prefix('\u{feff}') {
            Some(b) => (3, b),
            None => (0, raw),
        };
        let Some((value, dups)) = read? else {
            skipped += 1;
            // Only the hook annotation tells a hook; a skipped document without it is a template.
            skipped_templates |= memchr::memmem::find(body.as_bytes(), b"helm.sh/hook").is_none();
            segs.push(Seg {
                span: seg.span,
                bom,
                text: body,
                role: Role::Skipped,
            });
            continue;
        };
        duplicate_key_warnings(&mut repeated, &value, &dups, seg.first_line);
        let role = if is_list(&value) {
            let first = items.len();
            for item in value["items"].as_array().into_iter().flatten() {
                let item = list_item(&value, item);
                items.push(Doc {
                    id: Identity::of(&item),
                    value: item,
                });
            }
            Role::List(value, first, items.len() - first)
        } else if value.is_object() {
            items.push(Doc {
                id: Identity::of(&value),
                value,
            });
            Role::Object(items.len() - 1)
        } else {
            Role::Empty
        };
        segs.push(Seg {
            span: seg.span,
            bom,
            text: body,
            role,
        });
    }

    let mut docs = Docs::new(items);
    docs.skipped_templates = skipped_templates;
    Ok(Stream {
        text,
        form,
        segs,
        docs,
        skipped,
        repeated,
    })
}
