//! The search's directory: the record that identifies the search (`oracle.json`), the
//! trials an earlier run left there, and the ids that name their folders.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::oracle::Spec;
use super::trial;
use super::tuner::Kind;
use super::{Candidate, Trial, TuneError, Tuner};

/// Keras Tuner's id of the trial `i`: four digits (`"0007"`).
pub(super) fn trial_id(i: usize) -> String {
    format!("{i:04}")
}

impl Tuner {
    /// What identifies this search in its directory: a resumed run must be the same search.
    fn record(&self) -> Value {
        let candidates: Vec<String> = self
            .space
            .candidates()
            .iter()
            .map(Candidate::type_name)
            .collect();
        let (tuner, factor, iterations) = match self.kind {
            Kind::Grid => ("grid", 0, 0),
            Kind::Random => ("random", 0, 0),
            Kind::Hyperband { factor, iterations } => ("hyperband", factor, iterations),
        };
        json!({
            "tuner": tuner,
            "factor": factor,
            "hyperband_iterations": iterations,
            "candidates": candidates,
            "learning_rates": self.learning_rates,
            "optimizer": self.optimizer_name,
            "loss": self.loss.name(),
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "seed": self.seed,
            "objective": self.objective.to_string(),
        })
    }

    /// The search's directory, made (or emptied, with `overwrite`) and checked to hold
    /// this search or nothing.
    pub(super) fn prepare_directory(&self) -> Result<PathBuf, TuneError> {
        let directory = match &self.directory {
            Some(d) => d.clone(),
            None => {
                let nanos = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                std::env::temp_dir().join(format!("model-tune-{}-{nanos}", std::process::id()))
            }
        };
        let io = |e: std::io::Error| TuneError::io("use the directory", &directory, e);
        let record_path = directory.join("oracle.json");
        let record = json!({ "search": self.record() });
        if self.overwrite && directory.exists() {
            // Only what a search writes: the record and the trial folders.
            for entry in std::fs::read_dir(&directory).map_err(io)? {
                let path = entry.map_err(io)?.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.starts_with("trial_") && path.is_dir() {
                    std::fs::remove_dir_all(&path).map_err(io)?;
                }
            }
            let _ = std::fs::remove_file(&record_path);
        }
        std::fs::create_dir_all(&directory).map_err(io)?;
        match trial::read_json(&record_path)? {
            Some(old) if old == record => {}
            Some(old) => {
                let differs: Vec<String> = match (old.get("search"), record.get("search")) {
                    (Some(Value::Object(a)), Some(Value::Object(b))) => b
                        .iter()
                        .filter(|(k, v)| a.get(*k) != Some(v))
                        .map(|(k, v)| {
                            format!("{k}: {} there, {v} now", a.get(k).unwrap_or(&Value::Null))
                        })
                        .collect(),
                    _ => vec!["its record is not a search's".to_owned()],
                };
                return Err(TuneError::new(format!(
                    "{} holds another search ({}); use another directory, or `overwrite(true)` to delete its trials",
                    directory.display(),
                    differs.join("; ")
                )));
            }
            None => trial::write_json(&record_path, &record)?,
        }
        Ok(directory)
    }

    /// The trial `i` from the directory, when an earlier run finished it.
    pub(super) fn stored(
        &self,
        directory: &Path,
        i: usize,
        spec: &Spec,
    ) -> Result<Option<Trial>, TuneError> {
        let id = trial_id(i);
        let dir = Trial::dir(directory, &id);
        let path = dir.join("trial.json");
        let Some(value) = trial::read_json(&path)? else {
            return Ok(None);
        };
        if !dir.join("weights.safetensors").exists() {
            return Ok(None);
        }
        let trial = Trial::from_json(&value, &path)?;
        let (candidate, lr) = self.config(spec.config);
        let previous = spec.previous.map(trial_id);
        if trial.id != id || !trial.matches(spec, candidate, lr, previous.as_deref()) {
            return Err(TuneError::new(format!(
                "{} records another trial than this search proposes ({}); the search is not reproducible from this directory: use `overwrite(true)`",
                path.display(),
                trial.model
            )));
        }
        Ok(Some(trial))
    }
}
