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
            HiddenAct::Gelu => gelu(x),
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

/// The exact GELU: burnbert's kernel where it has one (f32 on flex), else Burn's `gelu` where
/// its gradient is exact, else `x·Φ(x)` spelled out, whose gradient is exact wherever erf's is.
fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex")]
    let x = match crate::kernels::gelu(x) {
        Ok(y) => return y,
        Err(x) => x,
    };
    if exact_gelu_gradient(&x.device()) {
        activation::gelu(x)
    } else {
        x.clone()
            * (x / std::f64::consts::SQRT_2)
                .erf()
                .add_scalar(1.0)
                .mul_scalar(0.5)
    }
}

/// Whether the gradient of Burn's `gelu` on this device is that of the exact GELU it computes.
/// Burn 0.22.1's default `gelu_backward` (`burn-backend` `ops/activation.rs`) is the derivative of
/// the tanh approximation: backends that do not override it (NdArray among them) get gradients
/// off by up to 1.7e-4 per element (at x = -4), which reached 3.4e-4 in a layer-0 query weight.
/// Only autodiff devices are affected.
fn exact_gelu_gradient(device: &Device) -> bool {
    if !device.is_autodiff() {
        return true;
    }
    crate::probe::once_per_device("gelu gradient", device, |device| {
        let x = Tensor::<1>::from_data([-4.0f32], device).require_grad();
        let grads = activation::gelu(x.clone()).sum().backward();
        let grad = x.grad(&grads).map_or(f32::NAN, |g| g.into_scalar::<f32>());
        // Φ(-4) - 4·φ(-4) = -5.0363e-4 (PyTorch's gradient); the tanh form gives -3.35e-4.
        (grad - -5.036_3e-4).abs() < 1e-6
    })
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
