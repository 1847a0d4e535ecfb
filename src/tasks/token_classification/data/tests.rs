//! Tests of the readers, the tag set, the chunks and the windows.

use super::*;

fn tags(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

fn spans(s: &str) -> Vec<(String, usize, usize)> {
    chunks(&tags(s))
        .into_iter()
        .map(|c| (c.kind, c.first, c.last))
        .collect()
}

#[test]
fn entity_groups_as_the_pipeline_forms_them() {
    let groups = |tags: &[&str]| -> Vec<(String, usize, usize)> {
        entity_groups(tags)
            .into_iter()
            .map(|c| (c.kind, c.first, c.last))
            .collect()
    };
    // shared case 15: labels without a B-/I- prefix are whole types.
    assert_eq!(
        groups(&["PERSON_NAME"; 6]),
        [("PERSON_NAME".to_string(), 0, 5)]
    );
    assert_eq!(
        groups(&["LABEL_3", "LABEL_3", "O", "PER", "LOC"]),
        [
            ("LABEL_3".to_string(), 0, 1),
            ("PER".to_string(), 3, 3),
            ("LOC".to_string(), 4, 4)
        ]
    );
    // IOB2: B- starts, I- of the same type continues; an I- after O starts a group.
    assert_eq!(
        groups(&[
            "B-PER", "I-PER", "B-PER", "O", "I-LOC", "I-LOC", "B-ORG", "I-PER"
        ]),
        [
            ("PER".to_string(), 0, 1),
            ("PER".to_string(), 2, 2),
            ("LOC".to_string(), 4, 5),
            ("ORG".to_string(), 6, 6),
            ("PER".to_string(), 7, 7)
        ]
    );
}

#[test]
fn chunks_as_seqeval_reads_them() {
    // seqeval.metrics.sequence_labeling.get_entities on the same sequences.
    let s = |k: &str, a, b| (k.to_string(), a, b);
    assert_eq!(
        spans("B-PER I-PER O B-LOC"),
        [s("PER", 0, 1), s("LOC", 3, 3)]
    );
    // An I- after O starts a chunk (IOB1, or a broken IOB2 prediction).
    assert_eq!(
        spans("O I-PER I-PER B-PER"),
        [s("PER", 1, 2), s("PER", 3, 3)]
    );
    // A type change ends one chunk and starts another.
    assert_eq!(spans("B-PER I-LOC I-LOC"), [s("PER", 0, 0), s("LOC", 1, 2)]);
    // BIOES.
    assert_eq!(
        spans("S-ORG B-MISC I-MISC E-MISC O S-PER"),
        [s("ORG", 0, 0), s("MISC", 1, 3), s("PER", 5, 5)]
    );
    // An entity at the very end.
    assert_eq!(spans("O O B-LOC I-LOC"), [s("LOC", 2, 3)]);
    assert!(spans("O O").is_empty());
}

#[test]
fn conll_reader_skips_docstart_and_names_bad_lines() {
    let dir = std::env::temp_dir().join(format!("burnbert-conll-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("a.txt");
    std::fs::write(&path, "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter\tB-PER\nBlackburn\tI-PER\n").unwrap();
    let s = read_conll(&path).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(
        (s[0].words.clone(), s[0].tags.clone(), s[0].location.line),
        (
            vec!["EU".to_string(), "rejects".into()],
            vec!["B-ORG".to_string(), "O".into()],
            3
        )
    );
    assert_eq!(s[1].lines, [6, 7]);
    let set = TagSet::from_sentences(&s).unwrap();
    assert_eq!(set.names(), ["B-ORG", "B-PER", "I-PER", "O"]);
    assert_eq!(set.continuation(), [0, 2, 2, 3]);

    std::fs::write(&path, "EU B-ORG\nrejects\n").unwrap();
    let err = read_conll(&path).unwrap_err().to_string();
    assert!(
        err.contains("a.txt:2") && err.contains("one column"),
        "{err}"
    );
    std::fs::write(&path, "EU B-ORG\n\nParis B-LOCATION\n").unwrap();
    let other = read_conll(&path).unwrap();
    let err = set.ids(&other[1]).unwrap_err().to_string();
    assert!(
        err.contains("a.txt:3") && err.contains("B-LOCATION"),
        "{err}"
    );
    std::fs::write(&path, "EU ORG\n").unwrap();
    let err = TagSet::from_sentences(&read_conll(&path).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("a.txt:1") && err.contains("'ORG'"), "{err}");
    std::fs::write(&path, "\n-DOCSTART- O\n\n").unwrap();
    assert!(matches!(
        read_conll(&path),
        Err(DataError::EmptyDataset { .. })
    ));

    let path = dir.join("b.jsonl");
    std::fs::write(&path, "{\"tokens\": [\"EU\", \"rejects\"], \"tags\": [\"B-ORG\", \"O\"]}\n\n{\"tokens\": [\"a\"], \"ner_tags\": [0]}\n").unwrap();
    let s = read_tagged(&path).unwrap();
    assert_eq!(
        (s.len(), s[1].tags[0].as_str(), s[1].location.line),
        (2, "0", 3)
    );
    std::fs::write(&path, "{\"tokens\": [\"EU\"], \"tags\": []}\n").unwrap();
    assert!(
        read_tagged(&path)
            .unwrap_err()
            .to_string()
            .contains("b.jsonl:1: 1 tokens but 0 tags")
    );
    std::fs::write(&path, "{\"words\": [\"EU\"]}\n").unwrap();
    assert!(
        read_tagged(&path)
            .unwrap_err()
            .to_string()
            .contains("no column tokens")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn labels_go_to_first_pieces() {
    // [CLS] un ##aff ##able paris [SEP]
    let word_ids = [None, Some(0), Some(0), Some(0), Some(1), None];
    assert_eq!(
        align_labels(&word_ids, &[1, 3], None),
        [-100, 1, -100, -100, 3, -100]
    );
    assert_eq!(
        align_labels(&word_ids, &[1, 3], Some(&[0, 2, 2, 3])),
        [-100, 1, 2, 2, 3, -100]
    );
}
