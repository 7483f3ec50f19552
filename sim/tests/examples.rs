//! The recipes under `examples/ci/` and the root `Dockerfile` are files users copy, so they are
//! checked like code: the YAML parses, the Slurm script passes `bash -n`, the Dockerfile builds
//! with the command the README documents, and every `sim` command line in them (in commands,
//! and in the comments that tell what to run next) parses with the real command line
//! (`cli.rs` itself, compiled into this test) and names scenarios that `sim validate` accepts
//! with the command's own `--set`s.

#[allow(dead_code)]
#[path = "../src/cli.rs"]
mod cli;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use yaml_rust2::{Yaml, YamlLoader};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(relative: &str) -> String {
    fs::read_to_string(repo().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn yaml(relative: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(&read(relative))
        .unwrap_or_else(|e| panic!("{relative} is not valid YAML: {e}"))
}

/// Every string scalar in a YAML document, depth first.
fn strings(node: &Yaml, found: &mut Vec<String>) {
    match node {
        Yaml::String(text) => found.push(text.clone()),
        Yaml::Array(items) => items.iter().for_each(|item| strings(item, found)),
        Yaml::Hash(map) => map.values().for_each(|value| strings(value, found)),
        _ => {}
    }
}

/// The keys whose values are shell: a GitHub Actions step's `run`, a container's `command` and
/// `args` (not `name: sim sweep`, which is a title).
const SHELL_KEYS: [&str; 3] = ["run", "command", "args"];

/// Every string under a `SHELL_KEYS` key, depth first.
fn shell_strings(node: &Yaml, found: &mut Vec<String>) {
    match node {
        Yaml::Array(items) => items.iter().for_each(|item| shell_strings(item, found)),
        Yaml::Hash(map) => {
            for (key, value) in map {
                if key.as_str().is_some_and(|k| SHELL_KEYS.contains(&k)) {
                    strings(value, found);
                } else {
                    shell_strings(value, found);
                }
            }
        }
        _ => {}
    }
}

/// Shell and CI variables replaced by a sample value (`1`), so `--shard $((I + 1))/8` reads as
/// `--shard 1/8`: `${{ expr }}`, `$((expr))`, `${NAME}`, `$NAME`.
fn substitute(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let (open, close) = if tail.starts_with("${{") {
            ("${{", "}}")
        } else if tail.starts_with("$((") {
            ("$((", "))")
        } else if tail.starts_with("${") {
            ("${", "}")
        } else {
            ("$", "")
        };
        let after = &tail[open.len()..];
        let end = if close.is_empty() {
            after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len())
        } else {
            after
                .find(close)
                .map(|i| i + close.len())
                .unwrap_or_else(|| panic!("unclosed {open} in {line}"))
        };
        out.push('1');
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Shell words of one line: (word, whether it was quoted). Quotes group, and are removed.
fn words(line: &str) -> Vec<(String, bool)> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                quoted = true;
            }
            (None, c) if c.is_whitespace() => {
                if !word.is_empty() || quoted {
                    words.push((std::mem::take(&mut word), quoted));
                }
                quoted = false;
            }
            (None, c) => word.push(c),
        }
    }
    // An unclosed quote (an apostrophe in a comment's prose) ends the line as one word.
    if !word.is_empty() || quoted {
        words.push((word, quoted));
    }
    words
}

const SEPARATORS: [&str; 6] = ["&&", "||", ";", "|", "then", "do"];

/// The `sim` command lines in `text` (shell lines, continuations joined; a comment line counts
/// when it starts with a command): argv from `sim` up to the first separator or redirection. A
/// quoted word is searched too (`--wrap "sim merge ..."`).
fn sim_commands(text: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    for line in text.replace("\\\n", " ").lines() {
        let line = line.trim();
        let line = line.strip_prefix('#').map_or(line, str::trim);
        commands.extend(commands_in_line(&substitute(line)));
    }
    commands
}

fn commands_in_line(line: &str) -> Vec<Vec<String>> {
    let words = words(line);
    let mut commands = Vec::new();
    for (index, (word, quoted)) in words.iter().enumerate() {
        let at_command = index == 0 || SEPARATORS.contains(&words[index - 1].0.as_str());
        if at_command && !quoted && (word == "sim" || word.ends_with("/sim")) {
            let argv: Vec<String> = std::iter::once("sim".to_string())
                .chain(
                    words[index + 1..]
                        .iter()
                        .map(|(w, _)| w.clone())
                        .take_while(|w| {
                            !SEPARATORS.contains(&w.as_str())
                                && !w.starts_with('>')
                                && !w.starts_with('<')
                                && !w.starts_with("2>")
                        }),
                )
                .collect();
            if argv.len() > 1 {
                commands.push(argv);
            }
        } else if *quoted && word.contains(' ') {
            commands.extend(commands_in_line(word));
        }
    }
    commands
}

/// Checks one command with the real parser, and validates the scenarios it names (with its
/// `--set`s and `--horizon`) with the binary. `base/` is the workflow's checkout of the base
/// branch: the same repository.
fn check_command(file: &str, argv: &[String]) {
    let task = cli::parse(argv)
        .unwrap_or_else(|e| panic!("{file}: `{}` is refused by sim:\n{e}", argv.join(" ")));
    let (scenarios, overrides): (Vec<PathBuf>, Vec<String>) = match task {
        cli::Task::Run(s) => (s.files, s.overrides),
        cli::Task::Validate(s) => (s.files, s.overrides),
        cli::Task::Sweep(s) => (vec![s.file], s.overrides),
        cli::Task::Diff(s) => (vec![s.a, s.b], s.overrides),
        cli::Task::Headroom(s) => (vec![s.file], s.overrides),
        cli::Task::Merge(_)
        | cli::Task::Completions(_)
        | cli::Task::Man(_)
        | cli::Task::Schema
        | cli::Task::New(_) => return,
    };
    for scenario in scenarios {
        let relative = scenario.strip_prefix("base").unwrap_or(&scenario);
        assert!(
            relative.is_relative(),
            "{file}: {} should be relative to the repository",
            scenario.display()
        );
        let path = repo().join(relative);
        assert!(
            path.is_file(),
            "{file}: `{}` names {}, which is not in the repository",
            argv.join(" "),
            scenario.display()
        );
        let mut validate = Command::new(env!("CARGO_BIN_EXE_sim"));
        validate.arg("validate").arg(&path);
        for value in &overrides {
            validate.arg("--set").arg(value);
        }
        let output = validate.output().expect("the sim binary starts");
        assert!(
            output.status.success(),
            "{file}: `{}`: {}",
            argv.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The commands of a YAML file: in its shell values and in its comments.
fn yaml_commands(relative: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for document in yaml(relative) {
        shell_strings(&document, &mut found);
    }
    let comments: String = read(relative)
        .lines()
        .filter(|l| l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    found.push(comments);
    found.iter().flat_map(|text| sim_commands(text)).collect()
}

fn subcommands(commands: &[Vec<String>]) -> Vec<&str> {
    commands.iter().map(|argv| argv[1].as_str()).collect()
}

/// The N of every `--shard K/N` in `commands`.
fn shard_counts(commands: &[Vec<String>]) -> Vec<u32> {
    commands
        .iter()
        .flat_map(|argv| argv.windows(2))
        .filter(|pair| pair[0] == "--shard")
        .map(|pair| pair[1].split_once('/').unwrap().1.parse().unwrap())
        .collect()
}

fn check_all(relative: &str, commands: &[Vec<String>]) {
    for argv in commands {
        check_command(relative, argv);
    }
}

#[test]
fn the_command_finder_reads_shell_as_written() {
    let commands = sim_commands(
        "target/release/sim run a.toml --out \"$OUT\" || [ $? -eq 1 ]\n\
         #   sim merge shards/* --out m\n\
         sbatch --wrap \"sim diff a.toml b.toml\" && echo done\n\
         sim sweep s.toml \\\n  --shard $((JOB_COMPLETION_INDEX + 1))/8 > log\n\
         # prose that mentions sim merge is not a command\n\
         name: sim\n",
    );
    assert_eq!(
        commands,
        [
            vec!["sim", "run", "a.toml", "--out", "1"],
            vec!["sim", "merge", "shards/*", "--out", "m"],
            vec!["sim", "diff", "a.toml", "b.toml"],
            vec!["sim", "sweep", "s.toml", "--shard", "1/8"],
        ]
    );
    assert!(cli::parse(["sim", "sweep", "s.toml", "--shrad", "1/8"]).is_err());
}

#[test]
fn the_pull_request_gate_parses_and_runs_real_commands() {
    let file = "examples/ci/github-actions.yml";
    let documents = yaml(file);
    let workflow = &documents[0];
    assert!(
        !workflow["on"]["pull_request"].is_badvalue(),
        "{file}: on pull_request"
    );
    let steps = workflow["jobs"]["gate"]["steps"]
        .as_vec()
        .expect("gate steps");
    assert!(
        steps
            .iter()
            .any(|s| s["uses"].as_str() == Some("actions/upload-artifact@v4")
                && s["if"].as_str() == Some("always()")),
        "{file}: the artifacts are kept even when the gate fails"
    );
    let commands = yaml_commands(file);
    assert_eq!(
        subcommands(&commands),
        ["run", "run", "diff"],
        "{commands:?}"
    );
    let diff = &commands[2];
    assert!(diff.contains(&"--junit".to_string()), "{diff:?}");
    assert!(
        diff[2].starts_with("base/") && !diff[3].starts_with("base/"),
        "A is the base branch's scenario, B the pull request's: {diff:?}"
    );
    check_all(file, &commands);
}

#[test]
fn the_sweep_recipes_parse_and_their_shards_match_their_job_counts() {
    let file = "examples/ci/github-actions-sweep.yml";
    let documents = yaml(file);
    let matrix = documents[0]["jobs"]["shard"]["strategy"]["matrix"]["shard"]
        .as_vec()
        .expect("a shard matrix");
    let commands = yaml_commands(file);
    assert_eq!(subcommands(&commands), ["sweep", "merge"], "{commands:?}");
    assert_eq!(shard_counts(&commands), [matrix.len() as u32]);
    check_all(file, &commands);
    // `sim merge` exits 1 when no point meets every SLO, which fails its step: the merged
    // sweep, the one place that says how far each point is, is still uploaded.
    let merge_steps = documents[0]["jobs"]["merge"]["steps"]
        .as_vec()
        .expect("merge steps");
    let upload = merge_steps
        .iter()
        .rposition(|s| s["uses"].as_str() == Some("actions/upload-artifact@v4"))
        .expect("the merge job uploads the sweep");
    let merge = merge_steps
        .iter()
        .position(|s| s["run"].as_str().is_some_and(|r| r.contains("sim merge")))
        .expect("the merge job merges");
    assert!(
        merge < upload && merge_steps[upload]["if"].as_str() == Some("always()"),
        "{file}: the merged sweep is uploaded even when the merge exits 1"
    );

    let file = "examples/ci/k8s-indexed-job.yaml";
    let documents = yaml(file);
    let job = documents
        .iter()
        .find(|d| d["kind"].as_str() == Some("Job"))
        .expect("a Job");
    assert_eq!(job["spec"]["completionMode"].as_str(), Some("Indexed"));
    let completions = job["spec"]["completions"].as_i64().expect("completions");
    let commands = yaml_commands(file);
    assert_eq!(subcommands(&commands), ["sweep", "merge"], "{commands:?}");
    assert_eq!(shard_counts(&commands), [completions as u32]);
    let merged = commands[1]
        .iter()
        .filter(|w| w.contains("/shards/"))
        .count();
    assert_eq!(merged as i64, completions, "the merge names every shard");
    check_all(file, &commands);

    let file = "examples/ci/slurm-array.sh";
    let script = read(file);
    if Command::new("bash").arg("--version").output().is_ok() {
        let checked = Command::new("bash")
            .arg("-n")
            .arg(repo().join(file))
            .output()
            .unwrap();
        assert!(
            checked.status.success(),
            "bash -n {file}: {}",
            String::from_utf8_lossy(&checked.stderr)
        );
    }
    let array = script
        .lines()
        .find_map(|l| l.strip_prefix("#SBATCH --array=1-"))
        .expect("an array directive");
    let commands = sim_commands(&script);
    assert_eq!(subcommands(&commands), ["merge", "sweep"], "{commands:?}");
    let tasks: usize = array.parse().unwrap();
    assert_eq!(shard_counts(&commands), [tasks as u32]);
    check_all(file, &commands);
    // Each task runs about runs / tasks runs, at most one per CPU: asking for more CPUs than
    // that holds them idle for the whole job.
    let cpus: usize = script
        .lines()
        .find_map(|l| l.strip_prefix("#SBATCH --cpus-per-task="))
        .expect("a CPU count")
        .parse()
        .unwrap();
    let sweep = sim::scenario::load_sweep(&repo().join(&commands[1][2]), &[], &[])
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    let runs = sweep.grid.len() * sweep.replications.unwrap_or(1) as usize;
    assert!(
        cpus <= runs.div_ceil(tasks),
        "{file}: {cpus} CPUs a task for {runs} runs over {tasks} tasks"
    );
}

#[test]
fn the_dockerfile_builds_with_the_documented_command() {
    let dockerfile = read("Dockerfile");
    let builds: Vec<&str> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("RUN "))
        .filter(|c| c.starts_with("cargo build"))
        .collect();
    assert_eq!(builds.len(), 1, "one build command: {builds:?}");
    let build = builds[0].trim();
    assert_eq!(build, "cargo build --release --locked -p sim");
    assert!(
        read("README.md").contains(&format!("`{build}`")),
        "the README documents `{build}`"
    );
    for workflow in [
        "examples/ci/github-actions.yml",
        "examples/ci/github-actions-sweep.yml",
    ] {
        let mut runs = Vec::new();
        for document in yaml(workflow) {
            shell_strings(&document, &mut runs);
        }
        let cargo: Vec<&String> = runs.iter().filter(|r| r.contains("cargo build")).collect();
        assert!(!cargo.is_empty(), "{workflow} builds sim");
        assert!(
            cargo.iter().all(|r| r.trim() == build),
            "{workflow}: {cargo:?}"
        );
    }
    let stages = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .count();
    assert_eq!(stages, 2, "a build stage and a runtime stage");
    assert!(dockerfile.contains("COPY --from=build /src/target/release/sim "));
    let ignored = read(".dockerignore");
    assert!(ignored.lines().any(|l| l.trim() == "target/"), "{ignored}");
}
