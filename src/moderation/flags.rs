//! Screening flags: personal data typed into a question (phone numbers,
//! citizen ID numbers, e-mail addresses) and profanity. A flag is a hint for
//! the moderator; it never rejects or changes anything.
//!
//! Phone numbers are found in the forms people type them: "0912 345 678",
//! "0912.345.678", "+84 912 345 678", "(0296) 3852 111". Profanity is matched
//! on whole syllables, as written and folded, after undoing the usual tricks
//! (spelled-out letters "đ.ị.t", repeated letters, digits for letters).

use serde::{Deserialize, Serialize};

use super::features::tokens;
use crate::domain::text::fold;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    PhoneNumber,
    IdNumber,
    Email,
    Profanity,
    OffTopic,
}

/// Profanity matched as written (with diacritics): some fold to everyday
/// words ("đéo" → "deo", to wear; "lồn" → "lon", big).
const PROFANITY_WRITTEN: &[&str] = &[
    "địt",
    "đụ",
    "đéo",
    "đếch",
    "lồn",
    "buồi",
    "cặc",
    "đĩ",
    "đcm",
    "đkm",
    "đm",
    "đmm",
    "óc chó",
    "đồ chó",
    "mẹ kiếp",
    "khốn nạn",
    "súc vật",
    "thằng chó",
    "con chó",
    "chó chết",
    "vãi lồn",
    "ngu như chó",
    "cứt",
];

/// Profanity matched folded: forms with no innocent reading without accents.
const PROFANITY_FOLDED: &[&str] = &[
    "dit", "ditme", "dume", "dcm", "dkm", "dmm", "dcmm", "cmm", "clgt", "vcl", "vkl", "vcc", "loz",
    "du ma", "du me", "dit me", "dit con", "me kiep", "khon nan", "suc vat", "oc cho", "vai lon",
    "vai loz",
];

/// What the screen looks for in one event.
#[derive(Debug, Clone)]
pub struct Screen {
    written: Vec<Vec<String>>,
    folded: Vec<Vec<String>>,
}

impl Screen {
    /// The built-in lists plus the event's own `extra` words (matched both
    /// as written and folded).
    pub fn new(extra: &[String]) -> Screen {
        let split = |s: &str| -> Vec<String> { s.split_whitespace().map(str::to_string).collect() };
        let mut written: Vec<Vec<String>> = PROFANITY_WRITTEN.iter().map(|w| split(w)).collect();
        let mut folded: Vec<Vec<String>> = PROFANITY_FOLDED.iter().map(|w| split(w)).collect();
        for word in extra {
            let lower: String = crate::domain::text::clean(word).to_lowercase();
            if lower.is_empty() {
                continue;
            }
            folded.push(split(&fold(&lower)));
            written.push(split(&lower));
        }
        Screen { written, folded }
    }

    /// Every flag the text raises (without `off_topic`, which needs the
    /// event's lexicons), in a fixed order.
    pub fn flags(&self, text: &str) -> Vec<Flag> {
        let mut out = Vec::new();
        let numbers = numbers(text);
        if numbers.iter().any(|n| n.kind == NumberKind::Phone) {
            out.push(Flag::PhoneNumber);
        }
        if numbers.iter().any(|n| n.kind == NumberKind::CitizenId) {
            out.push(Flag::IdNumber);
        }
        if has_email(text) {
            out.push(Flag::Email);
        }
        if self.is_profane(text) {
            out.push(Flag::Profanity);
        }
        out
    }

    fn is_profane(&self, text: &str) -> bool {
        let written: Vec<String> = tokens(text).iter().map(|t| squeeze(&unleet(t))).collect();
        let folded: Vec<String> = written.iter().map(|t| squeeze(&fold(t))).collect();
        contains_phrase(&written, &self.written) || contains_phrase(&folded, &self.folded)
    }
}

fn contains_phrase(tokens: &[String], phrases: &[Vec<String>]) -> bool {
    phrases.iter().any(|p| {
        !p.is_empty()
            && tokens
                .windows(p.len())
                .any(|w| w.iter().zip(p).all(|(a, b)| a == b))
    })
}

/// Digits standing for letters in a word that has letters too ("d1t").
fn unleet(token: &str) -> String {
    let has_letter = token.chars().any(char::is_alphabetic);
    let has_digit = token.chars().any(|c| c.is_ascii_digit());
    if !(has_letter && has_digit) {
        return token.to_string();
    }
    token
        .chars()
        .map(|c| match c {
            '1' => 'i',
            '0' => 'o',
            '3' => 'e',
            '4' => 'a',
            '5' => 's',
            other => other,
        })
        .collect()
}

/// Runs of one letter squeezed to one ("điiiịt" stays recognisable once folded).
fn squeeze(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    let mut last = None;
    for c in token.chars() {
        if Some(c) != last {
            out.push(c);
        }
        last = Some(c);
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    Phone,
    CitizenId,
}

/// A phone or ID number found in a text: its byte range and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub start: usize,
    pub end: usize,
    pub kind: NumberKind,
}

/// Vietnamese mobile (10 digits, 03/05/07/08/09), landline (11 digits, 02…)
/// and 12-digit citizen ID numbers, with spaces, dots, dashes or brackets
/// between groups and +84 / 84 for the leading 0.
pub fn numbers(text: &str) -> Vec<Found> {
    // Groups of digits: (start byte, end byte, digits, plus sign before).
    let mut groups: Vec<(usize, usize, String, bool)> = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_ascii_digit() {
            let mut digits = c.to_string();
            let mut end = i + 1;
            while let Some(&(j, d)) = chars.peek() {
                if !d.is_ascii_digit() {
                    break;
                }
                digits.push(d);
                end = j + 1;
                chars.next();
            }
            let plus = text[..i].trim_end_matches(['(', ' ']).ends_with('+');
            groups.push((i, end, digits, plus));
        }
    }
    // Groups chain when only one or two separator characters lie between them.
    let joined = |a: &(usize, usize, String, bool), b: &(usize, usize, String, bool)| {
        let gap = &text[a.1..b.0];
        gap.chars().count() <= 2 && gap.chars().all(|c| " .-()".contains(c))
    };
    let mut found = Vec::new();
    let mut i = 0;
    while i < groups.len() {
        let mut digits = String::new();
        let mut matched = None;
        for j in i..groups.len() {
            if j > i && !joined(&groups[j - 1], &groups[j]) {
                break;
            }
            digits.push_str(&groups[j].2);
            if digits.len() > 13 {
                break;
            }
            if let Some(kind) = classify(&digits, groups[i].3) {
                matched = Some((j, kind));
            }
        }
        match matched {
            Some((j, kind)) => {
                found.push(Found {
                    start: groups[i].0,
                    end: groups[j].1,
                    kind,
                });
                i = j + 1;
            }
            None => i += 1,
        }
    }
    found
}

fn classify(digits: &str, plus: bool) -> Option<NumberKind> {
    let national = match digits.strip_prefix("84") {
        Some(rest) if plus || rest.len() == 9 || rest.len() == 10 => format!("0{rest}"),
        _ if plus => return None,
        _ => digits.to_string(),
    };
    let b = national.as_bytes();
    match b.len() {
        10 if b[0] == b'0' && b"35789".contains(&b[1]) => Some(NumberKind::Phone),
        11 if b[0] == b'0' && b[1] == b'2' => Some(NumberKind::Phone),
        12 if !plus && digits.starts_with('0') => Some(NumberKind::CitizenId),
        _ => None,
    }
}

/// Byte ranges of e-mail addresses in a text.
pub fn emails(text: &str) -> Vec<(usize, usize)> {
    let local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    let domain = |c: char| c.is_ascii_alphanumeric() || ".-".contains(c);
    let mut out = Vec::new();
    for (at, _) in text.match_indices('@') {
        let start = text[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| local(*c))
            .last()
            .map(|(i, _)| i)
            .unwrap_or(at);
        let end = text[at + 1..]
            .char_indices()
            .take_while(|(_, c)| domain(*c))
            .last()
            .map(|(i, c)| at + 1 + i + c.len_utf8())
            .unwrap_or(at + 1);
        let host = text[at + 1..end].trim_end_matches('.');
        let tld_ok = host.rsplit_once('.').is_some_and(|(name, tld)| {
            !name.is_empty() && tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic())
        });
        if start < at && tld_ok {
            out.push((start, at + 1 + host.len()));
        }
    }
    out
}

fn has_email(text: &str) -> bool {
    !emails(text).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(text: &str) -> Vec<Flag> {
        Screen::new(&[]).flags(text)
    }

    #[test]
    fn phone_numbers_in_the_forms_people_type() {
        for text in [
            "Liên hệ em 0912345678 nhé",
            "sđt 0912 345 678",
            "sdt: 0912.345.678",
            "gọi +84 912 345 678",
            "gọi 84912345678",
            "(+84) 912-345-678",
            "máy bàn 0296 3852 111",
            "máy bàn (0296) 3.852.111",
            "số em là 035-123-4567 ạ",
        ] {
            assert_eq!(flags(text), [Flag::PhoneNumber], "{text}");
        }
    }

    #[test]
    fn amounts_years_and_short_numbers_are_not_phones() {
        for text in [
            "vay 50.000.000 đồng",
            "năm 2024 và 2025",
            "15.000.000.000 đồng",
            "lãi suất 0,5%/tháng",
            "Nghị định 13/2023/NĐ-CP",
            "01234",
        ] {
            assert!(flags(text).is_empty(), "{text}: {:?}", flags(text));
        }
    }

    #[test]
    fn citizen_id_is_twelve_digits() {
        assert_eq!(flags("CCCD 089203001234"), [Flag::IdNumber]);
        assert_eq!(flags("CCCD 089 203 001 234"), [Flag::IdNumber]);
        assert!(flags("mã số 12345678901234").is_empty());
    }

    #[test]
    fn ranges_cover_the_number_as_typed() {
        let text = "gọi +84 912 345 678 nhé";
        let found = numbers(text);
        assert_eq!(found.len(), 1);
        assert_eq!(&text[found[0].start..found[0].end], "84 912 345 678");
    }

    #[test]
    fn email_addresses() {
        assert_eq!(flags("mail: nguyen.van.a@gmail.com ạ"), [Flag::Email]);
        let text = "gửi về thanhnien_ag@angiang.gov.vn.";
        let (s, e) = emails(text)[0];
        assert_eq!(&text[s..e], "thanhnien_ag@angiang.gov.vn");
        assert!(flags("@tinhdoan và a@b").is_empty());
    }

    #[test]
    fn profanity_with_and_without_tricks() {
        for text in [
            "địt mẹ bọn quan",
            "dit me bon quan",
            "đ.ị.t mẹ",
            "d1t me",
            "vcl luôn",
            "v.c.l",
            "đồ khốn nạn",
            "khon nan that",
            "điiiiit",
        ] {
            assert!(flags(text).contains(&Flag::Profanity), "{text}");
        }
    }

    #[test]
    fn everyday_words_that_fold_like_profanity_are_not_flagged() {
        for text in [
            "Đeo khẩu trang có bắt buộc không?",
            "Doanh nghiệp lớn tuyển dụng",
            "các buổi tập huấn",
            "Đi du lịch miền Tây",
            "cần cù làm ăn",
        ] {
            assert!(flags(text).is_empty(), "{text}: {:?}", flags(text));
        }
    }

    #[test]
    fn an_event_adds_its_own_words() {
        let screen = Screen::new(&["bò đỏ".to_string()]);
        assert_eq!(screen.flags("bọn bò đỏ"), [Flag::Profanity]);
        assert_eq!(screen.flags("bon bo do"), [Flag::Profanity]);
        assert!(Screen::new(&[]).flags("bọn bò đỏ").is_empty());
    }
}
