//! Charts drawn on the server as inline SVG: uptime bars (a day per bar, runs of equal
//! days drawn as one rectangle so 10,000 rows stay small), response-time sparklines and
//! bar charts of burn rates against their thresholds.

use maud::{html, Markup};
use vigil_core::Timestamp;

const DAY: i64 = 86_400_000;

/// The colour class of a day's uptime (percent).
pub fn uptime_class(uptime: Option<f64>) -> &'static str {
    match uptime {
        None => "none",
        Some(value) if value >= 99.95 => "good",
        Some(value) if value >= 99.0 => "fair",
        Some(value) if value >= 95.0 => "poor",
        Some(_) => "bad",
    }
}

pub fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "no data".to_owned(), |value| format!("{:.2}%", (value * 100.0).floor() / 100.0))
}

fn date(at: i64) -> String {
    Timestamp(at).to_rfc3339().get(..10).unwrap_or_default().to_owned()
}

/// Uptime per period (oldest first, ending with the one holding `now`) as one bar per
/// period; `period` is a day or an hour. Equal neighbours share a rectangle, and every
/// rectangle says its dates and uptime as a tooltip.
pub fn uptime_bar(periods: &[Option<f64>], period: i64, now: Timestamp, label: &str) -> Markup {
    let count = periods.len();
    let last = now.0.div_euclid(period) * period;
    let start_of = |index: usize| last - (count - 1 - index) as i64 * period;
    let name = |at: i64| if period >= DAY { date(at) } else { Timestamp(at).to_rfc3339().get(..16).unwrap_or_default().replace('T', " ") };
    let mut runs: Vec<(usize, usize, &'static str, Option<f64>)> = Vec::new();
    for (index, uptime) in periods.iter().enumerate() {
        let class = uptime_class(*uptime);
        // Good days merge (their exact figures differ by hundredths); others stand alone.
        match runs.last_mut() {
            Some((_, end, last_class, _)) if *last_class == class && matches!(class, "good" | "none") => *end = index,
            _ => runs.push((index, index, class, *uptime)),
        }
    }
    html! {
        svg class="bar" viewBox=(format!("0 0 {} 10", count * 4)) preserveAspectRatio="none" role="img" aria-label=(label) {
            @for (first, end, class, uptime) in &runs {
                rect class=(class) x=(first * 4) width=((end - first + 1) * 4 - 1) height="10" {
                    title {
                        @if first == end { (name(start_of(*first))) } @else { (name(start_of(*first))) " – " (name(start_of(*end))) }
                        ": "
                        @match (class, first == end) {
                            (&"good", false) => "all at least 99.95%",
                            (&"none", _) => "no data",
                            _ => (percent(*uptime)),
                        }
                    }
                }
            }
        }
    }
}

/// A long bar of days kept small for the overview's thousands of rows: one path per
/// colour (runs of equal days as one rectangle) and one tooltip for the whole bar.
pub fn compact_bar(periods: &[Option<f64>], now: Timestamp) -> Markup {
    let count = periods.len();
    // Good days are the background; the others are drawn over it.
    let mut paths: [(&str, String); 5] = [
        ("good", format!("M0 0h{}v9H0z", (count * 4).saturating_sub(1))),
        ("fair", String::new()),
        ("poor", String::new()),
        ("bad", String::new()),
        ("none", String::new()),
    ];
    let mut index = 0;
    while index < count {
        let class = uptime_class(periods[index]);
        let mut end = index;
        while end + 1 < count && uptime_class(periods[end + 1]) == class {
            end += 1;
        }
        if class == "good" {
            index = end + 1;
            continue;
        }
        if let Some((_, path)) = paths.iter_mut().find(|(name, _)| *name == class) {
            path.push_str(&format!("M{x} 0h{}v9H{x}z", (end - index + 1) * 4 - 1, x = index * 4));
        }
        index = end + 1;
    }
    let today = now.0.div_euclid(DAY) * DAY;
    let below: Vec<(usize, f64)> = periods
        .iter()
        .enumerate()
        .filter_map(|(index, uptime)| uptime.filter(|value| *value < 99.95).map(|value| (index, value)))
        .collect();
    let known = periods.iter().flatten().count();
    let lowest = below.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1));
    let summary = match lowest {
        None if known == 0 => format!("No data over {count} days"),
        None => format!("Every day of {known} at least 99.95%"),
        Some((index, value)) => format!(
            "{} of {known} days below 99.95%; lowest {} on {}",
            below.len(),
            percent(Some(value)),
            date(today - (count - 1 - index) as i64 * DAY)
        ),
    };
    html! {
        svg class="bar" viewBox=(format!("0 0 {} 9", count * 4)) preserveAspectRatio="none" role="img" {
            title { (summary) }
            @for (class, path) in &paths { @if !path.is_empty() { path class=(class) d=(path) {} } }
        }
    }
}

/// Hourly mean response times as a line, scaled to the largest; gaps where an hour had
/// no checks.
pub fn sparkline(means: &[Option<f64>], label: &str) -> Markup {
    let max = means.iter().flatten().fold(0.0_f64, |max, value| max.max(*value));
    if max <= 0.0 {
        return html! { svg class="spark" viewBox="0 0 96 20" role="img" { title { (label) ": no checks" } } };
    }
    let step = 96.0 / means.len().max(1) as f64;
    let mut paths = String::new();
    for (index, mean) in means.iter().enumerate() {
        let Some(value) = mean else { continue };
        let x = (index as f64 * step + step / 2.0).round();
        let y = (19.0 - 18.0 * value / max).round();
        let drawing = index > 0 && means[index - 1].is_some();
        paths.push_str(&format!("{}{x} {y}", if drawing { " L" } else { " M" }));
        // An hour alone between gaps is a dot (a round cap on a zero-length line).
        if !drawing && means.get(index + 1).is_none_or(Option::is_none) {
            paths.push_str(" l0 0");
        }
    }
    let latest = means.iter().rev().flatten().next().copied().unwrap_or_default();
    html! {
        svg class="spark" viewBox="0 0 96 20" preserveAspectRatio="none" role="img" {
            title { (label) ": latest hour " (format!("{latest:.0}")) " ms mean, slowest " (format!("{max:.0}")) " ms" }
            path d=(paths.trim_start()) {}
        }
    }
}

/// Burn rates as horizontal bars, each with its threshold marked.
pub fn burn_chart(rows: &[(String, f64, f64)], label: &str) -> Markup {
    let max = rows.iter().fold(1.0_f64, |max, (_, rate, threshold)| max.max(*rate).max(*threshold)) * 1.1;
    let height = rows.len() * 18;
    html! {
        svg class="burn" viewBox=(format!("0 0 300 {height}")) role="img" aria-label=(label) {
            @for (index, (window, rate, threshold)) in rows.iter().enumerate() {
                @let y = index * 18;
                @let width = 200.0 * rate / max;
                @let mark = 90.0 + 200.0 * threshold / max;
                text x="0" y=(y + 12) { (window) }
                rect class=(if rate > threshold { "over" } else { "under" }) x="90" y=(y + 3) width=(format!("{width:.1}")) height="12" {
                    title { (window) ": burn rate " (format!("{rate:.3}")) ", fires above " (threshold) }
                }
                line x1=(format!("{mark:.1}")) x2=(format!("{mark:.1}")) y1=(y + 1) y2=(y + 17) {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_days_share_a_rectangle() {
        let days = [None, None, Some(100.0), Some(99.99), Some(98.0), Some(100.0)];
        let markup = uptime_bar(&days, DAY, Timestamp(10 * DAY + 5), "uptime").into_string();
        assert_eq!(markup.matches("<rect").count(), 4, "{markup}");
        assert!(markup.contains("1970-01-10: 98.00%"), "{markup}");
        assert!(markup.contains("1970-01-06 – 1970-01-07: no data"), "{markup}");
    }

    #[test]
    fn compact_bars_draw_a_path_per_colour_and_say_the_worst_day() {
        let days = [None, Some(100.0), Some(100.0), Some(99.0), Some(100.0), Some(97.5)];
        let markup = compact_bar(&days, Timestamp(10 * DAY + 5)).into_string();
        // SVG elements are closed: in HTML's foreign content an unclosed one swallows the next.
        assert!(markup.contains("<path class=\"good\" d=\"M0 0h23v9H0z\"></path>"), "{markup}");
        assert!(markup.contains("<path class=\"fair\" d=\"M12 0h3v9H12z\"></path>"), "{markup}");
        assert!(markup.contains("<path class=\"none\" d=\"M0 0h3v9H0z\"></path>"), "{markup}");
        assert!(markup.contains("2 of 5 days below 99.95%; lowest 97.50% on 1970-01-11"), "{markup}");
    }

    #[test]
    fn sparklines_break_at_hours_without_checks() {
        let markup = sparkline(&[Some(10.0), Some(20.0), None, Some(5.0)], "api").into_string();
        assert!(markup.contains("d=\"M12 10 L36 1 M84 15 l0 0\""), "{markup}");
        assert!(sparkline(&[None, None], "api").into_string().contains("no checks"));
    }
}
