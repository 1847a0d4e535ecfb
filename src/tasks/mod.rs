//! The fine-tuning tasks, a module each, listed once in [`tasks!`]: a task's module holds its
//! data reader, its encoding into batches, the loss of its head, its metrics and evaluation
//! (its [`Task`](burnbert_train::task::Task) and [`HfTask`](burnbert_train::task::HfTask)
//! impls), its pipeline and typed output, its `fine_tune_*` shorthand and, with the `cli`
//! feature, what `burnbert train / eval / predict` do with it (`cli.rs`: `train`, `eval`,
//! `predict`).
//!
//! Its line below names the [`TaskName`] variant (whose kebab case is the `--task` value), the
//! module, and the head, whose class name after the family's (`BertFor...`) is what
//! `architectures` in `config.json` ends with.
//!
//! Only `data` and `pipeline` of a task's module are inference: they use the model and data
//! crates, never the training crate.

use burnbert_model::BertConfig;

/// Declares the task modules, [`TaskName`], its dispatch, and [`pipelines`] from one list of
/// `Variant => module (HeadModel)` lines.
macro_rules! tasks {
    ($($variant:ident => $module:ident ($model:ty)),+ $(,)?) => {
        $(pub mod $module;)+

        /// Each task's pipeline, its output and options (re-exported in
        /// [`pipeline`](crate::pipeline)).
        pub mod pipelines {
            $(pub use super::$module::pipeline::*;)+
        }

        /// A task burnbert fine-tunes, evaluates and predicts with: its `burnbert --task`
        /// value is the variant's name in kebab case (`sequence-classification`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
        pub enum TaskName {
            $(
                #[doc = concat!("`", stringify!($module), "`: the head `", stringify!($model), "`.")]
                $variant,
            )+
        }

        impl TaskName {
            /// The task of a model's head, from `architectures` (`BertForTokenClassification`,
            /// `DistilBertFor...`: what follows `For`); `None` for an encoder alone.
            pub fn of(config: &BertConfig) -> Option<TaskName> {
                let architecture = config.architectures.as_ref()?.first()?;
                $(if architecture.ends_with(concat!("For", stringify!($variant))) {
                    return Some(TaskName::$variant);
                })+
                None
            }
        }

        #[cfg(feature = "cli")]
        impl TaskName {
            /// `burnbert train --task` this.
            pub(crate) fn train(
                self,
                job: &mut crate::cli::jobs::TrainJob,
                columns: &crate::cli::jobs::DataArgs,
                device: &burn::tensor::Device,
            ) -> anyhow::Result<()> {
                match self {
                    $(TaskName::$variant => $module::cli::train(job, columns, device),)+
                }
            }

            /// `burnbert eval` of a model with this head.
            pub(crate) fn eval(
                self,
                job: &crate::cli::jobs::EvalJob,
                columns: &crate::cli::jobs::DataArgs,
                device: &burn::tensor::Device,
            ) -> anyhow::Result<()> {
                match self {
                    $(TaskName::$variant => $module::cli::eval(job, columns, device),)+
                }
            }

            /// `burnbert predict` with a model with this head.
            pub(crate) fn predict(
                self,
                job: crate::cli::jobs::PredictJob,
                device: &burn::tensor::Device,
            ) -> anyhow::Result<()> {
                match self {
                    $(TaskName::$variant => $module::cli::predict(job, device),)+
                }
            }

            /// Loads `model` with this head: its parameter count and load report.
            pub(crate) fn load(
                self,
                model: &str,
                device: &burn::tensor::Device,
            ) -> anyhow::Result<(usize, burnbert_model::weights::LoadReport)> {
                match self {
                    $(TaskName::$variant => crate::cli::jobs::counted::<$model>(model, device),)+
                }
            }

            /// The `--task` value.
            pub(crate) fn name(self) -> String {
                clap::ValueEnum::to_possible_value(&self)
                    .expect("no variant is skipped")
                    .get_name()
                    .to_string()
            }
        }
    };
}

tasks! {
    SequenceClassification => sequence_classification (burnbert_model::BertForSequenceClassification),
    TokenClassification => token_classification (burnbert_model::BertForTokenClassification),
    QuestionAnswering => question_answering (burnbert_model::BertForQuestionAnswering),
    MaskedLM => masked_lm (burnbert_model::BertForMaskedLM),
}
