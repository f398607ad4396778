//! Little-endian writes used by generated encoders. Writes outside the slice are ignored (generated
//! code only writes inside blocks it has just reserved), so nothing here panics.

use super::{CountWidth, EncodeError};

macro_rules! putter {
    ($name:ident, $t:ty, $n:literal) => {
        /// Writes `v` little-endian at `off` (ignored when out of range).
        #[inline(always)]
        pub fn $name(buf: &mut [u8], off: usize, v: $t) {
            if let Some(dst) = buf.get_mut(off..off.wrapping_add($n)) {
                dst.copy_from_slice(&v.to_le_bytes());
            }
        }
    };
}

putter!(put_u8, u8, 1);
putter!(put_i8, i8, 1);
putter!(put_u16, u16, 2);
putter!(put_i16, i16, 2);
putter!(put_u32, u32, 4);
putter!(put_i32, i32, 4);
putter!(put_u64, u64, 8);
putter!(put_i64, i64, 8);
putter!(put_f32, f32, 4);
putter!(put_f64, f64, 8);

/// Copies `v` into the fixed-length array field at `off` (zero padded).
#[inline]
pub fn put_bytes(
    buf: &mut [u8],
    off: usize,
    len: usize,
    v: &[u8],
    field: &'static str,
) -> Result<(), EncodeError> {
    if v.len() > len {
        return Err(EncodeError::ArrayTooLong {
            field,
            len: v.len(),
            max: len,
        });
    }
    if let Some(dst) = buf.get_mut(off..off + len) {
        dst.fill(0);
        if let Some(d) = dst.get_mut(..v.len()) {
            d.copy_from_slice(v);
        }
    }
    Ok(())
}

/// Appends the standard 8-byte message header followed by a zeroed root block; returns the
/// offset of the header.
#[inline]
pub fn begin_message(
    buf: &mut Vec<u8>,
    block_length: u16,
    template_id: u16,
    schema_id: u16,
    version: u16,
) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&block_length.to_le_bytes());
    buf.extend_from_slice(&template_id.to_le_bytes());
    buf.extend_from_slice(&schema_id.to_le_bytes());
    buf.extend_from_slice(&version.to_le_bytes());
    buf.resize(buf.len() + usize::from(block_length), 0);
    start
}

/// Appends a group dimension with a zero count; returns the offset of the dimension.
#[inline]
pub fn begin_group(buf: &mut Vec<u8>, block_len: u16, width: CountWidth) -> usize {
    let at = buf.len();
    buf.extend_from_slice(&block_len.to_le_bytes());
    buf.resize(at + 2 + width.size(), 0);
    at
}

/// Overwrites the count of the group dimension at `at`.
#[inline]
pub fn set_group_count(buf: &mut [u8], at: usize, width: CountWidth, count: u32) {
    match width {
        CountWidth::U8 => put_u8(buf, at + 2, count as u8),
        CountWidth::U16 => put_u16(buf, at + 2, count as u16),
        CountWidth::U32 => put_u32(buf, at + 2, count),
    }
}

/// Appends one zeroed group entry of `block_len` bytes; returns its offset.
#[inline]
pub fn append_entry(buf: &mut Vec<u8>, block_len: u16) -> usize {
    let at = buf.len();
    buf.resize(at + usize::from(block_len), 0);
    at
}

/// Appends a var-data field: a `len_size`-byte length prefix (bounded by `max`) and the bytes.
#[inline]
pub fn put_var(
    buf: &mut Vec<u8>,
    len_size: usize,
    max: usize,
    v: &[u8],
    field: &'static str,
) -> Result<(), EncodeError> {
    if v.len() > max {
        return Err(EncodeError::VarDataTooLong {
            field,
            len: v.len(),
            max,
        });
    }
    match len_size {
        1 => buf.push(v.len() as u8),
        2 => buf.extend_from_slice(&(v.len() as u16).to_le_bytes()),
        _ => buf.extend_from_slice(&(v.len() as u32).to_le_bytes()),
    }
    buf.extend_from_slice(v);
    Ok(())
}
