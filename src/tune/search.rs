//! The search loop: the oracle proposes trials in waves, the directory gives back those an
//! earlier run finished, and the pool trains the rest.

use std::time::Instant;

use crate::data::Dataset;

use super::oracle::{Hyperband, Oracle, Proposal, Sampler, Seen, Spec};
use super::tuner::Kind;
use super::{SearchResult, Trial, TuneError, Tuner};

impl Tuner {
    /// Runs the search on `train`, measuring the objective on `validation` after each
    /// epoch. Trials already in the directory are read back, not trained again.
    pub fn search(&self, train: &Dataset, validation: &Dataset) -> Result<SearchResult, TuneError> {
        self.check(train, validation)?;
        let started = Instant::now();
        let directory = self.prepare_directory()?;
        let configs = self.space.len() * self.learning_rates.len();
        let mut oracle = match self.kind {
            Kind::Grid => Oracle::Grid {
                next: 0,
                configs,
                epochs: self.epochs,
            },
            Kind::Random => Oracle::Random {
                sampler: Sampler::new(configs, self.seed),
                left: self.max_trials.unwrap_or(10),
                epochs: self.epochs,
            },
            Kind::Hyperband { factor, iterations } => Oracle::Hyperband(Hyperband::new(
                self.epochs,
                factor,
                iterations,
                Sampler::new(configs, self.seed),
            )),
        };
        let mut specs: Vec<Spec> = Vec::new();
        let mut seen: Vec<Seen> = Vec::new();
        let mut trials: Vec<Trial> = Vec::new();
        let (mut trained, mut reloaded) = (0, 0);
        let limit = self.max_trials.unwrap_or(usize::MAX);
        'search: loop {
            // A wave: every trial the oracle can propose before it must wait for results.
            // It does not depend on `parallel`, so trial ids are the same however many
            // trials run at once, and a resumed search proposes the same trials.
            let mut wave = Vec::new();
            let mut stopped = false;
            while !stopped {
                if specs.len() >= limit {
                    stopped = true;
                    break;
                }
                match oracle.propose(&seen, self.objective.direction) {
                    Proposal::Run(spec) => {
                        seen.push(Seen {
                            config: spec.config,
                            score: None,
                        });
                        specs.push(spec);
                        wave.push(specs.len() - 1);
                    }
                    Proposal::Idle => break,
                    Proposal::Stopped => stopped = true,
                }
            }
            if wave.is_empty() {
                break 'search;
            }
            let mut to_train = Vec::new();
            for &i in &wave {
                match self.stored(&directory, i, &specs[i])? {
                    Some(trial) => {
                        seen[i].score = Some(trial.score);
                        trials.push(trial);
                        reloaded += 1;
                    }
                    None => to_train.push(i),
                }
            }
            let done = self.train_all(&directory, &to_train, &specs, &trials, train, validation)?;
            for trial in done {
                let i: usize = trial.id.parse().unwrap_or(usize::MAX);
                if let Some(s) = seen.get_mut(i) {
                    s.score = Some(trial.score);
                }
                trials.push(trial);
                trained += 1;
            }
            trials.sort_by(|a, b| a.id.cmp(&b.id));
            if stopped {
                break 'search;
            }
        }
        Ok(SearchResult {
            trials,
            objective: self.objective.clone(),
            directory,
            space: self.space,
            trained,
            reloaded,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}
