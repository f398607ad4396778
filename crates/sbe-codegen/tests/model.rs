//! Schema → layout model: offsets, block lengths, presence, group and var-data encodings, and the
//! errors a schema the generator cannot handle produces at build time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sbe_codegen::model::{FieldKind, Presence, Primitive};
use sbe_codegen::{CodegenError, Options, generate, load};

fn schema(types: &str, messages: &str) -> String {
    format!(
        r#"<sbe:messageSchema xmlns:sbe="http://fixprotocol.io/2016/sbe" xmlns:x="urn:x" package="t" id="7" version="2" byteOrder="littleEndian">
  <types>
    <composite name="messageHeader">
      <type name="blockLength" primitiveType="uint16"/><type name="templateId" primitiveType="uint16"/>
      <type name="schemaId" primitiveType="uint16"/><type name="version" primitiveType="uint16"/>
    </composite>
    <composite name="groupSizeEncoding"><type name="blockLength" primitiveType="uint16"/><type name="numInGroup" primitiveType="uint32" maxValue="1000"/></composite>
    <composite name="groupSize8"><type name="blockLength" primitiveType="uint16"/><type name="numInGroup" primitiveType="uint8"/></composite>
    <composite name="varString16"><type name="length" primitiveType="uint16"/><type name="varData" primitiveType="uint8" length="0" characterEncoding="UTF-8"/></composite>
    <composite name="blob"><type name="length" primitiveType="uint32"/><type name="varData" primitiveType="uint8" length="0"/></composite>
    <composite name="decimal"><type name="mantissa" primitiveType="int64"/><type name="exponent" primitiveType="int8"/></composite>
    <type name="sym" primitiveType="char" length="6"/>
    <type name="optPrice" primitiveType="int32" presence="optional" nullValue="0"/>
    <enum name="side" encodingType="char"><validValue name="Buy">B</validValue><validValue name="Sell">S</validValue></enum>
    <set name="flags" encodingType="uint16"><choice name="A">0</choice></set>
    {types}
  </types>
  {messages}
</sbe:messageSchema>"#
    )
}

const MSG: &str = r#"
  <sbe:message name="Order" id="5">
    <field name="px" id="1" type="decimal"/>
    <field name="symbol" id="2" type="sym"/>
    <field name="side" id="3" type="side"/>
    <field name="kind" id="4" type="side" presence="constant" valueRef="side.Sell"/>
    <field name="limit" id="5" type="optPrice"/>
    <field name="flags" id="6" type="flags"/>
    <field name="late" id="7" type="uint8" offset="40"/>
    <group name="legs" id="100" dimensionType="groupSize8">
      <field name="qty" id="1" type="uint64"/>
      <field name="maybeSide" id="2" type="side" presence="optional"/>
    </group>
    <group name="fills" id="101"><field name="n" id="1" type="int16"/></group>
    <data name="note" id="200" type="varString16"/>
    <data name="raw" id="201" type="blob"/>
  </sbe:message>"#;

#[test]
fn composites_are_flattened_and_offsets_follow_the_wire_sizes() {
    let s = load(&schema("", MSG)).unwrap();
    assert_eq!((s.id, s.version), (7, 2));
    let m = s.message("Order").unwrap();
    let layout: Vec<_> = m
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.offset, f.wire_size()))
        .collect();
    assert_eq!(
        layout,
        [
            ("px_mantissa", 0, 8),
            ("px_exponent", 8, 1),
            ("symbol", 9, 6),
            ("side", 15, 1),
            ("kind", 16, 0),
            ("limit", 16, 4),
            ("flags", 20, 2),
            ("late", 40, 1),
        ]
    );
    assert_eq!(m.block_length, 41, "explicit offset extends the block");
    assert_eq!(
        m.fields[2].kind,
        FieldKind::Array {
            prim: Primitive::Char,
            length: 6
        }
    );
    assert_eq!(
        m.fields[4].presence,
        Presence::Constant {
            value: "Side::Sell".into()
        }
    );
    assert_eq!(m.fields[5].presence, Presence::Optional { null: "0i32".into() });
    assert_eq!(
        s.enums[0].values,
        [
            ("Buy".to_owned(), "66u8".to_owned()),
            ("Sell".to_owned(), "83u8".to_owned())
        ]
    );
}

#[test]
fn groups_and_var_data_take_their_encodings_from_the_schema() {
    let s = load(&schema("", MSG)).unwrap();
    let m = s.message("Order").unwrap();
    let legs = &m.groups[0];
    assert_eq!(
        (legs.dimension.count, legs.dimension.header_len, legs.block_length),
        (Primitive::U8, 3, 9)
    );
    assert!(matches!(legs.fields[1].presence, Presence::Optional { .. }));
    let fills = &m.groups[1];
    assert_eq!(
        (fills.dimension.type_name.as_str(), fills.dimension.header_len),
        ("groupSizeEncoding", 6)
    );
    assert_eq!(fills.dimension.max_count, Some(1000));
    let data: Vec<_> = m
        .data
        .iter()
        .map(|d| (d.name.as_str(), d.length, d.utf8, d.max_len))
        .collect();
    assert_eq!(
        data,
        [
            ("note", Primitive::U16, true, 65_535),
            ("raw", Primitive::U32, false, u64::from(u32::MAX))
        ]
    );
}

#[test]
fn group_limits_combine_the_schema_maximum_and_the_option() {
    let code = generate(
        &schema("", MSG),
        &Options {
            max_group_entries: 500,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(code.contains("pub const LEGS_MAX_COUNT: u32 = 255;"), "u8 count");
    assert!(
        code.contains("pub const FILLS_MAX_COUNT: u32 = 500;"),
        "option below maxValue"
    );
    let code = generate(&schema("", MSG), &Options::default()).unwrap();
    assert!(
        code.contains("pub const FILLS_MAX_COUNT: u32 = 1000;"),
        "schema maxValue below option"
    );
    assert!(code.contains("pub const MIN_VERSION: u16 = 2;"));
    assert!(code.contains("pub fn decode(buf: &[u8]) -> Result<Message<'_>, rt::DecodeError>"));
}

#[test]
fn a_declared_block_length_shorter_than_the_fields_is_an_error() {
    let msg =
        r#"<sbe:message name="M" id="1" blockLength="4"><field name="a" id="1" type="int64"/></sbe:message>"#;
    assert!(matches!(load(&schema("", msg)), Err(CodegenError::Layout(_))));
    let msg = r#"<sbe:message name="M" id="1" blockLength="16"><field name="a" id="1" type="int64"/></sbe:message>"#;
    assert_eq!(load(&schema("", msg)).unwrap().messages[0].block_length, 16);
}

#[test]
fn unsupported_constructs_fail_the_build_with_a_clear_error() {
    let nested = r#"<sbe:message name="M" id="1"><group name="g" id="1"><field name="a" id="1" type="int8"/>
        <group name="h" id="2"><field name="b" id="1" type="int8"/></group></group></sbe:message>"#;
    let err = generate(&schema("", nested), &Options::default()).unwrap_err();
    assert!(err.to_string().contains("nested groups"), "{err}");
    let big_endian = schema("", "").replace("littleEndian", "bigEndian");
    assert!(matches!(load(&big_endian), Err(CodegenError::Unsupported { .. })));
    let unknown = r#"<sbe:message name="M" id="1"><field name="a" id="1" type="nosuch"/></sbe:message>"#;
    assert!(matches!(load(&schema("", unknown)), Err(CodegenError::UnknownType(t)) if t == "nosuch"));
    let no_id = r#"<sbe:message name="M"><field name="a" id="1" type="int8"/></sbe:message>"#;
    assert!(matches!(
        load(&schema("", no_id)),
        Err(CodegenError::MissingAttribute { .. })
    ));
    assert!(matches!(load("<not-xml"), Err(CodegenError::Xml(_))));
}
