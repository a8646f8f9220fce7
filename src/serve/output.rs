//! A session's output, handed from its app thread to the SSH connection without ever
//! blocking the app: the app appends bytes to a [`Pipe`] and a tokio task sends them.
//! The app draws a new frame only while little is waiting (ratatui draws the difference
//! to the last frame drawn, so skipped frames cost nothing), so what waits stays small
//! whatever the client does; a send that does not go through within the output timeout
//! (the client stopped reading) cuts the connection and ends the session.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::server::Handle;
use russh::ChannelId;

use super::accept::ConnState;

/// The app draws no new frame while this much output waits to be sent.
pub(super) const MAX_BACKLOG: usize = 64 * 1024;
/// Most bytes kept waiting at all (a frame is far smaller); beyond it output is dropped.
const MAX_QUEUED: usize = 1 << 20;

/// Output on its way to the client.
#[derive(Debug, Default)]
pub(super) struct Pipe {
    state: Mutex<State>,
    wake: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct State {
    queued: Vec<u8>,
    in_flight: usize,
    /// No more output is taken: close the channel with this exit status (`Some`) or just
    /// stop (`None`: the connection is gone).
    end: Option<Option<u32>>,
    /// The sender has stopped: the client is gone or stopped reading.
    gone: Option<&'static str>,
}

impl Pipe {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queue `bytes` (never blocks); false once the client is gone.
    pub(super) fn send(&self, bytes: &[u8]) -> bool {
        let mut st = self.lock();
        if st.gone.is_some() {
            return false;
        }
        if st.end.is_none() && st.queued.len() + bytes.len() <= MAX_QUEUED {
            st.queued.extend_from_slice(bytes);
            drop(st);
            self.wake.notify_one();
        }
        true
    }

    /// Bytes not yet taken by the connection.
    pub(super) fn backlog(&self) -> usize {
        let st = self.lock();
        st.queued.len() + st.in_flight
    }

    /// Why the output stopped, once it has (the client left or stopped reading).
    pub(super) fn gone(&self) -> Option<&'static str> {
        self.lock().gone
    }

    /// Queue `bytes` and finish with `status`, unless the output was finished already
    /// (the session's own goodbye went first).
    pub(super) fn last_words(&self, bytes: &[u8], status: u32) {
        let mut st = self.lock();
        if st.end.is_some() || st.gone.is_some() {
            return;
        }
        if st.queued.len() + bytes.len() <= MAX_QUEUED {
            st.queued.extend_from_slice(bytes);
        }
        st.end = Some(Some(status));
        drop(st);
        self.wake.notify_one();
    }

    /// Take no more output; after what is queued, close the channel with `status`
    /// (`None`: do not, the connection is gone).
    pub(super) fn finish(&self, status: Option<u32>) {
        let mut st = self.lock();
        if st.end.is_none() {
            st.end = Some(status);
        }
        drop(st);
        self.wake.notify_one();
    }

    /// Send what the app queues until it finishes or the client is gone. A send that
    /// does not go through within `timeout` cuts the connection.
    pub(super) async fn run(
        self: Arc<Self>,
        handle: Handle,
        channel: ChannelId,
        conn: Arc<ConnState>,
        timeout: Duration,
    ) {
        let why = loop {
            let job = {
                let mut st = self.lock();
                if !st.queued.is_empty() {
                    let bytes = std::mem::take(&mut st.queued);
                    st.in_flight = bytes.len();
                    Some(Ok(bytes))
                } else {
                    st.end.map(Err)
                }
            };
            match job {
                None => self.wake.notified().await,
                Some(Ok(bytes)) => {
                    match tokio::time::timeout(timeout, handle.data(channel, bytes)).await {
                        Ok(Ok(())) => self.lock().in_flight = 0,
                        Ok(Err(_)) => break "the connection closed",
                        Err(_) => break "the client stopped reading",
                    }
                }
                Some(Err(None)) => break "the session ended",
                Some(Err(Some(status))) => {
                    let closed = tokio::time::timeout(timeout, async {
                        let _ = handle.exit_status_request(channel, status).await;
                        let _ = handle.eof(channel).await;
                        let _ = handle.close(channel).await;
                    })
                    .await;
                    break if closed.is_ok() {
                        "the session ended"
                    } else {
                        "the client stopped reading"
                    };
                }
            }
        };
        if why == "the client stopped reading" {
            conn.kill();
        }
        let mut st = self.lock();
        st.gone = Some(why);
        st.queued = Vec::new();
        st.in_flight = 0;
    }
}
