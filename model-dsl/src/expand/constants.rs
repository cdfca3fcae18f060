//! The model's public constants, inherent and through `::model::Model`.

use proc_macro2::TokenStream;
use quote::quote;

use super::dims;
use crate::ast::ModelDef;

/// The inherent constants (`NAME`, `INPUT_SHAPE`, …, `MACS`), read from the hidden items.
pub(crate) fn inherent(def: &ModelDef, output_rank: usize) -> TokenStream {
    let p = quote!(__m);
    let dims = dims(def);
    let input_rank = dims.len();
    let name_str = def.name.to_string();
    quote! {
        /// The model's name.
        pub const NAME: &'static str = #name_str;
        /// Shape of one input sample (without the batch dimension).
        pub const INPUT_SHAPE: [usize; #input_rank] = [#(#dims),*];
        /// Shape of one output sample (without the batch dimension).
        pub const OUTPUT_SHAPE: [usize; #output_rank] = Self::__MODEL_OUTPUT.to_array::<#output_rank>();
        /// One entry per layer, in order.
        pub const LAYERS: &'static [#p::LayerInfo] = &Self::__MODEL_INFO;
        /// All parameters, as Keras's `count_params()`.
        pub const PARAMS: usize = Self::__MODEL_TOTALS.params;
        /// Trainable parameters.
        pub const TRAINABLE_PARAMS: usize = Self::__MODEL_TOTALS.trainable;
        /// Non-trainable parameters (batch normalization's moving statistics).
        pub const NON_TRAINABLE_PARAMS: usize = Self::__MODEL_TOTALS.non_trainable;
        /// Bytes of the parameters as `f32`.
        pub const PARAM_BYTES: usize = Self::__MODEL_TOTALS.params * 4;
        /// Multiply-accumulates for one sample.
        pub const MACS: usize = Self::__MODEL_TOTALS.macs;
    }
}

/// `impl ::model::Model`: the same constants, shapes as slices.
pub(crate) fn model_impl(def: &ModelDef) -> TokenStream {
    let p = quote!(__m);
    let dims = dims(def);
    let name = &def.name;
    let name_str = name.to_string();
    let (impl_generics, ty_generics, where_clause) = def.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics ::model::Model for #name #ty_generics #where_clause {
            const NAME: &'static str = #name_str;
            const INPUT_SHAPE: &'static [usize] = &[#(#dims),*];
            const OUTPUT_SHAPE: &'static [usize] = Self::__MODEL_OUTPUT.dims();
            const LAYERS: &'static [#p::LayerInfo] = &Self::__MODEL_INFO;
            const PARAMS: usize = Self::__MODEL_TOTALS.params;
            const TRAINABLE_PARAMS: usize = Self::__MODEL_TOTALS.trainable;
            const NON_TRAINABLE_PARAMS: usize = Self::__MODEL_TOTALS.non_trainable;
            const PARAM_BYTES: usize = Self::__MODEL_TOTALS.params * 4;
            const MACS: usize = Self::__MODEL_TOTALS.macs;
        }
    }
}
