//! The `headroom` command: checks the file and the key (it must exist and hold a number) before
//! anything runs, searches with `sim::sweep::headroom`, prints the report (or its JSON), and
//! writes `DIR/headroom/headroom.json` with `--out`. Exit rule: 0 when the search ended (a cliff
//! found, or none inside the bracket), 1 when even the bracket's safe end breaks an SLO, 2 on bad
//! input or a failed run (nothing written).

use super::Outcome;
use super::sweeps::{check_readable, error_text};
use crate::Console;
use crate::cli::{Format, HeadroomSettings};
use sim::output::{OutputSet, SetKind};
use sim::scenario;
use sim::sweep::headroom::{HeadroomConfig, HeadroomReport, headroom};
use sim::sweep::{Fleet, SweepError};

/// `sim headroom FILE --key KEY`.
pub fn run(settings: &HeadroomSettings, console: &Console) -> Outcome {
    let file = &settings.file;
    if let Err(message) = check_readable(file) {
        console.error(&message);
        return Outcome::Failed;
    }
    let (current, inputs) = match current_value(settings) {
        Ok(found) => found,
        Err(messages) => {
            for message in messages {
                console.error(&message);
            }
            return Outcome::Failed;
        }
    };
    let fleet = Fleet {
        path: file.clone(),
        overrides: settings.overrides.clone(),
        source: None,
    };
    let config = HeadroomConfig {
        key: settings.key.clone(),
        current: current.value,
        integer: current.integer,
        range: settings.range,
        tolerance: settings.tolerance,
        direction: settings.direction,
        replications: settings.replications,
        threads: settings.jobs,
        progress: !settings.quiet,
    };
    // A bracket that leaves out today's value still finds a cliff, but the headroom "from
    // today's value" is then measured from outside what was searched: say so, and run.
    if let Some((lo, hi)) = config.range
        && !(lo..=hi).contains(&config.current)
        && !settings.quiet
    {
        // As typed for everyday numbers (`1..2`); huge ones in exponent form, not 300 digits.
        let show = |v: f64| {
            if v.abs() >= 1e15 {
                sim::sweep::headroom::format_value(v, false)
            } else {
                format!("{v}")
            }
        };
        console.error(&format!(
            "{}: warning: --key {} is {} in the scenario, outside --range {}..{}: the \
             headroom from today's value is measured from outside the bracket",
            file.display(),
            config.key,
            show(config.current),
            show(lo),
            show(hi)
        ));
    }
    // Refused before the search (minutes of runs), not only when its result is written; so is
    // a folder holding what the search reads (the set owns all of `DIR/headroom/`).
    if let Some(out) = &settings.out
        && let Err(error) = sim::output::set::check_replaceable(
            &out.join("headroom"),
            SetKind::Headroom,
        )
        .and_then(|()| {
            sim::output::set::check_spares_inputs(&out.join("headroom"), SetKind::Headroom, &inputs)
        })
    {
        console.error(&format!("{}: {error}", file.display()));
        return Outcome::Failed;
    }
    let report = match headroom(&fleet, &config) {
        Ok(report) => report,
        // A bad bracket or tolerance is about this file's key: name the file too.
        Err(SweepError::Usage(why)) => {
            console.error(&format!("{}: {why}", file.display()));
            return Outcome::Failed;
        }
        Err(error) => {
            console.error(&error_text(file, &error));
            return Outcome::Failed;
        }
    };
    let json =
        serde_json::to_string_pretty(&report).expect("the headroom report serialises") + "\n";
    if let Some(out) = &settings.out
        && let Err(error) = write(out, &json)
    {
        console.error(&error_text(file, &error));
        return Outcome::Failed;
    }
    match settings.format {
        Format::Text => console.out(&report.summary_text()),
        Format::Json => console.data(json.as_bytes()),
    }
    outcome(&report)
}

fn outcome(report: &HeadroomReport) -> Outcome {
    if report.safe_end_breaks() {
        Outcome::SloFailed
    } else {
        Outcome::Success
    }
}

/// The key's value in the scenario (with `--set`) and the files the scenario reads (it and its
/// CSVs), or every problem: the file's, or the key's. A key the scenario does not have is
/// reported by the loader (with its did-you-mean hint) as if it were set, and named as `--key`.
fn current_value(
    settings: &HeadroomSettings,
) -> Result<(scenario::KeyNumber, Vec<std::path::PathBuf>), Vec<String>> {
    let file = &settings.file;
    let key = &settings.key;
    let name = |line: String| {
        let prefix = file.display().to_string();
        if line.starts_with(&prefix) {
            line
        } else {
            format!("{prefix}: {line}")
        }
    };
    let scenario = scenario::load(file, &settings.overrides)
        .map_err(|errors| errors.messages.into_iter().map(name).collect::<Vec<_>>())?;
    let mut inputs = vec![file.clone()];
    inputs.extend(sim::sweep::input_files_of(&scenario));
    let number = scenario::resolved_number(&scenario, key).map_err(|why| {
        if let scenario::LookupError::NotANumber(why) = why {
            return vec![name(format!("--key {why}"))];
        }
        // A rate written as a string (`traffic.rate = "60/m"`): the search needs the number.
        if let Some(per_second) = scenario::per_second_key(key)
            && let Ok(number) = scenario::resolved_number(&scenario, &per_second)
        {
            return vec![name(format!(
                "--key {key}: a rate string, and headroom searches a number: use --key \
                 {per_second} (the same rate per second, {} here)",
                sim::sweep::headroom::format_value(number.value, number.integer)
            ))];
        }
        // An unknown key: the loader says what the section accepts and the nearest name.
        let probe = format!("{key}=0");
        let mut overrides = settings.overrides.clone();
        overrides.push(probe.clone());
        match scenario::load(file, &overrides) {
            Err(errors) => errors
                .messages
                .into_iter()
                .map(|line| name(line.replace(&format!("--set {probe}: "), "--key: ")))
                .collect(),
            Ok(_) => vec![name(format!(
                "--key {key}: the scenario has no such number (an unset optional key?); set it \
                 in the file or with --set first"
            ))],
        }
    })?;
    Ok((number, inputs))
}

/// `DIR/headroom/headroom.json` as a complete output set.
fn write(out: &std::path::Path, json: &str) -> Result<(), SweepError> {
    let set = OutputSet::begin(&out.join("headroom"), SetKind::Headroom)?;
    set.write("headroom.json", json.as_bytes())?;
    set.finish()?;
    Ok(())
}
