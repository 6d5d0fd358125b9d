//! `cargo xtask regen --check`, CI's side of regen: what is committed is what the pinned spec
//! generates, and nothing in `openapi/` contradicts it.

use std::path::Path;

use hydra_sdk_codegen::Provenance;

use super::plan::{split_snapshot, surface_diff, update_readme_table};
use super::SNAPSHOT;
use crate::Result;

/// `--check`: the pinned spec is the one recorded, the committed surface snapshot is what it
/// generates, and `openapi/README.md` names the recorded version and sha256. Returns a one-line
/// summary.
pub fn check_at(root: &Path) -> Result<String> {
    let openapi = root.join("openapi");
    let provenance = Provenance::read(&openapi.join("api.source.json"))?;
    let spec_path = openapi.join("api.json");
    let spec = std::fs::read(&spec_path)
        .map_err(|e| format!("cannot read {}: {e}", spec_path.display()))?;
    // `generate` verifies the sha256 first; its message says how to recover.
    let generated = hydra_sdk_codegen::generate(&spec, &provenance)?;

    let snapshot = std::fs::read_to_string(root.join(SNAPSHOT))
        .map_err(|e| format!("cannot read {SNAPSHOT}: {e}"))?;
    let (_, committed) = split_snapshot(&snapshot);
    if committed.trim_end() != generated.surface.trim_end() {
        let committed: Vec<&str> = committed.lines().collect();
        let now: Vec<&str> = generated.surface.lines().collect();
        let mut lines = String::new();
        for line in surface_diff(&committed, &now) {
            lines.push_str(&format!("\n  {line}"));
        }
        if lines.is_empty() {
            lines.push_str("\n  (same lines, different order)");
        }
        return Err(format!(
            "{SNAPSHOT} is not the surface openapi/api.json generates \
             (committed -, generated +):{lines}\n\
             review the change, then `cargo xtask regen --no-build` rewrites the snapshot"
        )
        .into());
    }

    let readme = std::fs::read_to_string(openapi.join("README.md"))
        .map_err(|e| format!("cannot read openapi/README.md: {e}"))?;
    let (expected, _) = update_readme_table(&readme, &provenance);
    if expected != readme {
        return Err(format!(
            "openapi/README.md does not describe the pinned spec (api.source.json says {}, \
             sha256 {}); `cargo xtask regen --no-build` rewrites its table",
            provenance.version, provenance.sha256
        )
        .into());
    }
    if !openapi.join("LICENSE").is_file() {
        return Err("openapi/LICENSE is missing: the pinned spec is redistributed under it".into());
    }
    Ok(format!(
        "openapi/ is Hydra {} (sha256 {}), and the committed surface ({} operations) is what it \
         generates",
        provenance.version,
        provenance.sha256,
        generated.surface.lines().count()
    ))
}
