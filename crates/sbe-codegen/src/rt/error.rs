//! Typed decode/encode errors shared by every generated codec.

/// Why a frame could not be decoded. Every variant is cheap to build (no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The buffer ends before a header, block, group or var-data field does.
    #[error("truncated frame: need {need} bytes, have {have}")]
    Truncated { need: usize, have: usize },
    /// The header's schema id is not the one this codec was generated for.
    #[error("wrong schema id {actual} (expected {expected})")]
    WrongSchemaId { expected: u16, actual: u16 },
    /// The header's version is older than the oldest version this codec accepts.
    #[error("unsupported schema version {actual} (oldest supported {min})")]
    UnsupportedVersion { min: u16, actual: u16 },
    /// The template id is not a message of this schema.
    #[error("unknown template id {template_id}")]
    UnknownTemplate { template_id: u16 },
    /// A specific message decoder was given another message.
    #[error("template id {actual} given to the decoder of template {expected}")]
    WrongTemplate { expected: u16, actual: u16 },
    /// A root or group block is shorter than the fields this codec needs from it.
    #[error("{context}: block length {actual} is shorter than {min}")]
    BlockTooShort {
        context: &'static str,
        min: u16,
        actual: u16,
    },
    /// A repeating group declares more entries than the codec allows.
    #[error("group {group}: {count} entries exceeds the limit of {max}")]
    GroupTooLarge {
        group: &'static str,
        count: u32,
        max: u32,
    },
    /// A var-data string is not valid UTF-8.
    #[error("field {field} is not valid UTF-8")]
    InvalidUtf8 { field: &'static str },
    /// An enum field holds a value that is neither a valid value nor null.
    #[error("field {field}: invalid enum value {value}")]
    InvalidEnum { field: &'static str, value: u64 },
    /// A container (e.g. a record envelope) declares a different number of items than it holds.
    #[error("{context}: declared {declared} items, found {found}")]
    CountMismatch {
        context: &'static str,
        declared: u32,
        found: u32,
    },
}

impl DecodeError {
    /// A short, bounded label for metrics (`error_type`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Truncated { .. } => "truncated",
            Self::WrongSchemaId { .. } => "wrong_schema_id",
            Self::UnsupportedVersion { .. } => "unsupported_version",
            Self::UnknownTemplate { .. } => "unknown_template",
            Self::WrongTemplate { .. } => "wrong_template",
            Self::BlockTooShort { .. } => "block_too_short",
            Self::GroupTooLarge { .. } => "group_too_large",
            Self::InvalidUtf8 { .. } => "invalid_utf8",
            Self::InvalidEnum { .. } => "invalid_enum",
            Self::CountMismatch { .. } => "count_mismatch",
        }
    }
}

/// Why a message could not be encoded. The output buffer is left as it was before the failed call
/// wherever that is possible; a failed message should be discarded by truncating to its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// Appending one more entry would exceed the group's count limit.
    #[error("group {group}: more than {max} entries")]
    GroupTooLarge { group: &'static str, max: u32 },
    /// A var-data value is longer than its length prefix can express.
    #[error("field {field}: length {len} exceeds {max}")]
    VarDataTooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    /// Groups and var data must be written in schema order; this one comes too late.
    #[error("section {section} written out of schema order")]
    SectionOutOfOrder { section: &'static str },
    /// A fixed-length array value is longer than the field.
    #[error("field {field}: {len} bytes do not fit in {max}")]
    ArrayTooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
}

impl EncodeError {
    /// A short, bounded label for metrics (`error_type`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::GroupTooLarge { .. } => "group_too_large",
            Self::VarDataTooLong { .. } => "var_data_too_long",
            Self::SectionOutOfOrder { .. } => "section_out_of_order",
            Self::ArrayTooLong { .. } => "array_too_long",
        }
    }
}
