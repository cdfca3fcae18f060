//! Keras's default initializers, deterministic for a seed.
//!
//! The random numbers come from SplitMix64 (Steele, Lea and Flood, "Fast splittable
//! pseudorandom number generators", 2014): a 64-bit counter through a fixed mixing function,
//! small and well studied. The values differ from Keras's own (another generator); the
//! distributions are Keras's.

use super::weights::{specs, Init, Spec};
use super::{eval_output, LayerWeights, RuntimeError, Tensor};
use crate::layer::Layer;
use crate::shape::Shape;

/// SplitMix64 (also the training shuffle's generator).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, 53 random bits.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn uniform(&mut self, limit: f64) -> f32 {
        ((self.unit() * 2.0 - 1.0) * limit) as f32
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // in (0, 1]: the logarithm stays finite
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (core::f64::consts::TAU * u2).cos()
    }
}

/// Keras's `compute_fans`: kernels `[k…, in, out]` count their receptive field.
fn fans(dims: &[usize]) -> (usize, usize) {
    match dims {
        [] => (1, 1),
        [n] => (*n, *n),
        [a, b] => (*a, *b),
        [k @ .., i, o] => {
            let receptive: usize = k.iter().product();
            (i * receptive, o * receptive)
        }
    }
}

fn tensor(spec: &Spec, rng: &mut Rng) -> Tensor {
    let dims = spec.shape.dims();
    let n: usize = dims.iter().product();
    let data = match spec.init {
        Init::Zeros => vec![0.0; n],
        Init::Ones => vec![1.0; n],
        Init::Constant(v) => vec![v; n],
        Init::Uniform(limit) => (0..n).map(|_| rng.uniform(limit as f64)).collect(),
        Init::GlorotUniform => {
            let (fan_in, fan_out) = fans(dims);
            let limit = (6.0 / (fan_in + fan_out).max(1) as f64).sqrt();
            (0..n).map(|_| rng.uniform(limit)).collect()
        }
        Init::Orthogonal => {
            let cols = dims.last().copied().unwrap_or(1);
            orthogonal(n / cols.max(1), cols, rng)
        }
        Init::LstmBias(units) => {
            let mut b = vec![0.0; n];
            b[units.min(n)..(2 * units).min(n)].fill(1.0);
            b
        }
    };
    Tensor {
        shape: dims.to_vec(),
        data,
    }
}

/// Keras's `Orthogonal`: the Q of a Gaussian matrix's QR decomposition (signs fixed so
/// that R has a positive diagonal), transposed when the matrix is wider than tall.
fn orthogonal(rows: usize, cols: usize, rng: &mut Rng) -> Vec<f32> {
    let (long, short) = (rows.max(cols), rows.min(cols));
    // `short` columns of length `long`, column-major.
    let mut q: Vec<f64> = (0..long * short).map(|_| rng.normal()).collect();
    for j in 0..short {
        // Modified Gram–Schmidt, twice for accuracy in f64; R's diagonal is the norm (> 0).
        for _ in 0..2 {
            for p in 0..j {
                let dot: f64 = (0..long).map(|i| q[p * long + i] * q[j * long + i]).sum();
                for i in 0..long {
                    q[j * long + i] -= dot * q[p * long + i];
                }
            }
        }
        let norm = (0..long)
            .map(|i| q[j * long + i].powi(2))
            .sum::<f64>()
            .sqrt()
            .max(f64::MIN_POSITIVE);
        for i in 0..long {
            q[j * long + i] /= norm;
        }
    }
    let mut out = vec![0.0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            // Tall: out = Q (long × short). Wide: out = Qᵀ.
            out[r * cols + c] = if rows >= cols {
                q[c * long + r]
            } else {
                q[r * long + c]
            } as f32;
        }
    }
    out
}

/// The weights of `layer` on `input` with Keras's default initializers: `glorot_uniform`
/// kernels, `orthogonal` recurrent kernels, zero biases (an LSTM's forget gate 1), `gamma`
/// and `moving_variance` ones, `beta` and `moving_mean` zeros, `PReLU`'s alpha zeros,
/// embeddings uniform in ±0.05. The same seed gives the same weights.
pub fn init(layer: &Layer, input: &Shape, seed: u64) -> Result<LayerWeights, RuntimeError> {
    let mut rng = Rng(seed);
    let specs = specs(layer, input)?;
    Ok(LayerWeights {
        tensors: specs
            .as_slice()
            .iter()
            .map(|s| tensor(s, &mut rng))
            .collect(),
    })
}

/// [`init`] for every layer of a model, layer `i` seeded from `seed` and `i`.
pub fn init_model(
    layers: &[Layer],
    input: Shape,
    seed: u64,
) -> Result<Vec<LayerWeights>, RuntimeError> {
    let mut shape = input;
    let mut seeds = Rng(seed);
    let mut out = Vec::with_capacity(layers.len());
    for (i, layer) in layers.iter().enumerate() {
        out.push(init(layer, &shape, seeds.next_u64()).map_err(|e| e.at(i))?);
        shape = eval_output(layer, &shape).map_err(|e| e.at(i))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{test_layer as layer, Kind};
    use crate::value::Value;

    #[test]
    fn same_seed_same_weights_other_seed_other_weights() {
        let l = layer(Kind::LSTM, &[("units", Value::Int(8))]);
        let input = Shape::new(&[5, 3]);
        let a = init(&l, &input, 7).unwrap();
        assert_eq!(a, init(&l, &input, 7).unwrap());
        assert_ne!(a.tensors[0], init(&l, &input, 8).unwrap().tensors[0]);
        // The forget gate's bias is one, the others zero.
        let bias = &a.tensors[2].data;
        assert_eq!(&bias[..8], &[0.0; 8]);
        assert_eq!(&bias[8..16], &[1.0; 8]);
        assert_eq!(&bias[16..], &[0.0; 16]);
    }

    #[test]
    fn glorot_stays_within_its_limit_and_recurrent_kernels_are_orthogonal() {
        let l = layer(Kind::GRU, &[("units", Value::Int(4))]);
        let w = init(&l, &Shape::new(&[6, 10]), 3).unwrap();
        let limit = (6.0f32 / (10.0 + 12.0)).sqrt();
        assert!(w.tensors[0].data.iter().all(|v| v.abs() <= limit));
        assert!(w.tensors[0].data.iter().any(|v| v.abs() > limit / 2.0));
        // recurrent_kernel is 4 × 12 with orthonormal rows.
        let r = &w.tensors[1].data;
        for i in 0..4 {
            for j in 0..4 {
                let dot: f32 = (0..12).map(|k| r[i * 12 + k] * r[j * 12 + k]).sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-5, "rows {i}, {j}: {dot}");
            }
        }
    }

    #[test]
    fn model_init_covers_every_layer() {
        let layers = [
            layer(Kind::Dense, &[("units", Value::Int(4))]),
            layer(Kind::BatchNormalization, &[]),
            layer(
                Kind::Embedding,
                &[("input_dim", Value::Int(10)), ("output_dim", Value::Int(3))],
            ),
        ];
        let w = init_model(&layers, Shape::new(&[2]), 1).unwrap();
        assert_eq!(w[0].tensors.len(), 2);
        assert_eq!(
            w[1].tensors
                .iter()
                .map(|t| t.data.iter().sum::<f32>())
                .collect::<Vec<_>>(),
            [4.0, 0.0, 0.0, 4.0]
        );
        assert!(w[2].tensors[0].data.iter().all(|v| v.abs() <= 0.05));
    }
}
