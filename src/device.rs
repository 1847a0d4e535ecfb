//! The one module that names backends: Cargo features, `--device` and `BURN_DEVICE` to a
//! Burn [`Device`]. Everything else in burnbert takes a `Device` and is backend-agnostic.
//!
//! Names: `flex`, `ndarray`, `wgpu` (`wgpu:cpu` for a software adapter such as lavapipe),
//! `vulkan`, `metal`, `cuda` / `cuda:N`, `tch` (LibTorch on CUDA when present, else CPU),
//! `tch:cpu`, `tch:cuda:N`.
// NdArray and LibTorch are deprecated in Burn 0.22 but still work: allowed here and only here.
#![allow(deprecated)]

use burn::tensor::Device;

/// A device name that is unknown, or whose backend was not compiled in.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The name is not a device burnbert knows.
    #[error("unknown device '{name}': expected one of {}", KNOWN.join(", "))]
    Unknown {
        /// The name given.
        name: String,
    },
    /// The backend exists but this build does not include it.
    #[error("device '{name}' needs burnbert built with the '{feature}' feature (this build has: {})", compiled_backends().join(", "))]
    NotCompiled {
        /// The name given.
        name: String,
        /// The Cargo feature to enable.
        feature: &'static str,
    },
}

const KNOWN: [&str; 8] = [
    "flex",
    "ndarray",
    "wgpu",
    "wgpu:cpu",
    "vulkan",
    "metal",
    "cuda[:N]",
    "tch[:cpu|:cuda:N]",
];

/// The backends this build was compiled with, fastest CPU default first.
pub fn compiled_backends() -> Vec<&'static str> {
    let mut backends = Vec::new();
    if cfg!(feature = "cuda") {
        backends.push("cuda");
    }
    if cfg!(feature = "wgpu") {
        backends.push("wgpu");
    }
    if cfg!(feature = "vulkan") {
        backends.push("vulkan");
    }
    if cfg!(feature = "metal") {
        backends.push("metal");
    }
    if cfg!(feature = "tch") {
        backends.push("tch");
    }
    if cfg!(feature = "flex") {
        backends.push("flex");
    }
    if cfg!(feature = "ndarray") {
        backends.push("ndarray");
    }
    backends
}

/// The device for `--device NAME` if given, else `BURN_DEVICE`, else the first compiled
/// backend of [`compiled_backends`] (a GPU before the CPU).
pub fn resolve(name: Option<&str>) -> Result<Device, DeviceError> {
    let env = std::env::var("BURN_DEVICE").ok().filter(|s| !s.is_empty());
    match name.map(str::to_string).or(env) {
        Some(name) => parse(&name),
        None => match compiled_backends().first() {
            Some(first) => parse(first),
            None => Err(DeviceError::NotCompiled {
                name: "any".into(),
                feature: "flex",
            }),
        },
    }
}

/// The device a name stands for.
pub fn parse(name: &str) -> Result<Device, DeviceError> {
    let lower = name.to_ascii_lowercase();
    let mut parts = lower.split(':');
    let backend = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    let not_compiled = |feature| {
        Err(DeviceError::NotCompiled {
            name: name.into(),
            feature,
        })
    };
    let unknown = || Err(DeviceError::Unknown { name: name.into() });
    let index = |s: Option<&&str>| s.map_or(Ok(0), |s| s.parse::<usize>().map_err(|_| ()));
    match (backend, rest.as_slice()) {
        ("flex", []) => {
            #[cfg(feature = "flex")]
            return Ok(Device::flex());
            #[allow(unreachable_code)]
            not_compiled("flex")
        }
        ("ndarray", []) => {
            #[cfg(feature = "ndarray")]
            return Ok(Device::ndarray());
            #[allow(unreachable_code)]
            not_compiled("ndarray")
        }
        ("wgpu", []) | ("wgpu", ["gpu"]) | ("wgpu", ["cpu"]) => {
            #[cfg(feature = "wgpu")]
            return Ok(Device::wgpu(if rest == ["cpu"] {
                burn::tensor::DeviceKind::Cpu
            } else {
                burn::tensor::DeviceKind::DefaultDevice
            }));
            #[allow(unreachable_code)]
            not_compiled("wgpu")
        }
        ("vulkan", []) => {
            #[cfg(feature = "vulkan")]
            return Ok(Device::vulkan(burn::tensor::DeviceKind::DefaultDevice));
            #[allow(unreachable_code)]
            not_compiled("vulkan")
        }
        ("metal", []) => {
            #[cfg(feature = "metal")]
            return Ok(Device::metal(burn::tensor::DeviceKind::DefaultDevice));
            #[allow(unreachable_code)]
            not_compiled("metal")
        }
        ("cuda", [] | [_]) => {
            let Ok(_index) = index(rest.first()) else {
                return unknown();
            };
            #[cfg(feature = "cuda")]
            return Ok(Device::cuda(_index));
            #[allow(unreachable_code)]
            not_compiled("cuda")
        }
        ("tch", []) | ("tch", ["cpu"]) | ("tch", ["cuda"]) | ("tch", ["cuda", _]) => {
            let Ok(_index) = index(rest.get(1)) else {
                return unknown();
            };
            #[cfg(feature = "tch")]
            return Ok(match rest.first() {
                Some(&"cpu") => Device::libtorch(),
                Some(_) => Device::libtorch_cuda(_index),
                None if tch_cuda_available() => Device::libtorch_cuda(0),
                None => Device::libtorch(),
            });
            #[allow(unreachable_code)]
            not_compiled("tch")
        }
        _ => unknown(),
    }
}

/// Whether LibTorch sees a CUDA device.
#[cfg(feature = "tch")]
fn tch_cuda_available() -> bool {
    // LibTorch answers through its own device probe; a failed probe means no CUDA.
    std::panic::catch_unwind(|| {
        let device = Device::libtorch_cuda(0);
        burn::tensor::Tensor::<1>::zeros([1], &device).into_data();
    })
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_missing_backends_are_errors() {
        let err = parse("tpu").unwrap_err().to_string();
        assert!(err.contains("unknown device 'tpu'"), "{err}");
        #[cfg(not(feature = "cuda"))]
        {
            let err = parse("cuda:1").unwrap_err().to_string();
            assert!(err.contains("'cuda' feature"), "{err}");
        }
        assert!(parse("cuda:x").is_err());
    }

    #[test]
    fn default_is_a_compiled_backend() {
        assert!(!compiled_backends().is_empty());
        let device = resolve(Some(compiled_backends().last().unwrap())).unwrap();
        assert!(!device.is_autodiff());
    }
}
