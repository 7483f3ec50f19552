//! The tutorial (`docs/tutorial.md`) shows real output: every ```sh block in it is followed by
//! a ```text block, and running the block (from a folder holding a copy of `docs/tutorial/`,
//! with this build's `sim` first on the `PATH`, stderr merged into stdout) prints exactly that
//! text. The README's quick start writes where the README's figure is.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The (sh, text) block pairs of `markdown`, in order; panics on a ```sh block without its
/// output, so the tutorial cannot show a command whose output is not checked.
fn command_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = markdown;
    while let Some(start) = rest.find("```sh\n") {
        let after = &rest[start + "```sh\n".len()..];
        let end = after.find("```\n").expect("a closed ```sh block");
        let commands = after[..end].to_string();
        let after = &after[end + "```\n".len()..];
        let text = after.strip_prefix("\n```text\n").unwrap_or_else(|| {
            panic!("the ```sh block\n{commands}is not followed by its ```text output")
        });
        let text_end = text.find("```\n").expect("a closed ```text block");
        pairs.push((commands, text[..text_end].to_string()));
        rest = &text[text_end..];
    }
    pairs
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

#[test]
fn every_command_of_the_tutorial_prints_what_it_shows() {
    let markdown = std::fs::read_to_string(repo().join("docs/tutorial.md")).unwrap();
    let blocks = command_blocks(&markdown);
    assert!(blocks.len() >= 6, "only {} command blocks", blocks.len());
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(
        &repo().join("docs/tutorial"),
        &tmp.path().join("docs/tutorial"),
    );
    let sim_dir = Path::new(env!("CARGO_BIN_EXE_sim")).parent().unwrap();
    let path = format!(
        "{}:{}",
        sim_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (commands, expected) in blocks {
        let output = Command::new("sh")
            .arg("-c")
            .arg(format!("exec 2>&1\n{commands}"))
            .current_dir(tmp.path())
            .env("PATH", &path)
            .output()
            .unwrap();
        let printed = String::from_utf8(output.stdout).unwrap();
        assert!(
            printed == expected,
            "docs/tutorial.md: the output of\n{commands}differs from the tutorial's; if the \
             change is intended, update the ```text block (and the prose around it).\n\
             --- the tutorial shows ---\n{expected}--- the command printed ---\n{printed}"
        );
    }
}

#[test]
fn the_readme_quick_start_writes_where_the_readme_figure_is() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let quick_start = &readme[readme.find("## Quick start").unwrap()..];
    let command = quick_start
        .lines()
        .find(|l| l.starts_with("cargo run --release -- run "))
        .expect("the quick start runs a scenario");
    let out = command
        .split_once("--out ")
        .map(|(_, dir)| dir.split_whitespace().next().unwrap())
        .expect("the quick start names its output folder");
    let figure = readme
        .lines()
        .find_map(|l| l.strip_prefix("![incident timeline]("))
        .and_then(|l| l.strip_suffix(')'))
        .expect("the README shows the incident's figure");
    assert_eq!(
        Path::new(figure).parent().unwrap(),
        Path::new(out),
        "{command}"
    );
    assert!(repo().join(figure).is_file(), "{figure} is committed");
    // The scenario the command runs is the one whose committed results hold the figure.
    let scenario = command.split_whitespace().nth(5).unwrap();
    assert_eq!(scenario, "scenarios/gradient-labs/incident.toml");
    let resolved =
        std::fs::read_to_string(repo().join(out).join("scenario.resolved.toml")).unwrap();
    assert!(resolved.contains("name = \"incident\""), "{out}");
}
