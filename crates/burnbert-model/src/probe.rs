//! Checks, once per device, that a Burn op behaves as Burn documents it, so that the model uses
//! the op where it is right and an exact composition of simpler ops where it is not. Each check
//! names the Burn 0.22.1 code it guards against; none names a backend.

use std::sync::Mutex;

use burn::prelude::*;

type Checks = Vec<(&'static str, Device, bool)>;

/// The result of `probe` on `device`, computed the first time it is asked for.
pub(crate) fn once_per_device(
    name: &'static str,
    device: &Device,
    probe: fn(&Device) -> bool,
) -> bool {
    static CHECKED: Mutex<Checks> = Mutex::new(Vec::new());
    if let Some((_, _, ok)) = CHECKED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(n, d, _)| *n == name && d == device)
    {
        return *ok;
    }
    let ok = probe(device);
    CHECKED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((name, device.clone(), ok));
    ok
}
