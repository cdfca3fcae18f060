//! The Keras summary table.

use core::fmt;

use crate::model::{LayerInfo, Totals};

/// A model's summary; `Display` renders Keras's table. [`Summary::with_macs`] adds a
/// `MACs` column.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    layers: &'static [LayerInfo],
    macs: bool,
}

impl Summary {
    /// The summary of these layers.
    pub const fn new(layers: &'static [LayerInfo]) -> Summary {
        Summary {
            layers,
            macs: false,
        }
    }

    /// The wider table with a multiply-accumulates column.
    pub const fn with_macs(mut self) -> Summary {
        self.macs = true;
        self
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Keras 3's `readable_memory_size`: divide by 1024 while at least 1024, two decimals.
pub fn readable_bytes(bytes: usize) -> String {
    let units = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut size = bytes as f64;
    for unit in &units[..units.len() - 1] {
        if size / 1024.0 < 1.0 {
            return format!("{size:.2} {unit}");
        }
        size /= 1024.0;
    }
    format!("{size:.2} {}", units[units.len() - 1])
}

/// Keras's `print_row`: each field cut at its column's end, the previous field's last
/// character turned into a space.
fn row(fields: &[String], positions: &[usize]) -> String {
    let mut line = String::new();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            line.pop();
            line.push(' ');
        }
        line.push_str(field);
        let end = positions[i];
        if line.chars().count() > end {
            line = line.chars().take(end).collect();
        }
        while line.chars().count() < end {
            line.push(' ');
        }
    }
    line.trim_end().to_string()
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (width, positions): (usize, &[usize]) = if self.macs {
            (80, &[29, 55, 67, 80])
        } else {
            (65, &[29, 55, 65])
        };
        let rule = "_".repeat(width);
        let double = "=".repeat(width);
        let mut header = vec![
            "Layer (type)".to_string(),
            "Output Shape".to_string(),
            "Param #".to_string(),
        ];
        if self.macs {
            header.push("MACs".to_string());
        }
        writeln!(f, "{rule}")?;
        writeln!(f, "{}", row(&header, positions))?;
        writeln!(f, "{double}")?;
        for (i, layer) in self.layers.iter().enumerate() {
            let mut shape = String::from("(None");
            for d in layer.output_shape.dims() {
                shape.push_str(&format!(", {d}"));
            }
            shape.push(')');
            let mut fields = vec![
                format!("{} ({})", layer.name, layer.kind),
                shape,
                layer.params.to_string(),
            ];
            if self.macs {
                fields.push(thousands(layer.macs));
            }
            writeln!(f, "{}", row(&fields, positions))?;
            writeln!(
                f,
                "{}",
                if i + 1 == self.layers.len() {
                    &double
                } else {
                    &rule
                }
            )?;
        }
        if self.layers.is_empty() {
            writeln!(f, "{double}")?;
        }
        let t = Totals::of(self.layers);
        let bytes = |n: usize| readable_bytes(n * core::mem::size_of::<f32>());
        writeln!(
            f,
            "Total params: {} ({})",
            thousands(t.params),
            bytes(t.params)
        )?;
        writeln!(
            f,
            "Trainable params: {} ({})",
            thousands(t.trainable),
            bytes(t.trainable)
        )?;
        writeln!(
            f,
            "Non-trainable params: {} ({})",
            thousands(t.non_trainable),
            bytes(t.non_trainable)
        )?;
        if self.macs {
            writeln!(f, "Total MACs per sample: {}", thousands(t.macs))?;
        }
        write!(f, "{rule}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_follow_keras_3() {
        assert_eq!(readable_bytes(0), "0.00 B");
        assert_eq!(readable_bytes(1023), "1023.00 B");
        assert_eq!(readable_bytes(7850 * 4), "30.66 KB");
        assert_eq!(readable_bytes(6_029_097 * 4), "23.00 MB");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(896), "896");
        assert_eq!(thousands(6_029_097), "6,029,097");
    }
}
