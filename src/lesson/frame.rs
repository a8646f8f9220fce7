//! What one step of a lesson shows. The step engine builds frames; the TUI and the plain
//! printer draw them. A frame holds only results: nothing here computes.

/// One step of a lesson.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Short heading of this step ("Window 1 of 16").
    pub heading: String,
    /// Explanation, one paragraph per entry.
    pub text: Vec<String>,
    /// Matrices, images and bars to draw, left to right (or top to bottom when narrow).
    pub panels: Vec<Panel>,
    /// The arithmetic of this step written out, e.g. `(255 x 1) + (255 x -1) + ... = 155`.
    pub formula: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Panel {
    Grid(Grid),
    Image(ImagePanel),
    Bars(Bars),
}

/// A matrix of numbers, some possibly not yet computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub label: String,
    pub rows: usize,
    pub cols: usize,
    /// Row-major; `None` is a cell not computed yet (drawn as `?`).
    pub cells: Vec<Option<f32>>,
    /// The highlighted window (the filter's position, the pooling window ...).
    pub window: Option<Window>,
    /// Cells to emphasise (the value just written), row-major (row, col).
    pub emphasis: Vec<(usize, usize)>,
}

/// A rectangle of cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub row: usize,
    pub col: usize,
    pub height: usize,
    pub width: usize,
}

/// A small RGB image (row-major, 3 bytes per pixel).
#[derive(Debug, Clone, PartialEq)]
pub struct ImagePanel {
    pub label: String,
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
}

/// Labelled values drawn as horizontal bars (class probabilities).
#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    pub label: String,
    pub items: Vec<(String, f32)>,
}
