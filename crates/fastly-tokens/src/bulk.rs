//! Bulk revocation from token ids, without building the JSON:API body by hand.

use api_tokens_runtime::{Error, ErrorKind};

use crate::types::{BulkRevokeRequest, TokenIdentifier, TokenResourceType};
use crate::{Client, ResponseValue};

impl BulkRevokeRequest {
    /// The body that revokes the tokens with these ids:
    /// `{"data": [{"type": "token", "id": …}, …]}`.
    pub fn from_ids<I>(ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        BulkRevokeRequest {
            data: ids
                .into_iter()
                .map(|id| TokenIdentifier {
                    id: id.into(),
                    type_: TokenResourceType::Token,
                })
                .collect(),
        }
    }
}

impl Client {
    /// Revokes the tokens with these ids in one request
    /// ([`Client::bulk_revoke_tokens`], `DELETE /tokens` in JSON:API bulk form). Users
    /// may revoke only their own tokens; superusers may revoke others'.
    ///
    /// No ids, or an empty id, is refused before anything is sent
    /// (`ErrorKind::InvalidArgument`).
    ///
    /// ```no_run
    /// # async fn run(client: fastly_tokens::Client) -> Result<(), fastly_tokens::Error> {
    /// client.revoke_tokens(["3krg2uUGZzb2W9Euo4moOY", "71ZA6hv2FO6tGEQIE203Xj"]).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn revoke_tokens<I>(&self, ids: I) -> Result<ResponseValue<()>, Error>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let body = BulkRevokeRequest::from_ids(ids);
        let invalid = |why: &str| Err(crate::sdk_error(ErrorKind::InvalidArgument, why));
        if body.data.is_empty() {
            return invalid("bulk_revoke_tokens: no token ids to revoke");
        }
        if body.data.iter().any(|token| token.id.trim().is_empty()) {
            return invalid("bulk_revoke_tokens: a token id to revoke is empty");
        }
        self.bulk_revoke_tokens().body(body).send().await
    }
}
