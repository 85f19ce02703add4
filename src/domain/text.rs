//! Vietnamese text handling: NFC normalisation of everything people type,
//! removal of characters that hide or disguise text, the length caps of
//! every free-text field, and accent-folded keys for search and duplicate
//! detection.
//!
//! Text is always *stored and shown* exactly as written (after NFC and the
//! removals below); folded keys are derived, never displayed. Removed, not
//! refused: a phone keyboard or a pasted spreadsheet cell brings stray
//! control characters innocently, and refusing would lose the question.
//! - C0 controls except newline (a tab becomes a space, CR/CRLF a newline),
//!   DEL and C1 controls; an ANSI escape sequence (`ESC [ … m`) goes whole,
//!   so a log viewer or terminal shows nothing it would interpret.
//! - Bidirectional overrides, embeddings, isolates and marks (U+202A–202E,
//!   U+2066–2069, U+200E/200F, U+061C): they make a text read differently
//!   from what it is (Vietnamese never needs them).
//! - Zero-width space, word joiner, BOM and soft hyphen. A text left with
//!   only whitespace or invisible characters is empty (`empty_text`).
//!
//! Single-line fields (names, organisation, phone, agency, hall, group)
//! also turn newlines into spaces ([`clean_line`]).

use unicode_normalization::UnicodeNormalization;

/// Longest question text unless the event sets `max_question_chars`.
pub const MAX_QUESTION_CHARS: usize = 2_000;
/// Questioner's name (characters after cleaning).
pub const MAX_NAME_CHARS: usize = 200;
/// Questioner's school or workplace.
pub const MAX_ORGANIZATION_CHARS: usize = 200;
/// Questioner's phone number.
pub const MAX_PHONE_CHARS: usize = 32;
/// A rejection reason.
pub const MAX_REASON_CHARS: usize = 500;
/// The agency that answers a deferred question.
pub const MAX_AGENCY_CHARS: usize = 300;
/// A written answer.
pub const MAX_ANSWER_CHARS: usize = 20_000;
/// A floor request's note and an imported question's source note.
pub const MAX_NOTE_CHARS: usize = 300;

/// Characters that change how text is displayed without being seen.
fn is_format_trick(c: char) -> bool {
    matches!(c,
        '\u{202A}'..='\u{202E}' // embeddings and overrides (U+202E reverses text)
        | '\u{2066}'..='\u{2069}' // isolates
        | '\u{200E}' | '\u{200F}' | '\u{061C}' // directional marks
        | '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' // zero-width space, word joiner, BOM, soft hyphen
    )
}

/// Characters that show nothing: a text of only these (and whitespace) is empty.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{200C}' | '\u{200D}' // zero-width (non-)joiner: kept inside emoji, nothing alone
            | '\u{180E}' | '\u{3164}' | '\u{115F}' | '\u{1160}' | '\u{FFA0}' | '\u{2800}'
            | '\u{FE00}'..='\u{FE0F}'
        )
}

/// Drop control characters (keeping newlines), ANSI escape sequences and
/// bidi/zero-width tricks. NFC is applied by the callers.
fn strip(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => out.push('\n'),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\t' => out.push(' '),
            '\u{1B}' => {
                // CSI: ESC [ parameters… final byte (0x40–0x7E); other escapes: ESC + one char.
                if chars.next() == Some('[') {
                    for n in chars.by_ref() {
                        if ('\u{40}'..='\u{7E}').contains(&n) {
                            break;
                        }
                    }
                }
            }
            c if c.is_control() => {}
            c if is_format_trick(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// NFC-normalise, remove hidden and control characters (see the module
/// doc) and trim. Interior whitespace and newlines are kept as typed. Only
/// invisible characters left: empty.
pub fn clean(input: &str) -> String {
    let nfc: String = input.nfc().collect();
    let stripped = strip(&nfc);
    let trimmed = stripped.trim_matches(is_invisible);
    if trimmed.is_empty() {
        String::new()
    } else {
        trimmed.to_string()
    }
}

/// [`clean`] for a single-line field: newlines become spaces.
pub fn clean_line(input: &str) -> String {
    clean(&input.replace(['\n', '\r'], " "))
}

/// [`clean`] an optional field; empty becomes `None`.
pub fn clean_opt(input: Option<&str>) -> Option<String> {
    input.map(clean).filter(|s| !s.is_empty())
}

/// [`clean_line`] an optional single-line field; empty becomes `None`.
pub fn clean_line_opt(input: Option<&str>) -> Option<String> {
    input.map(clean_line).filter(|s| !s.is_empty())
}

/// Accent-folded, lower-case search key: "Khởi nghiệp, Đà Nẵng" → "khoi nghiep, da nang".
/// Old and new tone placement (hòa / hoà) fold to the same key because the
/// marks are stripped after canonical decomposition. Đ/đ has no decomposition
/// and is mapped explicitly.
pub fn fold(input: &str) -> String {
    input
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| match c {
            'Đ' | 'đ' => 'd',
            other => other,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Duplicate-detection key: folded, punctuation dropped, whitespace collapsed.
pub fn duplicate_key(input: &str) -> String {
    fold(input)
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Number of user-perceived characters we count for length limits (Unicode scalar values after NFC).
pub fn char_len(input: &str) -> usize {
    input.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfc_normalises_decomposed_input() {
        let decomposed = "Nghie\u{0302}\u{0323}p"; // e + circumflex + dot below
        assert_eq!(clean(decomposed), "Nghiệp");
        assert_ne!(decomposed, "Nghiệp");
    }

    #[test]
    fn folding_removes_tones_and_maps_d_with_stroke() {
        assert_eq!(fold("Khởi nghiệp ĐOÀN"), "khoi nghiep doan");
        assert_eq!(fold("đường"), "duong");
    }

    #[test]
    fn old_and_new_tone_placement_compare_equal() {
        assert_eq!(fold("hòa"), fold("hoà"));
        assert_eq!(
            duplicate_key("Thủy lợi, hòa bình!"),
            duplicate_key("thuỷ  lợi hoà bình")
        );
    }

    #[test]
    fn clean_trims_and_empty_optional_is_none() {
        assert_eq!(clean("  xin chào \n"), "xin chào");
        assert_eq!(clean_opt(Some("   ")), None);
        assert_eq!(clean_opt(None), None);
    }

    #[test]
    fn control_characters_and_ansi_escapes_are_removed() {
        assert_eq!(clean("a\u{0}b\u{7}c\u{7F}d\u{85}e\u{9B}f"), "abcdef");
        assert_eq!(clean("\u{1B}[31mđỏ\u{1B}[0m"), "đỏ");
        assert_eq!(clean("dòng 1\r\ndòng 2\rdòng 3"), "dòng 1\ndòng 2\ndòng 3");
        assert_eq!(clean("cột\tcột"), "cột cột");
    }

    #[test]
    fn bidi_overrides_and_isolates_are_removed() {
        assert_eq!(clean("abc\u{202E}fdp.exe"), "abcfdp.exe");
        assert_eq!(clean("\u{2067}x\u{2069}\u{200F}"), "x");
    }

    #[test]
    fn zero_width_only_text_is_empty() {
        assert_eq!(clean("\u{200B}\u{200B}"), "");
        assert_eq!(clean(" \u{200D}\u{FEFF}\u{3164} "), "");
        assert_eq!(clean_opt(Some("\u{2060}")), None);
        assert_eq!(clean("xin\u{200B}chào"), "xinchào");
    }

    #[test]
    fn vietnamese_combining_marks_survive_as_nfc() {
        let decomposed = "Thu\u{0309}y lo\u{031B}\u{0323}i"; // u + hook above, o + horn + dot below
        assert_eq!(clean(decomposed), "Thủy lợi");
        assert_eq!(clean("Nguyễn Thị Ánh Tuyết"), "Nguyễn Thị Ánh Tuyết");
    }

    #[test]
    fn single_line_fields_lose_their_newlines() {
        assert_eq!(
            clean_line("Trường\nTHPT\r\nLong Xuyên"),
            "Trường THPT  Long Xuyên"
        );
        assert_eq!(clean_line_opt(Some("\n")), None);
    }
}
