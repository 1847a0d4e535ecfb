//! What the examples share: `--name value` flags and the device they pick.

// Each example uses part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::process::ExitCode;
use std::str::FromStr;

/// An example's exit: its error, if any, printed as `error: ...` (its message, not its
/// `Debug` form) with exit status 1.
pub fn exit(result: Result<(), Box<dyn std::error::Error>>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// An example's flags, each `--name value`, and the switches of [`SWITCHES`].
pub struct Flags(HashMap<String, String>);

/// Flags that take no value.
const SWITCHES: [&str; 1] = ["overwrite-output-dir"];

impl Flags {
    /// The process's arguments; anything but `--name value` pairs and switches is an error.
    pub fn from_args() -> Result<Self, String> {
        let mut flags = HashMap::new();
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let Some(name) = flag.strip_prefix("--") else {
                return Err(format!("unexpected argument {flag}"));
            };
            let value = if SWITCHES.contains(&name) {
                "true".to_string()
            } else {
                args.next().ok_or(format!("--{name} needs a value"))?
            };
            flags.insert(name.to_string(), value);
        }
        Ok(Self(flags))
    }

    /// `--overwrite-output-dir`: replace the run in a used `--output` folder.
    pub fn overwrite_output_dir(&self) -> bool {
        self.0.contains_key("overwrite-output-dir")
    }

    /// The value of `--name`.
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    /// The value of `--name` parsed, or `default`.
    pub fn parse<T: FromStr>(&self, name: &str, default: T) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        self.0.get(name).map_or(Ok(default), |v| {
            v.parse().map_err(|e| format!("--{name} {v}: {e}"))
        })
    }

    /// `--device`, else `BURN_DEVICE`, else the build's default backend.
    pub fn device(&self) -> Result<burnbert::burn::tensor::Device, burnbert::Error> {
        Ok(burnbert::device::resolve(self.get("device").as_deref())?)
    }

    /// `--model`, else all-MiniLM-L6-v2 from the asset cache (fetched as `cargo xtask assets`
    /// does).
    pub fn model(&self) -> Result<String, burnbert_assets::AssetError> {
        match self.get("model") {
            Some(model) => Ok(model),
            None => Ok(burnbert_assets::ensure(&burnbert_assets::MINILM)?
                .to_string_lossy()
                .to_string()),
        }
    }

    /// `--data`, else `file` of `asset` in the asset cache (the asset's folder if `file` is
    /// empty).
    pub fn data(
        &self,
        asset: &burnbert_assets::Asset,
        file: &str,
    ) -> Result<std::path::PathBuf, burnbert_assets::AssetError> {
        match self.get("data") {
            Some(data) => Ok(data.into()),
            None => Ok(burnbert_assets::ensure(asset)?.join(file)),
        }
    }
}
