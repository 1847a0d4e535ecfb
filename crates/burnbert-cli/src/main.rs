//! `burnbert`: train, evaluate, predict with, inspect and encode with HF BERT models from the
//! command line. The commands are `burnbert::cli` (the library's `cli` feature).

use std::process::ExitCode;

fn main() -> ExitCode {
    burnbert::cli::main()
}
