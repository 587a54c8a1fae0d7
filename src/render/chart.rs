//! The report's charts, as SVG (drawn with `plotters`' SVG backend): the new
//! colour's share of production over the run, and for each metric gate the
//! judged colour's and the baseline's values per window with its limits
//! drawn, the weight steps shaded and the failing minutes marked. Plain
//! SVG: no script, no fonts or images fetched, so a browser shows it from
//! a file, an artifact or inside report.html.

use crate::model::report::{Evaluation, Report};
use crate::model::{format_hour_minute, format_timestamp, Color, Timestamp};
use plotters::prelude::*;
use plotters::style::Color as _;
use std::collections::BTreeMap;

const SIZE: (u32, u32) = (960, 320);
const FAIL: RGBColor = RGBColor(214, 39, 40);
const LIMIT: RGBColor = RGBColor(148, 103, 189);
const BAND: RGBColor = RGBColor(120, 120, 120);

/// One chart: its file name (in the report folder) and the SVG.
pub struct Chart {
    pub file: String,
    pub title: String,
    pub svg: String,
}

/// Every chart the report has data for: the weights (when the run shifted
/// production), then one per metric gate judged.
pub fn charts(r: &Report) -> Vec<Chart> {
    let mut out = vec![];
    let shares = shares(r);
    if shares.len() > 1 {
        if let Some(svg) = weights_chart(r, &shares) {
            out.push(svg);
        }
    }
    for (i, (gate, evals)) in by_gate(&r.evaluations).into_iter().enumerate() {
        if let Some(svg) = gate_chart(r, &shares, &gate, &evals, i + 1) {
            out.push(svg);
        }
    }
    out
}

/// The new colour's share of production from the run's start: each
/// shifting step's weights from when it ended (read back), and where
/// production was at the end.
pub fn shares(r: &Report) -> Vec<(Timestamp, u32)> {
    // A rollback is one flip: there are no steps to draw.
    let (Some(_), Some(to), false) = (r.from, r.to, r.kind == "rollback") else {
        return vec![];
    };
    let mut out = vec![(r.started_at, 0)];
    for s in &r.steps {
        if let Some(w) = s.weights {
            out.push((s.ended_at.unwrap_or(s.started_at), w.share(to)));
        }
    }
    if let Some(o) = &r.outcome {
        if let Some(w) = o.weights {
            out.push((o.ended_at, w.share(to)));
        } else if let Some(&(_, last)) = out.last() {
            out.push((o.ended_at, last));
        }
    }
    out
}

/// Each gate's evaluations in the order first judged, one per window (a
/// window judged twice keeps its last verdict). Gates are told apart by
/// name and settings: two gates of one name are two charts.
fn by_gate(all: &[Evaluation]) -> Vec<(String, Vec<&Evaluation>)> {
    let mut order: Vec<(&str, &str)> = vec![];
    type Windows<'e> = BTreeMap<(Timestamp, Timestamp), &'e Evaluation>;
    let mut windows: BTreeMap<(&str, &str), Windows> = BTreeMap::new();
    for e in all {
        let key = (e.gate.as_str(), e.described.as_str());
        if !order.contains(&key) {
            order.push(key);
        }
        windows
            .entry(key)
            .or_default()
            .insert((e.window_start, e.window_end), e);
    }
    order
        .into_iter()
        .map(|key| (key.0.to_string(), windows[&key].values().copied().collect()))
        .collect()
}

fn line_colour(c: Color) -> RGBColor {
    match c {
        Color::Blue => RGBColor(31, 119, 180),
        Color::Green => RGBColor(44, 160, 44),
    }
}

/// The run's span on the time axis, with the windows judged inside it.
fn span(r: &Report, shares: &[(Timestamp, u32)], evals: &[&Evaluation]) -> (Timestamp, Timestamp) {
    let times = shares
        .iter()
        .map(|s| s.0)
        .chain(evals.iter().flat_map(|e| [e.window_start, e.window_end]))
        .chain([r.started_at]);
    let (lo, hi) = times.fold((Timestamp::MAX, Timestamp::MIN), |(lo, hi), t| {
        (lo.min(t), hi.max(t))
    });
    (lo, hi.max(lo + 60))
}

/// The time axis's labels: with seconds when the run is short enough that
/// two labels would otherwise read the same minute.
fn axis_time(x0: Timestamp, x1: Timestamp) -> impl Fn(&Timestamp) -> String {
    move |t| {
        if x1 - x0 > 20 * 60 {
            return format_hour_minute(*t);
        }
        let s = format_timestamp(*t);
        s.get(11..19).unwrap_or(&s).to_string()
    }
}

fn weights_chart(r: &Report, shares: &[(Timestamp, u32)]) -> Option<Chart> {
    let to = r.to?;
    let from = r.from?;
    let (x0, x1) = span(r, shares, &[]);
    let title = format!("{to}'s share of production");
    let svg = draw(&title, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(&title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(x0..x1, 0u32..100u32)?;
        chart
            .configure_mesh()
            .x_label_formatter(&axis_time(x0, x1))
            .y_label_formatter(&|v| format!("{v}%"))
            .x_desc("UTC")
            .draw()?;
        chart
            .draw_series(LineSeries::new(
                stairs(shares),
                line_colour(to).stroke_width(3),
            ))?
            .label(format!("{to} (new)"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], line_colour(to)));
        let back: Vec<_> = stairs(shares)
            .into_iter()
            .map(|(t, s)| (t, 100 - s))
            .collect();
        chart
            .draw_series(LineSeries::new(back, line_colour(from).stroke_width(2)))?
            .label(format!("{from}"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], line_colour(from)));
        legend(&mut chart)
    })?;
    Some(Chart {
        file: "weights.svg".into(),
        title,
        svg,
    })
}

/// A share held until the next one: the points of a step line.
fn stairs(shares: &[(Timestamp, u32)]) -> Vec<(Timestamp, u32)> {
    let mut out = vec![];
    for (i, &(t, s)) in shares.iter().enumerate() {
        if i > 0 {
            out.push((t, shares[i - 1].1));
        }
        out.push((t, s));
    }
    out
}

/// An evaluation's numbers in the chart's unit (percent, milliseconds, or
/// the custom value as it is): judged colour, baseline, and the limit that
/// applied to this window (the lowest of the ceiling and the relative ones).
/// Which of a point's numbers a line draws.
type Pick = fn(&Point) -> Option<f64>;

struct Point {
    start: Timestamp,
    end: Timestamp,
    value: Option<f64>,
    baseline: Option<f64>,
    limit: Option<f64>,
    failed: bool,
}

fn scale(unit: &str) -> (f64, &'static str) {
    match unit {
        "fraction" => (100.0, "%"),
        "seconds" => (1000.0, " ms"),
        _ => (1.0, ""),
    }
}

fn point(e: &Evaluation) -> Point {
    let (k, _) = scale(&e.unit);
    let baseline = e.blue.as_ref().map(|b| b.value);
    let relative = [
        baseline
            .zip(e.limits.max_above_baseline)
            .map(|(b, a)| b + a),
        baseline.zip(e.limits.max_ratio).map(|(b, m)| b * m),
    ];
    let limit = relative
        .into_iter()
        .flatten()
        .chain(e.limits.max)
        .reduce(f64::min);
    Point {
        start: e.window_start,
        end: e.window_end,
        value: e.green.map(|g| g.value * k),
        baseline: baseline.map(|b| b * k),
        limit: limit.map(|l| l * k),
        failed: e.verdict == "fail",
    }
}

/// A line through the windows that have a value, broken where one has none
/// or windows are missing: no line is drawn across minutes not judged.
fn runs(points: &[Point], pick: impl Fn(&Point) -> Option<f64>) -> Vec<Vec<(Timestamp, f64)>> {
    let mut out: Vec<Vec<(Timestamp, f64)>> = vec![];
    let mut last_end = None;
    for p in points {
        let mid = (p.start + p.end) / 2;
        match pick(p) {
            Some(v) if last_end.is_some_and(|e: Timestamp| p.start <= e) => {
                out.last_mut().expect("a run").push((mid, v));
            }
            Some(v) => out.push(vec![(mid, v)]),
            None => {
                last_end = None;
                continue;
            }
        }
        last_end = Some(p.end);
    }
    out
}

// Long: one chart's layers in the order drawn (bands, bad minutes, lines,
// marks, legend), each a few lines.
fn gate_chart(
    r: &Report,
    shares: &[(Timestamp, u32)],
    gate: &str,
    evals: &[&Evaluation],
    n: usize,
) -> Option<Chart> {
    let first = evals.first()?;
    let (k, suffix) = scale(&first.unit);
    let judged = first.color;
    let points: Vec<Point> = evals.iter().map(|e| point(e)).collect();
    let top = points
        .iter()
        .flat_map(|p| [p.value, p.baseline, p.limit])
        .flatten()
        .fold(0.0_f64, f64::max);
    // Headroom over the highest value drawn: plotters pins what is out of
    // range to the edge, which would hide a spike.
    let y1 = if top > 0.0 { top * 1.25 } else { k.max(1.0) };
    let (x0, x1) = span(r, shares, evals);
    let title = format!("{gate}: {judged} per window, {}", first.described);
    let svg = draw(&title, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(&title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, 0f64..y1)?;
        chart
            .configure_mesh()
            .x_label_formatter(&axis_time(x0, x1))
            .y_label_formatter(&|v| format!("{}{suffix}", trim(*v)))
            .x_desc("UTC (each point is a window's middle)")
            .draw()?;
        let bands = bands(shares, x1);
        chart.draw_series(bands.iter().map(|&(a, b, s)| {
            let shade = BAND.mix(0.04 + 0.2 * f64::from(s) / 100.0);
            Rectangle::new([(a, 0.0), (b, y1)], shade.filled())
        }))?;
        chart.draw_series(bands.iter().map(|&(a, _, s)| {
            Text::new(format!("{s}%"), (a, y1), ("sans-serif", 12).into_font())
        }))?;
        chart.draw_series(
            points
                .iter()
                .filter(|p| p.failed)
                .map(|p| Rectangle::new([(p.start, 0.0), (p.end, y1)], FAIL.mix(0.15).filled())),
        )?;
        let series: [(&str, RGBColor, Pick); 3] = [
            ("limit", LIMIT, |p| p.limit),
            ("baseline", line_colour(judged.other()), |p| p.baseline),
            ("judged", line_colour(judged), |p| p.value),
        ];
        for (name, colour, pick) in series {
            let label = match name {
                "limit" => "limit".to_string(),
                "baseline" => format!("{} (baseline)", judged.other()),
                _ => format!("{judged} (new)"),
            };
            for (i, run) in runs(&points, pick).into_iter().enumerate() {
                let dots = run.clone();
                chart.draw_series(dots.into_iter().map(|c| Circle::new(c, 3, colour.filled())))?;
                let s = chart.draw_series(LineSeries::new(run, colour.stroke_width(2)))?;
                if i == 0 {
                    s.label(label.clone()).legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(2))
                    });
                }
            }
        }
        chart.draw_series(points.iter().filter(|p| p.failed).filter_map(|p| {
            let at = ((p.start + p.end) / 2, p.value?);
            Some(Circle::new(at, 6, FAIL.stroke_width(2)))
        }))?;
        legend(&mut chart)
    })?;
    Some(Chart {
        file: format!("gate-{n}-{}.svg", slug(gate)),
        title,
        svg,
    })
}

/// The weight steps as bands, darker as more traffic is on the new
/// colour: (from, to, share) for each step with some.
fn bands(shares: &[(Timestamp, u32)], x1: Timestamp) -> Vec<(Timestamp, Timestamp, u32)> {
    shares
        .iter()
        .enumerate()
        .filter(|(_, s)| s.1 > 0)
        .map(|(i, &(t, s))| (t, shares.get(i + 1).map_or(x1, |n| n.0), s))
        .filter(|(a, b, _)| b > a)
        .collect()
}

/// The series' names in a box at the upper left.
fn legend<'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, CT>,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// A number without trailing zeros: 0.5, 12, 1.25.
fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn slug(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    out.trim_matches('-').to_string()
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
type DrawResult = Result<(), Box<dyn std::error::Error + 'static>>;

/// Draws into a fresh SVG string; a chart that fails to draw is left out
/// (the report's tables and rollout.json still hold its numbers).
fn draw(title: &str, f: impl FnOnce(&Area) -> DrawResult) -> Option<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(|e| e.to_string().into())
            .and_then(|()| f(&root))
            .and_then(|()| root.present().map_err(|e| e.to_string().into()));
        if let Err(e) = drawn {
            tracing::warn!("the chart {title:?} could not be drawn: {e}");
            return None;
        }
    }
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::report::{ReportLimits, ReportOutcome, ReportStep, WindowValue};
    use crate::model::Weights;

    fn eval(start: Timestamp, value: Option<f64>, verdict: &str) -> Evaluation {
        Evaluation {
            at: start + 180,
            gate: "error_rate".into(),
            described: "metric error_rate (max 1%)".into(),
            color: Color::Green,
            weight: 10,
            window_start: start,
            window_end: start + 60,
            unit: "fraction".into(),
            green: value.map(|value| WindowValue {
                requests: 600.0,
                value,
            }),
            blue: None,
            limits: ReportLimits {
                max: Some(0.01),
                ..ReportLimits::default()
            },
            verdict: verdict.into(),
            why: None,
            text: String::new(),
        }
    }

    #[test]
    fn a_line_breaks_where_a_window_had_no_value_or_none_was_judged() {
        let points: Vec<Point> = [
            eval(0, Some(0.0), "pass"),
            eval(60, Some(0.001), "pass"),
            eval(120, None, "no_evidence"),
            eval(180, Some(0.0), "pass"),
            eval(300, Some(0.05), "fail"),
        ]
        .iter()
        .map(point)
        .collect();
        let runs = runs(&points, |p| p.value);
        let lens: Vec<usize> = runs.iter().map(Vec::len).collect();
        assert_eq!(lens, [2, 1, 1]);
        // In percent, at each window's middle.
        assert_eq!(runs[2], [(330, 5.0)]);
    }

    #[test]
    fn the_new_colours_share_follows_the_steps_and_ends_where_production_was_read() {
        let step = |i, at, w: Option<u32>| ReportStep {
            index: i,
            total: 3,
            what: String::new(),
            started_at: at,
            ended_at: Some(at + 1),
            detail: None,
            weights: w.map(|g| Weights::split(Color::Green, g)),
            notes: vec![],
        };
        let r = Report {
            from: Some(Color::Blue),
            to: Some(Color::Green),
            started_at: 100,
            steps: vec![
                step(1, 110, None),
                step(2, 120, Some(10)),
                step(3, 200, Some(50)),
            ],
            outcome: Some(ReportOutcome {
                result: "rolled_back".into(),
                exit_code: 3,
                said: String::new(),
                ended_at: 400,
                weights: Some(Weights::all_on(Color::Blue)),
                active: Some(Color::Blue),
            }),
            ..Report::default()
        };
        assert_eq!(shares(&r), [(100, 0), (121, 10), (201, 50), (400, 0)]);
        assert_eq!(bands(&shares(&r), 400), [(121, 201, 10), (201, 400, 50)]);
        let all = charts(&Report {
            evaluations: vec![eval(130, Some(0.0), "pass"), eval(190, Some(0.05), "fail")],
            ..r
        });
        let files: Vec<&str> = all.iter().map(|c| c.file.as_str()).collect();
        assert_eq!(files, ["weights.svg", "gate-1-error-rate.svg"]);
        // The failed window is shaded in the failure's red.
        assert!(all[1].svg.contains(r##"fill="#D62728""##));
    }
}
