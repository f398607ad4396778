//! Registration helpers: every handle is created from a [`MetricDef`], so the name, help and buckets
//! used at runtime are the ones in the catalog.

use crate::def::{LabelDef, MetricDef};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::hash::Hash;
use std::sync::atomic::AtomicU64;

/// A float gauge.
pub type GaugeF = Gauge<f64, AtomicU64>;
/// A float counter (e.g. CPU seconds).
pub type CounterF = Counter<f64, AtomicU64>;

/// A set of label values with a closed universe, pre-created at registration so every series
/// exists (at zero) from the first scrape and `rate()` works from the start.
pub trait LabelSet: EncodeLabelSet + Clone + Hash + Eq + std::fmt::Debug + Send + Sync + 'static {
    const LABELS: &'static [LabelDef];
    fn all() -> Vec<Self>;
}

/// Defines a label-set struct whose fields are [`crate::labels::LabelValue`] enums.
#[macro_export]
macro_rules! label_set {
    ($(#[$meta:meta])* $name:ident { $f1:ident : $t1:ty $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
        pub struct $name { pub $f1: $t1 }
        impl $crate::register::LabelSet for $name {
            const LABELS: &'static [$crate::def::LabelDef] = &[
                $crate::def::LabelDef { name: stringify!($f1), values: <$t1 as $crate::labels::LabelValue>::all_strs },
            ];
            fn all() -> Vec<Self> {
                <$t1 as $crate::labels::LabelValue>::ALL.iter().map(|&$f1| Self { $f1 }).collect()
            }
        }
    };
    ($(#[$meta:meta])* $name:ident { $f1:ident : $t1:ty, $f2:ident : $t2:ty $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
        pub struct $name { pub $f1: $t1, pub $f2: $t2 }
        impl $crate::register::LabelSet for $name {
            const LABELS: &'static [$crate::def::LabelDef] = &[
                $crate::def::LabelDef { name: stringify!($f1), values: <$t1 as $crate::labels::LabelValue>::all_strs },
                $crate::def::LabelDef { name: stringify!($f2), values: <$t2 as $crate::labels::LabelValue>::all_strs },
            ];
            fn all() -> Vec<Self> {
                let mut out = Vec::new();
                for &$f1 in <$t1 as $crate::labels::LabelValue>::ALL {
                    for &$f2 in <$t2 as $crate::labels::LabelValue>::ALL {
                        out.push(Self { $f1, $f2 });
                    }
                }
                out
            }
        }
    };
    ($(#[$meta:meta])* $name:ident { $f1:ident : $t1:ty, $f2:ident : $t2:ty, $f3:ident : $t3:ty $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
        pub struct $name { pub $f1: $t1, pub $f2: $t2, pub $f3: $t3 }
        impl $crate::register::LabelSet for $name {
            const LABELS: &'static [$crate::def::LabelDef] = &[
                $crate::def::LabelDef { name: stringify!($f1), values: <$t1 as $crate::labels::LabelValue>::all_strs },
                $crate::def::LabelDef { name: stringify!($f2), values: <$t2 as $crate::labels::LabelValue>::all_strs },
                $crate::def::LabelDef { name: stringify!($f3), values: <$t3 as $crate::labels::LabelValue>::all_strs },
            ];
            fn all() -> Vec<Self> {
                let mut out = Vec::new();
                for &$f1 in <$t1 as $crate::labels::LabelValue>::ALL {
                    for &$f2 in <$t2 as $crate::labels::LabelValue>::ALL {
                        for &$f3 in <$t3 as $crate::labels::LabelValue>::ALL {
                            out.push(Self { $f1, $f2, $f3 });
                        }
                    }
                }
                out
            }
        }
    };
}

/// A gauge whose value is NaN until it is first known. The series exists from the first scrape
/// (so every schema name is visible), but an unknown value never looks like a real one: NaN
/// compares false, so `x < 100`-style alerts cannot fire on it, and dashboards show a gap.
#[derive(Clone, Debug)]
pub struct LazyGauge(GaugeF);

impl Default for LazyGauge {
    fn default() -> Self {
        let g = GaugeF::default();
        g.set(f64::NAN);
        LazyGauge(g)
    }
}

impl LazyGauge {
    pub fn set(&self, v: f64) {
        self.0.set(v);
    }
    /// The value, or `None` while unknown.
    pub fn get(&self) -> Option<f64> {
        Some(self.0.get()).filter(|v| !v.is_nan())
    }
    /// The value is no longer known.
    pub fn clear(&self) {
        self.0.set(f64::NAN);
    }
}

/// Constructor for histogram families: buckets come from the definition.
#[derive(Clone, Copy, Debug)]
pub struct Buckets(pub &'static [f64]);

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(self.0.iter().copied())
    }
}

pub fn counter(reg: &mut Registry, def: &MetricDef) -> Counter {
    let m = Counter::default();
    reg.register(def.registration_name(), def.help, m.clone());
    m
}

pub fn counter_f64(reg: &mut Registry, def: &MetricDef) -> CounterF {
    let m = CounterF::default();
    reg.register(def.registration_name(), def.help, m.clone());
    m
}

pub fn counter_family<L: LabelSet>(reg: &mut Registry, def: &MetricDef) -> Family<L, Counter> {
    let m = Family::<L, Counter>::default();
    for l in L::all() {
        let _ = m.get_or_create(&l);
    }
    reg.register(def.registration_name(), def.help, m.clone());
    m
}

pub fn gauge(reg: &mut Registry, def: &MetricDef) -> LazyGauge {
    let m = LazyGauge::default();
    reg.register(def.registration_name(), def.help, m.0.clone());
    m
}

/// A labelled gauge family; every series is pre-created at NaN (unknown) until set.
pub fn gauge_family<L: LabelSet>(reg: &mut Registry, def: &MetricDef) -> Family<L, GaugeF> {
    let m = Family::<L, GaugeF>::default();
    for l in L::all() {
        m.get_or_create(&l).set(f64::NAN);
    }
    reg.register(def.registration_name(), def.help, m.clone());
    m
}

pub fn histogram(reg: &mut Registry, def: &MetricDef) -> Histogram {
    let m = Histogram::new(def.buckets.iter().copied());
    reg.register(def.registration_name(), def.help, m.clone());
    m
}

pub fn histogram_family<L: LabelSet>(reg: &mut Registry, def: &MetricDef) -> Family<L, Histogram, Buckets> {
    let m = Family::new_with_constructor(Buckets(def.buckets));
    for l in L::all() {
        let _ = m.get_or_create(&l);
    }
    reg.register(def.registration_name(), def.help, m.clone());
    m
}
