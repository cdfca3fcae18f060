//! The tuner: `candidates!` spaces resolved at compile time, small searches on a few hundred
//! MNIST digits, resuming an interrupted search, reloading a finished one.

use model::data::{Dataset, Mnist};
use model::tune::{HpValue, Objective, Space, Tuner};
use model::{candidates, model};
use static_assertions::const_assert_eq;

model! {
    /// A hidden layer of `UNITS` neurons.
    pub struct Mlp<const UNITS: usize> {
        input: [28, 28],
        Flatten,
        Dense(UNITS, activation = relu),
        Dense(10, activation = softmax),
    }
}

model! {
    /// `DEPTH` is the second hidden layer's width here: two parameters at once.
    pub struct Deep<const WIDTH: usize, const DEPTH: usize> {
        input: [28, 28],
        Flatten,
        Dense(WIDTH, activation = relu),
        Dense(DEPTH, activation = relu),
        Dense(10, activation = softmax),
    }
}

/// `784·U + U + 10·U + 10`.
const fn mlp_params(units: usize) -> usize {
    784 * units + units + 10 * units + 10
}

const SEED_SPACE: Space = candidates!(Mlp<UNITS in 32..=512 step 32>);
const_assert_eq!(SEED_SPACE.len(), 16);
const_assert_eq!(SEED_SPACE.candidates()[15].params, mlp_params(512));

const BUDGET: Space = candidates!(Mlp<UNITS in 32..=512 step 32>, max_params = 200_000);
// 784·U + U + 10·U + 10 ≤ 200,000 keeps U ≤ 252: 32…224, seven candidates.
const_assert_eq!(BUDGET.len(), 7);

#[test]
fn ranges_lists_and_products_in_order() {
    let units: Vec<i128> = SEED_SPACE
        .candidates()
        .iter()
        .map(|c| c.hyperparameters[0].1)
        .collect();
    assert_eq!(units, (32..=512).step_by(32).collect::<Vec<i128>>());
    assert_eq!(SEED_SPACE.candidates()[0].type_name(), "Mlp<32>");
    for c in SEED_SPACE.candidates() {
        assert_eq!(c.params, mlp_params(c.hyperparameters[0].1 as usize));
    }

    let list = candidates!(Mlp<UNITS in [64, 128, 256]>);
    let params: Vec<usize> = list.candidates().iter().map(|c| c.params).collect();
    assert_eq!(
        params,
        [Mlp::<64>::PARAMS, Mlp::<128>::PARAMS, Mlp::<256>::PARAMS]
    );

    let product = candidates!(Deep<W in [32, 64], D in 8..=16 step 8>, Mlp<U in [16]>);
    let names: Vec<String> = product.candidates().iter().map(|c| c.type_name()).collect();
    assert_eq!(
        names,
        [
            "Deep<32, 8>",
            "Deep<32, 16>",
            "Deep<64, 8>",
            "Deep<64, 16>",
            "Mlp<16>"
        ]
    );
    assert_eq!(product.candidates()[3].params, Deep::<64, 16>::PARAMS);
    assert_eq!(
        product.candidates()[3].hyperparameters,
        &[("W", 64), ("D", 16)]
    );

    let half_open = candidates!(Mlp<UNITS in 8..32 step 8>);
    assert_eq!(half_open.len(), 3);
    assert!(BUDGET.candidates().iter().all(|c| c.params <= 200_000));
}

/// 300 training and 200 validation digits: a search of a few trials takes seconds.
fn small_data() -> (Dataset, Dataset) {
    let data = Mnist::load(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"))
        .expect("data/mnist is in the repository");
    (data.train.take(300), data.test.take(200))
}

fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn grid_search_trains_every_configuration_and_gives_the_best_model() {
    let (train, validation) = small_data();
    let dir = fresh_dir("tuner-grid");
    let tuner = Tuner::grid(candidates!(Mlp<UNITS in [16, 32]>))
        .learning_rates([1e-2, 1e-3])
        .epochs(1)
        .batch_size(64)
        .seed(3)
        .directory(&dir);
    let result = tuner.search(&train, &validation).expect("the search runs");
    assert_eq!(result.trials().len(), 4);
    assert_eq!(result.trained(), 4);
    let ids: Vec<&str> = result.trials().iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["0000", "0001", "0002", "0003"]);
    let t = &result.trials()[3];
    assert_eq!(t.model, "Mlp<32>");
    assert_eq!(t.params, Mlp::<32>::PARAMS);
    assert_eq!(t.get("learning_rate"), Some(&HpValue::Float(1e-3)));
    assert_eq!(t.metric("val_accuracy").map(<[f32]>::len), Some(1));
    let best = result.best_trial().expect("a best trial");
    assert!(result.trials().iter().all(|t| t.score <= best.score));
    assert!(
        best.score > 0.2,
        "one epoch on 300 digits beats chance: {}",
        best.score
    );

    // The best model, trained: its accuracy on the validation data is the trial's score.
    let model = result.best_model().expect("the best weights load");
    let eval = model
        .evaluate(
            &validation,
            model::Loss::SparseCategoricalCrossentropy { from_logits: false },
        )
        .expect("evaluates");
    assert!((f64::from(eval.accuracy) - best.score).abs() < 1e-6);
    match best.model.as_str() {
        "Mlp<16>" => assert!(result.best::<Mlp<16>>().is_ok()),
        _ => assert!(result.best::<Mlp<32>>().is_ok()),
    }
    let Err(wrong) = result.best::<Deep<8, 8>>() else {
        panic!("the best model is not a Deep")
    };
    assert!(
        wrong.message.contains("the best trial's model is `Mlp<"),
        "{wrong}"
    );

    let summary = result.summary().to_string();
    assert!(
        summary.starts_with("Results summary\nResults in "),
        "{summary}"
    );
    assert!(summary.contains(
        "Showing 10 best trials\nObjective(name=\"val_accuracy\", direction=\"max\")\n\nTrial "
    ));
    assert!(summary.contains(&format!(
        "Trial {} summary\nHyperparameters:\nUNITS: ",
        best.id
    )));
    assert!(summary.contains(&format!("Score: {}\n", best.score)));
    assert!(summary.contains("Params"));
    assert!(
        summary.contains("25,450"),
        "Mlp<32>'s parameters in the table:\n{summary}"
    );

    // A finished search reloads without training.
    let again = tuner.search(&train, &validation).expect("reloads");
    assert_eq!((again.trained(), again.reloaded()), (0, 4));
    assert_eq!(again.trials(), result.trials());
}

#[test]
fn interrupted_hyperband_resumes_without_retraining() {
    let (train, validation) = small_data();
    let dir = fresh_dir("tuner-hyperband");
    // max_epochs 3, factor 3: brackets 1 (3 trials of 1 epoch, the best continued to 3)
    // and 0 (2 trials of 3 epochs).
    let tuner = Tuner::hyperband(candidates!(Mlp<UNITS in [8, 16, 24]>))
        .objective(Objective::min("val_loss"))
        .learning_rates([1e-2, 1e-3])
        .max_epochs(3)
        .batch_size(64)
        .seed(5)
        .directory(&dir);
    let first = tuner
        .clone()
        .max_trials(2)
        .search(&train, &validation)
        .expect("runs");
    assert_eq!((first.trained(), first.trials().len()), (2, 2));
    let stamps: Vec<u64> = first.trials().iter().map(|t| t.finished_at_ms).collect();

    let full = tuner.search(&train, &validation).expect("resumes");
    assert_eq!(full.reloaded(), 2, "the two finished trials are read back");
    assert_eq!(full.trials().len(), full.reloaded() + full.trained());
    assert_eq!(full.trials().len(), 3 + 1 + 2);
    for (old, new) in first.trials().iter().zip(full.trials()) {
        assert_eq!(old, new);
    }
    let again: Vec<u64> = full.trials()[..2]
        .iter()
        .map(|t| t.finished_at_ms)
        .collect();
    assert_eq!(stamps, again, "not trained again");

    // Keras Tuner's order when trials can run at once: bracket 1's three random trials,
    // bracket 0's two, then the promotion, which continues the best of bracket 1's first
    // round from its weights.
    let promoted = &full.trials()[5];
    assert_eq!(promoted.previous.as_deref().map(str::len), Some(4));
    assert_eq!((promoted.initial_epoch, promoted.epochs), (1, 3));
    assert_eq!(promoted.metric("val_loss").map(<[f32]>::len), Some(2));
    let round0 = &full.trials()[..3];
    let best0 = round0
        .iter()
        .min_by(|a, b| a.score.total_cmp(&b.score))
        .expect("three trials");
    assert_eq!(promoted.previous.as_deref(), Some(best0.id.as_str()));
    assert_eq!(
        promoted.get("tuner/trial_id"),
        Some(&HpValue::Text(best0.id.clone()))
    );
    assert_eq!(promoted.model, best0.model);

    // A different search in the same directory is refused, with what differs.
    let other = Tuner::hyperband(candidates!(Mlp<UNITS in [8, 16, 24]>))
        .max_epochs(3)
        .seed(6)
        .directory(&dir)
        .search(&train, &validation)
        .expect_err("another search");
    assert!(other.message.contains("holds another search"), "{other}");
    assert!(other.message.contains("seed: 5 there, 6 now"), "{other}");
}

#[test]
fn random_search_is_seeded_and_bad_settings_are_errors() {
    let (train, validation) = small_data();
    let space = candidates!(Mlp<UNITS in [8, 16, 24, 32]>);
    let run = |name: &str| {
        Tuner::random(space)
            .max_trials(2)
            .epochs(1)
            .batch_size(100)
            .seed(11)
            .directory(fresh_dir(name))
            .search(&train, &validation)
            .expect("runs")
    };
    let (a, b) = (run("tuner-random-a"), run("tuner-random-b"));
    let configs = |r: &model::tune::SearchResult| -> Vec<String> {
        r.trials().iter().map(|t| t.model.clone()).collect()
    };
    assert_eq!(configs(&a), configs(&b));
    assert_eq!(a.trials().len(), 2);
    assert_ne!(a.trials()[0].model, a.trials()[1].model);

    let err = Tuner::grid(space)
        .learning_rates([])
        .search(&train, &validation)
        .expect_err("no learning rate");
    assert!(err.message.contains("learning rate"), "{err}");
    let err = Tuner::grid(space)
        .objective(Objective::max("val_auc"))
        .epochs(1)
        .directory(fresh_dir("tuner-objective"))
        .search(&train, &validation)
        .expect_err("no such metric");
    assert!(
        err.message
            .contains("`val_auc` is not in the training history"),
        "{err}"
    );
}
