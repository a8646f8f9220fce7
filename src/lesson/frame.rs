//! What one step of a lesson shows. The kinds build steps; the TUI and the plain printer
//! draw them. A step holds only results: nothing here computes.

/// One step of a lesson: what the screen (or `--plain`) shows at that point.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Short heading of this step ("Window 1 of 16").
    pub heading: String,
    /// Explanation, one paragraph per entry.
    pub text: Vec<String>,
    /// Matrices, images and bars to draw, left to right (or top to bottom when narrow).
    pub panels: Vec<Panel>,
    /// The arithmetic of this step written out, e.g. `(255 x 1) + (255 x -1) + ... = 155`.
    pub formula: Option<String>,
    /// When the step's value is a sum of products (a convolution window, one score of a
    /// fully connected layer), its terms as numbers: the formula's left side is
    /// [`Sum::text`], and "your turn" builds its hints and worked answer from these.
    pub sum: Option<Sum>,
}

/// A sum of products and an optional number added at the end (a bias).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sum {
    /// The `(a, b)` of each product `a x b`, in order.
    pub products: Vec<(f32, f32)>,
    /// The number added after the products, if any.
    pub bias: Option<f32>,
}

impl Sum {
    /// `(a x b) + (c x d) - 0.5`, numbers as [`crate::lesson::fmt_num`] writes them; `0`
    /// for no terms at all.
    pub fn text(&self) -> String {
        use crate::lesson::fmt_num;
        let mut out = self
            .products
            .iter()
            .map(|&(a, b)| format!("({} x {})", fmt_num(a), fmt_num(b)))
            .collect::<Vec<_>>()
            .join(" + ");
        match self.bias {
            Some(b) if out.is_empty() => out = fmt_num(b),
            Some(b) if b < 0.0 => out.push_str(&format!(" - {}", fmt_num(-b))),
            Some(b) => out.push_str(&format!(" + {}", fmt_num(b))),
            None if out.is_empty() => out.push('0'),
            None => {}
        }
        out
    }

    /// Each term's value with its sign, products first, then the bias.
    pub fn values(&self) -> Vec<f32> {
        self.products
            .iter()
            .map(|&(a, b)| a * b)
            .chain(self.bias)
            .collect()
    }
}

/// One thing to draw in a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Panel {
    /// A matrix of numbers.
    Grid(Grid),
    /// A picture (a shape image, a feature map shown as grey levels).
    Image(ImagePanel),
    /// Labelled horizontal bars (class probabilities).
    Bars(Bars),
    /// A 1-D list of numbers with their indices (the flattened vector); long vectors are
    /// drawn wrapped over several lines, `?` for values not filled in yet.
    Vector(Vector),
    /// The stages of a network left to right with each stage's output shape
    /// (`Image 1x128x128 -> Conv 2x128x128 -> ...`); `active` is the stage being explained.
    Pipeline(Pipeline),
}

/// A matrix of numbers, some possibly not yet computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// What the grid is ("Image 6x6", "Feature map 6x6").
    pub label: String,
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Row-major; `None` is a cell not computed yet (drawn as `?`).
    pub cells: Vec<Option<f32>>,
    /// The highlighted window (the filter's position, the pooling window ...).
    pub window: Option<Window>,
    /// Cells to emphasise (the value just written), row-major (row, col).
    pub emphasis: Vec<(usize, usize)>,
    /// The whole grid was dropped (dropout): draw it faint or struck through and say
    /// "dropped" next to the label. `false` for ordinary grids.
    pub dimmed: bool,
}

impl Grid {
    /// A grid with every cell known, no window, no emphasis, not dimmed.
    pub fn full(label: impl Into<String>, rows: usize, cols: usize, values: &[f32]) -> Self {
        Grid {
            label: label.into(),
            rows,
            cols,
            cells: values.iter().copied().map(Some).collect(),
            window: None,
            emphasis: Vec::new(),
            dimmed: false,
        }
    }

    /// The value at (row, col): `None` when out of range or not computed yet.
    pub fn get(&self, row: usize, col: usize) -> Option<f32> {
        if row < self.rows && col < self.cols {
            self.cells.get(row * self.cols + col).copied().flatten()
        } else {
            None
        }
    }
}

/// A 1-D list of numbers (the flattened vector), indices starting at 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Vector {
    /// What the vector is ("Vector (18 values)", "Scores").
    pub label: String,
    /// `None` is a value not filled in yet (drawn as `?`).
    pub values: Vec<Option<f32>>,
    /// Indices (into `values`) to emphasise (the value just written).
    pub emphasis: Vec<usize>,
    /// The index of `values[0]` in the whole vector: 0, unless this shows a slice of a
    /// long vector (then indices are drawn as `offset + i`).
    pub offset: usize,
    /// Names to show instead of indices (class names for scores); empty: show indices.
    pub names: Vec<String>,
}

/// The stages of a network and the shape each one outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// What the pipeline is ("The network").
    pub label: String,
    /// The stages in order, input first.
    pub stages: Vec<Stage>,
    /// Index into `stages` of the stage this step explains.
    pub active: Option<usize>,
}

/// One stage of a [`Pipeline`].
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// What the stage does ("Convolution, 2 filters 3x3").
    pub name: String,
    /// The shape it outputs, channels x height x width ("2x128x128"), or a length ("8192").
    pub shape: String,
}

/// A rectangle of cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Top row of the rectangle.
    pub row: usize,
    /// Left column of the rectangle.
    pub col: usize,
    /// Rows covered.
    pub height: usize,
    /// Columns covered.
    pub width: usize,
}

/// A small RGB image (row-major, 3 bytes per pixel).
#[derive(Debug, Clone, PartialEq)]
pub struct ImagePanel {
    /// What the picture shows ("Feature map 1", "Mirrored (left-right)").
    pub label: String,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height * 3` bytes, row-major, red-green-blue.
    pub rgb: Vec<u8>,
}

/// Labelled values drawn as horizontal bars (class probabilities).
#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    /// What the bars are ("Probabilities").
    pub label: String,
    /// (name, value) pairs in order; probabilities lie in 0..=1.
    pub items: Vec<(String, f32)>,
}
