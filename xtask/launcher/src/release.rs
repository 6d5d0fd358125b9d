//! The Hydra releases this project builds and tests against, and where each one's source comes
//! from. v2.x is on the Go module proxy under `github.com/ory/hydra/v2`; v25 and later are not
//! (Ory stopped publishing them under that path), so they are built from a `git archive` of the
//! release tag whose sha256 is pinned here.

use std::env;
use std::path::PathBuf;

use crate::{workspace_root, Error};

/// How a release's binary is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildFrom {
    /// The wrapper Go module in `hydra/`, whose `go.mod` requires this release from the Go
    /// module proxy.
    GoModule,
    /// A source archive of the release tag (`git archive --format=tar.gz <tag>`): `HYDRA_SOURCE`,
    /// else `default_archive` (relative to the workspace root). Its sha256 must be `sha256`
    /// unless `HYDRA_SOURCE_SHA256` names another.
    SourceArchive {
        /// Where the archive is by default, relative to the workspace root.
        default_archive: &'static str,
        /// Lower-case hex sha256 of the pinned archive.
        sha256: &'static str,
    },
}

/// A Hydra release: its version string, the tag's commit and date (stamped into the binary like
/// Ory's release builds, so `hydra version` and `GET /version` report them), and its source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Release {
    /// The version `hydra version` and `GET /version` report, e.g. `v26.2.0`.
    pub version: &'static str,
    /// The release tag's commit.
    pub commit: &'static str,
    /// The release tag's date (RFC 3339), when known.
    pub date: Option<&'static str>,
    /// How the binary is built.
    pub from: BuildFrom,
}

/// Hydra v26.2.0, the release the SDK is generated from. Commit and archive digest are those of
/// `../shared/hydra-v26.2.0/README.md`.
pub const V26_2_0: Release = Release {
    version: "v26.2.0",
    commit: "0b84568fffccf151dc5e6c7955fdfb738555bf4b",
    date: None,
    from: BuildFrom::SourceArchive {
        default_archive: "../shared/hydra-v26.2.0/hydra-v26.2.0-source.tar.gz",
        sha256: "26dd5938c9be535857ad4dd0be67c42d6881b2c3854e91013f928d51c86e8116",
    },
};

/// Hydra v2.3.0, the newest release on the Go module proxy; its tag's commit and date are from
/// the proxy's `.info`.
pub const V2_3_0: Release = Release {
    version: "v2.3.0",
    commit: "ee8c339ddada3a42529c0416897abc32bad03bbb",
    date: Some("2025-01-17T08:06:39Z"),
    from: BuildFrom::GoModule,
};

/// Every release the suite runs against, the SDK's own first.
pub const RELEASES: [Release; 2] = [V26_2_0, V2_3_0];

/// The release the SDK is generated from, and the default everywhere a release is not named.
pub const HYDRA_VERSION: &str = V26_2_0.version;

impl Release {
    /// The release called `version` (`v26.2.0` or `v2.3.0`).
    pub fn named(version: &str) -> Result<Release, Error> {
        RELEASES
            .into_iter()
            .find(|r| r.version == version)
            .ok_or_else(|| {
                let known: Vec<&str> = RELEASES.iter().map(|r| r.version).collect();
                Error::Binary(format!(
                    "unknown Hydra release {version:?}; this launcher knows {}",
                    known.join(" and ")
                ))
            })
    }

    /// The release named by the `HYDRA_VERSION` environment variable, else [`HYDRA_VERSION`].
    /// `cargo xtask test` sets it for each leg of its matrix, with a matching `HYDRA_BIN`.
    pub fn selected() -> Result<Release, Error> {
        match env::var("HYDRA_VERSION") {
            Ok(version) if !version.is_empty() => Release::named(&version),
            _ => Release::named(HYDRA_VERSION),
        }
    }

    /// The source archive this release is built from (`HYDRA_SOURCE`, else the default), and
    /// the sha256 it must have (`HYDRA_SOURCE_SHA256`, else the pinned one). `None` for releases
    /// built through the Go module proxy.
    pub fn source_archive(&self) -> Option<(PathBuf, String)> {
        let BuildFrom::SourceArchive {
            default_archive,
            sha256,
        } = self.from
        else {
            return None;
        };
        let path = match env::var_os("HYDRA_SOURCE").filter(|p| !p.is_empty()) {
            Some(path) => workspace_root().join(path),
            None => workspace_root().join(default_archive),
        };
        let sha256 = env::var("HYDRA_SOURCE_SHA256")
            .ok()
            .filter(|s| !s.is_empty())
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_else(|| sha256.to_owned());
        Some((path, sha256))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_are_found_by_name_and_unknown_ones_are_refused() -> Result<(), Error> {
        assert_eq!(Release::named("v2.3.0")?, V2_3_0);
        assert_eq!(Release::named(HYDRA_VERSION)?, V26_2_0);
        let err = Release::named("v25.4.0").err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("v26.2.0 and v2.3.0")),
            "{err:?}"
        );
        Ok(())
    }

    #[test]
    fn only_source_built_releases_have_an_archive() {
        assert!(V2_3_0.source_archive().is_none());
        // HYDRA_SOURCE may be set in a developer's shell; only the digest's form is checked.
        let (_, sha256) = V26_2_0.source_archive().unwrap_or_default();
        assert_eq!(sha256.len(), 64);
    }
}
