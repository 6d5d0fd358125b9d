//! The SDK's surface, one line per operation, as a reviewable snapshot: a spec bump or a fix-up
//! change shows up here as a short diff.
//!
//! A binary of its own, at this path, because `cargo xtask regen` writes and checks its snapshot
//! (`snapshots/surface__sdk_surface.snap`); it calls no SDK code, so the SDK is not linked into it.

const SURFACE: &str = include_str!(concat!(env!("OUT_DIR"), "/surface.txt"));

#[test]
fn surface_lists_every_operation() {
    insta::assert_snapshot!("sdk_surface", SURFACE);
    // Hydra v26.2.0 has 50 operations (v2.3.0's 47 and three of the device flow); a generated
    // client that lost one must not pass.
    assert_eq!(SURFACE.lines().count(), 50);
    for line in SURFACE.lines() {
        assert!(!line.contains("ok=?") && !line.contains("err=?"), "{line}");
    }
}
