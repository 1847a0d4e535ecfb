//! The shared cases (`tests/cases/*`, each with its README, inputs and fixtures): inputs a user
//! tried, with the value `transformers` / scikit-learn / the SQuAD scripts give for them.

#[path = "../common/mod.rs"]
mod common;

mod labels;
mod tokenizers;

use serde_json::Value;

use common::*;

/// 14 words, 16 tokens in the tiny vocabulary.
pub(crate) const T: &str = "the movie was great and the story was fun but i hate that actor";

/// `burnbert eval MODEL --data DATA EXTRA --json`.
pub(crate) fn eval(model: &std::path::Path, data: &std::path::Path, extra: &[&str]) -> Value {
    let mut args = vec!["eval", arg(model), "--data", arg(data)];
    args.extend_from_slice(extra);
    args.push("--json");
    json(&args)
}

pub(crate) fn encode(model: &std::path::Path, extra: &[&str]) -> Value {
    let mut args = vec!["encode", arg(model)];
    args.extend_from_slice(extra);
    args.push("--json");
    json(&args)
}
