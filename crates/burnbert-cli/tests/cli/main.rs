//! The `burnbert` binary on the committed fixtures, against transformers' numbers: inference
//! commands, training and resuming a classifier, and the tagger and reader end to end.

#[path = "../common/mod.rs"]
mod common;

mod inference;
mod tasks;
mod training;

use serde_json::Value;

use common::assets;

/// transformers' outputs for the tiny fixtures.
fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string(assets("reference/tiny.json")).unwrap()).unwrap()
}
