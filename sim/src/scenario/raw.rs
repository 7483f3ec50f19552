//! The raw scenario: what the file (and `--set`) says, as a tree of values that remember where
//! they came from. Overrides and timeline `set`s edit this tree before validation, so they get
//! exactly the validation the file's own keys get.

use super::diag::{Diags, Origin};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub origin: Origin,
    pub value: Value,
}

#[derive(Clone, Debug)]
pub(crate) enum Value {
    Str(String),
    Int(i64),
    /// An integer literal beyond i64, TOML's range: kept as written (`text`, with its radix
    /// prefix) so the key that reads it reports it once, with the key's own range, and the seed
    /// can take any u64 (`unsigned`, when it fits), as `--seed` does.
    BigInt {
        text: String,
        unsigned: Option<u64>,
    },
    Float(f64),
    Bool(bool),
    Datetime(String),
    Array(Vec<Node>),
    Table(Table),
}

/// Entries in the order the parser gives them (sorted by key).
#[derive(Clone, Debug, Default)]
pub(crate) struct Table {
    pub entries: Vec<Entry>,
}

#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub key: String,
    pub key_origin: Origin,
    pub node: Node,
}

impl Table {
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.entries.iter().find(|e| e.key == key).map(|e| &e.node)
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.entries
            .iter_mut()
            .find(|e| e.key == key)
            .map(|e| &mut e.node)
    }

    fn set(&mut self, key: &str, origin: &Origin, node: Node) {
        match self.get_mut(key) {
            Some(existing) => *existing = node,
            None => self.entries.push(Entry {
                key: key.into(),
                key_origin: origin.clone(),
                node,
            }),
        }
    }

    pub(crate) fn remove(&mut self, key: &str) {
        self.entries.retain(|e| e.key != key);
    }
}

/// A short description of a value for "found ..." in messages.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Str(s) => format!("string {s:?}"),
        Value::Int(i) => format!("integer {i}"),
        Value::BigInt { text, .. } => format!("integer {text}"),
        // Huge and tiny floats in exponent form (1e300, not 301 digits), as TOML reads them.
        Value::Float(f) if f.is_finite() && (f.abs() >= 1e15 || (*f != 0.0 && f.abs() < 1e-9)) => {
            format!("float {}", format_float(*f))
        }
        Value::Float(f) => format!("float {f}"),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Datetime(d) => format!("datetime {d}"),
        Value::Array(items) if items.is_empty() => "an empty array".into(),
        Value::Array(_) => "an array".into(),
        Value::Table(_) => "a table".into(),
    }
}

/// Byte offsets to 1-based line and column (in characters), in O(log lines) per lookup: the
/// line starts are found once, and for non-ASCII text the characters before each byte, so a
/// large file with many values is located in linear time overall.
pub(crate) struct Lines {
    /// Byte offset of the start of each line.
    starts: Vec<usize>,
    /// For non-ASCII text: the number of characters before each byte offset (len + 1 entries).
    chars_before: Option<Vec<u32>>,
    len: usize,
}

impl Lines {
    pub(crate) fn new(text: &[u8]) -> Lines {
        let mut starts = vec![0];
        starts.extend(
            text.iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        );
        let chars_before = (!text.is_ascii()).then(|| {
            let mut count = 0u32;
            let mut before = Vec::with_capacity(text.len() + 1);
            for &byte in text {
                before.push(count);
                // A UTF-8 continuation byte does not start a character.
                if byte & 0xC0 != 0x80 {
                    count = count.saturating_add(1);
                }
            }
            before.push(count);
            before
        });
        Lines {
            starts,
            chars_before,
            len: text.len(),
        }
    }

    pub(crate) fn origin(&self, offset: usize) -> Origin {
        let offset = offset.min(self.len);
        let line_index = self.starts.partition_point(|&start| start <= offset) - 1;
        let line_start = self.starts[line_index];
        let col = match &self.chars_before {
            None => offset - line_start,
            Some(before) => (before[offset] - before[line_start]) as usize,
        };
        Origin::File {
            line: line_index + 1,
            col: col + 1,
        }
    }
}

/// The location of byte `offset` in `bytes` (which need not be valid UTF-8).
pub(crate) fn origin_of_offset(bytes: &[u8], offset: usize) -> Origin {
    Lines::new(bytes).origin(offset)
}

/// Parses the scenario file. A syntax error ends validation (`None`), since a half-parsed tree
/// would only produce misleading follow-on errors. Only the first syntax error is reported, with
/// a count of the others: after it the parser is guessing, and a file that is not TOML at all
/// (a README given by mistake) would otherwise print hundreds of lines.
pub(crate) fn parse_document(text: &str, diags: &mut Diags) -> Option<Node> {
    let (document, errors) = DeTable::parse_recoverable(text);
    let lines = Lines::new(text.as_bytes());
    if let Some(error) = errors.first() {
        let origin = error
            .span()
            .map_or(Origin::Whole, |span| lines.origin(span.start));
        let mut message = error.message().trim().replace('\n', ", ");
        // The parser's "duplicate key" names no key: the span does.
        let spanned = error
            .span()
            .and_then(|span| text.get(span))
            .map(str::trim)
            .filter(|key| !key.is_empty() && key.len() <= 200);
        if message.starts_with("duplicate key")
            && let Some(key) = spanned
        {
            message = format!(
                "duplicate key `{key}`, expected each key (and each [table]) once per table"
            );
        }
        let more = match errors.len() - 1 {
            0 => String::new(),
            1 => " (and 1 more syntax error after it: fix this one first)".into(),
            n => format!(
                " (and {n} more syntax errors after it: fix this one first; is this a TOML scenario file?)"
            ),
        };
        diags.error(&origin, "", format!("invalid toml: {message}{more}"));
        return None;
    }
    let table = convert_table(document.get_ref(), &lines);
    Some(Node {
        origin: Origin::Whole,
        value: Value::Table(table),
    })
}

/// The parsed table as located nodes. Converting reports nothing: a value is judged by the key
/// that reads it (an integer beyond i64 included), so each problem is one message.
fn convert_table(table: &DeTable<'_>, lines: &Lines) -> Table {
    let entries = table
        .iter()
        .map(|(key, value)| {
            let key = key_text(key);
            Entry {
                node: convert(value, lines),
                key: key.0,
                key_origin: lines.origin(key.1),
            }
        })
        .collect();
    Table { entries }
}

fn key_text(key: &Spanned<std::borrow::Cow<'_, str>>) -> (String, usize) {
    (key.get_ref().to_string(), key.span().start)
}

fn convert(value: &Spanned<DeValue<'_>>, lines: &Lines) -> Node {
    let origin = lines.origin(value.span().start);
    let value = match value.get_ref() {
        DeValue::String(s) => Value::Str(s.to_string()),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::BigInt {
                text: i.to_string(),
                unsigned: u64::from_str_radix(i.as_str(), i.radix()).ok(),
            },
        },
        DeValue::Float(f) => Value::Float(f.as_str().parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => Value::Datetime(d.to_string()),
        DeValue::Array(a) => Value::Array(a.iter().map(|v| convert(v, lines)).collect()),
        DeValue::Table(t) => Value::Table(convert_table(t, lines)),
    };
    Node { origin, value }
}

/// The value of `--set key=VALUE`: TOML if it parses as a TOML value, else the text as a
/// string (so `2GiB` and `"2GiB"` both work). Every node is located at the argument.
pub(crate) fn parse_override_value(text: &str, origin: &Origin) -> Node {
    let text = text.trim();
    // `DeValue::parse` alone is lenient: it reads `1_000s` as an integer whose text is
    // "1000s". A value is TOML only if it also parses as the value of a key in a document.
    // (A number beyond TOML's range fails that parse too, and is still read as one, for the
    // message saying it is out of range or not finite.)
    let strict = is_integer_literal(text)
        || text.parse::<f64>().is_ok()
        || format!("v = {text}").parse::<toml::Table>().is_ok();
    let parsed = DeValue::parse(text)
        .ok()
        .filter(|_| strict)
        .map(|v| convert(&v, &Lines::new(text.as_bytes())));
    match parsed {
        Some(node) => relocate(node, origin),
        None => Node {
            origin: origin.clone(),
            value: Value::Str(text.into()),
        },
    }
}

/// A TOML integer literal, of any size: a sign, then decimal digits, or `0x`, `0o` or `0b`
/// and digits of that base, with single underscores between digits.
fn is_integer_literal(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (digits, radix) = match unsigned.get(..2) {
        Some("0x") => (&unsigned[2..], 16),
        Some("0o") => (&unsigned[2..], 8),
        Some("0b") => (&unsigned[2..], 2),
        _ => (unsigned, 10),
    };
    !digits.is_empty()
        && digits
            .split('_')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_digit(radix)))
}

fn relocate(mut node: Node, origin: &Origin) -> Node {
    node.origin = origin.clone();
    node.value = match node.value {
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|n| relocate(n, origin)).collect())
        }
        Value::Table(mut table) => {
            table.entries = std::mem::take(&mut table.entries)
                .into_iter()
                .map(|entry| Entry {
                    key: entry.key,
                    key_origin: origin.clone(),
                    node: relocate(entry.node, origin),
                })
                .collect();
            Value::Table(table)
        }
        other => other,
    };
    node
}

/// The dotted key a `--set KEY=VALUE` argument sets, spelt as `assign` reads it: each segment
/// trimmed (`--set "run . horizon=1h"` sets `run.horizon`), so that a check comparing keys
/// cannot be passed by spacing one differently. `None` without an `=`.
pub fn override_key(argument: &str) -> Option<String> {
    let (key, _) = argument.split_once('=')?;
    // A quoted segment without a dot is the bare one (`temporal."cache_size"`); one with a dot
    // stays quoted. A malformed key is reported by `assign`: spelt as typed here.
    let Ok(segments) = key_segments(key) else {
        return Some(key.trim().to_string());
    };
    let spelt: Vec<String> = segments
        .into_iter()
        .map(|s| if s.contains('.') { quote(&s) } else { s })
        .collect();
    Some(spelt.join("."))
}

/// Applies one `--set dotted.key=value` argument to the raw document.
pub(crate) fn apply_override(root: &mut Node, argument: &str, diags: &mut Diags) {
    let origin = Origin::Override(argument.to_string());
    let Some((key, value)) = argument.split_once('=') else {
        diags.error(
            &origin,
            "",
            "expected dotted.key=value, such as temporal.cache_size=1000",
        );
        return;
    };
    let key = key.trim(); // `assign` trims each segment too, as `override_key` spells it
    let value = parse_override_value(value, &origin);
    if let Err(message) = assign(root, key, value, &origin) {
        diags.error(&origin, key, message);
    }
}

/// Most segments in a dotted key (`--set`, `--grid`, a `[sweep] grid` or timeline key,
/// `headroom --key`). The deepest key a scenario has is about 25 segments
/// (`workloads.N.agent.steps.N.steps.N...` through `MAX_DEPTH` nested steps); a longer key
/// names nothing, and building its tables (each carrying the argument as its origin) would
/// take memory quadratic in its length and, dropped, recurse once per segment.
pub(crate) const MAX_KEY_SEGMENTS: usize = 64;

/// Keys that say one quantity two ways (a rate string, a number per second): assigning either
/// removes the other from its table, as assigning a key replaces its value. So `--set
/// traffic.rate_per_s=5` (or a grid, or a timeline `set`) works on a file that says `rate =
/// "8/s"`; only a file that writes both is refused ("not both").
const SPELLINGS: [(&str, &str); 2] = [("rate", "rate_per_s"), ("mean_rate", "mean_rate_per_s")];

/// `key`, or for the per-second spelling of a quantity written two ways, the other spelling:
/// what two keys are compared by when either replaces the other.
pub(crate) fn one_spelling(key: &str) -> &str {
    SPELLINGS
        .iter()
        .find(|(_, per_s)| *per_s == key)
        .map_or(key, |(a, _)| a)
}

/// The per-second spelling of a rate string's key (`rate` -> `rate_per_s`).
pub(crate) fn per_second_spelling(key: &str) -> Option<&'static str> {
    SPELLINGS
        .iter()
        .find(|(a, _)| *a == key)
        .map(|(_, per_s)| *per_s)
}

/// Whether two dotted keys name one setting: segment by segment equal, a quantity's two
/// spellings (`SPELLINGS`) alike. (An index is written one way only: `assign` refuses `00`.)
pub(crate) fn same_setting(a: &str, b: &str) -> bool {
    setting_segments(a) == setting_segments(b)
}

/// The segments of a dotted key as compared with another's: read as `assign` reads them
/// (`key_segments`; a malformed key, which `assign` reports, split at its dots as typed), each
/// in `one_spelling`, so that either spelling of a quantity names the same setting.
pub(crate) fn setting_segments(key: &str) -> Vec<String> {
    let segments = key_segments(key)
        .unwrap_or_else(|_| key.split('.').map(|s| s.trim().to_string()).collect());
    segments
        .iter()
        .map(|segment| one_spelling(segment).to_string())
        .collect()
}

/// The segments of a dotted `--set` key, as TOML reads a dotted key: bare segments trimmed,
/// and a segment in double quotes taken whole, dots included (`sweep.grid."temporal.cache_size"`
/// is three segments). An empty bare segment is returned empty, for the caller to refuse; a
/// key of more than `MAX_KEY_SEGMENTS` is an error saying how many it has.
pub(crate) fn key_segments(key: &str) -> Result<Vec<String>, String> {
    let mut segments = Vec::new();
    let mut count = 0usize;
    let mut rest = key;
    loop {
        let trimmed = rest.trim_start();
        let (segment, after) = if let Some(quoted) = trimmed.strip_prefix('"') {
            let end = quoted.find('"').ok_or_else(|| {
                "unterminated quoted key segment, expected a closing `\"`".to_string()
            })?;
            let inner = &quoted[..end];
            if inner.contains('\\') {
                return Err(
                    "a backslash in a quoted key segment: no scenario key has one".to_string(),
                );
            }
            let after = quoted[end + 1..].trim_start();
            if !(after.is_empty() || after.starts_with('.')) {
                return Err(format!(
                    "expected `.` or `=` after the quoted key segment \"{inner}\""
                ));
            }
            (inner.to_string(), after)
        } else {
            let end = trimmed.find('.').unwrap_or(trimmed.len());
            if trimmed[..end].contains('"') {
                return Err(format!(
                    "a quote inside the key segment `{}`: quote a whole segment, as in \
                     sweep.grid.\"temporal.cache_size\"",
                    trimmed[..end].trim()
                ));
            }
            (trimmed[..end].trim().to_string(), &trimmed[end..])
        };
        // Past the limit the key is refused: its segments are counted, not kept.
        count += 1;
        if segments.len() < MAX_KEY_SEGMENTS {
            segments.push(segment);
        }
        match after.strip_prefix('.') {
            Some(next) => rest = next,
            None if count > MAX_KEY_SEGMENTS => {
                return Err(format!(
                    "a key of {count} dotted segments, expected at most {MAX_KEY_SEGMENTS} (no \
                     scenario key is deeper)"
                ));
            }
            None => return Ok(segments),
        }
    }
}

/// Sets `dotted.key` (array elements by index) to `value`, creating missing tables; the other
/// spelling of the same quantity (`SPELLINGS`) is removed. Unknown keys are left for
/// validation to report, with its did-you-mean hints.
pub(crate) fn assign(
    root: &mut Node,
    key: &str,
    value: Node,
    origin: &Origin,
) -> Result<(), String> {
    let segments = key_segments(key)?; // at most `MAX_KEY_SEGMENTS`
    if segments.iter().any(|s| s.is_empty()) {
        return Err("empty key segment, expected a dotted key such as temporal.cache_size".into());
    }
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let mut node = root;
    for (depth, segment) in segments.iter().enumerate() {
        let last = depth + 1 == segments.len();
        let walked = segments[..depth].join(".");
        node = match &mut node.value {
            Value::Table(table) if last => {
                for (a, b) in SPELLINGS {
                    if *segment == a {
                        table.remove(b);
                    } else if *segment == b {
                        table.remove(a);
                    }
                }
                table.set(segment, origin, value);
                return Ok(());
            }
            Value::Table(table) => {
                let next = segments[depth + 1];
                if table.get(segment).is_none() && next.parse::<usize>().is_ok() {
                    // An index into an array the scenario does not have: nothing to index.
                    let array = segments[..=depth].join(".");
                    return Err(format!(
                        "{array} is not in the scenario, so it has no element {next}: write it \
                         in the file, or set it whole ({array}=[...])"
                    ));
                }
                if table.get(segment).is_none() {
                    let empty = Node {
                        origin: origin.clone(),
                        value: Value::Table(Table::default()),
                    };
                    table.set(segment, origin, empty);
                }
                table.get_mut(segment).ok_or("internal: missing table")?
            }
            Value::Array(items) => {
                let length = items.len();
                let index: usize = segment.parse().map_err(|_| {
                    format!("{walked} is an array, expected an index, found \"{segment}\"")
                })?;
                // One spelling per element, so two keys for one setting always look alike
                // (`agent.steps.00.cpu` would slip past "given twice" and the grid checks).
                if index.to_string() != *segment {
                    return Err(format!(
                        "{walked} is an array, expected an index written as {index}, found \
                         \"{segment}\""
                    ));
                }
                let item = items.get_mut(index).ok_or_else(|| {
                    format!("index {index} is out of range, {walked} has {length} elements")
                })?;
                if last {
                    *item = value;
                    return Ok(());
                }
                item
            }
            other => return Err(format!("{walked} is {}, not a table", describe(other))),
        };
    }
    Ok(())
}

/// The value as canonical TOML text (for timeline assignments and the resolved file).
pub(crate) fn format_value(value: &Value) -> String {
    match value {
        Value::Str(s) => quote(s),
        Value::Int(i) => i.to_string(),
        Value::BigInt { text, .. } => text.clone(),
        Value::Float(f) => format_float(*f),
        Value::Bool(b) => b.to_string(),
        Value::Datetime(d) => d.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|n| format_value(&n.value)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Table(table) => {
            let entries: Vec<String> = table
                .entries
                .iter()
                .map(|e| format!("{} = {}", format_key(&e.key), format_value(&e.node.value)))
                .collect();
            if entries.is_empty() {
                "{}".into()
            } else {
                format!("{{ {} }}", entries.join(", "))
            }
        }
    }
}

/// A float as TOML: shortest text that reads back exactly, always with a point or exponent.
pub(crate) fn format_float(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf".into() } else { "-inf".into() }
    } else if f == 0.0 || (1e-9..1e15).contains(&f.abs()) {
        // Plain decimals read better for prices such as 0.000018; still shortest and exact.
        let plain = f.to_string();
        if plain.contains('.') {
            plain
        } else {
            format!("{plain}.0")
        }
    } else {
        format!("{f:?}")
    }
}

/// A TOML basic string.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A key, bare when TOML allows it, else quoted.
pub(crate) fn format_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { key.to_string() } else { quote(key) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Node {
        let mut diags = Diags::new("t".into());
        parse_document(text, &mut diags).expect("valid toml")
    }

    #[test]
    fn origins_are_line_and_column_of_values_and_keys() {
        let root = parse("a = 1\n[t]\n  bb = \"x\"\n");
        let Value::Table(top) = &root.value else {
            panic!("table")
        };
        let Some(Node {
            value: Value::Table(t),
            ..
        }) = top.get("t")
        else {
            panic!("t")
        };
        assert_eq!(t.entries[0].key_origin, Origin::File { line: 3, col: 3 });
        assert_eq!(t.entries[0].node.origin, Origin::File { line: 3, col: 8 });
    }

    #[test]
    fn overrides_parse_toml_or_fall_back_to_strings() {
        let origin = Origin::Whole;
        assert!(matches!(
            parse_override_value("1000", &origin).value,
            Value::Int(1000)
        ));
        assert!(
            matches!(parse_override_value("2GiB", &origin).value, Value::Str(s) if s == "2GiB")
        );
        assert!(
            matches!(parse_override_value("\"2GiB\"", &origin).value, Value::Str(s) if s == "2GiB")
        );
    }

    #[test]
    fn assign_walks_tables_and_array_indexes() {
        let mut root = parse("[[steps]]\nx = 1\n");
        let value = Node {
            origin: Origin::Whole,
            value: Value::Int(5),
        };
        assert!(assign(&mut root, "steps.0.x", value.clone(), &Origin::Whole).is_ok());
        assert!(assign(&mut root, "new.deep.key", value.clone(), &Origin::Whole).is_ok());
        assert_eq!(
            assign(&mut root, "steps.3.x", value.clone(), &Origin::Whole),
            Err("index 3 is out of range, steps has 1 elements".into())
        );
        assert_eq!(
            assign(&mut root, "slo.0.max", value.clone(), &Origin::Whole),
            Err(
                "slo is not in the scenario, so it has no element 0: write it in the file, or \
                 set it whole (slo=[...])"
                    .into()
            )
        );
        assert_eq!(
            assign(&mut root, "steps.0.x.y", value, &Origin::Whole),
            Err("steps.0.x is integer 5, not a table".into())
        );
        let Value::Table(top) = &root.value else {
            panic!("table")
        };
        assert_eq!(
            format_value(&top.get("new").expect("new").value),
            "{ deep = { key = 5 } }"
        );
    }
}
