//! Extractive QA scoring: `transformers`' post-processing of start / end logits into answer
//! texts (n-best spans per window, `max_answer_length`, the best over all windows of a
//! question, the null answer for SQuAD v2), and the official SQuAD v1.1 exact match and F1,
//! also as Burn metrics of the validation set ([`SquadMetric`]). Written here because Burn has
//! neither.

use std::collections::HashMap;

use crate::tasks::question_answering::data::{QaFeature, SquadExample};
use regex::Regex;
use serde::Serialize;

mod metric;

pub use metric::{SquadMetric, SquadScore, WindowLogits};

/// A predicted answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictedAnswer {
    /// The answer text (empty: no answer).
    pub text: String,
    /// Byte span in the context.
    pub start: usize,
    /// End of the byte span (exclusive).
    pub end: usize,
    /// Start logit + end logit of the span.
    pub score: f32,
}

/// How spans are chosen.
#[derive(Debug, Clone, Copy)]
pub struct Postprocess {
    /// Start and end candidates per window (`n_best_size`, 20).
    pub n_best: usize,
    /// Longest answer in tokens (`max_answer_length`, 30).
    pub max_answer_length: usize,
    /// SQuAD v2: answer "" when the null score beats the best span by more than this.
    pub null_threshold: Option<f32>,
}

impl Default for Postprocess {
    fn default() -> Self {
        Self {
            n_best: 20,
            max_answer_length: 30,
            null_threshold: None,
        }
    }
}

impl Postprocess {
    /// `run_qa.py`'s post-processing of `examples`: SQuAD v2 (`version_2_with_negative`) when
    /// one of them is unanswerable, the null answer then winning by more than
    /// `null_score_diff_threshold` (HF's default 0.0); v1.1 (always a span) otherwise.
    pub fn for_examples(examples: &[SquadExample], null_score_diff_threshold: f32) -> Self {
        Self {
            null_threshold: examples
                .iter()
                .any(|e| e.is_impossible)
                .then_some(null_score_diff_threshold),
            ..Self::default()
        }
    }
}

fn top(logits: &[f32], n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    order.truncate(n);
    order
}

/// The answer to each example from its windows' logits (`logits[f]` = start and end logits
/// of `features[f]`), as `postprocess_qa_predictions` picks it: for every window, the `n_best`
/// highest start and end logits; spans inside the context, end ≥ start, at most
/// `max_answer_length` tokens; the highest start + end logit over all windows.
pub fn postprocess(
    examples: &[SquadExample],
    features: &[QaFeature],
    logits: &[(Vec<f32>, Vec<f32>)],
    options: Postprocess,
) -> Vec<PredictedAnswer> {
    let mut best: Vec<Option<PredictedAnswer>> = vec![None; examples.len()];
    let mut null: Vec<f32> = vec![f32::INFINITY; examples.len()];
    for (feature, (start_logits, end_logits)) in features.iter().zip(logits) {
        let e = feature.example;
        let encoding = &feature.encoding;
        let in_context = |i: usize| i < encoding.len() && encoding.sequence_ids[i] == Some(1);
        null[e] = null[e].min(start_logits[0] + end_logits[0]);
        let n = encoding.len().min(start_logits.len());
        for &s in &top(&start_logits[..n], options.n_best) {
            for &t in &top(&end_logits[..n], options.n_best) {
                if !in_context(s)
                    || !in_context(t)
                    || t < s
                    || t - s + 1 > options.max_answer_length
                {
                    continue;
                }
                let score = start_logits[s] + end_logits[t];
                if best[e].as_ref().is_none_or(|b| score > b.score) {
                    let (start, end) = (encoding.offsets[s].0, encoding.offsets[t].1);
                    let text = examples[e].context[start..end].to_string();
                    best[e] = Some(PredictedAnswer {
                        text,
                        start,
                        end,
                        score,
                    });
                }
            }
        }
    }
    best.into_iter()
        .zip(null)
        .map(|(answer, null)| {
            let empty = PredictedAnswer {
                text: String::new(),
                start: 0,
                end: 0,
                score: null,
            };
            match (answer, options.null_threshold) {
                (Some(a), Some(threshold)) if null - a.score > threshold => empty,
                (Some(a), _) => a,
                (None, _) => empty,
            }
        })
        .collect()
}

/// The official SQuAD scores, in percent: v1.1's, and for data with unanswerable questions
/// v2.0's, with its split into answerable (`HasAns`) and unanswerable (`NoAns`) questions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SquadScores {
    /// Exact match after normalisation, best over the gold answers.
    pub exact_match: f64,
    /// Token F1 after normalisation, best over the gold answers.
    pub f1: f64,
    /// Questions scored.
    pub questions: usize,
    /// SQuAD v2: scores over the answerable questions (`HasAns_exact`, `HasAns_f1`, count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_answer: Option<SplitScores>,
    /// SQuAD v2: scores over the unanswerable questions (`NoAns_exact`, `NoAns_f1`, count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_answer: Option<SplitScores>,
}

/// Exact match and F1 of a part of the questions, in percent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SplitScores {
    /// Exact match.
    pub exact_match: f64,
    /// F1.
    pub f1: f64,
    /// Questions in the part.
    pub questions: usize,
}

/// `normalize_answer` of the official script: lower case, no ASCII punctuation, no articles
/// (`a`, `an`, `the` as words), white space folded.
pub fn normalize_answer(s: &str) -> String {
    static ARTICLES: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let articles = ARTICLES.get_or_init(|| Regex::new(r"\b(a|an|the)\b").expect("valid regex"));
    let lower = s.to_lowercase();
    let no_punct: String = lower
        .chars()
        .filter(|c| !c.is_ascii_punctuation())
        .collect();
    let no_articles = articles.replace_all(&no_punct, " ");
    no_articles.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Token F1 of a prediction against one gold answer (official `f1_score`).
pub fn f1_score(prediction: &str, gold: &str) -> f64 {
    let p = normalize_answer(prediction);
    let g = normalize_answer(gold);
    let (p, g): (Vec<&str>, Vec<&str>) = (
        p.split_whitespace().collect(),
        g.split_whitespace().collect(),
    );
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for t in &g {
        *counts.entry(t).or_default() += 1;
    }
    let mut same = 0;
    for t in &p {
        if let Some(c) = counts.get_mut(t).filter(|c| **c > 0) {
            *c -= 1;
            same += 1;
        }
    }
    if same == 0 {
        return 0.0;
    }
    let precision = same as f64 / p.len() as f64;
    let recall = same as f64 / g.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// Exact match after normalisation (official `exact_match_score`).
pub fn exact_match(prediction: &str, gold: &str) -> bool {
    normalize_answer(prediction) == normalize_answer(gold)
}

/// EM and F1 of predictions (one per example, in order) against the examples' gold answers,
/// each the best over the gold answers. Data with an unanswerable question is scored as
/// `evaluate-v2.0.py` does: gold answers that normalise to nothing are dropped, an
/// unanswerable question's gold is "", and F1 against an empty answer is 1 when both are
/// empty, else 0; `HasAns` / `NoAns` are reported. Otherwise as `evaluate-v1.1.py`.
pub fn squad_scores(examples: &[SquadExample], predictions: &[PredictedAnswer]) -> SquadScores {
    let v2 = examples.iter().any(|e| e.is_impossible);
    let mut per_question = Vec::with_capacity(examples.len());
    for (example, prediction) in examples.iter().zip(predictions) {
        // evaluate-v2.0.py: `has_ans = bool(qa['answers'])`, then golds that normalise to
        // nothing are dropped ("" when none is left).
        let has_answer = !example.answers.is_empty();
        let mut golds: Vec<&str> = example.answers.iter().map(|a| a.text.as_str()).collect();
        if v2 {
            golds.retain(|g| !normalize_answer(g).is_empty());
        }
        if golds.is_empty() {
            golds.push("");
        }
        let best = |score: &dyn Fn(&str, &str) -> f64| {
            golds
                .iter()
                .map(|g| score(&prediction.text, g))
                .fold(0.0, f64::max)
        };
        let em = best(&|p, g| exact_match(p, g) as u8 as f64);
        let f1 = best(&|p, g| {
            let empty = |s: &str| normalize_answer(s).is_empty();
            if (v2 || g.is_empty()) && (empty(p) || empty(g)) {
                (empty(p) == empty(g)) as u8 as f64
            } else {
                f1_score(p, g)
            }
        });
        per_question.push((has_answer, em, f1));
    }
    // A part with no question is left out, as the script leaves it out.
    let split = |keep: &dyn Fn(bool) -> bool| {
        let part: Vec<_> = per_question.iter().filter(|q| keep(q.0)).collect();
        let n = part.len().max(1) as f64;
        (!part.is_empty()).then(|| SplitScores {
            exact_match: 100.0 * part.iter().map(|q| q.1).sum::<f64>() / n,
            f1: 100.0 * part.iter().map(|q| q.2).sum::<f64>() / n,
            questions: part.len(),
        })
    };
    let n = examples.len().max(1) as f64;
    SquadScores {
        exact_match: 100.0 * per_question.iter().map(|q| q.1).sum::<f64>() / n,
        f1: 100.0 * per_question.iter().map(|q| q.2).sum::<f64>() / n,
        questions: examples.len(),
        has_answer: if v2 { split(&|has| has) } else { None },
        no_answer: if v2 { split(&|has| !has) } else { None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_and_scores_as_the_official_script() {
        // evaluate-v1.1.py: normalize_answer("The  Eiffel-Tower!") == "eiffeltower".
        assert_eq!(normalize_answer("The  Eiffel-Tower!"), "eiffeltower");
        assert_eq!(normalize_answer("an apple a day, the end"), "apple day end");
        // "a" inside a word stays; "A" as a word goes.
        assert_eq!(normalize_answer("A banana"), "banana");
        assert!(exact_match("the Denver Broncos", "Denver Broncos"));
        // pred [denver broncos won], gold [denver broncos]: P 2/3, R 1, F1 0.8.
        assert!((f1_score("Denver Broncos won", "Denver Broncos") - 0.8).abs() < 1e-12);
        assert_eq!(f1_score("Carolina", "Denver Broncos"), 0.0);
        // Repeated tokens count once per occurrence (Counter intersection).
        assert!((f1_score("x b b", "b c") - 0.4).abs() < 1e-12);
        assert_eq!(f1_score("", ""), 0.0);
    }
}
