//! The Keras summary table.

use core::fmt;

mod boxed;

use crate::graph::{Network, Op};
use crate::model::{LayerInfo, Totals};
use crate::shape::Shape;

/// A model's summary; `Display` renders Keras's table: Keras 2's layout by default (the
/// seed article's, and for a graph model its functional table with `Connected to`), or
/// Keras 3's box-drawn table with [`Summary::keras3`]. [`Summary::with_macs`] adds a `MACs`
/// column.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    layers: &'static [LayerInfo],
    /// A graph model's network and every tensor's shape: the functional table.
    graph: Option<(Network<'static>, &'static [Shape])>,
    macs: bool,
    keras3: bool,
    name: &'static str,
}

impl Summary {
    /// The summary of these layers.
    pub const fn new(layers: &'static [LayerInfo]) -> Summary {
        Summary {
            layers,
            graph: None,
            macs: false,
            keras3: false,
            name: "sequential",
        }
    }

    /// The summary of a graph model: `layers` by index in the network's
    /// [`Graph::layers`](crate::graph::Graph::layers), `tensors` every tensor's shape. It
    /// renders Keras's functional table: the inputs and layers in Keras's order
    /// ([`Graph::keras_order`](crate::graph::Graph::keras_order)), each with the layers it
    /// is connected to (`['conv2d_3[0][0]', 'block2_out[0][0]']`), or the stack's table
    /// when Keras sees a stack ([`Graph::sequential_like`](crate::graph::Graph::sequential_like)).
    pub const fn graph(
        layers: &'static [LayerInfo],
        network: Network<'static>,
        tensors: &'static [Shape],
    ) -> Summary {
        Summary {
            layers,
            graph: Some((network, tensors)),
            macs: false,
            keras3: false,
            name: network.name,
        }
    }

    /// The wider table with a multiply-accumulates column.
    pub const fn with_macs(mut self) -> Summary {
        self.macs = true;
        self
    }

    /// Keras 3.15's rendering, as its `model.summary()` prints it in a terminal of at least
    /// 92 (stack) or 112 (graph) columns: `Model: "name"`, the box-drawn table, the totals
    /// with their sizes.
    pub const fn keras3(mut self) -> Summary {
        self.keras3 = true;
        self
    }

    /// The model's name in Keras 3's `Model: "…"` line (`model!` gives the type's name).
    pub const fn named(mut self, name: &'static str) -> Summary {
        self.name = name;
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

/// The parameters Keras keeps in 8 bytes: the `count` of each `Normalization` layer that
/// holds its statistics as weights (an `int64`; every other weight is a `float32`).
fn int64_counts(layers: &[LayerInfo]) -> usize {
    layers
        .iter()
        .filter(|l| l.kind == "Normalization" && l.non_trainable > 0)
        .count()
}

/// The memory of `n` parameters, `wide` of them 8 bytes, as Keras prints it.
fn bytes_of(n: usize, wide: usize) -> String {
    readable_bytes((n + wide) * core::mem::size_of::<f32>())
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

/// `(None, 26, 26, 32)`: Python's tuple, batch first (Keras 2), or Keras 3's rendering of
/// it, which writes a one-element tuple `(None)`.
fn shape_tuple(shape: &Shape, keras3: bool) -> String {
    let mut out = String::from("(None");
    for d in shape.dims() {
        out.push_str(&format!(", {d}"));
    }
    if shape.rank() == 0 && !keras3 {
        out.push(',');
    }
    out.push(')');
    out
}

/// One row of the table, with what either rendering shows.
struct Row {
    name: String,
    /// Keras 2's output shape (`[(None, 28, 28, 1)]` for an input, `multiple` for a layer
    /// called on tensors of different shapes).
    shape2: String,
    /// Keras 3's (an input's plain tuple, a shared layer's last call's).
    shape3: String,
    params: usize,
    macs: usize,
    /// The calls' inputs, `name[node][tensor]` each.
    connected: Vec<String>,
}

impl Summary {
    /// The row of layer `l` of a graph: its calls' outputs and inputs.
    fn layer_row(
        &self,
        network: &Network<'static>,
        tensors: &[Shape],
        l: usize,
        producer: &dyn Fn(usize) -> String,
    ) -> Row {
        let g = &network.graph;
        let n_in = g.inputs.len();
        let info = self.layers.get(l).copied().unwrap_or(LayerInfo::EMPTY);
        let calls: Vec<usize> = (0..g.nodes.len())
            .filter(|&k| g.nodes[k].layer == l)
            .collect();
        let shapes: Vec<&Shape> = calls.iter().map(|&k| &tensors[n_in + k]).collect();
        let shape2 = match shapes.split_first() {
            Some((first, rest)) if rest.iter().any(|s| s != first) => "multiple".to_string(),
            Some((first, _)) => shape_tuple(first, false),
            None => shape_tuple(&info.output_shape, false),
        };
        let last = shapes.last().copied().unwrap_or(&info.output_shape);
        Row {
            name: format!("{} ({})", info.name, info.kind),
            shape2,
            shape3: shape_tuple(last, true),
            params: info.params,
            macs: info.macs,
            connected: calls
                .iter()
                .flat_map(|&k| g.nodes[k].inputs.iter().map(|&t| producer(t)))
                .collect(),
        }
    }

    /// The rows, and whether the table has the `Connected to` column.
    fn rows(&self) -> (Vec<Row>, bool) {
        let Some((network, tensors)) = &self.graph else {
            let rows = self
                .layers
                .iter()
                .map(|l| Row {
                    name: format!("{} ({})", l.name, l.kind),
                    shape2: shape_tuple(&l.output_shape, false),
                    shape3: shape_tuple(&l.output_shape, true),
                    params: l.params,
                    macs: l.macs,
                    connected: Vec::new(),
                })
                .collect();
            return (rows, false);
        };
        let g = &network.graph;
        let n_in = g.inputs.len();
        let input_name = |i: usize| network.input_names.get(i).copied().unwrap_or("input_layer");
        let producer = |t: usize| -> String {
            match t.checked_sub(n_in) {
                None => format!("{}[0][0]", input_name(t)),
                Some(k) => {
                    let layer = g.nodes[k].layer;
                    let name = match network.group_of(layer) {
                        Some(group) => group.name,
                        None => network.layer_names.get(layer).copied().unwrap_or("layer"),
                    };
                    format!("{name}[{}][0]", g.call_index(k))
                }
            }
        };
        let rows = g
            .keras_order()
            .into_iter()
            .filter_map(|op| match op {
                Op::Input(i) => Some(Row {
                    name: format!("{} (InputLayer)", input_name(i)),
                    shape2: format!("[{}]", shape_tuple(&g.inputs[i], false)),
                    shape3: shape_tuple(&g.inputs[i], true),
                    params: 0,
                    macs: 0,
                    connected: Vec::new(),
                }),
                // A nested model is one row, at its first layer: its last layer's outputs,
                // all its layers' parameters, its first layer's inputs.
                Op::Layer(l) => match network.group_of(l) {
                    Some(group) if group.first != l => None,
                    Some(group) => {
                        let last = group.first + group.len - 1;
                        let mut row = self.layer_row(network, tensors, last, &producer);
                        let first = self.layer_row(network, tensors, l, &producer);
                        let members = &self.layers
                            [l.min(self.layers.len())..(last + 1).min(self.layers.len())];
                        row.name = format!("{} (Sequential)", group.name);
                        row.params = members.iter().map(|i| i.params).sum();
                        row.macs = members.iter().map(|i| i.macs).sum();
                        row.connected = first.connected;
                        Some(row)
                    }
                    None => Some(self.layer_row(network, tensors, l, &producer)),
                },
            })
            .collect();
        (rows, !g.sequential_like())
    }

    /// Keras 2's table: `print_row`'s fixed columns (65 wide for a stack at 45 % and
    /// 85 %, 98 for a graph at 33 %, 55 % and 67 %), a rule under every row.
    fn fmt_keras2(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (rows, functional) = self.rows();
        let (width, positions): (usize, &[usize]) = match (functional, self.macs) {
            (false, false) => (65, &[29, 55, 65]),
            (false, true) => (80, &[29, 55, 67, 80]),
            (true, false) => (98, &[32, 53, 65, 98]),
            (true, true) => (110, &[32, 53, 65, 77, 110]),
        };
        let fields =
            |name: String, shape: String, params: String, macs: String, connected: String| {
                let mut v = vec![name, shape, params];
                if self.macs {
                    v.push(macs);
                }
                if functional {
                    v.push(connected);
                }
                v
            };
        let rule = "_".repeat(width);
        let double = "=".repeat(width);
        writeln!(f, "{rule}")?;
        let header = fields(
            "Layer (type)".into(),
            "Output Shape".into(),
            "Param #".into(),
            "MACs".into(),
            "Connected to".into(),
        );
        writeln!(f, "{}", row(&header, positions))?;
        writeln!(f, "{double}")?;
        for (i, r) in rows.iter().enumerate() {
            let connected: Vec<String> = r.connected.iter().map(|c| format!("'{c}'")).collect();
            let line = fields(
                r.name.clone(),
                r.shape2.clone(),
                r.params.to_string(),
                thousands(r.macs),
                format!("[{}]", connected.join(", ")),
            );
            writeln!(f, "{}", row(&line, positions))?;
            writeln!(f, "{}", if i + 1 == rows.len() { &double } else { &rule })?;
        }
        if rows.is_empty() {
            writeln!(f, "{double}")?;
        }
        let t = Totals::of(self.layers);
        let (wide, bytes) = (int64_counts(self.layers), bytes_of);
        writeln!(
            f,
            "Total params: {} ({})",
            thousands(t.params),
            bytes(t.params, wide)
        )?;
        writeln!(
            f,
            "Trainable params: {} ({})",
            thousands(t.trainable),
            bytes(t.trainable, 0)
        )?;
        writeln!(
            f,
            "Non-trainable params: {} ({})",
            thousands(t.non_trainable),
            bytes(t.non_trainable, wide)
        )?;
        if self.macs {
            writeln!(f, "Total MACs per sample: {}", thousands(t.macs))?;
        }
        write!(f, "{rule}")
    }

    /// Keras 3's table (`summary_utils.print_summary`): 88 wide for a stack with columns
    /// ending at 45 %, 80 % and 100 %, 108 for a graph at 30 %, 56 %, 74 % and 100 %;
    /// `MACs` adds 16 and a last column, as `show_trainable` adds one.
    fn fmt_keras3(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (rows, functional) = self.rows();
        let (mut line_length, mut positions): (usize, Vec<f64>) = if functional {
            (108, vec![0.3, 0.56, 0.74, 1.0])
        } else {
            (88, vec![0.45, 0.80, 1.0])
        };
        let mut columns = vec![
            boxed::Column {
                header: "Layer (type)",
                right: false,
            },
            boxed::Column {
                header: "Output Shape",
                right: false,
            },
            boxed::Column {
                header: "Param #",
                right: true,
            },
        ];
        if functional {
            columns.push(boxed::Column {
                header: "Connected to",
                right: false,
            });
        }
        if self.macs {
            line_length += 16;
            positions = positions.iter().map(|p| p * 0.85).chain([1.0]).collect();
            columns.push(boxed::Column {
                header: "MACs",
                right: true,
            });
        }
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let mut c = vec![r.name.clone(), r.shape3.clone(), thousands(r.params)];
                if functional {
                    c.push(if r.connected.is_empty() {
                        "-".to_string()
                    } else {
                        r.connected.join(", ")
                    });
                }
                if self.macs {
                    c.push(thousands(r.macs));
                }
                c
            })
            .collect();
        let widths = boxed::widths(line_length, &positions);
        writeln!(f, "Model: \"{}\"", self.name)?;
        for line in boxed::table(&columns, &widths, &cells) {
            writeln!(f, "{line}")?;
        }
        let t = Totals::of(self.layers);
        let (wide, bytes) = (int64_counts(self.layers), bytes_of);
        writeln!(
            f,
            " Total params: {} ({})",
            thousands(t.params),
            bytes(t.params, wide)
        )?;
        writeln!(
            f,
            " Trainable params: {} ({})",
            thousands(t.trainable),
            bytes(t.trainable, 0)
        )?;
        write!(
            f,
            " Non-trainable params: {} ({})",
            thousands(t.non_trainable),
            bytes(t.non_trainable, wide)
        )?;
        if self.macs {
            write!(f, "\n Total MACs per sample: {}", thousands(t.macs))?;
        }
        Ok(())
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.keras3 {
            self.fmt_keras3(f)
        } else {
            self.fmt_keras2(f)
        }
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
