//! "Your turn" in the backprop lesson: the steps' own values, and one question on each
//! other part of the training step.

use super::net::{pass, Pass};
use super::{Backprop, Setup};
use crate::lesson::draw::fmt_num;
use crate::lesson::frame::Step;
use crate::lesson::model::Lesson;
use crate::lesson::quiz::{self, Answer, Hide, Question, MARK};

/// The flattened values' and the filter's gradients (each step's own value), and one
/// question on each other part: p - y for the true class, which cell pooling routes
/// the gradient to, the bias's gradient, the update of w(1,1), and a check by finite
/// difference (nudge w(1,1): how much does the loss change?).
pub(super) fn ask(kind: &Backprop, l: &Lesson, steps: &[Step]) -> Vec<Question> {
    let mut out: Vec<Question> = quiz::from_steps(steps)
        .into_iter()
        .filter(|q| !q.ask.contains("loss after each update"))
        .collect();
    let Ok(setup) = kind.setup(l) else {
        return out;
    };
    let a = Asked {
        steps,
        g: pass(&setup.x, &setup.params, setup.pool, setup.t),
        class: &kind.classes[setup.t],
        setup,
    };
    let find = |prefix: &str| steps.iter().position(|s| s.heading.starts_with(prefix));
    if let Some(i) = find("The gradient at the scores") {
        a.score_gradient(i, &mut out);
    }
    if let Some(i) = find("Pooling and ReLU backwards, window 1 ") {
        a.pool_route(i, &mut out);
    }
    if let Some(i) = find("The bias's gradient") {
        a.bias_gradient(i, &mut out);
    }
    if let Some(i) = find("The update:") {
        a.update(i, &mut out);
    }
    out.sort_by_key(|q| q.step);
    out
}

/// What the questions read: the lesson's steps, its network as the learner left it, and
/// that network's forward and backward pass.
struct Asked<'a> {
    steps: &'a [Step],
    setup: Setup,
    g: Pass,
    /// The target class's name.
    class: &'a str,
}

impl Asked<'_> {
    /// The gradient at the true class's score, p - y.
    fn score_gradient(&self, i: usize, out: &mut Vec<Question>) {
        let (g, t, class, steps) = (&self.g, self.setup.t, self.class, self.steps);
        let d = g.d_scores[[0, t]];
        let formula = steps[i].formula.clone().unwrap_or_default();
        let mine = format!("{class}: {} - 1 = {}", fmt_num(g.probs[t]), fmt_num(d));
        out.push(Question {
            step: i,
            ask: format!("What is dL/dscore for {class}, the true class (p - y)?"),
            answer: Answer::Number(d),
            hints: vec![
                format!("p({class}) = {}", fmt_num(g.probs[t])),
                format!("y is 1 for the true class, {class}"),
            ],
            working: format!("p - y = {} - 1 = {}", fmt_num(g.probs[t]), fmt_num(d)),
            hide: vec![
                Hide::Entry {
                    label: "dL/dscore".into(),
                    index: t,
                },
                Hide::Formula(formula.replace(&mine, &format!("{class}: {MARK}"))),
            ],
            in_app: true,
        });
    }

    /// Which cell of the first pooling window the gradient goes back to (a choice).
    fn pool_route(&self, i: usize, out: &mut Vec<Question>) {
        let (g, setup) = (&self.g, &self.setup);
        let pool = setup.pool;
        let ow = setup.dims.ow;
        let at = g.idx[[0, 0, 0, 0]] as usize;
        let cells: Vec<(usize, usize)> = (0..pool)
            .flat_map(|dy| (0..pool).map(move |dx| (dy, dx)))
            .collect();
        let options: Vec<String> = cells
            .iter()
            .map(|&(r, c)| {
                format!(
                    "row {}, column {} ({})",
                    r + 1,
                    c + 1,
                    fmt_num(g.a[[0, 0, r, c]])
                )
            })
            .collect();
        let right = cells
            .iter()
            .position(|&(r, c)| r * ow + c == at)
            .unwrap_or(0);
        out.push(Question {
        step: i,
        ask: format!(
            "Going back through pooling, which cell of the first {pool}x{pool} window of a gets the gradient?"
        ),
        answer: Answer::Choice {
            options: options.clone(),
            right,
        },
        hints: vec![
            "Only the cell that won the window's maximum affected the output".into(),
            "On a tie, the first in reading order".into(),
        ],
        working: format!(
            "{}, the window's largest value: it alone reached the pooled map; the other cells get 0",
            options[right]
        ),
        hide: vec![
            Hide::Emphasis("ReLU map a".into()),
            Hide::Drop("dL/da".into()),
            Hide::Drop("dL/dz".into()),
            Hide::Formula(format!(
                "the largest of the window gets dL/dpooled = {}, the other cells 0 ({MARK})",
                fmt_num(g.d_pooled[[0, 0, 0, 0]])
            )),
        ],
        in_app: true,
    });
    }

    /// The bias's gradient, the sum of every dL/dz.
    fn bias_gradient(&self, i: usize, out: &mut Vec<Question>) {
        let (g, steps) = (&self.g, self.steps);
        let d = g.d_bias;
        let formula = steps[i].formula.clone().unwrap_or_default();
        let left = formula
            .rsplit_once(" = ")
            .map_or(formula.as_str(), |(left, _)| left);
        out.push(Question {
            step: i,
            ask: "What is the bias's gradient, dL/dbias?".into(),
            answer: Answer::Number(d),
            hints: vec![
                "The bias is added to every z".into(),
                "Add up every dL/dz".into(),
            ],
            working: formula.clone(),
            hide: vec![
                Hide::Entry {
                    label: "dL/dbias".into(),
                    index: 0,
                },
                Hide::Formula(format!("{left} = {MARK}")),
            ],
            in_app: true,
        });
    }

    /// The new w(1,1) after the SGD update, then a check of its gradient by finite
    /// difference (nudge w(1,1), run forward again: how much does the loss change?).
    fn update(&self, i: usize, out: &mut Vec<Question>) {
        let (g, steps, setup) = (&self.g, self.steps, &self.setup);
        let (w, d) = (setup.params.filter[[0, 0]], g.d_filter[[0, 0]]);
        let new = w - setup.lr * d;
        let lr = fmt_num(setup.lr);
        let formula = steps[i].formula.clone().unwrap_or_default();
        let first = formula.split('\n').next().unwrap_or_default().to_string();
        let shown_first = first
            .rsplit_once(" = ")
            .map_or(first.clone(), |(left, _)| format!("{left} = {MARK}"));
        out.push(Question {
            step: i,
            ask: format!("What is the new w(1,1), w - {lr} x gradient?"),
            answer: Answer::Number(new),
            hints: vec![
                format!("w(1,1) = {}, its gradient {}", fmt_num(w), fmt_num(d)),
                format!("{} - {lr} x ({})", fmt_num(w), fmt_num(d)),
            ],
            working: format!(
                "{} - {lr} x ({}) = {} {} {} = {}",
                fmt_num(w),
                fmt_num(d),
                fmt_num(w),
                if setup.lr * d > 0.0 { "-" } else { "+" },
                fmt_num((setup.lr * d).abs()),
                fmt_num(new)
            ),
            hide: vec![
                Hide::Cell {
                    label: "New filter".into(),
                    row: 0,
                    col: 0,
                },
                Hide::Formula(formula.replacen(&first, &shown_first, 1)),
            ],
            in_app: true,
        });
        // check a gradient by finite difference: nudge w(1,1), run forward again
        let h = 0.01f32;
        let mut nudged = setup.params.clone();
        nudged.filter[[0, 0]] += h;
        let after = pass(&setup.x, &nudged, setup.pool, setup.t).loss;
        let predicted = h * d;
        out.push(Question {
        step: i,
        ask: format!(
            "Check the gradient: if w(1,1) were {} bigger, by about how much would the loss change (gradient x {})?",
            fmt_num(h),
            fmt_num(h)
        ),
        answer: Answer::Number(predicted),
        hints: vec![
            "The gradient is the change in loss per unit change of the weight".into(),
            format!("{} x ({})", fmt_num(h), fmt_num(d)),
        ],
        working: format!(
            "{} x ({}) = {}; running the forward pass with w(1,1) = {} gives a loss of {} instead of {}, a change of {}",
            fmt_num(h),
            fmt_num(d),
            fmt_num(predicted),
            fmt_num(setup.params.filter[[0, 0]] + h),
            fmt_num(after),
            fmt_num(g.loss),
            fmt_num(after - g.loss)
        ),
        hide: Vec::new(),
        in_app: false,
    });
    }
}
