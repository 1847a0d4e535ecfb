//! Sentence embeddings with all-MiniLM-L6-v2 and their cosine similarities.
//!
//! ```sh
//! cargo run --release --example embed                      # default CPU backend
//! cargo run --release --example embed -- --model DIR_OR_HUB_ID "first text" "second text"
//! ```
//! Without `--model`, the model comes from the asset cache (filled as `cargo xtask assets` does).

use burnbert::device;
use burnbert::pipeline::FeatureExtractionPipeline;

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
    let embed = FeatureExtractionPipeline::from_pretrained(&model, &device)?;
    let embeddings = embed.predict(&args)?;
    // Cosine similarity: the embeddings have unit norm.
    let cosine = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    for (i, a) in args.iter().enumerate() {
        for (j, b) in args.iter().enumerate().skip(i + 1) {
            println!(
                "{:.4}  {a:?} ~ {b:?}",
                cosine(&embeddings[i], &embeddings[j])
            );
        }
    }
    Ok(())
}
