//! asciicast v2 recordings (<https://docs.asciinema.org/manual/asciicast/v2/>): what
//! `--record FILE.cast` writes ([`Recorder`]) and what `cnn-tutor replay` reads ([`parse`]).
//!
//! A recording is line-oriented JSON: a header object (`version` 2, `width`, `height`,
//! `timestamp`, `env`, `title`), then one event a line, `[seconds, code, data]`, with the
//! seconds since the start, never decreasing: `"o"` output (the bytes sent to the terminal,
//! as UTF-8 text), `"m"` a marker (its data the label: a chapter players jump to), `"r"` a
//! resize (`"COLSxROWS"`). Every event is written and flushed as it happens, so a recording
//! cut short (the app killed) is still a valid one up to its last whole line. A file that is
//! already an asciicast v2 recording is appended to: its times go on from its last event.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};

use crate::{Error, Result};

/// The largest recording `replay` reads.
pub const MAX_CAST_BYTES: u64 = 512 * 1024 * 1024;

/// Writes one asciicast v2 recording as things happen.
#[derive(Debug)]
pub struct Recorder {
    file: File,
    path: PathBuf,
    start: Instant,
    /// Seconds already in the file when it was opened (appending).
    offset: f64,
    /// The time of the last event written (times never go back).
    last: f64,
    /// The size the recording is at now (its header's, or its last resize's).
    size: (u16, u16),
    /// The start of a UTF-8 character cut by the end of the last output.
    partial: Vec<u8>,
    /// Why writing stopped (the first error); nothing more is written after it.
    failed: Option<String>,
}

impl Recorder {
    /// Start recording to `path` at `cols` x `rows`: a new file gets the header; an
    /// existing asciicast v2 file is appended to (a resize event first when its size
    /// differs). Anything else there is refused, naming the file and line.
    pub fn open(path: &Path, (cols, rows): (u16, u16), title: &str) -> Result<Recorder> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let existing = match std::fs::read_to_string(path) {
            Ok(text) if !text.trim().is_empty() => Some(text),
            Ok(_) => None,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(e)),
        };
        let (offset, size) = match &existing {
            Some(text) => {
                let cast = parse(text, path)?;
                let end = cast.events.last().map_or(0.0, |e| e.time);
                (end, cast.final_size())
            }
            None => (0.0, (cols, rows)),
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        if existing.is_none() {
            let timestamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let term = std::env::var("TERM").unwrap_or_else(|_| "xterm-256color".into());
            let header = json!({
                "version": 2,
                "width": cols,
                "height": rows,
                "timestamp": timestamp,
                "env": {"TERM": term},
                "title": title,
            });
            writeln!(file, "{header}").map_err(io)?;
        } else if let Some(text) = &existing {
            // a file cut mid-line (the app killed while writing) gets its line ended
            if !text.ends_with('\n') {
                writeln!(file).map_err(io)?;
            }
        }
        let mut rec = Recorder {
            file,
            path: path.to_path_buf(),
            start: Instant::now(),
            offset,
            last: offset,
            size,
            partial: Vec::new(),
            failed: None,
        };
        rec.resize(cols, rows);
        Ok(rec)
    }

    /// The file recorded to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Seconds since the recording began, never less than the last event's.
    fn now(&mut self) -> f64 {
        let t = self.offset + self.start.elapsed().as_secs_f64();
        // microseconds, as asciinema writes them
        let t = (t * 1e6).round() / 1e6;
        self.last = t.max(self.last);
        self.last
    }

    fn event(&mut self, code: &str, data: &str) {
        if self.failed.is_some() {
            return;
        }
        let t = self.now();
        // six decimals, as asciinema writes them (`[0.000007, "o", ...]`, never `7e-6`)
        let line = format!("[{t:.6}, {}, {}]", json!(code), json!(data));
        let written = writeln!(self.file, "{line}").and_then(|()| self.file.flush());
        if let Err(e) = written {
            self.failed = Some(format!(
                "recording to {} stopped: {e}",
                crate::text::path(&self.path)
            ));
        }
    }

    /// Bytes sent to the terminal: an `"o"` event (a UTF-8 character cut at the end waits
    /// for the rest; bytes that are not UTF-8 become U+FFFD, as asciinema does).
    pub fn output(&mut self, bytes: &[u8]) {
        let mut all = std::mem::take(&mut self.partial);
        all.extend_from_slice(bytes);
        let cut = incomplete_tail(&all);
        self.partial = all.split_off(all.len() - cut);
        if !all.is_empty() {
            let text = String::from_utf8_lossy(&all).into_owned();
            self.event("o", &text);
        }
    }

    /// A chapter mark (`"m"`), e.g. `convolution step 3/12`.
    pub fn marker(&mut self, label: &str) {
        self.event("m", label);
    }

    /// The terminal changed size: an `"r"` event (nothing when the size is the same).
    pub fn resize(&mut self, cols: u16, rows: u16) {
        if (cols, rows) != self.size {
            self.size = (cols, rows);
            self.event("r", &format!("{cols}x{rows}"));
        }
    }

    /// Why recording stopped, once (to show it to the user).
    pub fn take_error(&mut self) -> Option<String> {
        self.failed
            .as_mut()
            .map(std::mem::take)
            .filter(|s| !s.is_empty())
    }
}

/// Whether [`Recorder::open`] will be able to record to `path` later (a server checks at
/// its start): an existing file must be an asciicast v2 recording, a new one is created
/// empty (the first recorder writes its header).
pub fn check_appendable(path: &Path) -> Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
        read(path)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(drop)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// How many bytes at the end of `bytes` start a UTF-8 character that is not complete.
fn incomplete_tail(bytes: &[u8]) -> usize {
    for back in 1..=3.min(bytes.len()) {
        let b = bytes[bytes.len() - back];
        if b & 0xC0 == 0x80 {
            continue; // a continuation byte: look further back
        }
        let need = match b {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return 0,
        };
        return if need > back { back } else { 0 };
    }
    0
}

/// The marker label of a lesson step: `convolution step 3/12: Title`.
pub fn step_label(id: &str, step: usize, steps: usize, title: &str) -> String {
    format!("{id} step {}/{steps}: {title}", step + 1)
}

/// One event of a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Seconds since the start.
    pub time: f64,
    pub kind: Kind,
}

/// What an event is.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `"o"`: text sent to the terminal.
    Output(String),
    /// `"m"`: a marker and its label.
    Marker(String),
    /// `"r"`: the terminal's new size.
    Resize(u16, u16),
    /// `"i"` (input) and codes this player does not use.
    Other,
}

/// A recording read: its header's size and title, its events in order.
#[derive(Debug, Clone)]
pub struct Cast {
    pub width: u16,
    pub height: u16,
    pub title: Option<String>,
    pub events: Vec<Event>,
}

impl Cast {
    /// The largest size the recording ever has (its header's or a resize's).
    pub fn largest_size(&self) -> (u16, u16) {
        self.events
            .iter()
            .fold((self.width, self.height), |(w, h), e| match e.kind {
                Kind::Resize(c, r) => (w.max(c), h.max(r)),
                _ => (w, h),
            })
    }

    /// The size at the end of the recording.
    pub fn final_size(&self) -> (u16, u16) {
        self.events
            .iter()
            .fold((self.width, self.height), |size, e| match e.kind {
                Kind::Resize(c, r) => (c, r),
                _ => size,
            })
    }

    /// The markers: (index into `events`, time, label).
    pub fn markers(&self) -> Vec<(usize, f64, &str)> {
        self.events
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match &e.kind {
                Kind::Marker(label) => Some((i, e.time, label.as_str())),
                _ => None,
            })
            .collect()
    }
}

/// Read the recording at `path` (at most [`MAX_CAST_BYTES`]).
pub fn read(path: &Path) -> Result<Cast> {
    let text = crate::fsutil::read_capped(path, MAX_CAST_BYTES)
        .map_err(|e| Error::Usage(format!("{}: {e}", crate::text::path(path))))?;
    parse(&text, path)
}

/// Parse an asciicast v2 recording; v1, v3 and malformed lines are one-line errors naming
/// `path` and the line.
pub fn parse(text: &str, path: &Path) -> Result<Cast> {
    let name = crate::text::path(path);
    let bad = |line: usize, why: String| Error::Usage(format!("{name} line {line}: {why}"));
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let Some((_, first)) = lines.next() else {
        return Err(Error::Usage(format!(
            "{name}: the file is empty, not an asciicast recording"
        )));
    };
    let header: Value = match serde_json::from_str(first) {
        Ok(v) => v,
        // asciicast v1 is one JSON document, usually over many lines
        Err(_) => match serde_json::from_str::<Value>(text) {
            Ok(v) if v.get("version").is_some() => v,
            _ => {
                return Err(bad(
                    1,
                    "not an asciicast header (a JSON object on the first line)".into(),
                ))
            }
        },
    };
    let version = header.get("version").and_then(Value::as_u64);
    match version {
        Some(2) => {}
        Some(1) => {
            return Err(bad(1, "asciicast v1 is not supported: convert it with `asciinema convert -f asciicast-v2 IN OUT`".into()))
        }
        Some(3) => {
            return Err(bad(1, "asciicast v3 is not supported: convert it with `asciinema convert -f asciicast-v2 IN OUT`, or record with `asciinema rec -f asciicast-v2`".into()))
        }
        _ => return Err(bad(1, "the header has no \"version\": 2 (not an asciicast v2 recording)".into())),
    }
    let dim = |key: &str| -> Result<u16> {
        header
            .get(key)
            .and_then(Value::as_u64)
            .filter(|&n| (1..=u16::MAX as u64).contains(&n))
            .map(|n| n as u16)
            .ok_or_else(|| {
                bad(
                    1,
                    format!("the header's \"{key}\" is not a positive whole number"),
                )
            })
    };
    let (width, height) = (dim("width")?, dim("height")?);
    let title = header
        .get("title")
        .and_then(Value::as_str)
        .map(|s| crate::text::escaped(s).into_owned());
    let mut events = Vec::new();
    let mut last = 0.0f64;
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let event = parse_event(line).map_err(|why| bad(n, why))?;
        if event.time < last {
            return Err(bad(
                n,
                format!("time {} is before the previous event's {last}", event.time),
            ));
        }
        last = event.time;
        events.push(event);
    }
    Ok(Cast {
        width,
        height,
        title,
        events,
    })
}

/// One event line: `[time, code, data]`.
fn parse_event(line: &str) -> std::result::Result<Event, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not a JSON event: {e}"))?;
    let Some([time, code, data]) = value.as_array().map(Vec::as_slice) else {
        return Err("an event is an array of three: [time, code, data]".into());
    };
    let time = time
        .as_f64()
        .filter(|t| t.is_finite() && *t >= 0.0)
        .ok_or("the event's time is not a number of seconds of 0 or more")?;
    let code = code.as_str().ok_or("the event's code is not a string")?;
    let data = data.as_str().ok_or("the event's data is not a string")?;
    let kind = match code {
        "o" => Kind::Output(data.to_string()),
        "m" => Kind::Marker(data.to_string()),
        "r" => {
            let size = data
                .split_once('x')
                .and_then(|(c, r)| Some((c.parse::<u16>().ok()?, r.parse::<u16>().ok()?)))
                .filter(|&(c, r)| c > 0 && r > 0);
            let (c, r) = size.ok_or_else(|| format!("a resize is \"COLSxROWS\", not {data:?}"))?;
            Kind::Resize(c, r)
        }
        _ => Kind::Other,
    };
    Ok(Event { time, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_character_waits_for_its_end() {
        assert_eq!(incomplete_tail(b"ab"), 0);
        let e = "é".as_bytes(); // 2 bytes
        assert_eq!(incomplete_tail(&e[..1]), 1);
        assert_eq!(incomplete_tail(e), 0);
        let box_ = "─".as_bytes(); // 3 bytes
        assert_eq!(incomplete_tail(&box_[..2]), 2);
        assert_eq!(incomplete_tail(box_), 0);
    }

    #[test]
    fn output_split_inside_a_character_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.cast");
        let mut rec = Recorder::open(&path, (80, 24), "t").unwrap();
        let bytes = "a─b".as_bytes();
        rec.output(&bytes[..2]);
        rec.output(&bytes[2..]);
        rec.marker("convolution step 1/2: x");
        rec.resize(100, 30);
        drop(rec);
        let cast = read(&path).unwrap();
        let out: String = cast
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                Kind::Output(s) => Some(s.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(out, "a─b");
        assert_eq!((cast.width, cast.height), (80, 24));
        assert_eq!(cast.final_size(), (100, 30));
        assert_eq!(cast.markers().len(), 1);
        // appending goes on from the last event, with a resize back to the new size
        let mut rec = Recorder::open(&path, (80, 24), "t").unwrap();
        rec.output(b"c");
        drop(rec);
        let cast = read(&path).unwrap();
        assert_eq!(cast.final_size(), (80, 24));
        assert_eq!(cast.events.len(), 6);
    }

    #[test]
    fn bad_recordings_name_the_line() {
        let p = Path::new("x.cast");
        let v2 = "{\"version\": 2, \"width\": 80, \"height\": 24}\n";
        let err = |t: &str| parse(t, p).unwrap_err().to_string();
        assert!(
            err("{\"version\": 3, \"term\": {\"cols\": 80, \"rows\": 24}}\n")
                .contains("line 1: asciicast v3")
        );
        assert!(err("{\n \"version\": 1,\n \"width\": 80\n}\n").contains("asciicast v1"));
        assert!(err(&format!("{v2}[0.5, \"o\", \"a\"]\n[0.1, \"o\"]\n")).contains("x.cast line 3:"));
        assert!(
            err(&format!("{v2}[0.5, \"o\", \"a\"]\n[0.1, \"o\", \"b\"]\n"))
                .contains("line 3: time 0.1 is before")
        );
        assert!(err(&format!("{v2}[0.5, \"r\", \"80by24\"]\n")).contains("line 2: a resize"));
        assert!(err("hello\n").contains("line 1: not an asciicast header"));
        let ok = parse(
            &format!("{v2}[0.5, \"i\", \"q\"]\n\n[1.0, \"o\", \"x\"]\n"),
            p,
        )
        .unwrap();
        assert_eq!(ok.events.len(), 2);
    }
}
