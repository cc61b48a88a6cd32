use std::process::ExitCode;

/// mimalloc rather than the system allocator: a request allocates and frees many small
/// buffers across threads, which glibc's malloc serves slowly and returns to the system
/// late (BENCHMARKS.md, "Allocator").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tessera_server::cli::main()
}
