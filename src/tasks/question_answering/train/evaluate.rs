//! A reader's logits over SQuAD windows, and its official EM / F1.

use burn::prelude::*;
use crate::batches::{Batch, Batches, in_order};
use crate::tasks::question_answering::data::{QaFeature, SquadExample};
use burnbert_data::{BertTokenizer, PaddedBatch};
use burnbert_model::BertForQuestionAnswering;

use super::QaReport;
use burnbert_train::TrainError;
use crate::tasks::question_answering::squad::{Postprocess, postprocess, squad_scores};

/// The start logits and the end logits of one window, `[seq]` each.
pub type StartEndLogits = (Vec<f32>, Vec<f32>);

/// The start and end logits of every feature, in batches.
pub fn feature_logits(
    model: &BertForQuestionAnswering,
    tokenizer: &BertTokenizer,
    features: &[QaFeature],
    batch_size: usize,
    device: &Device,
) -> Result<Vec<StartEndLogits>, TrainError> {
    let mut batches = Vec::new();
    let by_length = Batches::new("eval", features, batch_size, |f| f.encoding.input_ids.len());
    for Batch { indices, items } in by_length {
        let encodings: Vec<_> = items.into_iter().map(|f| f.encoding).collect();
        let batch = PaddedBatch::new(&encodings, tokenizer.pad_id())?;
        let (start, end) = model.forward(batch.to_input(device));
        let [b, seq] = start.dims();
        let floats = |t: Tensor<2>| {
            t.into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .expect("floats")
        };
        let (start, end) = (floats(start), floats(end));
        let rows = (0..b)
            .map(|row| {
                (
                    start[row * seq..(row + 1) * seq].to_vec(),
                    end[row * seq..(row + 1) * seq].to_vec(),
                )
            })
            .collect();
        batches.push((indices, rows));
    }
    let logits = in_order(features.len(), batches);
    Ok(logits)
}

/// Answers `examples` (whose windows are `features`) and scores the answers with the official
/// SQuAD EM / F1.
pub fn evaluate_reader(
    model: &BertForQuestionAnswering,
    tokenizer: &BertTokenizer,
    examples: &[SquadExample],
    features: &[QaFeature],
    batch_size: usize,
    options: Postprocess,
    device: &Device,
) -> Result<QaReport, TrainError> {
    let model = model.clone().fork(device);
    let logits = feature_logits(&model, tokenizer, features, batch_size, device)?;
    let predictions = postprocess(examples, features, &logits, options);
    Ok(QaReport {
        scores: squad_scores(examples, &predictions),
        features: features.len(),
        predictions,
    })
}
