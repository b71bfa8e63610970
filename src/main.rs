//! The `voxanne` command.

fn main() -> std::process::ExitCode {
    voxanne::cli::run()
}
