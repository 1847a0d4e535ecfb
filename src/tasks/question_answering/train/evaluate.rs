//! A reader's logits over SQuAD windows, and its official EM / F1.

use burn::prelude::*;
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
    let mut logits = Vec::with_capacity(features.len());
    for chunk in features.chunks(batch_size.max(1)) {
        let encodings: Vec<_> = chunk.iter().map(|f| f.encoding.clone()).collect();
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
        for row in 0..b {
            logits.push((
                start[row * seq..(row + 1) * seq].to_vec(),
                end[row * seq..(row + 1) * seq].to_vec(),
            ));
        }
    }
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
