//! The `[serving]` section: how work reaches the fleet. `mode = "poll"` (the default) is
//! Temporal workers polling their task queues; `mode = "request"` is a service that receives
//! requests (HTTP turns, or whole voice calls as one session) and routes each to an instance
//! with a free request slot.

use super::config::*;
use super::diag::{Diags, Origin};
use super::raw::{Node, Value};
use super::read::*;

/// Cloud Run's upper bound on `containerConcurrency`.
const CLOUD_RUN_CONCURRENCY_MAX: u32 = 1000;

/// Reads `[serving]`. `autoscaler_node` is the raw `[autoscaler]` table: in request mode the
/// `cloud_run` autoscaler's concurrency term uses `[serving] max_concurrency`; an
/// `autoscaler.max_concurrency` written in the file must agree with it. (Not a default taken
/// from the autoscaler: a timeline `set` that replaces the autoscaler would change the slots.)
pub(crate) fn serving(
    node: Option<&Node>,
    autoscaler_node: Option<&Node>,
    autoscaler: &mut Autoscaler,
    diags: &mut Diags,
) -> Serving {
    let mut s = Section::open(node, "serving", &Origin::Whole, diags);
    let mode = s
        .choice(diags, "mode", &["poll", "request"])
        .unwrap_or("poll");
    let serving = if mode == "request" {
        let session = match s.choice(diags, "session", &["turn", "conversation"]) {
            Some("conversation") => SessionScope::Conversation,
            _ => SessionScope::Turn,
        };
        let explicit = autoscaler_node
            .and_then(|n| match &n.value {
                Value::Table(t) => t.get("max_concurrency"),
                _ => None,
            })
            .map(|n| n.origin.clone());
        let cap = match autoscaler {
            Autoscaler::CloudRun(_) => CLOUD_RUN_CONCURRENCY_MAX,
            _ => SLOTS_MAX,
        };
        let max_concurrency = s.u32_in(diags, "max_concurrency", 80, 1, cap);
        if let Autoscaler::CloudRun(c) = autoscaler {
            if let Some(origin) = explicit
                && c.max_concurrency != max_concurrency
            {
                let message = format!(
                    "{} differs from serving.max_concurrency = {max_concurrency}: in request \
                     mode the request slots are [serving] max_concurrency, which the \
                     autoscaler uses; write it there",
                    c.max_concurrency
                );
                diags.error(&origin, "autoscaler.max_concurrency", message);
            }
            c.max_concurrency = max_concurrency;
        }
        let max_wait = s.duration(diags, "max_wait", 10_000_000_000);
        Some(RequestServing {
            session,
            max_concurrency,
            max_wait,
        })
    } else {
        if let Autoscaler::Hpa(HpaAutoscaler {
            metric: HpaMetric::Concurrency { .. },
            ..
        }) = autoscaler
        {
            let origin = autoscaler_node.map_or(Origin::Whole, |n| n.origin.clone());
            diags.error(
                &origin,
                "autoscaler.metric",
                "\"concurrency\" counts requests: it needs [serving] mode = \"request\" (polling \
                 workers receive none)",
            );
        }
        for key in ["session", "max_concurrency", "max_wait"] {
            if s.has(key) {
                diags.error(
                    &s.origin_of(key),
                    &s.key_path(key),
                    "only applies with mode = \"request\"",
                );
                s.take(key);
            }
        }
        None
    };
    s.finish(diags);
    Serving { request: serving }
}
