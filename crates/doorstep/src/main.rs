//! `doorstep`: the one binary. Chooses the storage backend, reads settings,
//! and runs a subcommand. Thin: the work is in the app crate.

mod cli;
mod settings;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // Servers log what they do; one-shot commands only warn, keeping output clean.
    let default = if cli.is_server() {
        "info,sqlx=warn"
    } else {
        "warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DOORSTEP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default)),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(cli::run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The chain of causes on one line, without a backtrace: users read this.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
