//! The run-time methods: construction, weights I/O, inference and training, all through
//! `model-core`'s executor on the model's `const` layer descriptions.

use model_core::Shape;
use proc_macro2::{Literal, TokenStream};
use quote::quote;
use syn::Ident;

use super::dims;
use crate::ast::ModelDef;

/// `[[f32; 3]; 256]`-style nested array type for a shape whose dimensions are all given
/// (literals, or the const generic parameters named in `dims`).
fn array_type(dims: &[TokenStream]) -> TokenStream {
    dims.iter()
        .rev()
        .fold(quote!(f32), |inner, d| quote!([#inner; #d]))
}

/// Flattens a nested-array place expression of rank `rank` into an `f32` slice.
fn flatten(place: TokenStream, rank: usize, mutable: bool) -> TokenStream {
    let step = if mutable {
        quote!(.as_flattened_mut())
    } else {
        quote!(.as_flattened())
    };
    let steps = (1..rank).map(|_| step.clone());
    if rank == 1 {
        if mutable {
            quote!(&mut #place[..])
        } else {
            quote!(&#place[..])
        }
    } else {
        quote!(#place #(#steps)*)
    }
}

/// The runtime: construction, weights I/O and inference, all through `model-core`'s
/// executor on the model's `const` layer descriptions.
pub(crate) fn methods(
    def: &ModelDef,
    output: Shape,
    fields: &[Ident],
    names: &[String],
) -> TokenStream {
    let p = quote!(__m);
    let count = fields.len();
    let input_dims = dims(def);
    let input_rank = input_dims.len();
    let input_type = array_type(&input_dims);
    let x_flat = flatten(quote!(x), input_rank, false);
    // The typed single-sample entry point needs the output's dimensions as tokens: known
    // ones as literals; one that depends on const generics cannot be named in a type here.
    let predict_one = if output.is_known() && output.rank() > 0 {
        let out_dims: Vec<TokenStream> = output
            .dims()
            .iter()
            .map(|d| {
                let d = Literal::usize_unsuffixed(*d);
                quote!(#d)
            })
            .collect();
        let output_type = array_type(&out_dims);
        let zero = out_dims
            .iter()
            .rev()
            .fold(quote!(0.0f32), |inner, d| quote!([#inner; #d]));
        let y_flat = flatten(quote!(y), output.rank(), true);
        quote! {
            /// Runs one sample whose shape is checked by its type: a sample of another
            /// shape does not compile.
            pub fn predict_one(&self, x: &#input_type) -> ::core::result::Result<#output_type, ::model::RuntimeError> {
                let mut y: #output_type = #zero;
                self.predict_into(#x_flat, #y_flat, &mut ::model::Workspace::new())?;
                ::core::result::Result::Ok(y)
            }
        }
    } else {
        quote!()
    };
    quote! {
        #[doc(hidden)]
        const __MODEL_NAMES: [&'static str; #count] = [#(#names),*];

        /// A model with Keras's default initializers (`glorot_uniform` kernels, orthogonal
        /// recurrent kernels, zero biases, …), deterministic for `seed`.
        pub fn init(seed: u64) -> Self {
            match ::model::runtime::init_model(&Self::__MODEL_SPEC, Self::__MODEL_INPUT, seed) {
                ::core::result::Result::Ok(weights) => Self::from_layer_weights(weights),
                // Every layer was evaluated at compile time, so initialization cannot fail.
                ::core::result::Result::Err(e) => ::core::panic!("`{}`: {}", Self::NAME, e),
            }
        }

        /// Loads weights saved by [`Self::save`] (safetensors, tensors named
        /// `"{layer}/{weight}"` in Keras's layouts). Every missing tensor, wrong dtype or
        /// wrong shape is reported by name.
        pub fn load(path: impl ::core::convert::AsRef<::std::path::Path>) -> ::core::result::Result<Self, ::model::LoadError> {
            ::model::runtime::load_model(path, &Self::__MODEL_NAMES, &Self::__MODEL_SPEC, Self::__MODEL_INPUT)
                .map(Self::from_layer_weights)
        }

        /// Saves the weights as safetensors, writing a temporary file then renaming it, so
        /// that a half-written file never replaces a good one.
        pub fn save(&self, path: impl ::core::convert::AsRef<::std::path::Path>) -> ::std::io::Result<()> {
            ::model::runtime::save_model(path, &Self::__MODEL_NAMES, &Self::__MODEL_SPEC, Self::__MODEL_INPUT, &self.layer_weights())
        }

        /// The weights of every layer, in order (empty for layers without weights).
        pub fn layer_weights(&self) -> [&::model::LayerWeights; #count] {
            [#(&self.#fields),*]
        }

        /// The model from per-layer weights in order; missing layers get no weights (and
        /// inference then reports them).
        pub fn from_layer_weights(weights: ::std::vec::Vec<::model::LayerWeights>) -> Self {
            let mut weights = weights.into_iter();
            Self { #(#fields: weights.next().unwrap_or_default()),* }
        }

        /// Runs a batch: `x` holds whole samples of `INPUT_SHAPE`, one after the other;
        /// returns as many samples of `OUTPUT_SHAPE`. A buffer that is not a whole number of
        /// samples is an error, never a panic.
        pub fn predict(&self, x: &[f32]) -> ::core::result::Result<::std::vec::Vec<f32>, ::model::RuntimeError> {
            let batch = #p::batch_of(x.len(), &Self::__MODEL_INPUT)?;
            ::model::runtime::predict(&Self::__MODEL_SPEC, Self::__MODEL_INPUT, &self.layer_weights(), x, batch)
        }

        /// [`Self::predict`] into a caller's buffer, with a reusable workspace: after the
        /// first call for a batch size, nothing is allocated.
        pub fn predict_into(
            &self,
            x: &[f32],
            out: &mut [f32],
            workspace: &mut ::model::Workspace,
        ) -> ::core::result::Result<(), ::model::RuntimeError> {
            let batch = #p::batch_of(x.len(), &Self::__MODEL_INPUT)?;
            ::model::runtime::predict_into(&Self::__MODEL_SPEC, Self::__MODEL_INPUT, &self.layer_weights(), x, batch, out, workspace)
        }

        /// Trains the model on `train` (Keras's `fit`): mini-batches, the optimizer and loss of
        /// `options`, a progress bar per epoch in a terminal, validation, checkpoints.
        /// Returns the per-epoch metrics. The weights are updated in place; on an error they
        /// stay as the last completed step left them.
        pub fn fit(
            &mut self,
            train: &::model::data::Dataset,
            options: ::model::train::FitOptions<'_>,
        ) -> ::core::result::Result<::model::train::History, ::model::train::TrainError> {
            let options = ::model::train::FitOptions {
                layer_names: options.layer_names.or(::core::option::Option::Some(&Self::__MODEL_NAMES)),
                ..options
            };
            let mut weights = ::std::vec![#(::core::mem::take(&mut self.#fields)),*];
            let result = ::model::train::fit(&Self::__MODEL_SPEC, Self::__MODEL_INPUT, &mut weights, train, options);
            *self = Self::from_layer_weights(weights);
            result
        }

        /// The loss and accuracy on `data` in inference mode (Keras's `evaluate`), 32 samples
        /// at a time.
        pub fn evaluate(
            &self,
            data: &::model::data::Dataset,
            loss: ::model::train::Loss,
        ) -> ::core::result::Result<::model::train::Evaluation, ::model::train::TrainError> {
            ::model::train::evaluate(&Self::__MODEL_SPEC, Self::__MODEL_INPUT, &self.layer_weights(), data, loss, 32)
        }

        #predict_one
    }
}
