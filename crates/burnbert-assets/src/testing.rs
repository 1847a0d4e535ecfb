//! How burnbert's tests treat a missing asset or tool (the asset cache, Python with
//! `transformers`): they skip, saying so, unless `BURNBERT_REQUIRE_ASSETS=1` (CI), where that is
//! a failure. A skip is also appended to the file `BURNBERT_SKIP_LOG` names, so that
//! `cargo xtask test` can list every skipped test and why at its end (cargo hides a passing
//! test's output).

use std::io::Write;
use std::path::PathBuf;

use crate::Asset;

/// The variable that turns a skip into a failure when it is `1`.
pub const REQUIRE: &str = "BURNBERT_REQUIRE_ASSETS";
/// The variable naming the file skips are appended to, a line each.
pub const SKIP_LOG: &str = "BURNBERT_SKIP_LOG";

/// Whether a test that needs a fetched asset or Python must fail rather than skip.
pub fn required() -> bool {
    std::env::var(REQUIRE).is_ok_and(|v| v == "1")
}

/// Skips the calling test for `reason`: panics when [`required`], else prints
/// `skipped: REASON` and logs `TEST BINARY::TEST NAME: REASON` to [`SKIP_LOG`].
///
/// # Panics
/// When [`required`]: the missing asset or tool is then an error of the setup.
pub fn skip(reason: &str) {
    assert!(!required(), "{reason} ({REQUIRE}=1 requires it)");
    eprintln!("skipped: {reason}");
    let Some(log) = std::env::var_os(SKIP_LOG) else {
        return;
    };
    // The test binary's name without cargo's hash (`ner-0123abcd` → `ner`); the harness names
    // each test's thread after the test.
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| match s.rsplit_once('-') {
            Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.into(),
            _ => s,
        })
        .unwrap_or_default();
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("?");
    // One short line per `write` on a file opened to append: lines of parallel tests do not
    // interleave.
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = file.write_all(format!("{binary}::{test}: {reason}\n").as_bytes());
    }
}

/// The cached folders of `assets`, or `None` after [`skip`] naming those not fetched.
///
/// # Panics
/// When one is missing and [`required`].
pub fn cached_or_skip<const N: usize>(assets: [&Asset; N]) -> Option<[PathBuf; N]> {
    let folders = assets.map(crate::cached);
    let missing: Vec<&str> = assets
        .iter()
        .zip(&folders)
        .filter(|(_, f)| f.is_none())
        .map(|(a, _)| a.name)
        .collect();
    if missing.is_empty() {
        Some(folders.map(Option::unwrap))
    } else {
        skip(&format!(
            "{} not in the asset cache (cargo xtask assets)",
            missing.join(", ")
        ));
        None
    }
}
