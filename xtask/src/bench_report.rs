//! What `cargo xtask bench` prints: the table of figures, and each goal of the issue the bench
//! was written for, met or not. Two goals compare figures that are equal up to noise once the
//! work is done; for those the report also says whether the miss, if any, is larger than the
//! noise (`bench_stats`), beside the strict verdict, never instead of it.

use serde_json::{Map, Value};

use crate::bench_stats::{mann_whitney_slower, median, sign_test};
use crate::bench_token::{rows, Run};

/// A difference is called measurable below this one-sided p-value.
const SIGNIFICANCE: f64 = 0.05;

pub(crate) fn print(run: &Run) {
    let figures = &run.figures;
    println!("\n| measure | Rust (flow) | Go (x/oauth2) | raw reqwest | Rust / Go |");
    println!("|---|---|---|---|---|");
    for (key, label) in rows() {
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
    for (goal, met, detail) in goals(run) {
        println!("  {} {goal}", if met { "met:    " } else { "NOT MET:" });
        for line in detail {
            println!("           {line}");
        }
    }
}

/// Each goal, whether its figures meet it strictly, and what else the run says about it.
fn goals(run: &Run) -> Vec<(&'static str, bool, Vec<String>)> {
    let figures = &run.figures;
    let evidence = &run.evidence;
    let cached = get(figures, "cached_read_ns", "rust");
    let two = get(figures, "cached_read_2_callers_ns", "rust");
    let cold = get(figures, "cold_acquire_ms", "rust");
    let cold_go = get(figures, "cold_acquire_ms", "go");
    let cold_raw = get(figures, "cold_acquire_ms", "raw");

    let mut two_callers = two_callers_detail(two, cached, &evidence.cached_batches);
    two_callers.extend(machine_detail(&evidence.machine_batches));
    let mut cold_vs_go = cold_detail([cold, cold_go, cold_raw], &evidence.cold_samples);
    cold_vs_go.extend(cold_parts_detail(&evidence.cold_parts));

    vec![
        (
            "cached read at most 25 ns",
            cached <= 25.0,
            read_parts_detail(&evidence.read_parts),
        ),
        (
            "2 callers no slower per call than 1",
            two <= cached,
            two_callers,
        ),
        (
            "cached read at most 0.5x Go",
            cached <= 0.5 * get(figures, "cached_read_ns", "go"),
            vec![],
        ),
        (
            "0 calls over 1 ms across refreshes",
            get(figures, "refresh_waits_over_1ms", "rust") == 0.0,
            vec![],
        ),
        (
            "1000 cold callers: 1 token request",
            get(figures, "herd_1000_token_requests", "rust") == 1.0,
            vec![],
        ),
        (
            "1000 cold callers: at most 1.1x Go",
            get(figures, "herd_1000_ms", "rust") <= 1.1 * get(figures, "herd_1000_ms", "go"),
            vec![],
        ),
        (
            "cold acquire at most 1.05x raw reqwest",
            cold <= 1.05 * get(figures, "cold_acquire_ms", "raw"),
            vec![],
        ),
        ("cold acquire at most Go", cold <= cold_go, cold_vs_go),
        (
            "peak RSS at most Go",
            get(figures, "peak_rss_kb", "rust") <= get(figures, "peak_rss_kb", "go"),
            vec![],
        ),
    ]
}

/// The read's two costly parts, each alone in a loop (medians of the rounds).
fn read_parts_detail(rounds: &[[f64; 2]]) -> Vec<String> {
    if rounds.is_empty() {
        return vec![];
    }
    let load = median(rounds.iter().map(|r| r[0]).collect());
    let clock = median(rounds.iter().map(|r| r[1]).collect());
    vec![format!(
        "its parts alone on this machine: an arc-swap load and release {load:.2} ns, a \
         CLOCK_MONOTONIC_COARSE read {clock:.2} ns"
    )]
}

/// The 2-caller figure against 1 caller and against its control, batch by batch.
fn two_callers_detail(two: f64, one: f64, batches: &[[f64; 3]]) -> Vec<String> {
    let mut detail = vec![format!("{:+.2} % against 1 caller", percent(two, one))];
    if batches.is_empty() {
        return detail;
    }
    // Two callers that share nothing show what a second busy core costs on this machine: the
    // floor for the 2-caller figure, whatever the source does.
    let separate = median(batches.iter().map(|b| b[2]).collect());
    detail.push(format!(
        "control, 2 callers of two separate sources (nothing shared): {:+.2} % against 1 caller",
        percent(separate, one)
    ));
    for (against, index) in [("1 caller", 0), ("2 callers of separate sources", 2)] {
        let pairs: Vec<[f64; 2]> = batches.iter().map(|b| [b[1], b[index]]).collect();
        let (slower, n, p) = sign_test(&pairs);
        detail.push(format!(
            "against {against}: slower in {slower} of {n} batches side by side (sign test, \
             p = {p:.2}): {}",
            verdict(p)
        ));
    }
    detail
}

/// What a second busy core costs code that shares nothing at all: register arithmetic on each
/// of 2 threads against 1, batch by batch beside the reads.
fn machine_detail(batches: &[[f64; 2]]) -> Vec<String> {
    if batches.is_empty() {
        return vec![];
    }
    let one = median(batches.iter().map(|b| b[0]).collect());
    let two = median(batches.iter().map(|b| b[1]).collect());
    let pairs: Vec<[f64; 2]> = batches.iter().map(|b| [b[1], b[0]]).collect();
    let (slower, n, p) = sign_test(&pairs);
    vec![format!(
        "the machine alone, register arithmetic touching no memory, on each of 2 threads \
         against 1: {:+.2} %, slower in {slower} of {n} batches (sign test, p = {p:.2})",
        percent(two, one)
    )]
}

/// The cold acquire against Go's, over all samples; and raw reqwest's against Go's: what the
/// same two requests with nothing around them take, the floor of any client built on reqwest.
fn cold_detail(
    [ours, go, raw_figure]: [f64; 3],
    [rust, theirs, raw]: &[Vec<f64>; 3],
) -> Vec<String> {
    let mut detail = vec![format!("{:+.2} % against Go", percent(ours, go))];
    // The test's normal approximation needs a few dozen samples a side (a quick run has 3).
    if rust.len() >= 20 && theirs.len() >= 20 {
        let p = mann_whitney_slower(rust, theirs);
        detail.push(format!(
            "over {} and {} samples (Mann-Whitney U, p = {p:.2}): {}",
            rust.len(),
            theirs.len(),
            verdict(p)
        ));
    }
    if raw.len() >= 20 && theirs.len() >= 20 {
        let slower = mann_whitney_slower(raw, theirs);
        let faster = mann_whitney_slower(theirs, raw);
        let verdict = if slower < SIGNIFICANCE {
            "measurably slower"
        } else if faster < SIGNIFICANCE {
            "measurably faster"
        } else {
            "no measurable difference"
        };
        detail.push(format!(
            "raw reqwest, the same two requests with nothing around them, against Go: {:+.2} % \
             (Mann-Whitney U, one-sided p = {slower:.2} for slower, {faster:.2} for faster): \
             {verdict}",
            percent(raw_figure, go)
        ));
    }
    detail
}

/// Where flow's cold acquire spends more than raw reqwest: each way of making the requests
/// against the raw one taken beside it (the probe's `cold-parts`), and the typed decode of a
/// client with warm and with evicted caches.
fn cold_parts_detail(parts: &Value) -> Vec<String> {
    const ARMS: [(&str, &str); 3] = [
        (
            "raw_flow_body",
            "raw reqwest sending a registration body of flow's shape",
        ),
        ("sdk", "the same requests through hydra-sdk's typed calls"),
        ("flow", "acquire_token_with"),
    ];
    let samples = |arm: &str| -> Vec<f64> {
        parts["samples"][arm]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_f64)
            .collect()
    };
    let raw = samples("raw");
    if raw.is_empty() {
        return vec![];
    }
    let mut detail = vec![format!(
        "beside raw reqwest, sample by sample in one process ({} pairs):",
        raw.len()
    )];
    for (arm, label) in ARMS {
        let pairs: Vec<[f64; 2]> = samples(arm)
            .into_iter()
            .zip(&raw)
            .map(|(ours, raw)| [ours, *raw])
            .collect();
        let extra = median(pairs.iter().map(|[ours, raw]| ours - raw).collect());
        let (slower, n, p) = sign_test(&pairs);
        detail.push(format!(
            "  {label}: {extra:+.3} ms (median of differences), slower in {slower} of {n} \
             (sign test, p = {p:.2}): {}",
            verdict(p)
        ));
    }
    let decode = &parts["decode_client_us"];
    if let (Some(warm), Some(cold)) = (decode["warm"].as_f64(), decode["cold"].as_f64()) {
        detail.push(format!(
            "decoding Hydra's answer into the typed OAuth2Client: {warm:.1} µs with warm \
             caches, {cold:.1} µs after evicting them"
        ));
    }
    detail
}

fn verdict(p: f64) -> &'static str {
    if p < SIGNIFICANCE {
        "measurably slower"
    } else {
        "not measurably slower"
    }
}

fn percent(ours: f64, theirs: f64) -> f64 {
    (ours / theirs - 1.0) * 100.0
}

fn get(figures: &Map<String, Value>, key: &str, side: &str) -> f64 {
    figures[key][side].as_f64().unwrap_or(f64::NAN)
}

fn fmt(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_machine_control_reports_two_threads_against_one() {
        let detail = super::machine_detail(&[[1.0, 1.02], [1.0, 1.01], [1.0, 0.99]]);
        assert_eq!(detail.len(), 1);
        assert!(
            detail[0].contains("+1.00 %") && detail[0].contains("slower in 2 of 3 batches"),
            "{detail:?}"
        );
        assert!(super::machine_detail(&[]).is_empty());
    }
}
