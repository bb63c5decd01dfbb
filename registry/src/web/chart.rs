//! The residual-risk trend as an inline SVG line chart: a pure function of the trend's weeks,
//! with axes, labels and an accessible `<title>`/`<desc>`; no script, no style attribute (the
//! colours are presentation attributes, the text takes the page's colour).

use maud::{Markup, html};
use threatpack::wire::TrendWeek;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 56.0;
/// Room for half of the latest week's label, centred on the last point.
const RIGHT: f64 = 36.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;
/// Week labels shown at most along the x axis (each about 55 px wide).
const MAX_WEEK_LABELS: usize = 6;
const LINE_COLOUR: &str = "#2563eb";

/// The chart of `weeks` (oldest first), from the first week with a report: the weeks before
/// it have no risk to show, not a risk of 0. `id` is unique on the page (it names the title
/// and description the chart is labelled by); `caption` is its title.
pub(crate) fn trend_chart(id: &str, caption: &str, weeks: &[TrendWeek]) -> Markup {
    let first = weeks.iter().position(|week| week.projects > 0).unwrap_or(0);
    let weeks = &weeks[first..];
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    let highest = weeks.iter().map(|week| week.risk).max().unwrap_or(0);
    let (step, top) = y_scale(highest);
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let x = |index: usize| {
        if weeks.len() <= 1 {
            LEFT + plot_width / 2.0
        } else {
            LEFT + plot_width * index as f64 / (weeks.len() - 1) as f64
        }
    };
    let y = |risk: u64| TOP + plot_height * (1.0 - risk as f64 / top as f64);
    let points: Vec<String> = weeks
        .iter()
        .enumerate()
        .map(|(index, week)| format!("{:.1},{:.1}", x(index), y(week.risk)))
        .collect();
    let ticks: Vec<u64> = (0..=top / step).map(|tick| tick * step).collect();
    let every = weeks.len().div_ceil(MAX_WEEK_LABELS).max(1);
    // Labels counted back from the latest week, which is always labelled.
    let labelled = |index: usize| (weeks.len() - 1 - index).is_multiple_of(every);
    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"
            aria-labelledby=(format!("{title_id} {desc_id}"))
            width=(WIDTH) height=(HEIGHT) viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) {
            title id=(title_id) { (caption) }
            desc id=(desc_id) { (description(weeks)) }
            g class="chart-grid" stroke="currentColor" stroke-opacity="0.2" {
                @for tick in &ticks {
                    line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(y(*tick)) y2=(y(*tick)) {}
                }
            }
            g class="chart-axes" stroke="currentColor" {
                line x1=(LEFT) x2=(LEFT) y1=(TOP) y2=(HEIGHT - BOTTOM) {}
                line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(HEIGHT - BOTTOM) y2=(HEIGHT - BOTTOM) {}
            }
            g class="chart-labels" fill="currentColor" font-size="11" {
                @for tick in &ticks {
                    text x=(LEFT - 6.0) y=(y(*tick) + 4.0) text-anchor="end" { (tick) }
                }
                @for (index, week) in weeks.iter().enumerate() {
                    @if labelled(index) {
                        text x=(x(index)) y=(HEIGHT - BOTTOM + 16.0) text-anchor="middle" { (week.week) }
                    }
                }
                text x=(LEFT + plot_width / 2.0) y=(HEIGHT - 6.0) text-anchor="middle" { "ISO week" }
                text x="14" y=(TOP + plot_height / 2.0) text-anchor="middle"
                    transform=(format!("rotate(-90 14 {})", TOP + plot_height / 2.0)) { "Residual risk" }
            }
            @if weeks.is_empty() {
                text x=(LEFT + plot_width / 2.0) y=(TOP + plot_height / 2.0) text-anchor="middle" fill="currentColor" {
                    "No weeks to show"
                }
            } @else {
                polyline class="chart-line" fill="none" stroke=(LINE_COLOUR) stroke-width="2"
                    points=(points.join(" ")) {}
                g class="chart-points" fill=(LINE_COLOUR) {
                    @for (index, week) in weeks.iter().enumerate() {
                        circle cx=(format!("{:.1}", x(index))) cy=(format!("{:.1}", y(week.risk))) r="3" {
                            title { (week.week) ": risk " (week.risk) " (" (week.projects) " project" @if week.projects != 1 { "s" } ")" }
                        }
                    }
                }
            }
        }
    }
}

/// The y axis: a step of 1, 2 or 5 times a power of ten giving at most four intervals, and
/// the top (a multiple of the step at or above `highest`, at least one step).
fn y_scale(highest: u64) -> (u64, u64) {
    let mut magnitude = 1u64;
    loop {
        for factor in [1, 2, 5] {
            let step = magnitude.saturating_mul(factor);
            if step.saturating_mul(4) >= highest {
                let top = highest.div_ceil(step).max(1).saturating_mul(step);
                return (step, top);
            }
        }
        magnitude = magnitude.saturating_mul(10);
    }
}

/// The chart in words, for readers who do not see it.
fn description(weeks: &[TrendWeek]) -> String {
    let (Some(first), Some(last)) = (weeks.first(), weeks.last()) else {
        return "No weeks to show.".to_string();
    };
    let highest = weeks.iter().map(|week| week.risk).max().unwrap_or(0);
    let lowest = weeks.iter().map(|week| week.risk).min().unwrap_or(0);
    format!(
        "Residual risk per ISO week from {} to {}: {} in the first week, {} in the latest, lowest {lowest}, highest {highest}.",
        first.week, last.week, first.risk, last.risk
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weeks(risks: &[u64]) -> Vec<TrendWeek> {
        risks
            .iter()
            .enumerate()
            .map(|(index, risk)| TrendWeek {
                projects: 2,
                risk: *risk,
                week: format!("2026-W{:02}", 10 + index),
            })
            .collect()
    }

    #[test]
    fn the_y_axis_has_round_steps_above_the_highest_value() {
        for (highest, expected) in [
            (0, (1, 1)),
            (1, (1, 1)),
            (4, (1, 4)),
            (5, (2, 6)),
            (17, (5, 20)),
            (40, (10, 40)),
            (41, (20, 60)),
            (12_345, (5_000, 15_000)),
            (u64::MAX, (5_000_000_000_000_000_000, u64::MAX)),
        ] {
            assert_eq!(y_scale(highest), expected, "{highest}");
        }
    }

    #[test]
    fn a_chart_has_its_title_description_axes_and_one_point_a_week() {
        let chart = trend_chart("trend", "Portfolio risk", &weeks(&[3, 8, 5])).into_string();
        assert!(
            chart.contains(r#"aria-labelledby="trend-title trend-desc""#),
            "{chart}"
        );
        assert!(
            chart.contains(r#"<title id="trend-title">Portfolio risk</title>"#),
            "{chart}"
        );
        assert!(
            chart.contains("from 2026-W10 to 2026-W12: 3 in the first week, 5 in the latest, lowest 3, highest 8."),
            "{chart}"
        );
        assert_eq!(chart.matches("<circle").count(), 3);
        assert!(
            chart.contains("<title>2026-W11: risk 8 (2 projects)</title>"),
            "{chart}"
        );
        // The scale goes 0, 2 … 8: the highest point is at its top (y 16), 0 on the axis (y 196).
        assert!(
            chart.contains(r#"points="56.0,128.5 330.0,16.0 604.0,83.5""#),
            "{chart}"
        );
        assert!(
            !chart.contains("style="),
            "the CSP forbids inline styles: {chart}"
        );
        assert!(!chart.contains("<script"), "{chart}");
    }

    #[test]
    fn week_labels_are_thinned_from_the_latest_week() {
        let chart = trend_chart("t", "t", &weeks(&[1; 52])).into_string();
        let labels = chart.matches(r#"text-anchor="middle">2026-W"#).count();
        assert!(labels <= MAX_WEEK_LABELS, "{labels} labels");
        assert!(
            chart.contains(">2026-W61</text>"),
            "the latest week is labelled"
        );
    }

    #[test]
    fn the_chart_starts_at_the_first_week_with_a_report() {
        let mut trend = weeks(&[0, 0, 4, 6]);
        trend[0].projects = 0;
        trend[1].projects = 0;
        let chart = trend_chart("t", "t", &trend).into_string();
        assert_eq!(chart.matches("<circle").count(), 2, "{chart}");
        assert!(chart.contains("from 2026-W12 to 2026-W13"), "{chart}");
        // Without any report, the weeks are shown as they are.
        let mut empty = weeks(&[0, 0]);
        for week in &mut empty {
            week.projects = 0;
        }
        let chart = trend_chart("t", "t", &empty).into_string();
        assert_eq!(chart.matches("<circle").count(), 2, "{chart}");
    }

    #[test]
    fn an_empty_trend_says_so() {
        let chart = trend_chart("t", "t", &[]).into_string();
        assert!(chart.contains("No weeks to show"));
        assert!(!chart.contains("<polyline"));
        let one = trend_chart("t", "t", &weeks(&[0])).into_string();
        assert_eq!(one.matches("<circle").count(), 1);
    }

    #[test]
    fn hostile_text_is_escaped() {
        let mut hostile = weeks(&[1]);
        hostile[0].week = "<script>alert(1)</script>\"".to_string();
        let chart =
            trend_chart("t\"><script>", "<img src=x onerror=alert(1)>", &hostile).into_string();
        assert!(!chart.contains("<script>"), "{chart}");
        assert!(!chart.contains("<img"), "{chart}");
        assert!(
            chart.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;"),
            "{chart}"
        );
    }
}
