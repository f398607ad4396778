//! Group dimension and var-data encodings (composites of a length/count and a block length).

use crate::CodegenError;
use crate::model::{Dimension, Primitive, VarData};
use crate::parse::{RawEncoded, RawType};
use crate::resolve::Types;

fn members(types: &Types<'_>, name: &str) -> Result<Vec<RawEncoded>, CodegenError> {
    match types.by_name.get(name) {
        Some(RawType::Composite { members, .. }) => members
            .iter()
            .map(|m| match m {
                RawType::Encoded(e) => Ok(e.clone()),
                _ => Err(CodegenError::Unsupported {
                    what: format!("non-primitive member in {name}"),
                    line: 0,
                }),
            })
            .collect(),
        _ => Err(CodegenError::UnknownType(name.to_owned())),
    }
}

pub(crate) fn dimension(types: &Types<'_>, name: &str) -> Result<Dimension, CodegenError> {
    let m = members(types, name)?;
    let bad = || CodegenError::Unsupported {
        what: format!("group dimension {name}"),
        line: 0,
    };
    let [bl, count] = m.as_slice() else {
        return Err(bad());
    };
    if bl.name != "blockLength" || bl.primitive != "uint16" || count.name != "numInGroup" {
        return Err(bad());
    }
    let count_prim = Primitive::from_name(&count.primitive)?;
    if !matches!(count_prim, Primitive::U8 | Primitive::U16 | Primitive::U32) {
        return Err(bad());
    }
    Ok(Dimension {
        type_name: name.to_owned(),
        count: count_prim,
        header_len: 2 + count_prim.size(),
        max_count: count.max_value.as_deref().and_then(|v| v.trim().parse().ok()),
    })
}

pub(crate) fn var_data(
    types: &Types<'_>,
    name: &str,
    id: u16,
    type_name: &str,
) -> Result<VarData, CodegenError> {
    let m = members(types, type_name)?;
    let bad = || CodegenError::Unsupported {
        what: format!("var data encoding {type_name}"),
        line: 0,
    };
    let [len, data] = m.as_slice() else {
        return Err(bad());
    };
    let length = Primitive::from_name(&len.primitive)?;
    let type_max = length.unsigned_max().ok_or_else(bad)?;
    if len.name != "length" || data.name != "varData" || length == Primitive::U64 {
        return Err(bad());
    }
    let max_len = len
        .max_value
        .as_deref()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(type_max)
        .min(type_max);
    let utf8 = data
        .character_encoding
        .as_deref()
        .is_some_and(|e| !e.eq_ignore_ascii_case("none"));
    Ok(VarData {
        name: name.to_owned(),
        id,
        type_name: type_name.to_owned(),
        length,
        max_len,
        utf8,
    })
}
