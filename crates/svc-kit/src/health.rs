//! Component health for `/health` (JSON) and readiness for `/ready`.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

/// Severity of a component's state; the overall status is the worst one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Healthy,
    Degraded,
    Unhealthy,
}

/// One component: its level, the word operators know it by (e.g. `connected`, `stale`), detail.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComponentState {
    pub level: Level,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The `/health` body.
#[derive(Clone, Debug, Serialize)]
pub struct HealthReport {
    pub status: Level,
    pub ready: bool,
    pub components: BTreeMap<&'static str, ComponentState>,
}

/// Shared, cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Health {
    components: Arc<RwLock<BTreeMap<&'static str, ComponentState>>>,
    ready: Arc<AtomicBool>,
}

impl Health {
    pub fn new() -> Self {
        Self::default()
    }

    /// Set a component's state (a bounded set of component names, fixed per service).
    pub fn set(&self, component: &'static str, level: Level, status: &'static str, detail: Option<String>) {
        let mut map = self.components.write().unwrap_or_else(|e| e.into_inner());
        map.insert(
            component,
            ComponentState {
                level,
                status,
                detail,
            },
        );
    }

    pub fn get(&self, component: &str) -> Option<ComponentState> {
        self.components
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(component)
            .cloned()
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// Ready when marked ready and no component is unhealthy.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire) && self.report().status != Level::Unhealthy
    }

    pub fn report(&self) -> HealthReport {
        let components = self.components.read().unwrap_or_else(|e| e.into_inner()).clone();
        let status = components
            .values()
            .map(|c| c.level)
            .max()
            .unwrap_or(Level::Healthy);
        HealthReport {
            status,
            ready: self.ready.load(Ordering::Acquire),
            components,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overall_status_is_the_worst_component() {
        let h = Health::new();
        h.set("redis", Level::Healthy, "connected", None);
        h.set("model", Level::Degraded, "degraded", Some("fallback".into()));
        assert_eq!(h.report().status, Level::Degraded);
        h.set("redis", Level::Unhealthy, "disconnected", None);
        assert_eq!(h.report().status, Level::Unhealthy);
    }

    #[test]
    fn not_ready_while_a_component_is_unhealthy_even_if_marked_ready() {
        let h = Health::new();
        h.set_ready(true);
        assert!(h.is_ready());
        h.set("stream", Level::Unhealthy, "disconnected", None);
        assert!(!h.is_ready());
    }
}
