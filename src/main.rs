#![forbid(unsafe_code)]

use clap::Parser;

fn main() -> std::process::ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    if let Some(advice) = helm_fixup::cli::argv_mistake(&argv) {
        return helm_fixup::app::usage_error(&advice).into();
    }
    let args = match helm_fixup::cli::Args::try_parse() {
        Ok(args) => args,
        Err(e) => return helm_fixup::app::arg_error(&e).into(),
    };
    helm_fixup::app::run(args).into()
}
