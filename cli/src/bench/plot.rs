//! SVG charts of benchmark reports, drawn by hand (no plotting dependency): search latency
//! versus the number of vectors, and p50 / p99 per store.

use std::fmt::Write;

use super::report::BenchReport;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 160.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
const COLOURS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

/// A named line of (x, y) points.
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Points in x order.
    pub points: Vec<(f64, f64)>,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A round upper bound for an axis (1, 2 or 5 times a power of ten).
fn nice_max(value: f64) -> f64 {
    if value <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|v| *v >= value).unwrap_or(10.0 * magnitude)
}

fn frame(svg: &mut String, title: &str, x_label: &str, y_label: &str, y_max: f64) {
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ =
        write!(svg, r#"<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#, WIDTH / 2.0, escape(title));
    let (x0, y0, x1, y1) = (LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, TOP);
    let _ = write!(svg, r#"<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="black"/>"#);
    let _ = write!(svg, r#"<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="black"/>"#);
    for step in 0..=5 {
        let value = y_max * step as f64 / 5.0;
        let y = y0 - (y0 - y1) * step as f64 / 5.0;
        let _ = write!(svg, r##"<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="#ddd"/>"##);
        let _ = write!(svg, r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#, x0 - 6.0, y + 4.0, trim(value));
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        (x0 + x1) / 2.0,
        HEIGHT - 12.0,
        escape(x_label)
    );
    let _ = write!(
        svg,
        r#"<text x="16" y="{}" text-anchor="middle" transform="rotate(-90 16 {})">{}</text>"#,
        (y0 + y1) / 2.0,
        (y0 + y1) / 2.0,
        escape(y_label)
    );
}

fn trim(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

fn legend(svg: &mut String, names: &[&str]) {
    for (i, name) in names.iter().enumerate() {
        let y = TOP + 10.0 + i as f64 * 20.0;
        let x = WIDTH - RIGHT + 12.0;
        let colour = COLOURS[i % COLOURS.len()];
        let _ = write!(svg, r#"<rect x="{x}" y="{}" width="12" height="12" fill="{colour}"/>"#, y - 10.0);
        let _ = write!(svg, r#"<text x="{}" y="{y}">{}</text>"#, x + 18.0, escape(name));
    }
}

/// A line chart of several series sharing axes.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    let x_max = nice_max(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).fold(0.0, f64::max));
    let y_max = nice_max(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0, f64::max));
    let mut svg = String::new();
    frame(&mut svg, title, x_label, y_label, y_max);
    let (x0, y0, x1, y1) = (LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, TOP);
    for step in 0..=5 {
        let value = x_max * step as f64 / 5.0;
        let x = x0 + (x1 - x0) * step as f64 / 5.0;
        let _ = write!(svg, r#"<text x="{x}" y="{}" text-anchor="middle">{}</text>"#, y0 + 18.0, trim(value));
    }
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<String> = s
            .points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", x0 + (x1 - x0) * x / x_max, y0 - (y0 - y1) * y / y_max))
            .collect();
        let _ =
            write!(svg, r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#, points.join(" "));
        for point in &points {
            let (x, y) = point.split_once(',').unwrap_or(("0", "0"));
            let _ = write!(svg, r#"<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>"#);
        }
    }
    legend(&mut svg, &series.iter().map(|s| s.name.as_str()).collect::<Vec<_>>());
    svg.push_str("</svg>\n");
    svg
}

/// A grouped bar chart: one group per label, one bar per series name.
pub fn bar_chart(title: &str, y_label: &str, names: &[&str], groups: &[(String, Vec<f64>)]) -> String {
    let y_max = nice_max(groups.iter().flat_map(|(_, v)| v.iter().copied()).fold(0.0, f64::max));
    let mut svg = String::new();
    frame(&mut svg, title, "", y_label, y_max);
    let (x0, y0, x1, y1) = (LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, TOP);
    let slot = (x1 - x0) / groups.len().max(1) as f64;
    let bar = slot * 0.8 / names.len().max(1) as f64;
    for (g, (label, values)) in groups.iter().enumerate() {
        let left = x0 + slot * g as f64 + slot * 0.1;
        for (i, value) in values.iter().enumerate() {
            let height = (y0 - y1) * value / y_max;
            let colour = COLOURS[i % COLOURS.len()];
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{colour}"/>"#,
                left + bar * i as f64,
                y0 - height,
                bar * 0.9,
                height
            );
        }
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            left + slot * 0.4,
            y0 + 18.0,
            escape(label)
        );
    }
    legend(&mut svg, names);
    svg.push_str("</svg>\n");
    svg
}

/// Search latency (p50 and p99, 1 client) against the number of vectors, from the reports'
/// scaling measurements; one pair of lines per report.
pub fn latency_vs_n(reports: &[BenchReport]) -> String {
    let mut series = Vec::new();
    for report in reports {
        let points = |pick: fn(&super::Latency) -> f64| -> Vec<(f64, f64)> {
            let mut points: Vec<(f64, f64)> = report
                .measurements
                .iter()
                .filter(|m| m.workload == "scaling")
                .filter_map(|m| m.latency.as_ref().map(|l| (m.n as f64, pick(l))))
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            points
        };
        series.push(Series { name: format!("{} p50", report.name()), points: points(|l| l.p50_ms) });
        series.push(Series { name: format!("{} p99", report.name()), points: points(|l| l.p99_ms) });
    }
    let dim = reports.first().map_or(0, |r| r.dim);
    line_chart(
        &format!("kNN latency vs vectors ({dim} dims, k = 10, 1 client)"),
        "vectors in the kind",
        "latency (ms)",
        &series,
    )
}

/// p50 and p99 search latency (1 client) per store.
pub fn latency_per_store(reports: &[BenchReport]) -> String {
    let groups: Vec<(String, Vec<f64>)> = reports
        .iter()
        .filter_map(|r| {
            let latency = r.find("knn", "store", 1)?.latency?;
            Some((r.name().to_owned(), vec![latency.p50_ms, latency.p99_ms]))
        })
        .collect();
    bar_chart("kNN latency per store (k = 10, 1 client)", "latency (ms)", &["p50", "p99"], &groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_well_formed_svg_with_every_series() {
        let series = vec![
            Series { name: "a<b".into(), points: vec![(10.0, 1.0), (100.0, 9.5)] },
            Series { name: "c".into(), points: vec![(10.0, 0.5), (100.0, 2.0)] },
        ];
        let svg = line_chart("t", "x", "y", &series);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("a&lt;b"));
        let bars = bar_chart(
            "t",
            "ms",
            &["p50", "p99"],
            &[("fake".into(), vec![1.0, 2.0]), ("sqlite".into(), vec![3.0, 4.0])],
        );
        assert_eq!(bars.matches("<rect x=").count(), 4 + 2, "four bars and two legend keys");
        assert_eq!(nice_max(7.3), 10.0);
        assert_eq!(nice_max(0.012), 0.02);
    }
}
