//! The results step: the trained (or loaded) model and one state and view per tab:
//! evaluation, loss history, filters, predict. Everything a tab shows that needs the
//! network (feature maps, predictions) is computed when the results arrive or when the
//! learner asks, never while drawing.

mod evaluation;
mod filters;
mod looks;
mod loss;
mod predict;

pub use evaluation::Evaluation;
pub use filters::{render_tab as render_filters, Filters};
pub use looks::{LookView, Tile};
pub use predict::{are_shapes, Predict, PredictView};

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::nn::checkpoint::CheckpointMeta;
use crate::nn::net::Net;
use crate::train::{EpochReport, Summary};

use super::super::theme::Theme;
use super::running::Run;
use super::settings::TrainPrefs;
use crate::text::Dec;

/// The tabs after training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultsTab {
    /// Confusion matrix, accuracy, precision and recall, images per cell.
    Evaluation,
    /// Training and validation loss per epoch, and how to read them.
    Loss,
    /// The first layer's filters and feature maps.
    Filters,
    /// Classify a new random shape or a file.
    Predict,
}

impl ResultsTab {
    /// All tabs, in order (keys 1-4).
    pub const ALL: [ResultsTab; 4] = [
        ResultsTab::Evaluation,
        ResultsTab::Loss,
        ResultsTab::Filters,
        ResultsTab::Predict,
    ];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            ResultsTab::Evaluation => "Evaluation",
            ResultsTab::Loss => "Loss history",
            ResultsTab::Filters => "Filters",
            ResultsTab::Predict => "Predict",
        }
    }

    /// The tab `by` places after this one (negative: before), wrapping around.
    pub fn step(self, by: isize) -> ResultsTab {
        let n = ResultsTab::ALL.len() as isize;
        let i = ResultsTab::ALL.iter().position(|t| *t == self).unwrap_or(0) as isize;
        ResultsTab::ALL[(i + by).rem_euclid(n) as usize]
    }
}

/// A finished run's results, or a loaded model's.
#[derive(Debug)]
pub struct Results {
    /// The tab shown.
    pub tab: ResultsTab,
    /// The model the tabs show and `w` saves.
    pub net: Net,
    /// Its class names.
    pub classes: Vec<String>,
    /// What saving it records (the run's settings, split and scores; a loaded file's own).
    pub meta: CheckpointMeta,
    /// Each epoch's report (none for a loaded model).
    pub reports: Vec<EpochReport>,
    /// Epochs of the run (the loss chart's width).
    pub epochs: usize,
    /// Milliseconds the run took (counted in ticks, paused time left out).
    pub elapsed_ms: u64,
    /// Asking whether to overwrite the model file.
    pub confirm_overwrite: bool,
    /// The evaluation tab.
    pub evaluation: Evaluation,
    /// The filters tab.
    pub filters: Filters,
    /// The predict tab.
    pub predict: Predict,
    /// Read from a file (`L`), not trained in this session.
    pub loaded: bool,
    /// Why a loaded model has no evaluation, when it cannot have one.
    pub eval_note: Option<String>,
    /// The why view's method, class and sanity check (the predict and evaluation tabs').
    pub why: crate::tui::why_view::WhyChoice,
    /// The id of the kept run these results are (see [`crate::train::runs`]): saving the
    /// model notes where in its record.
    pub run_id: Option<String>,
}

impl Results {
    /// The results of `run`, which finished with `summary`: feature maps computed here.
    pub(crate) fn of_run(run: Run, summary: Summary, prefs: &TrainPrefs) -> Self {
        // what the run that happened used, recorded by the training loop
        let meta = summary.meta.clone();
        let evaluation = Evaluation {
            confusion: Some(summary.confusion),
            cell: (0, 0),
            dataset: run.dataset,
            val: run.val,
            predictions: run.predictions,
            why_on: false,
            why_maps: Vec::new(),
        };
        let filters = Filters::new(summary.growth, &summary.net, &evaluation);
        let mut predict = Predict::new(run.seed);
        predict.files = !prefs.restricted;
        Results {
            tab: ResultsTab::Evaluation,
            net: summary.net,
            classes: summary.classes,
            meta,
            run_id: run.kept.clone(),
            reports: run.reports,
            epochs: run.epochs,
            elapsed_ms: run.elapsed_ms,
            confirm_overwrite: false,
            evaluation,
            filters,
            predict,
            loaded: false,
            eval_note: None,
            why: Default::default(),
        }
    }

    /// A model read from a file, shown on the predict tab; `seed` seeds its random shapes.
    pub fn loaded(net: Net, meta: CheckpointMeta, seed: u64) -> Self {
        let evaluation = Evaluation::default();
        let filters = Filters::new(None, &net, &evaluation);
        // the loss history the file records (none in older files)
        let reports = crate::train::history_from_meta(&meta.settings);
        Results {
            run_id: None,
            tab: ResultsTab::Predict,
            classes: meta.classes.clone(),
            net,
            epochs: reports.len(),
            reports,
            meta,
            elapsed_ms: 0,
            confirm_overwrite: false,
            evaluation,
            filters,
            predict: Predict::new(seed),
            loaded: true,
            eval_note: None,
            why: Default::default(),
        }
    }

    /// The evaluation of a loaded model on its own validation split: every tab shows it
    /// (the filters tab's feature maps are of its first validation image).
    pub(crate) fn set_evaluation(&mut self, ev: Evaluation) {
        self.evaluation = ev;
        self.eval_note = None;
        self.filters.look = None;
        self.filters.looks = None;
        self.filters.set_model(&self.net, &self.evaluation);
    }

    /// Show a model read from a file instead of the trained one: the run's evaluation,
    /// loss history and untrained filters were of another model, so they go; the file's
    /// own loss history comes in, and its evaluation follows (`set_evaluation`).
    pub(crate) fn replace_model(&mut self, net: Net, meta: CheckpointMeta) {
        self.reports = crate::train::history_from_meta(&meta.settings);
        self.epochs = self.reports.len();
        self.elapsed_ms = 0;
        self.evaluation = Evaluation::default();
        self.filters = Filters::new(None, &net, &self.evaluation);
        self.classes.clone_from(&meta.classes);
        self.net = net;
        self.meta = meta;
        self.loaded = true;
        self.eval_note = None;
        self.tab = ResultsTab::Predict;
    }
}

/// Images of a confusion-matrix cell shown with their maps.
pub const WHY_IMAGES: usize = 6;

impl Results {
    /// Turn the why view of the tab shown on or off (`Err`: the notice).
    pub(crate) fn toggle_why(&mut self) -> Result<(), String> {
        match self.tab {
            ResultsTab::Predict => self.predict.why_on = !self.predict.why_on,
            ResultsTab::Evaluation => self.evaluation.why_on = !self.evaluation.why_on,
            _ => {}
        }
        self.refresh_why()
    }

    /// Whether the tab shown has its why view on.
    pub fn why_on(&self) -> bool {
        match self.tab {
            ResultsTab::Predict => self.predict.why_on && self.predict.shown.is_some(),
            ResultsTab::Evaluation => self.evaluation.why_on,
            _ => false,
        }
    }

    /// The class the tab's map explains now (for choosing the next one).
    fn why_class(&self) -> usize {
        match self.tab {
            ResultsTab::Evaluation => self.evaluation.cell.1,
            _ => self
                .predict
                .shown
                .as_ref()
                .and_then(|p| p.why.as_ref())
                .map_or(0, |a| a.class),
        }
    }

    /// The next class (`c`), the next method (`m`), or the untrained network (`u`).
    pub(crate) fn why_key(&mut self, key: char) -> Result<(), String> {
        match key {
            'c' => {
                let shown = self.why.class.unwrap_or_else(|| self.why_class());
                self.why.next_class(shown, self.classes.len());
            }
            'm' => self.why.next_method(),
            'u' => self.why.untrained = !self.why.untrained,
            _ => {}
        }
        self.refresh_why()
    }

    /// Compute the maps the tab shows, when its why view is on.
    pub(crate) fn refresh_why(&mut self) -> Result<(), String> {
        if self.predict.why_on {
            if let Some(p) = &mut self.predict.shown {
                let chw = super::state::rgb_to_chw(&p.rgb);
                p.why = Some(self.why.compute(&self.net, &chw)?);
            }
        }
        if self.evaluation.why_on && self.tab == ResultsTab::Evaluation {
            let picked = self.evaluation.cell_images();
            let mut maps = Vec::new();
            if let Some(ds) = self.evaluation.dataset.clone() {
                for &i in picked.iter().take(WHY_IMAGES) {
                    let chw = ds
                        .try_image(i)
                        .map_err(|e| format!("cannot read the image: {e}"))?;
                    maps.push((i, self.why.compute(&self.net, &chw)?));
                }
            }
            self.evaluation.why_maps = maps;
        }
        Ok(())
    }
}

/// Validation images the inspector steps through (at most this many are copied).
const INSPECT_VALIDATION: usize = 64;

impl Results {
    /// What the inspector (`i`) opens on: this model, the predict tab's picture when it
    /// shows one, and the first validation images.
    pub(crate) fn inspect_request(
        &self,
        seed: u64,
        restricted: bool,
    ) -> crate::tui::inspector::InspectRequest {
        let image = match (&self.predict.shown, self.tab) {
            (Some(p), ResultsTab::Predict) => {
                Some((p.what.clone(), super::state::rgb_to_chw(&p.rgb)))
            }
            _ => None,
        };
        let ev = &self.evaluation;
        let validation = match &ev.dataset {
            Some(ds) => ev
                .val
                .iter()
                .take(INSPECT_VALIDATION)
                .enumerate()
                .map(|(n, &i)| {
                    let class = ds.labels.get(i).and_then(|&l| ds.classes.get(l));
                    let what = format!(
                        "validation image {} ({})",
                        n + 1,
                        class.map_or("?", String::as_str)
                    );
                    (what, ds.image(i).to_vec())
                })
                .collect(),
            None => Vec::new(),
        };
        crate::tui::inspector::InspectRequest {
            net: self.net.clone(),
            classes: self.classes.clone(),
            image,
            validation,
            seed,
            restricted,
            history: self.filters.history.clone(),
        }
    }
}

/// Draw the results: the tab bar, then the tab shown.
pub(crate) fn render(theme: &Theme, r: &Results, area: Rect, buf: &mut Buffer) {
    let [tabs, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let mut spans = Vec::new();
    for (i, t) in ResultsTab::ALL.iter().enumerate() {
        let label = format!(" {} {} ", i + 1, t.title());
        let style = if *t == r.tab {
            theme.selected()
        } else {
            Style::new()
        };
        spans.push(Span::styled(label, style));
        spans.push(Span::raw(" "));
    }
    // the runs kept are a key away (a view of their own, not a tab of this run)
    spans.push(Span::raw(" R Runs  "));
    if let Some(last) = r.reports.last() {
        let mut s = format!(" accuracy {:.1}%", Dec::of(100.0 * last.val_accuracy));
        if area.width >= 100 {
            s.push_str(&format!(
                " {} validation loss {:.4}",
                theme.symbols().dot,
                Dec::of(last.val_loss)
            ));
        }
        spans.push(Span::raw(s));
    }
    Paragraph::new(Line::from(spans)).render(tabs, buf);
    match r.tab {
        ResultsTab::Evaluation => evaluation::render(theme, r, body, buf),
        ResultsTab::Loss => loss::render(theme, r, body, buf),
        ResultsTab::Filters => filters::render(theme, r, body, buf),
        ResultsTab::Predict => predict::render(theme, r, body, buf),
    }
}
