//! One trial: what it trained, what it measured, and its JSON file
//! (`<directory>/trial_<id>/trial.json`, beside the weights `weights.safetensors`).

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::oracle::Spec;
use super::TuneError;

/// A hyperparameter's value: a const generic argument or a run-time setting.
#[derive(Clone, Debug, PartialEq)]
pub enum HpValue {
    /// An integer (const generic arguments, `tuner/epochs`, …).
    Int(i128),
    /// A real number (the learning rate).
    Float(f64),
    /// A name (`tuner/trial_id`).
    Text(String),
}

impl fmt::Display for HpValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HpValue::Int(v) => write!(f, "{v}"),
            HpValue::Float(v) => write!(f, "{v}"),
            HpValue::Text(v) => f.write_str(v),
        }
    }
}

impl HpValue {
    fn to_json(&self) -> Value {
        match self {
            // JSON numbers carry i64 exactly; larger const arguments go as `{"int": "…"}`.
            HpValue::Int(v) => {
                i64::try_from(*v).map_or_else(|_| json!({ "int": v.to_string() }), |v| json!(v))
            }
            HpValue::Float(v) => json!(v),
            HpValue::Text(v) => json!(v),
        }
    }

    fn from_json(v: &Value) -> Option<HpValue> {
        match v {
            Value::Number(n) if n.is_i64() => n.as_i64().map(|i| HpValue::Int(i128::from(i))),
            Value::Number(n) => n.as_f64().map(HpValue::Float),
            Value::String(s) => Some(HpValue::Text(s.clone())),
            _ => v.get("int")?.as_str()?.parse().ok().map(HpValue::Int),
        }
    }
}

/// A finished trial, as persisted.
#[derive(Clone, Debug, PartialEq)]
pub struct Trial {
    /// Keras Tuner's id: the trial's number, four digits (`"0007"`).
    pub id: String,
    /// The candidate's type, with its arguments (`"Mlp<256>"`).
    pub model: String,
    /// Index of the candidate in the space.
    pub candidate: usize,
    /// The candidate's `PARAMS`.
    pub params: usize,
    /// Every hyperparameter in Keras Tuner's order: the const generic arguments, the
    /// learning rate, then Hyperband's `tuner/epochs`, `tuner/initial_epoch`,
    /// `tuner/bracket`, `tuner/round` and (for a promoted trial) `tuner/trial_id`.
    pub hyperparameters: Vec<(String, HpValue)>,
    /// The learning rate.
    pub learning_rate: f64,
    /// The epoch training ended at.
    pub epochs: usize,
    /// The epoch it started from.
    pub initial_epoch: usize,
    /// The trial whose weights it continued.
    pub previous: Option<String>,
    /// Each metric's values, one per epoch trained in this trial (`loss`, `accuracy`,
    /// `val_loss`, `val_accuracy`).
    pub metrics: Vec<(String, Vec<f32>)>,
    /// The objective's best value over the epochs, as Keras Tuner scores a trial.
    pub score: f64,
    /// The epoch (counted from `initial_epoch`) of that best value.
    pub best_step: usize,
    /// Seconds the training took.
    pub seconds: f64,
    /// When it finished: milliseconds since the Unix epoch.
    pub finished_at_ms: u64,
}

impl Trial {
    /// The trial's folder in `directory`.
    pub fn dir(directory: &Path, id: &str) -> PathBuf {
        directory.join(format!("trial_{id}"))
    }

    /// A hyperparameter by name.
    pub fn get(&self, name: &str) -> Option<&HpValue> {
        self.hyperparameters
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// The values of one metric, one per epoch of this trial.
    pub fn metric(&self, name: &str) -> Option<&[f32]> {
        self.metrics
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// Whether this record is the trial `spec` asks for (same candidate, settings, epochs
    /// and predecessor).
    pub(crate) fn matches(
        &self,
        spec: &Spec,
        candidate: usize,
        lr: f64,
        previous: Option<&str>,
    ) -> bool {
        self.candidate == candidate
            && self.learning_rate == lr
            && self.epochs == spec.epochs
            && self.initial_epoch == spec.initial_epoch
            && self.previous.as_deref() == previous
    }

    pub(crate) fn to_json(&self) -> Value {
        // Pairs, not objects: the order is Keras Tuner's, not the alphabet's.
        let hp: Vec<Value> = self
            .hyperparameters
            .iter()
            .map(|(n, v)| json!([n, v.to_json()]))
            .collect();
        let metrics: Vec<Value> = self.metrics.iter().map(|(n, v)| json!([n, v])).collect();
        json!({
            "trial_id": self.id,
            "model": self.model,
            "candidate": self.candidate,
            "params": self.params,
            "hyperparameters": hp,
            "learning_rate": self.learning_rate,
            "epochs": self.epochs,
            "initial_epoch": self.initial_epoch,
            "previous": self.previous,
            "metrics": metrics,
            // The metric is an f32: written as one, it reads back exactly.
            "score": self.score as f32,
            "best_step": self.best_step,
            "status": "COMPLETED",
            "seconds": self.seconds,
            "finished_at_ms": self.finished_at_ms,
        })
    }

    pub(crate) fn from_json(v: &Value, path: &Path) -> Result<Trial, TuneError> {
        let bad = |what: &str| {
            TuneError::new(format!(
                "{}: `{what}` is missing or not what a trial holds; delete the file to train this trial again",
                path.display()
            ))
        };
        let uint = |k: &str| {
            v.get(k)
                .and_then(Value::as_u64)
                .map(|x| x as usize)
                .ok_or_else(|| bad(k))
        };
        let num = |k: &str| v.get(k).and_then(Value::as_f64).ok_or_else(|| bad(k));
        let text = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| bad(k))
        };
        if v.get("status").and_then(Value::as_str) != Some("COMPLETED") {
            return Err(bad("status"));
        }
        let pairs = |k: &str| v.get(k).and_then(Value::as_array).ok_or_else(|| bad(k));
        let pair = |x: &Value| -> Option<(String, Value)> {
            match x.as_array()?.as_slice() {
                [Value::String(n), value] => Some((n.clone(), value.clone())),
                _ => None,
            }
        };
        let hyperparameters = pairs("hyperparameters")?
            .iter()
            .map(|x| {
                let (n, x) = pair(x)?;
                Some((n, HpValue::from_json(&x)?))
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("hyperparameters"))?;
        let metrics = pairs("metrics")?
            .iter()
            .map(|x| {
                let (n, x) = pair(x)?;
                let values = x
                    .as_array()?
                    .iter()
                    .map(|y| y.as_f64().map(|y| y as f32))
                    .collect::<Option<Vec<f32>>>()?;
                Some((n, values))
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("metrics"))?;
        let previous = match v.get("previous") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(bad("previous")),
        };
        Ok(Trial {
            id: text("trial_id")?,
            model: text("model")?,
            candidate: uint("candidate")?,
            params: uint("params")?,
            hyperparameters,
            learning_rate: num("learning_rate")?,
            epochs: uint("epochs")?,
            initial_epoch: uint("initial_epoch")?,
            previous,
            metrics,
            score: f64::from(num("score")? as f32),
            best_step: uint("best_step")?,
            seconds: num("seconds")?,
            finished_at_ms: v
                .get("finished_at_ms")
                .and_then(Value::as_u64)
                .ok_or_else(|| bad("finished_at_ms"))?,
        })
    }
}

/// Writes `value` to `path` through a temporary file and a rename, so an interrupted
/// search never leaves half a file.
pub(crate) fn write_json(path: &Path, value: &Value) -> Result<(), TuneError> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| TuneError::caused_by(format!("cannot encode {}", path.display()), e))?;
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| TuneError::io("write", path, e))
}

/// Reads a JSON file; `Ok(None)` when it does not exist.
pub(crate) fn read_json(path: &Path) -> Result<Option<Value>, TuneError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            TuneError::caused_by(
                format!(
                    "{} is not valid JSON; delete it to start that part again",
                    path.display()
                ),
                e,
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(TuneError::io("read", path, e)),
    }
}
