//! The stack of `L` Transformer layers.

use burn::prelude::*;

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
