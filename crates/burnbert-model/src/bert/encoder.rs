//! The stack of `L` Transformer layers.

use burn::prelude::*;

use super::attention::first_positions;
use crate::{BertConfig, BertLayer};

/// `encoder.layer.{0..L}` in HF's keys.
#[derive(Module, Debug)]
pub struct BertEncoder {
    /// The layers, bottom first.
    pub layer: Vec<BertLayer>,
}

impl BertConfig {
    /// Initializes `num_hidden_layers` layers.
    pub fn init_encoder(&self, device: &Device) -> BertEncoder {
        BertEncoder {
            layer: (0..self.num_hidden_layers)
                .map(|_| self.init_layer(device))
                .collect(),
        }
    }
}

impl BertEncoder {
    /// Runs every layer in turn.
    ///
    /// # Shapes
    /// - hidden_states: `[batch, seq, hidden]`
    /// - mask: `[batch, heads, seq, seq]`, `true` for keys to ignore; `None`: no padding
    /// - output: `[batch, seq, hidden]`
    pub fn forward(&self, hidden_states: Tensor<3>, mask: Option<Tensor<4, Bool>>) -> Tensor<3> {
        self.layer
            .iter()
            .fold(hidden_states, |x, layer| layer.forward(x, mask.clone()))
    }

    /// [`forward`](Self::forward)'s output at the first position only (`[CLS]`, all a pooler
    /// reads): every layer but the top one runs on every position, as the top one's keys and
    /// values need them; the top one computes its first row alone. That leaves out all of the
    /// top layer's Linear work but the key and value projections, 5/6 of it when
    /// `intermediate_size = 4·hidden_size` (BERT's and MiniLM's): 7 % of a 12-layer encoder's
    /// Linear work, 14 % of a 6-layer one's.
    ///
    /// # Shapes
    /// - hidden_states: `[batch, seq, hidden]`
    /// - mask: `[batch, heads, seq, seq]`, `true` for keys to ignore; `None`: no padding
    /// - output: `[batch, 1, hidden]`
    pub fn forward_first_token(
        &self,
        hidden_states: Tensor<3>,
        mask: Option<Tensor<4, Bool>>,
    ) -> Tensor<3> {
        let Some((top, below)) = self.layer.split_last() else {
            return first_positions(&hidden_states, 1);
        };
        let x = below
            .iter()
            .fold(hidden_states, |x, layer| layer.forward(x, mask.clone()));
        let mask = mask.map(|mask| {
            let [batch, heads, _, seq] = mask.dims();
            mask.slice([0..batch, 0..heads, 0..1, 0..seq])
        });
        top.forward_first(x, 1, mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_one_layer_per_config_layer() {
        let config = BertConfig::new(10, 6, 3, 3, 10);
        assert_eq!(config.init_encoder(&Device::flex()).layer.len(), 3);
    }
}
