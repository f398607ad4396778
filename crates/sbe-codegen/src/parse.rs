//! Step 1: SBE XML → raw syntax tree (names and attributes as written, nothing resolved yet).

use crate::CodegenError;
use roxmltree::Node;

/// A `<type>`, `<composite>`, `<enum>` or `<set>` declaration.
#[derive(Debug, Clone)]
pub enum RawType {
    Encoded(RawEncoded),
    Composite {
        name: String,
        members: Vec<RawType>,
    },
    Enum {
        name: String,
        encoding: String,
        values: Vec<(String, String)>,
    },
    Set {
        name: String,
        encoding: String,
    },
    /// `<ref name=".." type=".."/>` inside a composite.
    Ref {
        name: String,
        type_name: String,
    },
}

impl RawType {
    pub fn name(&self) -> &str {
        match self {
            Self::Encoded(e) => &e.name,
            Self::Composite { name, .. }
            | Self::Enum { name, .. }
            | Self::Set { name, .. }
            | Self::Ref { name, .. } => name,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RawEncoded {
    pub name: String,
    pub primitive: String,
    pub length: Option<usize>,
    pub presence: Option<String>,
    pub null_value: Option<String>,
    pub max_value: Option<String>,
    pub constant: Option<String>,
    pub character_encoding: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RawField {
    pub name: String,
    pub id: u16,
    pub type_name: String,
    pub presence: Option<String>,
    pub value_ref: Option<String>,
    pub constant: Option<String>,
    pub offset: Option<usize>,
    /// Any namespaced `exponent` attribute (Binance's `mbx:exponent`): the exponent field's name.
    pub exponent_ref: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RawBody {
    pub fields: Vec<RawField>,
    pub groups: Vec<RawGroup>,
    pub data: Vec<(String, u16, String)>,
}

#[derive(Debug, Clone)]
pub struct RawGroup {
    pub name: String,
    pub id: u16,
    pub dimension_type: String,
    pub block_length: Option<usize>,
    pub body: RawBody,
}

#[derive(Debug, Clone)]
pub struct RawMessage {
    pub name: String,
    pub id: u16,
    pub block_length: Option<usize>,
    pub body: RawBody,
}

#[derive(Debug, Clone)]
pub struct RawSchema {
    pub package: String,
    pub id: u16,
    pub version: u16,
    pub header_type: String,
    pub types: Vec<RawType>,
    pub messages: Vec<RawMessage>,
}

fn req<'a>(n: Node<'a, '_>, attr: &str) -> Result<&'a str, CodegenError> {
    n.attribute(attr).ok_or_else(|| CodegenError::MissingAttribute {
        element: n.tag_name().name().to_owned(),
        attribute: attr.to_owned(),
        line: line_of(n),
    })
}

fn num<T: std::str::FromStr>(n: Node<'_, '_>, attr: &str, v: &str) -> Result<T, CodegenError> {
    v.trim().parse().map_err(|_| CodegenError::BadAttribute {
        attribute: attr.to_owned(),
        value: v.to_owned(),
        line: line_of(n),
    })
}

fn opt_num<T: std::str::FromStr>(n: Node<'_, '_>, attr: &str) -> Result<Option<T>, CodegenError> {
    n.attribute(attr).map(|v| num(n, attr, v)).transpose()
}

pub(crate) fn line_of(n: Node<'_, '_>) -> u32 {
    n.document().text_pos_at(n.range().start).row
}

fn elements<'a, 'i>(n: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(|c| c.is_element())
}

/// Parses schema XML text.
pub fn parse(xml: &str) -> Result<RawSchema, CodegenError> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| CodegenError::Xml(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "messageSchema" {
        return Err(CodegenError::Unsupported {
            what: "root element is not messageSchema".into(),
            line: 1,
        });
    }
    if let Some(order) = root.attribute("byteOrder")
        && order != "littleEndian"
    {
        return Err(CodegenError::Unsupported {
            what: format!("byteOrder {order}"),
            line: line_of(root),
        });
    }
    let mut schema = RawSchema {
        package: root.attribute("package").unwrap_or("schema").to_owned(),
        id: num(root, "id", req(root, "id")?)?,
        version: opt_num(root, "version")?.unwrap_or(0),
        header_type: root.attribute("headerType").unwrap_or("messageHeader").to_owned(),
        types: Vec::new(),
        messages: Vec::new(),
    };
    for child in elements(root) {
        match child.tag_name().name() {
            "types" => {
                for t in elements(child) {
                    schema.types.push(parse_type(t)?);
                }
            }
            "message" => schema.messages.push(RawMessage {
                name: req(child, "name")?.to_owned(),
                id: num(child, "id", req(child, "id")?)?,
                block_length: opt_num(child, "blockLength")?,
                body: parse_body(child)?,
            }),
            other => {
                return Err(CodegenError::Unsupported {
                    what: format!("element <{other}> in messageSchema"),
                    line: line_of(child),
                });
            }
        }
    }
    Ok(schema)
}

fn parse_type(t: Node<'_, '_>) -> Result<RawType, CodegenError> {
    let name = req(t, "name")?.to_owned();
    Ok(match t.tag_name().name() {
        "type" => RawType::Encoded(RawEncoded {
            name,
            primitive: req(t, "primitiveType")?.to_owned(),
            length: opt_num(t, "length")?,
            presence: t.attribute("presence").map(str::to_owned),
            null_value: t.attribute("nullValue").map(str::to_owned),
            max_value: t.attribute("maxValue").map(str::to_owned),
            constant: t.text().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
            character_encoding: t.attribute("characterEncoding").map(str::to_owned),
        }),
        "composite" => RawType::Composite {
            name,
            members: elements(t).map(parse_type).collect::<Result<_, _>>()?,
        },
        "enum" => RawType::Enum {
            name,
            encoding: req(t, "encodingType")?.to_owned(),
            values: elements(t)
                .map(|v| {
                    Ok((
                        req(v, "name")?.to_owned(),
                        v.text().unwrap_or("").trim().to_owned(),
                    ))
                })
                .collect::<Result<_, CodegenError>>()?,
        },
        "set" => RawType::Set {
            name,
            encoding: req(t, "encodingType")?.to_owned(),
        },
        "ref" => RawType::Ref {
            name,
            type_name: req(t, "type")?.to_owned(),
        },
        other => {
            return Err(CodegenError::Unsupported {
                what: format!("type element <{other}>"),
                line: line_of(t),
            });
        }
    })
}

fn parse_body(n: Node<'_, '_>) -> Result<RawBody, CodegenError> {
    let mut body = RawBody::default();
    for c in elements(n) {
        match c.tag_name().name() {
            "field" => body.fields.push(RawField {
                name: req(c, "name")?.to_owned(),
                id: num(c, "id", req(c, "id")?)?,
                type_name: req(c, "type")?.to_owned(),
                presence: c.attribute("presence").map(str::to_owned),
                value_ref: c.attribute("valueRef").map(str::to_owned),
                constant: c.text().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
                offset: opt_num(c, "offset")?,
                exponent_ref: c
                    .attributes()
                    .find(|a| a.name() == "exponent" && a.namespace().is_some())
                    .map(|a| a.value().to_owned()),
            }),
            "group" => body.groups.push(RawGroup {
                name: req(c, "name")?.to_owned(),
                id: num(c, "id", req(c, "id")?)?,
                dimension_type: c
                    .attribute("dimensionType")
                    .unwrap_or("groupSizeEncoding")
                    .to_owned(),
                block_length: opt_num(c, "blockLength")?,
                body: parse_body(c)?,
            }),
            "data" => body.data.push((
                req(c, "name")?.to_owned(),
                num(c, "id", req(c, "id")?)?,
                req(c, "type")?.to_owned(),
            )),
            other => {
                return Err(CodegenError::Unsupported {
                    what: format!("element <{other}> in a message"),
                    line: line_of(c),
                });
            }
        }
    }
    Ok(body)
}
