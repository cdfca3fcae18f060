//! The run-time methods: construction, weights I/O, inference and training, all through
//! `model-core`'s executor on the model's `const` layer descriptions. A model with mistakes
//! gets the same methods with placeholder bodies, so that code calling them stays quiet.

use proc_macro2::{Delimiter, Group, TokenStream};
use quote::quote;

use super::{Mode, Shapes};
use crate::ast::ModelDef;
use crate::check::Plan;

/// `[[f32; 3]; 256]`-style nested array type for a shape whose dimensions are all given
/// (literals, or the const generic parameters named in `dims`).
pub(crate) fn array_type(dims: &[TokenStream]) -> TokenStream {
    dims.iter()
        .rev()
        .fold(quote!(f32), |inner, d| quote!([#inner; #d]))
}

/// Flattens a nested-array place expression of rank `rank` into an `f32` slice.
pub(crate) fn flatten(place: TokenStream, rank: usize, mutable: bool) -> TokenStream {
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

/// The run-time methods, on the weights fields of the layers whose names are usable.
pub(crate) fn methods(def: &ModelDef, plan: &Plan, shapes: &Shapes, mode: Mode) -> TokenStream {
    let p = quote!(__m);
    let fields: Vec<_> = plan
        .layers
        .iter()
        .filter_map(|l| l.idents.as_ref().map(|i| &i.field))
        .collect();
    let count = fields.len();
    let phantom =
        super::phantom(def).map(|_| quote!(__model_phantom: ::core::marker::PhantomData,));
    let model = mode == Mode::Checked;
    // Chooses the body, building only the one used: the real one, or the placeholder's. A
    // group is placed in the method without copying its tokens.
    let body = |real: &dyn Fn() -> TokenStream, placeholder: &dyn Fn() -> TokenStream| {
        Group::new(Delimiter::Brace, if model { real() } else { placeholder() })
    };
    let invalid = quote!(#p::invalid_model(Self::NAME));

    let init = body(
        &|| {
            quote! {
                match ::model::runtime::init_model(&Self::__MODEL_SPEC, Self::__MODEL_INPUT, seed) {
                    __m::Result::Ok(weights) => Self::from_layer_weights(weights),
                    // Every layer was evaluated at compile time, so initialization cannot fail.
                    __m::Result::Err(e) => ::core::panic!("`{}`: {}", Self::NAME, e),
                }
            }
        },
        &|| quote!(Self::from_layer_weights(::std::vec::Vec::new())),
    );
    let load = body(
        &|| {
            quote! {
                ::model::runtime::load_model(path, &Self::__MODEL_NAMES, &Self::__MODEL_SPEC, Self::__MODEL_INPUT)
                    .map(Self::from_layer_weights)
            }
        },
        &|| quote!(__m::Result::Err(::model::LoadError::Model(#invalid))),
    );
    let save = body(
        &|| {
            quote! {
                ::model::runtime::save_model(path, &Self::__MODEL_NAMES, &Self::__MODEL_SPEC, Self::__MODEL_INPUT, &self.layer_weights())
            }
        },
        &|| quote!(__m::Result::Err(::std::io::Error::other(#invalid.message))),
    );
    let predict = body(
        &|| {
            quote! {
                let batch = #p::batch_of(x.len(), &Self::__MODEL_INPUT)?;
                ::model::runtime::predict(&Self::__MODEL_SPEC, Self::__MODEL_INPUT, &self.layer_weights(), x, batch)
            }
        },
        &|| quote!(__m::Result::Err(#invalid)),
    );
    let predict_into = body(
        &|| {
            quote! {
                let batch = #p::batch_of(x.len(), &Self::__MODEL_INPUT)?;
                ::model::runtime::predict_into(&Self::__MODEL_SPEC, Self::__MODEL_INPUT, &self.layer_weights(), x, batch, out, workspace)
            }
        },
        &|| quote!(__m::Result::Err(#invalid)),
    );
    let train_error = || {
        quote! {
            __m::Result::Err(#invalid)
        }
    };
    let fit = body(
        &|| {
            quote! {
                let options = ::model::train::FitOptions {
                    layer_names: options.layer_names.or(::core::option::Option::Some(&Self::__MODEL_NAMES)),
                    ..options
                };
                let mut weights = ::std::vec![#(::core::mem::take(&mut self.#fields)),*];
                let result = ::model::train::fit(&Self::__MODEL_SPEC, Self::__MODEL_INPUT, &mut weights, train, options);
                *self = Self::from_layer_weights(weights);
                result
            }
        },
        &train_error,
    );
    let evaluate = body(
        &|| {
            quote! {
                ::model::train::evaluate(&Self::__MODEL_SPEC, Self::__MODEL_INPUT, &self.layer_weights(), data, loss, 32)
            }
        },
        &train_error,
    );
    let predict_one = predict_one(shapes, mode);
    let keras = keras_methods(mode);

    quote! {
        /// A model with Keras's default initializers (`glorot_uniform` kernels, orthogonal
        /// recurrent kernels, zero biases, …), deterministic for `seed`.
        pub fn init(seed: u64) -> Self #init

        /// Loads weights saved by [`Self::save`] (safetensors, tensors named
        /// `"{layer}/{weight}"` in Keras's layouts). Every missing tensor, wrong dtype or
        /// wrong shape is reported by name.
        pub fn load(path: impl ::core::convert::AsRef<::std::path::Path>) -> __m::Result<Self, ::model::LoadError> #load

        /// Saves the weights as safetensors, writing a temporary file then renaming it, so
        /// that a half-written file never replaces a good one.
        pub fn save(&self, path: impl ::core::convert::AsRef<::std::path::Path>) -> ::std::io::Result<()> #save

        /// The weights of every layer, in order (empty for layers without weights).
        pub fn layer_weights(&self) -> [&::model::LayerWeights; #count] {
            [#(&self.#fields),*]
        }

        /// The model from per-layer weights in order; missing layers get no weights (and
        /// inference then reports them).
        pub fn from_layer_weights(weights: ::std::vec::Vec<::model::LayerWeights>) -> Self {
            let mut weights = weights.into_iter();
            Self { #(#fields: weights.next().unwrap_or_default(),)* #phantom }
        }

        /// Runs a batch: `x` holds whole samples of `INPUT_SHAPE`, one after the other;
        /// returns as many samples of `OUTPUT_SHAPE`. A buffer that is not a whole number of
        /// samples is an error, never a panic.
        pub fn predict(&self, x: &[f32]) -> __m::Result<::std::vec::Vec<f32>, ::model::RuntimeError> #predict

        /// [`Self::predict`] into a caller's buffer, with a reusable workspace: after the
        /// first call for a batch size, nothing is allocated.
        pub fn predict_into(
            &self,
            x: &[f32],
            out: &mut [f32],
            workspace: &mut ::model::Workspace,
        ) -> __m::Result<(), ::model::RuntimeError> #predict_into

        /// Trains the model on `train` (Keras's `fit`): mini-batches, the optimizer and loss of
        /// `options`, a progress bar per epoch in a terminal, validation, checkpoints.
        /// Returns the per-epoch metrics. The weights are updated in place; on an error they
        /// stay as the last completed step left them.
        pub fn fit(
            &mut self,
            train: &::model::data::Dataset,
            options: ::model::train::FitOptions<'_>,
        ) -> __m::Result<::model::train::History, ::model::train::TrainError> #fit

        /// The loss and accuracy on `data` in inference mode (Keras's `evaluate`), 32 samples
        /// at a time.
        pub fn evaluate(
            &self,
            data: &::model::data::Dataset,
            loss: ::model::train::Loss,
        ) -> __m::Result<::model::train::Evaluation, ::model::train::TrainError> #evaluate

        #predict_one

        #keras
    }
}

/// `load_keras`, `save_keras` and `save_onnx`, the same for a stack and a graph: `model-core`'s generic
/// functions over the model's `Model` impl.
pub(crate) fn keras_methods(mode: Mode) -> TokenStream {
    let (load, save, onnx) = match mode {
        Mode::Checked => (
            quote!(__m::load_keras::<Self>(path.as_ref())),
            quote!(__m::save_keras(self, path.as_ref())),
            quote!(__m::save_onnx(self, path.as_ref())),
        ),
        Mode::Placeholder => (
            quote!(__m::Result::Err(__m::invalid_model(Self::NAME))),
            quote!(__m::Result::Err(__m::invalid_model(Self::NAME))),
            quote!(__m::Result::Err(__m::invalid_model(Self::NAME))),
        ),
    };
    quote! {
        /// Reads the weights of a Keras file into the model: a `.keras` archive, a
        /// `.weights.h5` (`model.save_weights`) or a legacy `.h5`, matched layer by layer by
        /// name. Every missing layer, layer left over, weight of the wrong shape or type is
        /// reported by name in the error. `float16` and `bfloat16` weights are converted.
        pub fn load_keras(path: impl ::core::convert::AsRef<::std::path::Path>) -> __m::Result<Self, ::model::Error> {
            #load
        }

        /// Writes the model as a `.keras` file that Keras 3 opens
        /// (`keras.saving.load_model(path)`, no custom objects), or only its weights when
        /// `path` ends in `.weights.h5` (`model.load_weights(path)`). Through a temporary
        /// file and a rename: a half-written file never replaces a good one.
        pub fn save_keras(&self, path: impl ::core::convert::AsRef<::std::path::Path>) -> __m::Result<(), ::model::Error> {
            #save
        }

        /// Writes the model as an ONNX file (opset 17) that ONNX Runtime, TensorRT, OpenVINO
        /// and tract run: the weights as initializers, a dynamic batch dimension, the
        /// model's input and output names, and Keras's channels-last tensors in and out.
        /// A layer that cannot be exported is named in the error, and nothing is written;
        /// through a temporary file and a rename otherwise.
        pub fn save_onnx(&self, path: impl ::core::convert::AsRef<::std::path::Path>) -> __m::Result<(), ::model::Error> {
            #onnx
        }
    }
}

/// `predict_one`, the typed single-sample entry point. Its types need the shapes'
/// dimensions as tokens; an output dimension that depends on const generics cannot be named
/// in a type here, so the checked model then has no `predict_one`. A placeholder takes and
/// returns whatever the caller's code asks for where a shape is not known.
pub(crate) fn predict_one(shapes: &Shapes, mode: Mode) -> TokenStream {
    let doc = quote! {
        /// Runs one sample whose shape is checked by its type: a sample of another
        /// shape does not compile.
    };
    let input = shapes.input_known.then(|| array_type(&shapes.input));
    let output = shapes.output_known.then(|| array_type(&shapes.output));
    match mode {
        Mode::Checked => {
            let (Some(input_type), Some(output_type)) = (input, output) else {
                return quote!();
            };
            if shapes.output.is_empty() {
                return quote!();
            }
            let x_flat = flatten(quote!(x), shapes.input.len(), false);
            let y_flat = flatten(quote!(y), shapes.output.len(), true);
            let zero = shapes
                .output
                .iter()
                .rev()
                .fold(quote!(0.0f32), |inner, d| quote!([#inner; #d]));
            quote! {
                #doc
                pub fn predict_one(&self, x: &#input_type) -> __m::Result<#output_type, ::model::RuntimeError> {
                    let mut y: #output_type = #zero;
                    self.predict_into(#x_flat, #y_flat, &mut ::model::Workspace::new())?;
                    __m::Result::Ok(y)
                }
            }
        }
        Mode::Placeholder => {
            let (input_param, input_type) = match input {
                Some(t) => (quote!(), t),
                None => (quote!(__X: ?::core::marker::Sized,), quote!(__X)),
            };
            let (output_param, output_type) = match output {
                Some(t) => (quote!(), t),
                None => (quote!(__Y,), quote!(__Y)),
            };
            quote! {
                #doc
                pub fn predict_one<#input_param #output_param>(&self, x: &#input_type) -> __m::Result<#output_type, ::model::RuntimeError> {
                    __m::Result::Err(__m::invalid_model(Self::NAME))
                }
            }
        }
    }
}
