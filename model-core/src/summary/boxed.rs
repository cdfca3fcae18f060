//! Keras 3's summary table: the box-drawn table that `rich` renders for `model.summary()`,
//! reproduced here without `rich`: the same column widths (`rich`'s reduction of fixed
//! widths to the table's width), the same word wrapping inside cells (a long word is cut
//! with `…`), the same borders (`rich.box.HEAVY_HEAD`, a line between rows).

/// A column: its header, and whether its cells are right-justified.
pub(crate) struct Column {
    pub header: &'static str,
    pub right: bool,
}

/// Content widths for a table `line_length` wide whose columns end at `positions`
/// (fractions of the line), as Keras 3 asks `rich` for them: each column's width is
/// `int(p · line_length)` minus the previous end, then padding (one space each side) and
/// borders do not fit, and `rich` takes the excess evenly from every column
/// (`ratio_reduce`, rounding half to even as Python does).
pub(crate) fn widths(line_length: usize, positions: &[f64]) -> Vec<usize> {
    let mut current = 0;
    let mut padded = Vec::with_capacity(positions.len());
    for &p in positions {
        let end = (p * line_length as f64) as usize;
        padded.push(end.saturating_sub(current) + 2);
        current = end;
    }
    let n = padded.len();
    let available = line_length.saturating_sub(n + 1);
    let total: usize = padded.iter().sum();
    let mut remaining = total.saturating_sub(available) as f64;
    let mut ratio = n as f64;
    for w in &mut padded {
        let take = round_half_even(remaining / ratio).min(*w as f64);
        *w -= take as usize;
        remaining -= take;
        ratio -= 1.0;
    }
    padded.into_iter().map(|w| w.saturating_sub(2)).collect()
}

fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    }
}

/// `rich`'s `divide_line` without folding: greedy word wrapping at spaces, a word longer
/// than the width on a line of its own; then each line cut to the width with `…`.
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    // Words: leading spaces, the word, trailing spaces (`\s*\S+\s*`).
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && chars[i] == ' ' {
            i += 1;
        }
        if i == chars.len() {
            break;
        }
        while i < chars.len() && chars[i] != ' ' {
            i += 1;
        }
        while i < chars.len() && chars[i] == ' ' {
            i += 1;
        }
        words.push((start, i));
    }
    let mut breaks = Vec::new();
    let mut offset = 0;
    for &(start, end) in &words {
        let word = &chars[start..end];
        let trimmed = word.iter().rposition(|&c| c != ' ').map_or(0, |p| p + 1);
        if width >= offset + trimmed {
            offset += word.len();
        } else if trimmed > width || offset > 0 {
            if start > 0 {
                breaks.push(start);
            }
            offset = word.len();
        }
    }
    let mut lines = Vec::new();
    let mut from = 0;
    for &at in breaks.iter().chain(std::iter::once(&chars.len())) {
        let mut line: String = chars[from..at].iter().collect();
        if line.chars().count() > width {
            // Trailing spaces beyond the width go first (`rstrip_end`), then `…`.
            let kept = line.trim_end().chars().count().max(width);
            line = line.chars().take(kept).collect();
            if line.chars().count() > width {
                line = line.chars().take(width.saturating_sub(1)).collect();
                line.push('…');
            }
        }
        lines.push(line);
        from = at;
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// One cell's lines, justified to `width` and padded with a space each side.
fn cell(text: &str, width: usize, right: bool, height: usize) -> Vec<String> {
    let mut lines: Vec<String> = wrap(text, width)
        .into_iter()
        .map(|l| {
            let l = if right { l.trim_end().to_string() } else { l };
            let pad = width.saturating_sub(l.chars().count());
            if right {
                format!(" {}{l} ", " ".repeat(pad))
            } else {
                format!(" {l}{} ", " ".repeat(pad))
            }
        })
        .collect();
    while lines.len() < height {
        lines.push(" ".repeat(width + 2));
    }
    lines
}

/// The table's lines: a header, then every row, a line between rows.
pub(crate) fn table(columns: &[Column], widths: &[usize], rows: &[Vec<String>]) -> Vec<String> {
    let rule = |left: char, fill: char, mid: char, right: char| -> String {
        let mut s = String::new();
        s.push(left);
        for (i, &w) in widths.iter().enumerate() {
            if i > 0 {
                s.push(mid);
            }
            s.extend(std::iter::repeat_n(fill, w + 2));
        }
        s.push(right);
        s
    };
    let render = |cells: &[String], edge: char| -> Vec<String> {
        let height = cells
            .iter()
            .zip(widths)
            .map(|(c, &w)| wrap(c, w).len())
            .max()
            .unwrap_or(1);
        let columns: Vec<Vec<String>> = cells
            .iter()
            .zip(widths)
            .zip(columns)
            .map(|((c, &w), col)| cell(c, w, col.right, height))
            .collect();
        (0..height)
            .map(|line| {
                let mut s = String::new();
                s.push(edge);
                for (i, col) in columns.iter().enumerate() {
                    if i > 0 {
                        s.push(edge);
                    }
                    s.push_str(&col[line]);
                }
                s.push(edge);
                s
            })
            .collect()
    };
    let mut out = vec![rule('┏', '━', '┳', '┓')];
    let header: Vec<String> = columns.iter().map(|c| c.header.to_string()).collect();
    out.extend(render(&header, '┃'));
    out.push(rule('┡', '━', '╇', '┩'));
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            out.push(rule('├', '─', '┼', '┤'));
        }
        out.extend(render(r, '│'));
    }
    out.push(rule('└', '─', '┴', '┘'));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_are_reduced_as_rich_reduces_them() {
        // Keras 3's defaults: 88 for a stack, 108 for a graph.
        assert_eq!(widths(88, &[0.45, 0.80, 1.0]), [36, 27, 15]);
        assert_eq!(widths(108, &[0.3, 0.56, 0.74, 1.0]), [29, 25, 15, 26]);
    }

    #[test]
    fn words_wrap_and_long_words_are_cut() {
        assert_eq!(
            wrap("conv2d_3[0][0], block2_out[0][0]", 26),
            ["conv2d_3[0][0], ", "block2_out[0][0]"]
        );
        assert_eq!(wrap("short", 10), ["short"]);
        assert_eq!(wrap("averyveryverylongword x", 8), ["averyve…", "x"]);
    }
}
