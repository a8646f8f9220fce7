//! Who may come in when the class has a roster (`serve --roster`): the code a login name
//! must give (the student's personal code, else the class code), the refusal of names not
//! on the roster (said to the client before any place is taken), and one session per
//! roster name (a new login ends the earlier session, with a line in the log).

use std::time::Duration;

use russh::server::Session;
use russh::ChannelId;

use super::conn::Conn;
use super::{display_name, ServeConfig, SessionSlot};
use crate::{Error, Result};

/// How long a new login of a roster name waits for the session it replaces to give back
/// its place in a full class.
const REPLACE_WAIT: Duration = Duration::from_secs(3);

/// What a typed password is checked against.
pub(super) enum Expected<'a> {
    /// The roster gives this name a personal code: only it logs in.
    Personal(&'a str),
    /// The class code (when there is one).
    ClassCode(Option<&'a str>),
}

impl Conn {
    /// The code `user` must type.
    pub(super) fn expected_code(&self, user: &str) -> Expected<'_> {
        let config = &self.shared.config;
        let class_code = Expected::ClassCode(config.code.as_deref());
        if config.teacher.as_deref() == Some(user) {
            return class_code;
        }
        match config.roster.as_ref().and_then(|r| r.get(user)) {
            Some(s) => s.code().map_or(class_code, Expected::Personal),
            None => class_code,
        }
    }

    /// With a roster, this login's name is not on it (and is not the teacher's leading
    /// the class).
    pub(super) fn off_roster(&self) -> bool {
        let Some(roster) = &self.shared.config.roster else {
            return false;
        };
        !self.leads_the_class() && roster.get(&self.user).is_none()
    }

    /// Tell a login whose name is not on the roster and close its channel.
    pub(super) fn refuse_off_roster(&mut self, session: &mut Session, channel: ChannelId) {
        self.log("refused: not on the roster");
        let line = format!(
            "Sorry, {} is not on this class's roster: log in with the name your teacher gave you (ssh NAME@...).",
            display_name(&self.user)
        );
        self.say_and_close(session, channel, &line, 1);
    }

    /// With a roster, end the sessions already logged in under this name (the log says
    /// which); how many were told.
    pub(super) fn replace_earlier(&self) -> usize {
        if self.shared.config.roster.is_none() || self.leads_the_class() {
            return 0;
        }
        let from = self
            .peer
            .map_or_else(|| "unknown address".to_string(), |p| p.to_string());
        let earlier = self.shared.class.replace_login(&self.user, &from);
        for (id, addr) in &earlier {
            self.log(&format!(
                "logged in again: replaces session #{id} from {addr} (one session per roster name)"
            ));
        }
        earlier.len()
    }

    /// A student's place; when it replaced `replaced` sessions in a full class, waiting a
    /// moment for them to give theirs back.
    pub(super) async fn student_slot(&self, replaced: usize) -> Option<SessionSlot> {
        let deadline = tokio::time::Instant::now() + REPLACE_WAIT;
        loop {
            if let Some(slot) = self.shared.try_slot() {
                return Some(slot);
            }
            if replaced == 0 || tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A roster that cannot work with the rest of the configuration: the teacher's name on it,
/// or students without a personal code where there is no class code to log in with.
pub(super) fn check_roster(config: &ServeConfig) -> Result<()> {
    let Some(roster) = &config.roster else {
        return Ok(());
    };
    if let Some(s) = config.teacher.as_deref().and_then(|t| roster.get(t)) {
        return Err(Error::Usage(format!(
            "{}: line {}: field {}: {} is the teacher's name (--teacher), who logs in apart from the roster",
            roster.file,
            s.line,
            super::roster::LOGIN,
            s.login
        )));
    }
    if let (true, None, Some(s)) = (
        roster.has_codes(),
        &config.code,
        roster.first_without_code(),
    ) {
        return Err(Error::Usage(format!(
            "{}: line {}: field {}: {} has no personal code and there is no class code to log in with (give every student a code, or a class code)",
            roster.file,
            s.line,
            super::roster::CODE,
            s.login
        )));
    }
    Ok(())
}
