use std::process::ExitCode;

fn main() -> ExitCode {
    tessera_server::cli::main()
}
