//! `hrun-mc-pi`, the bundled Monte Carlo pi worker. Its code is the `hrun-mc-pi` library
//! (`tasks/mc-pi`); the binary is a target of the `hrun` package so that `cargo install --path .`
//! and the Python wheel install it beside `hrun`, where `hrun gen` and `hrun run` look first.

fn main() {
    mc_pi::cli::main()
}
