//! The runtime tables of a lowered spec, as Rust statics: what the spec says that
//! progenitor cannot express (credentials' places, envelopes, error fields and
//! categories, secret inputs), read by `api_tokens_runtime::hooks` on every call.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::model::{Lowered, Place, SecretInput};

/// A `wire::Place` literal.
fn place(p: &Place) -> TokenStream {
    match p {
        Place::Header(h) => quote!(Place::Header(#h)),
        Place::Basic => quote!(Place::Basic),
        Place::Bearer => quote!(Place::Bearer),
        Place::Query(q) => quote!(Place::Query(#q)),
        Place::FormField(f) => quote!(Place::FormField(#f)),
        Place::JsonField(f) => quote!(Place::JsonField(#f)),
        Place::Body => quote!(Place::Body),
    }
}

/// `pub mod wire`: the runtime's tables for this API, hidden from docs (generated code
/// is their only reader).
pub fn tables(lowered: &Lowered) -> TokenStream {
    let vendor = &lowered.vendor;
    let schemes = lowered.schemes.iter().map(|s| {
        let (name, credential, place, fields) = (&s.name, &s.credential, place(&s.place), &s.body_fields);
        quote!(Scheme { name: #name, credential: #credential, place: #place, body_fields: &[#(#fields),*] })
    });
    let (code, message) = (&lowered.error_code, &lowered.error_message);
    let vendor_messages = &lowered.vendor_messages;
    let categories = lowered.categories.iter().map(|c| {
        let category = format_ident!("{}", c.category);
        let (statuses, codes, messages) = (&c.statuses, &c.codes, &c.messages);
        quote!(CategoryRule {
            category: ::api_tokens_runtime::Category::#category,
            statuses: &[#(#statuses),*],
            codes: &[#(#codes),*],
            messages: &[#(#messages),*],
        })
    });
    // Statics, not one array of values: the generated `send` of each operation names its
    // own (`wire::CREATE_TOKEN`), so no call looks its table up by name.
    let op_idents: Vec<Ident> = lowered
        .operations
        .iter()
        .map(|op| format_ident!("{}", op.id.to_uppercase()))
        .collect();
    let ops = lowered.operations.iter().zip(&op_idents).map(|(op, ident)| {
        let (id, method, path) = (&op.id, &op.method, &op.path);
        let (path_params, required_query) = (&op.path_params, &op.required_query);
        let security = op.security.iter().map(|alt| quote!(&[#(#alt),*]));
        let option = |v: &Option<String>| match v {
            Some(s) => quote!(Some(#s)),
            None => quote!(None),
        };
        let (content_type, accept) = (option(&op.content_type), option(&op.accept));
        // Success values are booleans or strings (`lower::envelope` refuses others).
        let envelope = match &op.envelope {
            None => quote!(None),
            Some(e) => {
                let field = &e.field;
                let success = e.success.iter().map(|v| match v {
                    serde_json::Value::Bool(b) => quote!(Literal::Bool(#b)),
                    other => {
                        let s = other.as_str().unwrap_or_default();
                        quote!(Literal::Str(#s))
                    }
                });
                quote!(Some(Envelope { field: #field, success: &[#(#success),*] }))
            }
        };
        let (messages, notes): (Vec<&String>, Vec<&String>) = op.notes.iter().map(|(m, n)| (m, n)).unzip();
        let secret_inputs = op.secret_inputs.iter().map(|input| match input {
            SecretInput::Query(name) => quote!(SecretInput::Query(#name)),
            SecretInput::FormField(name) => quote!(SecretInput::FormField(#name)),
            SecretInput::JsonPointer(pointer) => quote!(SecretInput::JsonPointer(#pointer)),
        });
        let doc = format!("`{method} {path}`");
        quote! {
            #[doc = #doc]
            pub static #ident: Operation = Operation {
                id: #id,
                method: #method,
                path: #path,
                path_params: &[#(#path_params),*],
                required_query: &[#(#required_query),*],
                security: &[#(#security),*],
                content_type: #content_type,
                accept: #accept,
                envelope: #envelope,
                secret_inputs: &[#(#secret_inputs),*],
                notes: &[#((#messages, #notes)),*],
            };
        }
    });
    let doc = format!(
        "What `{}`'s spec says that progenitor cannot express; applied by `api_tokens_runtime::hooks`.",
        lowered.crate_name
    );
    quote! {
        #[doc = #doc]
        #[doc(hidden)]
        pub mod wire {
            use ::api_tokens_runtime::wire::*;

            /// The whole API.
            pub static API: Api = Api {
                vendor: #vendor,
                schemes: &[#(#schemes),*],
                errors: ErrorFields { code: &[#(#code),*], message: &[#(#message),*] },
                vendor_messages: &[#(#vendor_messages),*],
                operations: &[#(&#op_idents),*],
                categories: &[#(#categories),*],
            };

            #(#ops)*
        }
    }
}
