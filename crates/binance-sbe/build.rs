//! Generates the stream and REST codecs from the project's schema files into OUT_DIR.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let stream = sbe_codegen::Options {
        max_group_entries: 65_535,
        ..Default::default()
    };
    sbe_codegen::generate_file(
        "schemas/spot-stream-1.0.xml".as_ref(),
        &out.join("spot_stream.rs"),
        &stream,
    )?;
    // REST depth returns at most 5000 levels per side; anything larger is malformed.
    let rest = sbe_codegen::Options {
        max_group_entries: 10_000,
        min_version: Some(2),
        ..Default::default()
    };
    sbe_codegen::generate_file(
        "schemas/spot-rest-3.5.xml".as_ref(),
        &out.join("spot_rest.rs"),
        &rest,
    )?;
    println!("cargo:rerun-if-changed=build.rs");
    Ok(())
}
