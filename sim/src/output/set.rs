//! The one file writer of sim, and output folders that are complete or visibly not.
//!
//! `write_atomic` is the only function in sim that creates an output file: it writes
//! `.NAME.tmp` beside `NAME` and renames it over `NAME`, so a file that exists is whole (the
//! previous version, or the new one). A process killed mid-write leaves at most a `.NAME.tmp`,
//! which the next run into that folder deletes. A file the user names (`--junit`, `--json`)
//! goes through `write_user_file`, which follows symlinks to the file to replace and writes a
//! FIFO or device in place rather than renaming a regular file over it.
//!
//! A folder of outputs (a run's, a sweep's) is an `OutputSet`. `write` puts its files in a
//! staging folder inside it (`.sim-staging.tmp/`), so while a run goes on, and after it fails,
//! the folder still holds the previous set, whole. `finish` then replaces that set: it deletes
//! the previous `manifest.json` first (from then on the folder is visibly incomplete), then
//! every file the previous set listed, every file this kind of set owns and every temporary
//! leftover, so no stale file can survive (a `--no-plots` rerun leaves no old figure); it moves
//! the new files in by renames and writes `manifest.json` last, listing every file with its
//! size and SHA-256. A folder is a complete set exactly when `manifest.json` exists and every
//! file it lists has that size and hash: a kill during `finish` leaves no manifest. A set
//! dropped unfinished (a failed run) deletes its staging folder; one a kill left behind goes
//! at the next `begin`.

use super::OutputError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

/// The file written last in every output folder; its presence marks the set complete.
pub const MANIFEST: &str = "manifest.json";

/// Writes `bytes` to `path` through `.NAME.tmp` and a rename, so `path` is either the old file,
/// absent, or complete. The temporary file is removed if anything fails.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = path.with_file_name(format!(".{name}.tmp"));
    let result = fs::write(&temporary, bytes).and_then(|()| fs::rename(&temporary, path));
    result.map_err(|source| {
        let _ = fs::remove_file(&temporary);
        OutputError {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Where a file the user named (`--junit FILE`, `--json FILE`) goes. Such a path may be a
/// symlink, a device or a FIFO, and `write_atomic`'s rename would replace it with a regular
/// file (turning `/dev/null` into a file, or a link into a copy), so it is resolved first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserFileTarget {
    /// A regular file, or nothing yet: written atomically at this path, which is the user's
    /// path with its symlinks followed, so a link stays a link and its target gets the bytes.
    Replace(PathBuf),
    /// Not a regular file (a FIFO, a character device such as `/dev/null`, a socket), or a
    /// link through `/proc` (`/dev/stdout`, `/dev/fd/N`, whose targets are open descriptors,
    /// not paths): opened and written in place, never renamed over.
    WriteThrough,
}

/// How many symlinks `user_file_target` follows before calling it a loop (Linux's limit).
const MAX_SYMLINK_HOPS: usize = 40;

/// Resolves `path` as `write_user_file` will write it; `Err` for a symlink loop or a path whose
/// metadata cannot be read (other than not existing).
pub fn user_file_target(path: &Path) -> std::io::Result<UserFileTarget> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINK_HOPS {
        let metadata = match fs::symlink_metadata(&current) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(UserFileTarget::Replace(current));
            }
            Err(error) => return Err(error),
        };
        let file_type = metadata.file_type();
        if !file_type.is_symlink() {
            return Ok(if file_type.is_file() || file_type.is_dir() {
                // A directory is refused by the caller's checks or by the rename, by name.
                UserFileTarget::Replace(current)
            } else {
                UserFileTarget::WriteThrough
            });
        }
        if current.starts_with("/proc") {
            return Ok(UserFileTarget::WriteThrough);
        }
        let link = fs::read_link(&current)?;
        current = match current.parent() {
            Some(parent) => parent.join(link),
            None => link,
        };
    }
    Err(std::io::Error::other(format!(
        "more than {MAX_SYMLINK_HOPS} symlinks to follow (a loop?)"
    )))
}

/// Writes a file the user named (`--junit FILE`, `--json FILE`): atomically, like
/// `write_atomic`, at the file its symlinks lead to; a FIFO or a device is written in place
/// (see `UserFileTarget`), since renaming over it would replace it.
pub fn write_user_file(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    use std::io::Write;
    let failed = |source| OutputError {
        path: path.to_path_buf(),
        source,
    };
    match user_file_target(path).map_err(failed)? {
        UserFileTarget::Replace(target) => write_atomic(&target, bytes),
        // Appending: through `/dev/stdout` redirected to a file, the open starts at offset 0
        // and would overwrite what sim already printed; a FIFO or device ignores it.
        UserFileTarget::WriteThrough => fs::OpenOptions::new()
            .append(true)
            .open(path)
            .and_then(|mut file| file.write_all(bytes).and_then(|()| file.flush()))
            .map_err(failed),
    }
}

/// Writes every `(name, bytes)` into `dir` (which exists), or none of them (`sim man --out`'s
/// pages, a set without a manifest). Every target is checked first (a folder in a page's place
/// would make its rename fail), every page written to its temporary file, and only then are
/// they renamed into place; a failure removes the temporary files written.
pub fn write_all_or_none(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), OutputError> {
    for (name, _) in files {
        let target = dir.join(name);
        if fs::symlink_metadata(&target).is_ok_and(|metadata| metadata.is_dir()) {
            return Err(OutputError {
                path: target,
                source: std::io::Error::other(
                    "a folder is in the way: remove it, or choose another --out",
                ),
            });
        }
    }
    let temporary = |name: &str| dir.join(format!(".{name}.tmp"));
    let remove_temporaries = || {
        for (name, _) in files {
            let _ = fs::remove_file(temporary(name));
        }
    };
    for (name, bytes) in files {
        if let Err(source) = fs::write(temporary(name), bytes) {
            remove_temporaries();
            return Err(OutputError {
                path: dir.join(name),
                source,
            });
        }
    }
    for (name, _) in files {
        if let Err(source) = fs::rename(temporary(name), dir.join(name)) {
            remove_temporaries();
            return Err(OutputError {
                path: dir.join(name),
                source,
            });
        }
    }
    Ok(())
}

/// Whether `write_atomic` could create `name` in `dir` (which exists): it creates and removes
/// the temporary file it would use. A leftover of that name means the folder takes files.
pub fn check_can_create(dir: &Path, name: &str) -> std::io::Result<()> {
    let probe = dir.join(format!(".{name}.tmp"));
    match fs::File::create_new(&probe) {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

/// True for a name `write_atomic` uses for its temporary files.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

/// What kind of outputs a folder holds, and so which files a new set may delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetKind {
    /// `sim run`: the data files, the figures, `replications.csv` and `replications/<r>/`.
    /// Anything else in the folder (a `sweep/` folder, the user's notes) is left alone.
    Run,
    /// `sim sweep` and `sim merge`: `<out>/sweep/`, which sim owns entirely; `runs/` is the
    /// per-run cache for `--resume`, kept across sets and not listed in the manifest.
    Sweep,
    /// `sim headroom --out DIR`: `DIR/headroom/`, which sim owns entirely.
    Headroom,
}

impl SetKind {
    /// The kind as the command that writes it, for messages: "a sweep".
    fn described(self) -> &'static str {
        match self {
            SetKind::Run => "a run",
            SetKind::Sweep => "a sweep",
            SetKind::Headroom => "a headroom search",
        }
    }

    /// The kind as `manifest.json` spells it.
    fn spelt(self) -> &'static str {
        match self {
            SetKind::Run => "run",
            SetKind::Sweep => "sweep",
            SetKind::Headroom => "headroom",
        }
    }

    /// Files at the top of the folder that a set of this kind writes.
    fn owns_file(self, name: &str) -> bool {
        match self {
            SetKind::Run => [
                "summary.json",
                "timeseries.csv",
                "events.csv",
                "scenario.resolved.toml",
                "timeline.png",
                "timeline.svg",
                "replications.csv",
            ]
            .contains(&name),
            SetKind::Headroom => name == "headroom.json",
            SetKind::Sweep => [".csv", ".json", ".png", ".svg"]
                .iter()
                .any(|extension| name.ends_with(extension)),
        }
    }
}

/// Whether a run's output folder holds a file of this name that `sim run` writes there (a
/// report named so by `--junit` would be replaced, or would replace it).
pub fn run_writes(name: &str) -> bool {
    SetKind::Run.owns_file(name) || name == MANIFEST || name == super::html::REPORT
}

/// One file of a set, as `manifest.json` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Relative to the folder, `/`-separated.
    pub path: String,
    pub bytes: u64,
    /// Lowercase hex, as `sha256sum` prints it.
    pub sha256: String,
}

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub program: String,
    pub version: String,
    pub kind: SetKind,
    /// Sorted by path.
    pub files: Vec<ManifestEntry>,
}

/// The staging folder inside an output folder: hidden, and named as a temporary.
pub const STAGING: &str = ".sim-staging.tmp";

/// A folder of outputs being written; see the module comment.
#[derive(Debug)]
pub struct OutputSet {
    root: PathBuf,
    /// The outermost folder `begin` created (`root` itself, or `a` for `--out a/b/c` when `a`
    /// did not exist): a set dropped unfinished removes `root` and its parents up to this one
    /// again, each if empty, so a failed command leaves no trace.
    created: Option<PathBuf>,
    staging: PathBuf,
    kind: SetKind,
    files: Mutex<Vec<ManifestEntry>>,
}

impl OutputSet {
    /// Creates `root` if needed and an empty staging folder in it (removing one a killed run
    /// left). The previous set stays as it is until `finish`.
    pub fn begin(root: &Path, kind: SetKind) -> Result<OutputSet, OutputError> {
        check_replaceable(root, kind)?;
        let created = root
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
            .last()
            .map(Path::to_path_buf);
        super::create_dir(root)?;
        let staging = root.join(STAGING);
        remove_dir_if_present(&staging)?;
        super::create_dir(&staging)?;
        Ok(OutputSet {
            root: root.to_path_buf(),
            created,
            staging,
            kind,
            files: Mutex::new(Vec::new()),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes `relative` (`/`-separated, under the root; parent folders are created) into the
    /// staging folder and records it for the manifest. Safe to call from several threads.
    pub fn write(&self, relative: &str, bytes: &[u8]) -> Result<(), OutputError> {
        let relative_path = safe_relative(relative).unwrap_or_else(|| {
            panic!("output path {relative:?} must be relative and stay inside its folder")
        });
        let path = self.staging.join(relative_path);
        if let Some(parent) = path.parent() {
            super::create_dir(parent)?;
        }
        write_atomic(&path, bytes)?;
        let entry = ManifestEntry {
            path: relative.to_string(),
            bytes: bytes.len() as u64,
            sha256: sha256_hex(bytes),
        };
        self.files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(entry);
        Ok(())
    }

    /// Replaces the previous set by this one: the previous manifest goes first, then the
    /// previous set's files, this kind's files and temporary leftovers; the new files move in,
    /// and `manifest.json` comes last: from then on the folder is a complete set.
    pub fn finish(mut self) -> Result<(), OutputError> {
        let mut files = std::mem::take(
            &mut *self
                .files
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let root = &self.root;
        let manifest_path = root.join(MANIFEST);
        let previous = read_manifest(root);
        remove_file_if_present(&manifest_path)?;
        if let Some(previous) = previous {
            for entry in &previous.files {
                if let Some(relative) = safe_relative(&entry.path) {
                    remove_file_if_present(&root.join(relative))?;
                }
            }
        }
        clear_owned(root, self.kind)?;
        for entry in &files {
            let relative = safe_relative(&entry.path).expect("checked by write");
            let target = root.join(&relative);
            if let Some(parent) = target.parent() {
                super::create_dir(parent)?;
            }
            fs::rename(self.staging.join(&relative), &target).map_err(|source| OutputError {
                path: target.clone(),
                source,
            })?;
        }
        remove_dir_if_present(&self.staging)?;
        self.created = None;
        let manifest = Manifest {
            program: "sim".into(),
            version: crate::VERSION.into(),
            kind: self.kind,
            files,
        };
        let mut bytes = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
        bytes.push(b'\n');
        write_atomic(&manifest_path, &bytes)
    }
}

impl Drop for OutputSet {
    /// An unfinished set (a failed run) leaves the folder as it found it, and removes it if
    /// `begin` created it and nothing else was put there. After `finish` the staging folder is
    /// gone already.
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.staging);
        if let Some(outermost) = &self.created {
            for folder in self.root.ancestors() {
                // A folder something else has written into since stays.
                if fs::remove_dir(folder).is_err() || folder == outermost {
                    break;
                }
            }
        }
    }
}

/// Refuses a `root` that cannot become a folder (it or a parent is a file), and (naming
/// `root`, its kind and what to do) to replace a complete set of another kind:
/// `finish` deletes every file the previous set listed, so `sim run --out results/x/sweep`
/// would otherwise delete a sweep's outputs. Commands call it before anything runs, and
/// `begin` again, so no caller can forget it.
pub fn check_replaceable(root: &Path, kind: SetKind) -> Result<(), OutputError> {
    super::check_can_be_folder(root)?;
    match read_manifest(root) {
        Some(previous) if previous.kind != kind => Err(OutputError {
            path: root.to_path_buf(),
            source: std::io::Error::other(format!(
                "it holds the outputs of {} ({MANIFEST} says kind \"{}\"), which {} would \
                 delete: choose another --out, or delete the folder first",
                previous.kind.described(),
                previous.kind.spelt(),
                kind.described()
            )),
        }),
        _ => Ok(()),
    }
}

/// Refuses a set of `kind` in `root` that would replace or delete one of `inputs` (the
/// scenario file, the CSVs it reads): a trace saved as `events.csv` in the folder a run
/// writes, or anything inside a sweep's or a headroom search's folder, which sim owns. Checked
/// before anything runs, so the run cannot destroy what it reads.
pub fn check_spares_inputs(
    root: &Path,
    kind: SetKind,
    inputs: &[PathBuf],
) -> Result<(), OutputError> {
    // A folder that does not exist holds nothing yet.
    let Ok(folder) = fs::canonicalize(root) else {
        return Ok(());
    };
    let listed = read_manifest(root).map(|m| m.files).unwrap_or_default();
    for input in inputs {
        let Ok(file) = fs::canonicalize(input) else {
            continue;
        };
        let Ok(inside) = file.strip_prefix(&folder) else {
            continue;
        };
        let relative = inside.to_string_lossy().replace('\\', "/");
        let top = inside
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .unwrap_or_default();
        let touched = match kind {
            SetKind::Run => {
                (inside.components().count() == 1 && (run_writes(&top) || is_temporary(&top)))
                    || top == "replications"
                    || top == STAGING
            }
            SetKind::Sweep | SetKind::Headroom => true,
        } || listed.iter().any(|entry| entry.path == relative);
        if touched {
            return Err(OutputError {
                path: root.to_path_buf(),
                source: std::io::Error::other(format!(
                    "{} would replace or delete {}, which this command reads: choose another \
                     --out, or move the file",
                    kind.described(),
                    input.display()
                )),
            });
        }
    }
    Ok(())
}

/// The largest `manifest.json` read: about 150 bytes an entry, and the largest set (a run of
/// 10,000 replications with a few files each) lists under 100,000 entries, so 15 MB; 64 MiB
/// leaves a wide margin and still stops a device or a huge file from being read whole.
pub const MAX_MANIFEST_BYTES: usize = 64 << 20;

/// The manifest in `root`, if there is one that parses (a regular file of at most
/// `MAX_MANIFEST_BYTES`; a FIFO there would block a plain read, `/dev/zero` fill memory).
pub fn read_manifest(root: &Path) -> Option<Manifest> {
    load_manifest(root).ok()
}

/// The manifest in `root`, or why there is none to use (absent, not a regular file, over
/// `MAX_MANIFEST_BYTES`, not a manifest).
pub fn load_manifest(root: &Path) -> Result<Manifest, String> {
    // The limit is in the message of a file over it, and only there.
    let bytes = crate::scenario::read_input_file(&root.join(MANIFEST), MAX_MANIFEST_BYTES)?;
    serde_json::from_slice(&bytes).map_err(|error| error.to_string())
}

/// Checks that `root` holds a complete set: a manifest whose every file exists with its size
/// and hash. `Err` says what is wrong.
pub fn verify(root: &Path) -> Result<Manifest, String> {
    let manifest = read_manifest(root).ok_or_else(|| {
        format!(
            "{}: no readable {MANIFEST}: the outputs are incomplete",
            root.display()
        )
    })?;
    for entry in &manifest.files {
        let relative = safe_relative(&entry.path)
            .ok_or_else(|| format!("{}: bad path in {MANIFEST}", entry.path))?;
        let path = root.join(relative);
        // The size is known: a file of another size (or a FIFO or device) is refused before
        // it is read, so a damaged set cannot make this read gigabytes or block.
        let metadata = fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if !metadata.is_file() {
            return Err(format!(
                "{}: not a regular file (a directory, fifo, socket or device), expected the file \
                 {MANIFEST} lists",
                path.display()
            ));
        }
        if metadata.len() != entry.bytes {
            return Err(format!(
                "{}: does not match {MANIFEST}: {} bytes, expected {}",
                path.display(),
                metadata.len(),
                entry.bytes
            ));
        }
        let limit = usize::try_from(entry.bytes).unwrap_or(usize::MAX);
        let bytes = crate::scenario::read_input_file(&path, limit)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if bytes.len() as u64 != entry.bytes || sha256_hex(&bytes) != entry.sha256 {
            return Err(format!(
                "{}: does not match {MANIFEST}",
                root.join(&entry.path).display()
            ));
        }
    }
    Ok(manifest)
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `relative` as a path when it has only normal components (no `..`, no root).
fn safe_relative(relative: &str) -> Option<PathBuf> {
    let path = Path::new(relative);
    let normal = !relative.is_empty()
        && path
            .components()
            .all(|component| matches!(component, Component::Normal(_)));
    normal.then(|| path.to_path_buf())
}

fn remove_file_if_present(path: &Path) -> Result<(), OutputError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(OutputError {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Removes the folder at `path` and everything in it; a file or symlink by that name (the
/// staging folder's name is sim's own, so whatever holds it is a leftover) is removed too.
fn remove_dir_if_present(path: &Path) -> Result<(), OutputError> {
    let removed = match fs::symlink_metadata(path) {
        Ok(metadata) if !metadata.is_dir() => fs::remove_file(path),
        _ => fs::remove_dir_all(path),
    };
    match removed {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(OutputError {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Deletes every regular file directly in `dir` that is not in `keep` (nothing to do when `dir`
/// does not exist): the cache of a sweep's runs drops the runs that are not this sweep's.
pub fn remove_files_except(
    dir: &Path,
    keep: &std::collections::BTreeSet<PathBuf>,
) -> Result<(), OutputError> {
    for (_, path) in files_in(dir) {
        if !keep.contains(&path) {
            remove_file_if_present(&path)?;
        }
    }
    Ok(())
}

/// The regular files directly in `dir`, by name (nothing when `dir` does not exist).
fn files_in(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .map(|entry| {
            (
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            )
        })
        .collect();
    found.sort();
    found
}

/// Deletes what a set of `kind` owns in `root` (whatever an earlier, possibly killed, run
/// left), and every temporary leftover.
fn clear_owned(root: &Path, kind: SetKind) -> Result<(), OutputError> {
    for (name, path) in files_in(root) {
        if kind.owns_file(&name) || is_temporary(&name) {
            remove_file_if_present(&path)?;
        }
    }
    match kind {
        SetKind::Run => {
            // `replications/<r>/` folders; anything else in `replications/` is not ours.
            let folder = root.join("replications");
            if let Ok(entries) = fs::read_dir(&folder) {
                for entry in entries.flatten() {
                    let numbered = entry
                        .file_name()
                        .to_str()
                        .is_some_and(|n| n.parse::<u32>().is_ok());
                    if numbered && entry.file_type().is_ok_and(|t| t.is_dir()) {
                        remove_dir_if_present(&entry.path())?;
                    }
                }
                let _ = fs::remove_dir(&folder); // only when nothing else is in it
            }
        }
        SetKind::Sweep => {
            // The run cache is kept for `--resume`; only its temporary leftovers go.
            for (name, path) in files_in(&root.join("runs")) {
                if is_temporary(&name) {
                    remove_file_if_present(&path)?;
                }
            }
        }
        SetKind::Headroom => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.json");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["summary.json"]);
    }

    #[test]
    fn failed_atomic_write_names_the_path_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should go: the rename fails.
        let path = dir.path().join("events.csv");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), b"x").unwrap();
        let error = write_atomic(&path, b"data").unwrap_err();
        assert_eq!(error.path, path);
        assert!(
            error
                .to_string()
                .starts_with(&format!("{}: cannot write: ", path.display()))
        );
        assert_eq!(names(dir.path()), ["events.csv"]);
    }

    #[test]
    fn a_set_is_complete_only_once_finished_and_lists_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        let set = OutputSet::begin(&root, SetKind::Run).unwrap();
        set.write("summary.json", b"{}\n").unwrap();
        set.write("replications/1/summary.json", b"{ }\n").unwrap();
        assert!(verify(&root).is_err(), "not finished: no manifest");
        set.finish().unwrap();
        let manifest = verify(&root).unwrap();
        let paths: Vec<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["replications/1/summary.json", "summary.json"]);
        assert_eq!(manifest.files[1].bytes, 3);
        assert_eq!(
            manifest.files[1].sha256,
            "ca3d163bab055381827226140568f3bef7eaac187cebd76878e0b63e9e442356"
        );
        // A damaged file is caught.
        fs::write(root.join("summary.json"), b"{}}\n").unwrap();
        assert!(verify(&root).unwrap_err().contains("does not match"));
    }

    #[test]
    fn a_new_set_removes_the_old_one_and_leftovers_but_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let set = OutputSet::begin(root, SetKind::Run).unwrap();
        for name in [
            "summary.json",
            "timeline.png",
            "replications/3/summary.json",
        ] {
            set.write(name, b"old").unwrap();
        }
        set.finish().unwrap();
        fs::write(root.join(".events.csv.tmp"), b"half").unwrap();
        fs::write(root.join("notes.txt"), b"mine").unwrap();
        fs::create_dir_all(root.join("sweep")).unwrap();
        fs::write(root.join("sweep/points.csv"), b"a sweep's").unwrap();
        fs::write(root.join("replications/readme"), b"mine").unwrap();

        let set = OutputSet::begin(root, SetKind::Run).unwrap();
        set.write("summary.json", b"new").unwrap();
        // Until it finishes, the previous set is all there is (beside the staging folder).
        assert!(verify(root).is_ok());
        set.finish().unwrap();
        assert_eq!(names(&root.join("replications")), ["readme"]);
        assert_eq!(
            names(root),
            [
                "manifest.json",
                "notes.txt",
                "replications",
                "summary.json",
                "sweep"
            ]
        );
    }

    #[test]
    fn a_sweep_set_keeps_its_run_cache_but_not_its_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("runs")).unwrap();
        fs::write(root.join("runs/0-0.json"), b"{}").unwrap();
        fs::write(root.join("runs/.0-1.json.tmp"), b"{").unwrap();
        fs::write(root.join("pareto.png"), b"old").unwrap();
        fs::write(root.join(".points.csv.tmp"), b"half").unwrap();
        OutputSet::begin(root, SetKind::Sweep)
            .unwrap()
            .finish()
            .unwrap();
        assert_eq!(names(root), ["manifest.json", "runs"]);
        assert_eq!(names(&root.join("runs")), ["0-0.json"]);
    }

    /// A failed run (its set dropped unfinished) leaves the previous set whole, removes its
    /// staging folder, and removes the folder itself when it created it and it is empty; a
    /// staging folder a kill left behind goes at the next `begin`.
    #[test]
    fn an_unfinished_set_leaves_the_previous_one_whole() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        let set = OutputSet::begin(&root, SetKind::Run).unwrap();
        set.write("summary.json", b"old").unwrap();
        set.write("replications/1/summary.json", b"old 1").unwrap();
        set.finish().unwrap();
        let before = verify(&root).unwrap();

        let set = OutputSet::begin(&root, SetKind::Run).unwrap();
        set.write("summary.json", b"new").unwrap();
        set.write("timeline.png", b"new figure").unwrap();
        drop(set);
        assert_eq!(verify(&root).unwrap(), before);
        assert_eq!(fs::read(root.join("summary.json")).unwrap(), b"old");
        assert_eq!(
            names(&root),
            ["manifest.json", "replications", "summary.json"]
        );

        // Killed mid-run: the staging folder stays until the next set begins.
        fs::create_dir_all(root.join(STAGING).join("replications/2")).unwrap();
        fs::write(root.join(STAGING).join("replications/2/x.csv"), b"half").unwrap();
        let set = OutputSet::begin(&root, SetKind::Run).unwrap();
        set.write("summary.json", b"newer").unwrap();
        set.finish().unwrap();
        assert_eq!(names(&root), ["manifest.json", "summary.json"]);
        assert_eq!(fs::read(root.join("summary.json")).unwrap(), b"newer");

        // A file, or a symlink, by the staging folder's name is a leftover too.
        fs::write(dir.path().join("marker"), b"kept").unwrap();
        for leftover in ["file", "symlink"] {
            if leftover == "file" {
                fs::write(root.join(STAGING), b"stray").unwrap();
            } else {
                #[cfg(unix)]
                std::os::unix::fs::symlink(dir.path(), root.join(STAGING)).unwrap();
                #[cfg(not(unix))]
                continue;
            }
            let set = OutputSet::begin(&root, SetKind::Run).unwrap();
            set.write("summary.json", b"newest").unwrap();
            set.finish().unwrap();
            assert_eq!(
                names(&root),
                ["manifest.json", "summary.json"],
                "{leftover}"
            );
            // The symlink goes, not what it leads to (the test's folder, with this marker).
            assert_eq!(
                fs::read(dir.path().join("marker")).unwrap(),
                b"kept",
                "{leftover}"
            );
        }

        // A run that fails into a folder it created leaves no folder behind.
        let fresh = dir.path().join("fresh");
        let set = OutputSet::begin(&fresh, SetKind::Run).unwrap();
        set.write("summary.json", b"x").unwrap();
        drop(set);
        assert!(!fresh.exists());
    }

    /// A user's file is replaced at the end of its symlinks (a dangling link creates its
    /// target), and a device, FIFO or `/proc` link is written in place, never renamed over.
    #[cfg(unix)]
    #[test]
    fn a_user_file_follows_symlinks_and_writes_devices_in_place() {
        use std::os::unix::fs::{FileTypeExt, symlink};
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("real")).unwrap();
        fs::write(root.join("real/target.xml"), b"old").unwrap();
        symlink("real/target.xml", root.join("link.xml")).unwrap();
        symlink("link.xml", root.join("chain.xml")).unwrap();
        symlink("real/new.xml", root.join("dangling.xml")).unwrap();
        symlink("loop.xml", root.join("loop.xml")).unwrap();
        assert_eq!(
            user_file_target(&root.join("chain.xml")).unwrap(),
            UserFileTarget::Replace(root.join("real/target.xml"))
        );
        write_user_file(&root.join("chain.xml"), b"new").unwrap();
        write_user_file(&root.join("dangling.xml"), b"created").unwrap();
        assert!(
            fs::symlink_metadata(root.join("link.xml"))
                .unwrap()
                .is_symlink()
        );
        assert!(
            fs::symlink_metadata(root.join("dangling.xml"))
                .unwrap()
                .is_symlink()
        );
        assert_eq!(fs::read(root.join("real/target.xml")).unwrap(), b"new");
        assert_eq!(fs::read(root.join("real/new.xml")).unwrap(), b"created");
        assert_eq!(names(&root.join("real")), ["new.xml", "target.xml"]);
        assert!(user_file_target(&root.join("loop.xml")).is_err());
        let error = write_user_file(&root.join("loop.xml"), b"x").unwrap_err();
        assert!(
            error.to_string().contains("loop.xml: cannot write: "),
            "{error}"
        );

        if Path::new("/dev/null").exists() {
            let null = Path::new("/dev/null");
            assert_eq!(
                user_file_target(null).unwrap(),
                UserFileTarget::WriteThrough
            );
            write_user_file(null, b"discarded").unwrap();
            assert!(fs::metadata(null).unwrap().file_type().is_char_device());
        }
        if Path::new("/proc/self/fd").is_dir() {
            // `/dev/stdout` ends in `/proc/self/fd/1`, whose target is not a path.
            assert_eq!(
                user_file_target(Path::new("/dev/stdout")).unwrap(),
                UserFileTarget::WriteThrough
            );
        }
        let fifo = root.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|status| status.success()) {
            assert_eq!(
                user_file_target(&fifo).unwrap(),
                UserFileTarget::WriteThrough
            );
            let reader = {
                let fifo = fifo.clone();
                std::thread::spawn(move || fs::read(fifo).unwrap())
            };
            write_user_file(&fifo, b"through").unwrap();
            assert_eq!(reader.join().unwrap(), b"through");
            assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        }
    }

    #[test]
    fn paths_cannot_leave_the_folder() {
        assert!(safe_relative("a/b.csv").is_some());
        for bad in ["", "../x", "/etc/passwd", "a/../../x"] {
            assert!(safe_relative(bad).is_none(), "{bad}");
        }
    }
}
