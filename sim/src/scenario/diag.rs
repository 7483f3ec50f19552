//! Diagnostics: where a value came from (`Origin`), the collected error list (`Diags`) and the
//! did-you-mean hint. Every message reads `FILE:LINE:COL: KEY.PATH: what is wrong, expected`.

/// Where a raw value came from, for error locations.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Origin {
    /// The file as a whole (a missing section, say).
    Whole,
    /// A position in the scenario file, 1-based.
    File { line: usize, col: usize },
    /// A `--set` argument, as typed.
    Override(String),
    /// A row of a CSV file the scenario names.
    Csv { file: String, line: usize },
    /// A key or value of the file's `[sweep].grid`, applied to a grid point: its position in
    /// the file, 1-based.
    SweepGrid { line: usize, col: usize },
    /// A `--grid` argument (for a key) or its `key=value` (for one value), as typed.
    GridArg(String),
}

impl Origin {
    /// Sort order: whole-file problems, then by position in the file, then the rest.
    pub(crate) fn sort_key(&self) -> (u8, usize, usize) {
        match self {
            Origin::Whole => (0, 0, 0),
            Origin::File { line, col } => (1, *line, *col),
            Origin::Csv { line, .. } => (2, *line, 0),
            Origin::SweepGrid { line, col } => (1, *line, *col),
            Origin::Override(_) => (3, 0, 0),
            Origin::GridArg(_) => (4, 0, 0),
        }
    }

    /// Whether the value came from a sweep grid (the file's `[sweep].grid` or `--grid`).
    pub(crate) fn is_grid(&self) -> bool {
        matches!(self, Origin::SweepGrid { .. } | Origin::GridArg(_))
    }
}

/// The errors found so far in one scenario file.
pub(crate) struct Diags {
    file: String,
    items: Vec<(Origin, String)>,
}

impl Diags {
    pub(crate) fn new(file: String) -> Diags {
        Diags {
            file,
            items: Vec::new(),
        }
    }

    pub(crate) fn error(&mut self, origin: &Origin, path: &str, message: impl AsRef<str>) {
        let message = message.as_ref();
        let what = if path.is_empty() {
            message.to_string()
        } else {
            format!("{path}: {message}")
        };
        let located = match origin {
            Origin::Whole => format!("{}: {what}", self.file),
            Origin::File { line, col } => format!("{}:{line}:{col}: {what}", self.file),
            Origin::Override(arg) => format!("{}: --set {arg}: {what}", self.file),
            Origin::Csv { file, line } => format!("{file}:{line}:1: {what}"),
            // The setting a grid value was applied to, named as the grid names it.
            Origin::SweepGrid { line, col } if path.is_empty() => {
                format!("{}:{line}:{col}: sweep.grid: {message}", self.file)
            }
            Origin::SweepGrid { line, col } => {
                format!(
                    "{}:{line}:{col}: sweep.grid.\"{path}\": {message}",
                    self.file
                )
            }
            Origin::GridArg(arg) => format!("{}: --grid {arg}: {what}", self.file),
        };
        self.items.push((origin.clone(), located));
    }

    /// An empty list for the same file.
    pub(crate) fn sibling(&self) -> Diags {
        Diags::new(self.file.clone())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Moves `other`'s errors into this list (duplicates are dropped at the end).
    pub(crate) fn append(&mut self, other: Diags) {
        self.items.extend(other.items);
    }

    /// The messages in file order, each once.
    pub(crate) fn into_messages(self) -> Vec<String> {
        self.into_items().into_iter().map(|(_, m)| m).collect()
    }

    /// The messages with their origins, in file order, each once.
    pub(crate) fn into_items(mut self) -> Vec<(Origin, String)> {
        self.items.sort_by_key(|(origin, _)| origin.sort_key());
        let mut seen = std::collections::BTreeSet::new();
        let mut items = Vec::with_capacity(self.items.len());
        for (origin, message) in self.items {
            if seen.insert(message.clone()) {
                items.push((origin, message));
            }
        }
        items
    }
}

/// ` (did you mean "x"?)` when one candidate is close to `word`, else "".
pub(crate) fn hint<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let best = candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(word, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, candidate)) => format!(" (did you mean \"{candidate}\"?)"),
        None => String::new(),
    }
}

/// `"a", "b" or "c"` for messages.
pub(crate) fn one_of<'a>(options: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = options.into_iter().map(|o| format!("\"{o}\"")).collect();
    match quoted.split_last() {
        None => "nothing".into(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_suggests_close_names_only() {
        assert_eq!(
            hint("cach_size", ["cache_size", "vcpus"]),
            " (did you mean \"cache_size\"?)"
        );
        assert_eq!(hint("zzz", ["cache_size", "vcpus"]), "");
    }

    #[test]
    fn messages_are_sorted_by_position_and_deduplicated() {
        let mut diags = Diags::new("s.toml".into());
        diags.error(&Origin::File { line: 9, col: 1 }, "b", "second");
        diags.error(&Origin::File { line: 2, col: 5 }, "a", "first");
        diags.error(&Origin::File { line: 2, col: 5 }, "a", "first");
        diags.error(&Origin::Whole, "traffic", "missing");
        assert_eq!(
            diags.into_messages(),
            [
                "s.toml: traffic: missing",
                "s.toml:2:5: a: first",
                "s.toml:9:1: b: second"
            ]
        );
    }
}
