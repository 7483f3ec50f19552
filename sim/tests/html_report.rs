//! `report.html` in a real browser: headless Chromium renders the report of a short timeline
//! run and of a two-key sweep; the page logs nothing to the console, every figure's SVG is in
//! the DOM, and the screenshot is not blank (text and coloured figure lines are drawn).
//!
//! Without Chromium the test skips with a loud message, except in CI (`CI` set to anything but
//! `false` or empty), where a missing browser fails it: `.ci/run` installs it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The browser, or `None` (after a loud message) when it is missing outside CI.
fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
            .filter(|path| !path.is_empty());
        if let Some(path) = found {
            return Some(PathBuf::from(path));
        }
    }
    let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !in_ci,
        "CI is set but chromium is not installed: the HTML report cannot be checked in a \
         browser (install it: apt-get install -y --no-install-recommends chromium)"
    );
    eprintln!(
        "\n\n*** SKIPPED html_report: chromium is not installed, so report.html was NOT checked \
         in a browser. Install it (apt-get install -y chromium) or set CI=true to make this a \
         failure. ***\n"
    );
    None
}

fn sim(cwd: &Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("sim runs");
    assert!(
        out.status.code().is_some_and(|code| code <= 1),
        "sim {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Rendered {
    /// Console messages the page logged (Chromium prints them as `CONSOLE` log lines).
    console: Vec<String>,
    dom: String,
    /// RGB pixels, and the width.
    pixels: Vec<[u8; 3]>,
}

fn render(browser: &Path, page: &Path, work: &Path) -> Rendered {
    let url = format!("file://{}", page.display());
    let screenshot = work.join(format!(
        "{}.png",
        page.file_stem().unwrap().to_string_lossy()
    ));
    let common = [
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
    ];
    let shot = Command::new(browser)
        .args(common)
        .arg(format!(
            "--user-data-dir={}",
            work.join("profile").display()
        ))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg("--window-size=1400,2400")
        .arg(&url)
        .output()
        .expect("chromium starts");
    assert!(
        shot.status.success(),
        "chromium --screenshot failed: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let dump = Command::new(browser)
        .args(common)
        .arg(format!(
            "--user-data-dir={}",
            work.join("profile").display()
        ))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium starts");
    assert!(dump.status.success(), "chromium --dump-dom failed");
    let console = [&shot.stderr, &dump.stderr]
        .iter()
        .flat_map(|stderr| {
            String::from_utf8_lossy(stderr)
                .lines()
                .filter(|line| line.contains(":CONSOLE"))
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&screenshot).expect("a screenshot was written"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buffer = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buffer).expect("PNG frame");
    let channels = info.color_type.samples();
    assert!(
        channels >= 3,
        "an RGB(A) screenshot, got {:?}",
        info.color_type
    );
    let pixels = buffer[..info.buffer_size()]
        .chunks(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    Rendered {
        console,
        dom: String::from_utf8_lossy(&dump.stdout).into_owned(),
        pixels,
    }
}

/// What a rendered page must show: no console output, `svgs` figures in the DOM, ink on the
/// screenshot, and coloured figure lines (text alone is grey).
fn check(name: &str, rendered: &Rendered, svgs: usize, texts: &[&str]) {
    assert!(
        rendered.console.is_empty(),
        "{name}: the page logged to the console: {:?}",
        rendered.console
    );
    assert_eq!(
        rendered.dom.matches("<svg").count(),
        svgs,
        "{name}: figures in the DOM"
    );
    for text in texts {
        assert!(
            rendered.dom.contains(text),
            "{name}: {text:?} not in the DOM"
        );
    }
    let total = rendered.pixels.len();
    let ink = rendered
        .pixels
        .iter()
        .filter(|p| p.iter().any(|&c| c < 235))
        .count();
    let coloured = rendered
        .pixels
        .iter()
        .filter(|p| {
            let (max, min) = (p.iter().max().unwrap(), p.iter().min().unwrap());
            max - min > 80
        })
        .count();
    assert!(
        ink * 100 > total * 3,
        "{name}: screenshot nearly blank: {ink} of {total} pixels not white"
    );
    assert!(
        coloured > 2000,
        "{name}: no figure drawn: only {coloured} coloured pixels"
    );
}

#[test]
fn reports_render_in_a_headless_browser_without_errors() {
    let Some(browser) = chromium() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();

    // The detector must see a page's console output, or a clean report proves nothing.
    let noisy = work.join("noisy.html");
    std::fs::write(
        &noisy,
        "<!DOCTYPE html><html><body><p>x</p><script>console.error('boom')</script></body></html>",
    )
    .unwrap();
    let rendered = render(&browser, &noisy, work);
    assert!(
        rendered.console.iter().any(|line| line.contains("boom")),
        "console messages are not captured: {:?}",
        rendered.console
    );

    // A short support-agent run with two interventions (one label with markup in it).
    let scenario = std::fs::read_to_string(root().join("scenarios/examples/support-agent.toml"))
        .unwrap()
        + "\n[[timeline]]\nat = \"40m\"\nlabel = \"cache <cut> & redeploy\"\n\
           set = { \"temporal.cache_size\" = 1000 }\ndeploy = \"rolling\"\n\n\
           [[timeline]]\nat = \"80m\"\nlabel = \"more traffic\"\n\
           set = { \"traffic.multiplier\" = 1.5 }\n";
    let file = work.join("timeline.toml");
    std::fs::write(&file, scenario).unwrap();
    let run_dir = work.join("run");
    sim(
        work,
        &[
            "run",
            file.to_str().unwrap(),
            "--horizon",
            "2h",
            "--quiet",
            "--out",
            run_dir.to_str().unwrap(),
        ],
    );
    let rendered = render(&browser, &run_dir.join("report.html"), work);
    check(
        "run report",
        &rendered,
        1,
        &[
            "Postmortem timeline",
            "SLO verdicts",
            "cache &lt;cut&gt; &amp; redeploy",
            "more traffic",
            "--seed",
        ],
    );

    // A two-key sweep: two heatmaps and the Pareto figure.
    let sweep_dir = work.join("sweep-out");
    sim(
        work,
        &[
            "sweep",
            root()
                .join("scenarios/validation/mmc.toml")
                .to_str()
                .unwrap(),
            "--set",
            "run.horizon=2000s",
            "--grid",
            "temporal.max_concurrent_activities=9,12",
            "--grid",
            "traffic.rate_per_s=6,8",
            "--replications",
            "2",
            "--quiet",
            "--out",
            sweep_dir.to_str().unwrap(),
        ],
    );
    let rendered = render(&browser, &sweep_dir.join("sweep/report.html"), work);
    check(
        "sweep report",
        &rendered,
        3,
        &["Points and SLO verdicts", "traffic.rate_per_s", "--grid"],
    );
}
