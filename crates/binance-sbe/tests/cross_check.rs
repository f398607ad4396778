//! Checks the project's schema files against Binance's published ones (in `../shared/reference/
//! binance-sbe/` beside the workspace) when they are present: same schema id/version, template
//! ids, block lengths, field offsets/types/presence, group encodings and var-data encodings for
//! every message the project uses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sbe_codegen::model::{FieldKind, Group, Message, Schema, VarData};
use std::path::{Path, PathBuf};

fn reference_dir() -> PathBuf {
    // crates/binance-sbe → workspace root → its sibling `shared`
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/binance-sbe")
}

fn load(path: &Path) -> Schema {
    let xml = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    sbe_codegen::load(&xml).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ours(file: &str) -> Schema {
    load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas").join(file))
}

fn fields(s: &Schema, fields: &[sbe_codegen::model::Field]) -> Vec<String> {
    fields
        .iter()
        .map(|f| {
            let kind = match &f.kind {
                FieldKind::Enum { index, prim } => {
                    let e = &s.enums[*index];
                    format!("enum {}:{:?} {:?}", e.name, prim, e.values)
                }
                k => format!("{k:?}"),
            };
            format!(
                "field {} id={} type={} offset={} {kind} {:?} exponent={:?}",
                f.name, f.id, f.type_name, f.offset, f.presence, f.exponent_ref
            )
        })
        .collect()
}

fn group(s: &Schema, g: &Group) -> Vec<String> {
    let mut v = vec![format!(
        "group {} id={} dim={} count={:?} header={} block={}",
        g.name, g.id, g.dimension.type_name, g.dimension.count, g.dimension.header_len, g.block_length
    )];
    v.extend(fields(s, &g.fields));
    v
}

fn data(d: &VarData) -> String {
    format!(
        "data {} id={} type={} len={:?} utf8={}",
        d.name, d.id, d.type_name, d.length, d.utf8
    )
}

fn describe(s: &Schema, m: &Message) -> Vec<String> {
    let mut v = vec![format!("message {} id={} block={}", m.name, m.id, m.block_length)];
    v.extend(fields(s, &m.fields));
    v.extend(m.groups.iter().flat_map(|g| group(s, g)));
    v.extend(m.data.iter().map(data));
    v
}

fn compare(ours: &Schema, theirs: &Schema) {
    assert_eq!(
        (ours.id, ours.version),
        (theirs.id, theirs.version),
        "schema id/version"
    );
    for m in &ours.messages {
        let t = theirs
            .message(&m.name)
            .unwrap_or_else(|| panic!("{} missing from Binance's schema", m.name));
        assert_eq!(describe(ours, m), describe(theirs, t), "{}", m.name);
    }
}

#[test]
fn stream_schema_matches_binance_published_stream_1_0() {
    let path = reference_dir().join("stream_1_0.xml");
    if !path.exists() {
        eprintln!(
            "SKIP: {} not found (shared reference data absent)",
            path.display()
        );
        return;
    }
    let ours = ours("spot-stream-1.0.xml");
    assert_eq!(ours.messages.len(), 4);
    compare(&ours, &load(&path));
    // The facts the layout is built on, independently of both files.
    let blocks: Vec<_> = ours.messages.iter().map(|m| (m.id, m.block_length)).collect();
    assert_eq!(blocks, [(10000, 18), (10001, 50), (10002, 18), (10003, 26)]);
}

#[test]
fn rest_schema_matches_binance_published_spot_3_5() {
    let path = reference_dir().join("spot_3_5.xml");
    if !path.exists() {
        eprintln!(
            "SKIP: {} not found (shared reference data absent)",
            path.display()
        );
        return;
    }
    let ours = ours("spot-rest-3.5.xml");
    assert_eq!(ours.messages.len(), 2);
    compare(&ours, &load(&path));
}

#[test]
fn generated_constants_agree_with_the_schema_model() {
    use binance_sbe::{rest, stream};
    let s = ours("spot-stream-1.0.xml");
    let diff = s.message("DepthDiffStreamEvent").unwrap();
    assert_eq!(
        usize::from(stream::depth_diff_stream_event::BLOCK_LENGTH),
        diff.block_length
    );
    assert_eq!(
        usize::from(stream::depth_diff_stream_event::BIDS_BLOCK_LENGTH),
        diff.groups[0].block_length
    );
    assert_eq!(stream::SCHEMA_ID, s.id);
    let r = ours("spot-rest-3.5.xml");
    assert_eq!((rest::SCHEMA_ID, rest::SCHEMA_VERSION), (r.id, r.version));
    assert_eq!(
        usize::from(rest::depth_response::BLOCK_LENGTH),
        r.message("DepthResponse").unwrap().block_length
    );
}
