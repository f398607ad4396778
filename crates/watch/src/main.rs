//! `watch`: poll the stack, redraw in place, quit on q or Ctrl-C. `--once` prints one screen
//! (scripts, tests); `--dump DIR` also writes the raw answers (the render tests' captures);
//! `--replay DIR` renders such a capture without any network.

use clap::Parser;
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyModifiers};
use crossterm::{cursor, execute, queue, style, terminal};
use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use watch::raw::{self, Raw, Targets};
use watch::{render, snapshot};

#[derive(Parser, Debug)]
#[command(about = "Live view of a running btc-pipeline stack (predictions, outcome, health, alerts)")]
struct Args {
    /// Inference base URL (prediction API, /metrics, /health).
    #[arg(long, env = "WATCH_INFERENCE", default_value = "http://127.0.0.1:9092")]
    inference: String,
    /// Aggregator base URL (/metrics, /health).
    #[arg(long, env = "WATCH_AGGREGATOR", default_value = "http://127.0.0.1:9091")]
    aggregator: String,
    /// Ingestor base URL (/metrics, /health).
    #[arg(long, env = "WATCH_INGESTOR", default_value = "http://127.0.0.1:9090")]
    ingestor: String,
    /// Alertmanager base URL (active alerts).
    #[arg(long, env = "WATCH_ALERTMANAGER", default_value = "http://127.0.0.1:9093")]
    alertmanager: String,
    /// Seconds between polls.
    #[arg(long, default_value_t = 1.0, value_parser = interval)]
    interval: f64,
    /// Print one screen and exit.
    #[arg(long)]
    once: bool,
    /// With --once: also write the raw answers to DIR (a capture for the render tests).
    #[arg(long, value_name = "DIR", requires = "once")]
    dump: Option<PathBuf>,
    /// Render a capture written by --dump instead of polling; prints once.
    #[arg(long, value_name = "DIR", conflicts_with = "once")]
    replay: Option<PathBuf>,
}

fn interval(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.2..=60.0).contains(&v) => Ok(v),
        _ => Err(format!("must be a number of seconds in [0.2, 60], got {s}")),
    }
}

const TIMEOUT: Duration = Duration::from_secs(2);
/// The model metrics' means cover about the last 10 s (five scored predictions).
const WINDOW_US: i64 = 10_000_000;
/// Polls older than this are dropped (the baseline needs one at least `WINDOW_US` old).
const KEEP_US: i64 = 2 * WINDOW_US;

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(dir) = &args.replay {
        return match Raw::load(dir) {
            Ok(raw) => print_screen(&render::render(&snapshot::build(&raw, None))),
            Err(e) => {
                eprintln!("watch: cannot read the capture: {e}");
                ExitCode::from(2)
            }
        };
    }
    let targets = Targets {
        inference: args.inference.clone(),
        aggregator: args.aggregator.clone(),
        ingestor: args.ingestor.clone(),
        alertmanager: args.alertmanager.clone(),
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("watch: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.once {
        let raw = rt.block_on(raw::fetch(&targets, TIMEOUT));
        if let Some(dir) = &args.dump
            && let Err(e) = raw.dump(dir)
        {
            eprintln!("watch: cannot write {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
        return print_screen(&render::render(&snapshot::build(&raw, None)));
    }
    match live(&rt, &targets, Duration::from_secs_f64(args.interval)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("watch: terminal error: {e} (not a terminal? try --once)");
            ExitCode::FAILURE
        }
    }
}

/// Print one screen; a closed pipe (`watch --once | head`) is not an error.
fn print_screen(lines: &[String]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{}", lines.join("\n")).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("watch: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Restores the terminal however `live` ends.
struct Screen;

impl Screen {
    fn enter() -> std::io::Result<Screen> {
        terminal::enable_raw_mode()?;
        let screen = Screen;
        execute!(std::io::stdout(), terminal::EnterAlternateScreen, cursor::Hide)?;
        Ok(screen)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = execute!(std::io::stdout(), cursor::Show, terminal::LeaveAlternateScreen);
        let _ = terminal::disable_raw_mode();
    }
}

fn quit(key: &KeyEvent) -> bool {
    matches!(key.code, KeyCode::Char('q') | KeyCode::Char('Q') | KeyCode::Esc)
        || (key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL))
}

fn draw(lines: &[String]) -> std::io::Result<()> {
    let mut out = std::io::stdout();
    // A pseudo-terminal nobody sized (0×0, serial consoles, some CI runners) still gets a screen.
    let (width, height) = match terminal::size() {
        Ok((w, h)) if w > 0 && h > 0 => (w, h),
        _ => (120, 40),
    };
    for (row, line) in lines.iter().take(height as usize).enumerate() {
        let visible: String = line.chars().take(width as usize).collect();
        queue!(
            out,
            cursor::MoveTo(0, row as u16),
            style::Print(visible),
            terminal::Clear(terminal::ClearType::UntilNewLine)
        )?;
    }
    queue!(
        out,
        cursor::MoveTo(0, lines.len().min(height as usize) as u16),
        terminal::Clear(terminal::ClearType::FromCursorDown)
    )?;
    out.flush()
}

fn live(rt: &tokio::runtime::Runtime, targets: &Targets, every: Duration) -> std::io::Result<()> {
    let _screen = Screen::enter()?;
    let mut history: VecDeque<Raw> = VecDeque::new();
    loop {
        let started = Instant::now();
        let raw = rt.block_on(raw::fetch(targets, TIMEOUT));
        let base = snapshot::baseline(history.make_contiguous(), raw.taken_at_us, WINDOW_US);
        draw(&render::render(&snapshot::build(&raw, base)))?;
        let now = raw.taken_at_us;
        history.push_back(raw);
        while history.front().is_some_and(|r| r.taken_at_us < now - KEEP_US) {
            history.pop_front();
        }
        // Wait for the next poll, leaving at once on q / Esc / Ctrl-C; redraw on resize.
        while let Some(left) = every.checked_sub(started.elapsed()) {
            if !event::poll(left)? {
                break;
            }
            match event::read()? {
                Event::Key(key) if quit(&key) => return Ok(()),
                Event::Resize(..) => break,
                _ => {}
            }
        }
    }
}
