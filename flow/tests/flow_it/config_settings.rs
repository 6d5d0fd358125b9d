//! The settings table drives everything outside the code: every setting has a variable, a
//! `hydra-token` flag and a doc line, `Config::from_env` reads exactly the table's variables,
//! and the table in flow's README is the one the table generates, so the docs cannot drift.

use std::cell::RefCell;
use std::collections::BTreeSet;

use flow::settings::{markdown_table, Flag, SETTINGS};
use flow::Config;

const BEGIN: &str = "<!-- settings table: generated from flow::settings::SETTINGS -->\n";
const END: &str = "<!-- end of settings table -->";

#[test]
fn the_readme_table_is_the_generated_one() {
    let readme = include_str!("../../README.md");
    let committed = readme
        .split_once(BEGIN)
        .and_then(|(_, rest)| rest.split_once(END))
        .map(|(table, _)| table)
        .expect("flow/README.md holds the settings table between its markers");
    let generated = markdown_table();
    assert!(
        committed == generated,
        "flow/README.md's settings table is stale; replace it with:\n{generated}"
    );
}

#[test]
fn every_setting_has_a_variable_a_flag_and_a_doc_line() {
    let mut variables = BTreeSet::new();
    let mut flags = BTreeSet::new();
    for setting in SETTINGS {
        assert!(setting.env.starts_with("HYDRA_"), "{}", setting.env);
        assert!(variables.insert(setting.env), "{} twice", setting.env);
        assert!(!setting.flags.is_empty(), "{} has no flag", setting.env);
        for flag in setting.flags {
            assert!(flag.flag().starts_with("--"), "{flag:?}");
            assert!(flags.insert(flag.flag()), "{} twice", flag.flag());
        }
        assert!(
            !setting.doc.trim().is_empty() && !setting.doc.contains('\n'),
            "{}: one doc line",
            setting.env
        );
        assert!(!setting.default_text().is_empty(), "{}", setting.env);
    }
    // Only a secret is refused as a flag.
    let refused: Vec<&str> = SETTINGS
        .iter()
        .filter(|s| s.flags.iter().any(|f| matches!(f, Flag::Refused { .. })))
        .map(|s| s.env)
        .collect();
    assert_eq!(refused, ["HYDRA_CLIENT_SECRET"]);
}

#[test]
fn from_env_reads_exactly_the_tables_variables() {
    let asked = RefCell::new(BTreeSet::new());
    let config = Config::from_env_with(|name| {
        asked.borrow_mut().insert(name.to_string());
        match name {
            "HYDRA_ADMIN_URL" => Some("http://127.0.0.1:4445".into()),
            "HYDRA_PUBLIC_URL" => Some("http://127.0.0.1:4444".into()),
            _ => None,
        }
    });
    assert!(config.is_ok(), "{config:?}");
    let table: BTreeSet<String> = SETTINGS.iter().map(|s| s.env.to_string()).collect();
    assert_eq!(asked.into_inner(), table);
}

#[test]
fn defaults_in_the_table_are_the_builders() {
    let config = Config::builder("http://127.0.0.1:4445", "http://127.0.0.1:4444")
        .build()
        .expect("valid");
    let debug = format!("{config:?}");
    let default_of = |env: &str| {
        let setting = SETTINGS.iter().find(|s| s.env == env).expect(env);
        setting.default_text()
    };
    for (env, field) in [
        ("HYDRA_REQUEST_TIMEOUT", "request_timeout"),
        ("HYDRA_CONNECT_TIMEOUT", "connect_timeout"),
        ("HYDRA_DEADLINE", "deadline"),
    ] {
        let seconds = default_of(env).trim_matches('`').to_string();
        assert!(
            debug.contains(&format!("{field}: {seconds}s")),
            "{env}: {debug}"
        );
    }
    assert_eq!(default_of("HYDRA_CLIENT_NAME"), "`hydra-flow`");
    assert_eq!(default_of("HYDRA_ADMIN_URL"), "required");
}
