//! Query engine benchmark (filled in with the engine).
fn main() {}
