//! Running trials: `parallel` at a time on scoped threads, each trained, scored and saved
//! as soon as it finishes.

use std::cmp::Ordering;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::data::Dataset;

use super::directory::trial_id;
use super::oracle::Spec;
use super::trial;
use super::{HpValue, Job, Trial, TuneError, Tuner};

impl Tuner {
    /// Trains the trials `todo`, `parallel` at a time, each saved as soon as it finishes.
    pub(super) fn train_all(
        &self,
        directory: &Path,
        todo: &[usize],
        specs: &[Spec],
        trials: &[Trial],
        train: &Dataset,
        validation: &Dataset,
    ) -> Result<Vec<Trial>, TuneError> {
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Result<Trial, TuneError>>> = Mutex::new(Vec::new());
        let work = || loop {
            let k = next.fetch_add(1, AtomicOrdering::Relaxed);
            let Some(&i) = todo.get(k) else { break };
            let result = self.train_one(directory, i, &specs[i], trials, train, validation);
            let failed = result.is_err();
            if let Ok(mut results) = results.lock() {
                results.push(result);
            }
            if failed {
                // Stop handing out trials; those running finish and are kept.
                next.store(todo.len(), AtomicOrdering::Relaxed);
            }
        };
        let threads = self.parallel.min(todo.len());
        if threads <= 1 {
            work();
        } else {
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(work);
                }
            });
        }
        let results = results
            .into_inner()
            .map_err(|_| TuneError::new("a trial's thread panicked"))?;
        let mut done = Vec::new();
        for r in results {
            done.push(r?);
        }
        Ok(done)
    }

    /// Trains, scores and saves the trial `i`.
    fn train_one(
        &self,
        directory: &Path,
        i: usize,
        spec: &Spec,
        trials: &[Trial],
        train: &Dataset,
        validation: &Dataset,
    ) -> Result<Trial, TuneError> {
        let id = trial_id(i);
        let (c, lr) = self.config(spec.config);
        let candidate = self.space.candidates()[c];
        let dir = Trial::dir(directory, &id);
        std::fs::create_dir_all(&dir).map_err(|e| TuneError::io("create", &dir, e))?;
        let previous = spec.previous.map(trial_id);
        let resume_from = match &previous {
            Some(p) => {
                if !trials.iter().any(|t| &t.id == p) {
                    return Err(TuneError::new(format!(
                        "trial {id} continues trial {p}, which is not finished"
                    )));
                }
                Some(Trial::dir(directory, p).join("weights.safetensors"))
            }
            None => None,
        };
        let job = Job {
            train,
            validation,
            optimizer: self.optimizer,
            learning_rate: lr,
            loss: self.loss,
            batch_size: self.batch_size,
            epochs: spec.epochs,
            initial_epoch: spec.initial_epoch,
            resume_from,
            weights: dir.join("weights.safetensors"),
            seed: self.seed.wrapping_add(i as u64),
        };
        let started = Instant::now();
        let history = (candidate.train)(&job)
            .map_err(|e| e.context(format!("trial {id} ({})", candidate.type_name())))?;
        // Milliseconds: short decimals read back from JSON exactly.
        let seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        let values = history.get(&self.objective.name).ok_or_else(|| {
            let names: Vec<&str> = history.names().collect();
            TuneError::new(format!(
                "the objective `{}` is not in the training history, which has {}",
                self.objective.name,
                names.join(", ")
            ))
        })?;
        let mut best_step = 0;
        for (k, v) in values.iter().enumerate() {
            if self
                .objective
                .direction
                .compare(f64::from(*v), f64::from(values[best_step]))
                == Ordering::Greater
            {
                best_step = k;
            }
        }
        let score = values.get(best_step).map_or(f64::NAN, |v| f64::from(*v));
        let mut hyperparameters: Vec<(String, HpValue)> = candidate
            .hyperparameters
            .iter()
            .map(|(n, v)| ((*n).to_owned(), HpValue::Int(*v)))
            .collect();
        hyperparameters.push(("learning_rate".to_owned(), HpValue::Float(lr)));
        if let Some((bracket, round)) = spec.bracket {
            let int = |v: usize| HpValue::Int(v as i128);
            hyperparameters.push(("tuner/epochs".to_owned(), int(spec.epochs)));
            hyperparameters.push(("tuner/initial_epoch".to_owned(), int(spec.initial_epoch)));
            hyperparameters.push((
                "tuner/bracket".to_owned(),
                HpValue::Int(i128::from(bracket)),
            ));
            hyperparameters.push(("tuner/round".to_owned(), int(round)));
            if let Some(p) = &previous {
                hyperparameters.push(("tuner/trial_id".to_owned(), HpValue::Text(p.clone())));
            }
        }
        let trial = Trial {
            id,
            model: candidate.type_name(),
            candidate: c,
            params: candidate.params,
            hyperparameters,
            learning_rate: lr,
            epochs: spec.epochs,
            initial_epoch: spec.initial_epoch,
            previous,
            metrics: history
                .names()
                .filter_map(|n| Some((n.to_owned(), history.get(n)?.to_vec())))
                .collect(),
            score,
            best_step,
            seconds,
            finished_at_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        };
        trial::write_json(&dir.join("trial.json"), &trial.to_json())?;
        if self.verbose {
            println!(
                "Trial {} ({}, learning_rate {lr}, epochs {}..{}): {} = {} in {seconds:.1}s",
                trial.id, trial.model, spec.initial_epoch, spec.epochs, self.objective.name, score
            );
        }
        Ok(trial)
    }
}
