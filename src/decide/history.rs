//! `cutover history` as data: each release's story from the release log,
//! the launch template's versions and the fleets' marks. Pure.

use crate::model::history::{
    Built, Happened, History, LogEntry, LogEvent, ReleaseHistory, HISTORY_VERSION,
};
use crate::model::observed::Observed;
use crate::model::{Color, Timestamp, Weights};
use std::collections::BTreeMap;

/// What `history` read besides the live state.
pub struct Read {
    /// The log's versions, oldest first (values cutover did not write are
    /// left out).
    pub log: Vec<LogEntry>,
    pub built: Vec<Built>,
    pub notes: Vec<String>,
}

pub fn history(app: &str, read: Read, obs: &Observed, production: Option<Weights>) -> History {
    let mut by_release: BTreeMap<String, ReleaseHistory> = BTreeMap::new();
    for b in &read.built {
        let h = slot(&mut by_release, &b.release);
        h.version = Some(b.version);
        h.image = b.image.clone();
        h.built_at = b.at;
    }
    for e in dedup(&read.log) {
        let Some(release) = &e.release else { continue };
        let h = slot(&mut by_release, release);
        h.color = Some(e.color);
        match e.event {
            LogEvent::Live => h.went_live.push(Happened {
                at: e.at,
                why: e.why.clone(),
            }),
            LogEvent::RolledBack => h.rolled_back.push(Happened {
                at: e.at,
                why: e.why.clone(),
            }),
        }
    }
    // A mark whose log entry was never written (an older cutover, or a
    // write that failed) is a rollback all the same, unless the release is
    // on the active colour: a mark goes out with the flip (on the safe
    // side), and a flip that did not land left it on a release that is
    // live.
    let active = obs.active.as_ref().map(|a| a.color);
    let live_release = active.and_then(|c| obs.fleets.get(c).as_ref()?.release.clone());
    for color in [Color::Blue, Color::Green] {
        let Some(fleet) = obs.fleets.get(color).as_ref() else {
            continue;
        };
        if let Some((release, at)) = &fleet.rolled_back {
            if live_release.as_ref() == Some(release) {
                continue;
            }
            let h = slot(&mut by_release, release);
            h.color.get_or_insert(color);
            if !h.rolled_back.iter().any(|r| (r.at - at).abs() <= 60) {
                h.rolled_back.push(Happened {
                    at: *at,
                    why: fleet.rolled_back_why.clone(),
                });
                h.rolled_back.sort_by_key(|r| r.at);
            }
        }
    }
    let running = running(obs, production);
    let mut releases: Vec<ReleaseHistory> = by_release
        .into_values()
        .map(|mut h| {
            let (state, share) = now(&h, &running, obs);
            h.now = state.into();
            h.share = share;
            h
        })
        .collect();
    releases.sort_by_key(|h| std::cmp::Reverse((last(h), h.version)));
    History {
        history_version: HISTORY_VERSION,
        app: app.to_string(),
        releases,
        notes: read.notes,
    }
}

fn slot<'a>(by: &'a mut BTreeMap<String, ReleaseHistory>, r: &str) -> &'a mut ReleaseHistory {
    by.entry(r.to_string()).or_insert_with(|| ReleaseHistory {
        release: r.to_string(),
        version: None,
        image: None,
        built_at: None,
        color: None,
        went_live: vec![],
        rolled_back: vec![],
        now: String::new(),
        share: None,
    })
}

/// The same entry written twice (a write sent again after its answer was
/// lost) counts once.
fn dedup(log: &[LogEntry]) -> Vec<&LogEntry> {
    let mut out: Vec<&LogEntry> = vec![];
    for e in log {
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

/// What each colour's fleet runs now: (colour, release, share of
/// production, held mark's release).
type Running = Vec<(Color, String, Option<u32>, bool)>;

fn running(obs: &Observed, production: Option<Weights>) -> Running {
    [Color::Blue, Color::Green]
        .into_iter()
        .filter_map(|c| {
            let fleet = obs.fleets.get(c).as_ref()?;
            let release = fleet.release.clone()?;
            let held = fleet.held.as_ref().is_some_and(|(r, _)| *r == release);
            Some((c, release, production.map(|w| w.share(c)), held))
        })
        .collect()
}

/// Where a release stands now, and its share of production when a fleet
/// runs it.
fn now(h: &ReleaseHistory, running: &Running, obs: &Observed) -> (&'static str, Option<u32>) {
    let active = obs.active.as_ref().map(|a| a.color);
    let last_live = h.went_live.iter().map(|l| l.at).max();
    let last_back = h.rolled_back.iter().map(|r| r.at).max();
    let rolled_back = last_back.is_some() && last_back >= last_live;
    let on = running.iter().find(|(_, r, _, _)| *r == h.release);
    if let Some(&(c, _, share, held)) = on {
        let state = match () {
            _ if Some(c) == active => "live",
            _ if held => "held",
            _ if share.is_some_and(|s| s > 0) => "shifting",
            _ if rolled_back => "rolled_back",
            _ if last_live.is_some() => "replaced",
            // Built onto the idle colour, no traffic: paused for
            // promotion, or a run that stopped before its shift.
            _ => "idle",
        };
        return (state, share);
    }
    let state = match () {
        _ if rolled_back => "rolled_back",
        _ if last_live.is_some() => "replaced",
        _ => "never_live",
    };
    (state, None)
}

/// The last thing that happened to a release.
fn last(h: &ReleaseHistory) -> Timestamp {
    h.went_live
        .iter()
        .map(|l| l.at)
        .chain(h.rolled_back.iter().map(|r| r.at))
        .chain(h.built_at)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(event: LogEvent, release: &str, at: Timestamp) -> LogEntry {
        LogEntry {
            event,
            release: Some(release.into()),
            color: Color::Green,
            at,
            why: (event == LogEvent::RolledBack).then(|| format!("why {release}")),
        }
    }

    fn built(version: i64, release: &str, at: Timestamp) -> Built {
        Built {
            version,
            release: release.into(),
            image: None,
            at: Some(at),
        }
    }

    #[test]
    fn each_release_says_what_became_of_it_newest_first_and_a_write_sent_twice_counts_once() {
        let read = Read {
            log: vec![
                log(LogEvent::Live, "a", 110),
                log(LogEvent::Live, "b", 210),
                log(LogEvent::RolledBack, "c", 320),
                // The answer to this one was lost: it was sent again.
                log(LogEvent::RolledBack, "c", 320),
            ],
            built: vec![
                built(1, "a", 100),
                built(2, "b", 200),
                built(3, "c", 300),
                built(4, "d", 400),
            ],
            notes: vec![],
        };
        let h = history("shop", read, &Observed::default(), None);
        let seen: Vec<(&str, &str)> = h
            .releases
            .iter()
            .map(|r| (r.release.as_str(), r.now.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("d", "never_live"),
                ("c", "rolled_back"),
                ("b", "replaced"),
                ("a", "replaced")
            ]
        );
        let c = &h.releases[1];
        assert_eq!(
            c.rolled_back,
            [Happened {
                at: 320,
                why: Some("why c".into())
            }]
        );
        assert_eq!(c.version, Some(3));
    }

    #[test]
    fn a_release_rolled_back_then_deployed_again_and_promoted_is_replaced_not_rolled_back() {
        let read = Read {
            log: vec![
                log(LogEvent::RolledBack, "a", 100),
                log(LogEvent::Live, "a", 200),
                log(LogEvent::Live, "b", 300),
            ],
            built: vec![],
            notes: vec![],
        };
        let h = history("shop", read, &Observed::default(), None);
        assert_eq!(h.releases[1].release, "a");
        assert_eq!(h.releases[1].now, "replaced");
    }
}
