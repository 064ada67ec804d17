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

/// A body as it comes.
struct Collected {
    /// The first chunk, kept as it came: most bodies are one chunk, never copied.
    first: Option<Bytes>,
    /// The chunks after it, with the first copied in front of them.
    more: Vec<u8>,
    /// The body's announced length (the transport hands over none longer than the
    /// client's limit), or 0: the room the body grows into (see `make_room`).
    announced: usize,
}

impl Collected {
    fn new(announced: usize) -> Self {
        Collected {
            first: None,
            more: Vec::new(),
            announced,
        }
    }

    fn push(&mut self, chunk: Bytes) {
        if self.first.is_none() && self.more.is_empty() {
            self.first = Some(chunk);
            return;
        }
        for part in self.first.take().into_iter().chain([chunk]) {
            make_room(&mut self.more, part.len(), self.announced);
            self.more.extend_from_slice(&part);
        }
    }

    fn into_bytes(self) -> Bytes {
        match self.first {
            Some(first) => first,
            None => Bytes::from(self.more),
        }
    }
}

/// Room in `body` for `more` bytes that have come: at least twice what is held, up to
/// the announced length (so a truthful body of several chunks ends in one buffer of
/// exactly its length), and never more than twice what has come (so a server that
/// announces gigabytes and then sends a trickle pins no more than that).
fn make_room(body: &mut Vec<u8>, more: usize, announced: usize) {
    let needed = body.len().saturating_add(more);
    if needed <= body.capacity() {
        return;
    }
    let doubled = needed.saturating_mul(2);
    let room = if announced >= needed {
        announced.min(doubled)
    } else {
        doubled
    };
    body.reserve_exact(room - body.len());
}

#[cfg(test)]
mod tests {
    use super::{Bytes, Collected, make_room};

    /// `chunks` pushed into a body announced as `announced` bytes.
    fn collect(chunks: &[&'static [u8]], announced: usize) -> Bytes {
        let mut collected = Collected::new(announced);
        for chunk in chunks {
            collected.push(Bytes::from_static(chunk));
        }
        collected.into_bytes()
    }

    #[test]
    fn a_body_of_one_chunk_is_kept_as_it_came() {
        static CHUNK: &[u8] = b"{\"id\": \"t1\"}";
        let body = collect(&[CHUNK], CHUNK.len());
        assert_eq!(body.as_ptr(), CHUNK.as_ptr(), "copied");
    }

    #[test]
    fn chunks_are_joined_in_order_empty_ones_included() {
        for chunks in [
            &[&b"a"[..], b"bc", b"", b"def"][..],
            &[b"", b"ab", b"cdef"],
            &[b"abc", b"def"],
            &[b"a", b"b", b"c", b"d", b"e", b"f"],
        ] {
            for announced in [0, 6, 1 << 40] {
                assert_eq!(&collect(chunks, announced)[..], b"abcdef", "{chunks:?}");
            }
        }
        assert!(collect(&[], 0).is_empty());
    }

    /// The capacities a body grows through, chunk by chunk.
    fn growth(chunks: &[usize], announced: usize) -> Vec<usize> {
        let mut body = Vec::new();
        chunks
            .iter()
            .map(|&chunk| {
                make_room(&mut body, chunk, announced);
                body.extend(std::iter::repeat_n(b'x', chunk));
                body.capacity()
            })
            .collect()
    }

    #[test]
    fn a_truthful_body_ends_in_one_buffer_of_its_length() {
        let chunks = [16_384; 8];
        let grown = growth(&chunks, 8 * 16_384);
        assert_eq!(grown.last(), Some(&(8 * 16_384)));
        assert!(grown.windows(2).all(|w| w[0] <= w[1]), "{grown:?}");
    }

    #[test]
    fn a_body_announced_huge_pins_no_more_than_twice_what_came() {
        let mut came = 0;
        for (i, capacity) in growth(&[2, 2, 5, 100], 1 << 40).into_iter().enumerate() {
            came += [2, 2, 5, 100][i];
            assert!(capacity >= came && capacity <= 2 * came, "{capacity} for {came}");
        }
    }

    #[test]
    fn a_body_longer_than_announced_or_unannounced_still_fits() {
        for announced in [0, 10] {
            let grown = growth(&[8, 8, 8], announced);
            assert!(grown[2] >= 24 && grown[2] <= 48, "{grown:?}");
        }
    }
}
