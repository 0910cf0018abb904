//! `include_dir!` cannot tell cargo which files it read, so the dashboard's folder is declared
//! here: editing anything under `ui/` rebuilds this crate with the new files.
fn main() {
    println!("cargo:rerun-if-changed=../../ui");
}
