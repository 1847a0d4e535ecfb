//! Sentence embeddings with all-MiniLM-L6-v2 and their cosine similarities.
//!
//! ```sh
//! cargo run --release --example embed                      # default CPU backend
//! cargo run --release --example embed -- --model DIR_OR_HUB_ID "first text" "second text"
//! ```
//! Without `--model`, the model comes from the asset cache (filled as `cargo xtask assets` does).

use burnbert::data::PaddedBatch;
use burnbert::{BertModel, device, encode, from_pretrained};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    burnbert::allocator::tune();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let model = match args.iter().position(|a| a == "--model") {
        Some(i) => {
            args.remove(i);
            args.remove(i)
        }
        None => burnbert_assets::ensure(&burnbert_assets::MINILM)?
            .to_string_lossy()
            .to_string(),
    };
    if args.is_empty() {
        args = vec![
            "A man is eating food.".into(),
            "A man is eating a meal.".into(),
            "The sky is blue.".into(),
        ];
    }
    let device = device::resolve(None)?;
    let bert = from_pretrained::<BertModel>(&model, &device)?;
    let encodings = args
        .iter()
        .map(|t| bert.tokenizer.encode(t, None, bert.max_length()))
        .collect::<Result<Vec<_>, _>>()?;
    let batch = PaddedBatch::new(&encodings, bert.tokenizer.pad_id())?;
    let (input, mask) = (batch.to_input(&device), batch.mask(&device));
    let embeddings =
        encode::mean_pooled_normalized(bert.model.forward(input).last_hidden_state, mask);
    let similarity = embeddings.clone().matmul(embeddings.transpose());
    let values: Vec<f32> = similarity
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32");
    for (i, a) in args.iter().enumerate() {
        for (j, b) in args.iter().enumerate().skip(i + 1) {
            println!("{:.4}  {a:?} ~ {b:?}", values[i * args.len() + j]);
        }
    }
    Ok(())
}
