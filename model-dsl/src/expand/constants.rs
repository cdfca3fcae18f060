//! The model's public constants: one table, [`MODEL_CONSTANTS`], that the inherent impl, the
//! `::model::Model` impl, the fallback of a model with mistakes and the check for layer
//! names that would shadow a constant all read.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

use super::{spanned_str, Mode, Shapes};
use crate::check::Plan;

/// One constant that every model type has, inherent and through `::model::Model`.
pub(crate) struct ModelConstant {
    /// Its name, the same in both places.
    pub name: &'static str,
    /// The inherent constant's documentation.
    pub doc: &'static str,
    /// What it holds, which gives its types and value.
    pub value: Computed,
}

/// What a model constant holds and how it is computed.
pub(crate) enum Computed {
    /// The type's name: `&'static str`.
    Name,
    /// One input sample's shape as written: `[usize; N]` inherent, `&'static [usize]` in
    /// the trait.
    InputShape,
    /// One output sample's shape, from the evaluated layers: types as for the input.
    OutputShape,
    /// Every layer's entry, in order: `&'static [LayerInfo]`.
    Layers,
    /// A field of the model's `Totals`, times a factor: `usize`.
    Total { field: &'static str, times: usize },
    /// Every input's shape (`__MODEL_INPUTS`): `&'static [&'static [usize]]`.
    InputShapes,
    /// Every output's shape (`__MODEL_OUTPUT_SHAPES`): as for the inputs.
    OutputShapes,
    /// Every input's name (`__MODEL_INPUT_NAMES`): `&'static [&'static str]`.
    InputNames,
    /// Every output's name, its layer's (`__MODEL_OUTPUT_NAMES`): as for the inputs.
    OutputNames,
    /// The forward pass's activation memory per sample, in bytes (`__MODEL_SCRATCH`).
    Scratch,
    /// The model as data (`__MODEL_NETWORK`): `Network<'static>`.
    Network,
}

/// The model constants. The trait `::model::Model` declares the same names.
pub(crate) const MODEL_CONSTANTS: &[ModelConstant] = &[
    ModelConstant {
        name: "NAME",
        doc: "The model's name.",
        value: Computed::Name,
    },
    ModelConstant {
        name: "INPUT_SHAPE",
        doc: "Shape of one input sample (without the batch dimension).",
        value: Computed::InputShape,
    },
    ModelConstant {
        name: "OUTPUT_SHAPE",
        doc: "Shape of one output sample (without the batch dimension).",
        value: Computed::OutputShape,
    },
    ModelConstant {
        name: "INPUT_SHAPES",
        doc: "Every input's shape, in order (one for a sequential model).",
        value: Computed::InputShapes,
    },
    ModelConstant {
        name: "OUTPUT_SHAPES",
        doc: "Every output's shape, in order (one for a sequential model).",
        value: Computed::OutputShapes,
    },
    ModelConstant {
        name: "INPUT_NAMES",
        doc: "Every input's name, as Keras names them (`input_layer`, `input_layer_1`, or given).",
        value: Computed::InputNames,
    },
    ModelConstant {
        name: "OUTPUT_NAMES",
        doc: "Every output's name: the name of the layer that makes it.",
        value: Computed::OutputNames,
    },
    ModelConstant {
        name: "SCRATCH_BYTES",
        doc: "Bytes per sample of the forward pass's activation buffers: the peak memory of the \
              tensors alive at once, as the executor lays them out (a layer's own scratch, such \
              as im2col columns, aside).",
        value: Computed::Scratch,
    },
    ModelConstant {
        name: "NETWORK",
        doc: "The model as data: its layers, their names and how they are connected, for the \
              readers and writers of other formats.",
        value: Computed::Network,
    },
    ModelConstant {
        name: "LAYERS",
        doc: "One entry per layer, in order.",
        value: Computed::Layers,
    },
    ModelConstant {
        name: "PARAMS",
        doc: "All parameters, as Keras's `count_params()`.",
        value: Computed::Total {
            field: "params",
            times: 1,
        },
    },
    ModelConstant {
        name: "TRAINABLE_PARAMS",
        doc: "Trainable parameters.",
        value: Computed::Total {
            field: "trainable",
            times: 1,
        },
    },
    ModelConstant {
        name: "NON_TRAINABLE_PARAMS",
        doc: "Non-trainable parameters (batch normalization's moving statistics).",
        value: Computed::Total {
            field: "non_trainable",
            times: 1,
        },
    },
    ModelConstant {
        name: "PARAM_BYTES",
        doc: "Bytes of the parameters as `f32`.",
        value: Computed::Total {
            field: "params",
            times: 4,
        },
    },
    ModelConstant {
        name: "MACS",
        doc: "Multiply-accumulates for one sample.",
        value: Computed::Total {
            field: "macs",
            times: 1,
        },
    },
];

/// The constants of [`MODEL_CONSTANTS`] for the inherent impl and for the `Model` impl, in
/// that order: computed from the checked model's hidden items (`__MODEL_OUTPUT`,
/// `__MODEL_TOTALS`, …), or for a model with mistakes its name and the shapes as far as
/// they are known, no layers and zero counts.
pub(crate) fn model_constants(
    name: &str,
    shapes: &Shapes,
    mode: Mode,
) -> (TokenStream, TokenStream) {
    let mut inherent = TokenStream::new();
    let mut in_trait = TokenStream::new();
    for constant in MODEL_CONSTANTS {
        let ident = Ident::new(constant.name, Span::call_site());
        let doc = constant.doc;
        // Pushes the constant to both impls: `[type] = [value]` inherent, then in the trait.
        // The types and values are written in place rather than built apart and copied in,
        // as this runs for every model.
        macro_rules! push {
            ([$($it:tt)*] = [$($iv:tt)*], [$($tt:tt)*] = [$($tv:tt)*]) => {{
                inherent.extend(quote! {
                    #[doc = #doc]
                    pub const #ident: $($it)* = $($iv)*;
                });
                in_trait.extend(quote! {
                    const #ident: $($tt)* = $($tv)*;
                });
            }};
        }
        let (input, output) = (&shapes.input, &shapes.output);
        let (input_rank, output_rank) = (input.len(), output.len());
        match (&constant.value, mode) {
            (Computed::Name, _) => push!([&'static str] = [#name], [&'static str] = [#name]),
            (Computed::InputShape, _) => push!(
                [[usize; #input_rank]] = [[#(#input),*]],
                [__m::Dims] = [&[#(#input),*]]
            ),
            (Computed::OutputShape, Mode::Checked) => push!(
                [[usize; #output_rank]] = [Self::__MODEL_OUTPUT.to_array::<#output_rank>()],
                [__m::Dims] = [Self::__MODEL_OUTPUT.dims()]
            ),
            (Computed::OutputShape, Mode::Placeholder) => push!(
                [[usize; #output_rank]] = [[#(#output),*]],
                [__m::Dims] = [&[#(#output),*]]
            ),
            (Computed::Layers, Mode::Checked) => push!(
                [&'static [__m::LayerInfo]] = [&Self::__MODEL_INFO],
                [__m::Infos] = [&Self::__MODEL_INFO]
            ),
            (Computed::Layers, Mode::Placeholder) => push!(
                [&'static [__m::LayerInfo]] = [&[]],
                [__m::Infos] = [&[]]
            ),
            (Computed::Total { field, times }, Mode::Checked) => {
                let field = Ident::new(field, Span::call_site());
                if *times == 1 {
                    push!(
                        [usize] = [Self::__MODEL_TOTALS.#field],
                        [usize] = [Self::__MODEL_TOTALS.#field]
                    )
                } else {
                    let times = Literal::usize_unsuffixed(*times);
                    push!(
                        [usize] = [Self::__MODEL_TOTALS.#field * #times],
                        [usize] = [Self::__MODEL_TOTALS.#field * #times]
                    )
                }
            }
            (Computed::Total { .. }, Mode::Placeholder) => push!([usize] = [0], [usize] = [0]),
            (Computed::InputShapes, Mode::Checked) => {
                let i = 0..shapes.inputs;
                push!(
                    [&'static [&'static [usize]]] = [&[#(Self::__MODEL_INPUTS[#i].dims()),*]],
                    [__m::Shapes] = [<Self>::INPUT_SHAPES]
                )
            }
            (Computed::OutputShapes, Mode::Checked) => {
                let o = 0..shapes.outputs;
                push!(
                    [&'static [&'static [usize]]] = [&[#(Self::__MODEL_OUTPUT_SHAPES[#o].dims()),*]],
                    [__m::Shapes] = [<Self>::OUTPUT_SHAPES]
                )
            }
            (Computed::InputNames, Mode::Checked) => push!(
                [&'static [&'static str]] = [&Self::__MODEL_INPUT_NAMES],
                [__m::Names] = [&Self::__MODEL_INPUT_NAMES]
            ),
            (Computed::OutputNames, Mode::Checked) => push!(
                [&'static [&'static str]] = [&Self::__MODEL_OUTPUT_NAMES],
                [__m::Names] = [&Self::__MODEL_OUTPUT_NAMES]
            ),
            (Computed::Scratch, Mode::Checked) => push!(
                [usize] = [Self::__MODEL_SCRATCH],
                [usize] = [Self::__MODEL_SCRATCH]
            ),
            (Computed::InputShapes | Computed::OutputShapes, Mode::Placeholder) => push!(
                [&'static [&'static [usize]]] = [&[]],
                [__m::Shapes] = [&[]]
            ),
            (Computed::InputNames | Computed::OutputNames, Mode::Placeholder) => push!(
                [&'static [&'static str]] = [&[]],
                [__m::Names] = [&[]]
            ),
            (Computed::Scratch, Mode::Placeholder) => push!([usize] = [0], [usize] = [0]),
            (Computed::Network, Mode::Checked) => push!(
                [__m::Network<'static>] = [Self::__MODEL_NETWORK],
                [__m::Network<'static>] = [Self::__MODEL_NETWORK]
            ),
            (Computed::Network, Mode::Placeholder) => push!(
                [__m::Network<'static>] = [__m::Network::EMPTY],
                [__m::Network<'static>] = [__m::Network::EMPTY]
            ),
        }
    }
    // The trait's methods over the weights, through the inherent ones (which every model
    // has, placeholders included).
    in_trait.extend(quote! {
        fn weights(&self) -> ::std::vec::Vec<&::model::LayerWeights> {
            self.layer_weights().to_vec()
        }
        fn from_weights(weights: ::std::vec::Vec<::model::LayerWeights>) -> Self {
            Self::from_layer_weights(weights)
        }
    });
    (inherent, in_trait)
}

/// The per-layer constants (`HIDDEN`, `CONV2D_1`, …) of the layers whose names are usable:
/// each layer's hidden entry, or for a model with mistakes a placeholder with the layer's
/// name and kind.
pub(crate) fn layer_constants(plan: &Plan, mode: Mode) -> TokenStream {
    let p = quote!(__m);
    let mut out = TokenStream::new();
    for (i, l) in plan.layers.iter().enumerate() {
        let Some(idents) = &l.idents else { continue };
        let constant = &idents.constant;
        let doc = format!(
            "Layer {i}, `{}` ({}): its output shape and parameter counts.",
            l.name, l.def.kind
        );
        let value = match mode {
            Mode::Checked => {
                let entry = format_ident!("__MODEL_LAYER_{}", i);
                quote!(Self::#entry)
            }
            Mode::Placeholder => {
                let name = spanned_str(&l.name, constant.span());
                let kind = l.kind.map_or("", |k| k.class_name());
                quote!(#p::LayerInfo { name: #name, kind: #kind, ..#p::LayerInfo::EMPTY })
            }
        };
        out.extend(quote! {
            #[doc = #doc]
            pub const #constant: #p::LayerInfo = #value;
        });
    }
    out
}
