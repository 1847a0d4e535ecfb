use burn::prelude::*;
use burn::tensor::activation;
use serde::{Deserialize, Serialize};

/// The feed-forward activation, `hidden_act` in `config.json`.
///
/// Spelled as HF spells them; each maps to the function `transformers.activations.ACT2FN` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum HiddenAct {
    /// `gelu`: the exact GELU, `x * Φ(x)` with `erf` (Burn's `gelu` is the same function).
    #[default]
    #[serde(rename = "gelu")]
    Gelu,
    /// `gelu_new` / `gelu_pytorch_tanh` / `gelu_fast`: the tanh approximation of GELU
    /// (Burn's `gelu_approximate`).
    #[serde(rename = "gelu_new", alias = "gelu_pytorch_tanh", alias = "gelu_fast")]
    GeluNew,
    /// `relu`.
    #[serde(rename = "relu")]
    Relu,
    /// `silu` / `swish`.
    #[serde(rename = "silu", alias = "swish")]
    Silu,
    /// `tanh`.
    #[serde(rename = "tanh")]
    Tanh,
}

impl HiddenAct {
    /// Applies the activation element-wise.
    pub fn forward<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            HiddenAct::Gelu => crate::ops::gelu(x),
            HiddenAct::GeluNew => activation::gelu_approximate(x),
            HiddenAct::Relu => activation::relu(x),
            HiddenAct::Silu => activation::silu(x),
            HiddenAct::Tanh => x.tanh(),
        }
    }

    /// The name HF writes in `config.json`.
    pub fn hf_name(self) -> &'static str {
        match self {
            HiddenAct::Gelu => "gelu",
            HiddenAct::GeluNew => "gelu_new",
            HiddenAct::Relu => "relu",
            HiddenAct::Silu => "silu",
            HiddenAct::Tanh => "tanh",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gelu_gradient_is_exact() {
        let device = Device::flex().autodiff();
        let x = Tensor::<1>::from_data([-4.0f32, -1.0, 0.5, 2.0], &device).require_grad();
        let grads = HiddenAct::Gelu.forward(x.clone()).sum().backward();
        // torch.autograd on F.gelu at the same points.
        let expected = TensorData::from([-5.0362945e-4f32, -0.0833155, 0.8674951, 1.0852318]);
        x.grad(&grads)
            .unwrap()
            .into_data()
            .assert_approx_eq::<f32>(&expected, burn::tensor::Tolerance::absolute(1e-6));
    }
}
