//! An answer's typed value: its body read into one buffer and decoded, its status and
//! headers kept beside it. What progenitor's `ResponseValue::from_response` does, with
//! two costs fewer on every call: the headers are moved into the value rather than
//! copied, and the future is a small one of its own (`from_response` is an `async fn`
//! holding the response twice, and its body's collector: 944 bytes in every call's
//! future, which a task spawned per call allocates and moves).

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use progenitor_client::{Error, ResponseValue};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

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
        announced,
        first: None,
        more: BytesMut::new(),
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
        // The body's announced length (the transport hands over none longer than the
        // client's limit), or 0: room made for it once, when a second chunk comes.
        announced: usize,
        // The first chunk, kept as it came: most bodies are one chunk, never copied.
        first: Option<Bytes>,
        // The chunks after it, with the first copied in front of them.
        more: BytesMut,
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
            let chunk = chunk.map_err(Error::ResponseBodyError)?;
            match this.first.take() {
                None if this.more.is_empty() => *this.first = Some(chunk),
                first => {
                    if let Some(first) = first {
                        this.more.reserve((*this.announced).max(first.len() + chunk.len()));
                        this.more.extend_from_slice(&first);
                    }
                    this.more.extend_from_slice(&chunk);
                }
            }
        }
        // The body (hyper's, with its connection's read buffer) goes before the value is
        // decoded: kept to the end, it raised a 2 MB list's peak memory by a fifth.
        this.body.set(None);
        let body = match this.first.take() {
            Some(first) => first,
            None => std::mem::take(this.more).freeze(),
        };
        let inner = serde_json::from_slice(&body).map_err(|e| Error::InvalidResponsePayload(body, e))?;
        Poll::Ready(Ok(ResponseValue::new(
            inner,
            *this.status,
            std::mem::take(this.headers),
        )))
    }
}
