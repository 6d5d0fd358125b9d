//! Report: what a regeneration did, in the words `cargo xtask regen` prints (and the insta
//! snapshot in `snapshots/` pins).

use std::fmt;

use hydra_sdk_codegen::{fixups, Provenance, Source};

use super::diff::SpecDiff;
use super::SNAPSHOT;

/// What a regeneration did.
#[derive(Debug)]
pub struct Report {
    /// The provenance before, if there was one.
    pub previous: Option<Provenance>,
    /// The provenance now recorded.
    pub provenance: Provenance,
    /// The raw upstream specs compared, before fix-ups.
    pub diff: SpecDiff,
    /// What each fix-up did to the new spec.
    pub fixups: Vec<fixups::Report>,
    /// Fix-ups that did something else to the previous spec (before, after): one that marks
    /// fewer secrets or rewrites fewer operations is as suspect as one that finds nothing.
    pub fixups_changed: Vec<(fixups::Report, fixups::Report)>,
    /// The surface snapshot's changed lines (one per operation), `- old` and `+ new`.
    pub surface: Vec<String>,
    /// Operations in the surface before and after.
    pub operation_count: (usize, usize),
    /// Files rewritten, relative to the repository root; unchanged files are not touched.
    pub written: Vec<String>,
    /// Things to look at by hand.
    pub notes: Vec<String>,
    /// `None` when the build was skipped.
    pub build: Option<std::result::Result<(), String>>,
}

impl Report {
    /// Fix-ups that found nothing to fix in the new spec.
    pub fn fixups_not_found(&self) -> Vec<&fixups::Report> {
        self.fixups
            .iter()
            .filter(|r| matches!(r.outcome, fixups::Outcome::NotFound(_)))
            .collect()
    }

    fn fmt_spec(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let new = &self.provenance;
        match &self.previous {
            Some(old) if old.version != new.version => {
                writeln!(f, "Hydra spec {} -> {}", old.version, new.version)?
            }
            _ => writeln!(f, "Hydra spec {}", new.version)?,
        }
        writeln!(f, "  source  {}", source_text(new))?;
        match &self.previous {
            Some(old) if old.sha256 != new.sha256 => {
                writeln!(f, "  sha256  {} (was {})", new.sha256, old.sha256)?
            }
            _ => writeln!(f, "  sha256  {}", new.sha256)?,
        }
        writeln!(f, "\nAPI changes (the upstream specs, before fix-ups):")?;
        for line in self.diff.to_string().lines() {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }

    fn fmt_fixups(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "\nfix-ups (hydra-sdk/codegen/src/fixups.rs) on the new spec:"
        )?;
        for report in &self.fixups {
            writeln!(f, "  {report}")?;
        }
        if !self.fixups_changed.is_empty() {
            writeln!(f, "  changed from the previous spec:")?;
            for (before, after) in &self.fixups_changed {
                writeln!(f, "    {}", after.name)?;
                writeln!(f, "      was {}", outcome(&before.outcome))?;
                writeln!(f, "      now {}", outcome(&after.outcome))?;
            }
        }
        let not_found = self.fixups_not_found();
        if !not_found.is_empty() {
            writeln!(
                f,
                "  warning: {} fix-up(s) found nothing to fix: either Hydra repaired the defect \
                 (delete the fix-up) or the spec moved what it patches (update its match)",
                not_found.len()
            )?;
        }
        Ok(())
    }

    fn fmt_files(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "\nSDK surface ({SNAPSHOT}):")?;
        if self.surface.is_empty() {
            writeln!(f, "  unchanged ({} operations)", self.operation_count.1)?;
        }
        for line in &self.surface {
            writeln!(f, "  {line}")?;
        }
        writeln!(f, "\nfiles:")?;
        if self.written.is_empty() {
            writeln!(f, "  none changed")?;
        }
        for path in &self.written {
            writeln!(f, "  wrote {path}")?;
        }
        if !self.notes.is_empty() {
            writeln!(f, "\nto look at:")?;
            for note in &self.notes {
                writeln!(f, "  - {note}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_spec(f)?;
        self.fmt_fixups(f)?;
        self.fmt_files(f)?;
        match &self.build {
            None => writeln!(f, "\nbuild: skipped"),
            Some(Ok(())) => writeln!(f, "\nbuild: cargo build --workspace passed"),
            Some(Err(why)) => writeln!(f, "\nbuild: FAILED: {why}"),
        }
    }
}

fn outcome(outcome: &fixups::Outcome) -> String {
    match outcome {
        fixups::Outcome::Applied(what) => format!("applied: {what}"),
        fixups::Outcome::NotFound(what) => format!("NOT FOUND: {what}"),
    }
}

/// Where the spec came from, in words, for the report and `openapi/README.md`.
pub(super) fn source_text(p: &Provenance) -> String {
    match &p.source {
        Source::Url(url) => format!("`{url}` (`cargo xtask regen --from`)"),
        Source::File(what) => format!("{what} (`cargo xtask regen --from`)"),
        Source::GoModule(module) => format!(
            "`{path}` inside the Go module `{module}@{version}`, as the Go module proxy serves it \
             (`go mod download -json {module}@{version}`)",
            path = p.path,
            version = p.version
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance(source: Source) -> Provenance {
        Provenance {
            version: "v2.3.0".into(),
            source,
            path: "spec/api.json".into(),
            sha256: "ab".into(),
            license: "Apache-2.0".into(),
            copyright: "Copyright © Ory Corp".into(),
        }
    }

    #[test]
    fn each_kind_of_source_is_described_in_its_own_words() {
        let go = source_text(&provenance(Source::GoModule(
            "github.com/ory/hydra/v2".into(),
        )));
        assert!(
            go.contains("go mod download -json github.com/ory/hydra/v2@v2.3.0"),
            "{go}"
        );
        let url = source_text(&provenance(Source::Url("https://x.test/a.json".into())));
        assert_eq!(url, "`https://x.test/a.json` (`cargo xtask regen --from`)");
        let file = source_text(&provenance(Source::File("local file a.json".into())));
        assert_eq!(file, "local file a.json (`cargo xtask regen --from`)");
    }

    #[test]
    fn a_report_names_missing_fixups_and_a_failed_build() {
        let report = Report {
            previous: None,
            provenance: provenance(Source::Url("https://x.test/a.json".into())),
            diff: SpecDiff::default(),
            fixups: vec![fixups::Report {
                name: "set_api_version",
                outcome: fixups::Outcome::NotFound("info.version is not empty".into()),
            }],
            fixups_changed: Vec::new(),
            surface: Vec::new(),
            operation_count: (3, 3),
            written: Vec::new(),
            notes: Vec::new(),
            build: Some(Err("boom".into())),
        };
        let text = report.to_string();
        assert!(text.contains("NOT FOUND set_api_version"), "{text}");
        assert!(
            text.contains("warning: 1 fix-up(s) found nothing"),
            "{text}"
        );
        assert!(text.contains("unchanged (3 operations)"), "{text}");
        assert!(text.contains("none changed"), "{text}");
        assert!(text.ends_with("build: FAILED: boom\n"), "{text}");
    }
}
