//! An answer's typed value: its body read into one buffer and decoded, its status and
//! headers kept beside it. What progenitor's `ResponseValue::from_response` does, with
//! two costs fewer on every call: the headers are moved into the value rather than
//! copied, and the future is a small one of its own (`from_response` is an `async fn`
//! holding the response twice, and its body's collector: 944 bytes in every call's
//! future, which a task spawned per call allocates and moves).

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_core::Stream;
use progenitor_client::{Error, ResponseValue};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::body::Collected;

/// The value of `response`: its body decoded as `T` (progenitor's
/// `InvalidResponsePayload` when it is not one, `ResponseBodyError` when it cannot be
/// read).
///
/// The body is read as far as it goes: the transport hands over only a body whose
/// length is announced within the client's limit, or one it has read itself.
pub(crate) fn decode<T, E>(
    mut response: reqwest::Response,
) -> impl Future<Output = Result<ResponseValue<T>, Error<E>>> + Send
where
    T: serde::de::DeserializeOwned,
{
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let announced = response
        .content_length()
        .map_or(0, |length| usize::try_from(length).unwrap_or(usize::MAX));
    Decoding {
        body: Some(response.bytes_stream()),
        status,
        headers,
        collected: Collected::new(announced),
        types: PhantomData,
    }
}

pin_project_lite::pin_project! {
    /// A body being read (`None` once it is whole), then decoded.
    struct Decoding<S, T, E> {
        #[pin]
        body: Option<S>,
        status: StatusCode,
        headers: HeaderMap,
        collected: Collected,
        types: PhantomData<fn() -> (T, E)>,
    }
}

impl<S, T, E> Future for Decoding<S, T, E>
where
    S: Stream<Item = reqwest::Result<Bytes>>,
    T: serde::de::DeserializeOwned,
{
    type Output = Result<ResponseValue<T>, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        while let Some(chunk) = ready!(
            this.body
                .as_mut()
                .as_pin_mut()
                .map_or(Poll::Ready(None), |b| b.poll_next(cx))
        ) {
            this.collected.push(chunk.map_err(Error::ResponseBodyError)?);
        }
        // The body (hyper's, with its connection's read buffer) goes before the value is
        // decoded: kept to the end, it raised a 2 MB list's peak memory by a fifth.
        this.body.set(None);
        let body = std::mem::replace(this.collected, Collected::new(0)).into_bytes();
        let inner = serde_json::from_slice(&body).map_err(|e| Error::InvalidResponsePayload(body, e))?;
        Poll::Ready(Ok(ResponseValue::new(
            inner,
            *this.status,
            std::mem::take(this.headers),
        )))
    }
}
