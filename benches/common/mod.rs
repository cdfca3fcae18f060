//! Layers written as Keras JSON configs, shared by the benches (each uses part of them).
#![allow(dead_code)]

use model_core::keras::layer;
use model_core::{Layer, Shape};
use serde_json::{json, Value};

pub fn layers(specs: &[Value]) -> Vec<Layer> {
    specs
        .iter()
        .map(|s| layer(s).expect("valid layer"))
        .collect()
}

pub fn conv(filters: usize, padding: &str) -> Value {
    json!({"class_name": "Conv2D", "config": {"filters": filters, "kernel_size": [3, 3], "padding": padding, "activation": "relu"}})
}

pub fn pool(size: usize) -> Value {
    json!({"class_name": "MaxPooling2D", "config": {"pool_size": [size, size]}})
}

pub fn dense(units: usize, activation: &str) -> Value {
    json!({"class_name": "Dense", "config": {"units": units, "activation": activation}})
}

pub fn flatten() -> Value {
    json!({"class_name": "Flatten", "config": {}})
}

pub fn dropout(rate: f64) -> Value {
    json!({"class_name": "Dropout", "config": {"rate": rate}})
}

/// The MLP 784-128-10 of `../shared/bench`.
pub fn mlp() -> (Vec<Layer>, Shape) {
    (
        layers(&[flatten(), dense(128, "relu"), dense(10, "softmax")]),
        Shape::new(&[28, 28]),
    )
}
