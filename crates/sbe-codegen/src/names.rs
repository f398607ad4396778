//! Rust identifiers from SBE names.

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv", "try", "typeof",
    "unsized", "virtual", "yield",
];

fn escape(s: String) -> String {
    if KEYWORDS.contains(&s.as_str()) {
        format!("{s}_")
    } else {
        s
    }
}

/// `eventTime` → `event_time`, `isBuyerMaker` → `is_buyer_maker`, `trades_count` stays.
pub fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower = i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            let prev_upper = i > 0 && chars[i - 1].is_ascii_uppercase();
            if i > 0 && !out.ends_with('_') && (prev_lower || (prev_upper && next_lower)) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else {
            out.push('_');
        }
    }
    escape(out)
}

/// `boolEnum` → `BoolEnum`, `trades` → `Trades`, `depth_diff` → `DepthDiff`.
pub fn pascal(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        if c == '_' || !c.is_ascii_alphanumeric() {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    escape(out)
}

/// Enum variant names keep their schema spelling, capitalised.
pub fn variant(name: &str) -> String {
    pascal(name)
}

/// `SCREAMING_CASE` constant names.
pub fn screaming(name: &str) -> String {
    snake(name).trim_end_matches('_').to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sbe_names_become_idiomatic_rust_names() {
        assert_eq!(snake("eventTime"), "event_time");
        assert_eq!(snake("isBuyerMaker"), "is_buyer_maker");
        assert_eq!(snake("firstBookUpdateId"), "first_book_update_id");
        assert_eq!(snake("type"), "type_");
        assert_eq!(snake("price_mantissa"), "price_mantissa");
        assert_eq!(pascal("boolEnum"), "BoolEnum");
        assert_eq!(pascal("TradesStreamEvent"), "TradesStreamEvent");
        assert_eq!(screaming("blockLength"), "BLOCK_LENGTH");
    }
}
