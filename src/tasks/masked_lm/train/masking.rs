//! The masking of `DataCollatorForLanguageModeling` (`transformers/data/data_collator.py`):
//! each token that is not special is chosen with probability `mlm_probability` (with
//! `whole_word_mask`, each word through its first token, and then all of its tokens); a chosen
//! token becomes `[MASK]` 80 % of the time, a random token of the vocabulary 10 %, and stays
//! as it was 10 % (with whole words, `[MASK]` always: transformers 5.x sets `mask_replace_prob`
//! to 1 there); its label is its id, every other label -100.

use burnbert_model::loss::IGNORE_INDEX;
use rand::Rng;

use crate::tasks::masked_lm::data::TextBlock;

/// The collator's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Masking {
    /// Fraction of tokens chosen (`mlm_probability`, 0.15).
    pub mlm_probability: f64,
    /// Fraction of the chosen tokens replaced by `[MASK]` (`mask_replace_prob`, 0.8).
    pub mask_replace_prob: f64,
    /// Fraction of the chosen tokens replaced by a random token (`random_replace_prob`, 0.1).
    pub random_replace_prob: f64,
    /// Choose whole words (`whole_word_mask`).
    pub whole_word_mask: bool,
}

impl Default for Masking {
    fn default() -> Self {
        Self {
            mlm_probability: 0.15,
            mask_replace_prob: 0.8,
            random_replace_prob: 0.1,
            whole_word_mask: false,
        }
    }
}

/// A block after masking.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskedBlock {
    /// The input ids, chosen tokens replaced.
    pub input_ids: Vec<u32>,
    /// The original id of each chosen token, -100 elsewhere.
    pub labels: Vec<i64>,
}

impl Masking {
    /// Masks `block`, drawing from `rng`; random tokens are drawn uniformly from
    /// `0..vocab_size` (HF draws from `len(tokenizer)`, special tokens included).
    pub fn mask(
        &self,
        block: &TextBlock,
        rng: &mut impl Rng,
        mask_id: u32,
        vocab_size: usize,
    ) -> MaskedBlock {
        let n = block.input_ids.len();
        let chosen: Vec<bool> = if self.whole_word_mask {
            // A word is chosen through its first token; its later tokens follow it.
            let mut word_chosen = false;
            (0..n)
                .map(|i| {
                    if block.special_tokens_mask[i] {
                        word_chosen = false;
                    } else if block.word_starts[i] {
                        word_chosen = rng.random::<f64>() < self.mlm_probability;
                    }
                    word_chosen && !block.special_tokens_mask[i]
                })
                .collect()
        } else {
            (0..n)
                .map(|i| {
                    !block.special_tokens_mask[i] && rng.random::<f64>() < self.mlm_probability
                })
                .collect()
        };
        let mut input_ids = block.input_ids.clone();
        let mut labels = vec![IGNORE_INDEX; n];
        for i in (0..n).filter(|&i| chosen[i]) {
            labels[i] = i64::from(block.input_ids[i]);
            let r = rng.random::<f64>();
            if r < self.mask_replace_prob {
                input_ids[i] = mask_id;
            } else if r < self.mask_replace_prob + self.random_replace_prob {
                input_ids[i] = rng.random_range(0..vocab_size.max(1)) as u32;
            }
        }
        MaskedBlock { input_ids, labels }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    /// A block of `words` words of `pieces` pieces each, framed by [CLS] / [SEP] every 20
    /// tokens; ids 10.. for the pieces, 1 / 2 for the specials.
    fn block(tokens: usize, pieces: usize) -> TextBlock {
        let special: Vec<bool> = (0..tokens).map(|i| i % 20 == 0 || i % 20 == 19).collect();
        let mut word_starts = Vec::with_capacity(tokens);
        let mut piece = 0;
        for &s in &special {
            if s {
                piece = 0;
                word_starts.push(false);
            } else {
                word_starts.push(piece % pieces == 0);
                piece += 1;
            }
        }
        TextBlock {
            input_ids: (0..tokens)
                .map(|i| if special[i] { 1 + (i % 20 == 19) as u32 } else { 10 + (i % 37) as u32 })
                .collect(),
            token_type_ids: vec![0; tokens],
            special_tokens_mask: special,
            word_starts,
        }
    }

    /// |observed − expected| within 4.5 standard deviations of a binomial(n, p): a wrong rate
    /// (0.15 for 0.12, 80 % for 70 %) lies far outside on 100k tokens; a right one fails once
    /// in ~150,000 seeds.
    fn within_binomial(observed: usize, n: usize, p: f64, what: &str) {
        let mean = n as f64 * p;
        let sd = (n as f64 * p * (1.0 - p)).sqrt();
        assert!(
            (observed as f64 - mean).abs() <= 4.5 * sd,
            "{what}: {observed} of {n}, expected {mean:.0} ± {:.0}",
            4.5 * sd
        );
    }

    #[test]
    fn rates_are_the_collator_s_and_specials_are_never_masked() {
        let block = block(100_000, 1);
        let mut rng = StdRng::seed_from_u64(0);
        let (mask_id, vocab) = (4, 60);
        let masked = Masking::default().mask(&block, &mut rng, mask_id, vocab);
        let maskable = block.special_tokens_mask.iter().filter(|s| !**s).count();
        let chosen: Vec<usize> = (0..block.input_ids.len())
            .filter(|&i| masked.labels[i] != IGNORE_INDEX)
            .collect();
        within_binomial(chosen.len(), maskable, 0.15, "chosen");
        for i in 0..block.input_ids.len() {
            if block.special_tokens_mask[i] {
                assert_eq!(masked.labels[i], IGNORE_INDEX, "special token {i} chosen");
                assert_eq!(masked.input_ids[i], block.input_ids[i]);
            } else if masked.labels[i] == IGNORE_INDEX {
                assert_eq!(masked.input_ids[i], block.input_ids[i], "unchosen {i} changed");
            } else {
                assert_eq!(masked.labels[i], i64::from(block.input_ids[i]));
            }
        }
        let as_mask = chosen.iter().filter(|&&i| masked.input_ids[i] == mask_id).count();
        let kept = chosen
            .iter()
            .filter(|&&i| masked.input_ids[i] == block.input_ids[i])
            .count();
        let random = chosen.len() - as_mask - kept;
        within_binomial(as_mask, chosen.len(), 0.8, "[MASK]");
        // A random draw may give the token itself or [MASK] back (1/60 each): 10 % · 58/60.
        within_binomial(random, chosen.len(), 0.1 * 58.0 / 60.0, "random");
        let randoms: Vec<u32> = chosen
            .iter()
            .filter(|&&i| masked.input_ids[i] != mask_id && masked.input_ids[i] != block.input_ids[i])
            .map(|&i| masked.input_ids[i])
            .collect();
        assert!(randoms.iter().all(|&id| (id as usize) < vocab));
        assert!(randoms.contains(&0) && randoms.contains(&59), "the whole vocabulary is drawn");
    }

    #[test]
    fn whole_words_are_masked_together_at_the_word_rate() {
        let block = block(100_000, 3);
        let mut rng = StdRng::seed_from_u64(1);
        let masking = Masking {
            whole_word_mask: true,
            ..Masking::default()
        };
        let masked = masking.mask(&block, &mut rng, 4, 60);
        let n = block.input_ids.len();
        let mut words = 0;
        let mut chosen_words = 0;
        let mut i = 0;
        while i < n {
            if block.special_tokens_mask[i] {
                assert_eq!(masked.labels[i], IGNORE_INDEX);
                i += 1;
                continue;
            }
            assert!(block.word_starts[i]);
            let mut end = i + 1;
            while end < n && !block.special_tokens_mask[end] && !block.word_starts[end] {
                end += 1;
            }
            let labelled: Vec<bool> = (i..end).map(|j| masked.labels[j] != IGNORE_INDEX).collect();
            assert!(
                labelled.iter().all(|&l| l == labelled[0]),
                "word {i}..{end} partly chosen"
            );
            words += 1;
            chosen_words += labelled[0] as usize;
            i = end;
        }
        within_binomial(chosen_words, words, 0.15, "chosen words");
    }

    #[test]
    fn the_same_seed_draws_the_same_masks() {
        let block = block(200, 1);
        let draw = |seed| Masking::default().mask(&block, &mut StdRng::seed_from_u64(seed), 4, 60);
        assert_eq!(draw(3), draw(3));
        assert_ne!(draw(3), draw(4));
    }
}
