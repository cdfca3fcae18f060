//! What a search returns: every trial, the best ones in Keras Tuner's `results_summary`
//! form, a table of all of them, and the best trained model.

use std::any::type_name;
use std::fmt;
use std::path::{Path, PathBuf};

use model_core::summary::thousands;

use super::{Objective, Space, TrainedModel, Trial, TuneError};

/// The trials of a finished (or stopped) search.
#[derive(Clone, Debug)]
pub struct SearchResult {
    pub(crate) trials: Vec<Trial>,
    pub(crate) objective: Objective,
    pub(crate) directory: PathBuf,
    pub(crate) space: Space,
    pub(crate) trained: usize,
    pub(crate) reloaded: usize,
    pub(crate) seconds: f64,
}

impl SearchResult {
    /// Every trial, in the order of their ids.
    pub fn trials(&self) -> &[Trial] {
        &self.trials
    }

    /// The objective the search optimized.
    pub fn objective(&self) -> &Objective {
        &self.objective
    }

    /// The directory the trials are kept in.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// How many trials this run trained.
    pub fn trained(&self) -> usize {
        self.trained
    }

    /// How many trials this run read back from the directory instead of training them.
    pub fn reloaded(&self) -> usize {
        self.reloaded
    }

    /// Seconds this run took.
    pub fn seconds(&self) -> f64 {
        self.seconds
    }

    /// The `n` best trials, best first (Keras Tuner's `get_best_trials`; ties keep the
    /// order of the ids).
    pub fn best_trials(&self, n: usize) -> Vec<&Trial> {
        let mut sorted: Vec<&Trial> = self.trials.iter().collect();
        let direction = self.objective.direction;
        sorted.sort_by(|a, b| direction.compare(b.score, a.score));
        sorted.truncate(n);
        sorted
    }

    /// The best trial, or `None` when no trial ran.
    pub fn best_trial(&self) -> Option<&Trial> {
        self.best_trials(1).into_iter().next()
    }

    /// The best trial's trained model, whatever its type (its weights, read back from the
    /// directory). `into_any().downcast::<M>()` gives the concrete type; [`Self::best`]
    /// does both.
    pub fn best_model(&self) -> Result<Box<dyn TrainedModel>, TuneError> {
        let trial = self
            .best_trial()
            .ok_or_else(|| TuneError::new("the search ran no trial"))?;
        let candidate = self
            .space
            .candidates()
            .get(trial.candidate)
            .ok_or_else(|| {
                TuneError::new(format!(
                    "trial {} names candidate {}, not in the space",
                    trial.id, trial.candidate
                ))
            })?;
        let path = Trial::dir(&self.directory, &trial.id).join("weights.safetensors");
        Ok((candidate.load)(&path)?)
    }

    /// The best trained model as the type `M`, or an error naming the best trial's type
    /// when it is another (`result.best::<Mlp<256>>()`).
    pub fn best<M: 'static>(&self) -> Result<M, TuneError> {
        let model = self.best_model()?;
        let name = self
            .best_trial()
            .map(|t| t.model.clone())
            .unwrap_or_default();
        model.into_any().downcast::<M>().map(|m| *m).map_err(|_| {
            TuneError::new(format!(
                "the best trial's model is `{name}`, not `{}`",
                type_name::<M>()
            ))
        })
    }

    /// Keras Tuner's `results_summary(10)` followed by a table of every trial.
    pub fn summary(&self) -> Summary<'_> {
        Summary {
            result: self,
            best: 10,
        }
    }
}

/// [`SearchResult::summary`]'s text (`Display`).
#[derive(Clone, Copy, Debug)]
pub struct Summary<'a> {
    result: &'a SearchResult,
    best: usize,
}

impl Summary<'_> {
    /// How many best trials to show in full; default 10, as Keras Tuner.
    pub fn best(mut self, n: usize) -> Self {
        self.best = n;
        self
    }
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.result;
        writeln!(f, "Results summary")?;
        writeln!(f, "Results in {}", r.directory.display())?;
        writeln!(f, "Showing {} best trials", self.best)?;
        writeln!(f, "{}", r.objective)?;
        for trial in r.best_trials(self.best) {
            writeln!(f)?;
            writeln!(f, "Trial {} summary", trial.id)?;
            writeln!(f, "Hyperparameters:")?;
            for (name, value) in &trial.hyperparameters {
                writeln!(f, "{name}: {value}")?;
            }
            // Python prints the float64 of the float32 metric: Rust's shortest form of the
            // same f64 has the same digits.
            writeln!(f, "Score: {}", trial.score)?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "All trials ({} trained in this run, {} read back, {:.1}s)",
            r.trained, r.reloaded, r.seconds
        )?;
        let mut names: Vec<&str> = Vec::new();
        for t in &r.trials {
            for (n, _) in &t.hyperparameters {
                if !n.starts_with("tuner/") && !names.contains(&n.as_str()) {
                    names.push(n);
                }
            }
        }
        let mut header: Vec<String> = vec!["Trial".into(), "Model".into()];
        header.extend(names.iter().map(|n| (*n).to_owned()));
        header.extend(["Epochs", "From", "Params", &r.objective.name, "Seconds"].map(String::from));
        let rows: Vec<Vec<String>> = r
            .trials
            .iter()
            .map(|t| {
                let mut row = vec![t.id.clone(), t.model.clone()];
                row.extend(
                    names
                        .iter()
                        .map(|n| t.get(n).map_or(String::new(), |v| v.to_string())),
                );
                row.push(t.epochs.to_string());
                row.push(t.previous.clone().unwrap_or_else(|| "-".into()));
                row.push(thousands(t.params));
                row.push(format!("{:.4}", t.score));
                row.push(format!("{:.1}", t.seconds));
                row
            })
            .collect();
        let widths: Vec<usize> = (0..header.len())
            .map(|c| {
                rows.iter()
                    .map(|r| r[c].len())
                    .chain([header[c].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |f: &mut fmt::Formatter<'_>, cells: &[String]| -> fmt::Result {
            let text: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(c, (s, w))| {
                    if c < 2 {
                        format!("{s:<w$}")
                    } else {
                        format!("{s:>w$}")
                    }
                })
                .collect();
            writeln!(f, "{}", text.join("  ").trim_end())
        };
        line(f, &header)?;
        for row in &rows {
            line(f, row)?;
        }
        Ok(())
    }
}
