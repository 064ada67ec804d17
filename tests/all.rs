//! One test binary for the whole workspace (one link instead of one per file).

mod fastly;
mod ica;
mod tigergraph;
mod insight;
mod docluster;
