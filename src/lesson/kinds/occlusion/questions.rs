//! "Your turn" in the occlusion lesson: each map entry (a difference of two
//! probabilities), a prediction of which patch matters most, and two questions on what
//! the map does and does not show, every answer computed from the lesson's passes.

use super::{argmax, Computed, MAP};
use crate::lesson::draw::{fill, fmt_num};
use crate::lesson::frame::Step;
use crate::lesson::model::Lesson;
use crate::lesson::quiz::{self, Answer, Hide, Question, MARK};

/// The questions of an occlusion lesson whose steps are `steps` (intro, uncovered, one
/// per patch, the map, the closing).
pub(super) fn ask(c: &Computed, classes: &[String], l: &Lesson, steps: &[Step]) -> Vec<Question> {
    let n = c.corners.len();
    let class = &classes[c.class];
    let mut out = Vec::new();
    if let Some(q) = most(c, class) {
        out.push(q);
    }
    for i in 0..n {
        let Some(mut q) = steps.get(i + 2).and_then(|s| quiz::from_step(i + 2, s)) else {
            continue;
        };
        let (r, col) = (i / c.dims.1, i % c.dims.1);
        q.ask = format!(
            "Row {}, column {} of the occlusion map: p({class}) uncovered minus covered?",
            r + 1,
            col + 1
        );
        q.hints.insert(
            0,
            format!(
                "Uncovered p({class}) = {}; read the covered one from the bars",
                fmt_num(c.orig.probs[c.class])
            ),
        );
        // the step's words say the entry too (a single digit, "0", among them)
        let (pr, pc) = c.corners[i];
        let vars = [
            ("step", (i + 1).to_string()),
            ("steps", n.to_string()),
            ("row", (pr + 1).to_string()),
            ("col", (pc + 1).to_string()),
            ("class", class.clone()),
            ("value", MARK.to_string()),
        ];
        q.hide.retain(|h| !matches!(h, Hide::Words { .. }));
        q.hide.push(Hide::Text(fill(&l.text().step, &vars)));
        let shown = fmt_num(c.map[[r, col]]);
        if shown.chars().filter(char::is_ascii_digit).count() > 1 {
            // the map's step names the largest and smallest entries
            q.hide.push(Hide::Words {
                step: n + 2,
                word: shown,
                formula: true,
            });
        }
        q.in_app = quiz::sample(i + 1, n, 2, 3);
        out.push(q);
    }
    let map_step = n + 2;
    out.push(meaning(c, classes, map_step));
    if let Some(q) = zero_entry(c, class, map_step) {
        out.push(q);
    }
    out
}

/// Predict, before any patch is covered: which patch lowers p(class) the most (asked only
/// when one patch does so strictly, among at most nine).
fn most(c: &Computed, class: &str) -> Option<Question> {
    let n = c.corners.len();
    let v = c.map.as_slice()?;
    let best = argmax(v);
    if !(2..=9).contains(&n)
        || v.iter()
            .enumerate()
            .any(|(j, &x)| j != best && x >= v[best] - 1e-6)
    {
        return None;
    }
    let listed: Vec<String> = (0..n)
        .map(|i| format!("patch {} ({}): {}", i + 1, c.place(i), fmt_num(v[i])))
        .collect();
    Some(Question {
        step: 1,
        ask: format!(
            "Predict: which patch, covered with grey, lowers p({class}) the most? Patches \
             count row by row: patch 1 is {}, patch 2 {}",
            c.place(0),
            c.place(1)
        ),
        answer: Answer::Choice {
            options: (0..n).map(|i| format!("patch {}", i + 1)).collect(),
            right: best,
        },
        hints: vec![
            "Only a change to a pooled value (a window's maximum after ReLU) reaches the scores"
                .into(),
            "Look for the patch that covers the pixels behind the largest pooled values".into(),
        ],
        working: format!("The map, patch by patch: {}", listed.join("; ")),
        hide: Vec::new(),
        in_app: true,
    })
}

/// Explain: what the map's largest entry shows (some of five statements; the third and
/// fourth are decided by the covered pass).
fn meaning(c: &Computed, classes: &[String], step: usize) -> Question {
    let v = c.map.as_slice().unwrap_or(&[]);
    let best = argmax(v);
    let f = &c.covered[best];
    let class = &classes[c.class];
    let switched = argmax(&f.probs) != c.class;
    let raised: Vec<usize> = (0..classes.len())
        .filter(|&j| j != c.class && f.probs[j] > c.orig.probs[j])
        .collect();
    let mut right = vec![0];
    if switched {
        right.push(2);
    }
    if !raised.is_empty() {
        right.push(3);
    }
    let probs = |p: &[f32]| {
        classes
            .iter()
            .zip(p)
            .map(|(n, x)| format!("{n} {}", fmt_num(*x)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Question {
        step,
        ask: "Take the patch with the largest entry. Which statements does the map support?".into(),
        answer: Answer::Set {
            options: vec![
                format!("Covering that patch with grey lowered p({class}) more than any other"),
                format!("Those pixels are the part of the picture that looks like a {class}"),
                "With that patch covered the network predicts another class".into(),
                "Covering it raised the probability of at least one other class".into(),
                format!("That patch would matter as much in any other {class} picture"),
            ],
            right: right.clone(),
        },
        hints: vec![
            "The map measures one thing: how far p falls when one patch turns grey".into(),
            format!(
                "Uncovered: {}; with that patch covered: {}",
                probs(&c.orig.probs),
                probs(&f.probs)
            ),
        ],
        working: format!(
            "1 by construction (the largest fall); {}; {}; 2 and 5 the map cannot say \
             (what the pixels look like, other pictures)",
            if switched {
                format!("3: covered, {} wins", classes[argmax(&f.probs)])
            } else {
                format!("not 3: covered, {class} still wins")
            },
            if raised.is_empty() {
                "not 4: no other class rose".to_string()
            } else {
                format!(
                    "4: {} rose (the probabilities add up to 1)",
                    raised
                        .iter()
                        .map(|&j| classes[j].as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ),
        hide: Vec::new(),
        in_app: true,
    }
}

/// Explain a zero: the first patch that changes pixels yet leaves p(class) where it was,
/// when its pooled values are all unchanged (asked only then).
fn zero_entry(c: &Computed, class: &str, step: usize) -> Option<Question> {
    let i = (0..c.corners.len()).find(|&i| {
        let changed = c
            .covered_input(i)
            .iter()
            .zip(c.x.iter())
            .filter(|(a, b)| a != b)
            .count();
        changed > 0 && c.covered[i].pooled == c.orig.pooled
    })?;
    let changed = c
        .covered_input(i)
        .iter()
        .zip(c.x.iter())
        .filter(|(a, b)| a != b)
        .count();
    Some(Question {
        step,
        ask: format!(
            "Covering {} changed {changed} pixels, yet its entry is 0. Why?",
            c.place(i)
        ),
        answer: Answer::Choice {
            options: vec![
                "The network ignores that part of every picture".into(),
                "No pooled value changed, so nothing after pooling could change".into(),
                "Grey and white are the same number to the network".into(),
            ],
            right: 1,
        },
        hints: vec![
            "Compare the pooled values, uncovered and with that patch covered".into(),
            format!(
                "Grey is 0 and white is {} as the network sees them",
                fmt_num(c.x.iter().copied().fold(f32::NEG_INFINITY, f32::max))
            ),
        ],
        working: format!(
            "The pooled values are the same with and without the patch ({}), so the scores \
             and p({class}) are too; the covered pixels changed only windows that were not \
             a pooling maximum, or that ReLU set to 0. It says nothing about other pictures",
            c.orig
                .pooled
                .iter()
                .map(|v| fmt_num(*v))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        hide: vec![Hide::Emphasis(MAP.into())],
        in_app: true,
    })
}
