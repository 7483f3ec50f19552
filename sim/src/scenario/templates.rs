//! The starting scenarios of `sim new`: commented files under `sim/templates/`, compiled in,
//! one per kind of agent the story folders describe plus a minimal one.

/// One template: its name on the command line, what it is for, and the file's text.
pub struct Template {
    pub name: &'static str,
    pub summary: &'static str,
    pub text: &'static str,
}

/// Every template, in the order `sim new --list` prints them.
pub const TEMPLATES: [Template; 4] = [
    Template {
        name: "minimal",
        summary: "one LLM call per message on a Cloud Run fleet, two SLOs",
        text: include_str!("../../templates/minimal.toml"),
    },
    Template {
        name: "support-agent",
        summary: "long support conversations: sticky cache against memory (gradient-labs)",
        text: include_str!("../../templates/support-agent.toml"),
    },
    Template {
        name: "research-agent",
        summary: "lead plan, parallel subagents as child workflows, synthesis (anthropic-research)",
        text: include_str!("../../templates/research-agent.toml"),
    },
    Template {
        name: "underwriting",
        summary: "tool lookups that fail and are re-planned, growing context (snorkel-underwriting)",
        text: include_str!("../../templates/underwriting.toml"),
    },
];

/// The template called `name`.
pub fn find(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}
