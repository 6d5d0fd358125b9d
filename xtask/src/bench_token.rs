//! `cargo xtask bench`: flow's token source side by side with Go's `golang.org/x/oauth2`
//! (clientcredentials + ReuseTokenSource), in one run against one Hydra.
//!
//! Starts Hydra, registers the clients (through the Rust probe), then runs each measure in the
//! Rust probe (`bench/`, a release build) and the Go probe (`bench/go/`), alternating which goes
//! first each round so machine noise hits both alike, and reports the median of the rounds. Each
//! probe run is its own process, so one measure cannot warm or pollute another. The probes, not
//! xtask, link tokio and reqwest, which keeps xtask cheap to compile.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::Result;

/// One row of the table: a probe measure, its JSON key, and how many iterations each size runs.
struct Measure {
    key: &'static str,
    label: &'static str,
    probe: &'static str,
    n: u64,
    quick_n: u64,
    /// Whether raw reqwest has a figure for it.
    raw: bool,
    /// A second figure the same probe run reports.
    also: Option<Also>,
}

/// A second figure of a measure: its field in the probe's result, and its own row.
struct Also {
    field: &'static str,
    key: &'static str,
    label: &'static str,
    /// Report the largest of the rounds (a count that must hold in every round), not the median.
    worst: bool,
}

const MEASURES: &[Measure] = &[
    Measure {
        key: "cached_read_ns",
        label: "cached token(), 1 caller (ns/call)",
        probe: "cached",
        // Calls per caller per batch; the probe alternates 1-caller and 2-caller batches.
        n: 3_000_000,
        quick_n: 200_000,
        raw: false,
        also: Some(Also {
            field: "two_callers",
            key: "cached_read_2_callers_ns",
            label: "cached token(), 2 callers (ns/call each)",
            worst: false,
        }),
    },
    Measure {
        key: "refresh_waits_over_1ms",
        label: "calls over 1 ms, 4 s TTL, 4 callers, 12 s",
        probe: "refresh",
        n: 12,
        quick_n: 5,
        raw: false,
        also: None,
    },
    Measure {
        key: "herd_1000_ms",
        label: "1000 cold callers: wall time (ms)",
        probe: "herd",
        // Each sample is one round of 1000 callers (~8 ms). With 7 a run, flow's medians ranged
        // from 7.2 to 9.5 ms across the three runs of one bench; 21 keep them steadier.
        n: 21,
        quick_n: 2,
        raw: false,
        also: Some(Also {
            field: "requests",
            key: "herd_1000_token_requests",
            label: "1000 cold callers: token requests",
            worst: true,
        }),
    },
    Measure {
        key: "cold_acquire_ms",
        label: "cold acquire, register + token (ms)",
        probe: "cold",
        // Each sample is a registration and a token request (~10 ms, most of it Hydra hashing the
        // secret), and samples vary by about 10 %: 300 a round (3 s) keep each round's median
        // within a few tenths of a percent, which is the size of the differences it is read for.
        n: 300,
        quick_n: 3,
        raw: true,
        also: None,
    },
    Measure {
        key: "peak_rss_kb",
        label: "peak RSS of a warm source (kB)",
        probe: "rss",
        n: 100_000,
        quick_n: 10_000,
        raw: false,
        also: None,
    },
];

pub fn run(args: &[String]) -> Result {
    let (mut json_path, mut plot_path, mut quick) = (None, None, false);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => json_path = Some(PathBuf::from(args.next().ok_or("--json takes a path")?)),
            "--plot" => plot_path = Some(PathBuf::from(args.next().ok_or("--plot takes a path")?)),
            "--quick" => quick = true,
            other => return Err(format!("unexpected argument {other:?}").into()),
        }
    }
    let rounds = if quick { 1 } else { 3 };
    let root = hydra_launcher::workspace_root();
    let out = hydra_launcher::target_dir().join("bench");
    std::fs::create_dir_all(&out)?;

    eprintln!("building the probes (not timed)…");
    let cargo = hydra_launcher::run::cargo();
    check(
        Command::new(cargo).current_dir(&root).args([
            "build",
            "--release",
            "--locked",
            "--package",
            "flow-bench",
        ]),
        "cargo build of the Rust probe",
    )?;
    let rust = hydra_launcher::target_dir().join("release/flow-bench");
    let go = out.join("go-probe");
    check(
        Command::new("go")
            .current_dir(root.join("bench/go"))
            .args(["build", "-o"])
            .arg(&go)
            .arg("."),
        "go build of the Go probe (needs Go and the Go module proxy)",
    )?;

    // v2.3.0, the release the figures in README were measured against; what is measured is the
    // client side, which does not depend on the release.
    let bin = crate::hydra::find_or_build(&hydra_launcher::V2_3_0)?;
    let mut hydra = hydra_launcher::Config::new(&bin.path).start()?;
    let urls = hydra.urls().clone();
    let result = measure(&rust, &go, &urls, rounds, quick);
    let stopped = hydra.stop(Duration::from_secs(10));
    let (figures, timelines, control) = result?;
    stopped?;

    print_table(&figures, control);
    if let Some(path) = json_path {
        std::fs::write(&path, serde_json::to_string_pretty(&figures)? + "\n")?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = plot_path {
        std::fs::write(&path, crate::bench_plot::svg(&timelines))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The figures (`{key: {"rust", "go", "raw"?}}`), the Rust and Go refresh timelines, and the
/// control of the 2-caller figure (flow's ns/call for 2 callers of two separate sources).
type Figures = (Map<String, Value>, [Vec<(f64, f64)>; 2], Option<f64>);

fn measure(
    rust: &Path,
    go: &Path,
    urls: &hydra_launcher::Urls,
    rounds: u32,
    quick: bool,
) -> Result<Figures> {
    let setup = probe(rust, "setup", urls, &Value::Null, 1)?;
    let mut figures = Map::new();
    let mut timelines = [Vec::new(), Vec::new()];
    let mut controls = Vec::new();
    for m in MEASURES {
        let n = if quick { m.quick_n } else { m.n };
        let (mut ours, mut theirs, mut raw) = (vec![], vec![], vec![]);
        let (mut also_ours, mut also_theirs) = (vec![], vec![]);
        for round in 0..rounds {
            // Alternate who goes first.
            let order: [(&Path, usize); 2] = if round % 2 == 0 {
                [(rust, 0), (go, 1)]
            } else {
                [(go, 1), (rust, 0)]
            };
            for (bin, side) in order {
                let r = probe(bin, m.probe, urls, &setup, n)?;
                let value = figure(&r, "value")?;
                eprintln!("round {}: {} {}: {value}", round + 1, SIDES[side], m.key);
                [&mut ours, &mut theirs][side].push(value);
                if let Some(also) = &m.also {
                    let value = figure(&r, also.field)?;
                    eprintln!("round {}: {} {}: {value}", round + 1, SIDES[side], also.key);
                    [&mut also_ours, &mut also_theirs][side].push(value);
                }
                if let Some(c) = r["two_callers_separate_sources"].as_f64() {
                    eprintln!(
                        "round {}: rust control (2 callers, 2 sources): {c}",
                        round + 1
                    );
                    controls.push(c);
                }
                if let Some(points) = r["timeline"].as_array() {
                    timelines[side] = points
                        .iter()
                        .filter_map(|p| Some((p[0].as_f64()? / 1000.0, p[1].as_f64()? / 1000.0)))
                        .collect();
                }
            }
            if m.raw {
                raw.push(figure(&probe(rust, "raw", urls, &setup, n)?, "value")?);
            }
        }
        let mut entry = Map::new();
        entry.insert("rust".into(), json!(median(ours)));
        entry.insert("go".into(), json!(median(theirs)));
        if m.raw {
            entry.insert("raw".into(), json!(median(raw)));
        }
        figures.insert(m.key.into(), Value::Object(entry));
        if let Some(also) = &m.also {
            let pick = if also.worst { worst } else { median };
            figures.insert(
                also.key.into(),
                json!({ "rust": pick(also_ours), "go": pick(also_theirs) }),
            );
        }
    }
    let control = (!controls.is_empty()).then(|| median(controls));
    Ok((figures, timelines, control))
}

const SIDES: [&str; 2] = ["rust", "go"];

/// A number from a probe's result.
fn figure(result: &Value, field: &str) -> Result<f64> {
    result[field]
        .as_f64()
        .ok_or_else(|| format!("a probe result without {field:?}: {result}").into())
}

/// Runs one probe measure and parses the JSON object it prints.
fn probe(
    bin: &Path,
    measure: &str,
    urls: &hydra_launcher::Urls,
    setup: &Value,
    n: u64,
) -> Result<Value> {
    let mut command = Command::new(bin);
    command
        .arg(measure)
        .env("BENCH_ADMIN_URL", &urls.admin)
        .env("BENCH_PUBLIC_URL", &urls.public)
        .env("BENCH_N", n.to_string());
    for (var, key) in [
        ("BENCH_CLIENT_ID", "client_id"),
        ("BENCH_CLIENT_SECRET", "client_secret"),
        ("BENCH_SHORT_ID", "short_id"),
        ("BENCH_SHORT_SECRET", "short_secret"),
    ] {
        if let Some(value) = setup[key].as_str() {
            command.env(var, value);
        }
    }
    let output = command.output()?;
    if !output.status.success() {
        return Err(format!(
            "{} {measure} failed ({}): {}",
            bin.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

fn check(command: &mut Command, what: &str) -> Result {
    let status = command.status().map_err(|e| format!("{what}: {e}"))?;
    if !status.success() {
        return Err(format!("{what} failed ({status})").into());
    }
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn worst(v: Vec<f64>) -> f64 {
    v.into_iter().reduce(f64::max).unwrap_or(f64::NAN)
}

fn get(figures: &Map<String, Value>, key: &str, side: &str) -> f64 {
    figures[key][side].as_f64().unwrap_or(f64::NAN)
}

fn print_table(figures: &Map<String, Value>, control: Option<f64>) {
    println!("\n| measure | Rust (flow) | Go (x/oauth2) | raw reqwest | Rust / Go |");
    println!("|---|---|---|---|---|");
    let rows = MEASURES.iter().flat_map(|m| {
        std::iter::once((m.key, m.label)).chain(m.also.as_ref().map(|a| (a.key, a.label)))
    });
    for (key, label) in rows {
        let (rust, go) = (get(figures, key, "rust"), get(figures, key, "go"));
        let raw = figures[key]["raw"]
            .as_f64()
            .map(|r| format!("{r:.2} (Rust / raw {:.2})", rust / r))
            .unwrap_or_else(|| "–".into());
        let ratio = if go > 0.0 {
            format!("{:.2}", rust / go)
        } else {
            "–".into()
        };
        println!(
            "| {label} | {} | {} | {raw} | {ratio} |",
            fmt(rust),
            fmt(go)
        );
    }
    println!("\ngoals:");
    let cached = get(figures, "cached_read_ns", "rust");
    let goals = [
        ("cached read at most 25 ns", cached <= 25.0),
        (
            "2 callers no slower per call than 1",
            get(figures, "cached_read_2_callers_ns", "rust") <= cached,
        ),
        (
            "cached read at most 0.5x Go",
            cached <= 0.5 * get(figures, "cached_read_ns", "go"),
        ),
        (
            "0 calls over 1 ms across refreshes",
            get(figures, "refresh_waits_over_1ms", "rust") == 0.0,
        ),
        (
            "1000 cold callers: 1 token request",
            get(figures, "herd_1000_token_requests", "rust") == 1.0,
        ),
        (
            "1000 cold callers: at most 1.1x Go",
            get(figures, "herd_1000_ms", "rust") <= 1.1 * get(figures, "herd_1000_ms", "go"),
        ),
        (
            "cold acquire at most 1.05x raw reqwest",
            get(figures, "cold_acquire_ms", "rust")
                <= 1.05 * get(figures, "cold_acquire_ms", "raw"),
        ),
        (
            "cold acquire at most Go",
            get(figures, "cold_acquire_ms", "rust") <= get(figures, "cold_acquire_ms", "go"),
        ),
        (
            "peak RSS at most Go",
            get(figures, "peak_rss_kb", "rust") <= get(figures, "peak_rss_kb", "go"),
        ),
    ];
    for (goal, met) in goals {
        println!("  {} {goal}", if met { "met:    " } else { "NOT MET:" });
    }
    if let Some(control) = control {
        // Two callers that share nothing show what a second busy core costs on this machine, the
        // floor for the 2-caller figure whatever the source does.
        println!(
            "control: 2 callers of two separate sources (nothing shared): {control:.2} ns/call \
             each, {:+.1} % against 1 caller; 2 callers of one source: {:+.1} %",
            (control / cached - 1.0) * 100.0,
            (get(figures, "cached_read_2_callers_ns", "rust") / cached - 1.0) * 100.0
        );
    }
}

fn fmt(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}
