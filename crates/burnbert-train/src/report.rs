//! `OUTPUT/report.html`: a run at a glance, in one self-contained page written at the end of
//! every run and redrawn by `burnbert report OUTPUT`.
//!
//! - curves per optimizer step from the log history ([`crate::history`]): the training and
//!   validation loss, each validation metric, each training metric, the learning rate of every
//!   parameter group, the gradient norm; drawn as SVG with `plotters`;
//! - the chosen model's validation scores from `metrics.json`, whatever the task: its numbers,
//!   its per-class or per-type tables (classification, NER), the confusion matrix;
//! - the timings (training time, steps and validations) and the recipe
//!   (`training_config.json`).
//!
//! A run stopped early still gets its curves; the scores need `metrics.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use serde_json::Value;

use crate::TrainError;
use crate::history::{self, Entry, HISTORY};
use crate::run_dir::RunDir;

/// The report's file in a run's folder.
pub const REPORT: &str = "report.html";

/// A chart's lines: each one's name and `(step, value)` points.
type Lines = Vec<(String, Vec<(f64, f64)>)>;

/// Writes `output/report.html` from the run's files there and returns its path.
///
/// # Errors
/// [`TrainError::ConfigFile`] when `log_history.json` is missing (no folder of a run, or a run
/// of a burnbert before it) or it, `metrics.json` or `training_config.json` is there but not
/// readable JSON; [`TrainError::Io`] when a file cannot be read or the page written;
/// [`TrainError::Config`] when a chart cannot be drawn.
pub fn write(output: &Path) -> Result<PathBuf, TrainError> {
    let history = output.join(HISTORY);
    if !history.is_file() {
        return Err(TrainError::ConfigFile {
            path: output.to_path_buf(),
            message: format!(
                "not the output folder of a burnbert training run: it has no {HISTORY} (runs \
                 of burnbert before the log history have none)"
            ),
        });
    }
    let entries = history::read(&history)?;
    // The other files are optional (a run stopped early has no metrics.json), but one that is
    // there must read.
    let read_json = |name: &str| -> Result<Option<Value>, TrainError> {
        let path = output.join(name);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|source| TrainError::Io {
            path: path.clone(),
            source,
        })?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| TrainError::ConfigFile {
                path,
                message: e.to_string(),
            })
    };
    let metrics = read_json("metrics.json")?;
    let recipe = read_json(RunDir::RECIPE)?;
    let page = page(output, &entries, metrics.as_ref(), recipe.as_ref())?;
    let path = output.join(REPORT);
    burnbert_model::weights::write_atomic(&path, page.as_bytes()).map_err(|source| {
        TrainError::Io {
            path: path.clone(),
            source,
        }
    })?;
    Ok(path)
}

/// The `(step, value)` points of `key` in the entries.
fn points(entries: &[Entry], key: &str) -> Vec<(f64, f64)> {
    entries
        .iter()
        .filter_map(|e| Some((e.get("step")?.as_f64()?, e.get(key)?.as_f64()?)))
        .filter(|(_, v)| v.is_finite())
        .collect()
}

/// The keys of the entries, in first-seen order.
fn keys(entries: &[Entry]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for entry in entries {
        for key in entry.keys() {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
    }
    keys
}

/// The charts of the history: `(title, lines)`.
fn charts(entries: &[Entry]) -> Vec<(String, Lines)> {
    let keys = keys(entries);
    let mut charts = vec![(
        "Loss".to_string(),
        vec![
            ("train".to_string(), points(entries, "loss")),
            ("validation".to_string(), points(entries, "eval_loss")),
        ],
    )];
    for key in &keys {
        if let Some(metric) = key.strip_prefix("eval_")
            && metric != "loss"
        {
            charts.push((
                format!("Validation {metric}"),
                vec![(metric.to_string(), points(entries, key))],
            ));
        }
    }
    let fixed = [
        "step",
        "epoch",
        "elapsed_s",
        "loss",
        "learning_rate",
        "grad_norm",
    ];
    for key in &keys {
        if !fixed.contains(&key.as_str())
            && !key.starts_with("eval_")
            && !key.starts_with("learning_rate/")
        {
            charts.push((
                format!("Training {key}"),
                vec![(key.clone(), points(entries, key))],
            ));
        }
    }
    let groups: Lines = keys
        .iter()
        .filter_map(|k| {
            Some((
                k.strip_prefix("learning_rate/")?.to_string(),
                points(entries, k),
            ))
        })
        .collect();
    let rates = if groups.is_empty() {
        vec![(
            "learning_rate".to_string(),
            points(entries, "learning_rate"),
        )]
    } else {
        groups
    };
    charts.push(("Learning rate per parameter group".to_string(), rates));
    charts.push((
        "Gradient norm (before clipping)".to_string(),
        vec![("grad_norm".to_string(), points(entries, "grad_norm"))],
    ));
    charts
        .into_iter()
        .map(|(title, lines)| {
            let lines: Lines = lines.into_iter().filter(|(_, p)| !p.is_empty()).collect();
            (title, lines)
        })
        .filter(|(_, lines)| !lines.is_empty())
        .collect()
}

/// One chart as an SVG document: lines over optimizer steps, with markers where they are few.
fn chart(title: &str, lines: &Lines) -> Result<String, TrainError> {
    let failed = |e: &dyn std::fmt::Display| TrainError::Config {
        field: "report",
        message: format!("the chart '{title}' could not be drawn: {e}"),
    };
    let all = lines.iter().flat_map(|(_, p)| p.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x1 <= x0 {
        (x0, x1) = (x0 - 1.0, x1 + 1.0);
    }
    let pad = if y1 > y0 {
        (y1 - y0) * 0.05
    } else {
        y0.abs().max(1e-12) * 0.1
    };
    let (y0, y1) = (y0 - pad, y1 + pad);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| failed(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(72)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| failed(&e))?;
        chart
            .configure_mesh()
            .x_desc("optimizer step")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format_value(*v))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(|e| failed(&e))?;
        for (i, (name, points)) in lines.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(|e| failed(&e))?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
            if points.len() <= 40 {
                chart
                    .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                    .map_err(|e| failed(&e))?;
            }
        }
        if lines.len() > 1 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .draw()
                .map_err(|e| failed(&e))?;
        }
        root.present().map_err(|e| failed(&e))?;
    }
    Ok(svg)
}

/// A number for a label or a cell: 4 significant digits, scientific when small.
fn format_value(v: f64) -> String {
    if v == 0.0 || (1e-3..1e5).contains(&v.abs()) {
        let text = format!("{v:.4}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        if text == "-0" {
            "0".into()
        } else {
            text.into()
        }
    } else {
        format!("{v:.3e}")
    }
}

/// A JSON value as a table cell.
fn cell(value: &Value) -> String {
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(v) if n.is_f64() => format_value(v),
            _ => n.to_string(),
        },
        Value::String(s) => escape(s),
        Value::Null => "–".into(),
        other => escape(&other.to_string()),
    }
}

fn escape(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

/// `<table>` of `(name, value)` rows.
fn pairs_table(rows: &[(String, String)]) -> String {
    let mut html = String::from("<table>");
    for (name, value) in rows {
        html += &format!("<tr><th>{}</th><td>{value}</td></tr>", escape(name));
    }
    html + "</table>"
}

/// A table of records (an array of objects, or an object of objects keyed by name).
fn records_table(rows: &[(String, &serde_json::Map<String, Value>)], key_name: &str) -> String {
    let mut columns: Vec<&String> = Vec::new();
    for (name, row) in rows {
        for (key, value) in row.iter() {
            let names_the_row = value.as_str() == Some(name.as_str());
            if !columns.contains(&key) && !value.is_object() && !value.is_array() && !names_the_row
            {
                columns.push(key);
            }
        }
    }
    // scikit-learn's order of a classification report's columns, then the others.
    const ORDER: [&str; 4] = ["precision", "recall", "f1", "support"];
    columns.sort_by_key(|c| ORDER.iter().position(|o| o == c).unwrap_or(ORDER.len()));
    let mut html = format!("<table><tr><th>{}</th>", escape(key_name));
    for column in &columns {
        html += &format!("<th>{}</th>", escape(column));
    }
    html += "</tr>";
    for (name, row) in rows {
        html += &format!("<tr><th>{}</th>", escape(name));
        for column in &columns {
            html += &format!(
                "<td>{}</td>",
                row.get(*column).map(cell).unwrap_or_default()
            );
        }
        html += "</tr>";
    }
    html + "</table>"
}

/// The confusion matrix, rows true labels and columns predictions, cells shaded by count.
fn confusion_table(matrix: &[Vec<u64>], labels: &[String]) -> String {
    let max = matrix.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let name = |i: usize| labels.get(i).cloned().unwrap_or_else(|| i.to_string());
    let mut html = String::from("<table class=\"matrix\"><tr><th>true \\ predicted</th>");
    for j in 0..matrix.first().map_or(0, Vec::len) {
        html += &format!("<th>{}</th>", escape(&name(j)));
    }
    html += "</tr>";
    for (i, row) in matrix.iter().enumerate() {
        html += &format!("<tr><th>{}</th>", escape(&name(i)));
        for &count in row {
            let shade = count as f64 / max;
            let ink = if shade > 0.55 { "#fff" } else { "#000" };
            html += &format!(
                "<td style=\"background:rgba(31,119,180,{shade:.3});color:{ink}\">{count}</td>"
            );
        }
        html += "</tr>";
    }
    html + "</table>"
}

/// The validation report of `metrics.json`: its numbers, then its tables.
fn scores(valid: &serde_json::Map<String, Value>) -> String {
    let mut numbers = Vec::new();
    let mut tables = String::new();
    let labels: Vec<String> = valid
        .get("per_class")
        .and_then(Value::as_array)
        .map(|rows| {
            rows.iter()
                .filter_map(|r| Some(r.get("label")?.as_str()?.to_string()))
                .collect()
        })
        .unwrap_or_default();
    for (key, value) in valid {
        match value {
            Value::Array(rows) if rows.iter().all(Value::is_object) && !rows.is_empty() => {
                let rows: Vec<(String, &serde_json::Map<String, Value>)> = rows
                    .iter()
                    .filter_map(Value::as_object)
                    .enumerate()
                    .map(|(i, r)| {
                        let name = ["label", "name", "type"]
                            .iter()
                            .find_map(|k| r.get(*k).and_then(Value::as_str))
                            .map_or_else(|| i.to_string(), str::to_string);
                        (name, r)
                    })
                    .collect();
                tables += &format!("<h3>{}</h3>{}", escape(key), records_table(&rows, "label"));
            }
            Value::Array(rows) if rows.iter().all(Value::is_array) && !rows.is_empty() => {
                let matrix: Option<Vec<Vec<u64>>> = rows
                    .iter()
                    .map(|r| r.as_array()?.iter().map(Value::as_u64).collect())
                    .collect();
                if let Some(matrix) = matrix {
                    tables += &format!(
                        "<h3>{}</h3>{}",
                        escape(key),
                        confusion_table(&matrix, &labels)
                    );
                }
            }
            Value::Object(map) if map.values().all(Value::is_object) && !map.is_empty() => {
                let rows: Vec<(String, &serde_json::Map<String, Value>)> = map
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_object()?)))
                    .collect();
                tables += &format!("<h3>{}</h3>{}", escape(key), records_table(&rows, "type"));
            }
            Value::Array(_) | Value::Object(_) => {}
            scalar => numbers.push((key.clone(), cell(scalar))),
        }
    }
    pairs_table(&numbers) + &tables
}

/// The whole page.
fn page(
    output: &Path,
    entries: &[Entry],
    metrics: Option<&Value>,
    recipe: Option<&Value>,
) -> Result<String, TrainError> {
    let mut body = String::new();
    // Timings.
    let last = |key: &str| entries.iter().rev().find_map(|e| e.get(key)?.as_f64());
    let evaluations = entries
        .iter()
        .filter(|e| e.contains_key("eval_loss"))
        .count();
    let mut run = vec![
        (
            "training time".to_string(),
            last("elapsed_s").map_or("–".into(), |s| format!("{s:.1} s")),
        ),
        (
            "optimizer steps".to_string(),
            last("step").map_or("–".into(), |s| format!("{s}")),
        ),
        (
            "epochs".to_string(),
            last("epoch").map_or("–".into(), format_value),
        ),
        ("validations".to_string(), evaluations.to_string()),
    ];
    if let (Some(seconds), Some(steps)) = (last("elapsed_s"), last("step"))
        && seconds > 0.0
    {
        run.push(("steps / s".into(), format_value(steps / seconds)));
    }
    if let Some(metrics) = metrics {
        for key in ["epoch", "global_step", "epochs_run"] {
            if let Some(v) = metrics.get(key) {
                let name = match key {
                    "epoch" => "chosen validation",
                    "global_step" => "chosen model's step",
                    _ => "validations run",
                };
                run.push((name.into(), cell(v)));
            }
        }
    }
    body += &format!("<h2>Run</h2>{}", pairs_table(&run));
    body += "<h2>Curves</h2><div class=\"charts\">";
    for (title, lines) in charts(entries) {
        body += &format!("<figure>{}</figure>", chart(&title, &lines)?);
    }
    body += "</div>";
    match metrics
        .and_then(|m| m.get("valid"))
        .and_then(Value::as_object)
    {
        Some(valid) => body += &format!("<h2>Validation scores of the model</h2>{}", scores(valid)),
        None => {
            body += "<h2>Validation scores of the model</h2><p>No metrics.json: the run did \
                         not finish.</p>"
        }
    }
    if let Some(Value::Object(recipe)) = recipe {
        let sorted: BTreeMap<&String, &Value> = recipe.iter().collect();
        let rows: Vec<(String, String)> = sorted
            .into_iter()
            .map(|(k, v)| (k.clone(), cell(v)))
            .collect();
        body += &format!("<h2>Recipe</h2>{}", pairs_table(&rows));
    }
    let title = format!("burnbert run: {}", output.display());
    Ok(format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title><style>\
         body{{font-family:sans-serif;margin:2em;color:#222}}\
         table{{border-collapse:collapse;margin:.5em 0 1.5em}}\
         th,td{{border:1px solid #ccc;padding:.25em .6em;text-align:right}}\
         th{{background:#f4f4f4;text-align:left}}\
         .charts{{display:flex;flex-wrap:wrap;gap:8px}}\
         figure{{margin:0;border:1px solid #eee}}\
         </style></head><body><h1>{title}</h1>{body}</body></html>\n",
        title = escape(&title),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entries() -> Vec<Entry> {
        let list = json!([
            {"step": 1, "epoch": 0.5, "loss": 0.9, "learning_rate": 1e-3,
             "learning_rate/head": 2e-3, "learning_rate/layer_0": 1e-3, "grad_norm": 2.5,
             "accuracy": 0.25, "elapsed_s": 1.0},
            {"step": 2, "epoch": 1.0, "loss": 0.7, "learning_rate": 5e-4,
             "learning_rate/head": 1e-3, "learning_rate/layer_0": 5e-4, "grad_norm": 1.5,
             "accuracy": 0.5, "elapsed_s": 2.0},
            {"step": 2, "epoch": 1.0, "eval_loss": 0.8, "eval_accuracy": 0.75,
             "elapsed_s": 2.5}
        ]);
        serde_json::from_value(list).unwrap()
    }

    #[test]
    fn the_history_becomes_one_chart_per_quantity() {
        let charts = charts(&entries());
        let titles: Vec<&str> = charts.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Loss",
                "Validation accuracy",
                "Training accuracy",
                "Learning rate per parameter group",
                "Gradient norm (before clipping)"
            ]
        );
        assert_eq!(
            charts[0].1,
            vec![
                ("train".to_string(), vec![(1.0, 0.9), (2.0, 0.7)]),
                ("validation".to_string(), vec![(2.0, 0.8)])
            ]
        );
        let groups: Vec<&str> = charts[3].1.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(groups, ["head", "layer_0"]);
    }

    #[test]
    fn the_page_shows_the_scores_the_confusion_matrix_and_the_recipe() {
        let metrics = json!({
            "epoch": 1, "global_step": 2, "epochs_run": 1,
            "valid": {
                "accuracy": 0.75,
                "per_class": [
                    {"label": "neg", "precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2},
                    {"label": "pos", "precision": 0.6667, "recall": 1.0, "f1": 0.8, "support": 2}
                ],
                "confusion_matrix": [[1, 1], [0, 2]]
            }
        });
        let recipe = json!({"learning_rate": 0.001, "report_to": "none"});
        let page = page(Path::new("run"), &entries(), Some(&metrics), Some(&recipe)).unwrap();
        assert_eq!(page.matches("<svg").count(), 5);
        for expected in [
            "<th>accuracy</th><td>0.75</td>",
            "<tr><th>label</th><th>precision</th><th>recall</th><th>f1</th><th>support</th></tr>",
            "<tr><th>neg</th><td>1</td><td>0.5</td><td>0.6667</td><td>2</td></tr>",
            "<th>true \\ predicted</th><th>neg</th><th>pos</th>",
            "<th>learning_rate</th><td>0.001</td>",
            "<th>chosen model's step</th><td>2</td>",
            "<th>training time</th><td>2.5 s</td>",
        ] {
            assert!(page.contains(expected), "{expected} not in the page");
        }
        // The confusion matrix's cells, shaded by count.
        assert!(page.contains("rgba(31,119,180,1.000);color:#fff\">2</td>"));
        assert!(page.contains("rgba(31,119,180,0.000);color:#000\">0</td>"));
    }

    #[test]
    fn a_folder_that_is_not_a_run_and_an_unreadable_file_are_errors() {
        let dir = std::env::temp_dir().join(format!("burnbert-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let error = write(&dir).unwrap_err().to_string();
        assert!(
            error.contains("not the output folder of a burnbert training run"),
            "{error}"
        );
        std::fs::write(dir.join(HISTORY), "[]").unwrap();
        std::fs::write(dir.join("metrics.json"), "{bad").unwrap();
        let error = write(&dir).unwrap_err().to_string();
        assert!(error.contains("metrics.json"), "{error}");
        // An empty history and no metrics: a page without curves that says so.
        std::fs::remove_file(dir.join("metrics.json")).unwrap();
        let page = std::fs::read_to_string(write(&dir).unwrap()).unwrap();
        assert!(page.contains("the run did not finish"), "{page}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(format_value(0.123456), "0.1235");
        assert_eq!(format_value(2.0), "2");
        assert_eq!(format_value(2e-5), "2.000e-5");
        assert_eq!(format_value(0.0), "0");
    }
}
