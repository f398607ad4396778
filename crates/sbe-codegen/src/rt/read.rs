//! Bounds-checked little-endian reads used by generated decoders. No function here panics or
//! allocates: out-of-range reads of primitives return 0 (generated code only reads ranges it has
//! validated, so that branch is dead and optimised away), structural reads return `DecodeError`.

use super::DecodeError;

/// Length of the standard SBE message header (blockLength, templateId, schemaId, version; u16 each).
pub const HEADER_LEN: usize = 8;

macro_rules! getter {
    ($name:ident, $t:ty, $n:literal) => {
        /// Reads a little-endian value at `off`; 0 when out of range.
        #[inline(always)]
        pub fn $name(buf: &[u8], off: usize) -> $t {
            match buf.get(off..off.wrapping_add($n)) {
                Some(s) => {
                    let mut a = [0u8; $n];
                    a.copy_from_slice(s);
                    <$t>::from_le_bytes(a)
                }
                None => 0 as $t,
            }
        }
    };
}

getter!(get_u8, u8, 1);
getter!(get_i8, i8, 1);
getter!(get_u16, u16, 2);
getter!(get_i16, i16, 2);
getter!(get_u32, u32, 4);
getter!(get_i32, i32, 4);
getter!(get_u64, u64, 8);
getter!(get_i64, i64, 8);
getter!(get_f32, f32, 4);
getter!(get_f64, f64, 8);

/// A fixed-length byte array at `off` (empty when out of range).
#[inline(always)]
pub fn get_bytes(buf: &[u8], off: usize, len: usize) -> &[u8] {
    buf.get(off..off.wrapping_add(len)).unwrap_or(&[])
}

/// Fails with `Truncated` unless `buf` holds at least `need` bytes.
#[inline(always)]
pub fn ensure(buf: &[u8], need: usize) -> Result<(), DecodeError> {
    if buf.len() < need {
        Err(DecodeError::Truncated {
            need,
            have: buf.len(),
        })
    } else {
        Ok(())
    }
}

/// The standard 8-byte SBE message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageHeader {
    pub block_length: u16,
    pub template_id: u16,
    pub schema_id: u16,
    pub version: u16,
}

impl MessageHeader {
    /// Reads the header at the start of `buf`.
    #[inline]
    pub fn read(buf: &[u8]) -> Result<Self, DecodeError> {
        ensure(buf, HEADER_LEN)?;
        Ok(Self {
            block_length: get_u16(buf, 0),
            template_id: get_u16(buf, 2),
            schema_id: get_u16(buf, 4),
            version: get_u16(buf, 6),
        })
    }

    /// Rejects a foreign schema id or a version older than `min_version`. Newer versions are
    /// accepted: their longer blocks are skipped using `blockLength`.
    #[inline]
    pub fn check_schema(&self, schema_id: u16, min_version: u16) -> Result<(), DecodeError> {
        if self.schema_id != schema_id {
            return Err(DecodeError::WrongSchemaId {
                expected: schema_id,
                actual: self.schema_id,
            });
        }
        if self.version < min_version {
            return Err(DecodeError::UnsupportedVersion {
                min: min_version,
                actual: self.version,
            });
        }
        Ok(())
    }
}

/// Width of a group dimension's `numInGroup` (its `blockLength` is always a u16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountWidth {
    U8,
    U16,
    U32,
}

impl CountWidth {
    /// Size in bytes of the count field.
    pub const fn size(self) -> usize {
        match self {
            Self::U8 => 1,
            Self::U16 => 2,
            Self::U32 => 4,
        }
    }
}

/// A validated repeating group: `count` entries of `block_len` bytes starting at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupSpan {
    pub offset: usize,
    pub count: u32,
    pub block_len: u16,
}

/// Reads a group dimension at `*pos`, bounds the count against `max` and the bytes left in `buf`
/// (before anything iterates or allocates), and advances `*pos` past the group.
#[inline]
pub fn read_group(
    buf: &[u8],
    pos: &mut usize,
    width: CountWidth,
    min_block: u16,
    max: u32,
    group: &'static str,
) -> Result<GroupSpan, DecodeError> {
    let header = 2 + width.size();
    ensure(buf, *pos + header)?;
    let block_len = get_u16(buf, *pos);
    let count = match width {
        CountWidth::U8 => u32::from(get_u8(buf, *pos + 2)),
        CountWidth::U16 => u32::from(get_u16(buf, *pos + 2)),
        CountWidth::U32 => get_u32(buf, *pos + 2),
    };
    if count > max {
        return Err(DecodeError::GroupTooLarge { group, count, max });
    }
    if block_len < min_block {
        return Err(DecodeError::BlockTooShort {
            context: group,
            min: min_block,
            actual: block_len,
        });
    }
    let offset = *pos + header;
    // count <= max <= u32::MAX and block_len <= u16::MAX: the product fits in u64 and, once
    // compared with the buffer length, in usize.
    let body = u64::from(count) * u64::from(block_len);
    let have = (buf.len() - offset.min(buf.len())) as u64;
    if body > have {
        let need = usize::try_from(body).unwrap_or(usize::MAX).saturating_add(offset);
        return Err(DecodeError::Truncated {
            need,
            have: buf.len(),
        });
    }
    *pos = offset + body as usize;
    Ok(GroupSpan {
        offset,
        count,
        block_len,
    })
}

/// Reads a var-data field with a `len_size`-byte length prefix at `*pos` and advances past it.
#[inline]
pub fn read_var<'a>(buf: &'a [u8], pos: &mut usize, len_size: usize) -> Result<&'a [u8], DecodeError> {
    ensure(buf, *pos + len_size)?;
    let len = match len_size {
        1 => usize::from(get_u8(buf, *pos)),
        2 => usize::from(get_u16(buf, *pos)),
        _ => get_u32(buf, *pos) as usize,
    };
    let start = *pos + len_size;
    let end = start.saturating_add(len);
    match buf.get(start..end) {
        Some(s) => {
            *pos = end;
            Ok(s)
        }
        None => Err(DecodeError::Truncated {
            need: end,
            have: buf.len(),
        }),
    }
}

/// Like [`read_var`] for a UTF-8 string field.
#[inline]
pub fn read_var_str<'a>(
    buf: &'a [u8],
    pos: &mut usize,
    len_size: usize,
    field: &'static str,
) -> Result<&'a str, DecodeError> {
    let bytes = read_var(buf, pos, len_size)?;
    core::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8 { field })
}

/// Iterates the entries of a validated group as byte slices of the acting entry block length.
#[derive(Debug, Clone)]
pub struct EntryIter<'a> {
    buf: &'a [u8],
    pos: usize,
    remaining: u32,
    block_len: usize,
}

impl<'a> EntryIter<'a> {
    /// Entries of `span` within `buf` (the span must come from [`read_group`] over the same buffer).
    #[inline]
    pub fn new(buf: &'a [u8], span: GroupSpan) -> Self {
        Self {
            buf,
            pos: span.offset,
            remaining: span.count,
            block_len: usize::from(span.block_len),
        }
    }
}

impl<'a> Iterator for EntryIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        let entry = self.buf.get(self.pos..self.pos + self.block_len)?;
        self.pos += self.block_len;
        self.remaining -= 1;
        Some(entry)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining as usize, Some(self.remaining as usize))
    }
}

impl ExactSizeIterator for EntryIter<'_> {}
