//! The live view of a run on a terminal: finished resources scroll above,
//! and a block at the bottom, redrawn four times a second, shows the overall
//! bar and counts and every resource in flight with what it is doing (or
//! waiting for) and for how long.

use paysec_stack::ID_WIDTH;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use paysec_core::report::{Event, Outcome, Phase, Reporter};

struct Active {
    doing: String,
    since: Instant,
}

#[derive(Default)]
struct State {
    active: BTreeMap<String, Active>,
    done: usize,
    failed: usize,
    skipped: usize,
    /// Lines the last frame took, to move back over it.
    drawn: usize,
}

pub struct LiveView {
    command: String,
    total: usize,
    started: Instant,
    state: Mutex<State>,
    stop: AtomicBool,
    ticker: Mutex<Option<JoinHandle<()>>>,
}

fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Created => "created",
        Outcome::Adopted => "adopted",
        Outcome::Repaired => "repaired",
        Outcome::Unchanged => "unchanged",
        Outcome::Deleted => "deleted",
        Outcome::Kept => "kept",
        Outcome::AlreadyGone => "already gone",
    }
}

impl LiveView {
    pub fn start(command: &str, total: usize) -> Arc<Self> {
        let view = Arc::new(Self {
            command: command.to_owned(),
            total,
            started: Instant::now(),
            state: Mutex::new(State::default()),
            stop: AtomicBool::new(false),
            ticker: Mutex::new(None),
        });
        let v = view.clone();
        let handle = std::thread::spawn(move || {
            while !v.stop.load(Ordering::Relaxed) {
                v.redraw(None);
                std::thread::sleep(Duration::from_millis(250));
            }
        });
        *view.ticker.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        view
    }

    /// Stops redrawing and leaves the last frame's summary line.
    pub fn finish(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.ticker.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = h.join();
        }
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.active.clear();
        let mut err = std::io::stderr().lock();
        Self::clear(&mut err, st.drawn);
        st.drawn = 0;
    }

    fn clear(out: &mut impl Write, lines: usize) {
        if lines > 0 {
            let _ = write!(out, "\x1b[{lines}A\x1b[J");
        }
    }

    /// Redraws the block; `line`, if any, is printed above it first.
    fn redraw(&self, line: Option<String>) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut err = std::io::stderr().lock();
        Self::clear(&mut err, st.drawn);
        if let Some(l) = line {
            let _ = writeln!(err, "{}", paysec_core::shown::for_terminal(&l));
        }
        let finished = st.done + st.failed + st.skipped;
        let width = 30;
        let filled = (finished * width).checked_div(self.total).unwrap_or(0);
        let mut lines = vec![format!(
            "paysec {} [{}{}] {finished}/{} done, {} running, {} failed, {} waiting  {:.0}s",
            self.command,
            "#".repeat(filled),
            "-".repeat(width - filled),
            self.total,
            st.active.len(),
            st.failed,
            self.total.saturating_sub(finished + st.active.len()),
            self.started.elapsed().as_secs_f64()
        )];
        for (id, a) in &st.active {
            lines.push(format!(
                "  {id:<ID_WIDTH$} {:<48} {:>5.0}s",
                a.doing,
                a.since.elapsed().as_secs_f64()
            ));
        }
        for l in &lines {
            let _ = writeln!(err, "{}", paysec_core::shown::for_terminal(l));
        }
        let _ = err.flush();
        st.drawn = lines.len();
    }
}

impl Reporter for LiveView {
    fn report(&self, event: &Event<'_>) {
        let line = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            match event {
                Event::Phase { id, phase, .. } => {
                    let doing = match phase {
                        Phase::Reading => "reading",
                        Phase::Creating => "creating",
                        Phase::Repairing => "repairing",
                        Phase::WaitingReady => "waiting until ready",
                        Phase::Deleting => "deleting",
                    };
                    let entry = st.active.entry(id.to_string()).or_insert(Active {
                        doing: String::new(),
                        since: Instant::now(),
                    });
                    entry.doing = doing.to_owned();
                    None
                }
                Event::Waiting { id, what, .. } => {
                    if let Some(a) = st.active.get_mut(id.as_str()) {
                        a.doing = format!("waiting for {what}");
                    }
                    None
                }
                Event::Done {
                    id,
                    outcome,
                    physical_id,
                    elapsed,
                    ..
                } => {
                    st.active.remove(id.as_str());
                    st.done += 1;
                    Some(format!(
                        "  ok  {id:<ID_WIDTH$} {:<10} {} ({:.1}s)",
                        outcome_word(*outcome),
                        physical_id.unwrap_or(""),
                        elapsed.as_secs_f64()
                    ))
                }
                Event::Failed { id, error, .. } => {
                    st.active.remove(id.as_str());
                    st.failed += 1;
                    Some(format!("  FAIL {id:<ID_WIDTH$} {error}"))
                }
                Event::Skipped { id, reason } => {
                    st.skipped += 1;
                    Some(format!("  --  {id:<ID_WIDTH$} skipped: {reason}"))
                }
            }
        };
        if line.is_some() {
            self.redraw(line);
        }
    }
}
