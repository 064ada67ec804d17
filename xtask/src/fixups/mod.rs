//! Every change made to progenitor's output, in one list. Each is named and says why it
//! exists; each fails, naming itself, when progenitor's output no longer has the shape
//! it changes, so that a progenitor upgrade cannot drop one in silence (k8s-openapi
//! handles its fix-ups of the Kubernetes spec the same way).

mod docs;
mod requests;
mod surface;

use crate::model::Lowered;

/// One change to progenitor's output.
pub struct Fixup {
    /// Printed when the fix-up no longer applies.
    pub name: &'static str,
    pub apply: fn(&mut syn::File, &Lowered) -> Result<(), String>,
}

/// In the order they run: `wrap_sends` comes after the changes to progenitor's
/// `send`s, the docs fix-ups see the final items, and `send_through_runtime` removes
/// the `OperationInfo` by which the others find each call's operation.
pub const FIXUPS: &[Fixup] = &[
    Fixup {
        name: "hide_progenitor_error",
        apply: surface::hide_progenitor_error,
    },
    Fixup {
        name: "drop_api_version",
        apply: requests::drop_api_version,
    },
    Fixup {
        name: "hide_raw_constructors",
        apply: surface::hide_raw_constructors,
    },
    Fixup {
        name: "close_answer_types",
        apply: surface::close_answer_types,
    },
    Fixup {
        name: "compile_examples",
        apply: docs::compile_examples,
    },
    Fixup {
        name: "drop_path_fragments",
        apply: requests::drop_path_fragments,
    },
    Fixup {
        name: "wrap_sends",
        apply: requests::wrap_sends,
    },
    Fixup {
        name: "document_builders",
        apply: docs::document_builders,
    },
    Fixup {
        name: "send_through_runtime",
        apply: requests::send_through_runtime,
    },
];

/// The items of progenitor's top-level `mod <name>` (`types`, `builder`), or an error
/// saying it is gone.
fn module<'a>(file: &'a mut syn::File, name: &str) -> Result<&'a mut Vec<syn::Item>, String> {
    file.items
        .iter_mut()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == name => m.content.as_mut().map(|(_, items)| items),
            _ => None,
        })
        .ok_or(format!("progenitor's `mod {name}` was not found"))
}

/// Runs every fix-up in order.
pub fn apply(file: &mut syn::File, lowered: &Lowered) -> Result<(), String> {
    for fixup in FIXUPS {
        (fixup.apply)(file, lowered).map_err(|e| format!("fix-up `{}` no longer applies: {e}", fixup.name))?;
    }
    Ok(())
}
