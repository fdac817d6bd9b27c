//! `garita`: the command-line front door (CLI plus glue).
fn main() {}
