//! The scenario's timeline: settings changed at a simulated time (optionally with a deploy
//! that replaces every instance), traffic multipliers, and provider incidents. Instance and
//! worker settings (vCPUs, memory, cache size, slots) belong to an instance from its start, as
//! a revision's container and worker options do: a `set` reaches running instances only
//! through a deploy or through their replacements. Everything else applies at once.

use super::Model;
use super::llm::ProviderCondition;
use super::state::*;
use crate::metrics::report::EventKind;
use crate::scenario::{Action, Autoscaler, Deploy, IncidentKind};

impl Model {
    pub(super) fn timeline_start(&mut self) {
        for index in 0..self.original.timeline.len() {
            let at = self.original.timeline[index].at;
            if at <= self.horizon {
                self.schedule(
                    at,
                    Event::Timeline {
                        index: index as u32,
                    },
                );
            }
        }
    }

    pub(super) fn on_timeline(&mut self, index: u32) {
        let intervention = self.original.timeline[index as usize].clone();
        match intervention.action {
            Action::Set {
                assignments,
                deploy,
                effective,
            } => {
                let detail = assignments
                    .iter()
                    .map(|(key, value)| format!("{key}={value}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                self.record_event(
                    EventKind::Intervention,
                    None,
                    format!("{}: {detail}", intervention.label),
                );
                self.apply_settings(*effective);
                if let Some(deploy) = deploy {
                    self.deploy(deploy, &intervention.label);
                }
            }
            Action::Deploy { deploy } => {
                self.record_event(EventKind::Intervention, None, intervention.label.clone());
                self.deploy(deploy, &intervention.label);
            }
            Action::ProviderIncident {
                provider,
                incident,
                duration,
                factor,
            } => {
                self.start_incident(provider, incident, duration, factor, &intervention.label);
            }
        }
    }

    fn apply_settings(&mut self, mut effective: crate::scenario::Scenario) {
        // The run's own limits and seed are fixed at the start.
        effective.run = self.cfg.run.clone();
        effective.seed = self.cfg.seed;
        effective.timeline = Vec::new();
        // The traffic each workload had, where the set changes it (rare: cloned).
        let old_traffic: Vec<Option<crate::scenario::Traffic>> = effective
            .workloads
            .iter()
            .zip(&self.cfg.workloads)
            .map(|(new, old)| (new.traffic != old.traffic).then(|| old.traffic.clone()))
            .collect();
        let autoscaler_before = self.cfg.autoscaler.clone();
        if effective.cost != self.cfg.cost {
            // Instance time so far is billed at the old prices.
            for inst in 0..self.instances.len() as u32 {
                if self.instances[inst as usize].state != InstanceState::Stopped {
                    self.bill(inst);
                }
            }
        }
        self.cfg = effective;
        self.renew_gc_bounds();
        self.program = super::program::Program::compile(&self.cfg.workloads);
        // Quotas so far are refilled at the old rates; the new ones apply from now.
        let now = self.now();
        for (quota, provider) in self.quotas.iter_mut().zip(&self.cfg.providers) {
            quota.apply(provider, now);
        }
        self.quotas_active = self.cfg.providers.iter().any(|p| p.has_quota());
        self.memory_ticks_start();
        for (workload, old) in old_traffic.iter().enumerate() {
            if let Some(old) = old {
                self.reschedule_arrival_after_rate_change(workload as u32, old);
            }
        }
        // `fixed` has no evaluations: its count applies at once.
        if let Autoscaler::Fixed { instances } = self.cfg.autoscaler {
            let (_, total) = self.counted_instances();
            self.stats.instances_desired = instances;
            if instances > total {
                for _ in total..instances {
                    self.launch_instance();
                }
            }
            // Fewer fixed instances: drain the newest.
            for _ in instances..total.max(instances) {
                if let Some(victim) = self.newest_instance() {
                    self.drain(victim);
                }
            }
        }
        self.autoscaler_settings_changed(&autoscaler_before);
    }

    fn newest_instance(&self) -> Option<u32> {
        self.instances
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                !i.retiring
                    && matches!(
                        i.state,
                        InstanceState::Running | InstanceState::Starting | InstanceState::Down
                    )
            })
            .max_by_key(|(index, i)| (i.started_at, *index))
            .map(|(index, _)| index as u32)
    }

    /// Replaces every instance with one of a new revision (fresh settings, empty cache).
    fn deploy(&mut self, deploy: Deploy, label: &str) {
        let (_, total) = self.counted_instances();
        let count = self.cfg.autoscaler.deploy_count(total);
        self.revision += 1;
        let old: Vec<u32> = (0..self.instances.len() as u32)
            .filter(|&i| {
                let instance = &self.instances[i as usize];
                !matches!(
                    instance.state,
                    InstanceState::Stopped | InstanceState::Draining
                )
            })
            .collect();
        // A rolling deploy keeps as many old running instances as it starts new ones, each
        // retired when a new one is ready; any others go at once.
        let mut to_retire = if deploy == Deploy::Rolling { count } else { 0 };
        for &inst in &old {
            if to_retire > 0 && self.instances[inst as usize].state == InstanceState::Running {
                self.instances[inst as usize].retiring = true;
                to_retire -= 1;
            } else {
                self.drain(inst);
            }
        }
        for _ in 0..count {
            self.launch_instance();
        }
        let how = match deploy {
            Deploy::Rolling => "rolling",
            Deploy::AtOnce => "at once",
        };
        self.record_event(
            EventKind::Deploy,
            None,
            format!(
                "{label}: revision {} ({how}), {count} instances",
                self.revision
            ),
        );
    }

    fn start_incident(
        &mut self,
        provider: usize,
        incident: IncidentKind,
        duration: u64,
        factor: f64,
        label: &str,
    ) {
        let id = self.next_incident;
        self.next_incident = self.next_incident.wrapping_add(1);
        self.incidents[provider].push(ActiveIncident {
            id,
            kind: incident,
            factor,
        });
        self.conditions[provider] = condition_of(&self.incidents[provider]);
        let name = self.cfg.providers[provider].name.clone();
        let kind = match incident {
            IncidentKind::Outage => "outage".to_string(),
            IncidentKind::RateLimit => "rate limit".to_string(),
            IncidentKind::Degradation => format!("latency x{factor}"),
        };
        self.record_event(
            EventKind::ProviderIncidentStart,
            None,
            format!("{label}: {name} {kind}"),
        );
        let provider = provider as u32;
        self.schedule_within_horizon(
            duration,
            Event::IncidentEnd {
                provider,
                incident: id,
            },
        );
    }

    /// One incident is over; the provider's others go on (each ends at its own time).
    pub(super) fn on_incident_end(&mut self, provider: u32, incident: u32) {
        let active = &mut self.incidents[provider as usize];
        let Some(position) = active.iter().position(|i| i.id == incident) else {
            return;
        };
        active.remove(position);
        self.conditions[provider as usize] = condition_of(active);
        let name = self.cfg.providers[provider as usize].name.clone();
        self.record_event(EventKind::ProviderIncidentEnd, None, name);
    }
}

/// A provider incident in progress.
#[derive(Clone, Copy, Debug)]
pub(super) struct ActiveIncident {
    id: u32,
    kind: IncidentKind,
    /// The latency multiplier of a degradation.
    factor: f64,
}

/// What a provider's incidents in progress make together: an outage or a rate limit while any
/// of that kind lasts; the latency factor of the degradation that started last among those
/// still on (1 without one).
fn condition_of(active: &[ActiveIncident]) -> ProviderCondition {
    let mut condition = ProviderCondition {
        latency_factor: 1.0,
        ..Default::default()
    };
    for incident in active {
        match incident.kind {
            IncidentKind::Outage => condition.outage = true,
            IncidentKind::RateLimit => condition.rate_limited = true,
            IncidentKind::Degradation => condition.latency_factor = incident.factor,
        }
    }
    condition
}
