//! [`TokenSource`]: anything that hands out a token valid now.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::token::Token;
use crate::error::Error;

/// The future of [`TokenSource::token`].
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<Token, Error>> + Send + 'a>>;

/// A [`CachedTokenSource`](crate::CachedTokenSource)'s loader, boxed: what every
/// vendor's lifecycle type keeps, so that its cache has a type it can name.
pub type BoxedLoader = Box<dyn Fn(Option<Token>) -> TokenFuture<'static> + Send + Sync>;

/// Anything that hands out a token valid now: every vendor crate's lifecycle type.
///
/// Object-safe, so that an application can hold any vendor's source the same way:
///
/// ```
/// use std::sync::Arc;
/// use api_tokens_runtime::{Token, TokenFuture, TokenSource};
///
/// struct Fixed(Token);
/// impl TokenSource for Fixed {
///     fn token(&self) -> TokenFuture<'_> {
///         Box::pin(async move { Ok(self.0.clone()) })
///     }
/// }
///
/// # async fn run() -> Result<(), api_tokens_runtime::Error> {
/// let sources: Vec<Arc<dyn TokenSource>> = vec![Arc::new(Fixed(Token::new("t", None)))];
/// for source in &sources {
///     let token = source.token().await?;
///     println!("{token:?}");
/// }
/// # Ok(())
/// # }
/// ```
pub trait TokenSource: Send + Sync {
    /// A token valid now (as far as its expiry is known): cached, refreshed, or newly
    /// created, as the source decides. Never a token the source knows to be expired.
    fn token(&self) -> TokenFuture<'_>;

    /// Reports that a server refused `token` (HTTP 401, "token expired"): the source
    /// forgets it, so that the next [`token`](TokenSource::token) gets another.
    ///
    /// Compare-and-invalidate: only the token reported is forgotten, so N callers
    /// reporting the same refusal cause one refresh, and a report of a token the source
    /// has already replaced does nothing. Returns whether the token was forgotten. The
    /// default does nothing (a source with nothing to forget).
    fn report_refused(&self, token: &Token) -> bool {
        let _ = token;
        false
    }
}

impl<S: TokenSource + ?Sized> TokenSource for Arc<S> {
    fn token(&self) -> TokenFuture<'_> {
        (**self).token()
    }

    fn report_refused(&self, token: &Token) -> bool {
        (**self).report_refused(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Token);

    impl TokenSource for Fixed {
        fn token(&self) -> TokenFuture<'_> {
            Box::pin(async move { Ok(self.0.clone()) })
        }
    }

    #[tokio::test]
    async fn a_source_without_refusal_support_forgets_nothing() {
        let token = Token::new("t", None);
        let source: Arc<dyn TokenSource> = Arc::new(Fixed(token.clone()));
        assert!(!source.report_refused(&token));
        assert_eq!(source.token().await.expect("token"), token);
    }
}
