//! `transformers.pipeline("text-classification")`: the label and probabilities of each text.

use crate::batches::{Batch, Batches, in_order};
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, softmax};
use burnbert_data::PaddedBatch;
use burnbert_model::{BertForSequenceClassification, ProblemType};
use serde::Serialize;

use crate::pipeline::{Pipeline, argmax, rows};
use crate::Error;

/// `transformers.pipeline("text-classification")`: labels and probabilities of texts or pairs.
pub type TextClassificationPipeline = Pipeline<BertForSequenceClassification>;

/// The prediction of a sequence classifier for one input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SequencePrediction {
    /// The most probable label, as the pipeline's first (`top_k=1`); a multi-label model's
    /// labels are those whose probability is above 0.5.
    pub label: String,
    /// Probability of each label, in id order, as the text-classification pipeline gives it:
    /// softmax; sigmoid for multi-label and one-label heads; the raw score for regression.
    pub probabilities: Vec<f32>,
    /// The logits, in id order.
    pub logits: Vec<f32>,
}

impl Pipeline<BertForSequenceClassification> {
    /// Classifies `texts`, [`Self::batch_size`](Pipeline::batch_size) per forward pass, each cut
    /// at [`Self::max_length`](Pipeline::max_length) tokens.
    ///
    /// # Errors
    /// A text the tokenizer cannot encode; a NaN or infinite logit.
    pub fn predict<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<SequencePrediction>, Error> {
        self.classify(texts.iter().map(|t| (t.as_ref(), None)))
    }

    /// Classifies text pairs (`text_pair` in `transformers`); an input without a pair is read
    /// alone.
    ///
    /// # Errors
    /// As [`Self::predict`].
    pub fn predict_pairs<S: AsRef<str>>(
        &self,
        inputs: &[(S, Option<S>)],
    ) -> Result<Vec<SequencePrediction>, Error> {
        self.classify(
            inputs
                .iter()
                .map(|(t, p)| (t.as_ref(), p.as_ref().map(AsRef::as_ref))),
        )
    }
}

/// The classification steps, for any task that reads a sequence classifier's output.
impl<O> Pipeline<BertForSequenceClassification, O> {
    /// Encodes `inputs` (texts, or pairs), `batch_size` per forward pass in batches of similar
    /// length ([`Batches`]), and decodes the logits, in the inputs' order.
    pub(super) fn classify<'a>(
        &self,
        inputs: impl Iterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Result<Vec<SequencePrediction>, Error> {
        let tokenizer = &self.pretrained.tokenizer;
        let encodings = inputs
            .map(|(text, pair)| tokenizer.encode(text, pair, self.max_length))
            .collect::<Result<Vec<_>, _>>()?;
        let mut batches = Vec::new();
        let by_length = Batches::new("predict", &encodings, self.batch_size, |e| e.input_ids.len());
        for Batch { indices, items } in by_length {
            let batch = PaddedBatch::new(&items, tokenizer.pad_id())?;
            let logits = self.pretrained.model.forward(batch.to_input(&self.device));
            batches.push((indices, self.decode(logits)?));
        }
        Ok(in_order(encodings.len(), batches))
    }

    /// Labels and probabilities from a batch's logits `[batch, num_labels]`.
    fn decode(&self, logits: Tensor<2>) -> Result<Vec<SequencePrediction>, Error> {
        let config = &self.pretrained.config;
        let labels = config.labels();
        // The text-classification pipeline's `function_to_apply`: none for regression, a
        // sigmoid for multi-label and for any one-label head, else a softmax.
        let problem = match config.problem_type {
            Some(ProblemType::Regression) => ProblemType::Regression,
            Some(ProblemType::MultiLabelClassification) => ProblemType::MultiLabelClassification,
            _ if labels.len() == 1 => ProblemType::MultiLabelClassification,
            _ => ProblemType::SingleLabelClassification,
        };
        let probabilities = match problem {
            ProblemType::SingleLabelClassification => softmax(logits.clone(), 1),
            ProblemType::MultiLabelClassification => sigmoid(logits.clone()),
            ProblemType::Regression => logits.clone(),
        };
        Ok(rows(logits)?
            .into_iter()
            .zip(rows(probabilities)?)
            .map(|(logits, probabilities)| {
                let label = labels[argmax(&probabilities)].clone();
                SequencePrediction {
                    label,
                    probabilities,
                    logits,
                }
            })
            .collect())
    }
}
