//! [`RotationError`]: a rotation that failed part-way, and the tokens it left live.
//!
//! A rotation creates a token, confirms it, then revokes the old one. Whatever step
//! fails after the new token exists, nothing live is lost: the new token is revoked
//! (best effort) or handed back here with its id, and an old token that could not be
//! revoked is named here for a later retry.

use std::fmt;

use super::token::Token;
use crate::error::Error;

/// The steps of a rotation, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RotationStep {
    /// Reading the current token's details (name, scope, lifetime) to copy them.
    ReadCurrent,
    /// Getting a one-time code for the login.
    OneTimeCode,
    /// Creating the new token.
    Create,
    /// Confirming that the new token works.
    Confirm,
    /// Revoking the old token.
    RevokeOld,
}

impl RotationStep {
    /// Tells `tracing` that a rotation of `vendor` starts this step (`DEBUG`, target
    /// `api_tokens::lifecycle`): plumbing for the vendor crates' rotations.
    #[doc(hidden)]
    pub fn begin(self, vendor: &'static str) {
        tracing::debug!(target: "api_tokens::lifecycle", vendor, step = %self, "rotation step");
    }
}

impl fmt::Display for RotationStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RotationStep::ReadCurrent => "reading the current token",
            RotationStep::OneTimeCode => "getting a one-time code",
            RotationStep::Create => "creating the new token",
            RotationStep::Confirm => "confirming the new token",
            RotationStep::RevokeOld => "revoking the old token",
        })
    }
}

/// A token a rotation created and could not get rid of: its vendor id (where the vendor
/// has one) and the token itself.
#[derive(Clone, Debug)]
pub struct CreatedToken {
    /// The vendor's id of the token (Fastly's token id), if it has one.
    pub id: Option<String>,
    /// The token (its `Debug` shows no secret).
    pub token: Token,
}

/// A rotation that failed at one step, with what it left live.
///
/// - Failed before the new token existed ([`RotationStep::ReadCurrent`],
///   [`RotationStep::OneTimeCode`], [`RotationStep::Create`]): nothing changed.
/// - Failed to confirm the new token: it was revoked; if that failed too, it is
///   [`RotationError::unrevoked_new`], and the old token stays current.
/// - Failed only to revoke the old token: the new token **is** current (and in
///   [`RotationError::current`]); the old one's id is [`RotationError::unrevoked_old_id`],
///   for a later retry.
///
/// Converts into the crate's [`Error`] (the step's error) for `?`.
#[derive(Clone)]
pub struct RotationError {
    step: RotationStep,
    error: Error,
    unrevoked_new: Option<CreatedToken>,
    unrevoked_old_id: Option<String>,
    current: Option<Token>,
}

impl RotationError {
    /// A failure at `step`.
    pub fn new(step: RotationStep, error: Error) -> Self {
        RotationError {
            step,
            error,
            unrevoked_new: None,
            unrevoked_old_id: None,
            current: None,
        }
    }

    /// The same, with a new token that could be neither confirmed nor revoked.
    pub fn with_unrevoked_new(mut self, created: CreatedToken) -> Self {
        self.unrevoked_new = Some(created);
        self
    }

    /// The same, with the new token current and the old one's id left to revoke.
    pub fn with_unrevoked_old(mut self, old_id: Option<String>, current: Token) -> Self {
        self.unrevoked_old_id = old_id;
        self.current = Some(current);
        self
    }

    /// The step that failed.
    pub fn step(&self) -> RotationStep {
        self.step
    }

    /// Why it failed.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// A new token left live: created, not confirmed, and not revoked.
    pub fn unrevoked_new(&self) -> Option<&CreatedToken> {
        self.unrevoked_new.as_ref()
    }

    /// The id of the old token, when only its revocation failed.
    pub fn unrevoked_old_id(&self) -> Option<&str> {
        self.unrevoked_old_id.as_deref()
    }

    /// The new current token, when the rotation went through but for the old token's
    /// revocation.
    pub fn current(&self) -> Option<&Token> {
        self.current.as_ref()
    }

    /// The step's error.
    pub fn into_error(self) -> Error {
        self.error
    }

    /// What a rotating token source serves: the new current token when the rotation
    /// went through but for the old token's revocation (retried later), else the error.
    pub fn into_current(self) -> Result<Token, Error> {
        match self.current {
            Some(token) => Ok(token),
            None => Err(self.error),
        }
    }
}

impl fmt::Display for RotationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rotation failed {}: {}", self.step, self.error)?;
        if let Some(created) = &self.unrevoked_new {
            match &created.id {
                Some(id) => write!(f, "; the new token (id {id}) is live and could not be revoked")?,
                None => f.write_str("; the new token is live and could not be revoked")?,
            }
        }
        if self.current.is_some() {
            f.write_str("; the new token is current")?;
            if let Some(id) = &self.unrevoked_old_id {
                write!(f, ", the old one (id {id}) is still live")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for RotationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotationError")
            .field("step", &self.step)
            .field("error", &self.error)
            .field("unrevoked_new", &self.unrevoked_new)
            .field("unrevoked_old_id", &self.unrevoked_old_id)
            .field("current", &self.current)
            .finish()
    }
}

impl std::error::Error for RotationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Counts the rotations a lifecycle completed and keeps the token the last one made
/// current, so that a rotation asked for before another completed (an unattended one
/// queued behind one the user asked for) does not rotate again: plumbing for the vendor
/// crates' rotations, no semver promise.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct RotationLog {
    completed: std::sync::atomic::AtomicU64,
    current: std::sync::Mutex<Option<Token>>,
}

impl RotationLog {
    /// How many rotations have completed: read when a rotation is asked for.
    pub fn seen(&self) -> u64 {
        self.completed.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The token a rotation completed since `seen` made current; `None` when none did
    /// (or `seen` is `None`: a rotation asked for now always rotates).
    pub fn completed_since(&self, seen: Option<u64>) -> Option<Token> {
        if seen.is_none_or(|seen| seen == self.seen()) {
            return None;
        }
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Records what a rotation ended with: a current token when it made one.
    pub fn record(&self, outcome: &Result<Token, RotationError>) {
        let made = match outcome {
            Ok(token) => Some(token),
            Err(error) => error.current(),
        };
        if let Some(token) = made {
            *self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(token.clone());
            self.completed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

impl<L> super::CachedTokenSource<L> {
    /// After a rotation asked for (a lifecycle's `rotate()`): a failure is logged
    /// (`WARN`, target `api_tokens::lifecycle`, with the step and whether a new token was
    /// left live), and the token now current (the new one, or the new one kept by a
    /// rotation that failed only to revoke the old) is stored and, in a fleet, shared
    /// before this returns, so that the next rotation, on any worker, starts from it.
    /// Plumbing for the vendor crates' rotations.
    #[doc(hidden)]
    pub async fn settle_rotation(&self, vendor: &'static str, rotated: &Result<Token, RotationError>) {
        if let Err(error) = rotated {
            tracing::warn!(
                target: "api_tokens::lifecycle",
                vendor,
                step = ?error.step(),
                new_token_left_live = error.unrevoked_new().is_some(),
                error = %error.error(),
                "rotation failed"
            );
        }
        let current = match rotated {
            Ok(token) => Some(token),
            Err(error) => error.current(),
        };
        if let Some(token) = current {
            self.store_shared(token.clone()).await;
        }
    }
}

impl From<RotationError> for Error {
    fn from(error: RotationError) -> Self {
        error.error
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn failure() -> Error {
        Error::new(ErrorKind::Vendor, "Test", "refused")
    }

    #[test]
    fn each_step_names_itself() {
        let steps = [
            (RotationStep::ReadCurrent, "reading the current token"),
            (RotationStep::OneTimeCode, "getting a one-time code"),
            (RotationStep::Create, "creating the new token"),
            (RotationStep::Confirm, "confirming the new token"),
            (RotationStep::RevokeOld, "revoking the old token"),
        ];
        for (step, text) in steps {
            assert_eq!(step.to_string(), text);
        }
    }

    #[test]
    fn what_was_left_live_is_handed_back_and_said() {
        let new = Token::new("new-s3cr3t-token", None);
        let left = RotationError::new(RotationStep::Confirm, failure()).with_unrevoked_new(CreatedToken {
            id: Some("id7".to_owned()),
            token: new.clone(),
        });
        assert_eq!(left.step(), RotationStep::Confirm);
        assert_eq!(
            left.unrevoked_new().map(|c| (c.id.clone(), c.token.clone())),
            Some((Some("id7".to_owned()), new.clone()))
        );
        assert_eq!((left.unrevoked_old_id(), left.current()), (None, None));
        let text = format!("{left} {left:?}");
        assert!(
            text.contains("rotation failed confirming the new token") && text.contains("id7"),
            "{text}"
        );
        assert!(
            text.contains("RotationError") && text.contains("unrevoked_new"),
            "{text}"
        );
        assert!(!text.contains("s3cr3t"), "{text}");
        let half = RotationError::new(RotationStep::RevokeOld, failure())
            .with_unrevoked_old(Some("id0".to_owned()), new.clone());
        assert_eq!(half.unrevoked_old_id(), Some("id0"));
        assert_eq!(half.current(), Some(&new));
        assert!(
            half.to_string()
                .contains("the new token is current, the old one (id id0) is still live"),
            "{half}"
        );
        let source = std::error::Error::source(&half).expect("the step's error");
        assert_eq!(source.to_string(), failure().to_string());
        assert_eq!(half.error().kind(), ErrorKind::Vendor);
        let error: Error = half.into();
        assert_eq!(error.kind(), ErrorKind::Vendor);
        let anonymous = RotationError::new(RotationStep::Confirm, failure())
            .with_unrevoked_new(CreatedToken { id: None, token: new });
        assert!(
            anonymous
                .to_string()
                .contains("the new token is live and could not be revoked"),
            "{anonymous}"
        );
    }
}
