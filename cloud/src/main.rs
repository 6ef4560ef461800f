//! `pitlane-cloud`: parses arguments, sets up logging, and hands over to `pitlane_cloud::cli`.

use clap::{Args as _, CommandFactory as _, FromArgMatches as _};
use pitlane_cloud::observability::{self, LogArgs};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // `--log-format` is global to every subcommand, so it is added beside the CLI's own
    // arguments rather than inside each of them.
    let matches = LogArgs::augment_args(pitlane_cloud::cli::Cli::command()).get_matches();
    let parsed = LogArgs::from_arg_matches(&matches)
        .and_then(|log| Ok((log, pitlane_cloud::cli::Cli::from_arg_matches(&matches)?)));
    let (log, cli) = match parsed {
        Ok(p) => p,
        Err(e) => e.exit(),
    };
    observability::init_logging(log.log_format);
    match pitlane_cloud::cli::run(cli).await {
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
