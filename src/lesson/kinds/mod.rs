//! The kinds of lesson, one module each, and the registry that names them.
//!
//! A kind owns everything that differs between lessons: the fields its files take (its
//! file struct), how they are checked, the steps it computes from them with
//! [`crate::nn::ops`], the placeholders its text may use, and what a learner can do with it
//! (edit cells, draw new drops, try preset filters, go on to training).
//!
//! Adding a kind: write `kinds/<name>.rs` with a file struct that implements [`KindFile`]
//! (or [`ImageKindFile`], for a kind built on the shared [`maps::ImageFile`]) and a spec
//! that implements [`LessonKind`], then add one line to [`KINDS`].

use std::sync::Arc;

use ndarray::Array2;
use serde::de::DeserializeOwned;

use crate::lesson::check::{field_names, Ctx};
use crate::lesson::frame::Step;
use crate::lesson::model::Lesson;
use crate::Result;

pub(crate) mod architecture;
pub(crate) mod backprop;
pub(crate) mod convolution;
pub(crate) mod dropout;
pub(crate) mod experiment;
pub(crate) mod flatten;
pub(crate) mod fully_connected;
pub(crate) mod maps;
pub(crate) mod occlusion;
pub(crate) mod pooling;
pub(crate) mod relu;
pub(crate) mod train;

/// Every kind, in the order an unknown `kind` lists them.
pub(crate) const KINDS: &[Registration] = &[
    register_image::<convolution::File>(),
    register_image::<relu::File>(),
    register_image::<pooling::File>(),
    register_image::<dropout::File>(),
    register_image::<flatten::File>(),
    register::<fully_connected::File>(),
    register::<architecture::File>(),
    register::<backprop::File>(),
    register::<train::File>(),
    register::<occlusion::File>(),
    register::<experiment::File>(),
];

/// The fields of one kind's lesson files (besides `id`, `title`, `summary`, `kind` and
/// `[text]`), read with serde from the same file; each field is an `Option<Spanned<_>>`
/// so that errors name its line. Fields of no part of the lesson are refused before it is
/// read, with the list of those this kind takes (its field names, read from the struct).
pub(crate) trait KindFile: DeserializeOwned + 'static {
    /// The name lesson files give in `kind = "..."`.
    const NAME: &'static str;

    /// The placeholders the kind fills in text block `block` (`"text.step"`).
    fn placeholders(_block: &str) -> &'static [&'static str] {
        &[]
    }

    /// Check the fields and build the lesson's inputs; errors point into the file.
    fn check(self, ctx: &Ctx) -> Result<Arc<dyn LessonKind>>;
}

/// The file of an image kind (convolution, relu, pooling, dropout, flatten): the shared
/// image-and-filter fields ([`maps::ImageFile`], of which the kind takes those `TAKES`
/// names), read from the same file as the kind's own fields (this struct: dropout's p,
/// seed and picture; the others have none) and checked once, in `maps`.
pub(crate) trait ImageKindFile: DeserializeOwned + 'static {
    /// The name lesson files give in `kind = "..."`.
    const NAME: &'static str;

    /// Which of the shared image fields the kind takes.
    const TAKES: maps::Takes;

    /// The placeholders the kind fills in text block `block` (`"text.step"`).
    fn placeholders(_block: &str) -> &'static [&'static str] {
        &[]
    }

    /// Check the fields (the shared ones with [`maps::ImageFile::check`]) and build the
    /// lesson's inputs; errors point into the file.
    fn check(self, ctx: &Ctx, image: maps::ImageFile) -> Result<Arc<dyn LessonKind>>;
}

/// A checked lesson of one kind: its inputs as the file gave them, and what it does.
///
/// Methods with a default are capabilities a kind may offer; a later capability (say,
/// questions for a "your turn" step) is one more method with a default here.
pub(crate) trait LessonKind: std::fmt::Debug + Send + Sync {
    /// Every step, computed from the lesson's current inputs (the learner's edits included).
    fn steps(&self, lesson: &Lesson) -> Result<Vec<Step>>;

    /// The matrices a learner may edit, with their screen names and first values.
    fn matrices(&self) -> Vec<(String, Array2<f32>)> {
        Vec::new()
    }

    /// The dropout probability and seed the lesson starts with, if the learner can change
    /// them (`[`/`]` and re-roll).
    fn dropout(&self) -> Option<(f32, u64)> {
        None
    }

    /// Whether well-known 3x3 filters may be put into the first filter.
    fn filter_presets(&self) -> bool {
        false
    }

    /// Whether the lesson leads on to the training screen.
    fn opens_training(&self) -> bool {
        false
    }

    /// The lab setup the training screen opens with from step `step` (an experiment's);
    /// `None` keeps the learner's last settings.
    fn lab(&self, _step: usize) -> Option<crate::train::lab::LabSetup> {
        None
    }

    /// Whether the lesson shows the whole network, so a trained model may be looked
    /// inside from it (the inspector).
    fn inspects_model(&self) -> bool {
        false
    }

    /// The class names and the file's target class, if the learner can change the target
    /// (`t`) and the number of update steps (`<`/`>`): a lesson of one training step.
    fn target_classes(&self) -> Option<(&[String], usize)> {
        None
    }

    /// "Your turn": what the learner is asked to work out in these steps (computed from
    /// the lesson's current inputs, so questions follow the learner's edits). The default
    /// asks the value each step writes (its one emphasised cell), with its formula as the
    /// working: see [`crate::lesson::quiz::from_steps`].
    fn questions(&self, _lesson: &Lesson, steps: &[Step]) -> Vec<crate::lesson::quiz::Question> {
        crate::lesson::quiz::from_steps(steps)
    }
}

/// What the app offers on a lesson, as the screens ask it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// `r` draws new random drops and `[`/`]` change the dropout probability.
    pub dropout: bool,
    /// Well-known 3x3 filters can be put into the first filter.
    pub filter_presets: bool,
    /// Cells of at least one matrix can be edited.
    pub editable: bool,
    /// The lesson leads on to the training screen (`s` trains, Enter opens settings).
    pub training: bool,
    /// The lesson shows the whole network: `i` looks inside a trained model.
    pub inspect: bool,
    /// One training step worked out: `t` changes the target class, `<`/`>` the number
    /// of update steps taken.
    pub training_step: bool,
}

/// The checks every lesson shares, run by [`Registration::load`] between reading a kind's
/// fields and checking them.
pub(crate) type Between<'a> = &'a mut dyn FnMut() -> Result<()>;

/// One kind as the loader knows it.
pub(crate) struct Registration {
    /// `kind = "..."`.
    pub name: &'static str,
    /// Its own fields, in declaration order (an image kind: the shared image fields it
    /// takes, then its own).
    pub fields: fn() -> Vec<&'static str>,
    /// Placeholders per text block.
    pub placeholders: fn(&str) -> &'static [&'static str],
    /// Read the kind's fields from the file (a wrong type is an error here), run `between`
    /// (the checks every lesson shares), then check the kind's fields.
    pub load: fn(&Ctx, Between) -> Result<Arc<dyn LessonKind>>,
}

const fn register<F: KindFile>() -> Registration {
    Registration {
        name: F::NAME,
        fields: own_fields::<F>,
        placeholders: F::placeholders,
        load: load::<F>,
    }
}

/// A kind's fields: its file struct's.
fn own_fields<F: KindFile>() -> Vec<&'static str> {
    field_names::<F>().to_vec()
}

fn load<F: KindFile>(ctx: &Ctx, between: Between) -> Result<Arc<dyn LessonKind>> {
    let file = ctx.parse::<F>()?;
    between()?;
    file.check(ctx)
}

const fn register_image<F: ImageKindFile>() -> Registration {
    Registration {
        name: F::NAME,
        fields: image_fields::<F>,
        placeholders: F::placeholders,
        load: load_image::<F>,
    }
}

/// The shared image fields an image kind takes, then its own.
fn image_fields<F: ImageKindFile>() -> Vec<&'static str> {
    let mut fields = F::TAKES.fields();
    fields.extend(field_names::<F>());
    fields
}

/// Read the shared image fields and the kind's own from the file (a wrong type is an
/// error here, the first in the file as one struct would report it), run `between`, then
/// check them.
fn load_image<F: ImageKindFile>(ctx: &Ctx, between: Between) -> Result<Arc<dyn LessonKind>> {
    let (image, file) = crate::lesson::check::parse_both::<maps::ImageFile, F>(ctx.name, ctx.text)?;
    between()?;
    file.check(ctx, image)
}

/// The registered kind called `name`.
pub(crate) fn find(name: &str) -> Option<&'static Registration> {
    KINDS.iter().find(|k| k.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_unique_and_every_kind_lists_its_fields() {
        for (i, k) in KINDS.iter().enumerate() {
            assert!(KINDS[..i].iter().all(|o| o.name != k.name), "{}", k.name);
        }
        assert_eq!(
            (find("pooling").unwrap().fields)(),
            [
                "image",
                "kernel",
                "stride",
                "padding",
                "edge_fill",
                "pool_size",
                "pool_stride"
            ]
        );
        assert_eq!((find("train").unwrap().fields)(), ["classes"]);
        assert!(find("nope").is_none());
    }

    /// The image kinds read the shared fields and their own in two passes; a file with
    /// wrong values in both gets the message one struct with every field gave (the first
    /// wrong value in the file), word for word.
    #[test]
    fn two_passes_report_the_error_one_struct_did() {
        use crate::lesson::check::{parse, parse_both, Matrix};
        use crate::Error;
        use toml::Spanned;

        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct OneStruct {
            image: Option<Spanned<Matrix>>,
            kernel: Option<Spanned<Matrix>>,
            kernels: Option<Spanned<Vec<Matrix>>>,
            stride: Option<Spanned<usize>>,
            padding: Option<Spanned<usize>>,
            edge_fill: Option<Spanned<f32>>,
            pool_size: Option<Spanned<usize>>,
            pool_stride: Option<Spanned<usize>>,
            dropout_p: Option<Spanned<f32>>,
            seed: Option<Spanned<u64>>,
            shape: Option<Spanned<crate::data::Shape>>,
            image_size: Option<Spanned<usize>>,
        }
        let msg = |r: Result<()>| match r {
            Err(Error::Lesson(m)) => m,
            other => format!("{other:?}"),
        };
        let head = "id = \"d\"\ntitle = \"D\"\nkind = \"dropout\"\nkernel = [[1]]\n";
        for body in [
            "stride = \"two\"\ndropout_p = \"half\"\n",
            "dropout_p = \"half\"\nstride = \"two\"\n",
            "shape = \"hexagon\"\nimage = [[1, \"a\"]]\n",
            "image = [[1, \"a\"]]\nseed = -1\n",
            "seed = -1\n",
            "pool_size = 1.5\n",
            "image = [[1]]\n",
        ] {
            let text = format!("{head}{body}");
            let one = msg(parse::<OneStruct>("x.toml", &text).map(|_| ()));
            let two =
                msg(parse_both::<maps::ImageFile, dropout::File>("x.toml", &text).map(|_| ()));
            assert_eq!(one, two, "{body}");
        }
    }
}
