//! Field accessors (decoders) and setters (encoders) for one block of fields.

use crate::model::{Field, FieldKind, Presence, Primitive, Schema};
use crate::names::{pascal, snake};
use std::fmt::{Result, Write};

fn getter(p: Primitive) -> String {
    let t = if p == Primitive::Char { "u8" } else { p.rust() };
    format!("rt::get_{t}")
}

fn putter(p: Primitive) -> String {
    let t = if p == Primitive::Char { "u8" } else { p.rust() };
    format!("rt::put_{t}")
}

fn is_null(p: Primitive, v: &str, null: &str) -> String {
    if p.is_float() {
        format!("{v}.is_nan()")
    } else {
        format!("{v} == {null}")
    }
}

/// Emits decoder accessors. `base` is the expression of the block start within `self.buf`;
/// `lt` the lifetime of returned borrows.
pub fn accessors(o: &mut String, schema: &Schema, fields: &[Field], base: &str) -> Result {
    for f in fields {
        let n = snake(&f.name);
        let off = match (base, f.offset) {
            ("0", o) => o.to_string(),
            (b, 0) => b.to_owned(),
            (b, o) => format!("{b} + {o}"),
        };
        writeln!(
            o,
            "    /// `{}` (id {}, type `{}`, offset {}).",
            f.name, f.id, f.type_name, f.offset
        )?;
        writeln!(o, "    #[inline]")?;
        match (&f.kind, &f.presence) {
            (FieldKind::Primitive(p) | FieldKind::Set(p), Presence::Constant { value }) => {
                writeln!(o, "    pub fn {n}(&self) -> {} {{ {value} }}", p.rust())?;
            }
            (FieldKind::Primitive(p) | FieldKind::Set(p), Presence::Required) => {
                writeln!(
                    o,
                    "    pub fn {n}(&self) -> {} {{ {}(self.buf, {off}) }}",
                    p.rust(),
                    getter(*p)
                )?;
            }
            (FieldKind::Primitive(p) | FieldKind::Set(p), Presence::Optional { null }) => {
                writeln!(o, "    pub fn {n}(&self) -> Option<{}> {{", p.rust())?;
                writeln!(o, "        let v = {}(self.buf, {off});", getter(*p))?;
                writeln!(
                    o,
                    "        if {} {{ None }} else {{ Some(v) }}",
                    is_null(*p, "v", null)
                )?;
                writeln!(o, "    }}")?;
            }
            (FieldKind::Array { prim, length }, _) => {
                let len = prim.size() * length;
                writeln!(
                    o,
                    "    pub fn {n}(&self) -> &'a [u8] {{ rt::get_bytes(self.buf, {off}, {len}) }}"
                )?;
            }
            (FieldKind::Enum { index, prim }, presence) => {
                let e = pascal(&schema.enums[*index].name);
                let t = prim.rust();
                match presence {
                    Presence::Constant { value } => {
                        writeln!(o, "    pub fn {n}(&self) -> {e} {{ {value} }}")?
                    }
                    Presence::Required => {
                        writeln!(o, "    pub fn {n}(&self) -> Result<{e}, rt::DecodeError> {{")?;
                        writeln!(o, "        let raw = self.{n}_raw();")?;
                        writeln!(
                            o,
                            "        {e}::from_raw(raw).ok_or(rt::DecodeError::InvalidEnum {{ field: {:?}, value: raw as u64 }})",
                            f.name
                        )?;
                        writeln!(o, "    }}")?;
                    }
                    Presence::Optional { null } => {
                        writeln!(
                            o,
                            "    pub fn {n}(&self) -> Result<Option<{e}>, rt::DecodeError> {{"
                        )?;
                        writeln!(o, "        let raw = self.{n}_raw();")?;
                        writeln!(o, "        if raw == {null} {{ return Ok(None); }}")?;
                        writeln!(
                            o,
                            "        {e}::from_raw(raw).map(Some).ok_or(rt::DecodeError::InvalidEnum {{ field: {:?}, value: raw as u64 }})",
                            f.name
                        )?;
                        writeln!(o, "    }}")?;
                    }
                }
                if !matches!(presence, Presence::Constant { .. }) {
                    writeln!(o, "    /// Raw wire value of `{}`.", f.name)?;
                    writeln!(o, "    #[inline]")?;
                    writeln!(
                        o,
                        "    pub fn {n}_raw(&self) -> {t} {{ {}(self.buf, {off}) }}",
                        getter(*prim)
                    )?;
                }
            }
        }
        if let Some(exp) = decimal_exponent(f, fields) {
            writeln!(
                o,
                "    /// `{}` as an exact decimal (exponent from `{}`).",
                f.name, exp.name
            )?;
            writeln!(o, "    #[inline]")?;
            writeln!(
                o,
                "    pub fn {n}_decimal(&self) -> rt::Decimal {{ rt::Decimal::new(self.{n}(), self.{}()) }}",
                snake(&exp.name)
            )?;
        }
    }
    Ok(())
}

/// The exponent field of a required i64 mantissa whose exponent is a required i8 in the same block.
fn decimal_exponent<'f>(f: &Field, fields: &'f [Field]) -> Option<&'f Field> {
    let r = f.exponent_ref.as_deref()?;
    let exp = fields.iter().find(|e| e.name == r)?;
    let ok = f.kind == FieldKind::Primitive(Primitive::I64)
        && f.presence == Presence::Required
        && exp.kind == FieldKind::Primitive(Primitive::I8)
        && exp.presence == Presence::Required;
    ok.then_some(exp)
}

/// Emits encoder setters writing into the slice returned by `self.{block}()`.
pub fn setters(o: &mut String, schema: &Schema, fields: &[Field], block: &str) -> Result {
    for f in fields {
        let n = snake(&f.name);
        let off = f.offset;
        match (&f.kind, &f.presence) {
            (_, Presence::Constant { .. }) => {}
            (FieldKind::Primitive(p) | FieldKind::Set(p), Presence::Required) => {
                writeln!(o, "    /// Sets `{}`.", f.name)?;
                writeln!(o, "    #[inline]")?;
                writeln!(o, "    pub fn {n}(&mut self, v: {}) -> &mut Self {{", p.rust())?;
                writeln!(o, "        {}(self.{block}(), {off}, v);", putter(*p))?;
                writeln!(o, "        self\n    }}")?;
            }
            (FieldKind::Primitive(p) | FieldKind::Set(p), Presence::Optional { null }) => {
                writeln!(o, "    /// Sets `{}` (`None` writes the null value).", f.name)?;
                writeln!(o, "    #[inline]")?;
                writeln!(
                    o,
                    "    pub fn {n}(&mut self, v: Option<{}>) -> &mut Self {{",
                    p.rust()
                )?;
                writeln!(
                    o,
                    "        {}(self.{block}(), {off}, v.unwrap_or({null}));",
                    putter(*p)
                )?;
                writeln!(o, "        self\n    }}")?;
            }
            (FieldKind::Array { prim, length }, _) => {
                let len = prim.size() * length;
                writeln!(o, "    /// Sets `{}` (zero padded to {len} bytes).", f.name)?;
                writeln!(
                    o,
                    "    pub fn {n}(&mut self, v: &[u8]) -> Result<&mut Self, rt::EncodeError> {{"
                )?;
                writeln!(
                    o,
                    "        rt::put_bytes(self.{block}(), {off}, {len}, v, {:?})?;",
                    f.name
                )?;
                writeln!(o, "        Ok(self)\n    }}")?;
            }
            (FieldKind::Enum { index, prim }, presence) => {
                let e = pascal(&schema.enums[*index].name);
                writeln!(o, "    /// Sets `{}`.", f.name)?;
                writeln!(o, "    #[inline]")?;
                if let Presence::Optional { null } = presence {
                    writeln!(o, "    pub fn {n}(&mut self, v: Option<{e}>) -> &mut Self {{")?;
                    writeln!(
                        o,
                        "        {}(self.{block}(), {off}, v.map_or({null}, {e}::raw));",
                        putter(*prim)
                    )?;
                } else {
                    writeln!(o, "    pub fn {n}(&mut self, v: {e}) -> &mut Self {{")?;
                    writeln!(o, "        {}(self.{block}(), {off}, v.raw());", putter(*prim))?;
                }
                writeln!(o, "        self\n    }}")?;
            }
        }
    }
    Ok(())
}

/// Statements that write null into every optional field (run when a block is reserved).
pub fn init_nulls(o: &mut String, fields: &[Field], block: &str) -> Result {
    for f in fields {
        if let (
            Presence::Optional { null },
            FieldKind::Primitive(p) | FieldKind::Enum { prim: p, .. } | FieldKind::Set(p),
        ) = (&f.presence, &f.kind)
        {
            writeln!(o, "        {}(e.{block}(), {}, {null});", putter(*p), f.offset)?;
        }
    }
    Ok(())
}
