//! Step 2: raw syntax tree → resolved [`Schema`] (type lookup, composite flattening, offsets,
//! block lengths, group dimensions, var-data encodings).

use crate::CodegenError;
use crate::encodings::{dimension, var_data};
use crate::model::{EnumType, Field, FieldKind, Group, Message, Presence, Primitive, Schema, VarData};
use crate::names;
use crate::parse::{RawBody, RawEncoded, RawField, RawSchema, RawType};
use std::collections::HashMap;

pub(crate) struct Types<'a> {
    pub(crate) by_name: HashMap<&'a str, &'a RawType>,
    enums: Vec<EnumType>,
    enum_index: HashMap<String, usize>,
}

/// Resolves a parsed schema.
pub fn resolve(raw: &RawSchema) -> Result<Schema, CodegenError> {
    let mut types = Types {
        by_name: HashMap::new(),
        enums: Vec::new(),
        enum_index: HashMap::new(),
    };
    for t in &raw.types {
        collect(&mut types, t)?;
    }
    check_header(&types, &raw.header_type)?;
    let mut messages = Vec::new();
    for m in &raw.messages {
        let (fields, groups, data, computed) = resolve_body(&types, &m.body, &m.name)?;
        messages.push(Message {
            name: m.name.clone(),
            id: m.id,
            block_length: block_length(m.block_length, computed, &m.name)?,
            fields,
            groups,
            data,
        });
    }
    Ok(Schema {
        package: raw.package.clone(),
        id: raw.id,
        version: raw.version,
        enums: types.enums,
        messages,
    })
}

fn collect<'a>(types: &mut Types<'a>, t: &'a RawType) -> Result<(), CodegenError> {
    types.by_name.insert(t.name(), t);
    match t {
        RawType::Enum {
            name,
            encoding,
            values,
        } => {
            let prim = encoding_prim(types, encoding)?;
            let values = values
                .iter()
                .map(|(n, v)| Ok((n.clone(), enum_literal(prim, v)?)))
                .collect::<Result<Vec<_>, CodegenError>>()?;
            types.enum_index.insert(name.clone(), types.enums.len());
            types.enums.push(EnumType {
                name: name.clone(),
                encoding: prim,
                values,
            });
        }
        RawType::Composite { members, .. } => {
            for m in members {
                if !matches!(m, RawType::Encoded(_) | RawType::Ref { .. }) {
                    collect(types, m)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn encoding_prim(types: &Types<'_>, encoding: &str) -> Result<Primitive, CodegenError> {
    match types.by_name.get(encoding) {
        Some(RawType::Encoded(e)) => Primitive::from_name(&e.primitive),
        _ => Primitive::from_name(encoding),
    }
}

fn enum_literal(prim: Primitive, v: &str) -> Result<String, CodegenError> {
    if prim == Primitive::Char {
        let c = v
            .chars()
            .next()
            .filter(|c| c.is_ascii())
            .ok_or_else(|| CodegenError::BadValue(v.to_owned()))?;
        return Ok(format!("{}u8", c as u32));
    }
    let n: i128 = v.parse().map_err(|_| CodegenError::BadValue(v.to_owned()))?;
    Ok(format!("{n}{}", prim.rust()))
}

fn check_header(types: &Types<'_>, header: &str) -> Result<(), CodegenError> {
    let expected = ["blockLength", "templateId", "schemaId", "version"];
    let ok = match types.by_name.get(header) {
        Some(RawType::Composite { members, .. }) => {
            members.len() == 4
                && members
                    .iter()
                    .zip(expected)
                    .all(|(m, n)| matches!(m, RawType::Encoded(e) if e.name == n && e.primitive == "uint16"))
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(CodegenError::Unsupported {
            what: format!("message header {header} is not 4 × uint16"),
            line: 0,
        })
    }
}

fn block_length(declared: Option<usize>, computed: usize, ctx: &str) -> Result<usize, CodegenError> {
    match declared {
        Some(d) if d < computed => Err(CodegenError::Layout(format!(
            "{ctx}: declared blockLength {d} is shorter than its fields ({computed})"
        ))),
        Some(d) => Ok(d),
        None => Ok(computed),
    }
}

type Body = (Vec<Field>, Vec<Group>, Vec<VarData>, usize);

fn resolve_body(types: &Types<'_>, body: &RawBody, ctx: &str) -> Result<Body, CodegenError> {
    let mut fields = Vec::new();
    let mut offset = 0usize;
    let mut end = 0usize;
    for f in &body.fields {
        let at = f.offset.unwrap_or(offset);
        let before = fields.len();
        resolve_field(types, f, &f.name, &f.type_name, at, &mut fields)?;
        let size: usize = fields[before..].iter().map(Field::wire_size).sum();
        offset = at + size;
        end = end.max(offset);
    }
    let mut groups = Vec::new();
    for g in &body.groups {
        let ctx = format!("{ctx}.{}", g.name);
        let (gf, gg, gd, computed) = resolve_body(types, &g.body, &ctx)?;
        groups.push(Group {
            name: g.name.clone(),
            id: g.id,
            dimension: dimension(types, &g.dimension_type)?,
            block_length: block_length(g.block_length, computed, &ctx)?,
            fields: gf,
            groups: gg,
            data: gd,
        });
    }
    let data = body
        .data
        .iter()
        .map(|(n, id, t)| var_data(types, n, *id, t))
        .collect::<Result<_, _>>()?;
    Ok((fields, groups, data, end))
}

fn resolve_field(
    types: &Types<'_>,
    f: &RawField,
    name: &str,
    type_name: &str,
    offset: usize,
    out: &mut Vec<Field>,
) -> Result<(), CodegenError> {
    let mut field = Field {
        name: name.to_owned(),
        id: f.id,
        type_name: type_name.to_owned(),
        offset,
        kind: FieldKind::Primitive(Primitive::U8),
        presence: Presence::Required,
        exponent_ref: f.exponent_ref.clone(),
    };
    match types.by_name.get(type_name).copied() {
        None => {
            let prim = Primitive::from_name(type_name)?;
            field.kind = FieldKind::Primitive(prim);
            field.presence = presence(f, prim, None, None)?;
        }
        Some(RawType::Encoded(e)) => encoded(&mut field, f, e)?,
        Some(RawType::Enum { name: en, .. }) => {
            let index = types
                .enum_index
                .get(en)
                .copied()
                .ok_or_else(|| CodegenError::UnknownType(en.clone()))?;
            let prim = types.enums[index].encoding;
            field.kind = FieldKind::Enum { index, prim };
            field.presence = presence(f, prim, None, Some(en))?;
        }
        Some(RawType::Set { encoding, .. }) => {
            field.kind = FieldKind::Set(encoding_prim(types, encoding)?);
        }
        Some(RawType::Composite { members, .. }) => {
            let mut at = offset;
            for m in members {
                let member_name = format!("{name}_{}", m.name());
                let sub = RawField {
                    presence: None,
                    value_ref: None,
                    constant: None,
                    ..f.clone()
                };
                let before = out.len();
                match m {
                    RawType::Encoded(e) => {
                        let mut mf = Field {
                            name: member_name,
                            offset: at,
                            ..field.clone()
                        };
                        encoded(&mut mf, &sub, e)?;
                        out.push(mf);
                    }
                    RawType::Ref { type_name, .. } => {
                        resolve_field(types, &sub, &member_name, type_name, at, out)?
                    }
                    other => resolve_field(types, &sub, &member_name, other.name(), at, out)?,
                }
                at += out[before..].iter().map(Field::wire_size).sum::<usize>();
            }
            return Ok(());
        }
        Some(RawType::Ref { type_name: t, .. }) => return resolve_field(types, f, name, t, offset, out),
    }
    out.push(field);
    Ok(())
}

fn encoded(field: &mut Field, f: &RawField, e: &RawEncoded) -> Result<(), CodegenError> {
    let prim = Primitive::from_name(&e.primitive)?;
    field.kind = match e.length {
        Some(n) if n != 1 => FieldKind::Array { prim, length: n },
        _ => FieldKind::Primitive(prim),
    };
    field.presence = presence(f, prim, Some(e), None)?;
    Ok(())
}

fn presence(
    f: &RawField,
    prim: Primitive,
    ty: Option<&RawEncoded>,
    enum_name: Option<&str>,
) -> Result<Presence, CodegenError> {
    let kind = f
        .presence
        .as_deref()
        .or(ty.and_then(|t| t.presence.as_deref()))
        .unwrap_or("required");
    match kind {
        "required" => Ok(Presence::Required),
        "optional" => {
            let null = match ty.and_then(|t| t.null_value.as_deref()) {
                Some(v) if enum_name.is_none() => literal(prim, v)?,
                _ => prim.null_literal().to_owned(),
            };
            Ok(Presence::Optional { null })
        }
        "constant" => {
            if let (Some(en), Some(vr)) = (enum_name, f.value_ref.as_deref()) {
                let variant = vr.rsplit('.').next().unwrap_or(vr);
                return Ok(Presence::Constant {
                    value: format!("{}::{}", names::pascal(en), names::variant(variant)),
                });
            }
            let text = f
                .constant
                .as_deref()
                .or(ty.and_then(|t| t.constant.as_deref()))
                .ok_or_else(|| CodegenError::Layout(format!("constant field {} has no value", f.name)))?;
            Ok(Presence::Constant {
                value: literal(prim, text)?,
            })
        }
        other => Err(CodegenError::BadValue(format!("presence {other}"))),
    }
}

fn literal(prim: Primitive, v: &str) -> Result<String, CodegenError> {
    if prim.is_float() {
        let x: f64 = v.parse().map_err(|_| CodegenError::BadValue(v.to_owned()))?;
        return Ok(format!("{x:?}{}", prim.rust()));
    }
    enum_literal(prim, v)
}
