//! The JSON Schema for editors (`sim schema`, `schema/scenario.schema.json`): the committed file
//! is what `sim schema` prints, every scenario the project ships validates against it, and a
//! misspelt key or a malformed unit string is refused by the schema exactly when the reader
//! refuses it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

const REGENERATE: &str = "regenerate it with `cargo run -p sim -- schema > schema/scenario.schema.json` \
                          and commit it";

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(&sim::scenario::schema_json()).expect("the schema is JSON");
    jsonschema::draft7::new(&schema).expect("the schema is a valid draft-07 schema")
}

/// A TOML file as the JSON a TOML language server validates.
fn as_json(text: &str) -> serde_json::Value {
    let table: toml::Table = toml::from_str(text).expect("valid TOML");
    serde_json::to_value(table).expect("TOML converts to JSON")
}

/// The schema's errors for `text`, one line each; empty when it validates.
fn schema_errors(validator: &jsonschema::Validator, text: &str) -> Vec<String> {
    let instance = as_json(text);
    validator
        .iter_errors(&instance)
        .map(|e| e.to_string())
        .collect()
}

/// Whether the reader loads `text` (written as `s.toml` in a temporary folder).
fn reader_accepts(text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, text).unwrap();
    sim::scenario::load(&path, &[])
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn toml_files_under(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            toml_files_under(&path, found);
        } else if path.extension().is_some_and(|e| e == "toml") {
            found.push(path);
        }
    }
}

#[test]
fn the_committed_schema_is_what_sim_schema_prints() {
    let committed = std::fs::read_to_string(repo().join("schema/scenario.schema.json"))
        .unwrap_or_else(|e| panic!("schema/scenario.schema.json: {e}; {REGENERATE}"));
    let generated = sim::scenario::schema_json();
    assert!(
        committed == generated,
        "schema/scenario.schema.json differs from what `sim schema` generates: {REGENERATE}"
    );
    let output = Command::new(env!("CARGO_BIN_EXE_sim"))
        .arg("schema")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), generated);
}

#[test]
fn every_shipped_scenario_template_and_fixture_validates() {
    let validator = validator();
    let mut files = Vec::new();
    for dir in ["scenarios", "sim/templates", "docs/tutorial"] {
        toml_files_under(&repo().join(dir), &mut files);
    }
    files.push(repo().join("sim/src/scenario/testdata/full.toml"));
    assert!(files.len() >= 20, "found only {files:?}");
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for error in schema_errors(&validator, &text) {
            problems.push(format!("{}: {error}", file.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_taplo_config_applies_the_committed_schema_to_scenarios() {
    let text = std::fs::read_to_string(repo().join(".taplo.toml")).expect(".taplo.toml exists");
    let config: toml::Table = toml::from_str(&text).expect(".taplo.toml is TOML");
    let rules = config["rule"].as_array().expect("[[rule]] entries");
    let rule = rules
        .iter()
        .find(|r| {
            r.get("include")
                .and_then(|i| i.as_array())
                .is_some_and(|i| i.iter().any(|p| p.as_str() == Some("scenarios/**/*.toml")))
        })
        .expect("a [[rule]] with include = [\"scenarios/**/*.toml\"]");
    let url = rule["schema"]["path"].as_str().expect("schema.path");
    let path = url.strip_prefix("./").unwrap_or(url);
    assert!(repo().join(path).is_file(), "{url} is not a file");
    assert!(path.ends_with("schema/scenario.schema.json"), "{url}");
}

/// The minimal scenario of the reference with `replace` applied: a known-good base that the
/// reader and the schema both accept.
const BASE: &str = r#"
[traffic]
kind = "constant"
rate_per_s = 1.0

[conversation]
idle_timeout = "30m"

[[agent.steps]]
kind = "tool"
latency = { kind = "exponential", mean = "1s" }

[instance]
memory_limit = "512MiB"
"#;

#[test]
fn a_misspelt_key_is_refused_by_the_reader_and_the_schema() {
    let validator = validator();
    assert!(schema_errors(&validator, BASE).is_empty());
    assert_eq!(reader_accepts(BASE), Ok(()));
    for (from, to) in [
        ("[conversation]", "[conversaton]"),
        ("idle_timeout", "idle_timout"),
        ("rate_per_s", "rate_per_sec"),
        ("kind = \"tool\"", "kind = \"tool\"\nlatncy = \"1s\""),
        ("mean = \"1s\"", "mean = \"1s\", median = \"1s\""),
        ("memory_limit", "memory_limt"),
        ("kind = \"constant\"", "kind = \"constnt\""),
    ] {
        let text = BASE.replace(from, to);
        assert!(
            reader_accepts(&text).is_err(),
            "the reader accepts {to:?}:\n{text}"
        );
        assert!(
            !schema_errors(&validator, &text).is_empty(),
            "the schema accepts {to:?}:\n{text}"
        );
    }
}

/// Each unit string goes through the reader and the schema in the same place: they agree.
#[test]
fn unit_strings_are_accepted_as_the_reader_accepts_them() {
    let validator = validator();
    let cases: [(&str, &[&str]); 3] = [
        (
            "idle_timeout = \"30m\"",
            &[
                "250ms", "30s", "1h30m", "0.5s", "50us", "50µs", "2d", "1h 30m", " 15m ", ".5s",
                "7ns", "0s", "30", "30 sec", "-5s", "s", "5S", "", "1.5.2s", "30s!",
            ],
        ),
        (
            "memory_limit = \"512MiB\"",
            &[
                "512MiB", "2GB", "1.5GiB", "1TiB", " 2GiB ", "512 MiB", "512", "512mib", "-1GiB",
                "1GiB2MiB", "GiB",
            ],
        ),
        (
            "rate_per_s = 1.0",
            &[
                "0.5/s",
                "30/m",
                "120/h",
                "2000/d",
                " 120 / h ",
                "1.5/m",
                "0/s",
                "120",
                "120/hour",
                "120/",
                "/h",
                "-1/s",
                "1e3/s",
                "120/H",
            ],
        ),
    ];
    for (key_line, values) in cases {
        let key = key_line.split(' ').next().unwrap();
        let key = if key == "rate_per_s" { "rate" } else { key };
        for value in values {
            let text = BASE.replace(key_line, &format!("{key} = \"{value}\""));
            let reader = reader_accepts(&text);
            let schema = schema_errors(&validator, &text);
            assert_eq!(
                reader.is_ok(),
                schema.is_empty(),
                "{key} = {value:?}: the reader says {reader:?}, the schema {schema:?}"
            );
        }
    }
}

/// The properties of `schema` and everything under it without a non-empty `description`, each
/// named by its path (`Temporal.cache_size`, `Step(kind = "llm").group`); `count` counts every
/// property seen. A definition is walked once, under its name, not at each `$ref` to it.
fn undescribed(schema: &serde_json::Value, path: &str, count: &mut usize, found: &mut Vec<String>) {
    use serde_json::Value;
    let Value::Object(map) = schema else {
        return;
    };
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    if let Some(Value::Object(properties)) = map.get("properties") {
        for (key, property) in properties {
            *count += 1;
            let described = property
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| !d.trim().is_empty());
            if !described {
                found.push(join(key));
            }
            undescribed(property, &join(key), count, found);
        }
    }
    if let Some(Value::Object(definitions)) = map.get("definitions") {
        for (name, definition) in definitions {
            undescribed(definition, name, count, found);
        }
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(alternatives)) = map.get(combinator) {
            for (i, alternative) in alternatives.iter().enumerate() {
                let name = match alternative.pointer("/properties/kind/const") {
                    Some(Value::String(kind)) => format!("{path}(kind = {kind:?})"),
                    _ => format!("{path}[{i}]"),
                };
                undescribed(alternative, &name, count, found);
            }
        }
    }
    for nested in ["items", "additionalProperties"] {
        if let Some(inner) = map.get(nested) {
            undescribed(inner, &format!("{path}[]"), count, found);
        }
    }
}

/// An editor shows a key's `description` when the cursor is on it (taplo's hover and
/// completion): every property of the schema has one, the `kind` of each variant included,
/// written as a doc comment in `sim/src/scenario/schema.rs`.
#[test]
fn every_property_of_the_schema_has_a_description() {
    let schema: serde_json::Value =
        serde_json::from_str(&sim::scenario::schema_json()).expect("the schema is JSON");
    let mut count = 0;
    let mut missing = Vec::new();
    undescribed(&schema, "", &mut count, &mut missing);
    // The walk reaches the whole schema (about 240 properties), not just the top level.
    assert!(count > 200, "only {count} properties found");
    assert!(
        missing.is_empty(),
        "{} of {count} properties have no description (add a `///` comment to the field or \
         variant in sim/src/scenario/schema.rs):\n{}",
        missing.len(),
        missing.join("\n")
    );
}
