//! The progress of an epoch, drawn as Keras's `Progbar` draws it:
//!
//! ```text
//! Epoch 1/10
//! 63/63 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.9123 - loss: 0.3101
//! ```
//!
//! The formatting is pure ([`progress_line`], [`epoch_line`], [`epoch_header`]) so that its
//! text can be asserted; [`Progress`] keeps the clock and redraws the line in place.
//!
//! Drawn directly rather than with `indicatif`: Keras's line is a handful of exact rules
//! (the counter padded to the total's digits, a 20-cell bar of `━` filled by `int(20·k/n)`,
//! an ETA from the mean step time excluding the first step, the time per step in s, ms or
//! us, metrics to 4 decimals or `1.2000e-04`). indicatif has its own rate estimator, ETA
//! and bar glyph rules, so every field would be formatted here and passed as its message
//! anyway, leaving it only the `\r` redraw. Off a terminal Keras users expect one line per
//! epoch, which indicatif's hidden bar does not print either.

use std::io::{self, IsTerminal, Stdout, Write};
use std::time::{Duration, Instant};

use super::metrics::Logs;

/// How much `fit` prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbose {
    /// [`Verbose::Bar`] when standard output is a terminal, [`Verbose::Epoch`] otherwise (a
    /// log file gets one line per epoch, not hundreds of redraws).
    #[default]
    Auto,
    /// Keras's `verbose=1`: a bar redrawn in place, finished with the epoch's metrics.
    Bar,
    /// Keras's `verbose=2`: one line per epoch.
    Epoch,
    /// Keras's `verbose=0`: nothing.
    Silent,
}

impl Verbose {
    /// `Auto` decided for standard output; the others unchanged.
    pub fn resolve(self) -> Verbose {
        match self {
            Verbose::Auto if io::stdout().is_terminal() => Verbose::Bar,
            Verbose::Auto => Verbose::Epoch,
            other => other,
        }
    }
}

/// Keras's bar width, in cells.
const BAR_WIDTH: usize = 20;
/// Keras's minimum time between two redraws (the last one is always drawn).
const INTERVAL: Duration = Duration::from_millis(50);

/// `Epoch 3/10`, the line Keras prints before each epoch; `None` for a single epoch, for
/// which Keras prints none.
pub fn epoch_header(epoch: usize, epochs: usize) -> Option<String> {
    (epochs > 1).then(|| format!("Epoch {}/{epochs}", epoch + 1))
}

/// The bar line after `step` of `total` steps, without terminal colours: while running,
/// the estimated time left (`total − step` times `time_per_step`); once `finished`, the
/// `elapsed` time.
///
/// ```
/// # use std::time::Duration;
/// # use model_core::train::{progress_line, Logs};
/// let logs: Logs = [("loss", 0.3101), ("accuracy", 0.9123)].into_iter().collect();
/// let ms = Duration::from_millis;
/// assert_eq!(
///     progress_line(63, 63, ms(140), ms(2), &logs, true),
///     "63/63 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.9123 - loss: 0.3101"
/// );
/// assert_eq!(
///     progress_line(7, 63, ms(15), ms(2), &logs, false),
///     " 7/63 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.9123 - loss: 0.3101"
/// );
/// ```
pub fn progress_line(
    step: usize,
    total: usize,
    elapsed: Duration,
    time_per_step: Duration,
    logs: &Logs,
    finished: bool,
) -> String {
    render_bar(step, total, elapsed, time_per_step, logs, finished, false)
}

/// The line Keras prints at the end of an epoch with `verbose=2`:
/// `63/63 - 1s - 2ms/step - accuracy: 0.9123 - loss: 0.3101`.
pub fn epoch_line(total: usize, elapsed: Duration, time_per_step: Duration, logs: &Logs) -> String {
    let digits = total.max(1).ilog10() as usize + 1;
    let mut line = format!(
        "{total:>digits$}/{total} - {:.0}s - {}",
        elapsed.as_secs_f64(),
        format_time(time_per_step.as_secs_f64())
    );
    for (name, value) in logs.iter() {
        // Keras's verbose=2 tests `avg > 1e-3` (not its absolute value) here.
        line.push_str(&format!(
            " - {name}: {}",
            format_value(value, f64::from(value) > 1e-3)
        ));
    }
    line
}

/// Keras's `Progbar` line (`verbose=1`), with its ANSI styling when `ansi`: the counter and
/// the time in bold, the bar's done part green and the rest white.
fn render_bar(
    step: usize,
    total: usize,
    elapsed: Duration,
    time_per_step: Duration,
    logs: &Logs,
    finished: bool,
    ansi: bool,
) -> String {
    let (bold, green, white, end) = if ansi {
        ("\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    let mut line = String::new();
    if total > 0 {
        let digits = total.ilog10() as usize + 1;
        line.push_str(&format!("{bold}{step:>digits$}/{total}{end} "));
        let done = ((BAR_WIDTH as f64 * step as f64 / total as f64) as usize).min(BAR_WIDTH);
        if done > 0 {
            line.push_str(&format!("{green}{}{end}", "━".repeat(done)));
        }
        line.push_str(&format!("{white}{}{end}", "━".repeat(BAR_WIDTH - done)));
    } else {
        line.push_str(&format!("{step:>7}/Unknown"));
    }
    let tps = time_per_step.as_secs_f64();
    let time = if total > 0 && !finished {
        format_eta(tps * total.saturating_sub(step) as f64)
    } else {
        format!("{:.0}s", elapsed.as_secs_f64())
    };
    line.push_str(&format!(" {bold}{time}{end} {}", format_time(tps)));
    for (name, value) in logs.iter() {
        let fixed = f64::from(value).abs() > 1e-3;
        line.push_str(&format!(" - {name}: {}", format_value(value, fixed)));
    }
    line
}

/// Keras's ETA: `1:02:03`, `2:05` or `42s`, each field truncated.
fn format_eta(eta: f64) -> String {
    let s = eta.max(0.0) as u64;
    if eta > 3600.0 {
        format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
    } else if eta > 60.0 {
        format!("{}:{:02}", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// Keras's `_format_time` for a step: `2s/step`, `13ms/step`, `850us/step`.
fn format_time(seconds: f64) -> String {
    if seconds >= 1.0 || seconds == 0.0 {
        format!("{seconds:.0}s/step")
    } else if seconds >= 1e-3 {
        format!("{:.0}ms/step", seconds * 1e3)
    } else {
        format!("{:.0}us/step", seconds * 1e6)
    }
}

/// `0.3101`, or Python's `1.2000e-04` when `fixed` is false (Keras: values of 1e-3 and
/// below).
fn format_value(value: f32, fixed: bool) -> String {
    let v = f64::from(value);
    if fixed || !v.is_finite() {
        return match v {
            _ if v.is_nan() => "nan".into(),
            _ if v.is_infinite() => (if v > 0.0 { "inf" } else { "-inf" }).into(),
            _ => format!("{v:.4}"),
        };
    }
    // Rust writes `1.2000e-4`; Python `1.2000e-04` (a sign and at least two digits).
    let s = format!("{v:.4e}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

/// Keras's `Progbar` over the steps of each epoch, writing to standard output (or any
/// writer). Write errors (a closed pipe) are ignored: progress never stops training.
#[derive(Debug)]
pub struct Progress<W: Write = Stdout> {
    out: W,
    /// Resolved: never `Auto`.
    mode: Verbose,
    total: usize,
    start: Instant,
    after_first_step: Option<Instant>,
    last_draw: Option<Instant>,
    /// Visible width of the last bar drawn, to blank what a shorter line leaves.
    drawn_width: usize,
}

impl Progress<Stdout> {
    /// Progress over epochs of `total` steps on standard output; `Auto` becomes a bar on a
    /// terminal and one line per epoch otherwise.
    pub fn new(total: usize, verbose: Verbose) -> Progress<Stdout> {
        Progress::with_writer(total, verbose.resolve(), io::stdout())
    }
}

impl<W: Write> Progress<W> {
    /// Progress written to `out`; `Auto` means one line per epoch (a writer is not a
    /// terminal).
    pub fn with_writer(total: usize, verbose: Verbose, out: W) -> Progress<W> {
        let mode = match verbose {
            Verbose::Auto => Verbose::Epoch,
            other => other,
        };
        Progress {
            out,
            mode,
            total,
            start: Instant::now(),
            after_first_step: None,
            last_draw: None,
            drawn_width: 0,
        }
    }

    /// What is printed: `Bar`, `Epoch` or `Silent`.
    pub fn mode(&self) -> Verbose {
        self.mode
    }

    /// Starts epoch `epoch` (0-based) of `epochs`: restarts the clock and prints
    /// `Epoch 1/10` (unless silent or a single epoch, as Keras).
    pub fn begin_epoch(&mut self, epoch: usize, epochs: usize) {
        self.begin_epoch_at(epoch, epochs, Instant::now());
    }

    /// After step `step` (1-based) of the epoch, with the running metrics: redraws the bar
    /// (at most every 50 ms, as Keras).
    pub fn update(&mut self, step: usize, logs: &Logs) {
        self.update_at(step, logs, Instant::now());
    }

    /// The end of the epoch: the last bar with `logs` (validation metrics included), or the
    /// epoch's line.
    pub fn finish(&mut self, logs: &Logs) {
        self.finish_at(logs, Instant::now());
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn begin_epoch_at(&mut self, epoch: usize, epochs: usize, now: Instant) {
        self.start = now;
        self.after_first_step = None;
        self.last_draw = None;
        self.drawn_width = 0;
        if self.mode != Verbose::Silent {
            if let Some(header) = epoch_header(epoch, epochs) {
                let _ = writeln!(self.out, "{header}");
                let _ = self.out.flush();
            }
        }
    }

    /// Keras's `_estimate_step_duration`: the mean step after the first (which carries
    /// one-off costs), or the mean over all while there is only one.
    fn time_per_step(&mut self, step: usize, now: Instant) -> Duration {
        if step == 0 {
            return Duration::ZERO;
        }
        let (since, steps) = match self.after_first_step {
            Some(t) if step > 1 => (t, step - 1),
            _ => (self.start, step),
        };
        let tps = now.saturating_duration_since(since).as_secs_f64() / steps as f64;
        let tps = Duration::from_secs_f64(tps);
        if step == 1 {
            self.after_first_step = Some(now);
        }
        tps
    }

    fn update_at(&mut self, step: usize, logs: &Logs, now: Instant) {
        let tps = self.time_per_step(step, now);
        if self.mode != Verbose::Bar {
            return;
        }
        if self
            .last_draw
            .is_some_and(|t| now.saturating_duration_since(t) < INTERVAL)
        {
            return;
        }
        let elapsed = now.saturating_duration_since(self.start);
        self.draw(step, elapsed, tps, logs, false);
        self.last_draw = Some(now);
    }

    fn finish_at(&mut self, logs: &Logs, now: Instant) {
        let tps = self.time_per_step(self.total, now);
        let elapsed = now.saturating_duration_since(self.start);
        match self.mode {
            Verbose::Bar => self.draw(self.total, elapsed, tps, logs, true),
            Verbose::Epoch => {
                let _ = writeln!(self.out, "{}", epoch_line(self.total, elapsed, tps, logs));
            }
            Verbose::Silent | Verbose::Auto => {}
        }
        let _ = self.out.flush();
    }

    fn draw(&mut self, step: usize, elapsed: Duration, tps: Duration, logs: &Logs, done: bool) {
        let total = self.total;
        let width = progress_line(step, total, elapsed, tps, logs, done)
            .chars()
            .count();
        let line = render_bar(step, total, elapsed, tps, logs, done, true);
        let pad = self.drawn_width.saturating_sub(width);
        let _ = write!(self.out, "\r{line}{}", " ".repeat(pad));
        if done {
            let _ = writeln!(self.out);
        }
        let _ = self.out.flush();
        self.drawn_width = width;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs(pairs: &[(&str, f32)]) -> Logs {
        pairs.iter().map(|&(n, v)| (n, v)).collect()
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn bar_lines_as_keras_prints_them() {
        let l = logs(&[("loss", 1.2698), ("accuracy", 0.375)]);
        // Keras 3.15.1, fit on 6 batches: step 1 of 6, 625 ms per step, 5 left → "3s".
        assert_eq!(
            progress_line(1, 6, ms(625), ms(625), &l, false),
            "1/6 ━━━━━━━━━━━━━━━━━━━━ 3s 625ms/step - accuracy: 0.3750 - loss: 1.2698"
        );
        let l = logs(&[
            ("loss", 1.2717),
            ("accuracy", 0.3281),
            ("val_loss", 1.2563),
            ("val_accuracy", 0.2969),
        ]);
        assert_eq!(
            progress_line(6, 6, ms(1200), ms(105), &l, true),
            "6/6 ━━━━━━━━━━━━━━━━━━━━ 1s 105ms/step - accuracy: 0.3281 - loss: 1.2717 \
             - val_accuracy: 0.2969 - val_loss: 1.2563"
        );
        // Keras's Progbar(100): step 7 at 714 ms per step: 93 left, 66.4 s → "1:06";
        // a value of 1.2e-4 in Python's exponent notation.
        assert_eq!(
            progress_line(
                7,
                100,
                ms(5000),
                ms(714),
                &logs(&[("loss", 0.00012)]),
                false
            ),
            "  7/100 ━━━━━━━━━━━━━━━━━━━━ 1:06 714ms/step - loss: 1.2000e-04"
        );
        assert_eq!(
            progress_line(100, 100, ms(5000), ms(50), &logs(&[("loss", -0.5)]), true),
            "100/100 ━━━━━━━━━━━━━━━━━━━━ 5s 50ms/step - loss: -0.5000"
        );
    }

    #[test]
    fn bar_fill_and_ansi_styling() {
        // int(20 · 1/6) = 3 cells done; Keras's exact bytes with colours.
        assert_eq!(
            render_bar(1, 6, ms(625), ms(625), &Logs::new(), false, true),
            format!(
                "\x1b[1m1/6\x1b[0m \x1b[32m{}\x1b[0m\x1b[37m{}\x1b[0m \x1b[1m3s\x1b[0m 625ms/step",
                "━".repeat(3),
                "━".repeat(17)
            )
        );
        // Nothing done: no green part; all done: an empty white one, as Keras.
        assert!(render_bar(0, 6, ms(0), ms(0), &Logs::new(), false, true)
            .starts_with("\x1b[1m0/6\x1b[0m \x1b[37m━"));
        assert!(render_bar(6, 6, ms(0), ms(0), &Logs::new(), true, true)
            .contains("\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s"));
        // 19/20 of the way: 19 cells.
        let line = progress_line(19, 20, ms(0), ms(0), &Logs::new(), false);
        assert_eq!(line, "19/20 ━━━━━━━━━━━━━━━━━━━━ 0s 0s/step");
        assert_eq!(
            progress_line(3, 0, ms(0), ms(0), &Logs::new(), false),
            "      3/Unknown 0s 0s/step"
        );
    }

    #[test]
    fn times_as_keras_formats_them() {
        assert_eq!(format_time(0.0), "0s/step");
        assert_eq!(format_time(2.4), "2s/step");
        assert_eq!(format_time(0.0125), "12ms/step"); // round half to even, as Python
        assert_eq!(format_time(0.000_85), "850us/step");
        assert_eq!(format_eta(42.9), "42s");
        assert_eq!(format_eta(125.0), "2:05");
        assert_eq!(format_eta(3723.0), "1:02:03");
        assert_eq!(format_value(0.3101, true), "0.3101");
        assert_eq!(format_value(0.0, false), "0.0000e+00");
        assert_eq!(format_value(12345.0, false), "1.2345e+04");
        assert_eq!(format_value(f32::NAN, false), "nan");
    }

    #[test]
    fn epoch_lines_as_keras_verbose_2() {
        let l = logs(&[
            ("loss", 1.2539),
            ("accuracy", 0.3229),
            ("val_loss", 1.2424),
            ("val_accuracy", 0.2969),
        ]);
        assert_eq!(
            epoch_line(6, ms(240), ms(41), &l),
            "6/6 - 0s - 41ms/step - accuracy: 0.3229 - loss: 1.2539 - val_accuracy: 0.2969 - val_loss: 1.2424"
        );
        // Keras's verbose=2 writes negative values in exponent notation.
        assert_eq!(
            epoch_line(63, ms(1600), ms(25), &logs(&[("loss", -0.5)])),
            "63/63 - 2s - 25ms/step - loss: -5.0000e-01"
        );
        assert_eq!(epoch_header(0, 10).as_deref(), Some("Epoch 1/10"));
        assert_eq!(epoch_header(0, 1), None);
    }

    #[test]
    fn progress_draws_in_place_and_ends_the_line() {
        let mut p = Progress::with_writer(4, Verbose::Bar, Vec::new());
        let t0 = Instant::now();
        p.begin_epoch_at(0, 2, t0);
        let l = logs(&[("loss", 0.5)]);
        p.update_at(1, &l, t0 + ms(100)); // drawn; time per step 100 ms
        p.update_at(2, &l, t0 + ms(120)); // within 50 ms of the last draw: skipped
        p.update_at(3, &l, t0 + ms(300)); // (300 − 100) / 2 = 100 ms per step
        p.finish_at(&logs(&[("loss", 0.25), ("accuracy", 1.0)]), t0 + ms(400));
        let out = String::from_utf8(p.into_inner()).unwrap();
        let plain = out
            .replace("\x1b[1m", "")
            .replace("\x1b[32m", "")
            .replace("\x1b[37m", "")
            .replace("\x1b[0m", "");
        let bar = |k: usize| format!("{}{}", "━".repeat(k * 5), "━".repeat(20 - k * 5));
        assert_eq!(
            plain,
            format!(
                "Epoch 1/2\n\
                 \r1/4 {} 0s 100ms/step - loss: 0.5000\
                 \r3/4 {} 0s 100ms/step - loss: 0.5000\
                 \r4/4 {} 0s 100ms/step - accuracy: 1.0000 - loss: 0.2500\n",
                bar(1),
                bar(3),
                bar(4)
            )
        );
    }

    #[test]
    fn a_shorter_line_blanks_the_rest_of_the_longer_one() {
        let mut p = Progress::with_writer(2, Verbose::Bar, Vec::new());
        let t0 = Instant::now();
        p.begin_epoch_at(0, 1, t0);
        p.update_at(1, &logs(&[("loss", 0.5), ("mse", 0.25)]), t0 + ms(10));
        p.finish_at(&logs(&[("loss", 0.5)]), t0 + ms(20));
        let out = String::from_utf8(p.into_inner()).unwrap();
        // No header for a single epoch; the final line padded by " - mse: 0.2500".
        assert!(out.starts_with('\r'));
        assert!(
            out.ends_with(&format!("loss: 0.5000{}\n", " ".repeat(14))),
            "{out:?}"
        );
    }

    #[test]
    fn epoch_mode_and_silence() {
        let t0 = Instant::now();
        let mut p = Progress::with_writer(3, Verbose::Auto, Vec::new());
        assert_eq!(p.mode(), Verbose::Epoch);
        p.begin_epoch_at(1, 3, t0);
        for s in 1..=3 {
            p.update_at(s, &logs(&[("loss", 0.5)]), t0 + ms(10 * s as u64));
        }
        p.finish_at(&logs(&[("loss", 0.4)]), t0 + ms(30));
        let out = String::from_utf8(p.into_inner()).unwrap();
        assert_eq!(out, "Epoch 2/3\n3/3 - 0s - 10ms/step - loss: 0.4000\n");

        let mut p = Progress::with_writer(3, Verbose::Silent, Vec::new());
        p.begin_epoch_at(0, 3, t0);
        p.update_at(1, &Logs::new(), t0);
        p.finish_at(&Logs::new(), t0);
        assert!(p.into_inner().is_empty());
        assert_eq!(Verbose::Bar.resolve(), Verbose::Bar);
    }
}
