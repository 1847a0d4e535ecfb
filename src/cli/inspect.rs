//! `burnbert inspect` and `burnbert encode`: what a model folder holds, and how its tokenizer
//! encodes a text.

use crate::burn::tensor::Device;
use crate::pipeline::FeatureExtractionPipeline;
use crate::{BertConfig, BertModel};
use anyhow::Result;
use serde_json::json;

use crate::cli::jobs::counted;
use crate::cli::jobs::{load, print};
use crate::tasks::TaskName;

pub(crate) fn inspect(model: &str, json: bool, device: &Device) -> Result<()> {
    let folder = crate::source::resolve(model)?;
    let config = BertConfig::from_file(folder.join("config.json"))?;
    let task = TaskName::of(&config);
    let (params, report) = match task {
        Some(task) => task.load(model, device)?,
        None => counted::<BertModel>(model, device)?,
    };
    let head = match task {
        Some(task) => task.name(),
        None => "none (encoder only)".into(),
    };
    let value = json!({
        "folder": folder,
        "architecture": config.architectures.as_ref().and_then(|a| a.first()).cloned(),
        "head": head,
        "parameters": params,
        "vocab_size": config.vocab_size,
        "hidden_size": config.hidden_size,
        "num_hidden_layers": config.num_hidden_layers,
        "num_attention_heads": config.num_attention_heads,
        "intermediate_size": config.intermediate_size,
        "hidden_act": config.hidden_act.hf_name(),
        "max_position_embeddings": config.max_position_embeddings,
        "type_vocab_size": config.type_vocab_size,
        "labels": task.map(|_| config.labels()),
        "weights": report.path,
        "missing_tensors": report.missing,
        "unused_tensors": report.unused,
    });
    let plain = format!(
        "{}\n  architecture  {}\n  head          {head}\n  parameters    {params}\n  layers        {} x hidden {} x heads {} (ffn {}, {})\n  vocab         {}  positions {}  token types {}\n  labels        {}\n  weights       {}",
        folder.display(),
        value["architecture"].as_str().unwrap_or("-"),
        config.num_hidden_layers,
        config.hidden_size,
        config.num_attention_heads,
        config.intermediate_size,
        config.hidden_act.hf_name(),
        config.vocab_size,
        config.max_position_embeddings,
        config.type_vocab_size,
        if task.is_some() {
            config.labels().join(", ")
        } else {
            "-".into()
        },
        report.path.display(),
    );
    print(json, &value, &plain);
    Ok(())
}

pub(crate) fn encode(
    model: &str,
    text: &str,
    pair: Option<&str>,
    max_length: Option<usize>,
    json: bool,
    device: &Device,
) -> Result<()> {
    let bert = load::<BertModel>(model, device)?;
    let max = max_length.unwrap_or(bert.max_length());
    let features = FeatureExtractionPipeline::new(bert, device)
        .with_max_length(max)
        .features(text, pair)?;
    let value = json!({
        "input_ids": &features.input_ids,
        "token_type_ids": &features.token_type_ids,
        "tokens": &features.tokens,
        "truncated": &features.truncated,
        "pooler_output": &features.pooler_output,
        "mean_pooled": &features.mean_pooled,
        "mean_pooled_normalized": &features.mean_pooled_normalized,
    });
    let head: Vec<String> = value["mean_pooled_normalized"]
        .as_array()
        .unwrap()
        .iter()
        .take(5)
        .map(|v| format!("{:.5}", v.as_f64().unwrap()))
        .collect();
    let plain = format!(
        "tokens     {}\ninput_ids  {:?}\nembedding  [{}, ...] ({} dims, mean-pooled, L2-normalised)",
        features.tokens.join(" "),
        features.input_ids,
        head.join(", "),
        value["mean_pooled"].as_array().unwrap().len()
    );
    print(json, &value, &plain);
    Ok(())
}
