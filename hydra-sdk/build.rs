//! Generates the Hydra client from the pinned spec in `openapi/` into `$OUT_DIR/hydra.rs`.
//!
//! All the work is in `hydra-sdk-codegen`, which `cargo xtask regen` shares, so CI checks the spec
//! exactly the way the SDK is built from it.
//!
//! The spec is read from inside this package: in the repository `hydra-sdk/openapi` is a symlink
//! to the workspace's `openapi/`, and `cargo package` copies the files it points to, so the
//! published crate builds from the same bytes.

use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let openapi = manifest_dir.join("openapi");
    let spec_path = openapi.join("api.json");
    let source_path = openapi.join("api.source.json");
    println!("cargo:rerun-if-changed={}", spec_path.display());
    println!("cargo:rerun-if-changed={}", source_path.display());
    println!("cargo:rerun-if-changed=build.rs");

    if let Err(e) = generate(&spec_path, &source_path) {
        // A build script's way to fail with a readable message: print it and exit non-zero.
        eprintln!("error: hydra-sdk cannot be generated: {e}");
        std::process::exit(1);
    }
}

fn generate(
    spec_path: &std::path::Path,
    source_path: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let provenance = hydra_sdk_codegen::Provenance::read(source_path)?;
    let spec = std::fs::read(spec_path)
        .map_err(|e| format!("cannot read {}: {e}", spec_path.display()))?;
    let generated = hydra_sdk_codegen::generate(&spec, &provenance)?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("hydra.rs"), generated.code)?;
    std::fs::write(out_dir.join("surface.txt"), generated.surface)?;
    std::fs::write(out_dir.join("decoders.rs"), generated.success_decoders)?;
    Ok(())
}
