//! Following the teacher: a student's `f` (the app's [`AppEffect::Follow`]) starts or stops
//! it, the session shows the teacher's lesson and step as they change, and while the
//! teacher locks following a student follows whatever they press.
//!
//! [`AppEffect::Follow`]: crate::tui::AppEffect::Follow

use super::role::{Class, Role};
use crate::tui::App;

/// Whether this session follows the teacher, and what of the teacher it showed last.
pub(super) struct Follow {
    pub(super) on: bool,
    /// The teacher's position last shown.
    shown: Option<(usize, usize)>,
}

impl Follow {
    /// Not following.
    pub(super) fn new() -> Self {
        Follow {
            on: false,
            shown: None,
        }
    }

    /// The student pressed `f`: start (`on`) or stop following. While the teacher locks
    /// following, stopping is refused.
    pub(super) fn pressed(&mut self, on: bool, app: &mut App, class: &Class) {
        if !on && class.locked_student() {
            app.set_follow(Some(true));
            app.set_notice("the teacher has locked following for a demo");
            return;
        }
        self.on = on;
        self.shown = None;
        if self.on {
            if !self.sync(app, class) {
                app.set_notice("following the teacher, who has no lesson open yet (f stops)");
            }
        } else {
            app.set_notice("you have the controls again (f on the menu follows the teacher)");
        }
    }

    /// The console brought the class to `at`: while following, that counts as shown.
    pub(super) fn shown_by_teacher(&mut self, at: (usize, usize)) {
        if self.on {
            self.shown = Some(at);
        }
    }

    /// Show the teacher's lesson and step when they changed; true when the app changed.
    pub(super) fn sync(&mut self, app: &mut App, class: &Class) -> bool {
        if !self.on {
            return false;
        }
        let at = class.teacher_at();
        if at.is_none() || at == self.shown {
            return false;
        }
        self.shown = at;
        if let Some((lesson, step)) = at {
            app.show_position(lesson, step);
            app.set_notice("following the teacher (f takes the controls back)");
        }
        true
    }

    /// While the teacher locks following, a student follows, and a step of their own snaps
    /// back to the teacher's. True when the app changed.
    pub(super) fn keep_locked(&mut self, app: &mut App, class: &Class) -> bool {
        if class.role != Role::Student || !class.shared.class.locked() {
            return false;
        }
        let mut changed = false;
        if !self.on || app.follow() != Some(true) {
            app.set_follow(Some(true));
            self.on = true;
            self.shown = None;
            changed = true;
        }
        let at = class.teacher_at();
        if at.is_some() && app.position() != at && self.shown == at {
            self.shown = None;
        }
        changed | self.sync(app, class)
    }
}
