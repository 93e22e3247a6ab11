//! `metric`: comparisons on a number the source reports (upvotes,
//! comments, stars). A missing metric never matches.

use super::{hit, Condition, RulePath};
use crate::defs::ConditionDef;
use crate::defs::Invalid;
use crate::model::RuleHit;
use crate::rules::subject::Subject;

#[derive(Debug, Clone, Copy)]
enum Cmp {
    Gte,
    Gt,
    Lte,
    Lt,
    Eq,
}

impl Cmp {
    fn holds(self, v: f64, x: f64) -> bool {
        match self {
            Cmp::Gte => v >= x,
            Cmp::Gt => v > x,
            Cmp::Lte => v <= x,
            Cmp::Lt => v < x,
            Cmp::Eq => v == x,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Cmp::Gte => "≥",
            Cmp::Gt => ">",
            Cmp::Lte => "≤",
            Cmp::Lt => "<",
            Cmp::Eq => "=",
        }
    }
}

/// Every comparison holds for the named metric.
#[derive(Debug, Clone)]
pub struct MetricCond {
    name: String,
    cmps: Vec<(Cmp, f64)>,
}

impl MetricCond {
    /// The metric compared.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(super) fn compile(name: &str, def: &ConditionDef) -> Result<MetricCond, Invalid> {
        let cmps: Vec<(Cmp, f64)> = [
            (Cmp::Gte, def.gte),
            (Cmp::Gt, def.gt),
            (Cmp::Lte, def.lte),
            (Cmp::Lt, def.lt),
            (Cmp::Eq, def.eq),
        ]
        .into_iter()
        .filter_map(|(c, v)| v.map(|v| (c, v)))
        .collect();
        if cmps.is_empty() {
            return Err(
                format!("metric `{name}` needs a comparison: gte, gt, lte, lt or eq").into(),
            );
        }
        Ok(MetricCond {
            name: name.to_string(),
            cmps,
        })
    }
}

impl Condition for MetricCond {
    fn eval(&self, s: &Subject, path: &RulePath, hits: &mut Vec<RuleHit>) -> bool {
        let Some(&v) = s.entry.metrics.get(&self.name) else {
            return false;
        };
        let ok = self.cmps.iter().all(|(c, x)| c.holds(v, *x));
        if ok {
            hits.push(hit(path, "metric", &self.name, &v.to_string()));
        }
        ok
    }

    fn describe(&self) -> String {
        let c: Vec<String> = self
            .cmps
            .iter()
            .map(|(c, v)| format!("{} {} {v}", self.name, c.symbol()))
            .collect();
        c.join(" and ")
    }

    fn observed(&self, s: &Subject) -> Option<String> {
        Some(match s.entry.metrics.get(&self.name) {
            Some(v) => format!("{} = {v}", self.name),
            None => format!("no {}", self.name),
        })
    }

    fn lint(&self) -> Option<String> {
        let (mut lo, mut hi) = (f64::MIN, f64::MAX);
        for (c, v) in &self.cmps {
            match c {
                Cmp::Gte | Cmp::Gt => lo = lo.max(*v),
                Cmp::Lte | Cmp::Lt => hi = hi.min(*v),
                Cmp::Eq => {}
            }
        }
        (lo > hi).then(|| format!("metric `{}` must be ≥ {lo} and ≤ {hi}", self.name))
    }
}
