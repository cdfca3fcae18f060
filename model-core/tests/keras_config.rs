//! Keras layer configs both ways: every layer of the reference corpora read into a `Layer`,
//! written back as a Keras config (`keras::layer_config`), and read again, must give the
//! same layer: the writer that `save_keras` uses is the exact inverse of the reader.

use model_core::keras::{corpus_dir, corpus_files, layer, layer_config};
use serde_json::Value as Json;

fn layers_of(model: &Json) -> Vec<Json> {
    model
        .get("layers")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default()
}

#[test]
fn every_corpus_layer_round_trips_through_its_config() {
    let root = corpus_dir("KERAS_REFERENCE_DIR", "../../shared/keras-reference/models");
    let graphs = corpus_dir("KERAS_GRAPH_DIR", "../../shared/keras-reference/graphs");
    let mut checked = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for dir in [root, graphs] {
        let var = "KERAS_REFERENCE_DIR / KERAS_GRAPH_DIR";
        for path in corpus_files(&dir, var).unwrap() {
            let text = std::fs::read_to_string(&path).unwrap();
            let json: Json = serde_json::from_str(&text).unwrap();
            for l in layers_of(&json) {
                // Layers that Keras refuses (the invalid models) have nothing to round-trip.
                let Ok(first) = layer(&l) else { continue };
                let written = layer_config(&first);
                let again = layer(&written).unwrap_or_else(|e| {
                    panic!("{}: {written} does not read back: {e}", path.display())
                });
                assert_eq!(again, first, "{}: {l} → {written}", path.display());
                kinds.insert(first.kind.class_name());
                checked += 1;
            }
        }
    }
    println!(
        "keras config round trip: {checked} layers of {} classes",
        kinds.len()
    );
    assert!(kinds.len() >= 60, "only {} classes: {kinds:?}", kinds.len());
}
