//! What the examples share: `--name value` flags and the device they pick.

use std::collections::HashMap;
use std::str::FromStr;

/// An example's flags, each `--name value`.
pub struct Flags(HashMap<String, String>);

impl Flags {
    /// The process's arguments; anything but `--name value` pairs is an error.
    pub fn from_args() -> Result<Self, String> {
        let mut flags = HashMap::new();
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let Some(name) = flag.strip_prefix("--") else {
                return Err(format!("unexpected argument {flag}"));
            };
            let value = args.next().ok_or(format!("--{name} needs a value"))?;
            flags.insert(name.to_string(), value);
        }
        Ok(Self(flags))
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
}
