//! [`Rotation`]: an Insight.io API token replaced safely.

use api_tokens_runtime::{Error, Secret, Token};
use tokio::sync::Mutex;

use crate::Client;

/// An Insight.io API token, rotated: a new token is created (with the session cookie or
/// the login token `creator` holds), confirmed to work (it lists the user's tokens), and
/// only then is the old one revoked. If creation or confirmation fails, nothing is
/// revoked and the old token stays current.
///
/// Insight.io tokens live until revoked, so as a [`TokenSource`](crate::TokenSource) this hands out the
/// current token with no expiry; rotate on your own schedule.
///
/// ```no_run
/// # async fn run() -> Result<(), insight_tokens::Error> {
/// let creator = insight_tokens::Client::builder()
///     .session_cookie("PLAY_SESSION=...")
///     .build()?;
/// let rotation = insight_tokens::Rotation::new(creator, "CURRENT-TOKEN");
/// let fresh = rotation.rotate().await?;
/// # let _ = fresh;
/// # Ok(())
/// # }
/// ```
pub struct Rotation {
    creator: Client,
    current: Mutex<Secret>,
}

impl Rotation {
    /// Starts from `token`; `creator` is a client that may create tokens.
    pub fn new(creator: Client, token: impl Into<Secret>) -> Self {
        Rotation {
            creator,
            current: Mutex::new(token.into()),
        }
    }

    /// Replaces the current token now; returns the new one.
    pub async fn rotate(&self) -> Result<Token, Error> {
        let mut current = self.current.lock().await;
        let created = self.creator.create_token().send().await?.into_inner().token;
        // Confirm before revoking anything: the new token must be accepted.
        let new = self.creator.with_api_token(created.clone())?;
        new.list_tokens().send().await?;
        self.creator
            .with_api_token(current.clone())?
            .delete_token()
            .send()
            .await?;
        *current = created.clone();
        Ok(Token::new(created, None))
    }

    /// The current token (Insight.io tokens do not expire).
    pub async fn token(&self) -> Result<Token, Error> {
        Ok(Token::new(self.current.lock().await.clone(), None))
    }

    /// A client sending the current token.
    pub async fn client(&self) -> Result<Client, Error> {
        let current = self.current.lock().await.clone();
        self.creator.with_api_token(current)
    }
}

api_tokens_runtime::impl_token_source!(Rotation, debug: []);
