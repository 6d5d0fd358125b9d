//! The SVG that `cargo xtask bench --plot` writes: `token()` latency over time across refresh
//! boundaries, Rust and Go side by side, on a log scale. Hand-written SVG: two panels of points
//! do not need a plotting crate in xtask.

use std::fmt::Write as _;

const PANEL_W: f64 = 420.0;
const PANEL_H: f64 = 260.0;
const LEFT: f64 = 60.0;
const TOP: f64 = 40.0;
const GAP: f64 = 50.0;
/// The y axis, in ms: 10 ns (a cached read takes about 20) to 1 s.
const Y_MIN: f64 = 1e-5;
const Y_MAX: f64 = 1e3;

/// `timelines`: Rust's, then Go's, each (seconds since start, slowest call of that moment in ms).
pub fn svg(timelines: &[Vec<(f64, f64)>; 2]) -> String {
    let width = LEFT + 2.0 * PANEL_W + GAP + 20.0;
    let height = TOP + PANEL_H + 50.0;
    let x_max = timelines
        .iter()
        .flatten()
        .map(|p| p.0)
        .fold(1.0f64, f64::max)
        .ceil();
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let panels = [
        ("Rust: flow TokenSource", "#b7410e"),
        ("Go: x/oauth2 ReuseTokenSource", "#00add8"),
    ];
    for (i, ((name, colour), timeline)) in panels.into_iter().zip(timelines).enumerate() {
        let x0 = LEFT + i as f64 * (PANEL_W + GAP);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" font-size="13" text-anchor="middle">{name}</text>"#,
            x0 + PANEL_W / 2.0,
            TOP - 14.0
        );
        let _ = writeln!(
            s,
            r##"<rect x="{x0}" y="{TOP}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#888"/>"##
        );
        y_axis(&mut s, x0);
        x_axis(&mut s, x0, x_max);
        for &(t, ms) in timeline {
            let x = x0 + t / x_max * PANEL_W;
            let _ = writeln!(
                s,
                r#"<circle cx="{x:.1}" cy="{:.1}" r="1.6" fill="{colour}"/>"#,
                y_of(ms)
            );
        }
    }
    let _ = writeln!(
        s,
        r#"<text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle">token() latency</text>"#,
        TOP + PANEL_H / 2.0,
        TOP + PANEL_H / 2.0
    );
    s.push_str("</svg>\n");
    s
}

/// A panel's decades, the 1 ms line the goal counts against in red.
fn y_axis(s: &mut String, x0: f64) {
    let mut decade = Y_MIN;
    while decade <= Y_MAX * 1.001 {
        let y = y_of(decade);
        let stroke = if (decade - 1.0).abs() < 1e-9 {
            "#d00"
        } else {
            "#eee"
        };
        let _ = writeln!(
            s,
            r#"<line x1="{x0}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="{stroke}"/>"#,
            x0 + PANEL_W
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            x0 - 4.0,
            y + 4.0,
            label(decade)
        );
        decade *= 10.0;
    }
}

/// A panel's seconds, every other one labelled, and the axis title.
fn x_axis(s: &mut String, x0: f64, x_max: f64) {
    for t in (0..=(x_max as u32)).step_by(2) {
        let x = x0 + f64::from(t) / x_max * PANEL_W;
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{}" text-anchor="middle">{t}</text>"#,
            TOP + PANEL_H + 14.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">seconds (token lifetime 4 s; the slowest call of each 20 ms)</text>"#,
        x0 + PANEL_W / 2.0,
        TOP + PANEL_H + 32.0
    );
}

fn y_of(ms: f64) -> f64 {
    let clamped = ms.clamp(Y_MIN, Y_MAX);
    let f = (clamped.log10() - Y_MIN.log10()) / (Y_MAX.log10() - Y_MIN.log10());
    TOP + PANEL_H * (1.0 - f)
}

fn label(ms: f64) -> String {
    match ms {
        m if m < 1e-4 => "10 ns".into(),
        m if m < 1e-3 => "100 ns".into(),
        m if m < 0.01 => "1 µs".into(),
        m if m < 0.1 => "10 µs".into(),
        m if m < 1.0 => "100 µs".into(),
        m if m < 10.0 => "1 ms".into(),
        m if m < 100.0 => "10 ms".into(),
        m if m < 1000.0 => "100 ms".into(),
        _ => "1 s".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_point_is_drawn_in_its_panel_with_the_1_ms_line_in_red() {
        let rust = vec![(0.0, 0.0005), (1.5, 0.002)];
        let go = vec![(0.5, 3.0), (2.0, 0.04), (5.0, 2000.0)];
        let svg = super::svg(&[rust, go]);
        assert!(
            svg.starts_with("<svg ") && svg.ends_with("</svg>\n"),
            "{svg}"
        );
        assert_eq!(svg.matches(r##"fill="#b7410e""##).count(), 2, "{svg}");
        assert_eq!(svg.matches(r##"fill="#00add8""##).count(), 3, "{svg}");
        assert_eq!(svg.matches(r##"stroke="#d00""##).count(), 2, "{svg}");
        // Seconds up to the last point (5 s), every other one labelled, in each panel.
        assert_eq!(svg.matches(r#"text-anchor="middle">4</text>"#).count(), 2);
        assert!(!svg.contains(r#"text-anchor="middle">5</text>"#), "{svg}");
        // Every decade from 10 ns to 1 s is labelled, in each panel.
        for label in ["10 ns", "100 ns", "1 µs", "10 µs", "100 µs", "1 ms", "1 s"] {
            assert_eq!(
                svg.matches(&format!(">{label}</text>")).count(),
                2,
                "{label}"
            );
        }
        // Out-of-range latencies are clamped to the axis, not drawn outside the panel.
        let top = super::TOP;
        assert!(svg.contains(&format!(r#"cy="{top:.1}" r="1.6""#)), "{svg}");
    }
}
