//! Fix-ups of what progenitor makes public: users see the runtime's error and the
//! checked `Client::builder`, never progenitor's raw versions.

use quote::quote;

use crate::lower::Lowered;

/// progenitor re-exports its `Error`; make that import private so the crate's public
/// `Error` is the runtime's.
pub fn hide_progenitor_error(file: &mut syn::File, _: &Lowered) -> Result<(), String> {
    for item in &mut file.items {
        let syn::Item::Use(item_use) = item else { continue };
        let text = quote!(#item_use).to_string();
        if matches!(item_use.vis, syn::Visibility::Public(_))
            && text.contains("progenitor_client")
            && text.contains("Error")
        {
            let public = quote!(
                pub use progenitor_client::{ByteStream, ClientInfo, ResponseValue};
            );
            let private = quote!(
                use progenitor_client::Error;
            );
            *item = syn::parse2(public).map_err(|e| e.to_string())?;
            file.items.push(syn::parse2(private).map_err(|e| e.to_string())?);
            return Ok(());
        }
    }
    Err("progenitor's `pub use progenitor_client::{.., Error, ..}` was not found".into())
}

/// progenitor's `Client::new` unwraps, and it and `new_with_client` skip the builder's
/// checks (base URL, credentials, TLS, timeouts, redirects): users get `Client::builder`
/// only. `new` goes; `new_with_client`, which the builder calls, becomes crate-private.
pub fn hide_raw_constructors(file: &mut syn::File, _: &Lowered) -> Result<(), String> {
    let client_impl = file
        .items
        .iter_mut()
        .find_map(|item| match item {
            syn::Item::Impl(imp)
                if imp.trait_.is_none() && matches!(&*imp.self_ty, syn::Type::Path(p) if p.path.is_ident("Client")) =>
            {
                Some(imp)
            }
            _ => None,
        })
        .ok_or("progenitor's `impl Client` was not found")?;
    let before = client_impl.items.len();
    client_impl
        .items
        .retain(|item| !matches!(item, syn::ImplItem::Fn(f) if f.sig.ident == "new"));
    let removed = before - client_impl.items.len();
    let with_client = client_impl.items.iter_mut().find_map(|item| match item {
        syn::ImplItem::Fn(f) if f.sig.ident == "new_with_client" => Some(f),
        _ => None,
    });
    match (removed, with_client) {
        (1, Some(f)) => {
            f.vis = syn::parse_quote!(pub(crate));
            Ok(())
        }
        _ => Err("`Client::new` or `Client::new_with_client` was not found".into()),
    }
}
