//! The Values panel's model: each numeric field a decoder finds, with its latest value, min,
//! max and count, and a capped series of (time, value) points for the chart; CSV export.
//!
//! Memory stays flat: at most [`MAX_SERIES`] fields are followed and at most `max_points` points
//! per field are kept (the newest); what was let go is counted and said.

use crate::payload::decode::Decoded;
use std::collections::{BTreeMap, VecDeque};
use std::time::SystemTime;

/// Fields followed at once (a hostile JSON peer could name a new one per frame).
pub const MAX_SERIES: usize = 256;
/// Points kept per field unless told otherwise.
pub const DEFAULT_MAX_POINTS: usize = 1_000_000;

/// One numeric field over time.
#[derive(Clone, Debug, Default)]
pub struct Series {
    pub unit: Option<String>,
    pub latest: f64,
    pub min: f64,
    pub max: f64,
    /// Values seen (all of them, including points no longer kept).
    pub count: u64,
    /// (seconds since the first value of the panel, value), oldest first.
    pub points: VecDeque<[f64; 2]>,
    /// Oldest points let go to stay under the cap.
    pub dropped: u64,
    /// Drawn in the chart.
    pub charted: bool,
}

/// The panel's fields and chart settings.
#[derive(Debug)]
pub struct Values {
    pub series: BTreeMap<String, Series>,
    /// The time of point 0 (the first value seen).
    pub start: Option<SystemTime>,
    pub max_points: usize,
    /// Fields not followed because [`MAX_SERIES`] were already.
    pub untracked: u64,
    /// The chart stops following new points (zoom and drag freely).
    pub paused: bool,
    /// Seconds of the chart's moving window (0: everything kept).
    pub window_s: f64,
}

impl Default for Values {
    fn default() -> Self {
        Self {
            series: BTreeMap::new(),
            start: None,
            max_points: DEFAULT_MAX_POINTS,
            untracked: 0,
            paused: false,
            window_s: 60.0,
        }
    }
}

impl Values {
    /// Takes the numeric fields of a decoded frame that arrived at `time`.
    pub fn push(&mut self, time: SystemTime, decoded: &Decoded) {
        let start = *self.start.get_or_insert(time);
        let t = time
            .duration_since(start)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        for field in &decoded.fields {
            let Some(v) = field.value.as_f64().filter(|v| v.is_finite()) else {
                continue;
            };
            // The name is copied only for a field seen for the first time.
            if !self.series.contains_key(&field.name) {
                if self.series.len() >= MAX_SERIES {
                    self.untracked += 1;
                    continue;
                }
                self.series.insert(field.name.clone(), Series::default());
            }
            let Some(s) = self.series.get_mut(&field.name) else {
                continue;
            };
            if s.count == 0 {
                s.min = v;
                s.max = v;
                s.unit = field.unit.clone();
            }
            s.latest = v;
            s.min = s.min.min(v);
            s.max = s.max.max(v);
            s.count += 1;
            if s.points.len() >= self.max_points {
                s.points.pop_front();
                s.dropped += 1;
            }
            s.points.push_back([t, v]);
        }
    }

    /// Forgets every value (the fields stay ticked).
    pub fn clear(&mut self) {
        for s in self.series.values_mut() {
            let charted = s.charted;
            *s = Series {
                charted,
                ..Series::default()
            };
        }
        self.start = None;
        self.untracked = 0;
    }

    /// The kept points as CSV: a `time` column (RFC 3339, ms) and one column per field (the
    /// charted ones, or all when none is), one row per moment a value arrived.
    pub fn csv(&self) -> String {
        let charted: Vec<&String> = self
            .series
            .iter()
            .filter(|(_, s)| s.charted)
            .map(|(n, _)| n)
            .collect();
        let names: Vec<&String> = if charted.is_empty() {
            self.series.keys().collect()
        } else {
            charted
        };
        // Rows keyed by time (a frame's fields share it), in time order.
        let mut rows: BTreeMap<u64, Vec<Option<f64>>> = BTreeMap::new();
        for (col, name) in names.iter().enumerate() {
            for [t, v] in &self.series[*name].points {
                let key = (t * 1e6).round() as u64; // µs: exact for times the log shows
                rows.entry(key).or_insert_with(|| vec![None; names.len()])[col] = Some(*v);
            }
        }
        let mut out = String::from("time");
        for n in &names {
            out.push(',');
            out.push_str(&csv_cell(n));
        }
        out.push('\n');
        let start = self.start.unwrap_or(SystemTime::UNIX_EPOCH);
        for (us, cells) in rows {
            let time = start + std::time::Duration::from_micros(us);
            out.push_str(
                &chrono::DateTime::<chrono::Local>::from(time)
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, false),
            );
            for c in cells {
                out.push(',');
                if let Some(v) = c {
                    out.push_str(&v.to_string());
                }
            }
            out.push('\n');
        }
        out
    }
}

/// The chart of the ticked fields: pause, the moving window, the plot (each pixel column its
/// lowest and highest point). `salt` keeps each tab's plot apart.
pub fn chart_ui(
    ui: &mut eframe::egui::Ui,
    t: &crate::ui::i18n::Texts,
    values: &mut Values,
    salt: u64,
) {
    use eframe::egui;
    ui.horizontal(|ui| {
        ui.checkbox(&mut values.paused, t.chart_pause);
        ui.label(t.window_s);
        ui.add(
            egui::DragValue::new(&mut values.window_s)
                .range(0.0..=86_400.0)
                .speed(1.0),
        );
    });
    let charted: Vec<(&String, &Series)> =
        values.series.iter().filter(|(_, s)| s.charted).collect();
    if charted.is_empty() {
        ui.label(t.chart_pick);
    }
    let last = charted
        .iter()
        .filter_map(|(_, s)| s.points.back().map(|p| p[0]))
        .fold(0.0f64, f64::max);
    let first = charted
        .iter()
        .filter_map(|(_, s)| s.points.front().map(|p| p[0]))
        .fold(last, f64::min);
    let (paused, window) = (values.paused, values.window_s);
    let width = ui.available_width().max(100.0) as usize;
    egui_plot::Plot::new(("chart_plot", salt))
        .legend(egui_plot::Legend::default().follow_insertion_order(true))
        .allow_drag(paused)
        .allow_zoom(paused)
        .allow_scroll(paused)
        .show(ui, |plot| {
            // Live, the x range is set here (the last `window` seconds, or everything kept):
            // the lines drawn are only what is in range, so the plot cannot find it by itself.
            if !paused && !charted.is_empty() {
                let from = if window > 0.0 {
                    (last - window).max(0.0)
                } else {
                    first
                };
                plot.set_plot_bounds_x(from..=last.max(from + 1e-3));
                plot.set_auto_bounds([false, true]);
            }
            let bounds = plot.plot_bounds();
            let (x0, x1) = (bounds.min()[0], bounds.max()[0]);
            for (name, s) in &charted {
                let shown = decimated(&s.points, x0, x1, width);
                plot.line(egui_plot::Line::new(name.as_str(), shown));
            }
        });
}

fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// At most two points (the lowest and the highest) per bucket of `points` between `x_min` and
/// `x_max`: what a chart `buckets` pixels wide can show, so a million points draw as fast as
/// a few thousand.
pub fn decimated(
    points: &VecDeque<[f64; 2]>,
    x_min: f64,
    x_max: f64,
    buckets: usize,
) -> Vec<[f64; 2]> {
    let from = points.partition_point(|p| p[0] < x_min).saturating_sub(1);
    let to = (points.partition_point(|p| p[0] <= x_max) + 1).min(points.len());
    let visible = to.saturating_sub(from);
    if visible <= buckets * 2 || buckets == 0 || x_max <= x_min {
        return points.range(from..to).copied().collect();
    }
    let width = (x_max - x_min) / buckets as f64;
    let mut out = Vec::with_capacity(buckets * 2 + 2);
    let mut current: Option<(usize, [f64; 2], [f64; 2])> = None;
    for p in points.range(from..to) {
        let b = (((p[0] - x_min) / width).floor().max(0.0) as usize).min(buckets);
        match &mut current {
            Some((cb, lo, hi)) if *cb == b => {
                if p[1] < lo[1] {
                    *lo = *p;
                }
                if p[1] > hi[1] {
                    *hi = *p;
                }
            }
            _ => {
                if let Some((_, lo, hi)) = current.take() {
                    push_pair(&mut out, lo, hi);
                }
                current = Some((b, *p, *p));
            }
        }
    }
    if let Some((_, lo, hi)) = current {
        push_pair(&mut out, lo, hi);
    }
    out
}

fn push_pair(out: &mut Vec<[f64; 2]>, a: [f64; 2], b: [f64; 2]) {
    if a == b {
        out.push(a);
    } else if a[0] <= b[0] {
        out.extend([a, b]);
    } else {
        out.extend([b, a]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::decode::{Field, Summary, Value};
    use std::time::Duration;

    fn frame(fields: &[(&str, Value)]) -> Decoded {
        Decoded {
            summary: Summary::Record,
            fields: fields
                .iter()
                .map(|(n, v)| Field {
                    name: n.to_string(),
                    value: v.clone(),
                    unit: None,
                    offset: 0,
                    len: 0,
                })
                .collect(),
        }
    }

    #[test]
    fn latest_min_max_count_and_a_capped_series() {
        let mut values = Values {
            max_points: 3,
            ..Values::default()
        };
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        for (i, v) in [5.0, -2.0, 7.5, 1.0].iter().enumerate() {
            values.push(
                t0 + Duration::from_millis(100 * i as u64),
                &frame(&[("temp", Value::Num(*v)), ("name", Value::Text("x".into()))]),
            );
        }
        let s = &values.series["temp"];
        assert_eq!((s.latest, s.min, s.max, s.count), (1.0, -2.0, 7.5, 4));
        assert_eq!(s.points.len(), 3);
        assert_eq!(s.dropped, 1);
        assert_eq!(s.points[0], [0.1, -2.0]);
        assert!(!values.series.contains_key("name"), "text is not charted");
    }

    #[test]
    fn csv_has_a_row_per_moment_and_a_column_per_field() {
        let mut values = Values::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        values.push(t0, &frame(&[("a", Value::Int(1)), ("b", Value::Int(2))]));
        values.push(
            t0 + Duration::from_millis(250),
            &frame(&[("b", Value::Int(3))]),
        );
        let csv = values.csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "time,a,b");
        assert!(lines[1].ends_with(",1,2"), "{csv}");
        assert!(lines[2].ends_with(",,3"), "{csv}");
        assert_eq!(lines.len(), 3);
        values.series.get_mut("b").unwrap().charted = true;
        assert!(values.csv().starts_with("time,b\n"));
    }

    #[test]
    fn a_flood_of_new_names_is_not_followed_past_the_limit() {
        let mut values = Values::default();
        for i in 0..1000 {
            values.push(
                SystemTime::now(),
                &frame(&[(&format!("k{i}"), Value::Int(i))]),
            );
        }
        assert_eq!(values.series.len(), MAX_SERIES);
        assert_eq!(values.untracked, 1000 - MAX_SERIES as u64);
    }

    #[test]
    fn decimation_keeps_the_extremes_of_each_bucket() {
        let points: VecDeque<[f64; 2]> = (0..1_000_000)
            .map(|i| {
                [
                    i as f64 / 1000.0,
                    if i == 500_123 { 99.0 } else { (i % 7) as f64 },
                ]
            })
            .collect();
        let shown = decimated(&points, 0.0, 1000.0, 800);
        assert!(shown.len() <= 2 * 801, "{}", shown.len());
        assert!(shown.iter().any(|p| p[1] == 99.0), "the spike survives");
        assert!(
            shown.windows(2).all(|w| w[0][0] <= w[1][0]),
            "in time order"
        );
        // Few points: all of them.
        let few: VecDeque<[f64; 2]> = (0..10).map(|i| [i as f64, 0.0]).collect();
        assert_eq!(decimated(&few, 0.0, 9.0, 800).len(), 10);
    }
}
