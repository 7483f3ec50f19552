//! Repository rule: the scenario reference documents every key the simulator writes and every
//! SLO metric, and the README's output reference lists every metric of the registry and every
//! `timeseries.csv` column with its unit. The keys come from `scenario.resolved.toml` of a scenario that uses every section
//! (`sim/src/scenario/testdata/full.toml`), so a key added to the writer without a line in
//! `docs/scenario-reference.md` fails here.
//!
//! The rule: each key's leaf name appears in backticks (`cache_size`) in the section of the
//! reference that documents its table (the text under the `## ...` heading that names the
//! table), or its full dotted key appears in backticks anywhere. Leaf names alone would be too
//! weak (`name`, `kind`, `max` are everywhere), hence the section.
//!
//! And every relative link in the repository's Markdown files leads somewhere: to a file that
//! exists and, with an anchor, to a heading that has it (GitHub's anchors).

use sim::metrics::registry::{self, Direction};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn reference() -> String {
    std::fs::read_to_string(repo().join("docs/scenario-reference.md"))
        .expect("docs/scenario-reference.md exists")
}

/// Every key of the resolved TOML of the full fixture, as dotted paths with array indexes and
/// provider / group names replaced by placeholders: `agent.steps.N.cpu`,
/// `providers.NAME.timeout`, `conversation.think_time.kind`.
fn resolved_keys() -> BTreeSet<String> {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/scenario/testdata/full.toml");
    let scenario = sim::scenario::load(&fixture, &[]).unwrap_or_else(|e| panic!("{e}"));
    let text = sim::scenario::to_resolved_toml(&scenario);
    let table: toml::Table = toml::from_str(&text).expect("the resolved scenario is TOML");
    let mut keys = BTreeSet::new();
    collect(&toml::Value::Table(table), "", &mut keys);
    keys
}

fn collect(value: &toml::Value, path: &str, keys: &mut BTreeSet<String>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        toml::Value::Table(table) => {
            for (key, child) in table {
                // Names chosen by the user are not keys of the schema.
                let key = match path {
                    "providers" | "provider_groups" => "NAME",
                    _ => key.as_str(),
                };
                let child_path = join(key);
                // A group's providers and a timeline `set`'s assignments are user data.
                if path == "provider_groups" || (key == "set" && path.starts_with("timeline")) {
                    keys.insert(child_path);
                    continue;
                }
                if !matches!(child, toml::Value::Table(_) | toml::Value::Array(_)) {
                    keys.insert(child_path.clone());
                }
                collect(child, &child_path, keys);
            }
        }
        toml::Value::Array(items) => {
            let tables = items.iter().any(|item| item.is_table());
            if !tables {
                // An array of plain values (a provider group's names) is one key.
                keys.insert(path.to_string());
            }
            for item in items {
                collect(item, &join("N"), keys);
            }
        }
        _ => {}
    }
}

/// The section of the reference that documents the table holding `key`: the text from the
/// `## ` heading naming the table's top-level name (`## \`[temporal]\``,
/// `## \`[[agent.steps]]\``, `## Top-level keys`) to the next `## ` heading.
fn section_for<'d>(doc: &'d str, key: &str) -> &'d str {
    let top = key.split('.').next().expect("a key has a first segment");
    let nested = key.contains('.');
    let mut start = None;
    let mut offset = 0;
    for line in doc.split_inclusive('\n') {
        if line.starts_with("## ") {
            if start.is_some() {
                return &doc[start.unwrap_or(0)..offset];
            }
            let heading = line.trim_end();
            let names_top = heading.contains(&format!("[{top}]"))
                || heading.contains(&format!("[{top}."))
                || heading.contains(&format!("[[{top}]]"))
                || heading.contains(&format!("[[{top}."));
            let is_top_level = !nested && heading == "## Top-level keys";
            if names_top || is_top_level {
                start = Some(offset);
            }
        }
        offset += line.len();
    }
    match start {
        Some(start) => &doc[start..],
        None => "",
    }
}

fn leaf(key: &str) -> &str {
    key.rsplit('.')
        .find(|segment| *segment != "N" && *segment != "NAME")
        .unwrap_or(key)
}

fn documented(doc: &str, key: &str) -> bool {
    let dotted = key.replace(".N.", ".").replace(".NAME.", ".");
    if doc.contains(&format!("`{dotted}`")) || doc.contains(&format!("`{key}`")) {
        return true;
    }
    // A provider group's entry is the group name itself: documented by its section existing.
    if key == "provider_groups.NAME" {
        return !section_for(doc, key).is_empty();
    }
    let leaf = leaf(key);
    if section_for(doc, key).contains(&format!("`{leaf}`")) {
        return true;
    }
    // A distribution's parameter (`conversation.think_time.median`): the distribution key is
    // documented in its table's section, and the parameter in the Distributions section.
    let parent = key.rsplit_once('.').map_or("", |(parent, _)| parent);
    !parent.is_empty()
        && documented(doc, parent)
        && distributions_section(doc).contains(&format!("`{leaf}`"))
}

fn distributions_section(doc: &str) -> &str {
    let Some(start) = doc.find("\n## Distributions\n") else {
        return "";
    };
    let body = start + "\n## Distributions\n".len();
    let end = doc[body..].find("\n## ").map_or(doc.len(), |i| body + i);
    &doc[start..end]
}

#[test]
fn the_key_extraction_sees_the_whole_schema() {
    let keys = resolved_keys();
    // The full fixture uses every section: far more than 30 keys. If the extraction broke (an
    // empty table, a parse problem), the rule below would pass vacuously.
    assert!(keys.len() > 80, "only {} keys: {keys:#?}", keys.len());
    for known in [
        "temporal.cache_size",
        "instance.gc.threshold",
        "agent.steps.N.input_tokens.kind",
        "agent.steps.N.latency.mean",
        "providers.NAME.output_tokens_per_s",
        "provider_groups.NAME",
        "autoscaler.scale_in_stabilization",
        "traffic.points.N.rate_per_s",
        "slo.N.metric",
        "timeline.N.set",
        "timeline.N.incident",
        "timeline.N.factor",
        "conversation.think_time.csv",
        "seed",
    ] {
        assert!(keys.contains(known), "{known} not extracted: {keys:#?}");
    }
}

#[test]
fn the_rule_catches_an_undocumented_key() {
    let doc = reference();
    assert!(documented(&doc, "temporal.cache_size"));
    // A key the reference does not have, and a real key looked up in the wrong section.
    assert!(!documented(&doc, "temporal.no_such_setting"));
    assert!(!documented(&doc, "cost.cache_size"));
    // With its line removed from the [temporal] section, a real key is reported.
    let section = section_for(&doc, "temporal.history_page_size");
    let without = doc.replace(
        section,
        &section.replace("`history_page_size`", "history page"),
    );
    assert!(!documented(&without, "temporal.history_page_size"));
}

#[test]
fn every_resolved_key_is_in_the_scenario_reference() {
    let doc = reference();
    let missing: Vec<String> = resolved_keys()
        .into_iter()
        .filter(|key| !documented(&doc, key))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/scenario-reference.md does not document these keys (add each, in backticks, to \
         the section of its table): {missing:#?}"
    );
}

#[test]
fn every_slo_metric_is_in_the_scenario_reference() {
    let doc = reference();
    let slo_section = section_for(&doc, "slo.N.metric");
    assert!(!slo_section.is_empty(), "no [[slo]] section");
    let missing: Vec<&str> = registry::slo_metrics()
        .map(|metric| metric.name)
        .filter(|name| !slo_section.contains(&format!("`{name}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "the [[slo]] section of docs/scenario-reference.md lacks: {missing:?}"
    );
}

fn readme() -> String {
    std::fs::read_to_string(repo().join("README.md")).expect("README.md exists")
}

/// The text under the README heading `heading` (`### Metrics`), up to the next heading.
fn readme_section<'d>(doc: &'d str, heading: &str) -> &'d str {
    let start = doc
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README.md has no {heading}"));
    let body = start + heading.len() + 2;
    let end = doc[body..].find("\n#").map_or(doc.len(), |i| body + i);
    &doc[body..end]
}

/// The cells of each row of the Markdown tables in `section` after the header rows, trimmed.
fn table_rows(section: &str) -> Vec<Vec<&str>> {
    section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim())
                .collect()
        })
        .collect()
}

/// The README's metrics table says, for every metric of the registry and nothing else, its
/// unit, its direction and where it is reported, as the registry declares it.
#[test]
fn the_readme_metrics_table_is_the_registry() {
    let doc = readme();
    let rows = table_rows(readme_section(&doc, "### Metrics"));
    let mark = |yes: bool| if yes { "✓" } else { "" };
    let mut wrong = Vec::new();
    for metric in registry::METRICS {
        let name = format!("`{}`", metric.name);
        let Some(row) = rows.iter().find(|row| row[0] == name) else {
            wrong.push(format!("{}: no row", metric.name));
            continue;
        };
        let direction = match metric.direction {
            Direction::LowerIsBetter => "lower",
            Direction::HigherIsBetter => "higher",
            Direction::Neither => "neither",
        };
        let expected = [
            name.as_str(),
            metric.unit.symbol(),
            direction,
            mark(metric.slo.is_some()),
            mark(metric.per_workload.is_some()),
            mark(registry::SWEPT.contains(&metric)),
            mark(registry::REPLICATED.contains(&metric)),
        ];
        if row.get(..expected.len()) != Some(&expected[..]) {
            wrong.push(format!(
                "{}: the row says {:?}, expected {expected:?}",
                metric.name, row
            ));
        }
    }
    if rows.len() != registry::METRICS.len() {
        wrong.push(format!(
            "{} rows for {} metrics",
            rows.len(),
            registry::METRICS.len()
        ));
    }
    assert!(wrong.is_empty(), "README.md, ### Metrics: {wrong:#?}");
}

/// Every `timeseries.csv` column the registry declares is in the README's table with its unit
/// (a per-provider column as `<prefix>_<provider>`).
#[test]
fn every_timeseries_column_is_in_the_readme_with_its_unit() {
    let doc = readme();
    let rows = table_rows(readme_section(&doc, "### `timeseries.csv`"));
    let fixed = registry::TIMESERIES_COLUMNS
        .iter()
        .chain(registry::REQUEST_COLUMNS)
        .map(|c| (c.name.to_string(), c.unit));
    let per_provider = registry::PROVIDER_COLUMNS
        .iter()
        .map(|c| (format!("{}_<provider>", c.prefix), c.unit));
    let quota = registry::QUOTA_COLUMNS
        .iter()
        .map(|c| (format!("{}_<provider>", c.prefix), c.unit));
    let columns: Vec<(String, registry::Unit)> = fixed.chain(per_provider).chain(quota).collect();
    assert!(columns.len() > 25, "{columns:?}");
    let wrong: Vec<String> = columns
        .iter()
        .filter(|(name, unit)| {
            !rows.iter().any(|row| {
                row[0].split(", ").any(|cell| cell == format!("`{name}`"))
                    && row[1] == unit.symbol()
            })
        })
        .map(|(name, unit)| format!("{name} ({})", unit.symbol()))
        .collect();
    assert!(
        wrong.is_empty(),
        "README.md's timeseries.csv table lacks these columns with their unit: {wrong:?}"
    );
}

// ----- links -----

/// The Markdown files of the repository: every `.md` outside build output and hidden folders.
fn markdown_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("a readable directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with('.') || name == "target" || name == "node_modules" {
                continue;
            }
            if path.is_dir() {
                walk(&path, files);
            } else if name.ends_with(".md") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&repo(), &mut files);
    files
}

/// GitHub's anchor for a heading's text: lower case, every character but letters, digits,
/// spaces, `-` and `_` dropped, spaces turned into `-` (`Autoscalers (`model/autoscaler/`)` is
/// `#autoscalers-modelautoscaler`).
fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// What a Markdown text offers and asks: the anchors of its headings (a repeated heading's
/// later anchors get `-1`, `-2`, as on GitHub) and the destinations of its links and images.
fn anchors_and_links(text: &str) -> (BTreeSet<String>, Vec<String>) {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd};
    let (mut anchors, mut links) = (BTreeSet::new(), Vec::new());
    let mut heading: Option<String> = None;
    for event in Parser::new(text) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => {
                let base = slug(&heading.take().unwrap_or_default());
                let mut anchor = base.clone();
                let mut n = 0;
                while anchors.contains(&anchor) {
                    n += 1;
                    anchor = format!("{base}-{n}");
                }
                anchors.insert(anchor);
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => links.push(dest_url.to_string()),
            _ => {}
        }
    }
    (anchors, links)
}

/// The links of `file` (text `text`) that lead nowhere: a relative path that does not exist, or
/// an anchor that no heading of the target Markdown file has. Web addresses are not checked.
fn broken_links(file: &Path, text: &str) -> Vec<String> {
    let (own_anchors, links) = anchors_and_links(text);
    let mut broken = Vec::new();
    for link in links {
        if link.contains("://") || link.starts_with("mailto:") {
            continue;
        }
        let (path, anchor) = match link.split_once('#') {
            Some((path, anchor)) => (path, Some(anchor)),
            None => (link.as_str(), None),
        };
        let target = if path.is_empty() {
            file.to_path_buf()
        } else {
            file.parent().expect("a file has a folder").join(path)
        };
        if !target.exists() {
            broken.push(format!("{link} (no such file)"));
            continue;
        }
        let Some(anchor) = anchor else { continue };
        let anchors = if path.is_empty() {
            own_anchors.clone()
        } else if target.extension().is_some_and(|e| e == "md") {
            anchors_and_links(&std::fs::read_to_string(&target).expect("a readable file")).0
        } else {
            continue;
        };
        if !anchors.contains(anchor) {
            broken.push(format!("{link} (no heading with that anchor)"));
        }
    }
    broken
}

#[test]
fn the_link_rule_catches_a_missing_file_and_a_missing_anchor() {
    let file = repo().join("docs/scenario-reference.md");
    let text = "# Top\n\n## Autoscalers (`model/autoscaler/`)\n\n## Top\n\n\
                [a](model.md#autoscalers-modelautoscaler) [b](#autoscalers-modelautoscaler) \
                [c](#top-1) [d](https://example.com/x#y)\n\n\
                [e](model.md#autoscalers) [f](no-such-file.md) [g](#nowhere)\n";
    assert_eq!(
        broken_links(&file, text),
        [
            "model.md#autoscalers (no heading with that anchor)",
            "no-such-file.md (no such file)",
            "#nowhere (no heading with that anchor)",
        ]
    );
}

/// A moved file or a renamed heading breaks links silently on GitHub (an anchor that matches
/// nothing lands at the top of the page); here it fails.
#[test]
fn every_relative_link_in_the_markdown_files_resolves() {
    let files = markdown_files();
    assert!(files.len() >= 10, "{files:?}");
    let broken: Vec<String> = files
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(file).expect("a readable file");
            let name = file
                .strip_prefix(repo())
                .unwrap_or(file)
                .display()
                .to_string();
            broken_links(file, &text)
                .into_iter()
                .map(move |link| format!("{name}: {link}"))
        })
        .collect();
    assert!(broken.is_empty(), "links that lead nowhere: {broken:#?}");
}
