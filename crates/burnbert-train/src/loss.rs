//! The recipe's settings of a task's cross-entropy: label smoothing (`label_smoothing_factor`,
//! as HF's `LabelSmoother` applies it) and class weights (`class_weights`: given, or
//! `"balanced"` as scikit-learn's `compute_class_weight` computes them), for the tasks whose
//! loss is a cross-entropy over class labels. The other tasks refuse them by name.

use burnbert_model::loss::CrossEntropyOptions;

use crate::{ClassWeightMode, ClassWeights, TrainError, TrainingConfig};

/// scikit-learn's `compute_class_weight("balanced", classes=range(len(counts)), y=...)`:
/// `n_samples / (n_classes · count)` for each class, from the count of each class (id order)
/// in the training labels; a class that never occurs is an error naming it (`labels`: the names
/// in id order), as scikit-learn refuses one.
///
/// # Errors
/// [`TrainError::Config`] on `class_weights` for a class with no training example.
pub fn balanced_class_weights(counts: &[usize], labels: &[String]) -> Result<Vec<f64>, TrainError> {
    if let Some(class) = counts.iter().position(|&c| c == 0) {
        return Err(TrainError::Config {
            field: "class_weights",
            message: format!(
                "\"balanced\" weighs a class by its training examples, and '{}' has none",
                labels.get(class).map_or("?", String::as_str)
            ),
        });
    }
    let samples: usize = counts.iter().sum();
    Ok(counts
        .iter()
        .map(|&c| samples as f64 / (counts.len() * c) as f64)
        .collect())
}

/// The cross-entropy settings `args` give a task with the classes `labels` (id order), whose
/// training labels are counted in `counts` (same order).
///
/// # Errors
/// [`TrainError::Config`] on `class_weights`: a list whose length is not the number of labels,
/// or `"balanced"` with a class that has no training example.
pub fn cross_entropy_options(
    args: &TrainingConfig,
    labels: &[String],
    counts: &[usize],
) -> Result<CrossEntropyOptions, TrainError> {
    let weight = match &args.class_weights {
        None => None,
        Some(ClassWeights::Mode(ClassWeightMode::Balanced)) => {
            Some(balanced_class_weights(counts, labels)?)
        }
        Some(ClassWeights::Given(weights)) if weights.len() != labels.len() => {
            return Err(TrainError::Config {
                field: "class_weights",
                message: format!(
                    "gives {} weights for {} labels ({})",
                    weights.len(),
                    labels.len(),
                    labels.join(", ")
                ),
            });
        }
        Some(ClassWeights::Given(weights)) => Some(weights.clone()),
    };
    Ok(CrossEntropyOptions {
        weight: weight.map(|w| w.into_iter().map(|w| w as f32).collect()),
        label_smoothing: args.label_smoothing_factor as f32,
    })
}

/// An error when `args` set label smoothing or class weights for `task`, whose loss is not a
/// cross-entropy over class labels.
///
/// # Errors
/// [`TrainError::Config`] naming the setting.
pub fn refuse_cross_entropy_options(args: &TrainingConfig, task: &str) -> Result<(), TrainError> {
    let given = [
        ("label_smoothing_factor", args.label_smoothing_factor != 0.0),
        ("class_weights", args.class_weights.is_some()),
    ];
    match given.iter().find(|(_, given)| *given) {
        Some((field, _)) => Err(TrainError::Config {
            field,
            message: format!(
                "applies to the cross-entropy of class labels (single-label sequence or token \
                 classification); {task} does not use it"
            ),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_weights_are_scikit_learn_s() {
        // sklearn 1.9.1: compute_class_weight("balanced", classes=[0, 1, 2],
        // y=[0]*6 + [1]*3 + [2]) = [0.5556, 1.1111, 3.3333]
        let labels: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let w = balanced_class_weights(&[6, 3, 1], &labels).unwrap();
        let expected = [10.0 / 18.0, 10.0 / 9.0, 10.0 / 3.0];
        assert!(
            w.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-12),
            "{w:?}"
        );
        let err = balanced_class_weights(&[6, 0, 1], &labels)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("class_weights") && err.contains("'b' has none"),
            "{err}"
        );
    }

    #[test]
    fn options_from_the_recipe() {
        let labels: Vec<String> = ["neg", "pos"].map(String::from).to_vec();
        let args = TrainingConfig {
            label_smoothing_factor: 0.1,
            class_weights: Some("1, 3".parse().unwrap()),
            ..Default::default()
        };
        let options = cross_entropy_options(&args, &labels, &[5, 5]).unwrap();
        assert_eq!(options.weight, Some(vec![1.0, 3.0]));
        assert!((options.label_smoothing - 0.1).abs() < 1e-7);
        let args = TrainingConfig {
            class_weights: Some("1,2,3".parse().unwrap()),
            ..Default::default()
        };
        let err = cross_entropy_options(&args, &labels, &[5, 5])
            .unwrap_err()
            .to_string();
        assert!(err.contains("3 weights for 2 labels (neg, pos)"), "{err}");
        assert!("balanced, 2".parse::<ClassWeights>().is_err());
        let err = refuse_cross_entropy_options(&args, "regression")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("class_weights") && err.contains("regression"),
            "{err}"
        );
        assert!(refuse_cross_entropy_options(&TrainingConfig::default(), "regression").is_ok());
    }

    #[test]
    fn recipe_files_take_both_forms() {
        let from = |toml: &str| -> TrainingConfig { toml::from_str(toml).unwrap() };
        assert_eq!(
            from("class_weights = \"balanced\"").class_weights,
            Some(ClassWeights::Mode(ClassWeightMode::Balanced))
        );
        assert_eq!(
            from("class_weights = [1.0, 2.5]").class_weights,
            Some(ClassWeights::Given(vec![1.0, 2.5]))
        );
        assert_eq!(
            from("class_weights = \"1, 2.5\"").class_weights,
            Some(ClassWeights::Given(vec![1.0, 2.5]))
        );
        let err = toml::from_str::<TrainingConfig>("class_weights = \"1,x\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("class_weights: 'x' is not a number"), "{err}");
        let bad = TrainingConfig {
            class_weights: Some(ClassWeights::Given(vec![-1.0, 2.0])),
            ..Default::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("class_weights")
        );
        let bad = TrainingConfig {
            label_smoothing_factor: 1.0,
            ..Default::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("label_smoothing_factor")
        );
    }
}
