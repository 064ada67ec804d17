//! One test binary for the whole workspace (one link instead of one per file).

mod arguments;
mod categories;
mod defaults;
mod display;
mod docluster;
mod failures;
mod fastly;
mod fleet;
mod fuzz;
mod house;
mod ica;
mod insight;
mod leaks;
mod lifecycles;
mod malformed;
mod middleware;
mod regressions;
mod retries;
mod shared;
mod tigergraph;
mod traced;
mod traps;
