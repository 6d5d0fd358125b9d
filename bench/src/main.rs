//! The Rust side of `cargo xtask bench`: flow's [`TokenSource`] and `acquire_token_with`, and raw
//! reqwest doing the same requests, measured the way the Go probe (`bench/go`) measures
//! x/oauth2. One measure per run; the result is one JSON object on stdout.
//!
//! Settings come from the environment, which `cargo xtask bench` sets (see `bench/go/main.go`).
//! `flow-bench setup` registers the two clients the measures use and prints their credentials.
#![forbid(unsafe_code)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flow::{Config, Registration, TokenAuthMethod, TokenSource};
use hydra_sdk::{types, ApiResult as _, ExposeSecret, Secret};
use serde_json::{json, Value};

type Result<T = Value> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() {
    let measure = std::env::args().nth(1).unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    // The measure runs on a worker thread, as a service's code does, not on the thread that
    // blocks on the runtime (a third thread on two cores, which would distort every figure).
    let result = runtime.map_err(Into::into).and_then(|rt| {
        rt.block_on(async {
            tokio::spawn(async move {
                match measure.as_str() {
                    "setup" => setup().await,
                    "cached" => cached().await,
                    "refresh" => refresh().await,
                    "herd" => herd().await,
                    "cold" => cold().await,
                    "raw" => raw().await,
                    "rss" => rss().await,
                    "cold-parts" => cold_parts().await,
                    other => Err(format!(
                        "unknown measure {other:?}: setup|cached|refresh|herd|cold|raw|rss|cold-parts"
                    )
                    .into()),
                }
            })
            .await
            .unwrap_or_else(|e| Err(e.into()))
        })
    });
    match result {
        Ok(value) => println!("{value}"),
        Err(e) => {
            eprintln!("rust probe: {e}");
            std::process::exit(1);
        }
    }
}

fn env(key: &str) -> Result<String> {
    std::env::var(key).map_err(|_| format!("{key} is not set").into())
}

fn n() -> Result<u64> {
    env("BENCH_N")?
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| "BENCH_N is not a positive number".into())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A source for a client `setup` registered: no registration on the way to the first token,
/// like the Go side's clientcredentials source.
fn source(id_key: &str, secret_key: &str) -> Result<TokenSource> {
    let client_id = env(id_key)?;
    let config = Config::builder(&env("BENCH_ADMIN_URL")?, &env("BENCH_PUBLIC_URL")?)
        .client_id(client_id.clone())
        .token_auth_method(TokenAuthMethod::ClientSecretBasic)
        .authorize(false)
        .build()?;
    let registration = Registration {
        client_id,
        client_secret: Secret::from(env(secret_key)?),
        registration_access_token: None,
        token_auth_method: TokenAuthMethod::ClientSecretBasic,
        created: false,
    };
    Ok(TokenSource::with_registration(config, registration)?)
}

async fn warm_source() -> Result<TokenSource> {
    let source = source("BENCH_CLIENT_ID", "BENCH_CLIENT_SECRET")?;
    source.token().await?;
    Ok(source)
}

/// Registers the long-lived client and the one whose tokens live 4 s.
async fn setup() -> Result {
    let admin = hydra_sdk::Client::admin(&env("BENCH_ADMIN_URL")?)?;
    let mut out = serde_json::Map::new();
    for (name, lifespan) in [("bench", None), ("bench-short", Some("4s"))] {
        let created = admin
            .create_oauth2_client()
            .body(
                types::OAuth2Client::builder()
                    .client_name(Some(name.to_string()))
                    .grant_types(Some(vec!["client_credentials".to_string()].into()))
                    .token_endpoint_auth_method("client_secret_basic"),
            )
            .send()
            .await
            .api()?;
        let id = created.client_id.clone().ok_or("no client_id")?;
        let secret = created.client_secret.ok_or("no client_secret")?;
        if let Some(lifespan) = lifespan {
            admin
                .set_oauth2_client_lifespans()
                .id(&id)
                .body(
                    types::OAuth2ClientTokenLifespans::builder()
                        .client_credentials_grant_access_token_lifespan(Some(lifespan.parse()?)),
                )
                .send()
                .await
                .api()?;
        }
        let key = if lifespan.is_some() {
            "short"
        } else {
            "client"
        };
        out.insert(format!("{key}_id"), id.into());
        out.insert(
            format!("{key}_secret"),
            secret.expose_secret().to_string().into(),
        );
    }
    Ok(Value::Object(out))
}

/// ns per `token()` from a warm source: 1 caller, and each of 2 concurrent callers of that one
/// source; and, as the control, each of 2 concurrent callers of two separate sources (nothing
/// shared, so what 2 callers cost on this machine whatever the source does). The three kinds of
/// batch take turns in this one process so that all see the same machine. In a batch every
/// caller times its own n calls (so a caller that started late, or the later of the two to
/// finish, does not stretch the other's figure); a batch's figure is their mean, and each figure
/// is the median of its batches. `batches` holds each batch's three figures (1 caller, 2
/// callers, 2 callers of separate sources), for the paired comparisons `cargo xtask bench` makes.
/// `parts`: what the read is made of, each alone in a loop on this machine (see [`read_parts`]).
/// `machine`: in the same batches, ns per step of a loop that touches neither memory nor a
/// clock, on 1 thread and on each of 2 (see [`arithmetic`]): what a second busy core costs
/// code that shares nothing at all on this machine.
async fn cached() -> Result {
    const BATCHES: usize = 9;
    let (source, other) = (warm_source().await?, warm_source().await?);
    let calls = n()?;
    let kinds: [&[TokenSource]; 3] = [
        std::slice::from_ref(&source),
        &[source.clone(), source.clone()],
        &[source.clone(), other],
    ];
    let mut figures = [vec![], vec![], vec![]];
    let mut machine = vec![];
    for batch in 0..BATCHES {
        // Each kind goes first in turn.
        for k in 0..kinds.len() {
            let kind = (batch + k) % kinds.len();
            figures[kind].push(per_call(kinds[kind], calls).await?);
        }
        machine.push([arithmetic(1, calls).await?, arithmetic(2, calls).await?]);
    }
    let batches: Vec<[f64; 3]> = (0..BATCHES)
        .map(|b| [figures[0][b], figures[1][b], figures[2][b]])
        .collect();
    let [one, two, separate] = figures.map(median);
    Ok(json!({
        "value": one,
        "two_callers": two,
        "two_callers_separate_sources": separate,
        "batches": batches,
        "parts": read_parts(calls),
        "machine": machine,
    }))
}

/// ns per call of the two things a cached read does besides a few compares, each alone in a
/// loop of n: an arc-swap load and the release of its guard (two atomic read-modify-writes on the
/// calling thread's own debt slot), and a read of the coarse clock the freshness check uses.
/// They are the read's floor on this machine: what a locked instruction and the vDSO cost here.
fn read_parts(calls: u64) -> Value {
    let swap = arc_swap::ArcSwap::from_pointee(0u64);
    let start = Instant::now();
    for _ in 0..calls {
        black_box(**swap.load());
    }
    let load = start.elapsed().as_nanos() as f64 / calls as f64;
    let start = Instant::now();
    for _ in 0..calls {
        black_box(coarsetime::Instant::now_without_cache_update());
    }
    let clock = start.elapsed().as_nanos() as f64 / calls as f64;
    json!({ "arc_swap_load_ns": load, "coarse_clock_ns": clock })
}

/// `threads` tasks at once, each timing 16 × n steps of a multiply-add kept in a register (about
/// a nanosecond each, so a batch lasts about as long as one of the reads'); the mean of their ns
/// per step. Nothing here touches memory, an atomic or the clock, so whatever 2 threads cost
/// over 1 is the machine's own (the hypervisor, the cores' shared clock and caches), not code.
async fn arithmetic(threads: usize, calls: u64) -> Result<f64> {
    let steps = 16 * calls;
    let tasks: Vec<_> = (0..threads)
        .map(|_| {
            tokio::spawn(async move {
                let start = Instant::now();
                let mut x = 1u64;
                for i in 0..steps {
                    x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
                }
                black_box(x);
                start.elapsed().as_nanos() as f64 / steps as f64
            })
        })
        .collect();
    let mut sum = 0.0;
    for task in tasks {
        sum += task.await?;
    }
    Ok(sum / threads as f64)
}

/// One batch: one caller per source in `sources`, all at once, n cached reads each; the mean of
/// their ns/call.
async fn per_call(sources: &[TokenSource], calls: u64) -> Result<f64> {
    let tasks: Vec<_> = sources
        .iter()
        .map(|source| {
            let source = source.clone();
            tokio::spawn(async move {
                let start = Instant::now();
                for _ in 0..calls {
                    black_box(source.token().await?);
                }
                Ok::<_, flow::Error>(start.elapsed().as_nanos() as f64 / calls as f64)
            })
        })
        .collect();
    let mut sum = 0.0;
    for task in tasks {
        sum += task.await??;
    }
    Ok(sum / sources.len() as f64)
}

/// 4 callers for n seconds (12 in a full run) on the 4 s client, a millisecond apart: the calls
/// over 1 ms, and the slowest call of each 20 ms for the plot.
async fn refresh() -> Result {
    const BUCKET_MS: u64 = 20;
    let run = Duration::from_secs(n()?);
    let source = source("BENCH_SHORT_ID", "BENCH_SHORT_SECRET")?;
    source.token().await?;
    let slowest: Arc<Vec<AtomicU64>> = Arc::new(
        (0..=run.as_millis() as u64 / BUCKET_MS)
            .map(|_| AtomicU64::new(0))
            .collect(),
    );
    let over = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let (source, slowest, over) = (source.clone(), slowest.clone(), over.clone());
            tokio::spawn(async move {
                while start.elapsed() < run {
                    let t = Instant::now();
                    black_box(source.token().await?);
                    let took = t.elapsed();
                    if took > Duration::from_millis(1) {
                        over.fetch_add(1, Ordering::Relaxed);
                    }
                    let slot = (t - start).as_millis() as u64 / BUCKET_MS;
                    if let Some(slot) = slowest.get(slot as usize) {
                        slot.fetch_max(took.as_nanos() as u64, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Ok::<_, flow::Error>(())
            })
        })
        .collect();
    for caller in callers {
        caller.await??;
    }
    let timeline: Vec<Value> = slowest
        .iter()
        .enumerate()
        .filter_map(|(i, ns)| {
            let ns = ns.load(Ordering::Relaxed);
            (ns > 0).then(|| json!([i as u64 * BUCKET_MS, ns]))
        })
        .collect();
    Ok(json!({ "value": over.load(Ordering::Relaxed), "timeline": timeline }))
}

/// Counts the token requests flow makes: each is one `hydra.token` span.
struct CountTokenRequests(Arc<AtomicU64>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountTokenRequests {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if attrs.metadata().name() == "hydra.token" {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// 1000 callers on a cold source: wall ms from the moment they all ask until all have a token,
/// and the token requests; the median of n rounds after a warm-up round, each with a new source.
/// The callers are spawned and parked at a gate first (as the Go probe does with its
/// goroutines), so the figure is the source's, not the cost of spawning 1000 tasks.
async fn herd() -> Result {
    use tracing_subscriber::layer::SubscriberExt;
    let requests = Arc::new(AtomicU64::new(0));
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(CountTokenRequests(requests.clone())),
    )?;
    let mut walls = Vec::new();
    let mut most = 0;
    for round in 0..=n()? {
        requests.store(0, Ordering::Relaxed);
        let source = source("BENCH_CLIENT_ID", "BENCH_CLIENT_SECRET")?;
        let (open, gate) = tokio::sync::watch::channel(false);
        // Like the Go probe's WaitGroup: the last caller to finish wakes the timer once, instead
        // of the timer awaiting 1000 join handles (1000 wake-ups that are no part of the source).
        let pending = Arc::new(AtomicU64::new(1000));
        let all_done = Arc::new(tokio::sync::Notify::new());
        let callers: Vec<_> = (0..1000)
            .map(|_| {
                let (source, mut gate) = (source.clone(), gate.clone());
                let (pending, all_done) = (pending.clone(), all_done.clone());
                tokio::spawn(async move {
                    let _ = gate.wait_for(|open| *open).await;
                    let result = source.token().await.map(|_| ());
                    if pending.fetch_sub(1, Ordering::AcqRel) == 1 {
                        all_done.notify_one();
                    }
                    result
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let start = Instant::now();
        open.send_replace(true);
        all_done.notified().await;
        let wall = start.elapsed();
        for caller in callers {
            caller.await??;
        }
        if round > 0 {
            walls.push(wall.as_secs_f64() * 1000.0);
            most = most.max(requests.load(Ordering::Relaxed));
        }
    }
    Ok(json!({ "value": median(walls.clone()), "requests": most, "samples": walls }))
}

/// What the cold measures acquire with: a new client each time (no client id configured),
/// `client_secret_basic` and scope `read` like the raw requests, and no authorize step.
fn cold_config() -> Result<Config> {
    Ok(
        Config::builder(&env("BENCH_ADMIN_URL")?, &env("BENCH_PUBLIC_URL")?)
            .token_auth_method(TokenAuthMethod::ClientSecretBasic)
            .scope("read")
            .authorize(false)
            .build()?,
    )
}

/// `acquire_token_with` for a new client each time (register, then token): ms, the median of n
/// after a warm-up, and the n samples.
async fn cold() -> Result {
    let config = cold_config()?;
    let mut took = Vec::new();
    for i in 0..=n()? {
        let start = Instant::now();
        black_box(flow::acquire_token_with(&config).await?);
        if i > 0 {
            took.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok(json!({ "value": median(took.clone()), "samples": took }))
}

/// The same two requests as `cold`, by hand on one reused reqwest client: the floor.
async fn raw() -> Result {
    let raw = Raw::new()?;
    let mut took = Vec::new();
    for i in 0..=n()? {
        let start = Instant::now();
        raw.acquire(&raw.minimal_body()).await?;
        if i > 0 {
            took.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok(json!({ "value": median(took.clone()), "samples": took }))
}

/// Raw reqwest making the cold acquire's two requests, on one reused client.
struct Raw {
    http: reqwest::Client,
    admin: String,
    public: String,
}

impl Raw {
    fn new() -> Result<Self> {
        Ok(Raw {
            http: hydra_sdk::http_client_builder().build()?,
            admin: env("BENCH_ADMIN_URL")?,
            public: env("BENCH_PUBLIC_URL")?,
        })
    }

    /// What the `raw` measure registers, as the Go probe does: Hydra generates id and secret.
    fn minimal_body(&self) -> Value {
        json!({
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": "read",
        })
    }

    /// A registration body of the shape flow sends: its own client id and secret (Hydra keeps
    /// only a hash of a secret it generates), and the ownership marker in the metadata.
    fn flow_shaped_body(&self) -> Value {
        let instance = uuid::Uuid::new_v4().to_string();
        json!({
            "client_id": uuid::Uuid::new_v4().to_string(),
            "client_secret": "bench-secret-of-flows-length-0123456789abcd",
            "client_name": "hydra-flow",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": "read",
            "metadata": { flow::MARKER_KEY: {
                "v": 1,
                "created_by": instance,
                "managed": {
                    "client_name": "hydra-flow",
                    "grant_types": ["client_credentials"],
                    "scope": ["read"],
                    "token_endpoint_auth_method": "client_secret_basic",
                },
                "secret_configured": false,
                "secret_set_at": 1_796_316_421,
                "secret_set_by": instance,
                "rev": { uuid::Uuid::new_v4().to_string(): true },
            }},
        })
    }

    /// Registers a client with `body`, then requests a token for it.
    async fn acquire(&self, body: &Value) -> Result<()> {
        let created: Value = self
            .http
            .post(format!("{}/admin/clients", self.admin))
            .json(body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let (Some(id), Some(secret)) = (
            created["client_id"].as_str(),
            created["client_secret"].as_str(),
        ) else {
            return Err("no client_id or client_secret".into());
        };
        let token: Value = self
            .http
            .post(format!("{}/oauth2/token", self.public))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials"), ("scope", "read")])
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        black_box(token["access_token"].as_str().ok_or("no access_token")?);
        Ok(())
    }
}

/// The cold acquire's two requests through hydra-sdk's generated calls: the generated create call
/// (typed body, the whole client decoded from the answer, which flow no longer does: it reads two
/// fields) and the token request through `Client::execute` (the generated call has no
/// per-request header for Basic), its answer decoded by `from_response`, as flow does.
async fn sdk_acquire(
    raw: &Raw,
    admin: &hydra_sdk::Client,
    public: &hydra_sdk::Client,
) -> Result<()> {
    use hydra_sdk::ResponseValue;
    let created = admin
        .create_oauth2_client()
        .body(
            types::OAuth2Client::builder()
                .grant_types(Some(vec!["client_credentials".to_string()].into()))
                .token_endpoint_auth_method("client_secret_basic")
                .scope(Some("read".to_string())),
        )
        .send()
        .await
        .api()?;
    let id = created.client_id.ok_or("no client_id")?;
    let secret = created.client_secret.ok_or("no client_secret")?;
    let request = raw
        .http
        .post(format!("{}/oauth2/token", raw.public))
        .header(reqwest::header::ACCEPT, "application/json")
        .headers(hydra_sdk::basic_auth_headers(&id, &secret)?)
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .build()?;
    let response = public.execute(request).await?;
    let token =
        ResponseValue::<types::OAuth2TokenExchange>::from_response::<types::ErrorOAuth2>(response)
            .await
            .api()?;
    black_box(token.access_token.ok_or("no access_token")?);
    Ok(())
}

/// Where a cold acquire's time goes beside raw reqwest. Four ways to make the two requests take
/// turns sample by sample in this one process against one Hydra, so every sample has a `raw`
/// one taken beside it: `raw` (as the `raw` measure); `raw_flow_body` (raw reqwest registering
/// a body of flow's shape: what Hydra does with flow's body, apart from flow's code); `sdk` (the
/// `raw` requests through hydra-sdk's generated calls); `flow` (`acquire_token_with`). The
/// samples go back in ms, index by index, for `cargo xtask bench` to pair.
///
/// And the typed decode of a whole client as Hydra answers a registration (flow decodes one so
/// when it looks up a configured client id), in µs: with warm caches (decoded just before), and
/// after a 64 MiB write has evicted them: between its requests a client waits on Hydra, whose
/// work in the meantime can leave the caches cold.
async fn cold_parts() -> Result {
    let config = cold_config()?;
    let raw = Raw::new()?;
    let admin = hydra_sdk::Client::new_with_client(&raw.admin, raw.http.clone());
    let public = hydra_sdk::Client::new_with_client(&raw.public, raw.http.clone());
    const ARMS: [&str; 4] = ["raw", "raw_flow_body", "sdk", "flow"];
    let mut samples: [Vec<f64>; 4] = Default::default();
    for i in 0..=n()? {
        for k in 0..ARMS.len() {
            // Each arm goes first in turn.
            let arm = (i as usize + k) % ARMS.len();
            let start = Instant::now();
            match arm {
                0 => raw.acquire(&raw.minimal_body()).await?,
                1 => raw.acquire(&raw.flow_shaped_body()).await?,
                2 => sdk_acquire(&raw, &admin, &public).await?,
                _ => drop(black_box(flow::acquire_token_with(&config).await?)),
            }
            if i > 0 {
                samples[arm].push(start.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
    let arms: serde_json::Map<String, Value> = ARMS
        .iter()
        .zip(samples)
        .map(|(arm, s)| (arm.to_string(), json!(s)))
        .collect();
    Ok(json!({ "samples": arms, "decode_client_us": decode_client(&raw).await? }))
}

/// The typed decode of a registration's answer, warm and with evicted caches (µs, medians).
async fn decode_client(raw: &Raw) -> Result {
    const SAMPLES: usize = 51;
    let answer = raw
        .http
        .post(format!("{}/admin/clients", raw.admin))
        .json(&raw.minimal_body())
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let decode = || -> Result<f64> {
        let start = Instant::now();
        black_box(serde_json::from_slice::<types::OAuth2Client>(black_box(
            &answer,
        ))?);
        Ok(start.elapsed().as_nanos() as f64 / 1000.0)
    };
    // Larger than this machine's caches; one write per 64-byte line.
    let mut evictor = vec![0u8; 64 << 20];
    let (mut warm, mut cold) = (Vec::new(), Vec::new());
    for round in 0..SAMPLES {
        decode()?;
        warm.push(decode()?);
        for line in evictor.chunks_mut(64) {
            line[0] = line[0].wrapping_add(round as u8 | 1);
        }
        black_box(&evictor);
        cold.push(decode()?);
    }
    Ok(json!({ "warm": median(warm), "cold": median(cold) }))
}

/// Peak resident set (VmHWM, kB) of a process holding a warm source after n reads.
async fn rss() -> Result {
    let source = warm_source().await?;
    for _ in 0..n()? {
        black_box(source.token().await?);
    }
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .ok_or("no VmHWM in /proc/self/status")?;
    Ok(json!({ "value": kb }))
}
