//! What the classroom tests (`serve_ssh.rs`, `serve_hostile.rs`) share: a server on
//! loopback with a class code, and a russh client that accepts its host key.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cnn_tutor::serve::{self, ServeConfig, Server};
use russh::client;
use russh::ChannelMsg;
use tokio::io::AsyncWriteExt;

/// Longest wait for anything (only reached when something is broken).
pub const GUARD: Duration = Duration::from_secs(60);
/// The class code the test servers take.
pub const CODE: &str = "owl-42";

/// A client that trusts any host key (the tests' server makes a fresh one).
pub struct Client;

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// A server on any free loopback port, with the class code and a short refusal delay.
pub fn config(state: &std::path::Path) -> ServeConfig {
    let mut c = ServeConfig::new("127.0.0.1:0".parse().unwrap(), state.to_path_buf());
    c.code = Some(CODE.into());
    c.auth_delay = Duration::from_millis(100);
    c.data_dir = state.join("no-data-needed");
    c
}

pub fn start(c: ServeConfig) -> Server {
    serve::start(c).expect("server starts")
}

/// Connect (key exchange done, not logged in) with the given client settings.
pub async fn connect_with(addr: SocketAddr, config: client::Config) -> client::Handle<Client> {
    tokio::time::timeout(GUARD, client::connect(Arc::new(config), addr, Client))
        .await
        .expect("connect in time")
        .expect("connects")
}

/// Connect with russh's default client settings.
pub async fn connect(addr: SocketAddr) -> client::Handle<Client> {
    connect_with(addr, client::Config::default()).await
}

/// A logged-in session's channel and what its screen shows.
pub struct Term {
    pub channel: russh::Channel<client::Msg>,
    pub vt: vt100::Parser,
    /// Everything received, as text (for messages printed outside the app).
    pub raw: Vec<u8>,
    pub closed: bool,
}

impl Term {
    /// A session as a person's terminal opens it: xterm-256color, `LANG=C.UTF-8`.
    pub async fn open(h: &client::Handle<Client>, cols: u16, rows: u16) -> Term {
        Term::open_as(h, "xterm-256color", cols, rows, Some("C.UTF-8")).await
    }

    /// A session with terminal type `term` and, if given, `LANG`.
    pub async fn open_as(
        h: &client::Handle<Client>,
        term: &str,
        cols: u16,
        rows: u16,
        lang: Option<&str>,
    ) -> Term {
        let channel = h.channel_open_session().await.expect("session channel");
        channel
            .request_pty(false, term, cols.into(), rows.into(), 0, 0, &[])
            .await
            .expect("pty");
        if let Some(lang) = lang {
            channel.set_env(false, "LANG", lang).await.expect("env");
        }
        channel.request_shell(true).await.expect("shell");
        Term {
            channel,
            vt: vt100::Parser::new(rows, cols, 0),
            raw: Vec::new(),
            closed: false,
        }
    }

    pub fn screen(&self) -> String {
        self.vt.screen().contents()
    }

    pub fn raw_text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// Read until `done` holds for the screen (or the channel closes); returns the screen.
    pub async fn until(&mut self, what: &str, done: impl Fn(&Term) -> bool) -> String {
        let wait = async {
            while !done(self) {
                match self.channel.wait().await {
                    Some(ChannelMsg::Data { data }) => {
                        self.vt.process(&data);
                        self.raw.extend_from_slice(&data);
                    }
                    Some(ChannelMsg::Close) | None => {
                        self.closed = true;
                        break;
                    }
                    Some(_) => {}
                }
            }
        };
        if tokio::time::timeout(GUARD, wait).await.is_err() {
            panic!(
                "waited too long for {what}; screen:\n{}\nraw: {:?}",
                self.screen(),
                self.raw_text()
            );
        }
        self.screen()
    }

    pub async fn until_text(&mut self, text: &str) -> String {
        let screen = self
            .until(text, |t| t.screen().contains(text) || t.closed)
            .await;
        assert!(
            screen.contains(text),
            "{text:?} never showed; screen:\n{screen}\nraw: {:?}",
            self.raw_text()
        );
        screen
    }

    /// Read until the server closes the channel.
    pub async fn until_closed(&mut self) -> String {
        self.until("the channel to close", |t| t.closed).await;
        self.raw_text()
    }

    pub async fn keys(&self, bytes: &[u8]) {
        self.channel.data(bytes).await.expect("send keys");
    }

    /// Read until `text` is off the screen (or the channel closes); returns the screen.
    pub async fn until_gone(&mut self, text: &str) -> String {
        self.until(text, |t| !t.screen().contains(text) || t.closed)
            .await
    }

    /// Send `bytes` while reading what comes back (a client that reads nothing while it
    /// sends would stop its own connection: its window updates queue behind the output).
    pub async fn paste(&mut self, bytes: Vec<u8>) {
        let mut writer = self.channel.make_writer();
        let mut send = tokio::spawn(async move {
            writer.write_all(&bytes).await?;
            writer.flush().await
        });
        let wait = async {
            loop {
                tokio::select! {
                    r = &mut send => break r.expect("the paste task"),
                    msg = self.channel.wait() => match msg {
                        Some(ChannelMsg::Data { data }) => self.vt.process(&data),
                        Some(ChannelMsg::Close) | None => {
                            self.closed = true;
                            break (&mut send).await.expect("the paste task");
                        }
                        Some(_) => {}
                    },
                }
            }
        };
        tokio::time::timeout(GUARD, wait)
            .await
            .expect("the paste is taken in time (the flow goes on)")
            .expect("the paste is sent");
        assert!(!self.closed, "the session ended during the paste");
    }
}

/// The first lesson's title, as the menu shows it.
/// The menu position of the first lesson that trains (the training lesson).
pub fn train_lesson_index() -> usize {
    cnn_tutor::lesson::load(None)
        .unwrap()
        .iter()
        .position(|l| l.capabilities().training)
        .expect("a train lesson")
}

pub fn first_lesson_title() -> String {
    cnn_tutor::lesson::load(None).expect("lessons")[0]
        .title()
        .to_string()
}

/// Poll a condition of the server (a session thread frees its slot a moment after its
/// connection ends).
pub async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let wait = async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(GUARD, wait)
        .await
        .unwrap_or_else(|_| panic!("never: {what}"));
}
