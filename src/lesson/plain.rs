//! Frames as plain text: handouts, screen readers, tests. No escape codes.

use crate::lesson::frame::Frame;

/// One frame as plain text.
pub fn render(frame: &Frame) -> String {
    let mut out = format!("{}\n", frame.heading);
    for p in &frame.text {
        out.push_str(p);
        out.push('\n');
    }
    out
}
