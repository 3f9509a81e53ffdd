//! The `shardgen` binary: the CLI with the built-in block types.

fn main() -> std::process::ExitCode {
    shardgen::cli::main(shardgen::Registry::builtin(), std::env::args_os())
}
