//! Dynamic padding: a batch is padded to its own longest sequence, not to `max_length`.

use burn::prelude::*;
use burnbert_model::BertInput;

use crate::{DataError, Encoding};

/// A tokenized training item: what padding and length grouping need of it.
pub trait Encoded {
    /// WordPiece ids, with the special tokens.
    fn input_ids(&self) -> &[u32];
    /// Segment ids, one per token.
    fn token_type_ids(&self) -> &[u32];

    /// Tells the item the training epoch (1-based) it is drawn in, before it is batched:
    /// items whose batcher draws at random (masked-LM masking) seed their draws with it, so
    /// that each epoch draws anew and a resumed epoch draws as the uninterrupted one did.
    /// Nothing by default; validation items are never told.
    fn set_epoch(&mut self, _epoch: usize) {}
}

impl Encoded for Encoding {
    fn input_ids(&self) -> &[u32] {
        &self.input_ids
    }
    fn token_type_ids(&self) -> &[u32] {
        &self.token_type_ids
    }
}

/// Implements [`Encoded`] for item structs with `input_ids` and `token_type_ids` fields.
#[macro_export]
macro_rules! impl_encoded {
    ($($item:ty),*) => {$(
        impl $crate::Encoded for $item {
            fn input_ids(&self) -> &[u32] {
                &self.input_ids
            }
            fn token_type_ids(&self) -> &[u32] {
                &self.token_type_ids
            }
        }
    )*};
}

/// Encodings padded to a common length, row-major `[batch, seq]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaddedBatch {
    /// Number of sequences.
    pub batch_size: usize,
    /// Length of the longest sequence.
    pub seq_len: usize,
    /// Token ids, `[PAD]` after each sequence.
    pub input_ids: Vec<i64>,
    /// 1 for tokens, 0 for padding.
    pub attention_mask: Vec<i64>,
    /// Segment ids, 0 on padding.
    pub token_type_ids: Vec<i64>,
}

impl PaddedBatch {
    /// Pads `encodings` to the longest one with `pad_id`.
    pub fn new(encodings: &[Encoding], pad_id: u32) -> Result<Self, DataError> {
        let rows: Vec<(&[u32], &[u32])> = encodings
            .iter()
            .map(|e| (e.input_ids.as_slice(), e.token_type_ids.as_slice()))
            .collect();
        Self::from_ids(&rows, pad_id)
    }

    /// Pads the ids of each item to the longest with `pad_id`: the batchers' dynamic padding.
    /// `items` must not be empty (Burn's loaders never batch none).
    pub fn of_items<T: Encoded>(items: &[T], pad_id: u32) -> Self {
        let rows: Vec<(&[u32], &[u32])> = items
            .iter()
            .map(|item| (item.input_ids(), item.token_type_ids()))
            .collect();
        Self::from_ids(&rows, pad_id).expect("the data loader never makes an empty batch")
    }

    /// Pads `(input_ids, token_type_ids)` rows to the longest one with `pad_id`.
    pub fn from_ids(rows: &[(&[u32], &[u32])], pad_id: u32) -> Result<Self, DataError> {
        let seq_len = rows
            .iter()
            .map(|(ids, _)| ids.len())
            .max()
            .ok_or(DataError::EmptyBatch)?;
        let batch_size = rows.len();
        let mut batch = Self {
            batch_size,
            seq_len,
            input_ids: vec![pad_id as i64; batch_size * seq_len],
            attention_mask: vec![0; batch_size * seq_len],
            token_type_ids: vec![0; batch_size * seq_len],
        };
        for (row, (ids, types)) in rows.iter().enumerate() {
            let start = row * seq_len;
            for (i, (&id, &ty)) in ids.iter().zip(types.iter()).enumerate() {
                batch.input_ids[start + i] = id as i64;
                batch.token_type_ids[start + i] = ty as i64;
                batch.attention_mask[start + i] = 1;
            }
        }
        Ok(batch)
    }

    /// The attention mask on `device` (1 on tokens, 0 on padding), for pooling.
    pub fn mask(&self, device: &Device) -> Tensor<2, Int> {
        Tensor::from_data(
            TensorData::new(self.attention_mask.clone(), [self.batch_size, self.seq_len]),
            device,
        )
    }

    /// The batch as model input on `device`. A batch with no padding gets no attention mask,
    /// so the model skips masking (the outputs are the same).
    pub fn to_input(&self, device: &Device) -> BertInput {
        let shape = [self.batch_size, self.seq_len];
        let tensor =
            |v: &Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v.clone(), shape), device);
        let input = BertInput::new(tensor(&self.input_ids))
            .with_token_type_ids(tensor(&self.token_type_ids));
        if self.attention_mask.contains(&0) {
            input.with_attention_mask(tensor(&self.attention_mask))
        } else {
            input
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoding(ids: &[u32], types: &[u32]) -> Encoding {
        Encoding {
            input_ids: ids.to_vec(),
            token_type_ids: types.to_vec(),
            tokens: vec![],
            offsets: vec![],
            word_ids: vec![],
            sequence_ids: vec![],
            truncated: false,
        }
    }

    #[test]
    fn pads_to_the_longest_in_the_batch() {
        let batch = PaddedBatch::new(
            &[
                encoding(&[2, 7, 3], &[0, 0, 0]),
                encoding(&[2, 3, 9, 3], &[0, 0, 1, 1]),
            ],
            0,
        )
        .unwrap();
        assert_eq!(batch.seq_len, 4);
        assert_eq!(batch.input_ids, [2, 7, 3, 0, 2, 3, 9, 3]);
        assert_eq!(batch.attention_mask, [1, 1, 1, 0, 1, 1, 1, 1]);
        assert_eq!(batch.token_type_ids, [0, 0, 0, 0, 0, 0, 1, 1]);
        assert!(matches!(
            PaddedBatch::new(&[], 0),
            Err(DataError::EmptyBatch)
        ));
    }

    #[test]
    fn only_a_padded_batch_carries_a_mask() {
        let device = Device::flex();
        let full = PaddedBatch::new(&[encoding(&[2, 7, 3], &[0, 0, 0])], 0).unwrap();
        assert!(full.to_input(&device).attention_mask.is_none());
        let padded = PaddedBatch::new(
            &[encoding(&[2, 7, 3], &[0, 0, 0]), encoding(&[2, 3], &[0, 0])],
            0,
        )
        .unwrap();
        let mask = padded.to_input(&device).attention_mask.unwrap();
        assert_eq!(
            mask.into_data()
                .convert::<i64>()
                .try_to_vec::<i64>()
                .unwrap(),
            [1, 1, 1, 1, 1, 0]
        );
        assert_eq!(
            padded
                .mask(&device)
                .into_data()
                .convert::<i64>()
                .try_to_vec::<i64>()
                .unwrap(),
            [1, 1, 1, 1, 1, 0]
        );
    }
}
