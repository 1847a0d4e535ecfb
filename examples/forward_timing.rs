//! Inference throughput of all-MiniLM-L6-v2 (batch 32, sequence 128) on the chosen backend:
//! the quick check behind the default CPU backend (the full benchmark is a later issue).
//!
//! ```sh
//! BURN_DEVICE=flex cargo run --release --example forward_timing
//! ```

use std::time::Instant;

use burnbert::burn::prelude::*;
use burnbert::{BertInput, BertModel, device, from_pretrained};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    burnbert::allocator::tune();
    let device = device::resolve(None)?;
    let folder = burnbert_assets::ensure(&burnbert_assets::MINILM)?;
    let bert = from_pretrained::<BertModel>(folder.to_str().unwrap(), &device)?;
    let (batch, seq) = (32, 128);
    let ids: Vec<i64> = (0..batch * seq)
        .map(|i| 1000 + (i as i64 * 7919) % 20000)
        .collect();
    let input = || {
        BertInput::new(Tensor::<2, Int>::from_data(
            TensorData::new(ids.clone(), [batch, seq]),
            &device,
        ))
    };
    let run = || {
        let start = Instant::now();
        let out = bert.model.forward(input()).last_hidden_state;
        let _ = out.into_data(); // wait for the device
        start.elapsed().as_secs_f64()
    };
    run(); // warm-up
    let mut times: Vec<f64> = (0..5).map(|_| run()).collect();
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "{device:?}: {:.1} samples/s (median of 5, {:.3} s per batch of {batch}x{seq})",
        batch as f64 / median,
        median
    );
    Ok(())
}
