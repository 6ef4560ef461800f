//! `pitlane-agent`: parses arguments, sets up logging, and hands over to `pitlane_agent::cli`.

use clap::{Args, CommandFactory as _, FromArgMatches as _};

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `fields`).
    Json,
}

/// Options every subcommand accepts.
#[derive(Debug, Args)]
struct LogArgs {
    /// Log format on stderr; the level comes from `RUST_LOG` (default `warn`).
    #[arg(long, global = true, env = "PITLANE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let ansi = pitlane_shared::logging::colours(
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        std::env::var_os("NO_COLOR"),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().with_current_span(false).init(),
    }
}

/// One runtime thread: the agent's work is I/O and timers on a small device, where every extra
/// worker costs memory (its stack and, with glibc, a malloc arena) and buys nothing. Its
/// SQLite writes are short and local, made inline as before; the few blocking calls that wait
/// go to tokio's blocking pool.
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    // `--log-format` is global to every subcommand, so it is added beside the CLI's own
    // arguments rather than inside each of them.
    let matches = LogArgs::augment_args(pitlane_agent::cli::Cli::command()).get_matches();
    let parsed = LogArgs::from_arg_matches(&matches)
        .and_then(|log| Ok((log, pitlane_agent::cli::Cli::from_arg_matches(&matches)?)));
    let (log, cli) = match parsed {
        Ok(p) => p,
        Err(e) => e.exit(),
    };
    init_logging(log.log_format);
    match pitlane_agent::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, skipping a cause whose text an outer message already
/// quotes (many errors include their source in their own message).
fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}
