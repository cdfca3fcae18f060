use proc_macro::TokenStream; #[proc_macro] pub fn model(i: TokenStream) -> TokenStream { i }
