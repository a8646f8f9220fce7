//! The seed course's numbers (layers in a CNN, first half) must come out of the lessons
//! exactly: the 16 interior cells of the convolution, the padded feature map, the ReLU
//! map and the pooled map. Source: ../shared/seed (the 6x6 image and the filter
//! `1 -1 1 / -1 0 -1 / 1 -1 1`); all inputs are integers, so every output is exact.

use cnn_tutor::lesson::frame::{Grid, Panel, Step};
use cnn_tutor::lesson::{self, Lesson};

const FEATURE_MAP: [[f32; 6]; 6] = [
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 155.0, -155.0, 155.0, -155.0, 0.0],
    [0.0, -155.0, 310.0, -155.0, 155.0, 0.0],
    [0.0, 310.0, 155.0, 310.0, 0.0, 0.0],
    [0.0, -155.0, -155.0, -155.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
];

const RELU_MAP: [[f32; 6]; 6] = [
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 155.0, 0.0, 155.0, 0.0, 0.0],
    [0.0, 0.0, 310.0, 0.0, 155.0, 0.0],
    [0.0, 310.0, 155.0, 310.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
];

/// 2x2 max pooling, stride 2, of RELU_MAP (worked by hand: e.g. the seed's top-left
/// patch `0 0 / 0 155` gives 155).
const POOLED: [[f32; 3]; 3] = [[155.0, 155.0, 0.0], [310.0, 310.0, 155.0], [0.0, 0.0, 0.0]];

fn builtin(id: &str) -> Lesson {
    lesson::builtin()
        .expect("built-in lessons load")
        .into_iter()
        .find(|l| l.id() == id)
        .unwrap_or_else(|| panic!("no built-in lesson {id}"))
}

fn grids(frame: &Step) -> Vec<&Grid> {
    frame
        .panels
        .iter()
        .filter_map(|p| match p {
            Panel::Grid(g) => Some(g),
            _ => None,
        })
        .collect()
}

fn grid_named<'a>(frame: &'a Step, prefix: &str) -> &'a Grid {
    grids(frame)
        .into_iter()
        .find(|g| g.label.starts_with(prefix))
        .unwrap_or_else(|| panic!("no grid `{prefix}` in frame `{}`", frame.heading))
}

fn assert_grid<const R: usize, const C: usize>(g: &Grid, want: &[[f32; C]; R]) {
    assert_eq!((g.rows, g.cols), (R, C), "{}", g.label);
    for (r, row) in want.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            assert_eq!(g.get(r, c), Some(v), "{} at ({r}, {c})", g.label);
        }
    }
}

#[test]
fn convolution_fills_the_sixteen_interior_cells_in_order() {
    let frames = builtin("convolution").frames().unwrap();
    // intro, 16 windows, edges, closing
    assert_eq!(frames.len(), 19);
    let expected_order = [
        155.0, -155.0, 155.0, -155.0, -155.0, 310.0, -155.0, 155.0, 310.0, 155.0, 310.0, 0.0,
        -155.0, -155.0, -155.0, 0.0,
    ];
    for (i, &want) in expected_order.iter().enumerate() {
        let f = &frames[1 + i];
        let (r, c) = (1 + i / 4, 1 + i % 4);
        let out = grid_named(f, "Feature map");
        assert_eq!(out.get(r, c), Some(want), "window {}", i + 1);
        assert_eq!(out.emphasis, vec![(r, c)]);
        // cells not reached yet are unknown
        let known = out.cells.iter().filter(|c| c.is_some()).count();
        assert_eq!(known, i + 1, "window {}", i + 1);
        // the window sits on the image at the patch whose centre is (r, c)
        let img = grid_named(f, "Image");
        let w = img.window.expect("window on the image");
        assert_eq!((w.row, w.col, w.height, w.width), (r - 1, c - 1, 3, 3));
        assert!(f
            .formula
            .as_deref()
            .unwrap()
            .ends_with(&format!("= {want}")));
    }
    // the first formula is the seed's worked example
    assert_eq!(
        frames[1].formula.as_deref().unwrap(),
        "(255 x 1) + (255 x -1) + (255 x 1) + (255 x -1) + (255 x 0) + (100 x -1) + \
         (255 x 1) + (100 x -1) + (100 x 1) = 155"
    );
}

#[test]
fn convolution_pads_the_edges_with_zero() {
    let frames = builtin("convolution").frames().unwrap();
    let edges = &frames[17];
    assert!(edges.heading.contains("edges"), "{}", edges.heading);
    let out = grid_named(edges, "Feature map");
    assert_grid(out, &FEATURE_MAP);
    assert_eq!(out.emphasis.len(), 20, "the 20 border cells are emphasised");
}

#[test]
fn the_products_written_out_add_up_to_what_conv2d_computed() {
    let frames = builtin("convolution").frames().unwrap();
    for f in &frames[1..17] {
        let formula = f.formula.as_deref().unwrap();
        let (lhs, rhs) = formula.rsplit_once(" = ").unwrap();
        let sum: f32 = lhs
            .split(" + ")
            .map(|term| {
                let inner = term.trim_start_matches('(').trim_end_matches(')');
                let (a, b) = inner.split_once(" x ").unwrap();
                a.parse::<f32>().unwrap() * b.parse::<f32>().unwrap()
            })
            .sum();
        assert_eq!(sum, rhs.parse::<f32>().unwrap(), "{formula}");
    }
}

#[test]
fn relu_gives_the_seed_relu_map_cell_by_cell() {
    let frames = builtin("relu").frames().unwrap();
    // 14 cells that are not 0 have a step each; the 22 cells of 0, in 5 runs, one a run
    assert_eq!(frames.len(), 1 + 14 + 5 + 1);
    assert_grid(grid_named(&frames[0], "Feature map"), &FEATURE_MAP);
    let mut own = 0;
    for f in &frames[1..frames.len() - 1] {
        let out = grid_named(f, "After ReLU");
        let Some(rest) = f.heading.strip_prefix("Cell ") else {
            // a run of zeros: every cell of it is 0 before and after
            assert!(f
                .formula
                .as_deref()
                .unwrap()
                .starts_with("max(0, 0) = 0 for each"));
            continue;
        };
        let n: usize = rest.split(' ').next().unwrap().parse().unwrap();
        let (r, c) = ((n - 1) / 6, (n - 1) % 6);
        assert_eq!(out.get(r, c), Some(RELU_MAP[r][c]));
        if FEATURE_MAP[r][c] != 0.0 {
            own += 1;
            assert_eq!(
                f.formula.as_deref().unwrap(),
                format!("max(0, {}) = {}", FEATURE_MAP[r][c], RELU_MAP[r][c])
            );
        }
    }
    assert_eq!(own, 14);
    assert_grid(grid_named(frames.last().unwrap(), "After ReLU"), &RELU_MAP);
}

#[test]
fn pooling_gives_the_three_by_three_map() {
    let frames = builtin("pooling").frames().unwrap();
    assert_eq!(frames.len(), 11);
    assert_grid(grid_named(&frames[0], "ReLU map"), &RELU_MAP);
    // the seed's patch: 0 0 / 0 155 -> 155
    assert_eq!(
        frames[1].formula.as_deref(),
        Some("max(0, 0, 0, 155) = 155")
    );
    let w = grid_named(&frames[1], "ReLU map").window.unwrap();
    assert_eq!((w.row, w.col, w.height, w.width), (0, 0, 2, 2));
    for (i, f) in frames[1..10].iter().enumerate() {
        let (r, c) = (i / 3, i % 3);
        assert_eq!(grid_named(f, "Pooled").get(r, c), Some(POOLED[r][c]));
    }
    let last = frames.last().unwrap();
    assert_grid(grid_named(last, "Pooled"), &POOLED);
    assert!(last.formula.as_deref().unwrap().contains("36 values"));
}

/// Does `text` contain `row` as a line of whitespace-separated numbers?
fn has_row(text: &str, row: &[f32]) -> bool {
    let want: Vec<String> = row.iter().map(|v| format!("{v}")).collect();
    text.lines().any(|line| {
        let got: Vec<&str> = line.split_whitespace().collect();
        got == want
    })
}

#[test]
fn plain_output_holds_the_seed_rows() {
    let conv = lesson::plain::lesson(&builtin("convolution"), None).unwrap();
    for row in &FEATURE_MAP {
        assert!(has_row(&conv, row), "feature map row {row:?} missing");
    }
    let relu = lesson::plain::lesson(&builtin("relu"), None).unwrap();
    for row in &RELU_MAP {
        assert!(has_row(&relu, row), "ReLU row {row:?} missing");
    }
    let pool = lesson::plain::lesson(&builtin("pooling"), None).unwrap();
    for row in &POOLED {
        assert!(has_row(&pool, row), "pooled row {row:?} missing");
    }
    for text in [&conv, &relu, &pool] {
        assert!(!text.contains('\x1b'));
    }
    // unknown cells are `?`, the window is bracketed
    assert!(conv.contains("[255][255][100]"));
    assert!(conv.contains('?'));
}
