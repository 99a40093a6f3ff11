//! Everything the user sees: results on stdout, progress and errors on
//! stderr, as text or JSON. The library crates never print; they report
//! through [`Reporter`], implemented here.

use paysec_stack::ID_WIDTH;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Instant;

use paysec_core::report::{Event, Reporter};
use paysec_core::shown;
use serde::Serialize;

use crate::cli::OutputFormat;
use crate::exit::Failure;

pub struct Printer {
    format: OutputFormat,
    quiet: bool,
    live: std::sync::Mutex<Option<Arc<crate::live::LiveView>>>,
}

impl Printer {
    pub fn new(format: OutputFormat, quiet: bool) -> Self {
        Self {
            format,
            quiet,
            live: std::sync::Mutex::new(None),
        }
    }

    pub fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    /// `-q`: only errors.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// A result line on stdout (text mode).
    pub fn line(&self, text: impl AsRef<str>) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", shown::for_terminal(text.as_ref()));
    }

    /// The one line that shows an external id as it is: `paysec output
    /// audit_role_external_id`, the hand-over to the auditor. Everything
    /// else shows external ids as their digest (`paysec_core::shown`).
    pub fn handover_line(&self, text: impl AsRef<str>) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", text.as_ref());
    }

    /// A note on stderr (text mode, not quiet).
    pub fn note(&self, text: impl AsRef<str>) {
        if !self.quiet && !self.is_json() {
            let _ = writeln!(
                std::io::stderr().lock(),
                "{}",
                shown::for_terminal(text.as_ref())
            );
        }
    }

    /// An error line on stderr (text mode), shown even with `-q`: quiet
    /// means only errors, not none.
    pub fn problem(&self, text: impl AsRef<str>) {
        if !self.is_json() {
            let _ = writeln!(
                std::io::stderr().lock(),
                "{}",
                shown::for_terminal(text.as_ref())
            );
        }
    }

    /// The command's result document on stdout (JSON mode).
    pub fn json(&self, value: &impl Serialize) {
        let text = serde_json::to_string_pretty(value).unwrap_or_default();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", shown::for_terminal(&text));
    }

    pub fn error(&self, failure: &Failure) {
        let mut err = std::io::stderr().lock();
        if self.is_json() {
            let doc = serde_json::json!({
                "error": {
                    "kind": failure.kind(),
                    "exit_code": failure.code(),
                    "message": failure.to_string(),
                }
            });
            let _ = writeln!(err, "{}", shown::for_terminal(&doc.to_string()));
        } else {
            let _ = writeln!(err, "error: {}", shown::for_terminal(&failure.to_string()));
        }
    }

    /// Progress for a run of `total` resources: a live view on a terminal,
    /// plain lines otherwise, JSON lines with `--output json`.
    pub fn progress(&self, command: &str, total: usize) -> Arc<dyn Reporter> {
        if !self.quiet && !self.is_json() && std::io::stderr().is_terminal() {
            let view = crate::live::LiveView::start(command, total);
            *self.live.lock().unwrap_or_else(|p| p.into_inner()) = Some(view.clone());
            return view;
        }
        self.reporter()
    }

    /// Ends the live view, if one is running.
    pub fn finish_progress(&self) {
        if let Some(view) = self.live.lock().unwrap_or_else(|p| p.into_inner()).take() {
            view.finish();
        }
    }

    pub fn reporter(&self) -> Arc<dyn Reporter> {
        Arc::new(LineReporter {
            json: self.is_json(),
            quiet: self.quiet,
            started: Instant::now(),
            env: None,
        })
    }

    /// Plain lines naming the environment (a fleet run interleaves several).
    pub fn reporter_for(&self, env: &str) -> Arc<dyn Reporter> {
        Arc::new(LineReporter {
            json: self.is_json(),
            quiet: self.quiet,
            started: Instant::now(),
            env: Some(env.to_owned()),
        })
    }

    pub fn stdin_is_terminal(&self) -> bool {
        std::io::stdin().is_terminal()
    }
}

/// One line per event on stderr: readable text, or JSON lines for scripts.
struct LineReporter {
    json: bool,
    quiet: bool,
    started: Instant,
    /// Set in a fleet run: each line and JSON event names its environment.
    env: Option<String>,
}

impl Reporter for LineReporter {
    fn report(&self, event: &Event<'_>) {
        if self.quiet {
            return;
        }
        let t = self.started.elapsed().as_secs_f64();
        let line = if self.json {
            let v = match event {
                Event::Phase { id, kind, phase } => {
                    serde_json::json!({"event": "phase", "t": t, "id": id, "kind": kind, "phase": phase})
                }
                Event::Waiting { id, what, elapsed } => {
                    serde_json::json!({"event": "waiting", "t": t, "id": id, "what": what, "elapsed_s": elapsed.as_secs_f64()})
                }
                Event::Done {
                    id,
                    kind,
                    outcome,
                    physical_id,
                    elapsed,
                } => {
                    serde_json::json!({"event": "done", "t": t, "id": id, "kind": kind, "outcome": outcome, "physical_id": physical_id, "elapsed_s": elapsed.as_secs_f64()})
                }
                Event::Failed { id, kind, error } => {
                    serde_json::json!({"event": "failed", "t": t, "id": id, "kind": kind, "class": error.class(), "code": error.code(), "message": error.to_string()})
                }
                Event::Skipped { id, reason } => {
                    serde_json::json!({"event": "skipped", "t": t, "id": id, "reason": reason})
                }
            };
            let mut v = v;
            if let (Some(env), Some(o)) = (&self.env, v.as_object_mut()) {
                o.insert("env".into(), env.as_str().into());
            }
            v.to_string()
        } else {
            match event {
                Event::Phase { id, phase, .. } => {
                    let verb = match phase {
                        paysec_core::Phase::Reading => "reading",
                        paysec_core::Phase::Creating => "creating",
                        paysec_core::Phase::Repairing => "repairing",
                        paysec_core::Phase::WaitingReady => return,
                        paysec_core::Phase::Deleting => "deleting",
                    };
                    if *phase == paysec_core::Phase::Reading {
                        return;
                    }
                    format!("[{t:6.1}s] {id:<ID_WIDTH$} {verb}")
                }
                Event::Waiting { id, what, elapsed } => {
                    format!(
                        "[{t:6.1}s] {id:<ID_WIDTH$} waiting for {what} ({:.0}s)",
                        elapsed.as_secs_f64()
                    )
                }
                Event::Done {
                    id,
                    outcome,
                    physical_id,
                    elapsed,
                    ..
                } => format!(
                    "[{t:6.1}s] {id:<ID_WIDTH$} {} {} ({:.1}s)",
                    serde_json::to_value(outcome)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                        .replace('_', " "),
                    physical_id.unwrap_or(""),
                    elapsed.as_secs_f64()
                ),
                Event::Failed { id, error, .. } => {
                    format!("[{t:6.1}s] {id:<ID_WIDTH$} FAILED: {error}")
                }
                Event::Skipped { id, reason } => {
                    format!("[{t:6.1}s] {id:<ID_WIDTH$} skipped: {reason}")
                }
            }
        };
        let line = match (&self.env, self.json) {
            (Some(env), false) => format!("{env:<12} {line}"),
            _ => line,
        };
        let _ = writeln!(std::io::stderr().lock(), "{}", shown::for_terminal(&line));
    }
}
