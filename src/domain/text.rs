//! Vietnamese text handling: NFC normalisation of everything people type, and
//! accent-folded keys for search and duplicate detection.
//!
//! Text is always *stored and shown* exactly as written (after NFC); folded
//! keys are derived, never displayed.

use unicode_normalization::UnicodeNormalization;

/// NFC-normalise and trim. Interior whitespace is kept as typed.
pub fn clean(input: &str) -> String {
    input.nfc().collect::<String>().trim().to_string()
}

/// NFC-normalise and trim an optional field; empty becomes `None`.
pub fn clean_opt(input: Option<&str>) -> Option<String> {
    input.map(clean).filter(|s| !s.is_empty())
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
}
