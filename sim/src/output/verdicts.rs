//! Machine-readable verdicts for CI: the SLO verdicts of a run across its replications
//! (`slo_verdicts`), the JSON object `sim run --format json` prints (`RunReport`), and JUnit XML
//! (`junit_xml`) for `sim run --junit` and `sim diff --junit`. Everything here is a pure
//! function of the summaries, so the bytes do not depend on threads or timing (no `time`
//! attribute in the XML).

use crate::metrics::report::Summary;
use serde::Serialize;

/// One SLO over every replication of a run (matched by position: every replication of a
/// scenario has the same SLOs in the same order).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SloVerdict {
    pub name: String,
    pub metric: String,
    /// The SLO holds when the value is at most this.
    pub limit: f64,
    /// Held in every replication.
    pub ok: bool,
    /// The value, or with several replications the mean of their values.
    pub value: f64,
    /// Replications in which the SLO failed.
    pub failed_replications: u32,
    /// Why it failed although the value is within the limit (nothing to measure), from the
    /// first replication that had nothing; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The SLO verdicts of one scenario's replications, in the scenario's SLO order.
pub fn slo_verdicts(summaries: &[Summary]) -> Vec<SloVerdict> {
    let Some(first) = summaries.first() else {
        return Vec::new();
    };
    first
        .slo
        .iter()
        .enumerate()
        .map(|(index, slo)| {
            let results = || summaries.iter().filter_map(|s| s.slo.get(index));
            let failed = results().filter(|r| !r.ok).count();
            SloVerdict {
                name: slo.name.clone(),
                metric: slo.metric.clone(),
                limit: slo.limit,
                ok: failed == 0,
                value: results().map(|r| r.value).sum::<f64>() / summaries.len() as f64,
                failed_replications: u32::try_from(failed).unwrap_or(u32::MAX),
                reason: results().find_map(|r| r.reason.clone()),
            }
        })
        .collect()
}

/// `sim run --format json`: one object for the whole command.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunReport<'a> {
    /// Every scenario ran and every SLO held in every replication (exit code 0).
    pub ok: bool,
    pub scenarios: Vec<ScenarioReport<'a>>,
}

/// One scenario file of `sim run --format json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScenarioReport<'a> {
    pub file: String,
    pub scenario: String,
    /// The folder its outputs were written to.
    pub outputs: String,
    /// `ok` (every SLO held), `slo_failed`, or `error` (the run failed or its outputs could not
    /// be written: the messages are on stderr, and there are no summaries).
    pub status: &'static str,
    pub replications: u32,
    pub slo: Vec<SloVerdict>,
    /// One summary per replication, in replication order (replication 0 first): the contents
    /// of each `summary.json`.
    pub summaries: &'a [Summary],
}

/// A JUnit test suite.
#[derive(Clone, Debug, PartialEq)]
pub struct JunitSuite {
    pub name: String,
    pub cases: Vec<JunitCase>,
}

/// A JUnit test case: passed, failed, errored or skipped.
#[derive(Clone, Debug, PartialEq)]
pub struct JunitCase {
    pub classname: String,
    pub name: String,
    pub result: JunitResult,
}

#[derive(Clone, Debug, PartialEq)]
pub enum JunitResult {
    Passed,
    /// `<failure message=...>text</failure>`.
    Failed {
        message: String,
        text: String,
    },
    /// `<error message=...>`: the case could not be evaluated (the run failed).
    Error {
        message: String,
    },
    /// `<skipped message=...>`.
    Skipped {
        message: String,
    },
}

/// The JUnit test suite of one scenario run: a case per SLO, failed when the SLO failed in
/// any replication, with the reason when it had nothing to measure.
pub fn run_suite(file: &str, scenario: &str, replications: u32, slo: &[SloVerdict]) -> JunitSuite {
    let cases = slo
        .iter()
        .map(|verdict| {
            let result = if verdict.ok {
                JunitResult::Passed
            } else {
                let mut message = if replications > 1 {
                    format!(
                        "{} failed in {}/{replications} replications (mean {}, limit {})",
                        verdict.metric, verdict.failed_replications, verdict.value, verdict.limit
                    )
                } else if verdict.value > verdict.limit {
                    format!("{} = {} > {}", verdict.metric, verdict.value, verdict.limit)
                } else {
                    format!(
                        "{} = {}, limit {}",
                        verdict.metric, verdict.value, verdict.limit
                    )
                };
                if let Some(reason) = &verdict.reason {
                    message = format!("{message}: {reason}");
                }
                JunitResult::Failed {
                    text: message.clone(),
                    message,
                }
            };
            JunitCase {
                classname: scenario.to_string(),
                name: verdict.name.clone(),
                result,
            }
        })
        .collect();
    JunitSuite {
        name: file.to_string(),
        cases,
    }
}

/// A scenario whose run failed: one errored case, so CI shows it rather than an empty suite.
pub fn error_suite(file: &str, scenario: &str, message: &str) -> JunitSuite {
    JunitSuite {
        name: file.to_string(),
        cases: vec![JunitCase {
            classname: scenario.to_string(),
            name: "run".to_string(),
            result: JunitResult::Error {
                message: message.to_string(),
            },
        }],
    }
}

/// The JUnit XML document: `<testsuites>` with the suites in order.
pub fn junit_xml(suites: &[JunitSuite]) -> String {
    let count = |suite: &JunitSuite, pick: fn(&JunitResult) -> bool| {
        suite.cases.iter().filter(|c| pick(&c.result)).count()
    };
    let failures = |r: &JunitResult| matches!(r, JunitResult::Failed { .. });
    let errors = |r: &JunitResult| matches!(r, JunitResult::Error { .. });
    let skipped = |r: &JunitResult| matches!(r, JunitResult::Skipped { .. });
    let total = |pick: fn(&JunitResult) -> bool| -> usize {
        suites.iter().map(|suite| count(suite, pick)).sum()
    };
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml += &format!(
        "<testsuites name=\"sim\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n",
        suites.iter().map(|s| s.cases.len()).sum::<usize>(),
        total(failures),
        total(errors),
        total(skipped)
    );
    for suite in suites {
        xml += &format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n",
            escape(&suite.name),
            suite.cases.len(),
            count(suite, failures),
            count(suite, errors),
            count(suite, skipped)
        );
        for case in &suite.cases {
            let open = format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                escape(&case.classname),
                escape(&case.name)
            );
            match &case.result {
                JunitResult::Passed => xml += &format!("{open}/>\n"),
                JunitResult::Failed { message, text } => {
                    xml += &format!(
                        "{open}>\n      <failure message=\"{}\" type=\"slo\">{}</failure>\n    </testcase>\n",
                        escape(message),
                        escape(text)
                    );
                }
                JunitResult::Error { message } => {
                    xml += &format!(
                        "{open}>\n      <error message=\"{}\" type=\"run\"/>\n    </testcase>\n",
                        escape(message)
                    );
                }
                JunitResult::Skipped { message } => {
                    xml += &format!(
                        "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                        escape(message)
                    );
                }
            }
        }
        xml += "  </testsuite>\n";
    }
    xml += "</testsuites>\n";
    xml
}

/// Text as XML character data or an attribute value: the five special characters as entities,
/// tab and line breaks as character references (an attribute keeps them that way), and the
/// characters XML 1.0 cannot carry at all (other control characters, U+FFFE, U+FFFF) as U+FFFD.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            '\t' => escaped.push_str("&#9;"),
            '\n' => escaped.push_str("&#10;"),
            '\r' => escaped.push_str("&#13;"),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => escaped.push('\u{fffd}'),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::report::SloResult;

    fn slo(name: &str, ok: bool, value: f64, reason: Option<&str>) -> SloResult {
        SloResult {
            name: name.into(),
            metric: "response_latency_p95_s".into(),
            ok,
            value,
            limit: 2.0,
            reason: reason.map(str::to_string),
        }
    }

    #[test]
    fn verdicts_hold_only_when_every_replication_held() {
        let verdicts = |results: Vec<Vec<SloResult>>| {
            let summaries: Vec<Summary> = results
                .into_iter()
                .map(|slo| {
                    let mut summary = crate::output::tests::sample_output().summary;
                    summary.slo = slo;
                    summary
                })
                .collect();
            slo_verdicts(&summaries)
        };
        let v = verdicts(vec![
            vec![slo("p95", true, 1.0, None)],
            vec![slo("p95", false, 3.0, None)],
        ]);
        assert_eq!(v.len(), 1);
        assert!(!v[0].ok);
        assert_eq!(v[0].failed_replications, 1);
        assert_eq!(v[0].value, 2.0);
        assert_eq!(v[0].reason, None);
        let v = verdicts(vec![vec![slo("p95", false, 0.0, Some("nothing answered"))]]);
        assert_eq!(v[0].reason.as_deref(), Some("nothing answered"));
        assert!(verdicts(vec![]).is_empty());
    }

    #[test]
    fn junit_marks_failures_and_explains_vacuous_ones() {
        let verdicts = vec![
            SloVerdict {
                name: "held".into(),
                metric: "oom_crashes".into(),
                limit: 0.0,
                ok: true,
                value: 0.0,
                failed_replications: 0,
                reason: None,
            },
            SloVerdict {
                name: "p95 < 2s & \"fast\"".into(),
                metric: "response_latency_p95_s".into(),
                limit: 2.0,
                ok: false,
                value: 0.0,
                failed_replications: 1,
                reason: Some("no answered message after warmup".into()),
            },
        ];
        let xml = junit_xml(&[run_suite("a <b>.toml", "a", 1, &verdicts)]);
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <testsuites name=\"sim\" tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\">\n\
             \x20 <testsuite name=\"a &lt;b&gt;.toml\" tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\">\n\
             \x20   <testcase classname=\"a\" name=\"held\"/>\n\
             \x20   <testcase classname=\"a\" name=\"p95 &lt; 2s &amp; &quot;fast&quot;\">\n\
             \x20     <failure message=\"response_latency_p95_s = 0, limit 2: no answered message \
             after warmup\" type=\"slo\">response_latency_p95_s = 0, limit 2: no answered message \
             after warmup</failure>\n\
             \x20   </testcase>\n\
             \x20 </testsuite>\n\
             </testsuites>\n"
        );
    }

    #[test]
    fn escaping_keeps_the_document_well_formed() {
        assert_eq!(escape("a'b\"c<d>e&f"), "a&apos;b&quot;c&lt;d&gt;e&amp;f");
        assert_eq!(escape("line\nbreak\ttab"), "line&#10;break&#9;tab");
        assert_eq!(escape("bell\u{7}"), "bell\u{fffd}");
        assert_eq!(escape("ünïcödé ✓"), "ünïcödé ✓");
    }
}
