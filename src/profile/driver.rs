//! The one loop every pod-level fix runs in, so a fix is only its decisions.
//!
//! A pod-level fix ([`PodFix`]) says, for one pod at a time, what it would do: the document as
//! it would leave it, and what to tell the user ([`Findings`]). That step changes nothing, so
//! it can run alone (to diagnose a stream without fixing it). [`drive`] does the rest for every
//! fix alike: it picks the pods the selection names, gives each fix a read-only [`PodView`],
//! passes the findings on to the report, and stores a changed document through
//! [`Docs::edit`], which keeps the snapshot the engine diffs for the summary.

use super::{Assume, Ctx, Docs, Fix, UsageError};
use crate::manifest::Identity;
use crate::report::{Certainty, Code, Report};
use crate::select::Selection;
use crate::workload::{self, CrKind};
use serde_json::{Map, Value};

/// One pod as a fix sees it while planning: nothing here can be changed.
pub struct PodView<'a> {
    pub id: &'a Identity,
    /// The prometheus-operator resource kind, when the pod spec is a CR's.
    pub cr: Option<CrKind>,
    /// The whole document.
    pub doc: &'a Value,
    /// Its pod spec (for a CR, the CR's spec, which the operator turns into one).
    pub pod: &'a Map<String, Value>,
    /// Where `pod` is in `doc`.
    pub pointer: &'a str,
    /// The part's name when the document holds several pod specs (a VMCluster's `vmstorage`,
    /// a ClickHouseInstallation's `pod template clickhouse`): fixes plan each part in turn, and
    /// the summary names it.
    pub part: Option<&'a str>,
    /// Whether a fix that ran before made this object more privileged (root-run did).
    pub raised: bool,
    /// The fixes that ran before and changed this object (see [`Docs::changed_by`]).
    pub changed_by: &'a [String],
}

impl PodView<'_> {
    /// The object as the summary names it: the document, and the part when it has several.
    pub fn object(&self) -> String {
        match self.part {
            Some(part) => format!("{} ({part})", self.id),
            None => self.id.to_string(),
        }
    }

    /// This pod spec inside `value`, a copy of the document ([`Findings::start`]), to change.
    pub fn pod_mut<'v>(&self, value: &'v mut Value) -> Option<&'v mut Map<String, Value>> {
        value.pointer_mut(self.pointer)?.as_object_mut()
    }
}

/// What a fix would do to one pod.
#[derive(Default)]
pub struct Findings {
    /// The document as the fix would leave it; `None` when it leaves it alone.
    pub fixed: Option<Value>,
    /// Notes and warnings, in the order the user reads them, with their levels and codes (and
    /// the objects made more privileged, in `escalated`).
    pub report: Report,
    /// The profile and the object the notes below are about.
    profile: String,
    object: String,
}

impl Findings {
    /// Findings of `profile` about the pod `view`: [`Findings::note`] and the others name both.
    pub fn for_pod(profile: &str, view: &PodView) -> Findings {
        Findings {
            profile: profile.to_string(),
            object: view.object(),
            ..Findings::default()
        }
    }

    /// A note about this pod (code `left-alone`).
    pub fn note(&mut self, message: impl Into<String>) {
        self.report
            .note(&self.profile, Some(self.object.clone()), message);
    }

    /// A warning about this pod (code `other`).
    pub fn warn(&mut self, message: impl Into<String>) {
        self.report
            .warn(&self.profile, Some(self.object.clone()), message);
    }

    pub fn note_code(&mut self, code: Code, message: impl Into<String>) {
        self.report
            .note_code(code, &self.profile, Some(self.object.clone()), message);
    }

    pub fn warn_code(&mut self, code: Code, message: impl Into<String>) {
        self.report
            .warn_code(code, &self.profile, Some(self.object.clone()), message);
    }

    /// The failure this pod will meet unless the fix runs, and the fields that show it: what
    /// `diagnose` reports and `-p auto` decides by. `condition` is `None` for a definite
    /// failure, else the clusters it happens on.
    pub fn predict(
        &mut self,
        failure: &'static str,
        evidence: impl Into<String>,
        condition: Option<String>,
    ) {
        let certainty = match condition {
            None => Certainty::Definite,
            Some(_) => Certainty::Conditional,
        };
        self.report.predict(
            failure,
            &self.profile,
            &self.object,
            certainty,
            evidence,
            condition,
        );
    }

    /// A copy of the pod's document to change: what `fixed` will be.
    pub fn start(view: &PodView) -> Value {
        view.doc.clone()
    }

    /// Keep `fixed` as the planned document when it differs from the pod's.
    pub fn set_fixed(&mut self, view: &PodView, fixed: Value) {
        if fixed != *view.doc {
            self.fixed = Some(fixed);
        }
    }
}

/// What [`PodFix::plan`] gets for one pod: the fix's settings, what it surveyed, the pod, and
/// the selection and profile name it runs under.
pub struct Planning<'a, F: PodFix> {
    pub settings: &'a F::Settings,
    pub survey: &'a mut F::Survey,
    pub view: &'a PodView<'a>,
    pub sel: &'a Selection,
    pub profile: &'a str,
    /// What the user told about the cluster (`--assume`), which settles conditional failures.
    pub assume: &'a Assume,
}

/// A fix that works pod by pod.
pub trait PodFix: Fix + Sized {
    /// What the fix reads from the whole stream before any pod (Pod Security levels, ...) and
    /// gathers over the pods for the notes it gives at the end.
    type Survey;

    fn survey(&self, settings: &Self::Settings, docs: &Docs, ctx: &mut Ctx) -> Self::Survey;

    /// What the fix would do to one pod, without doing it. An `Err` is a conflict the user must
    /// resolve (exit 3).
    fn plan(&self, at: Planning<'_, Self>) -> Result<Findings, UsageError>;

    /// Whether [`PodFix::finish`] edits documents. When it does not (it only sums the pods up
    /// in notes), [`foresee`] plans every pod straight from the documents without a copy of the
    /// stream and gives `finish` none.
    const FINISH_EDITS: bool = false;

    /// After every pod: steps over the whole stream and the notes that sum the pods up.
    fn finish(
        &self,
        _settings: &Self::Settings,
        _survey: Self::Survey,
        _docs: &mut Docs,
        _ctx: &mut Ctx,
    ) -> Result<(), UsageError> {
        Ok(())
    }
}

/// The fix's plans for document `i`, part by part (each part sees the document as the parts
/// before left it); the notes go to `report`, and the result is the changed document, if any.
fn plan_doc<F: PodFix>(
    fix: &F,
    settings: &F::Settings,
    survey: &mut F::Survey,
    docs: &Docs,
    i: usize,
    ctx: &Ctx,
    report: &mut Report,
) -> Result<Option<Value>, UsageError> {
    let d = docs.get(i);
    let mut current: Option<Value> = None;
    for (pointer, part) in workload::pod_parts(&d.id, &d.value) {
        let doc = current.as_ref().unwrap_or(&d.value);
        let Some(pod) = doc.pointer(&pointer).and_then(Value::as_object) else {
            continue;
        };
        let view = PodView {
            id: &d.id,
            cr: CrKind::of(&d.id),
            doc,
            pod,
            pointer: &pointer,
            part: part.as_deref(),
            raised: docs.raised(i),
            changed_by: docs.changed_by(i),
        };
        let found = fix.plan(Planning {
            settings,
            survey,
            view: &view,
            sel: ctx.sel,
            profile: ctx.profile,
            assume: ctx.assume,
        })?;
        report.absorb(found.report);
        if let Some(fixed) = found.fixed {
            current = Some(fixed);
        }
    }
    Ok(current)
}

/// What [`drive`] would do, with nothing stored: the findings go to `ctx.report`, and for each
/// pod the fix would change, the fields an installed release cannot change. Only for a fix whose
/// `finish` edits nothing ([`PodFix::FINISH_EDITS`]): it gets an empty stream.
pub fn foresee<F: PodFix>(
    fix: &F,
    settings: &F::Settings,
    docs: &Docs,
    ctx: &mut Ctx,
) -> Result<Vec<(usize, Vec<String>)>, UsageError> {
    let mut survey = fix.survey(settings, docs, ctx);
    let mut out = Vec::new();
    for i in docs.pods(ctx.sel) {
        let mut report = Report::default();
        let fixed = plan_doc(fix, settings, &mut survey, docs, i, ctx, &mut report)?;
        ctx.report.absorb(report);
        if let Some(fixed) = fixed {
            let d = docs.get(i);
            out.push((i, crate::immutable::changes(&d.id, &d.value, &fixed)));
        }
    }
    fix.finish(settings, survey, &mut Docs::default(), ctx)?;
    Ok(out)
}

/// Run a pod-level fix over the pods `ctx.sel` selects: what [`super::Configured::apply`] does for it.
pub fn drive<F: PodFix>(
    fix: &F,
    settings: &F::Settings,
    docs: &mut Docs,
    ctx: &mut Ctx,
) -> Result<(), UsageError> {
    let mut survey = fix.survey(settings, docs, ctx);
    for i in docs.pods(ctx.sel) {
        let mut report = Report::default();
        let fixed = plan_doc(fix, settings, &mut survey, docs, i, ctx, &mut report)?;
        ctx.report.absorb(report);
        if let Some(fixed) = fixed {
            *docs.edit(i) = fixed;
        }
    }
    fix.finish(settings, survey, docs, ctx)
}
