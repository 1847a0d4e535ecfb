//! A tagger's predictions per word (windows merged back into sentences), and its seqeval
//! scores.

use crate::batches::{Batch, Batches};
use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use burnbert_data::BertTokenizer;
use crate::tasks::token_classification::data::{TagSet, TaggedSentence};
use burnbert_model::BertForTokenClassification;
use burnbert_model::loss::{IGNORE_INDEX, cross_entropy};

use super::{EncodedWindow, TokenClassificationBatcher, encode_sentences, ints};
use burnbert_train::TrainError;
use crate::tasks::token_classification::seqeval::{EntityCounts, SeqevalReport};

pub use crate::tasks::token_classification::data::WordTag;

/// What [`tag_windows`] finds: each word's best tag and its probability, and the summed loss
/// over labelled tokens.
struct Tagged {
    words: Vec<Vec<Option<WordTag>>>,
    loss_sum: f64,
    labelled: usize,
}

/// One forward pass over `windows` in batches: the best tag of each word's first piece, merged
/// back into sentences of `lengths` words, and the cross-entropy on the labelled tokens.
fn tag_windows(
    model: &BertForTokenClassification,
    tokenizer: &BertTokenizer,
    windows: &[EncodedWindow],
    lengths: &[usize],
    batch_size: usize,
    device: &Device,
) -> Tagged {
    let batcher = TokenClassificationBatcher {
        pad_id: tokenizer.pad_id(),
        cross_entropy: Default::default(),
    };
    let mut tagged = Tagged {
        words: lengths.iter().map(|&n| vec![None; n]).collect(),
        loss_sum: 0.0,
        labelled: 0,
    };
    let batches = Batches::new("eval", windows, batch_size, |w| w.input_ids.len());
    for Batch { items: chunk, .. } in batches {
        let batch = batcher.batch(chunk.clone(), device);
        let logits = model.forward(batch.input);
        let [b, seq, num_labels] = logits.dims();
        let labelled = chunk
            .iter()
            .map(|w| w.labels.iter().filter(|&&l| l != IGNORE_INDEX).count())
            .sum::<usize>();
        if labelled > 0 {
            let loss = cross_entropy(
                logits.clone().reshape([b * seq, num_labels]),
                batch.labels.reshape([b * seq]),
                IGNORE_INDEX,
            );
            tagged.loss_sum += loss.into_scalar::<f64>() * labelled as f64;
            tagged.labelled += labelled;
        }
        let (best, index) = burn::tensor::activation::softmax(logits, 2).max_dim_with_indices(2);
        let best: Vec<f32> = best
            .reshape([b * seq])
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("floats");
        let index = ints(index.reshape([b * seq]));
        for (row, window) in chunk.iter().enumerate() {
            for (w, token) in window.first_pieces.iter().enumerate() {
                if let Some(t) = token {
                    let at = row * seq + t;
                    tagged.words[window.sentence][window.first_word + w] =
                        Some((index[at] as usize, best[at]));
                }
            }
        }
    }
    tagged
}

/// Scores a tagger on sentences as seqeval does after `run_ner.py`'s alignment, each word
/// predicted from its first piece (a word with no piece left out of both sequences), plus the
/// mean loss over labelled tokens.
pub fn evaluate_tagger(
    model: &BertForTokenClassification,
    tokenizer: &BertTokenizer,
    tags: &TagSet,
    sentences: &[TaggedSentence],
    max_length: usize,
    batch_size: usize,
    device: &Device,
) -> Result<SeqevalReport, TrainError> {
    let model = model.clone().fork(device);
    let windows = encode_sentences(tokenizer, sentences, tags, max_length, false)?;
    let lengths: Vec<usize> = sentences.iter().map(|s| s.words.len()).collect();
    let tagged = tag_windows(&model, tokenizer, &windows, &lengths, batch_size, device);
    let names = tags.names();
    let mut counts = EntityCounts::default();
    for (sentence, predicted) in sentences.iter().zip(tagged.words) {
        // As run_ner.py scores: only words with a first piece (a label other than -100) count;
        // a word the tokenizer gives no piece (a zero-width space) is in neither sequence.
        let (gold, predicted): (Vec<&str>, Vec<&str>) = sentence
            .tags
            .iter()
            .zip(&predicted)
            .filter_map(|(gold, p)| p.map(|(id, _)| (gold.as_str(), names[id].as_str())))
            .unzip();
        counts.add(&gold, &predicted);
    }
    let mut report = counts.report();
    report.loss = (tagged.labelled > 0).then(|| tagged.loss_sum / tagged.labelled as f64);
    Ok(report)
}
