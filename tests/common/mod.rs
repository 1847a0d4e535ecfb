//! Shared helpers of the integration tests: fixtures, PyTorch references, the backend under test.
#![allow(dead_code)]

use std::path::PathBuf;

use burnbert::burn::prelude::*;
use serde_json::Value;

/// `assets/` of the repository: under `CARGO_MANIFEST_DIR` as the running process's environment
/// gives it (cargo sets it when it runs a test; the GPU check sets it to the copy of the
/// repository it runs the test binaries in), else where the tests were built.
pub fn assets(name: &str) -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("assets")
        .join(name)
}

/// A reference file of `assets/reference/`.
pub fn reference(name: &str) -> Value {
    let path = assets("reference").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The device under test: `BURN_DEVICE`, else the build's default backend.
pub fn device() -> Device {
    burnbert::device::resolve(None).unwrap()
}

/// The backend's name, as `BURN_DEVICE` or the build's default gives it.
pub fn backend() -> String {
    std::env::var("BURN_DEVICE")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| burnbert::device::compiled_backends()[0].to_string())
}

/// Max abs difference allowed against PyTorch, per backend. flex, ndarray, LibTorch CPU and wgpu
/// on lavapipe meet the 1e-4 bar (largest seen: 6.0e-5, MiniLM's last hidden state on wgpu).
/// GPU backends not run here (CUDA, Metal, native Vulkan) may use reduced-precision matmul
/// paths and are held to 1e-3 until measured.
pub fn tolerance() -> f32 {
    match backend().split(':').next().unwrap() {
        "cuda" | "metal" | "vulkan" => 1e-3,
        _ => 1e-4,
    }
}

/// A `[batch, seq]` integer input of a reference record.
pub fn int_input(record: &Value, key: &str, device: &Device) -> Tensor<2, Int> {
    let rows: Vec<Vec<i64>> = serde_json::from_value(record["inputs"][key].clone()).unwrap();
    let shape = [rows.len(), rows[0].len()];
    Tensor::from_data(TensorData::new(rows.concat(), shape), device)
}

/// The reference inputs as model input.
pub fn bert_input(record: &Value, device: &Device) -> burnbert::BertInput {
    burnbert::BertInput::new(int_input(record, "input_ids", device))
        .with_attention_mask(int_input(record, "attention_mask", device))
        .with_token_type_ids(int_input(record, "token_type_ids", device))
}

/// Shape and data of a reference tensor.
pub fn expected(value: &Value) -> (Vec<usize>, Vec<f32>) {
    let shape: Vec<usize> = serde_json::from_value(value["shape"].clone()).unwrap();
    let data: Vec<f32> = serde_json::from_value(value["data"].clone()).unwrap();
    (shape, data)
}

/// Max abs difference of a tensor from a reference tensor; panics on a shape mismatch.
pub fn max_abs_diff<const D: usize>(actual: Tensor<D>, reference: &Value) -> f32 {
    let (shape, data) = expected(reference);
    assert_eq!(actual.dims().to_vec(), shape, "shape");
    let actual: Vec<f32> = actual
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap();
    actual
        .iter()
        .zip(&data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// Asserts a tensor is within [`tolerance`] of a reference tensor, and prints the difference.
pub fn assert_close<const D: usize>(what: &str, actual: Tensor<D>, reference: &Value) {
    let diff = max_abs_diff(actual, reference);
    println!("{what}: max abs diff {diff:.3e} on {}", backend());
    assert!(
        diff <= tolerance(),
        "{what}: max abs diff {diff} > {} on {}",
        tolerance(),
        backend()
    );
}

#[allow(unused_imports)] // Not every test binary skips.
pub use burnbert_assets::testing::{required, skip};

/// The largest `|a - b|` over two equally long series.
pub fn largest_gap(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "series of different lengths");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// The cached all-MiniLM-L6-v2 folder, or `None` (after saying so) when it is not fetched; CI
/// requires it.
pub fn minilm() -> Option<PathBuf> {
    burnbert_assets::testing::cached_or_skip([&burnbert_assets::MINILM]).map(|[m]| m)
}

/// The cached all-MiniLM-L6-v2 folder and SQuAD folder, or `None` (after saying so) when the
/// assets are not fetched; CI requires them.
pub fn minilm_and_squad() -> Option<(PathBuf, PathBuf)> {
    burnbert_assets::testing::cached_or_skip([&burnbert_assets::MINILM, &burnbert_assets::SQUAD])
        .map(|[model, data]| (model, data))
}

/// `n` labelled texts, cycling through `rows` of (text, label as written in the data), each
/// located at line i + 1 of a file `generated`.
pub fn text_examples(
    rows: &[(&str, &str)],
    n: usize,
) -> Vec<burnbert::tasks::sequence_classification::TextExample> {
    use burnbert::tasks::sequence_classification::{Location, TextExample};
    (0..n)
        .map(|i| {
            let (text, label) = rows[i % rows.len()];
            TextExample {
                text: text.into(),
                text_pair: None,
                label: label.into(),
                location: Location {
                    file: "generated".into(),
                    line: i + 1,
                },
            }
        })
        .collect()
}

/// The tensors of a `.safetensors` file by name, as raw bytes: two files with the same
/// tensors compare equal whatever the order of their headers.
pub fn safetensors_tensors(path: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, Value> = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    header
        .into_iter()
        .filter(|(name, _)| name != "__metadata__")
        .map(|(name, info)| {
            let range = &info["data_offsets"];
            let (start, end) = (range[0].as_u64().unwrap(), range[1].as_u64().unwrap());
            (name, data[start as usize..end as usize].to_vec())
        })
        .collect()
}

/// Held by a test that trains while another test of its binary may train too: the device's
/// random generator (dropout, initialisation) is shared by the process, so two runs at once
/// would draw each other's numbers.
pub fn one_run_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static RUNS: std::sync::Mutex<()> = std::sync::Mutex::new(());
    RUNS.lock().unwrap_or_else(|e| e.into_inner())
}
