//! Generates the pipeline-events codec from `schemas/pipeline-events.xml` into OUT_DIR.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("pipeline_events.rs");
    // Versions older than 1 never existed; a record of any later version is read via blockLength.
    let options = sbe_codegen::Options {
        max_group_entries: 65_535,
        min_version: Some(1),
        ..Default::default()
    };
    sbe_codegen::generate_file("schemas/pipeline-events.xml".as_ref(), &out, &options)?;
    println!("cargo:rerun-if-changed=build.rs");
    Ok(())
}
