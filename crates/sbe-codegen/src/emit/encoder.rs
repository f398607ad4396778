//! Encoder of one message: appends to a `Vec<u8>`; root fields are random access, groups and var
//! data are appended in schema order (skipped sections are written empty).

use super::{Ctx, fields, width};
use crate::names::{pascal, screaming, snake};
use std::fmt::{Result, Write};

pub(crate) fn emit(o: &mut String, c: &Ctx<'_>) -> Result {
    let m = c.msg;
    let sections = m.groups.len() + m.data.len();
    writeln!(
        o,
        "/// Appends a `{}` message to a buffer. Root fields may be set in any order; groups",
        m.name
    )?;
    writeln!(
        o,
        "/// and var data must follow schema order. Call [`Encoder::finish`] to complete the frame."
    )?;
    writeln!(o, "#[must_use = \"call finish() to complete the message\"]")?;
    writeln!(
        o,
        "pub struct Encoder<'b> {{\n    buf: &'b mut Vec<u8>,\n    start: usize,"
    )?;
    if sections > 0 {
        writeln!(o, "    next: usize,")?;
    }
    writeln!(o, "}}\n\nimpl<'b> Encoder<'b> {{")?;
    writeln!(
        o,
        "    /// Appends the header and a zeroed root block (optional fields set to null)."
    )?;
    writeln!(o, "    pub fn new(buf: &'b mut Vec<u8>) -> Self {{")?;
    writeln!(
        o,
        "        let start = rt::begin_message(buf, BLOCK_LENGTH, TEMPLATE_ID, SCHEMA_ID, SCHEMA_VERSION);"
    )?;
    let next = if sections > 0 { ", next: 0" } else { "" };
    let has_nulls = m
        .fields
        .iter()
        .any(|f| matches!(f.presence, crate::model::Presence::Optional { .. }));
    if has_nulls {
        writeln!(o, "        let mut e = Self {{ buf, start{next} }};")?;
        fields::init_nulls(o, &m.fields, "root")?;
        writeln!(o, "        e\n    }}\n")?;
    } else {
        writeln!(o, "        Self {{ buf, start{next} }}\n    }}\n")?;
    }
    writeln!(
        o,
        "    #[allow(dead_code)]\n    #[inline]\n    fn root(&mut self) -> &mut [u8] {{"
    )?;
    writeln!(o, "        let s = self.start + rt::HEADER_LEN;")?;
    writeln!(o, "        self.buf.get_mut(s..).unwrap_or_default()\n    }}")?;
    fields::setters(o, c.schema, &m.fields, "root")?;
    if sections > 0 {
        emit_sections(o, c)?;
    }
    writeln!(
        o,
        "    /// Writes any sections not yet written (empty) and returns the message length."
    )?;
    writeln!(o, "    pub fn finish(self) -> usize {{")?;
    if sections > 0 {
        writeln!(o, "        let mut e = self;")?;
        writeln!(
            o,
            "        while e.next < {sections} {{\n            e.write_empty(e.next);\n            e.next += 1;\n        }}"
        )?;
        writeln!(o, "        e.buf.len() - e.start\n    }}")?;
    } else {
        writeln!(o, "        self.buf.len() - self.start\n    }}")?;
    }
    writeln!(o, "}}\n")?;
    for g in &m.groups {
        emit_group(o, c, g)?;
    }
    Ok(())
}

fn emit_sections(o: &mut String, c: &Ctx<'_>) -> Result {
    let m = c.msg;
    writeln!(
        o,
        "    fn advance(&mut self, idx: usize, section: &'static str) -> Result<(), rt::EncodeError> {{"
    )?;
    writeln!(
        o,
        "        if self.next > idx {{\n            return Err(rt::EncodeError::SectionOutOfOrder {{ section }});\n        }}"
    )?;
    writeln!(
        o,
        "        while self.next < idx {{\n            self.write_empty(self.next);\n            self.next += 1;\n        }}"
    )?;
    writeln!(o, "        self.next = idx + 1;\n        Ok(())\n    }}\n")?;
    writeln!(o, "    #[allow(clippy::single_match)]")?;
    writeln!(
        o,
        "    fn write_empty(&mut self, idx: usize) {{\n        match idx {{"
    )?;
    for (i, g) in m.groups.iter().enumerate() {
        writeln!(
            o,
            "            {i} => {{\n                rt::begin_group(self.buf, {}_BLOCK_LENGTH, {});\n            }}",
            screaming(&g.name),
            width(g)
        )?;
    }
    for (j, d) in m.data.iter().enumerate() {
        let i = m.groups.len() + j;
        writeln!(
            o,
            "            {i} => {{\n                let _ = rt::put_var(self.buf, {}, 0, &[], {:?});\n            }}",
            d.length.size(),
            d.name
        )?;
    }
    writeln!(o, "            _ => {{}}\n        }}\n    }}\n")?;
    for (i, g) in m.groups.iter().enumerate() {
        let (n, p, up) = (snake(&g.name), pascal(&g.name), screaming(&g.name));
        writeln!(
            o,
            "    /// Starts group `{}` (entries are appended through the returned encoder).",
            g.name
        )?;
        writeln!(
            o,
            "    pub fn {n}(&mut self) -> Result<{p}Encoder<'_>, rt::EncodeError> {{"
        )?;
        writeln!(o, "        self.advance({i}, {:?})?;", g.name)?;
        writeln!(
            o,
            "        let at = rt::begin_group(self.buf, {up}_BLOCK_LENGTH, {});",
            width(g)
        )?;
        writeln!(
            o,
            "        Ok({p}Encoder {{ buf: self.buf, at, count: 0 }})\n    }}"
        )?;
    }
    for (j, d) in m.data.iter().enumerate() {
        let i = m.groups.len() + j;
        let n = snake(&d.name);
        let (t, bytes) = if d.utf8 {
            ("&str", "v.as_bytes()")
        } else {
            ("&[u8]", "v")
        };
        writeln!(
            o,
            "    /// Appends var data `{}` (at most {} bytes).",
            d.name, d.max_len
        )?;
        writeln!(
            o,
            "    pub fn {n}(&mut self, v: {t}) -> Result<&mut Self, rt::EncodeError> {{"
        )?;
        writeln!(o, "        const MAX: usize = {};", d.max_len)?;
        writeln!(o, "        if v.len() > MAX {{")?;
        writeln!(
            o,
            "            return Err(rt::EncodeError::VarDataTooLong {{ field: {:?}, len: v.len(), max: MAX }});",
            d.name
        )?;
        writeln!(o, "        }}\n        self.advance({i}, {:?})?;", d.name)?;
        writeln!(
            o,
            "        rt::put_var(self.buf, {}, MAX, {bytes}, {:?})?;",
            d.length.size(),
            d.name
        )?;
        writeln!(o, "        Ok(self)\n    }}")?;
    }
    Ok(())
}

fn emit_group(o: &mut String, c: &Ctx<'_>, g: &crate::model::Group) -> Result {
    let (p, up) = (pascal(&g.name), screaming(&g.name));
    writeln!(
        o,
        "/// Appends entries to group `{}`; the count in its header follows every append.",
        g.name
    )?;
    writeln!(
        o,
        "pub struct {p}Encoder<'e> {{\n    buf: &'e mut Vec<u8>,\n    at: usize,\n    count: u32,\n}}\n"
    )?;
    writeln!(o, "impl {p}Encoder<'_> {{")?;
    writeln!(
        o,
        "    /// Appends one zeroed entry (optional fields null) and returns its setter."
    )?;
    writeln!(
        o,
        "    pub fn entry(&mut self) -> Result<{p}EntryEncoder<'_>, rt::EncodeError> {{"
    )?;
    writeln!(o, "        if self.count >= {up}_MAX_COUNT {{")?;
    writeln!(
        o,
        "            return Err(rt::EncodeError::GroupTooLarge {{ group: {:?}, max: {up}_MAX_COUNT }});",
        g.name
    )?;
    writeln!(o, "        }}\n        self.count += 1;")?;
    writeln!(
        o,
        "        rt::set_group_count(self.buf, self.at, {}, self.count);",
        width(g)
    )?;
    writeln!(
        o,
        "        let s = rt::append_entry(self.buf, {up}_BLOCK_LENGTH);"
    )?;
    let has_nulls = g
        .fields
        .iter()
        .any(|f| matches!(f.presence, crate::model::Presence::Optional { .. }));
    if has_nulls {
        writeln!(
            o,
            "        let mut e = {p}EntryEncoder {{ buf: self.buf.get_mut(s..).unwrap_or_default() }};"
        )?;
        fields::init_nulls(o, &g.fields, "block")?;
        writeln!(o, "        Ok(e)\n    }}")?;
    } else {
        writeln!(
            o,
            "        Ok({p}EntryEncoder {{ buf: self.buf.get_mut(s..).unwrap_or_default() }})\n    }}"
        )?;
    }
    writeln!(
        o,
        "    /// Entries appended so far.\n    pub fn count(&self) -> u32 {{ self.count }}\n}}\n"
    )?;
    writeln!(o, "/// Setters of one entry of group `{}`.", g.name)?;
    writeln!(
        o,
        "pub struct {p}EntryEncoder<'g> {{\n    buf: &'g mut [u8],\n}}\n"
    )?;
    writeln!(o, "impl {p}EntryEncoder<'_> {{")?;
    writeln!(
        o,
        "    #[allow(dead_code)]\n    #[inline]\n    fn block(&mut self) -> &mut [u8] {{ self.buf }}"
    )?;
    fields::setters(o, c.schema, &g.fields, "block")?;
    writeln!(o, "}}\n")
}
