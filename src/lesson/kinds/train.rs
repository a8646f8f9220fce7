//! Training the real network: words and the network's stages here; the training screen
//! itself lives in `tui::training`.

use std::sync::Arc;

use serde::Deserialize;

use super::{KindFile, LessonKind};
use crate::lesson::check::Ctx;
use crate::lesson::draw::step;
use crate::lesson::frame::{Panel, Pipeline, Stage, Step};
use crate::lesson::model::Lesson;
use crate::Result;

/// A train lesson takes no numbers.
#[derive(Debug, Deserialize)]
pub(crate) struct File {}

impl KindFile for File {
    const NAME: &'static str = "train";

    fn check(self, _ctx: &Ctx) -> Result<Arc<dyn LessonKind>> {
        Ok(Arc::new(Train))
    }
}

/// A checked train lesson.
#[derive(Debug)]
struct Train;

impl LessonKind for Train {
    fn opens_training(&self) -> bool {
        true
    }

    fn steps(&self, l: &Lesson) -> Result<Vec<Step>> {
        let t = l.text();
        // the seed's network, its shapes worked out from a 3x128x128 input
        let (s, c1, c3) = (128usize, 12usize, 24usize);
        let (s2, s4) = (s / 2, s / 4);
        let stages = vec![
            ("Image (colour)", format!("3x{s}x{s}")),
            ("conv1: 12 filters 3x3, padding 1", format!("{c1}x{s}x{s}")),
            ("max pool 2x2 + ReLU", format!("{c1}x{s2}x{s2}")),
            (
                "conv2: 12 filters 3x3, padding 1",
                format!("{c1}x{s2}x{s2}"),
            ),
            ("max pool 2x2 + ReLU", format!("{c1}x{s4}x{s4}")),
            (
                "conv3: 24 filters 3x3, padding 1",
                format!("{c3}x{s4}x{s4}"),
            ),
            (
                "Dropout2d p=0.2 + ReLU + dropout",
                format!("{c3}x{s4}x{s4}"),
            ),
            ("Flatten", (c3 * s4 * s4).to_string()),
            ("Fully connected", "3".to_string()),
            ("Log-softmax", "3".to_string()),
        ];
        let pipe = Panel::Pipeline(Pipeline {
            label: "The network that will be trained".into(),
            stages: stages
                .into_iter()
                .map(|(n, sh)| Stage {
                    name: n.into(),
                    shape: sh,
                })
                .collect(),
            active: None,
        });
        let mut frames = vec![step(
            l.title().to_string(),
            t.intro.clone(),
            vec![pipe.clone()],
        )];
        if !t.step.is_empty() || !t.result.is_empty() || !t.closing.is_empty() {
            frames.push(step(
                "How training works: press s to start",
                [t.step.clone(), t.result.clone(), t.closing.clone()].concat(),
                vec![pipe],
            ));
        }
        Ok(frames)
    }
}
