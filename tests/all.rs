//! One test binary for the whole workspace (one link instead of one per file).

mod fastly;
mod ica;
