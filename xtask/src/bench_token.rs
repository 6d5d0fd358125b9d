//! `cargo xtask bench`: flow's token source side by side with Go's `golang.org/x/oauth2`
//! (clientcredentials + ReuseTokenSource), in one run against one Hydra.
//!
//! Starts Hydra, registers the clients (through the Rust probe), then runs each measure in the
//! Rust probe (`bench/`, a release build) and the Go probe (`bench/go/`), and raw reqwest where it
//! has a figure, turning who goes first each round so machine noise hits all alike, and reports
//! the median of the rounds, or of all samples for a measure whose probe reports them
//! (`bench_report` prints them); then, once, the Rust probe's
//! `cold-parts`, which takes the cold acquire apart beside raw reqwest. Each probe run is its own
//! process, so one measure cannot warm or pollute another. The probes, not xtask, link tokio and
//! reqwest, which keeps xtask cheap to compile.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::bench_stats::median;
use crate::Result;

/// One row of the table: a probe measure, its JSON key, how many iterations each probe run
/// makes, and how many rounds a full run takes (a quick run takes one).
struct Measure {
    key: &'static str,
    label: &'static str,
    probe: &'static str,
    n: u64,
    quick_n: u64,
    rounds: u32,
    /// Whether raw reqwest has a figure for it.
    raw: bool,
    /// Report the largest of the rounds (a count that must hold in every round), not the median.
    worst: bool,
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
        rounds: 3,
        raw: false,
        worst: false,
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
        rounds: 3,
        raw: false,
        // 0 calls over 1 ms is a goal for every round, not for the middle one.
        worst: true,
        also: None,
    },
    Measure {
        key: "herd_1000_ms",
        label: "1000 cold callers: wall time (ms)",
        probe: "herd",
        // Each sample is one round of 1000 callers (~7 ms), most of it Hydra's answer to the one
        // token request, which on this machine comes in two spells (5.5 or 7.4 ms, sample by
        // sample in one probe run). With three rounds of 21, a side's figure hung on which
        // spells its three turns met (one run: flow's rounds 5.06, 7.07 and 7.59 ms against
        // Go's 4.92, 5.60 and 6.79). Twelve rounds of 7, the figure the median of all of a
        // side's samples, spread both sides over the same spells, as for the cold acquire.
        n: 7,
        quick_n: 2,
        rounds: 12,
        raw: false,
        worst: false,
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
        // secret), and samples vary by about 10 %. The machine drifts over seconds: with three
        // rounds of 300 (3 s a side each), round medians swung by more than the sides differ (Go's
        // 10.68, 8.74 and 10.24 ms in one run), so a side's figure hung on which of its three
        // turns met a slow spell. Twelve rounds of 75 (under a second each, the same 900 samples
        // a side) spread every side over the same spells; the figure is the median of all of a
        // side's samples.
        n: 75,
        quick_n: 3,
        rounds: 12,
        raw: true,
        worst: false,
        also: None,
    },
    Measure {
        key: "peak_rss_kb",
        label: "peak RSS of a warm source (kB)",
        probe: "rss",
        n: 100_000,
        quick_n: 10_000,
        rounds: 3,
        raw: false,
        worst: false,
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
    let result = measure(&rust, &go, &urls, quick);
    let stopped = hydra.stop(Duration::from_secs(10));
    let run = result?;
    stopped?;

    crate::bench_report::print(&run);
    if let Some(path) = json_path {
        std::fs::write(&path, serde_json::to_string_pretty(&run.figures)? + "\n")?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = plot_path {
        std::fs::write(&path, crate::bench_plot::svg(&run.timelines))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// What one run measured.
pub(crate) struct Run {
    /// `{key: {"rust", "go", "raw"?}}`, as `--json` writes it.
    pub(crate) figures: Map<String, Value>,
    /// The Rust and Go refresh timelines, for `--plot`.
    timelines: [Vec<(f64, f64)>; 2],
    pub(crate) evidence: Evidence,
}

/// What the report says beside the figures: whether the two goals whose figures are equal up to
/// noise were missed by more than noise (see `bench_stats`), and what the cached read and the
/// cold acquire are made of on this machine.
#[derive(Default)]
pub(crate) struct Evidence {
    /// flow's ns/call for 1 caller, 2 callers, and 2 callers of separate sources, batch by
    /// batch (the three measured side by side).
    pub(crate) cached_batches: Vec<[f64; 3]>,
    /// In the same batches, ns per step of register arithmetic on 1 thread and on each of 2:
    /// what a second busy core costs code that shares nothing on this machine.
    pub(crate) machine_batches: Vec<[f64; 2]>,
    /// What a cached read is made of, alone in a loop, round by round: ns for an arc-swap load
    /// and release, and for a coarse clock read.
    pub(crate) read_parts: Vec<[f64; 2]>,
    /// Every cold-acquire sample in ms: Rust's, Go's and raw reqwest's.
    pub(crate) cold_samples: [Vec<f64>; 3],
    /// The Rust probe's `cold-parts`: ways of making the cold acquire's requests, sample by
    /// sample beside raw reqwest, and the typed decode of a client warm and cold.
    pub(crate) cold_parts: Value,
}

impl Evidence {
    /// Takes what a probe result holds of the cached read's batches and parts (only the Rust
    /// probe reports them).
    fn gather(&mut self, r: &Value) {
        for batch in r["batches"].as_array().into_iter().flatten() {
            if let (Some(one), Some(two), Some(separate)) =
                (batch[0].as_f64(), batch[1].as_f64(), batch[2].as_f64())
            {
                self.cached_batches.push([one, two, separate]);
            }
        }
        for batch in r["machine"].as_array().into_iter().flatten() {
            if let (Some(one), Some(two)) = (batch[0].as_f64(), batch[1].as_f64()) {
                self.machine_batches.push([one, two]);
            }
        }
        let parts = &r["parts"];
        if let (Some(load), Some(clock)) = (
            parts["arc_swap_load_ns"].as_f64(),
            parts["coarse_clock_ns"].as_f64(),
        ) {
            self.read_parts.push([load, clock]);
        }
    }
}

/// A probe's timeline, points of (ms since the start, the slowest call then in ns), as the plot
/// takes it: (seconds, ms).
fn timeline(points: &[Value]) -> Vec<(f64, f64)> {
    points
        .iter()
        .filter_map(|p| Some((p[0].as_f64()? / 1e3, p[1].as_f64()? / 1e6)))
        .collect()
}

fn measure(rust: &Path, go: &Path, urls: &hydra_launcher::Urls, quick: bool) -> Result<Run> {
    let setup = probe(rust, "setup", urls, &Value::Null, 1)?;
    let mut figures = Map::new();
    let mut timelines = [Vec::new(), Vec::new()];
    let mut evidence = Evidence::default();
    for m in MEASURES {
        let (n, rounds) = if quick {
            (m.quick_n, 1)
        } else {
            (m.n, m.rounds)
        };
        let mut values = [vec![], vec![], vec![]];
        // Each sample, where the probe reports them: the figure is then their median.
        let mut samples = [vec![], vec![], vec![]];
        let mut also_values = [vec![], vec![]];
        for round in 0..rounds {
            // Who goes first turns round by round, so drift in the machine or in Hydra (whose
            // database grows with every client the measures register) hits each side alike.
            let mut order = vec![(rust, m.probe, 0), (go, m.probe, 1)];
            if m.raw {
                order.push((rust, "raw", 2));
            }
            let turn = round as usize % order.len();
            order.rotate_left(turn);
            for (bin, name, side) in order {
                let r = probe(bin, name, urls, &setup, n)?;
                let value = figure(&r, "value")?;
                eprintln!("round {}: {} {}: {value}", round + 1, SIDES[side], m.key);
                values[side].push(value);
                let each = r["samples"].as_array().into_iter().flatten();
                samples[side].extend(each.filter_map(Value::as_f64));
                if side == 2 {
                    continue;
                }
                if let Some(also) = &m.also {
                    let value = figure(&r, also.field)?;
                    eprintln!("round {}: {} {}: {value}", round + 1, SIDES[side], also.key);
                    also_values[side].push(value);
                }
                evidence.gather(&r);
                if let Some(points) = r["timeline"].as_array() {
                    timelines[side] = timeline(points);
                }
            }
        }
        let [ours, theirs, raw]: [f64; 3] =
            std::array::from_fn(|side| side_figure(&values[side], &samples[side], m.worst));
        if m.key == "cold_acquire_ms" {
            evidence.cold_samples = samples;
        }
        let mut entry = Map::new();
        entry.insert("rust".into(), json!(ours));
        entry.insert("go".into(), json!(theirs));
        if m.raw {
            entry.insert("raw".into(), json!(raw));
        }
        figures.insert(m.key.into(), Value::Object(entry));
        if let Some(also) = &m.also {
            let [also_ours, also_theirs] = also_values;
            let pick = if also.worst { worst } else { median };
            figures.insert(
                also.key.into(),
                json!({ "rust": pick(also_ours), "go": pick(also_theirs) }),
            );
        }
    }
    // Once, not per round: it pairs its arms inside one process, so rounds would add nothing
    // but minutes. A turn of its four arms takes ~45 ms; 600 turns (half a minute) resolve
    // differences of a few hundredths of a millisecond, where 300 did not.
    evidence.cold_parts = probe(
        rust,
        "cold-parts",
        urls,
        &setup,
        if quick { 3 } else { 600 },
    )?;
    Ok(Run {
        figures,
        timelines,
        evidence,
    })
}

const SIDES: [&str; 3] = ["rust", "go", "raw"];

/// The table's rows, in order: each measure's key and label, then its second figure's.
pub(crate) fn rows() -> impl Iterator<Item = (&'static str, &'static str)> {
    MEASURES.iter().flat_map(|m| {
        std::iter::once((m.key, m.label)).chain(m.also.as_ref().map(|a| (a.key, a.label)))
    })
}

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

/// A side's figure: the largest of its rounds for a measure that must hold in every round, else
/// the median of its samples where the probe reports them (all rounds pooled), else the median of
/// its rounds.
fn side_figure(rounds: &[f64], samples: &[f64], worst_round: bool) -> f64 {
    if worst_round {
        worst(rounds.to_vec())
    } else if samples.is_empty() {
        median(rounds.to_vec())
    } else {
        median(samples.to_vec())
    }
}

fn worst(v: Vec<f64>) -> f64 {
    v.into_iter().reduce(f64::max).unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_count_that_must_hold_in_every_round_reports_its_worst_round() {
        assert_eq!(super::side_figure(&[0.0, 3.0, 0.0], &[], true), 3.0);
        assert_eq!(super::side_figure(&[0.0, 3.0, 0.0], &[], false), 0.0);
        assert_eq!(super::side_figure(&[9.0], &[1.0, 2.0, 3.0], false), 2.0);
    }

    #[test]
    fn a_timeline_point_of_ms_and_ns_becomes_seconds_and_ms() {
        let points = serde_json::json!([[20, 1_500_000], [4000, 21], "not a point"]);
        let got = points.as_array().map(|p| super::timeline(p));
        assert_eq!(got, Some(vec![(0.02, 1.5), (4.0, 0.000021)]));
    }

    #[test]
    fn the_cached_probe_s_batches_and_machine_control_are_gathered() {
        let probe = serde_json::json!({
            "batches": [[20.0, 20.2, 20.1], [21.0, 21.1]],
            "machine": [[1.0, 1.01], "not a batch"],
            "parts": {"arc_swap_load_ns": 12.0, "coarse_clock_ns": 4.0},
        });
        let mut evidence = super::Evidence::default();
        evidence.gather(&probe);
        assert_eq!(evidence.cached_batches, vec![[20.0, 20.2, 20.1]]);
        assert_eq!(evidence.machine_batches, vec![[1.0, 1.01]]);
        assert_eq!(evidence.read_parts, vec![[12.0, 4.0]]);
    }
}
