//! Tests of the readers and the label set.

use std::path::PathBuf;

use super::*;

fn write(name: &str, content: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("burnbert-data-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

#[test]
fn reads_pang_lee_style_csv_with_bom() {
    let path = write(
        "pl.csv",
        "\u{feff}\"1\",\"a fine, funny film\"\n\"-1\",\"dull\"\n".as_bytes(),
    );
    let examples = read_file(&path, &Columns::label_text_no_header()).unwrap();
    assert_eq!(examples.len(), 2);
    assert_eq!(
        (examples[0].label.as_str(), examples[0].text.as_str()),
        ("1", "a fine, funny film")
    );
    assert_eq!(examples[1].location.line, 2);
    let labels = LabelSet::from_examples(&examples);
    assert_eq!(labels.names(), ["-1", "1"]);
    assert_eq!(labels.id(&examples[0]).unwrap(), 1);
}

#[test]
fn reads_tsv_and_jsonl_with_pairs() {
    let path = write(
        "p.tsv",
        b"premise\thypothesis\tlabel\nA man sleeps.\tA man rests.\tentailment\n",
    );
    let columns = Columns {
        text: Column::Name("premise".into()),
        text_pair: Some(Column::Name("hypothesis".into())),
        label: Column::Name("label".into()),
        has_header: true,
        label_delimiter: None,
    };
    let examples = read_file(&path, &columns).unwrap();
    assert_eq!(examples[0].text_pair.as_deref(), Some("A man rests."));
    assert_eq!(examples[0].location.line, 2);
    let path = write(
        "p.jsonl",
        b"{\"text\": \"good\", \"label\": 1}\n\n{\"text\": \"bad\", \"label\": 0}\n",
    );
    let examples = read_file(&path, &Columns::default()).unwrap();
    assert_eq!(examples[1].label, "0");
    assert_eq!(examples[1].location.line, 3);
}

#[test]
fn a_delimited_label_column_is_a_list_of_labels() {
    let path = write(
        "multi.csv",
        b"text,tags
first,sports; politics
second,
third,science
",
    );
    let columns = Columns {
        label: Column::Name("tags".into()),
        label_delimiter: Some(";".into()),
        ..Columns::default()
    };
    let examples = read_file(&path, &columns).unwrap();
    let lists: Vec<Vec<String>> = examples.iter().map(|e| e.label_list().unwrap()).collect();
    assert_eq!(
        lists,
        [vec!["sports", "politics"], vec![], vec!["science"]]
    );
    assert!(is_multi_label(&examples));
    // The same rows as JSONL strings read the same.
    let path = write(
        "multi.jsonl",
        b"{\"text\": \"first\", \"tags\": \"sports;politics\"}\n",
    );
    let examples = read_file(&path, &columns).unwrap();
    assert_eq!(examples[0].label, r#"["sports","politics"]"#);
}

#[test]
fn tsv_quotes_are_text() {
    // shared case 05: Python's csv.reader(delimiter="\t", quoting=csv.QUOTE_NONE).
    let path = write(
        "q.tsv",
        b"text\tlabel\n\"Not bad at all\tpositive\na boring film\tnegative\nit was \"fine\" i guess\tneutral\nthe actor was great\tpositive\n",
    );
    let examples = read_file(&path, &Columns::default()).unwrap();
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "\"Not bad at all",
            "a boring film",
            "it was \"fine\" i guess",
            "the actor was great"
        ]
    );
    let lines: Vec<usize> = examples.iter().map(|e| e.location.line).collect();
    assert_eq!(lines, [2, 3, 4, 5]);
    // CSV keeps standard quoting.
    let path = write("q.csv", b"text,label\n\"a, quoted\",x\n");
    assert_eq!(
        read_file(&path, &Columns::default()).unwrap()[0].text,
        "a, quoted"
    );
}

#[test]
fn bad_data_names_file_and_line() {
    let err = read_file(&write("e.csv", b""), &Columns::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("e.csv") && err.contains("no example"), "{err}");
    let err = read_file(&write("m.csv", b"text,stars\nhi,5\n"), &Columns::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("m.csv:1") && err.contains("'label'") && err.contains("text, stars"),
        "{err}"
    );
    let err = read_file(
        &write("z.csv", b"text,label\nok,1\n  ,0\n"),
        &Columns::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("z.csv:3") && err.contains("empty text"),
        "{err}"
    );
    let err = read_file(
        &write("u.csv", b"text,label\nok,1\nbad \xff\xfe,0\n"),
        &Columns::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("u.csv:3") && err.contains("invalid UTF-8"),
        "{err}"
    );
    let err = read_file(
        &write(
            "j.jsonl",
            b"{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\"\n",
        ),
        &Columns::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("j.jsonl:2"), "{err}");

    let train = read_file(
        &write("t.csv", b"text,label\na,pos\nb,neg\n"),
        &Columns::default(),
    )
    .unwrap();
    let eval = read_file(
        &write("v.csv", b"text,label\nc,pos\nd,neutral\n"),
        &Columns::default(),
    )
    .unwrap();
    let labels = LabelSet::from_examples(&train);
    let err = labels.id(&eval[1]).unwrap_err().to_string();
    assert!(
        err.contains("v.csv:3") && err.contains("'neutral'") && err.contains("neg, pos"),
        "{err}"
    );
}

#[test]
fn aclimdb_layout() {
    let dir = std::env::temp_dir().join(format!("burnbert-imdb-{}", std::process::id()));
    for (label, name, text) in [
        ("pos", "0_9.txt", "Great.<br />Loved it"),
        ("neg", "1_2.txt", "Awful"),
    ] {
        std::fs::create_dir_all(dir.join("train").join(label)).unwrap();
        std::fs::write(dir.join("train").join(label).join(name), text).unwrap();
    }
    let examples = read_aclimdb(&dir, "train").unwrap();
    assert_eq!(
        examples
            .iter()
            .map(|e| e.label.as_str())
            .collect::<Vec<_>>(),
        ["neg", "pos"]
    );
    assert_eq!(examples[1].text, "Great. Loved it");
    assert!(read_aclimdb(&dir, "test").is_err());
}

#[test]
fn real_valued_labels_are_a_regression_target_as_run_glue_reads_them() {
    let path = write(
        "sts.jsonl",
        b"{\"text\": \"a\", \"label\": 4.8}\n{\"text\": \"b\", \"label\": 1}\n{\"text\": \"c\", \"label\": \"nan\"}\n",
    );
    let examples = read_file(&path, &Columns::default()).unwrap();
    assert!(is_regression(&examples[..2]));
    assert_eq!(examples[0].target().unwrap(), 4.8);
    assert_eq!(examples[1].target().unwrap(), 1.0);
    let err = examples[2].target().unwrap_err().to_string();
    assert!(
        err.contains("sts.jsonl:3") && err.contains("not a finite number"),
        "{err}"
    );
    // Integers are class ids; a word among numbers makes the labels class names.
    let labels = |names: &[&str]| -> Vec<TextExample> {
        names
            .iter()
            .map(|l| TextExample {
                label: l.to_string(),
                ..examples[0].clone()
            })
            .collect()
    };
    assert!(!is_regression(&labels(&["0", "1", "-1"])));
    assert!(!is_regression(&labels(&["pos", "1.5"])));
    assert!(is_regression(&labels(&["1e-3", "2"])));
    assert!(!is_regression(&[]));
    // Lists of numbers, one at least not an integer: several targets. Lists of integers are
    // label names (multi-label), as run_classification.py reads any list.
    let two = labels(&[r#"["0.5","1"]"#, r#"["1","2"]"#]);
    assert!(is_regression(&two));
    assert_eq!(two[0].targets().unwrap(), [0.5, 1.0]);
    assert_eq!(labels(&["4.8"])[0].targets().unwrap(), [4.8]);
    assert!(!is_regression(&labels(&[r#"["1","2"]"#, r#"["3"]"#])));
    assert!(!is_regression(&labels(&[r#"["0.5"]"#, "[]"])));
    assert!(!is_regression(&labels(&[r#"["0.5"]"#, r#"["sports"]"#])));
    let err = labels(&[r#"["0.5","x"]"#])[0].targets().unwrap_err().to_string();
    assert!(err.contains("label `x` is not a number"), "{err}");
    let err = labels(&["[]"])[0].targets().unwrap_err().to_string();
    assert!(err.contains("has no target"), "{err}");
    for (label, problem) in [
        ("abc", "is not a number"),
        ("1e39", "is past the range of float32"),
        ("inf", "is not a finite number"),
    ] {
        let err = labels(&[label])[0].target().unwrap_err().to_string();
        assert!(err.contains(problem), "{label}: {err}");
    }
}

#[test]
fn rows_after_crlf_line_ends_are_numbered_by_their_line() {
    // Python's csv.writer ends rows with \r\n; the csv crate's own count is one short there.
    let path = write("crlf.csv", b"text,label\r\ngood,1.5\r\nbad,zzz\r\n");
    let examples = read_file(&path, &Columns::default()).unwrap();
    assert_eq!(examples[1].location.line, 3);
    let err = examples[1].target().unwrap_err().to_string();
    assert!(err.contains("crlf.csv:3"), "{err}");
    let path = write("crlf-empty.csv", b"text,label\r\ngood,a\r\nbad,\r\n");
    let err = read_file(&path, &Columns::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("crlf-empty.csv:3") && err.contains("empty label"),
        "{err}"
    );
}

#[test]
fn lists_of_labels_are_multi_label_data() {
    let path = write(
        "topics.jsonl",
        b"{\"text\": \"a\", \"label\": [\"sports\", \"politics\"]}\n{\"text\": \"b\", \"label\": []}\n{\"text\": \"c\", \"label\": [2]}\n",
    );
    let examples = read_file(&path, &Columns::default()).unwrap();
    assert!(is_multi_label(&examples));
    assert!(!is_regression(&examples));
    assert_eq!(examples[0].label_list().unwrap(), ["sports", "politics"]);
    let labels = LabelSet::from_label_lists(&examples).unwrap();
    assert_eq!(labels.names(), ["2", "politics", "sports"]);
    assert_eq!(labels.multi_hot(&examples[0]).unwrap(), [0.0, 1.0, 1.0]);
    assert_eq!(labels.multi_hot(&examples[1]).unwrap(), [0.0, 0.0, 0.0]);
    // A label outside the set, a single label among lists, a list of objects: errors naming the
    // file and line.
    let known = LabelSet::from_names(vec!["sports".into()]);
    let err = known.multi_hot(&examples[0]).unwrap_err().to_string();
    assert!(
        err.contains("topics.jsonl:1") && err.contains("politics"),
        "{err}"
    );
    let mixed = write(
        "mixed.jsonl",
        b"{\"text\": \"a\", \"label\": [\"x\"]}\n{\"text\": \"b\", \"label\": \"x\"}\n",
    );
    let mixed = read_file(&mixed, &Columns::default()).unwrap();
    assert!(!is_multi_label(&mixed));
    let err = LabelSet::from_label_lists(&mixed).unwrap_err().to_string();
    assert!(
        err.contains("mixed.jsonl:2") && err.contains("not a list"),
        "{err}"
    );
    let bad = write("bad.jsonl", b"{\"text\": \"a\", \"label\": [{\"x\": 1}]}\n");
    let err = read_file(&bad, &Columns::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad.jsonl:1") && err.contains("label in a list"),
        "{err}"
    );
}
