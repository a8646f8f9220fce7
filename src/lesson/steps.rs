//! The step engine: turns a lesson into frames by calling [`crate::nn::ops`].

use crate::lesson::frame::Frame;
use crate::lesson::model::Lesson;
use crate::Result;

/// Every frame of `lesson`, computed from its current inputs.
pub fn frames(lesson: &Lesson) -> Result<Vec<Frame>> {
    Ok(vec![Frame {
        heading: lesson.title().to_string(),
        text: lesson.spec.text.intro.clone(),
        panels: Vec::new(),
        formula: None,
    }])
}
