#![forbid(unsafe_code)]

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = helm_fixup::cli::Args::parse();
    helm_fixup::app::run(args).into()
}
