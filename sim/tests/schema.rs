//! The JSON Schema for editors (`sim schema`, `schema/scenario.schema.json`): the committed file
//! is what `sim schema` prints, every scenario the project ships validates against it, and a
//! misspelt key, a malformed unit string or an integer beyond its key's range is refused by the
//! schema exactly when the reader refuses it.

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

/// Calls `visit` with every property of `schema` and everything under it, each named by its
/// path (`Temporal.cache_size`, `Step(kind = "llm").group`). A definition is walked once, under
/// its name, not at each `$ref` to it.
fn each_property(
    schema: &serde_json::Value,
    path: &str,
    visit: &mut dyn FnMut(&str, &serde_json::Value),
) {
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
            visit(&join(key), property);
            each_property(property, &join(key), visit);
        }
    }
    if let Some(Value::Object(definitions)) = map.get("definitions") {
        for (name, definition) in definitions {
            each_property(definition, name, visit);
        }
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(alternatives)) = map.get(combinator) {
            for (i, alternative) in alternatives.iter().enumerate() {
                let name = match alternative.pointer("/properties/kind/const") {
                    Some(Value::String(kind)) => format!("{path}(kind = {kind:?})"),
                    _ => format!("{path}[{i}]"),
                };
                each_property(alternative, &name, visit);
            }
        }
    }
    for nested in ["items", "additionalProperties"] {
        if let Some(inner) = map.get(nested) {
            each_property(inner, &format!("{path}[]"), visit);
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
    each_property(&schema, "", &mut |name, property| {
        count += 1;
        let described = property
            .get("description")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|d| !d.trim().is_empty());
        if !described {
            missing.push(name.to_string());
        }
    });
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

/// A scenario each integer key can be tried on alone: a one-minute run without traffic, so the
/// `[run]` limits checked against the traffic and the horizon (events, conversations, rows) hold
/// at 1, and a `run.max_instances` that lets every instance count reach its own maximum.
const RANGE_BASE: &str = r#"
[run]
horizon = "60s"
max_instances = 4294967295

[traffic]
kind = "constant"
rate_per_s = 0.0

[[agent.steps]]
kind = "tool"
latency = { kind = "constant", value = "1s" }
"#;

/// An llm step and its provider, for the keys of both.
const LLM: &str = r#"
[providers.p]
ttft = { kind = "constant", value = "1s" }
output_tokens_per_s = 50.0

[provider_groups]
g = ["p"]

[[agent.steps]]
kind = "llm"
group = "g"
input_tokens = { kind = "constant", value = 100 }
output_tokens = { kind = "constant", value = 100 }
"#;

/// A parallel step of a template run `width` times: `wait_for` is checked against the number
/// of fixed branches only, which a template has none of.
const PARALLEL: &str = r#"
[[agent.steps]]
kind = "parallel"
width = { kind = "constant", value = 2 }
steps = [{ kind = "tool", latency = { kind = "constant", value = "1s" } }]
"#;

const ON_FAILURE: &str = r#"
[[agent.steps]]
kind = "tool"
latency = { kind = "constant", value = "1s" }
on_failure = { steps = [{ kind = "tool", latency = { kind = "constant", value = "1s" } }] }
"#;

/// The autoscalers with their largest maximum, so that the minimum and the initial count can
/// reach theirs (the reader wants min <= initial <= max).
const CLOUD_RUN: &str = r#"
[autoscaler]
kind = "cloud_run"
max_instances = 4294967295
"#;

/// With a scale-up policy, for the keys of `ScalingPolicy`.
const HPA: &str = r#"
[autoscaler]
kind = "hpa"
metric = "cpu"
max_replicas = 4294967295
behavior.scale_up.policies = [{ kind = "pods", value = 4, period = "15s" }]
"#;

const KEDA: &str = r#"
[autoscaler]
kind = "keda"
max_replica_count = 4294967295
"#;

/// Halving (which `initial_replications` and `halving_factor` need) with the most
/// replications, which `initial_replications` may not exceed.
const HALVING: &str = r#"
[sweep]
search = "halving"
replications = 10000
"#;

/// Where the integer keys of each schema definition are written (a number indexes an array),
/// and what the scenario needs besides `RANGE_BASE` for them to reach both ends of their ranges
/// (merged into it, replacing what it gives again). A key is named as `each_property` names
/// it: its definition, a dot and its own name (`Temporal.cache_size`); the top level's keys
/// have no definition (`seed`).
const INTEGER_KEY_TABLES: &[(&str, &str, &str)] = &[
    ("", "", ""),
    ("Run", "run", ""),
    ("Retry", "retry", ""),
    ("Temporal", "temporal", ""),
    ("Instance", "instance", ""),
    (r#"Step(kind = "llm")"#, "agent.steps.0", LLM),
    (r#"Step(kind = "tool")"#, "agent.steps.0", ""),
    (r#"Step(kind = "parallel")"#, "agent.steps.0", PARALLEL),
    ("OnFailure", "agent.steps.0.on_failure", ON_FAILURE),
    (
        r#"Autoscaler(kind = "fixed")"#,
        "autoscaler",
        r#"autoscaler.kind = "fixed""#,
    ),
    (r#"Autoscaler(kind = "cloud_run")"#, "autoscaler", CLOUD_RUN),
    (r#"Autoscaler(kind = "hpa")"#, "autoscaler", HPA),
    (r#"Autoscaler(kind = "keda")"#, "autoscaler", KEDA),
    (
        "ScalingPolicy",
        "autoscaler.behavior.scale_up.policies.0",
        HPA,
    ),
    ("Serving", "serving", r#"serving.mode = "request""#),
    ("Provider", "providers.p", LLM),
    ("Sweep", "sweep", HALVING),
];

/// `add` merged into `base`: tables merge key by key, anything else in `add` replaces.
fn merge(base: &mut toml::Table, add: toml::Table) {
    for (key, value) in add {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => merge(inner, value),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// `RANGE_BASE` with `setup` merged in and the dotted key `at` set to `value`, as TOML.
fn scenario_with(setup: &str, at: &str, value: i64) -> String {
    let mut table: toml::Table = toml::from_str(RANGE_BASE).unwrap();
    merge(&mut table, toml::from_str(setup).unwrap());
    let mut root = toml::Value::Table(table);
    let mut node = &mut root;
    for part in at.split('.') {
        node = match node {
            toml::Value::Table(table) => table
                .entry(part)
                .or_insert_with(|| toml::Value::Table(toml::Table::new())),
            toml::Value::Array(items) => &mut items[part.parse::<usize>().unwrap()],
            _ => panic!("{at}: nothing to hold {part} in the setup"),
        };
    }
    *node = toml::Value::Integer(value);
    toml::to_string(&root).unwrap()
}

/// The schema's integer keys, named as `each_property` names them, with their `minimum` and
/// `maximum`.
fn integer_keys(schema: &serde_json::Value) -> Vec<(String, Option<i64>, Option<i64>)> {
    let mut keys = Vec::new();
    each_property(schema, "", &mut |name, property| {
        if property.get("type").and_then(serde_json::Value::as_str) == Some("integer") {
            let bound = |b: &str| property.get(b).and_then(serde_json::Value::as_i64);
            keys.push((name.to_string(), bound("minimum"), bound("maximum")));
        }
    });
    keys
}

/// The schema says what an editor accepts, the reader what `sim` accepts: for every integer key
/// they agree at the ends of the schema's range. The key at its `minimum` (and `maximum`) is
/// accepted by both and one beyond is refused by both; a key without a `maximum` takes the
/// largest integer TOML can write. The keys come from the schema: a new key of a definition
/// already placed is checked as it is, and one of a new definition fails here until
/// `INTEGER_KEY_TABLES` says where that definition is written.
#[test]
fn every_integer_key_has_the_range_the_reader_enforces() {
    let validator = validator();
    let schema: serde_json::Value =
        serde_json::from_str(&sim::scenario::schema_json()).expect("the schema is JSON");
    let keys = integer_keys(&schema);
    assert!(keys.len() >= 30, "only {} integer keys found", keys.len());
    let mut problems = Vec::new();
    let mut used = vec![false; INTEGER_KEY_TABLES.len()];
    for (name, minimum, maximum) in &keys {
        let (owner, field) = name.rsplit_once('.').unwrap_or(("", name));
        let Some(i) = INTEGER_KEY_TABLES.iter().position(|(o, _, _)| *o == owner) else {
            problems.push(format!(
                "{name}: an integer key of {owner}, which INTEGER_KEY_TABLES does not place \
                 (add where its table is written and what the scenario needs for its keys to \
                 reach both ends of their ranges)"
            ));
            continue;
        };
        used[i] = true;
        let (_, table, setup) = INTEGER_KEY_TABLES[i];
        let at = if table.is_empty() {
            field.to_string()
        } else {
            format!("{table}.{field}")
        };
        let Some(minimum) = *minimum else {
            problems.push(format!(
                "{name}: no minimum in the schema (give the field #[schemars(range(min = ..))])"
            ));
            continue;
        };
        let mut trials = vec![(minimum, true), (minimum - 1, false)];
        match *maximum {
            Some(maximum) => trials.extend([(maximum, true), (maximum + 1, false)]),
            None => trials.push((i64::MAX, true)),
        }
        for (value, valid) in trials {
            let text = scenario_with(setup, &at, value);
            let reader = reader_accepts(&text);
            let schema = schema_errors(&validator, &text);
            let agree = if valid {
                reader.is_ok() && schema.is_empty()
            } else {
                // Refused for this key, not for something else the scenario holds.
                reader.as_ref().is_err_and(|e| e.contains(field)) && !schema.is_empty()
            };
            if !agree {
                let expected = if valid { "accepted" } else { "refused" };
                problems.push(format!(
                    "{name}: {at} = {value} should be {expected} by both: the reader says \
                     {reader:?}, the schema {schema:?}"
                ));
            }
        }
    }
    for ((owner, _, _), used) in INTEGER_KEY_TABLES.iter().zip(used) {
        if !used {
            problems.push(format!(
                "{owner:?}: in INTEGER_KEY_TABLES but holds no integer key of the schema"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
