//! Decoder flyweight of one message: validation in `wrap`, infallible accessors afterwards.

use super::{Ctx, fields, width};
use crate::names::{pascal, screaming, snake};
use std::fmt::{Result, Write};

pub(crate) fn emit(o: &mut String, c: &Ctx<'_>) -> Result {
    let m = c.msg;
    writeln!(o, "/// Zero-copy view of a validated `{}` frame.", m.name)?;
    writeln!(o, "#[derive(Debug, Clone, Copy)]\npub struct Decoder<'a> {{")?;
    writeln!(o, "    buf: &'a [u8],\n    header: rt::MessageHeader,")?;
    for g in &m.groups {
        writeln!(o, "    {}: rt::GroupSpan,", snake(&g.name))?;
    }
    for d in &m.data {
        let t = if d.utf8 { "&'a str" } else { "&'a [u8]" };
        writeln!(o, "    {}: {t},", snake(&d.name))?;
    }
    writeln!(o, "}}\n\nimpl<'a> Decoder<'a> {{")?;
    writeln!(
        o,
        "    /// Validates a whole frame (header, block, group bounds, var data) and wraps it."
    )?;
    writeln!(
        o,
        "    /// Bytes after the message are ignored; see [`Self::encoded_len`]."
    )?;
    writeln!(
        o,
        "    #[inline]\n    pub fn wrap(buf: &'a [u8]) -> Result<Self, rt::DecodeError> {{"
    )?;
    writeln!(o, "        let header = rt::MessageHeader::read(buf)?;")?;
    writeln!(o, "        header.check_schema(SCHEMA_ID, MIN_VERSION)?;")?;
    writeln!(o, "        if header.template_id != TEMPLATE_ID {{")?;
    writeln!(
        o,
        "            return Err(rt::DecodeError::WrongTemplate {{ expected: TEMPLATE_ID, actual: header.template_id }});"
    )?;
    writeln!(o, "        }}\n        Self::wrap_checked(buf, header)\n    }}\n")?;
    writeln!(
        o,
        "    /// Like [`Self::wrap`] for a `header` already read from `buf` whose schema and template"
    )?;
    writeln!(o, "    /// were checked by the caller.")?;
    writeln!(
        o,
        "    #[inline]\n    pub fn wrap_checked(buf: &'a [u8], header: rt::MessageHeader) -> Result<Self, rt::DecodeError> {{"
    )?;
    writeln!(o, "        if header.block_length < BLOCK_LENGTH {{")?;
    writeln!(
        o,
        "            return Err(rt::DecodeError::BlockTooShort {{ context: {:?}, min: BLOCK_LENGTH, actual: header.block_length }});",
        m.name
    )?;
    writeln!(o, "        }}")?;
    let mutable = if m.groups.is_empty() && m.data.is_empty() {
        ""
    } else {
        "mut "
    };
    writeln!(
        o,
        "        let {mutable}pos = rt::HEADER_LEN + usize::from(header.block_length);"
    )?;
    writeln!(o, "        rt::ensure(buf, pos)?;")?;
    for g in &m.groups {
        let up = screaming(&g.name);
        writeln!(
            o,
            "        let {} = rt::read_group(buf, &mut pos, {}, {up}_BLOCK_LENGTH, {up}_MAX_COUNT, {:?})?;",
            snake(&g.name),
            width(g),
            g.name
        )?;
    }
    for d in &m.data {
        let n = snake(&d.name);
        let size = d.length.size();
        if d.utf8 {
            writeln!(
                o,
                "        let {n} = rt::read_var_str(buf, &mut pos, {size}, {:?})?;",
                d.name
            )?;
        } else {
            writeln!(o, "        let {n} = rt::read_var(buf, &mut pos, {size})?;")?;
        }
    }
    writeln!(o, "        let buf = buf.get(..pos).unwrap_or(buf);")?;
    let mut init = String::from("buf, header");
    for n in m
        .groups
        .iter()
        .map(|g| &g.name)
        .chain(m.data.iter().map(|d| &d.name))
    {
        init.push_str(", ");
        init.push_str(&snake(n));
    }
    writeln!(o, "        Ok(Self {{ {init} }})\n    }}\n")?;
    writeln!(
        o,
        "    /// The message header as read (its version and blockLength are the acting ones)."
    )?;
    writeln!(
        o,
        "    #[inline]\n    pub fn header(&self) -> rt::MessageHeader {{ self.header }}"
    )?;
    writeln!(o, "    /// Bytes this message occupies, header included.")?;
    writeln!(
        o,
        "    #[inline]\n    pub fn encoded_len(&self) -> usize {{ self.buf.len() }}"
    )?;
    writeln!(o, "    /// The frame bytes of this message.")?;
    writeln!(
        o,
        "    #[inline]\n    pub fn as_bytes(&self) -> &'a [u8] {{ self.buf }}"
    )?;
    fields::accessors(o, c.schema, &m.fields, "rt::HEADER_LEN")?;
    for g in &m.groups {
        let (n, p) = (snake(&g.name), pascal(&g.name));
        writeln!(o, "    /// Entries of group `{}` (id {}).", g.name, g.id)?;
        writeln!(
            o,
            "    #[inline]\n    pub fn {n}(&self) -> {p}Iter<'a> {{ {p}Iter(rt::EntryIter::new(self.buf, self.{n})) }}"
        )?;
        writeln!(o, "    /// Entry count of group `{}`.", g.name)?;
        writeln!(
            o,
            "    #[inline]\n    pub fn {n}_count(&self) -> u32 {{ self.{n}.count }}"
        )?;
    }
    for d in &m.data {
        let n = snake(&d.name);
        let t = if d.utf8 { "&'a str" } else { "&'a [u8]" };
        writeln!(o, "    /// Var data `{}` (id {}).", d.name, d.id)?;
        writeln!(o, "    #[inline]\n    pub fn {n}(&self) -> {t} {{ self.{n} }}")?;
    }
    writeln!(o, "}}\n")?;
    for g in &m.groups {
        let p = pascal(&g.name);
        writeln!(o, "/// Iterator over the entries of group `{}`.", g.name)?;
        writeln!(
            o,
            "#[derive(Debug, Clone)]\npub struct {p}Iter<'a>(rt::EntryIter<'a>);"
        )?;
        writeln!(
            o,
            "impl<'a> Iterator for {p}Iter<'a> {{\n    type Item = {p}Entry<'a>;"
        )?;
        writeln!(
            o,
            "    #[inline]\n    fn next(&mut self) -> Option<{p}Entry<'a>> {{ self.0.next().map(|buf| {p}Entry {{ buf }}) }}"
        )?;
        writeln!(
            o,
            "    #[inline]\n    fn size_hint(&self) -> (usize, Option<usize>) {{ self.0.size_hint() }}\n}}"
        )?;
        writeln!(o, "impl ExactSizeIterator for {p}Iter<'_> {{}}\n")?;
        writeln!(o, "/// One entry of group `{}`.", g.name)?;
        writeln!(
            o,
            "#[derive(Debug, Clone, Copy)]\npub struct {p}Entry<'a> {{\n    buf: &'a [u8],\n}}"
        )?;
        writeln!(o, "impl<'a> {p}Entry<'a> {{")?;
        fields::accessors(o, c.schema, &g.fields, "0")?;
        writeln!(o, "}}\n")?;
    }
    Ok(())
}
