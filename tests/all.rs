//! One test binary for the whole workspace (one link instead of one per file).

mod docluster;
mod fastly;
mod ica;
mod insight;
mod leaks;
mod tigergraph;
