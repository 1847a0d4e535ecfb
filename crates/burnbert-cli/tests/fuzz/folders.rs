//! Malformed model folders: config, safetensors, pytorch_model.bin, vocab, tokenizer files.

use std::path::Path;

use serde_json::{Value, json};

use crate::common::*;
use crate::*;

/// A safetensors file whose header has a dtype, a shape or offsets changed, or whose bytes
/// are damaged.
fn mutate_safetensors(rng: &mut Rng, path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    let names: Vec<String> = header
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "__metadata__")
        .cloned()
        .collect();
    let name = rng.pick(&names).clone();
    let tensor = &mut header[&name];
    match rng.below(6) {
        0 => {
            tensor["dtype"] = json!(rng.pick(&[
                "F16", "BF16", "F64", "I64", "I32", "I8", "U8", "BOOL", "F8_E4M3", "F32", "XX"
            ]))
        }
        1 => {
            let shape = tensor["shape"].as_array_mut().unwrap();
            if shape.is_empty() || rng.chance(30) {
                shape.push(json!(rng.below(5)));
            } else {
                let i = rng.below(shape.len());
                shape[i] = json!(*rng.pick(&[0u64, 1, 2, 13, 1 << 32, u64::MAX]));
            }
        }
        2 => {
            let offsets = tensor["data_offsets"].as_array_mut().unwrap();
            let i = rng.below(2);
            offsets[i] = json!(*rng.pick(&[0u64, 1, 3, 1 << 20, u64::MAX]));
        }
        3 => {
            // A declared header length past the file.
            let mut out = bytes.clone();
            out[..8].copy_from_slice(&(u64::MAX - rng.below(1000) as u64).to_le_bytes());
            std::fs::write(path, out).unwrap();
            return;
        }
        4 => {
            std::fs::write(path, damage(rng, &bytes)).unwrap();
            return;
        }
        _ => mutate_json(rng, &mut header),
    }
    let header = header.to_string().into_bytes();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    std::fs::write(path, out).unwrap();
}

/// A vocabulary with a special token gone, lines repeated or changed, or bytes damaged.
fn mutate_vocab(rng: &mut Rng, path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    match rng.below(5) {
        0 => {
            let special = rng.pick(&["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]);
            lines.retain(|l| l != special);
        }
        1 => {
            let i = rng.below(lines.len());
            lines.insert(i, lines[i].clone());
        }
        2 => lines.truncate(rng.below(6)),
        3 => {
            let i = rng.below(lines.len());
            lines[i] = rng
                .pick(&["", " ", "##", "[CLS] [SEP]", "\u{0}", "x\ty"])
                .to_string();
        }
        _ => {
            std::fs::write(path, damage(rng, text.as_bytes())).unwrap();
            return;
        }
    }
    std::fs::write(path, lines.join("\n")).unwrap();
}

#[test]
fn malformed_model_folders_are_errors_naming_the_file() {
    let root = scratch("fuzz-models");
    let mut rng = Rng(12);
    let mut all = Vec::new();
    for i in 0..cases() * 2 {
        let dir = root.join(format!("m{i}"));
        let (base, file) = *rng.pick(&[
            ("tiny-bert-seqcls", "config.json"),
            ("tiny-bert-seqcls", "model.safetensors"),
            ("tiny-bert-seqcls", "vocab.txt"),
            ("tiny-bert-seqcls", "tokenizer_config.json"),
            ("tiny-bert", "tokenizer.json"),
            ("tiny-bert", "tokenizer.json"),
            ("tiny-bert", "pytorch_model.bin"),
        ]);
        copy_model(base, &dir);
        if file == "pytorch_model.bin" {
            std::fs::remove_file(dir.join("model.safetensors")).unwrap();
        }
        let path = dir.join(file);
        match file {
            "config.json" | "tokenizer_config.json" | "tokenizer.json" => {
                mutate_json_file(&mut rng, &path)
            }
            "model.safetensors" => mutate_safetensors(&mut rng, &path),
            "vocab.txt" => mutate_vocab(&mut rng, &path),
            _ => {
                let bytes = std::fs::read(&path).unwrap();
                std::fs::write(&path, damage(&mut rng, &bytes)).unwrap();
            }
        }
        let text = rng
            .pick(&[
                "the movie was great",
                "hello [SEP] world",
                "é ü 中文 \u{200b}",
                "a",
            ])
            .to_string();
        let mut args: Vec<String> = match rng.below(3) {
            0 => vec!["encode".into()],
            1 => vec!["inspect".into()],
            _ => vec![
                "predict".into(),
                "--task".into(),
                "sequence-classification".into(),
            ],
        };
        args.push(dir.to_string_lossy().into());
        if args[0] != "inspect" {
            args.extend(["--text".into(), text]);
        }
        args.push("--json".into());
        all.push(Case {
            args,
            // The folder's error names the folder (and so its file), or the text that does not
            // fit the model's tables.
            places: vec![dir.to_string_lossy().into(), "text '".into()],
            what: format!("{base} with {file} changed"),
        });
    }
    check_all(all);
}

#[test]
fn a_pickle_that_runs_code_is_never_run() {
    let dir = scratch("fuzz-pickle");
    copy_model("tiny-bert", &dir);
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let marker = dir.join("payload-ran");
    // pickle protocol 2: os.system("touch MARKER"), the classic pytorch_model.bin exploit.
    let mut pickle = b"\x80\x02cposix\nsystem\nq\x00X".to_vec();
    let command = format!("touch {}", marker.display());
    pickle.extend_from_slice(&(command.len() as u32).to_le_bytes());
    pickle.extend_from_slice(command.as_bytes());
    pickle.extend_from_slice(b"q\x01\x85q\x02Rq\x03.");
    std::fs::write(dir.join("pytorch_model.bin"), pickle).unwrap();
    let case = Case {
        args: ["encode", dir.to_str().unwrap(), "--text", "hello"]
            .map(String::from)
            .to_vec(),
        places: vec![dir.to_string_lossy().into()],
        what: "a pickle payload".into(),
    };
    check(&case);
    assert!(!marker.exists(), "the pickle's code ran");
}
