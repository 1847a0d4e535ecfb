//! The pooler: the `[CLS]` hidden state through a dense layer and tanh (paper §3, "C").

use burn::nn::Linear;
use burn::prelude::*;

use crate::BertConfig;

/// `pooler.dense` in HF's keys.
#[derive(Module, Debug)]
pub struct BertPooler {
    /// `[hidden, hidden]`.
    pub dense: Linear,
}

impl BertConfig {
    /// Initializes the pooler.
    pub fn init_pooler(&self, device: &Device) -> BertPooler {
        BertPooler {
            dense: self.init_linear(self.hidden_size, self.hidden_size, device),
        }
    }
}

impl BertPooler {
    /// `tanh(Dense(h_[CLS]))`.
    ///
    /// # Shapes
    /// - hidden_states: `[batch, seq, hidden]`
    /// - output: `[batch, hidden]`
    pub fn forward(&self, hidden_states: Tensor<3>) -> Tensor<2> {
        let [batch, _, hidden] = hidden_states.dims();
        let cls = hidden_states
            .slice([0..batch, 0..1])
            .reshape([batch, hidden]);
        self.dense.forward(cls).tanh()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_the_first_token_only() {
        let device = Device::flex();
        let pooler = BertConfig::new(10, 4, 1, 2, 8).init_pooler(&device);
        let x = Tensor::<3>::random([2, 3, 4], burn::tensor::Distribution::Default, &device);
        let y = x
            .clone()
            .slice_assign([0..2, 1..3, 0..4], Tensor::zeros([2, 2, 4], &device));
        pooler
            .forward(x)
            .into_data()
            .assert_eq(&pooler.forward(y).into_data(), true);
    }
}
