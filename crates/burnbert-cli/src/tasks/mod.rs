//! The tasks of `train`, `eval` and `predict`: a module each, listed once in [`tasks!`].
//!
//! A task's module has `train(&mut TrainJob, &DataArgs, &Device)`, `eval(&EvalJob, &DataArgs,
//! &Device)` and `predict(PredictJob, &Device)`; its line below names its `--task` value, its
//! module and the `BertFor*` class of its head (whose name, after `Bert`, is what
//! `architectures` in `config.json` ends with).

use anyhow::Result;
use burnbert::BertConfig;
use burnbert::burn::tensor::Device;
use burnbert::model::weights::{HfModel, LoadReport};
use clap::ValueEnum;

use crate::jobs::{EvalJob, PredictJob, TrainJob, load};

/// Declares the task modules, the `Task` enum of `--task` and its dispatch from one list of
/// `Variant => module (HeadModel)` lines.
macro_rules! tasks {
    ($($variant:ident => $module:ident ($model:ty)),+ $(,)?) => {
        $(pub(crate) mod $module;)+

        /// A task: its `--task` value is the variant's name in kebab case.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
        pub(crate) enum Task {
            $($variant,)+
        }

        impl Task {
            /// The task of a model's head, from `architectures` (`BertForTokenClassification`,
            /// `DistilBertFor...`: what follows `For`); `None` for an encoder alone.
            pub(crate) fn of(config: &BertConfig) -> Option<Task> {
                let architecture = config.architectures.as_ref()?.first()?;
                $(if architecture.ends_with(concat!("For", stringify!($variant))) {
                    return Some(Task::$variant);
                })+
                None
            }

            /// `burnbert train --task` this.
            pub(crate) fn train(
                self,
                job: &mut TrainJob,
                columns: &classification::DataArgs,
                device: &Device,
            ) -> Result<()> {
                match self {
                    $(Task::$variant => $module::train(job, columns, device),)+
                }
            }

            /// `burnbert eval` of a model with this head.
            pub(crate) fn eval(
                self,
                job: &EvalJob,
                columns: &classification::DataArgs,
                device: &Device,
            ) -> Result<()> {
                match self {
                    $(Task::$variant => $module::eval(job, columns, device),)+
                }
            }

            /// `burnbert predict` with a model with this head.
            pub(crate) fn predict(self, job: PredictJob, device: &Device) -> Result<()> {
                match self {
                    $(Task::$variant => $module::predict(job, device),)+
                }
            }

            /// Loads `model` with this head: its parameter count and load report.
            pub(crate) fn load(self, model: &str, device: &Device) -> Result<(usize, LoadReport)> {
                match self {
                    $(Task::$variant => counted::<$model>(model, device),)+
                }
            }
        }
    };
}

tasks! {
    SequenceClassification => classification (burnbert::BertForSequenceClassification),
    TokenClassification => token_classification (burnbert::BertForTokenClassification),
    QuestionAnswering => question_answering (burnbert::BertForQuestionAnswering),
}

impl Task {
    /// The `--task` value.
    pub(crate) fn name(self) -> String {
        self.to_possible_value()
            .expect("no variant is skipped")
            .get_name()
            .to_string()
    }
}

/// Loads `model` as an `M`: its parameter count and load report.
pub(crate) fn counted<M: HfModel>(model: &str, device: &Device) -> Result<(usize, LoadReport)> {
    let bert = load::<M>(model, device)?;
    Ok((bert.model.num_params(), bert.report))
}
