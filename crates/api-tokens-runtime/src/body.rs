//! A body as it comes, chunk by chunk, into one buffer: the transport's for an error or
//! an envelope, `hooks::decode`'s for a success. Its room grows with what has come,
//! never to an announced length before the bytes do.

use bytes::Bytes;

/// A body as it comes.
pub(crate) struct Collected {
    /// The first chunk, kept as it came: most bodies are one chunk, never copied.
    first: Option<Bytes>,
    /// The chunks after it, with the first copied in front of them.
    more: Vec<u8>,
    /// The body's announced length, or 0: the room the body grows into (see
    /// `make_room`).
    announced: usize,
}

impl Collected {
    /// An empty body announced as `announced` bytes (0 when not announced).
    pub(crate) fn new(announced: usize) -> Self {
        Collected {
            first: None,
            more: Vec::new(),
            announced,
        }
    }

    /// How many bytes have come.
    pub(crate) fn len(&self) -> usize {
        self.first.as_ref().map_or(0, Bytes::len) + self.more.len()
    }

    /// The next chunk, after those that came before.
    pub(crate) fn push(&mut self, chunk: Bytes) {
        if self.first.is_none() && self.more.is_empty() {
            self.first = Some(chunk);
            return;
        }
        for part in self.first.take().into_iter().chain([chunk]) {
            make_room(&mut self.more, part.len(), self.announced);
            self.more.extend_from_slice(&part);
        }
    }

    /// The whole body.
    pub(crate) fn into_bytes(self) -> Bytes {
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
