//! Which colour is live. The SSM parameter says, unless it is missing or
//! contradicts the production listener, which carries the traffic and is
//! believed: never shift live traffic abruptly because a parameter was
//! deleted or edited.

use super::{step, Builder, PlanError};
use crate::model::plan::{Action, ChangeAction, FieldChange, Note, Resource, Scope};
use crate::model::reason::Reason;
use crate::model::{Color, Release, Weights};

/// The live colour, recording a correction of the parameter when it is
/// missing or wrong; `None` before the first deploy.
pub(super) fn active_colour(
    b: &mut Builder,
    release: &Release,
) -> Result<Option<Color>, PlanError> {
    let obs = b.obs;
    let prod = obs.weights_at(b.spec.production.weights_at());
    if let Some(o) = misrecorded(b, prod, release) {
        let note = Note::ActiveCorrected {
            parameter: b.spec.state_parameter.clone(),
            color: o,
        };
        record_corrected(b, o, note, Some(o.other()));
        return Ok(Some(o));
    }
    let active = match &obs.active {
        Some(a) => Some(a.color),
        None => match prod.filter(|w| w.blue + w.green > 0) {
            None => None,
            Some(w) => {
                let c = infer_active(b, w, release)?;
                let note = Note::ActiveInferred {
                    parameter: b.spec.state_parameter.clone(),
                    color: c,
                };
                record_corrected(b, c, note, None);
                Some(c)
            }
        },
    };
    check_unfinished_rollback(b, prod, release)?;
    Ok(active)
}

/// The parameter names a colour with no production traffic while the other,
/// running the plan's release, has it all, and is not the newer release of
/// an interrupted shift: the parameter is what is wrong. Returns the colour
/// that is really live.
fn misrecorded(b: &Builder, prod: Option<Weights>, release: &Release) -> Option<Color> {
    let obs = b.obs;
    let (a, w) = (obs.active.as_ref()?.color, prod?);
    let o = a.other();
    let version = |c: Color| {
        obs.fleets
            .get(c)
            .as_ref()
            .and_then(|f| f.launch_template_version)
    };
    let o_newer = matches!((version(o), version(a)), (Some(vo), Some(va)) if vo > va);
    (w.get(a) == 0
        && w.get(o) > 0
        && obs.release_of(o) == Some(release.fingerprint.as_str())
        && !o_newer)
        .then_some(o)
}

/// A parameter naming one colour while production is all on the other,
/// which runs another release than the plan's: a rollback whose parameter
/// update failed. Re-promoting by plan would undo it: refuse.
fn check_unfinished_rollback(
    b: &Builder,
    prod: Option<Weights>,
    release: &Release,
) -> Result<(), PlanError> {
    let obs = b.obs;
    if let (Some(a), Some(w)) = (obs.active.as_ref().map(|a| a.color), prod) {
        let o = a.other();
        if w.get(a) == 0 && w.get(o) > 0 && obs.release_of(o) != Some(release.fingerprint.as_str())
        {
            return Err(PlanError::ActiveDisagrees {
                parameter: a,
                listener: o,
            });
        }
    }
    Ok(())
}

/// Records `c` as active because the parameter is missing (`was` = None) or
/// wrong: the listener, which carries the traffic, is what is believed.
fn record_corrected(b: &mut Builder, c: Color, note: Note, was: Option<Color>) {
    let parameter = b.spec.state_parameter.clone();
    b.notes.push(note);
    b.in_scope(Scope::Repair, |b| {
        let change = b.change(
            ChangeAction::Update,
            Resource::ActiveColour {
                parameter: parameter.clone(),
            },
            vec![FieldChange::new(
                crate::model::key::Key::ParameterValue,
                was.map(|w| w.to_string()),
                Some(c.to_string()),
            )],
            Reason::RecordServing,
        );
        b.decide(
            Some(change),
            [step(
                Action::RecordActive {
                    parameter,
                    color: c,
                },
                Reason::ParameterDisagrees,
            )],
        );
    });
}

/// The live colour when the parameter is missing: the only one with traffic,
/// or, mid-shift, the one not running the plan's release.
fn infer_active(b: &Builder, w: Weights, release: &Release) -> Result<Color, PlanError> {
    match (w.blue > 0, w.green > 0) {
        (true, false) => Ok(Color::Blue),
        (false, true) => Ok(Color::Green),
        _ => {
            let old: Vec<Color> = Color::ALL
                .into_iter()
                .filter(|c| b.obs.release_of(*c) != Some(release.fingerprint.as_str()))
                .collect();
            match old.as_slice() {
                [c] => Ok(*c),
                _ => Err(PlanError::AmbiguousActive {
                    blue: w.share(Color::Blue),
                    green: w.share(Color::Green),
                }),
            }
        }
    }
}
