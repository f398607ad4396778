//! `sbe-codegen` turns a FIX SBE 1.0 XML schema into Rust codecs at build time, and carries the
//! small runtime ([`rt`]) that the generated code calls.
//!
//! Pipeline: [`parse`] (XML → raw tree) → [`resolve`] (types, offsets, block lengths → [`model`])
//! → `emit` (model → Rust source). Supported: primitive types, fixed arrays, composites
//! (flattened to `<field>_<member>`), enums, sets (raw), constant and optional presence, repeating
//! groups with `groupSizeEncoding`/`groupSize16Encoding` (any `u16` blockLength + u8/u16/u32
//! count), var data with u8/u16/u32 length prefixes, little-endian only. Not supported (a clear
//! [`CodegenError`] at build time): nested groups, var data inside groups, big-endian schemas,
//! `sinceVersion`-gated fields.
//!
//! Generated decoders are zero-copy flyweights over `&[u8]`: `wrap` checks the header, bounds every
//! group count (against a limit and against the bytes present) and every var-data length once,
//! after which all accessors are infallible except enum reads (which reject unknown values).
//! Nothing panics and nothing allocates. Encoders append to a `Vec<u8>`.
//!
//! ```no_run
//! // build.rs
//! let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("stream.rs");
//! sbe_codegen::generate_file("schemas/stream.xml".as_ref(), &out, &sbe_codegen::Options::default()).unwrap();
//! ```

mod emit;
mod encodings;
pub mod model;
mod names;
pub mod parse;
pub mod resolve;
pub mod rt;

use std::path::Path;

/// Why a schema could not be turned into code.
#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    #[error("invalid XML: {0}")]
    Xml(String),
    #[error("line {line}: <{element}> lacks attribute {attribute}")]
    MissingAttribute {
        element: String,
        attribute: String,
        line: u32,
    },
    #[error("line {line}: attribute {attribute}={value:?} is not valid")]
    BadAttribute {
        attribute: String,
        value: String,
        line: u32,
    },
    #[error("unsupported: {what} (line {line})")]
    Unsupported { what: String, line: u32 },
    #[error("unknown type {0}")]
    UnknownType(String),
    #[error("bad value {0}")]
    BadValue(String),
    #[error("layout: {0}")]
    Layout(String),
    #[error("reading or writing {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// Generation options for one schema.
#[derive(Debug, Clone)]
pub struct Options {
    /// Oldest header version decoders accept (default: the schema's own version).
    pub min_version: Option<u16>,
    /// Upper bound on any repeating group's entry count, on top of the dimension's own maximum.
    pub max_group_entries: u32,
    /// Path of the runtime module in generated code.
    pub runtime_path: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            min_version: None,
            max_group_entries: 65_535,
            runtime_path: "::sbe_codegen::rt".to_owned(),
        }
    }
}

/// Parses and resolves schema XML into the layout model.
pub fn load(xml: &str) -> Result<model::Schema, CodegenError> {
    resolve::resolve(&parse::parse(xml)?)
}

/// Generates Rust source for schema XML.
pub fn generate(xml: &str, options: &Options) -> Result<String, CodegenError> {
    emit::emit(&load(xml)?, options)
}

/// Reads `schema`, writes generated code to `out`, and tells cargo to re-run when the schema changes.
pub fn generate_file(schema: &Path, out: &Path, options: &Options) -> Result<(), CodegenError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| CodegenError::Io { path, source }
    };
    println!("cargo:rerun-if-changed={}", schema.display());
    let xml = std::fs::read_to_string(schema).map_err(io(schema))?;
    let code = generate(&xml, options)?;
    std::fs::write(out, code).map_err(io(out))
}
