//! The pipeline without I/O: bytes in, fixed bytes and a report out.
//!
//! 1. Split the stream into documents and parse each with limits (bad input fails here, before
//!    anything is written). Documents of a kind no fix reads (ConfigMaps, CRDs, rules: most of
//!    the bytes) are only validated ([`yaml::scan`]) and never become values.
//! 2. Run the selected fixes in their fixed order over the values, recording after each fix which
//!    documents it changed and how.
//! 3. Write every unchanged document's bytes as they came (as ranges of the input: see
//!    [`Parts`]), every changed document as a minimal text edit (verified by parsing it back),
//!    then the documents the fixes added.
//!
//! Nothing here keeps state between runs: Helm 4.2 may call us twice per release.

use crate::immutable;
use crate::live::LivePvs;
use crate::manifest::Identity;
use crate::profile::{self, Assume, Ctx, Doc, Docs, Params, ProfileDef};
use crate::report::{self, Added, Certainty, Code, Prediction, Record, Report};
use crate::select::{Selection, Selector};
use crate::stream::{self, FILENAME_ANNOTATION, Form, Segment};
use crate::workload;
use crate::yaml::{self, Node};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::Mutex;

mod read;
mod write;

use read::*;
use write::*;

/// What the engine is asked to do (the validated configuration, minus output destinations).
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Profiles with their parameters, in run order.
    pub profiles: Vec<(ProfileDef, Params)>,
    pub only: Vec<Selector>,
    pub skip: Vec<Selector>,
    /// Compute everything but write the input unchanged.
    pub dry_run: bool,
    /// Produce unified diffs of changed documents.
    pub diff: bool,
    /// The PersistentVolumes that exist in the cluster (`local-pv.existing`), read before the
    /// stream by the caller: the engine itself does no I/O.
    pub live_pvs: Option<LivePvs>,
    /// What the user told about the cluster (`--assume`), for `-p auto`.
    pub assume: Assume,
    /// `-p auto`: `profiles` are the candidates, and each runs only on the objects it finds a
    /// failure in.
    pub auto: Option<AutoPlan>,
}

/// What `-p auto` needs besides its candidate profiles.
#[derive(Debug, Clone, Default)]
pub struct AutoPlan {
    /// Candidates that can foresee but not fix, and why (local-pv without a node): their
    /// failures are named in a warning instead.
    pub blocked: Vec<(String, String)>,
}

/// The result of a successful run.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub stream: Vec<u8>,
    pub report: Report,
    pub diffs: Vec<String>,
}

/// Why a run failed. Nothing is written to stdout in any of these cases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The stream is not valid input (exit 2).
    #[error("document {doc} (line {line}, column {column}): {reason}")]
    Input {
        doc: usize,
        line: usize,
        column: usize,
        reason: String,
    },
    /// A profile, parameter or selection problem (exit 3).
    #[error("{0}")]
    Usage(String),
    /// A bug: the fixed document did not read back as intended (exit 1).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Comment written when the stream has no documents: Helm 4 rejects empty output, and empty output
/// from Helm 3 would install an empty release.
pub const EMPTY_STREAM: &str = "# helm-fixup: the rendered stream has no documents\n";

/// One piece of the output: bytes of the input copied through, or text the engine wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Input(Range<usize>),
    Text(String),
}

/// A successful run before its output is joined: untouched documents are ranges of the input,
/// so a large stream is never copied in memory (see [`Parts::write_to`]).
#[derive(Debug, Clone, Default)]
pub struct Parts {
    pub pieces: Vec<Piece>,
    pub report: Report,
    pub diffs: Vec<String>,
}

impl Parts {
    /// Write the output stream; `input` must be the bytes given to [`process_parts`].
    pub fn write_to(&self, input: &[u8], w: &mut impl std::io::Write) -> std::io::Result<()> {
        for p in &self.pieces {
            match p {
                Piece::Input(r) => w.write_all(&input[r.clone()])?,
                Piece::Text(t) => w.write_all(t.as_bytes())?,
            }
        }
        Ok(())
    }

    pub fn into_output(self, input: &[u8]) -> Output {
        let len = self.pieces.iter().map(piece_len).sum();
        let mut stream = Vec::with_capacity(len);
        self.write_to(input, &mut stream)
            .expect("writing to a Vec cannot fail");
        Output {
            stream,
            report: self.report,
            diffs: self.diffs,
        }
    }
}

fn piece_len(p: &Piece) -> usize {
    match p {
        Piece::Input(r) => r.len(),
        Piece::Text(t) => t.len(),
    }
}

/// How one segment of the stream takes part in the run.
enum Role {
    /// Validated by [`yaml::scan`] only (a kind no fix reads, or no profile selected): copied through.
    Skipped,
    /// Empty or comment-only.
    Empty,
    /// One object: the fixes' document `i`.
    Object(usize),
    /// A list (`kind: List`, `DeploymentList`, any mapping with an `items` list; see
    /// [`is_list`]): its value, and the fixes' documents `first..first + n` are its items.
    List(Value, usize, usize),
}

struct Seg<'a> {
    span: Range<usize>,
    /// Length of the BOM before the text (0 or 3).
    bom: usize,
    /// The document text after the BOM.
    text: &'a str,
    role: Role,
}

pub fn process(input: &[u8], plan: &Plan) -> Result<Output, Error> {
    process_parts(input, plan).map(|p| p.into_output(input))
}

pub fn process_parts(input: &[u8], plan: &Plan) -> Result<Parts, Error> {
    let Stream {
        text,
        form,
        segs,
        mut docs,
        skipped,
        repeated,
    } = read_stream(input, plan)?;
    let mut report = Report {
        profiles: plan.profiles.iter().map(|(d, _)| d.name.clone()).collect(),
        documents: docs.len() + skipped,
        ..repeated
    };
    unmatched_selectors(&docs, plan, &mut report);
    for why in plan.live_pvs.iter().flat_map(|l| &l.unread) {
        report.note("local-pv", None, format!("local-pv.existing: {why}"));
    }
    let mut added: Vec<(String, Value)> = Vec::new();
    // Every document a fix edited. Its value before the first edit is not kept: the writer reads
    // the original text again (quick for the plain text charts render), which halves the memory
    // a stream of many workloads needs.
    let mut touched: BTreeSet<usize> = BTreeSet::new();
    // immutable-field warnings given without the live object to compare with.
    let mut unverified = 0usize;

    // `-p auto`: the profiles, and the objects of each, that the failures found call for.
    let auto = match &plan.auto {
        Some(auto) => {
            report.auto = true;
            let chosen = auto_choice(&docs, plan, auto, form, &mut report)?;
            report.profiles = chosen.keys().cloned().collect();
            report.profiles.sort_by_key(|p| {
                plan.profiles
                    .iter()
                    .find(|(d, _)| d.name == *p)
                    .map_or(usize::MAX, |(d, _)| d.order())
            });
            Some(chosen)
        }
        None => None,
    };
    let mut ordered: Vec<&(ProfileDef, Params)> = plan.profiles.iter().collect();
    ordered.sort_by_key(|(d, _)| d.order());
    for (def, params) in ordered {
        let within = match &auto {
            Some(chosen) => match chosen.get(&def.name) {
                Some(objects) => {
                    let mut objects = objects.clone();
                    // image-mirror runs last and maps the images earlier fixes added (init-chown's
                    // helper), which no foresight on the chart's documents sees.
                    if def.fix == "image-mirror" {
                        objects.extend(
                            (0..docs.len())
                                .filter(|&i| !docs.changed_by(i).is_empty())
                                .map(|i| docs.get(i).id.to_string()),
                        );
                    }
                    Some(objects)
                }
                None => continue,
            },
            None => None,
        };
        // Checked once already when the command line was read (`Params::new`); plans built in
        // code are checked here.
        let fix = profile::configure(&def.fix, params).map_err(|e| Error::Usage(e.0))?;
        let mut sel = selection(plan, def)?;
        sel.within = within;
        let mut new_docs = Vec::new();
        let mut ctx = context(plan, (def, params), &sel, form, &mut report, &mut new_docs);
        fix.apply(&mut docs, &mut ctx)
            .map_err(|e| Error::Usage(e.0))?;
        for (i, before) in docs.take_snapshots() {
            let before = before.map_err(Error::Internal)?;
            let doc = docs.get(i);
            let changes = report::diff(&before, &doc.value);
            touched.insert(i);
            if changes.is_empty() {
                continue;
            }
            let object = doc.id.to_string();
            let fixed = immutable::changes(&doc.id, &before, &doc.value);
            if !fixed.is_empty() {
                let ns = release_namespace(plan);
                let warning = match immutable::against_live(
                    plan.live_pvs.as_ref(),
                    &doc.id,
                    ns,
                    (&before, &doc.value),
                    &fixed,
                ) {
                    immutable::Against::Unknown => {
                        unverified += 1;
                        let unset = immutable::class_from_unset(&doc.id, &before, &fixed);
                        Some(immutable::advice(&def.name, &doc.id, &fixed, ns, unset))
                    }
                    immutable::Against::Absent | immutable::Against::Same => None,
                    immutable::Against::Differs(d) => Some(immutable::advice_live(
                        &def.name, &doc.id, &d, &doc.value, ns,
                    )),
                };
                if let Some(w) = warning {
                    report.warn_code(Code::ImmutableField, &def.name, Some(object.clone()), w);
                }
            }
            docs.mark_changed(i, &def.fix);
            let more_privileged = fix.raises_privilege() || report.escalated.contains(&object);
            if more_privileged {
                docs.mark_raised(i);
            }
            report.changed.push(Record {
                profile: def.name.clone(),
                object,
                changes,
                more_privileged,
            });
        }
        for v in new_docs {
            let object = Identity::of(&v).to_string();
            let record = Added {
                profile: def.name.clone(),
                object,
            };
            if report.resent.contains(&record.object) {
                report.kept_objects.push(record);
            } else {
                report.added.push(record);
            }
            added.push((def.name.clone(), v));
        }
    }

    if unverified > 0 {
        report.note_code(
            Code::ImmutableField,
            "helm-fixup",
            None,
            format!(
                "the {unverified} immutable-field warning(s) compare with the chart's render, not with the cluster: \
                 they concern a release installed without these fixes, and no longer apply once an upgrade has \
                 brought them. Add --set local-pv.existing=cluster to check them against the live objects{}",
                if plan.live_pvs.is_some() {
                    " (the live objects of their kind and namespace were not read)"
                } else {
                    ""
                }
            ),
        );
    }
    report.note_more_privileged();

    // Write: untouched documents as ranges of the input, changed ones as edited text.
    let slots: Vec<Mutex<Value>> = docs
        .into_items()
        .into_iter()
        .map(|d| Mutex::new(d.value))
        .collect();
    // The work is in the documents to rewrite; the rest are copied.
    let work = |s: &Seg| match s.role {
        Role::Object(i) if touched.contains(&i) => s.span.len(),
        Role::List(..) => s.span.len(),
        _ => 0,
    };
    let total = segs.iter().map(work).sum();
    let written = in_parallel(&segs, total, work, |_, seg| {
        write_seg(seg, &slots, &touched, plan.diff)
    });
    let mut pieces = Vec::with_capacity(segs.len() + added.len());
    let mut diffs = Vec::new();
    for w in written {
        let (p, text, d) = w?;
        pieces.push(p);
        pieces.extend(text);
        diffs.extend(d);
    }
    // Added documents use the stream's line ends, so a CRLF stream stays CRLF throughout.
    let eol = stream::line_ending(text);
    for (profile, v) in &added {
        let last = pieces.iter().rev().find_map(|p| match p {
            Piece::Input(r) => input[r.clone()].last().copied(),
            Piece::Text(t) => t.as_bytes().last().copied(),
        });
        if last.is_some_and(|b| b != b'\n') {
            pieces.push(Piece::Text(eol.into()));
        }
        pieces.push(Piece::Text(added_document(form, profile, v.clone(), eol)));
    }
    let blank = pieces.iter().all(|p| match p {
        Piece::Input(r) => yaml::is_blank(&text[r.clone()]),
        Piece::Text(t) => yaml::is_blank(t),
    });
    if blank {
        pieces.push(Piece::Text(EMPTY_STREAM.into()));
    }
    if plan.dry_run && !input.is_empty() {
        pieces = vec![Piece::Input(0..input.len())];
    }
    Ok(Parts {
        pieces,
        report,
        diffs,
    })
}

/// The release namespace as the user gave it (`local-pv.namespace`): Helm does not tell
/// post-renderers, and objects without a namespace are in it.
fn release_namespace(plan: &Plan) -> Option<&str> {
    plan.profiles
        .iter()
        .find(|(d, _)| d.fix == "local-pv")
        .and_then(|(_, p)| p.str("namespace"))
}

/// What one profile of `plan` runs with.
fn context<'a>(
    plan: &'a Plan,
    (def, params): (&'a ProfileDef, &'a Params),
    sel: &'a Selection,
    form: Form,
    report: &'a mut Report,
    added: &'a mut Vec<Value>,
) -> Ctx<'a> {
    Ctx {
        profile: &def.name,
        params,
        sel,
        form,
        report,
        added,
        live_pvs: plan.live_pvs.as_ref(),
        assume: &plan.assume,
    }
}

/// The selection one profile of `plan` runs under: the user's selectors and the profile file's
/// targets.
fn selection(plan: &Plan, def: &ProfileDef) -> Result<Selection, Error> {
    let names: Vec<&str> = plan.profiles.iter().map(|(d, _)| d.name.as_str()).collect();
    let mut only = plan.only.clone();
    for t in &def.targets {
        let mut s = Selector::parse(t, &names).map_err(|e| Error::Usage(e.0))?;
        s.profile = Some(def.name.clone());
        only.push(s);
    }
    Ok(Selection::for_profile(&only, &plan.skip, &def.name))
}

/// Every failure the profiles of `plan` foresee in `docs`, each profile planning on the
/// documents as they are (none sees another's changes), in run order. Nothing is changed.
fn foresee(docs: &Docs, plan: &Plan, form: Form) -> Result<Foresight, Error> {
    let mut ordered: Vec<&(ProfileDef, Params)> = plan.profiles.iter().collect();
    ordered.sort_by_key(|(d, _)| d.order());
    let mut out = Foresight::default();
    for (def, params) in ordered {
        let fix = profile::configure(&def.fix, params).map_err(|e| Error::Usage(e.0))?;
        let sel = selection(plan, def)?;
        let mut report = Report::default();
        let mut added = Vec::new();
        let mut ctx = context(plan, (def, params), &sel, form, &mut report, &mut added);
        let planned = match fix.foresee(docs, &mut ctx) {
            Ok(p) => p,
            // One profile that cannot plan (local-pv without the namespace of claims that name
            // none) does not stop the others: its reason is told instead.
            Err(e) => {
                out.failed.push((def.name.clone(), e.0));
                continue;
            }
        };
        // What the fix will meet itself, per object: fields an installed release cannot change
        // (the same rule and advice as a run's `immutable-field` warning), and the warnings its
        // planning gave about Pod Security, placement and Helm 4's apply.
        let mut caveats: std::collections::HashMap<String, Vec<String>> = Default::default();
        for (i, fields) in &planned {
            let d = docs.get(*i);
            if !fields.is_empty() {
                caveats
                    .entry(d.id.to_string())
                    .or_default()
                    .push(immutable::advice(
                        &def.name,
                        &d.id,
                        fields,
                        release_namespace(plan),
                        immutable::class_from_unset(&d.id, &d.value, fields),
                    ));
            }
        }
        for m in &report.messages {
            let caveat = matches!(
                m.code,
                Code::PodSecurity | Code::PlacementConflict | Code::SsaClaimref | Code::Scc
            );
            if let (true, Some(object)) = (caveat, &m.object) {
                caveats
                    .entry(object.clone())
                    .or_default()
                    .push(m.message.clone());
            }
        }
        for mut p in report.predicted {
            if let Some(c) = caveats.get(&p.object) {
                p.caveats = c.clone();
            }
            out.predicted.push(p);
        }
        out.kept.extend(report.kept);
    }
    Ok(out)
}

/// What the profiles foresee: the failures, and the objects they must keep fixing (see
/// [`Report::kept`]).
#[derive(Debug, Clone, Default)]
struct Foresight {
    predicted: Vec<Prediction>,
    kept: Vec<(String, String, String)>,
    /// Profiles that could not plan, with the reason.
    failed: Vec<(String, String)>,
}

/// What `helm-fixup diagnose` finds in a stream.
#[derive(Debug, Clone, Default)]
pub struct Diagnosis {
    pub documents: usize,
    pub predicted: Vec<Prediction>,
    /// Profiles that could not plan, with the reason (a parameter they need).
    pub failed: Vec<(String, String)>,
}

/// Read `input` as a run would (the same errors, exit 2) and foresee the failures of the
/// profiles of `plan`, changing nothing: the engine of `helm-fixup diagnose`.
pub fn diagnose(input: &[u8], plan: &Plan) -> Result<Diagnosis, Error> {
    let stream = read_stream(input, plan)?;
    let foresight = foresee(&stream.docs, plan, stream.form)?;
    Ok(Diagnosis {
        documents: stream.docs.len() + stream.skipped,
        predicted: foresight.predicted,
        failed: foresight.failed,
    })
}

/// `-p auto` (see [`AutoPlan`]): for each profile, the objects with a definite failure it
/// fixes (a conditional one counts when `--assume` settled it: the fixes then predict it
/// definite). The candidates foresee different failures, each fixed by one of them, least
/// privilege first (root-run is never a candidate); the summary says why each ran, and which
/// conditional failures were left for the user to settle.
fn auto_choice(
    docs: &Docs,
    plan: &Plan,
    auto: &AutoPlan,
    form: Form,
    report: &mut Report,
) -> Result<std::collections::BTreeMap<String, std::collections::HashSet<String>>, Error> {
    let mut chosen: std::collections::BTreeMap<String, std::collections::HashSet<String>> =
        Default::default();
    let foresight = foresee(docs, plan, form)?;
    for (profile, why) in &foresight.failed {
        report.warn_code(
            Code::LeftAlone,
            "auto",
            None,
            format!("{profile} not run: it cannot plan this stream: {why}"),
        );
    }
    // Day 2: what a profile fixed on an earlier upgrade stays fixed only while it runs there.
    for (profile, object, why) in foresight.kept {
        // Not running it would drop what it fixed from the release on this upgrade (local-pv's
        // volumes): refuse, so Helm installs nothing, rather than warn after the fact.
        if let Some((_, need)) = auto.blocked.iter().find(|(name, _)| *name == profile) {
            return Err(Error::Usage(format!(
                "-p auto: {object}: {why}, but {need}; without it this upgrade would drop that from the release"
            )));
        }
        report.note_code(
            Code::Other,
            "auto",
            Some(object.clone()),
            format!("{profile} ran to keep what it fixed: {why}"),
        );
        chosen.entry(profile).or_default().insert(object);
    }
    // One line per object, profile and failure, however many fields show it.
    type Key = (String, String, &'static str);
    /// The definite evidence, the conditional evidence and its conditions.
    type Shown = (Vec<String>, Vec<String>, Vec<String>);
    let mut order: Vec<Key> = Vec::new();
    let mut seen: std::collections::HashMap<Key, Shown> = Default::default();
    for p in foresight.predicted {
        let key = (p.object, p.profile, p.failure);
        let entry = seen.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            Default::default()
        });
        let (definite, conditional, conditions) = entry;
        match p.certainty {
            Certainty::Definite => definite.push(p.evidence),
            Certainty::Conditional => {
                conditional.push(p.evidence);
                if let Some(c) = p.condition
                    && !conditions.contains(&c)
                {
                    conditions.push(c);
                }
            }
        }
    }
    for key in order {
        let Some((definite, conditional, conditions)) = seen.remove(&key) else {
            continue;
        };
        let (object, profile, failure) = key;
        if let Some((_, why)) = auto.blocked.iter().find(|(name, _)| *name == profile) {
            let all: Vec<String> = definite.into_iter().chain(conditional).collect();
            report.warn_code(
                Code::LeftAlone,
                "auto",
                Some(object),
                format!(
                    "{failure}: {} ({profile}); not fixed: {why}",
                    all.join("; ")
                ),
            );
            continue;
        }
        if definite.is_empty() {
            report.note_code(
                Code::LeftAlone,
                "auto",
                Some(object),
                format!(
                    "{profile} not run for {failure}: {}, which fails only {}; --assume says which clusters \
                     do (helm-fixup diagnose lists the choices), or select it with -p {profile}",
                    conditional.join("; "),
                    conditions.join("; ")
                ),
            );
            continue;
        }
        let mut why = definite.join("; ");
        if !conditional.is_empty() {
            why.push_str(&format!(
                " (and, on the same object: {})",
                conditional.join("; ")
            ));
        }
        report.note_code(
            Code::Other,
            "auto",
            Some(object.clone()),
            format!("{profile} ran for {failure}: {why}"),
        );
        chosen.entry(profile).or_default().insert(object);
    }
    Ok(chosen)
}

/// A `--only` or `--skip` selector that matches nothing is almost always a typo
/// (`kind=Promethues`), and without a word the run does something else than asked and says
/// nothing: warn (code `selector-unmatched`), naming the kinds that are there.
fn unmatched_selectors(docs: &Docs, plan: &Plan, report: &mut Report) {
    if plan.profiles.is_empty() {
        return;
    }
    let flagged = plan
        .only
        .iter()
        .map(|s| ("--only", "changes nothing", s))
        .chain(plan.skip.iter().map(|s| ("--skip", "skips nothing", s)));
    for (flag, effect, s) in flagged {
        let hit = docs.iter().any(|d| {
            let names = workload::container_names(&d.id, &d.value);
            s.matches(&d.id, &d.value, &names)
        });
        if hit {
            continue;
        }
        let kinds: BTreeSet<&str> = docs.iter().map(|d| d.id.kind.as_str()).collect();
        let kinds: Vec<&str> = kinds.into_iter().take(12).collect();
        report.warn_code(
            Code::SelectorUnmatched,
            s.profile.as_deref().unwrap_or(""),
            None,
            format!(
                "{flag} {s} matches no object a profile reads, so it {effect}{}",
                if kinds.is_empty() {
                    String::new()
                } else {
                    format!(" (kinds here: {})", kinds.join(", "))
                }
            ),
        );
    }
}
