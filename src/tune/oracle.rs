//! Which trial to run next: grid, random and Keras Tuner's Hyperband.
//!
//! A configuration is an index into the cartesian product of the candidates and the
//! learning rates. The oracles see the trials proposed so far (running or done) and propose
//! one more, say they must wait for running trials (`Idle`), or that the search is over.

use super::Direction;

/// What an oracle asks for.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Spec {
    /// Index into candidates × learning rates.
    pub config: usize,
    /// The epoch training ends at.
    pub epochs: usize,
    /// The epoch it starts from (0, or the earlier trial's `epochs`).
    pub initial_epoch: usize,
    /// The trial whose weights this one continues (Hyperband's promotions).
    pub previous: Option<usize>,
    /// Hyperband's `tuner/bracket` and `tuner/round`.
    pub bracket: Option<(i64, usize)>,
}

/// The oracle's answer.
#[derive(Debug)]
pub(crate) enum Proposal {
    Run(Spec),
    Idle,
    Stopped,
}

/// A trial as the oracles see it: its score once done.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seen {
    pub config: usize,
    pub score: Option<f64>,
}

/// A seeded generator (SplitMix64): the same seed, the same search.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Random configurations never tried before (Keras Tuner's `_random_values` with its set of
/// tried values). Drawing among the untried ones directly is rejection sampling without
/// Keras's limit of 20 collisions: the same distribution, and no early stop while
/// configurations remain.
#[derive(Clone, Debug)]
pub(crate) struct Sampler {
    rng: Rng,
    tried: Vec<bool>,
}

impl Sampler {
    pub fn new(configs: usize, seed: u64) -> Sampler {
        Sampler {
            rng: Rng::new(seed),
            tried: vec![false; configs],
        }
    }

    pub fn draw(&mut self) -> Option<usize> {
        let left = self.tried.iter().filter(|t| !**t).count();
        if left == 0 {
            return None;
        }
        let k = self.rng.below(left);
        let config = self
            .tried
            .iter()
            .enumerate()
            .filter(|(_, t)| !**t)
            .nth(k)
            .map(|(i, _)| i)?;
        self.tried[config] = true;
        Some(config)
    }
}

/// The three tuners' oracles.
#[derive(Clone, Debug)]
pub(crate) enum Oracle {
    /// Every configuration in order, each for `epochs`.
    Grid {
        next: usize,
        configs: usize,
        epochs: usize,
    },
    /// `max_trials` random configurations, each for `epochs`.
    Random {
        sampler: Sampler,
        left: usize,
        epochs: usize,
    },
    /// Keras Tuner's Hyperband.
    Hyperband(Hyperband),
}

impl Oracle {
    pub fn propose(&mut self, trials: &[Seen], direction: Direction) -> Proposal {
        match self {
            Oracle::Grid {
                next,
                configs,
                epochs,
            } => {
                if *next >= *configs {
                    return Proposal::Stopped;
                }
                *next += 1;
                Proposal::Run(Spec {
                    config: *next - 1,
                    epochs: *epochs,
                    initial_epoch: 0,
                    previous: None,
                    bracket: None,
                })
            }
            Oracle::Random {
                sampler,
                left,
                epochs,
            } => {
                if *left == 0 {
                    return Proposal::Stopped;
                }
                match sampler.draw() {
                    Some(config) => {
                        *left -= 1;
                        Proposal::Run(Spec {
                            config,
                            epochs: *epochs,
                            initial_epoch: 0,
                            previous: None,
                            bracket: None,
                        })
                    }
                    None => Proposal::Stopped,
                }
            }
            Oracle::Hyperband(h) => h.propose(trials, direction),
        }
    }
}

/// One Hyperband bracket: for each round, the trials in it and the trial each continues.
#[derive(Clone, Debug)]
struct Bracket {
    num: usize,
    rounds: Vec<Vec<(Option<usize>, usize)>>,
}

/// Keras Tuner's `HyperbandOracle` (keras_tuner/tuners/hyperband.py): brackets from the most
/// aggressive halving down to plain random search, each round's best `1/factor` promoted to
/// the next round's epochs, continuing from their weights. One difference: `tuner/bracket`
/// is the trial's own bracket, where Keras Tuner writes the newest bracket's number (the
/// same when trials run one at a time, not when brackets overlap).
#[derive(Clone, Debug)]
pub(crate) struct Hyperband {
    max_epochs: usize,
    factor: usize,
    iterations: usize,
    current_iteration: usize,
    current_bracket: i64,
    brackets: Vec<Bracket>,
    sampler: Sampler,
}

impl Hyperband {
    pub fn new(max_epochs: usize, factor: usize, iterations: usize, sampler: Sampler) -> Hyperband {
        let mut h = Hyperband {
            max_epochs,
            factor,
            iterations,
            current_iteration: 0,
            current_bracket: 0,
            brackets: Vec::new(),
            sampler,
        };
        h.current_bracket = h.num_brackets() as i64 - 1;
        h.start_new_bracket();
        h
    }

    /// `_get_num_brackets`: how many times `max_epochs` divides by `factor` staying ≥ 1.
    pub fn num_brackets(&self) -> usize {
        let mut epochs = self.max_epochs as f64;
        let mut brackets = 0;
        while epochs >= 1.0 {
            epochs /= self.factor as f64;
            brackets += 1;
        }
        brackets
    }

    /// `_get_size`: the trials in `round` of `bracket`, so that every bracket takes about
    /// the same number of epochs.
    pub fn size(&self, bracket: usize, round: usize) -> usize {
        let f = self.factor as f64;
        let end0 = (1.0 + (self.max_epochs as f64).ln() / f.ln()).ceil();
        let end = end0 / (bracket + 1) as f64;
        (end * f.powi(bracket as i32 - round as i32)).ceil() as usize
    }

    /// `_get_epochs`: the epochs a trial of `round` of `bracket` trains to.
    pub fn epochs(&self, bracket: usize, round: usize) -> usize {
        let f = self.factor as f64;
        (self.max_epochs as f64 / f.powi(bracket as i32 - round as i32)).ceil() as usize
    }

    fn start_new_bracket(&mut self) {
        let num = self.current_bracket.max(0) as usize;
        self.brackets.push(Bracket {
            num,
            rounds: vec![Vec::new(); num + 1],
        });
    }

    fn increment_bracket(&mut self) {
        self.current_bracket -= 1;
        if self.current_bracket < 0 {
            self.current_bracket = self.num_brackets() as i64 - 1;
            self.current_iteration += 1;
        }
    }

    fn random_trial(&mut self, bracket: usize, trials: &[Seen]) -> Proposal {
        let num = self.brackets[bracket].num;
        match self.sampler.draw() {
            Some(config) => {
                self.brackets[bracket].rounds[0].push((None, trials.len()));
                Proposal::Run(Spec {
                    config,
                    epochs: self.epochs(num, 0),
                    initial_epoch: 0,
                    previous: None,
                    bracket: Some((num as i64, 0)),
                })
            }
            None if trials.iter().any(|t| t.score.is_none()) => Proposal::Idle,
            None => Proposal::Stopped,
        }
    }

    /// `populate_space`: the next trial, `trials.len()` being its index.
    fn propose(&mut self, trials: &[Seen], direction: Direction) -> Proposal {
        let sizes: Vec<usize> = self
            .brackets
            .iter()
            .map(|b| self.size(b.num, b.rounds.len() - 1))
            .collect();
        let mut i = 0;
        self.brackets.retain(|b| {
            i += 1;
            b.rounds[b.rounds.len() - 1].len() != sizes[i - 1]
        });
        for b in 0..self.brackets.len() {
            let num = self.brackets[b].num;
            if self.brackets[b].rounds[0].len() < self.size(num, 0) {
                return self.random_trial(b, trials);
            }
            for round in 1..self.brackets[b].rounds.len() {
                let size = self.size(num, round);
                let past_size = self.size(num, round - 1);
                let rounds = &self.brackets[b].rounds;
                let selected: Vec<usize> = rounds[round].iter().filter_map(|r| r.0).collect();
                let mut candidates: Vec<(usize, f64)> = rounds[round - 1]
                    .iter()
                    .map(|r| r.1)
                    .filter(|id| !selected.contains(id))
                    .filter_map(|id| trials.get(id)?.score.map(|s| (id, s)))
                    .collect();
                if candidates.len() + size > past_size {
                    // A stable sort, best first, as Python's `sorted`.
                    candidates.sort_by(|a, b| direction.compare(b.1, a.1));
                    let best = candidates[0].0;
                    self.brackets[b].rounds[round].push((Some(best), trials.len()));
                    return Proposal::Run(Spec {
                        config: trials[best].config,
                        epochs: self.epochs(num, round),
                        initial_epoch: self.epochs(num, round - 1),
                        previous: Some(best),
                        bracket: Some((num as i64, round)),
                    });
                }
            }
        }
        if self.current_bracket <= 0 && self.current_iteration + 1 >= self.iterations {
            if trials.iter().any(|t| t.score.is_none()) {
                return Proposal::Idle;
            }
            return Proposal::Stopped;
        }
        self.increment_bracket();
        self.start_new_bracket();
        let last = self.brackets.len() - 1;
        self.random_trial(last, trials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_all(mut h: Hyperband, score: impl Fn(&Spec) -> f64) -> Vec<Spec> {
        let mut specs: Vec<Spec> = Vec::new();
        let mut seen: Vec<Seen> = Vec::new();
        loop {
            let mut wave = Vec::new();
            loop {
                match h.propose(&seen, Direction::Max) {
                    Proposal::Run(spec) => {
                        seen.push(Seen {
                            config: spec.config,
                            score: None,
                        });
                        specs.push(spec);
                        wave.push(specs.len() - 1);
                    }
                    Proposal::Idle => break,
                    Proposal::Stopped => return specs,
                }
            }
            for i in wave {
                seen[i].score = Some(score(&specs[i]));
            }
        }
    }

    #[test]
    fn keras_schedule_for_max_epochs_10() {
        let h = Hyperband::new(10, 3, 1, Sampler::new(48, 1));
        assert_eq!(h.num_brackets(), 3);
        assert_eq!([h.size(2, 0), h.size(2, 1), h.size(2, 2)], [12, 4, 2]);
        assert_eq!([h.epochs(2, 0), h.epochs(2, 1), h.epochs(2, 2)], [2, 4, 10]);
        assert_eq!([h.size(1, 0), h.size(1, 1)], [6, 2]);
        assert_eq!([h.epochs(1, 0), h.epochs(1, 1)], [4, 10]);
        assert_eq!(h.size(0, 0), 4);
        let specs = run_all(h, |s| s.config as f64);
        assert_eq!(specs.len(), 12 + 4 + 2 + 6 + 2 + 4);
        // Promotions continue the best of the round before.
        let promoted: Vec<&Spec> = specs.iter().filter(|s| s.previous.is_some()).collect();
        assert_eq!(promoted.len(), 8);
        for s in promoted {
            let p = &specs[s.previous.unwrap_or(0)];
            assert_eq!(s.initial_epoch, p.epochs);
            assert_eq!(s.config, p.config);
        }
        // 22 distinct random configurations.
        let mut fresh: Vec<usize> = specs
            .iter()
            .filter(|s| s.previous.is_none())
            .map(|s| s.config)
            .collect();
        fresh.sort_unstable();
        fresh.dedup();
        assert_eq!(fresh.len(), 22);
    }

    #[test]
    fn small_space_stops_when_configurations_run_out() {
        // max_epochs 2: one bracket of ceil(1 + log3 2) = 2 trials; only 1 configuration.
        let specs = run_all(Hyperband::new(2, 3, 1, Sampler::new(1, 7)), |_| 0.5);
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].epochs, 2);
    }
}
