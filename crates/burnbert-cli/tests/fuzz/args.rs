//! Odd command lines.

use crate::common::*;
use crate::*;

#[test]
fn odd_command_lines_are_errors_not_crashes() {
    let root = scratch("fuzz-args");
    let mut rng = Rng(3);
    let models = [
        assets("tiny-bert"),
        assets("tiny-bert-seqcls"),
        assets("tiny-bert-tokcls"),
        assets("tiny-bert-qa"),
        root.join("no-such-folder"),
    ];
    let data = root.join("data.csv");
    std::fs::write(&data, "text,label\nthe movie was great,positive\n").unwrap();
    let values = [
        "0",
        "-1",
        "1",
        "7",
        "40",
        "100000000000",
        "18446744073709551616",
        "1e9",
        "nan",
        "-0.5",
        "",
        " ",
        "x",
        "[SEP]",
        "\u{feff}",
        "--json",
    ];
    let flags = [
        "--text",
        "--text-pair",
        "--question",
        "--context",
        "--max-length",
        "--doc-stride",
        "--max-answer-length",
        "--batch-size",
        "--task",
        "--device",
        "--null-score-diff-threshold",
        "--file",
        "--data",
        "--json",
        "--no-such-flag",
    ];
    let mut all = Vec::new();
    for _ in 0..cases() * 2 {
        let command = *rng.pick(&["encode", "predict", "eval", "inspect", "bogus", "--help"]);
        let mut args: Vec<String> = vec![command.into()];
        if rng.chance(90) {
            args.push(rng.pick(&models).to_string_lossy().into());
        }
        for _ in 0..rng.below(5) {
            let flag = *rng.pick(&flags);
            args.push(flag.into());
            match flag {
                "--json" | "--no-such-flag" => {}
                "--data" | "--file" => args.push(if rng.chance(50) {
                    data.to_string_lossy().to_string()
                } else {
                    rng.pick(&values).to_string()
                }),
                _ => args.push(rng.pick(&values).to_string()),
            }
        }
        all.push(Case {
            args,
            places: vec![],
            what: "a command line".into(),
        });
    }
    check_all(all);
}
