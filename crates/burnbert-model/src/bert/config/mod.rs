//! `BertConfig`: the serde form of a Hugging Face `config.json`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{HiddenAct, ModelError};

/// How a sequence-classification head computes its loss (`problem_type` in `config.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemType {
    /// One float per example, mean squared error.
    Regression,
    /// One class per example, cross-entropy.
    SingleLabelClassification,
    /// Any number of classes per example, binary cross-entropy with logits.
    MultiLabelClassification,
}

/// The configuration of a BERT model, read from and written to HF's `config.json`.
///
/// Field names and defaults are those of `transformers.BertConfig`. Fields this crate does not
/// use are kept in [`extra`](Self::extra) and written back on export, never an error.
///
/// This is a plain serde struct rather than `#[derive(Config)]`: Burn's derive generates its
/// own serde form, which cannot keep unknown fields or read `id2label`'s string keys. It does
/// implement Burn's [`Config`](burn::config::Config) trait, so `save`/`load` work as usual.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    /// Size of the WordPiece vocabulary.
    #[serde(default = "defaults::vocab_size")]
    pub vocab_size: usize,
    /// Width of every hidden state, `H` in the paper.
    #[serde(default = "defaults::hidden_size")]
    pub hidden_size: usize,
    /// Number of Transformer layers, `L` in the paper.
    #[serde(default = "defaults::num_hidden_layers")]
    pub num_hidden_layers: usize,
    /// Number of self-attention heads, `A` in the paper.
    #[serde(default = "defaults::num_attention_heads")]
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer (4H in the paper).
    #[serde(default = "defaults::intermediate_size")]
    pub intermediate_size: usize,
    /// Feed-forward activation.
    #[serde(default)]
    pub hidden_act: HiddenAct,
    /// Dropout on embeddings and on every sub-layer output.
    #[serde(default = "defaults::dropout")]
    pub hidden_dropout_prob: f64,
    /// Dropout on the attention probabilities.
    #[serde(default = "defaults::dropout")]
    pub attention_probs_dropout_prob: f64,
    /// Dropout before a classification head; `hidden_dropout_prob` when absent.
    #[serde(default)]
    pub classifier_dropout: Option<f64>,
    /// Number of learned position embeddings, the longest sequence the model reads.
    #[serde(default = "defaults::max_position_embeddings")]
    pub max_position_embeddings: usize,
    /// Number of segment (token type) embeddings.
    #[serde(default = "defaults::type_vocab_size")]
    pub type_vocab_size: usize,
    /// Standard deviation of the truncated-normal weight initialisation.
    #[serde(default = "defaults::initializer_range")]
    pub initializer_range: f64,
    /// Epsilon of every LayerNorm.
    #[serde(default = "defaults::layer_norm_eps")]
    pub layer_norm_eps: f64,
    /// Id of the padding token.
    #[serde(default)]
    pub pad_token_id: Option<usize>,
    /// `absolute` is the only position embedding BERT checkpoints use and the only one supported.
    #[serde(default = "defaults::position_embedding_type")]
    pub position_embedding_type: String,
    /// Class names by id (`{"0": "NEGATIVE", ...}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id2label: Option<BTreeMap<String, String>>,
    /// Class ids by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label2id: Option<BTreeMap<String, i64>>,
    /// Number of labels, when given without `id2label`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_labels: Option<usize>,
    /// The loss of the sequence-classification head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem_type: Option<ProblemType>,
    /// `"bert"` for BERT checkpoints.
    #[serde(default = "defaults::model_type")]
    pub model_type: String,
    /// The HF classes this checkpoint was saved from (`BertForSequenceClassification`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architectures: Option<Vec<String>>,
    /// Every other field of `config.json`, kept as it was.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The most parameters a config may ask for: 10¹¹ (400 GB in f32), far above any BERT.
pub const MAX_PARAMETERS: u128 = 100_000_000_000;

mod validate;

mod defaults {
    pub fn vocab_size() -> usize {
        30522
    }
    pub fn hidden_size() -> usize {
        768
    }
    pub fn num_hidden_layers() -> usize {
        12
    }
    pub fn num_attention_heads() -> usize {
        12
    }
    pub fn intermediate_size() -> usize {
        3072
    }
    pub fn dropout() -> f64 {
        0.1
    }
    pub fn max_position_embeddings() -> usize {
        512
    }
    pub fn type_vocab_size() -> usize {
        2
    }
    pub fn initializer_range() -> f64 {
        0.02
    }
    pub fn layer_norm_eps() -> f64 {
        1e-12
    }
    pub fn position_embedding_type() -> String {
        "absolute".into()
    }
    pub fn model_type() -> String {
        "bert".into()
    }
}

impl Default for BertConfig {
    /// bert-base-uncased.
    fn default() -> Self {
        serde_json::from_str("{}").expect("all fields have defaults")
    }
}

impl burn::config::Config for BertConfig {}

impl BertConfig {
    /// A config of the given size with HF's defaults for everything else.
    pub fn new(
        vocab_size: usize,
        hidden_size: usize,
        num_hidden_layers: usize,
        num_attention_heads: usize,
        intermediate_size: usize,
    ) -> Self {
        Self {
            vocab_size,
            hidden_size,
            num_hidden_layers,
            num_attention_heads,
            intermediate_size,
            ..Self::default()
        }
    }

    /// Parses `config.json` text and validates it.
    pub fn from_json_str(json: &str) -> Result<Self, ModelError> {
        Self::parse(json, Path::new(""))
    }

    /// Reads and validates a `config.json` file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ModelError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        Self::parse(&text, path)
    }

    fn parse(json: &str, path: &Path) -> Result<Self, ModelError> {
        let config: Self = serde_json::from_str(json).map_err(|e| ModelError::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        config.validate().map_err(|e| match e {
            // A file's error names the file.
            ModelError::InvalidConfig { field, message } if !path.as_os_str().is_empty() => {
                ModelError::Config {
                    path: path.to_path_buf(),
                    message: format!("{field}: {message}"),
                }
            }
            other => other,
        })?;
        Ok(config)
    }

    /// The config as HF writes it: pretty JSON with `id2label`/`label2id` filled in.
    pub fn to_json_string(&self) -> String {
        let mut config = self.clone();
        let labels = self.labels();
        config.id2label = Some(
            labels
                .iter()
                .enumerate()
                .map(|(i, l)| (i.to_string(), l.clone()))
                .collect(),
        );
        config.label2id = Some(
            labels
                .iter()
                .enumerate()
                .map(|(i, l)| (l.clone(), i as i64))
                .collect(),
        );
        config.num_labels = None;
        serde_json::to_string_pretty(&config).expect("a config always serializes")
    }

    /// Width of one attention head, `H / A`.
    pub fn head_size(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Number of labels of a task head: `id2label`'s size, else `num_labels`, else 2 (HF's default).
    pub fn num_labels(&self) -> usize {
        match (&self.id2label, self.num_labels) {
            (Some(map), _) if !map.is_empty() => map.len(),
            (_, Some(n)) => n,
            _ => 2,
        }
    }

    /// Label names in id order; `LABEL_i` where the config names none, as HF does.
    pub fn labels(&self) -> Vec<String> {
        (0..self.num_labels())
            .map(|i| {
                self.id2label
                    .as_ref()
                    .and_then(|m| m.get(&i.to_string()).cloned())
                    .unwrap_or_else(|| format!("LABEL_{i}"))
            })
            .collect()
    }

    /// Sets the label names (`id2label`, `label2id`, and so `num_labels`).
    pub fn with_labels<S: AsRef<str>>(mut self, labels: &[S]) -> Self {
        self.id2label = Some(
            labels
                .iter()
                .enumerate()
                .map(|(i, l)| (i.to_string(), l.as_ref().to_string()))
                .collect(),
        );
        self.label2id = Some(
            labels
                .iter()
                .enumerate()
                .map(|(i, l)| (l.as_ref().to_string(), i as i64))
                .collect(),
        );
        self.num_labels = None;
        self
    }

    /// Sets the number of labels, named `LABEL_i`.
    pub fn with_num_labels(self, n: usize) -> Self {
        let labels: Vec<String> = (0..n).map(|i| format!("LABEL_{i}")).collect();
        self.with_labels(&labels)
    }

    /// The dropout before a classification head: `classifier_dropout`, else `hidden_dropout_prob`.
    pub fn classifier_dropout_prob(&self) -> f64 {
        self.classifier_dropout.unwrap_or(self.hidden_dropout_prob)
    }

    /// Id of a label name.
    pub fn label_id(&self, label: &str) -> Option<usize> {
        self.labels().iter().position(|l| l == label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_minilm_config_and_keeps_unknown_fields() {
        let json = r#"{
          "_name_or_path": "nreimers/MiniLM-L6-H384-uncased",
          "architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1,
          "gradient_checkpointing": false, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
          "hidden_size": 384, "initializer_range": 0.02, "intermediate_size": 1536,
          "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
          "num_attention_heads": 12, "num_hidden_layers": 6, "pad_token_id": 0,
          "position_embedding_type": "absolute", "transformers_version": "4.8.2",
          "type_vocab_size": 2, "use_cache": true, "vocab_size": 30522
        }"#;
        let config = BertConfig::from_json_str(json).unwrap();
        assert_eq!(config.hidden_size, 384);
        assert_eq!(config.num_hidden_layers, 6);
        assert_eq!(config.head_size(), 32);
        assert_eq!(config.hidden_act, HiddenAct::Gelu);
        assert_eq!(config.num_labels(), 2);
        assert_eq!(config.labels(), ["LABEL_0", "LABEL_1"]);
        assert_eq!(config.extra["transformers_version"], "4.8.2");
        let written: serde_json::Value = serde_json::from_str(&config.to_json_string()).unwrap();
        assert_eq!(written["use_cache"], true);
        assert_eq!(written["id2label"]["1"], "LABEL_1");
        assert_eq!(written["label2id"]["LABEL_0"], 0);
    }

    #[test]
    fn labels_and_problem_type() {
        let json = r#"{"id2label": {"0": "NEG", "1": "POS", "2": "MIX"},
                       "problem_type": "multi_label_classification", "hidden_act": "gelu_pytorch_tanh"}"#;
        let config = BertConfig::from_json_str(json).unwrap();
        assert_eq!(config.labels(), ["NEG", "POS", "MIX"]);
        assert_eq!(config.label_id("MIX"), Some(2));
        assert_eq!(
            config.problem_type,
            Some(ProblemType::MultiLabelClassification)
        );
        assert_eq!(config.hidden_act, HiddenAct::GeluNew);
        let n = BertConfig::from_json_str(r#"{"num_labels": 5}"#).unwrap();
        assert_eq!(n.num_labels(), 5);
    }

    #[test]
    fn heads_must_divide_hidden_size() {
        let err = BertConfig::from_json_str(r#"{"hidden_size": 100, "num_attention_heads": 12}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("hidden_size 100 is not a multiple of num_attention_heads 12"),
            "{err}"
        );
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let err = BertConfig::from_json_str("{\n \"hidden_size\": 384,\n oops }")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
        let err = BertConfig::from_json_str(r#"{"hidden_act": "mish"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant `mish`"), "{err}");
        let err = BertConfig::from_json_str(r#"{"hidden_size": "big"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid type"), "{err}");
    }
}
