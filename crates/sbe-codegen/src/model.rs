//! Step 2 data: the resolved schema model (types looked up, offsets and block lengths computed).
//! This is what code is emitted from, and what cross-check tests compare between schema files.

use crate::CodegenError;

/// An SBE primitive type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primitive {
    Char,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    F64,
}

impl Primitive {
    pub fn from_name(name: &str) -> Result<Self, CodegenError> {
        Ok(match name {
            "char" => Self::Char,
            "int8" => Self::I8,
            "int16" => Self::I16,
            "int32" => Self::I32,
            "int64" => Self::I64,
            "uint8" => Self::U8,
            "uint16" => Self::U16,
            "uint32" => Self::U32,
            "uint64" => Self::U64,
            "float" => Self::F32,
            "double" => Self::F64,
            other => return Err(CodegenError::UnknownType(other.to_owned())),
        })
    }

    /// Encoded size in bytes.
    pub const fn size(self) -> usize {
        match self {
            Self::Char | Self::I8 | Self::U8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::I64 | Self::U64 | Self::F64 => 8,
        }
    }

    /// The Rust type a value of this primitive is exposed as.
    pub const fn rust(self) -> &'static str {
        match self {
            Self::Char | Self::U8 => "u8",
            Self::I8 => "i8",
            Self::I16 => "i16",
            Self::I32 => "i32",
            Self::I64 => "i64",
            Self::U16 => "u16",
            Self::U32 => "u32",
            Self::U64 => "u64",
            Self::F32 => "f32",
            Self::F64 => "f64",
        }
    }

    /// The SBE default null value as a Rust expression.
    pub const fn null_literal(self) -> &'static str {
        match self {
            Self::Char => "0u8",
            Self::I8 => "i8::MIN",
            Self::I16 => "i16::MIN",
            Self::I32 => "i32::MIN",
            Self::I64 => "i64::MIN",
            Self::U8 => "u8::MAX",
            Self::U16 => "u16::MAX",
            Self::U32 => "u32::MAX",
            Self::U64 => "u64::MAX",
            Self::F32 => "f32::NAN",
            Self::F64 => "f64::NAN",
        }
    }

    pub const fn is_float(self) -> bool {
        matches!(self, Self::F32 | Self::F64)
    }

    /// Largest value as u64 for unsigned integers (used for counts and lengths).
    pub const fn unsigned_max(self) -> Option<u64> {
        match self {
            Self::U8 => Some(u8::MAX as u64),
            Self::U16 => Some(u16::MAX as u64),
            Self::U32 => Some(u32::MAX as u64),
            Self::U64 => Some(u64::MAX),
            _ => None,
        }
    }
}

/// Whether a field is on the wire and how null is expressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    Required,
    /// On the wire; this Rust expression (the schema's nullValue or the SBE default) means "absent".
    Optional {
        null: String,
    },
    /// Not on the wire; always this Rust expression.
    Constant {
        value: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    Primitive(Primitive),
    /// A fixed-length array of a primitive (e.g. `char` strings, 128-bit mantissas): raw bytes.
    Array {
        prim: Primitive,
        length: usize,
    },
    /// A value of `Schema::enums[index]`.
    Enum {
        index: usize,
        prim: Primitive,
    },
    /// A bit set, exposed as its raw encoding.
    Set(Primitive),
}

/// A field with its resolved offset inside its block. Composite-typed fields are flattened into
/// one field per member, named `<field>_<member>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub id: u16,
    /// The schema type name (for cross-checks and docs).
    pub type_name: String,
    pub offset: usize,
    pub kind: FieldKind,
    pub presence: Presence,
    pub exponent_ref: Option<String>,
}

impl Field {
    /// Bytes the field occupies on the wire (0 for constants).
    pub fn wire_size(&self) -> usize {
        if matches!(self.presence, Presence::Constant { .. }) {
            return 0;
        }
        match self.kind {
            FieldKind::Primitive(p) | FieldKind::Enum { prim: p, .. } | FieldKind::Set(p) => p.size(),
            FieldKind::Array { prim, length } => prim.size() * length,
        }
    }
}

/// A group dimension composite: a `u16` blockLength followed by a `numInGroup` count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dimension {
    pub type_name: String,
    pub count: Primitive,
    /// Header size in bytes (2 + count size).
    pub header_len: usize,
    /// The count's `maxValue` when the schema sets one.
    pub max_count: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub id: u16,
    pub dimension: Dimension,
    pub block_length: usize,
    pub fields: Vec<Field>,
    pub groups: Vec<Group>,
    pub data: Vec<VarData>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarData {
    pub name: String,
    pub id: u16,
    pub type_name: String,
    /// The length prefix primitive (u8 / u16 / u32).
    pub length: Primitive,
    /// Largest encodable length (the prefix's maxValue or its type's maximum).
    pub max_len: u64,
    /// Has a characterEncoding other than none: exposed as `&str`.
    pub utf8: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub name: String,
    pub id: u16,
    pub block_length: usize,
    pub fields: Vec<Field>,
    pub groups: Vec<Group>,
    pub data: Vec<VarData>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumType {
    pub name: String,
    pub encoding: Primitive,
    /// (name, raw value as a Rust literal of `encoding`).
    pub values: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub package: String,
    pub id: u16,
    pub version: u16,
    pub enums: Vec<EnumType>,
    pub messages: Vec<Message>,
}

impl Schema {
    pub fn message(&self, name: &str) -> Option<&Message> {
        self.messages.iter().find(|m| m.name == name)
    }
}
