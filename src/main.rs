//! The `paysec` binary: parse arguments, resolve settings, run the command,
//! map the result to a documented exit code. All the work is in the crates.

mod cli;
mod commands;
mod exit;
mod live;
mod printer;
mod settings;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    init_tracing(cli.global.verbose, cli.global.quiet);
    // Every call is checked against the permission table (a missing row
    // fails a debug build's call; see `paysec_aws::permissions`).
    paysec_aws::permissions::install(commands::iam_policy::all());
    let printer = printer::Printer::new(cli.global.output, cli.global.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            printer.error(&exit::Failure::Internal(format!(
                "cannot start the async runtime: {e}"
            )));
            return ExitCode::from(exit::INTERNAL);
        }
    };
    let result = runtime.block_on(commands::run(cli, &printer));
    // In-flight SDK connections must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            printer.error(&failure);
            ExitCode::from(failure.code())
        }
    }
}

/// A command line clap refuses, as one line (clap's own message, its tip
/// and the values it accepts; "see --help" instead of the usage block),
/// exit 2; in JSON when `--output json` was asked for. Help and version
/// requests print as clap has them.
fn usage_error(e: clap::Error) -> ExitCode {
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let text = e.render().to_string();
    let mut parts: Vec<String> = Vec::new();
    // The indented lines under the message ("the following required
    // arguments were not provided:" and the arguments) belong to it.
    let mut continues = false;
    for raw in text.lines() {
        let line = raw.trim();
        if let Some(first) = line.strip_prefix("error: ") {
            parts.push(first.trim_end_matches(':').to_owned());
            continues = first.ends_with(':');
        } else if line.starts_with("tip:") || line.starts_with("[possible values") {
            parts.push(line.trim_matches(['[', ']']).to_owned());
            continues = false;
        } else if continues && raw.starts_with("  ") && !line.is_empty() {
            if let Some(last) = parts.last_mut() {
                last.push_str(if last.ends_with(": ") { "" } else { ": " });
                last.push_str(line);
            }
        } else {
            continues = false;
        }
    }
    let message = format!("{}; see `paysec --help`", parts.join("; "));
    let args: Vec<String> = std::env::args().collect();
    let json = args
        .windows(2)
        .any(|w| w[0] == "--output" && w[1] == "json")
        || args.iter().any(|a| a == "--output=json");
    let printer = printer::Printer::new(
        if json {
            cli::OutputFormat::Json
        } else {
            cli::OutputFormat::Text
        },
        false,
    );
    let failure = exit::Failure::Usage(message);
    printer.error(&failure);
    ExitCode::from(failure.code())
}

/// `-v` raises paysec's own level, `-vv` adds the SDK; `RUST_LOG` overrides.
/// The SDK's configuration warnings (the instance metadata service gave no
/// region or credentials: every run off EC2 without them) are left to
/// `-vv`: when nothing is found at all, paysec's own error says what to set.
/// Plain lines (no colour), external ids and control characters shown safely.
fn init_tracing(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (_, 0) => "warn,aws_config=error",
        (_, 1) => "warn,aws_config=error,paysec=info,paysec_core=info,paysec_kms=info,paysec_stack=info,paysec_aws=info",
        (_, 2) => "info,paysec=debug,paysec_core=debug,paysec_kms=debug,paysec_stack=debug,paysec_aws=debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| ShownStderr)
        // No colour: every log line goes through `shown::for_terminal`,
        // which shows escape sequences (an AWS name's, or colour codes) as
        // text.
        .with_ansi(false)
        .with_target(verbose > 1)
        .try_init();
}

/// Standard error for log lines: external ids shown as their digest,
/// control characters escaped (`paysec_core::shown`). The formatter writes
/// each event in one call.
struct ShownStderr;

impl std::io::Write for ShownStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr()
            .lock()
            .write_all(paysec_core::shown::for_terminal(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
