//! The copies of the client secret that flow makes while it reads its configuration are zeroed
//! before their memory is freed, as the `Secret` they end in is: freed memory is what a core
//! dump, a swap file or a later out-of-bounds read shows. After a configuration is read and
//! dropped, this test reads its own process's writable memory (`/proc/self/mem`) and looks for
//! the secret. A binary of its own, so that no other test's memory is in the way.
#![cfg(target_os = "linux")]

use std::io::{Read as _, Seek as _, SeekFrom};

use flow::Config;

/// The length of the secret the cases configure: of a size the allocator hands out for little
/// else, so that a freed copy is not soon written over by another value.
const LEN: usize = 200;

/// `LEN` pseudo-random letters and digits from `seed`, then a newline (as a secret file ends).
const fn text(seed: u64) -> [u8; LEN + 1] {
    let mut out = [b'\n'; LEN + 1];
    let (mut x, mut i) = (seed, 0);
    while i < LEN {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        out[i] = b"abcdefghijklmnopqrstuvwxyz0123456789"[(x >> 33) as usize % 36];
        i += 1;
    }
    out
}

/// The secret, and a canary that shows the check sees a freed copy. Neither is put on the heap
/// by this test but as the values handed to flow.
static SECRET_LINE: [u8; LEN + 1] = text(0x5ec7e7);
static CANARY_LINE: [u8; LEN + 1] = text(0xca7a7);

fn secret() -> &'static str {
    std::str::from_utf8(&SECRET_LINE[..LEN]).expect("ASCII")
}

/// What is looked for: 32 bytes of the text past its first 16, which the C allocator overwrites
/// with its own pointers when a block is freed; a part, so that a copy of part of the text (a
/// buffer grown while reading) is seen too.
fn tail(line: &[u8; LEN + 1]) -> &[u8] {
    &line[16..48]
}

/// Whether `needle` is anywhere in this process's writable memory (heap, stacks, anonymous
/// mappings), but the main thread's stack, which holds the environment the process started with.
/// Each mapping is read in chunks that overlap by the needle's length. The buffers are large
/// enough for the C allocator to map them apart, so that looking does not write over the small
/// freed blocks it looks for.
fn in_writable_memory(needle: &[u8]) -> bool {
    let mut maps = String::with_capacity(1 << 20);
    std::fs::File::open("/proc/self/maps")
        .and_then(|mut f| f.read_to_string(&mut maps))
        .expect("/proc/self/maps");
    let mut mem = std::fs::File::open("/proc/self/mem").expect("/proc/self/mem");
    let mut chunk = vec![0u8; 1 << 20];
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        // Writable and private; not the kernel's [vvar]/[vsyscall] pages.
        if !perms.starts_with("rw") || line.ends_with("[stack]") || line.ends_with("[vvar]") {
            continue;
        }
        let (start, end) = range.split_once('-').expect("start-end");
        let (start, end) = (
            u64::from_str_radix(start, 16).expect("hex"),
            u64::from_str_radix(end, 16).expect("hex"),
        );
        let mut at = start;
        while at < end {
            let len = usize::try_from(end - at).map_or(chunk.len(), |n| n.min(chunk.len()));
            if mem.seek(SeekFrom::Start(at)).is_err() {
                break;
            }
            let Ok(read) = mem.read(&mut chunk[..len]) else {
                break;
            };
            if read == 0 {
                break;
            }
            if chunk[..read].windows(needle.len()).any(|w| w == needle) {
                return true;
            }
            if at + read as u64 >= end {
                break;
            }
            at += (read - (needle.len() - 1)) as u64;
        }
    }
    false
}

fn base(name: &str) -> Option<String> {
    match name {
        "HYDRA_ADMIN_URL" => Some("http://127.0.0.1:4445".into()),
        "HYDRA_PUBLIC_URL" => Some("http://127.0.0.1:4444".into()),
        "HYDRA_CLIENT_ID" => Some("secret-copies".into()),
        _ => None,
    }
}

/// Set for the child that reads its environment with `Config::from_env`.
const CHILD: &str = "FLOW_SECRET_COPIES_CHILD";

// One test (and its child), so that no other test's thread holds memory while it looks.
#[test]
fn reading_the_secret_leaves_no_copy_in_memory() {
    assert!(!in_writable_memory(tail(&SECRET_LINE)), "before any case");

    // HYDRA_CLIENT_SECRET through a lookup, each call of which hands over a fresh copy.
    let config = Config::from_env_with(|name| match name {
        "HYDRA_CLIENT_SECRET" => Some(secret().to_owned()),
        _ => base(name),
    });
    drop(config.expect("a valid configuration"));
    assert!(
        !in_writable_memory(tail(&SECRET_LINE)),
        "HYDRA_CLIENT_SECRET: a copy is left in memory"
    );

    // HYDRA_CLIENT_SECRET_FILE, with its trailing newline.
    let dir = std::env::temp_dir().join(format!("flow-secret-copies-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let file = dir.join("secret");
    // A slice, not the array, which would be copied onto this thread's stack.
    std::fs::write(&file, SECRET_LINE.as_slice()).expect("the secret file");
    let path = file.to_str().expect("a UTF-8 path").to_owned();
    let config = Config::from_env_with(|name| match name {
        "HYDRA_CLIENT_SECRET_FILE" => Some(path.clone()),
        _ => base(name),
    });
    drop(config.expect("a valid configuration"));
    std::fs::remove_dir_all(&dir).expect("removed");
    assert!(
        !in_writable_memory(tail(&SECRET_LINE)),
        "HYDRA_CLIENT_SECRET_FILE: a copy is left in memory"
    );

    // The `Authorization: Basic` header of `client_secret_basic`, which the flow has the SDK
    // build for each token request; the header's own value is base64, and the HTTP client's.
    let client_secret = hydra_sdk::Secret::from(secret());
    drop(hydra_sdk::basic_auth_headers("secret-copies", &client_secret).expect("a header"));
    drop(client_secret);
    assert!(
        !in_writable_memory(tail(&SECRET_LINE)),
        "basic_auth_headers: a copy is left in memory"
    );

    // `Config::from_env`, in a child process of this binary given the settings as it starts (a
    // variable set later would be copied onto the heap by the C library).
    let mut child = std::process::Command::new(std::env::current_exe().expect("this test binary"));
    child.args([
        "--ignored",
        "--exact",
        "from_env_in_a_child",
        "--test-threads=1",
    ]);
    for name in ["HYDRA_ADMIN_URL", "HYDRA_PUBLIC_URL", "HYDRA_CLIENT_ID"] {
        child.env(name, base(name).expect("a base setting"));
    }
    let output = child
        .env("HYDRA_CLIENT_SECRET", secret())
        .env(CHILD, "1")
        .output()
        .expect("the child ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "Config::from_env: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The check itself: a copy dropped as it is is seen.
    drop(String::from(
        std::str::from_utf8(&CANARY_LINE[..200]).expect("ASCII"),
    ));
    assert!(
        in_writable_memory(tail(&CANARY_LINE)),
        "the check sees a copy"
    );
}

#[test]
#[ignore = "the child of reading_the_secret_leaves_no_copy_in_memory"]
fn from_env_in_a_child() {
    assert_eq!(std::env::var_os(CHILD).as_deref(), Some("1".as_ref()));
    assert!(!in_writable_memory(tail(&SECRET_LINE)), "before from_env");
    drop(Config::from_env().expect("a valid configuration"));
    assert!(
        !in_writable_memory(tail(&SECRET_LINE)),
        "Config::from_env: a copy is left in memory"
    );
}
