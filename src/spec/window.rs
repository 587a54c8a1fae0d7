//! `[rollout] window`: the days and hours, in an IANA time zone, when a
//! release may be deployed ("Mon-Fri", "09:00-16:00", "Europe/Berlin").
//! Time zones come from `jiff`'s own copy of the IANA database (not the
//! machine's), so daylight saving is right wherever cutover runs.

use crate::model::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Monday first.
    pub days: [bool; 7],
    /// Minutes after midnight, local time: open from `from` until `to`.
    pub from: u16,
    pub to: u16,
    pub timezone: String,
    /// As the plan file says it: "Mon-Fri 09:00-16:00 Europe/Berlin".
    pub text: String,
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

impl Window {
    fn zone(&self) -> TimeZone {
        TimeZone::get(&self.timezone).unwrap_or(TimeZone::UTC)
    }

    /// Whether `now` falls inside the window.
    pub fn is_open(&self, now: Timestamp) -> bool {
        let Ok(at) = jiff::Timestamp::from_second(now) else {
            return false;
        };
        let local = at.to_zoned(self.zone());
        let day = local.weekday().to_monday_zero_offset() as usize;
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        self.days[day] && self.from <= minute && minute < self.to
    }

    /// When the window next opens after `now` (seconds), if it ever does.
    pub fn next_open(&self, now: Timestamp) -> Option<Timestamp> {
        let zone = self.zone();
        let today: Date = jiff::Timestamp::from_second(now)
            .ok()?
            .to_zoned(zone.clone())
            .date();
        let opens = Time::new((self.from / 60) as i8, (self.from % 60) as i8, 0, 0).ok()?;
        (0..=7).find_map(|d| {
            let date = today.checked_add(jiff::Span::new().days(d)).ok()?;
            if !self.days[date.weekday().to_monday_zero_offset() as usize] {
                return None;
            }
            // A time that daylight saving skips is taken as the moment
            // after the gap (jiff's "compatible" disambiguation).
            let at = date.to_datetime(opens).to_zoned(zone.clone()).ok()?;
            let secs = at.timestamp().as_second();
            (secs > now).then_some(secs)
        })
    }

    /// "2026-12-07 09:00 CET (08:00 UTC)".
    pub fn local_time(&self, t: Timestamp) -> String {
        let Ok(at) = jiff::Timestamp::from_second(t) else {
            return crate::model::format_timestamp(t);
        };
        let local = at.to_zoned(self.zone());
        format!(
            "{} {} ({} UTC)",
            local.strftime("%Y-%m-%d %H:%M"),
            local.strftime("%Z"),
            crate::model::format_hour_minute(t)
        )
    }
}

/// "Mon-Fri", "Sat,Sun", "Mon-Wed,Fri", "Fri-Mon" (wrapping): the days, Monday first.
pub fn parse_days(s: &str) -> Result<[bool; 7], String> {
    let day = |d: &str| {
        DAYS.iter()
            .position(|x| x.eq_ignore_ascii_case(d.trim()))
            .ok_or_else(|| {
                format!(
                    "{:?} is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)",
                    d.trim()
                )
            })
    };
    let mut days = [false; 7];
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                let mut d = a;
                loop {
                    days[d] = true;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days[day(part)?] = true,
        }
    }
    Ok(days)
}

/// "09:00-16:00": minutes after midnight, the start before the end.
pub fn parse_hours(s: &str) -> Result<(u16, u16), String> {
    let time = |t: &str| -> Result<u16, String> {
        let t = t.trim();
        let bad = || format!("{t:?} is not a time of day as HH:MM (00:00–24:00)");
        let (h, m) = t.split_once(':').ok_or_else(bad)?;
        let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if m > 59 || h > 24 || (h == 24 && m > 0) || t.len() != 5 {
            return Err(bad());
        }
        Ok(h * 60 + m)
    };
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("{s:?} is not a span of hours like \"09:00-16:00\""))?;
    let (from, to) = (time(a)?, time(b)?);
    if from >= to {
        return Err(format!(
            "{s:?} ends before it starts: a window is one span within a day (\"22:00-24:00\" with the next day's \"00:00-02:00\" cannot be one window)"
        ));
    }
    Ok((from, to))
}

/// Whether `name` is an IANA time zone jiff knows.
pub fn known_zone(name: &str) -> bool {
    TimeZone::get(name).is_ok()
}

/// The known time zone most like a misspelt `name`, when one is close.
pub fn closest_zone(name: &str) -> Option<String> {
    jiff::tz::db()
        .available()
        .map(|n| n.to_string())
        .map(|n| {
            (
                strsim::jaro_winkler(&n.to_lowercase(), &name.to_lowercase()),
                n,
            )
        })
        .filter(|(score, _)| *score > 0.9)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> Window {
        Window {
            days: parse_days("Mon-Fri").unwrap(),
            from: 9 * 60,
            to: 16 * 60,
            timezone: "Europe/Berlin".into(),
            text: "Mon-Fri 09:00-16:00 Europe/Berlin".into(),
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse::<jiff::Timestamp>().unwrap().as_second()
    }

    #[test]
    fn open_on_weekdays_in_berlin_hours_with_daylight_saving_right() {
        let w = berlin();
        // Winter (CET, UTC+1): 09:00 Berlin is 08:00 UTC.
        assert!(!w.is_open(at("2026-12-07T07:59:00Z")));
        assert!(w.is_open(at("2026-12-07T08:00:00Z")));
        assert!(!w.is_open(at("2026-12-07T15:00:00Z")));
        // Summer (CEST, UTC+2): 09:00 Berlin is 07:00 UTC.
        assert!(w.is_open(at("2026-07-06T07:00:00Z")));
        assert!(!w.is_open(at("2026-07-06T14:00:00Z")));
        // Saturday.
        assert!(!w.is_open(at("2026-12-05T10:00:00Z")));
        // Friday evening: next Monday 09:00 Berlin.
        assert_eq!(
            w.next_open(at("2026-12-04T17:00:00Z")),
            Some(at("2026-12-07T08:00:00Z"))
        );
        // Across the spring change (29 March 2026): Friday 27th after hours
        // opens Monday 30th 09:00 CEST = 07:00 UTC.
        assert_eq!(
            w.next_open(at("2026-03-27T16:00:00Z")),
            Some(at("2026-03-30T07:00:00Z"))
        );
        assert_eq!(
            w.local_time(at("2026-12-07T08:00:00Z")),
            "2026-12-07 09:00 CET (08:00 UTC)"
        );
    }

    #[test]
    fn days_and_hours_parse_or_say_what_is_wrong() {
        assert_eq!(
            parse_days("Fri-Mon").unwrap(),
            [true, false, false, false, true, true, true]
        );
        assert_eq!(
            parse_days("sat, sun").unwrap(),
            [false, false, false, false, false, true, true]
        );
        assert!(parse_days("Mon-Fry")
            .unwrap_err()
            .contains("\"Fry\" is not a day"));
        assert_eq!(parse_hours("09:00-16:30"), Ok((540, 990)));
        assert_eq!(parse_hours("00:00-24:00"), Ok((0, 1440)));
        assert!(parse_hours("16:00-09:00")
            .unwrap_err()
            .contains("ends before it starts"));
        assert!(parse_hours("9-16").is_err());
        assert!(known_zone("Europe/Berlin") && !known_zone("Europe/Berlim"));
    }
}
