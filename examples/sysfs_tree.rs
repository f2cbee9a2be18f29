//! Writes the sysfs tree of one of the node types hrun's tests describe, so that `--sysfs-root`
//! can be tried on a laptop:
//!
//! ```sh
//! cargo run --release --example sysfs_tree -- grace grace-sysfs
//! hrun slots --threads 5 --cpus 0-11,72-83 --sysfs-root grace-sysfs
//! ```
//!
//! Nodes: `grace` (2 x 72 cores, no SMT), `amd` (2 x 64 cores, SMT2, 8-core L3), `intel`
//! (2 x 28 cores, hyper-threads). Exit status 2 with a one-line reason on bad arguments.

use hrun::topology::fixtures;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let topo = match args.first().map(String::as_str) {
        Some("grace") => fixtures::grace(),
        Some("amd") => fixtures::amd_2x64_smt(),
        Some("intel") => fixtures::intel_2x28_ht(),
        _ => usage(),
    };
    let Some(dir) = args.get(1) else { usage() };
    if std::path::Path::new(dir).exists() {
        eprintln!("sysfs_tree: {dir} exists already; give a new directory");
        std::process::exit(2);
    }
    if let Err(e) = fixtures::write_sysfs(&topo, std::path::Path::new(dir)) {
        eprintln!("sysfs_tree: cannot write {dir}: {e}");
        std::process::exit(1);
    }
    eprintln!("sysfs_tree: wrote a {} node ({} CPUs) to {dir}", args[0], topo.cpus.len());
}

fn usage() -> ! {
    eprintln!("usage: sysfs_tree grace|amd|intel NEW_DIR");
    std::process::exit(2);
}
