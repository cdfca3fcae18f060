use model::model;

model! {
    /// Arithmetic joins a tensor and a number; two tensors take a merge layer. An operator
    /// other than `+ - * /` takes a layer too.
    pub struct HardGate {
        let x = Input([8]);
        let gate = ReLU(6.0)(x + 3.0) * (1.0 / 6.0);
        let y = x * gate;
        let z = gate % 2.0;
        (y, z)
    }
}

fn main() {}
