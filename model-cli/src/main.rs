//! `model`: Keras files seen from this project.
//!
//! ```text
//! model import FILE [--name Name]   the `model!` source of the file's model
//! model summary FILE                its summary, as Keras prints it
//! ```
//!
//! FILE is a `.keras` archive or a legacy `.h5` model.

use std::process::ExitCode;

const USAGE: &str = "usage:
  model import FILE [--name Name]   print the model! source of a .keras or .h5 model
  model summary FILE                print its summary, as Keras 3 prints it";

enum Failure {
    Usage(String),
    File(model_core::Error),
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(Failure::Usage(why)) => {
            eprintln!("model: {why}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::File(e)) => {
            eprintln!("model: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<String, Failure> {
    let usage = |why: &str| Failure::Usage(why.to_string());
    match args {
        [cmd, rest @ ..] if cmd == "import" => {
            let (mut file, mut name) = (None, None);
            let mut it = rest.iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "--name" => {
                        name = Some(it.next().ok_or_else(|| usage("`--name` needs a name"))?)
                    }
                    flag if flag.starts_with("--") => {
                        return Err(usage(&format!("unknown option `{flag}`")))
                    }
                    path if file.is_none() => file = Some(path),
                    extra => return Err(usage(&format!("unexpected argument `{extra}`"))),
                }
            }
            let file = file.ok_or_else(|| usage("`import` needs a FILE"))?;
            model_cli::import(file, name.map(String::as_str)).map_err(Failure::File)
        }
        [cmd, file] if cmd == "summary" => model_cli::summary(file).map_err(Failure::File),
        [cmd, ..] if cmd == "summary" => Err(usage("`summary` takes one FILE")),
        [cmd, ..] if matches!(cmd.as_str(), "--help" | "-h" | "help") => Ok(format!("{USAGE}\n")),
        [cmd, ..] => Err(usage(&format!("unknown command `{cmd}`"))),
        [] => Err(usage("a command is needed")),
    }
}
