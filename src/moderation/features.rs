//! From a question's text to the syllables the other parts compare.
//!
//! Vietnamese is written as space-separated syllables, so a syllable is the
//! unit (no word segmenter needed): bigrams of syllables stand in for words
//! ("khởi nghiệp", "vốn vay"). Each syllable is kept twice: as written
//! (NFC, lower case, diacritics kept) and folded (diacritics dropped, đ → d),
//! because young people type without accents as often as with them. Common
//! teencode ("ko", "dc", "j", "vs", "hok") is expanded to the folded word it
//! stands for, and courtesy phrases ("kính thưa", "cho em hỏi", "ạ") and
//! function words are dropped: they say nothing about the question.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;

use crate::domain::text::fold;

/// One content syllable: as written (lower case, NFC) and folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syllable {
    pub written: String,
    pub folded: String,
}

/// Teencode and chat abbreviations → the words they stand for. Matched on
/// the folded token, so "đc" and "dc" are the same entry.
const TEENCODE: &[(&str, &str)] = &[
    ("ko", "không"),
    ("k", "không"),
    ("kg", "không"),
    ("kh", "không"),
    ("khg", "không"),
    ("hok", "không"),
    ("hong", "không"),
    ("hem", "không"),
    ("dc", "được"),
    ("dk", "được"),
    ("j", "gì"),
    ("ji", "gì"),
    ("vs", "với"),
    ("ntn", "như thế nào"),
    ("bn", "bao nhiêu"),
    ("bh", "bao giờ"),
    ("mk", "mình"),
    ("mik", "mình"),
    ("mn", "mọi người"),
    ("cx", "cũng"),
    ("cg", "cũng"),
    ("ns", "nói"),
    ("r", "rồi"),
    ("trc", "trước"),
    ("ng", "người"),
    ("z", "vậy"),
    ("v", "vậy"),
    ("th", "thôi"),
    ("tks", "cảm ơn"),
    ("thx", "cảm ơn"),
    ("sv", "sinh viên"),
    ("hs", "học sinh"),
    ("hssv", "học sinh sinh viên"),
    ("tn", "thanh niên"),
    ("dvtn", "đoàn viên thanh niên"),
    ("dn", "doanh nghiệp"),
    ("htx", "hợp tác xã"),
    ("cty", "công ty"),
    ("vn", "việt nam"),
    ("tp", "thành phố"),
    ("thpt", "trung học phổ thông"),
    ("thcs", "trung học cơ sở"),
    ("dh", "đại học"),
    ("cntt", "công nghệ thông tin"),
    ("ubnd", "ủy ban nhân dân"),
    ("xkld", "xuất khẩu lao động"),
    ("bhxh", "bảo hiểm xã hội"),
    ("bhyt", "bảo hiểm y tế"),
    ("nhcsxh", "ngân hàng chính sách xã hội"),
    ("e", "em"),
    ("a", "anh"),
    ("c", "chị"),
    ("b", "bạn"),
    ("ak", "ạ"),
    ("ah", "ạ"),
];

/// Courtesy phrases, as folded syllable sequences: removed before anything else.
const COURTESY: &[&str] = &[
    "kinh thua",
    "xin kinh chao",
    "kinh chao",
    "cho em xin hoi",
    "cho em hoi",
    "cho chau hoi",
    "cho toi hoi",
    "cho minh hoi",
    "cho con hoi",
    "em xin hoi",
    "toi xin hoi",
    "chau xin hoi",
    "xin cho hoi",
    "xin hoi",
    "xin phep",
    "em muon hoi",
    "toi muon hoi",
    "chau muon hoi",
    "xin cam on",
    "cam on",
    "lanh dao",
    "dong chi",
    "quy vi",
    "ban to chuc",
    "dai bieu",
];

/// Function words and forms of address, as written: frequent, no topic.
const STOP: &[&str] = &[
    "ạ", "à", "dạ", "đã", "nhé", "nha", "nhỉ", "vậy", "thế", "thì", "là", "của", "và", "các",
    "những", "mà", "ở", "để", "có", "không", "nào", "gì", "như", "này", "đó", "với", "cho", "em",
    "tôi", "mình", "chúng", "anh", "chị", "cháu", "con", "bạn", "hỏi", "xin", "muốn", "rồi", "sẽ",
    "đang", "cũng", "rất", "về", "từ", "trong", "tại", "đến", "khi", "nếu", "nên", "bị", "bởi",
    "theo", "một", "được", "hay", "hoặc", "thưa", "kính", "ơi", "chào", "vui", "lòng", "giúp",
    "sao", "bao", "giờ", "ai", "đâu", "vì", "hiện", "nay", "nhiều", "ít", "mọi", "người", "ta",
    "họ", "sở", "tỉnh", "an", "giang", "thôi", "qua", "thêm", "cảm", "ơn", "phải", "cần", "gì",
    "nhiêu", "thể", "ra", "lên", "vào", "lại", "còn", "đây", "ấy", "hơn", "nhất", "chưa", "đều",
    "tất", "cả", "luôn", "biết", "xem", "nói", "ạh", "nhờ", "thật", "sự",
];

/// Folded forms that are also content words, so an unaccented token that
/// folds to one of them is kept ("vay" may be "vậy" or a loan).
const AMBIGUOUS_FOLDED: &[&str] = &[
    "vay", "so", "ban", "lai", "con", "an", "viec", "ra", "hoi", "ho", "thi", "bao", "nhat", "tai",
    "tu", "dang", "dau", "vi", "chi", "noi", "that", "ca", "moi", "day", "kinh", "thua",
];

fn is_stop(s: &Syllable) -> bool {
    static FOLDED: OnceLock<HashSet<String>> = OnceLock::new();
    static WRITTEN: OnceLock<HashSet<&'static str>> = OnceLock::new();
    if WRITTEN
        .get_or_init(|| STOP.iter().copied().collect())
        .contains(s.written.as_str())
    {
        return true;
    }
    s.written.is_ascii()
        && !AMBIGUOUS_FOLDED.contains(&s.folded.as_str())
        && FOLDED
            .get_or_init(|| STOP.iter().map(|w| fold(w)).collect())
            .contains(&s.folded)
}

/// Lower-case NFC tokens: runs of letters and digits. Runs of one-letter
/// tokens split by punctuation or spaces ("đ.ị.t", "v c l") are joined back,
/// which undoes the usual trick for slipping a word past a filter.
pub fn tokens(text: &str) -> Vec<String> {
    let lower: String = text.nfc().flat_map(char::to_lowercase).collect();
    let mut raw: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in lower.chars() {
        if c.is_alphanumeric() {
            cur.push(c);
        } else if !cur.is_empty() {
            raw.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        raw.push(cur);
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let single = |t: &String| t.chars().count() == 1 && !t.chars().all(|c| c.is_ascii_digit());
        if single(&raw[i]) {
            let mut j = i;
            while j < raw.len() && single(&raw[j]) {
                j += 1;
            }
            if j - i >= 3 {
                out.push(raw[i..j].concat().nfc().collect());
                i = j;
                continue;
            }
        }
        out.push(raw[i].clone());
        i += 1;
    }
    out
}

/// The folded form a teencode token stands for, if it is one.
fn expand(folded: &str) -> Option<&'static str> {
    static MAP: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    MAP.get_or_init(|| TEENCODE.iter().copied().collect())
        .get(folded)
        .copied()
}

/// Every syllable of `text`, teencode expanded, nothing dropped.
pub fn syllables(text: &str) -> Vec<Syllable> {
    let mut out = Vec::new();
    for token in tokens(text) {
        let folded = fold(&token);
        match expand(&folded) {
            Some(words) if !has_marks(&token) || folded == "dc" => {
                for w in words.split(' ') {
                    out.push(Syllable {
                        written: w.to_string(),
                        folded: fold(w),
                    });
                }
            }
            _ => out.push(Syllable {
                written: token,
                folded,
            }),
        }
    }
    out
}

/// Whether the token carries diacritics (then it is a real word, not teencode:
/// "á" is not "anh", "đc" is still "được").
fn has_marks(token: &str) -> bool {
    !token.is_ascii()
}

/// The content syllables of `text`: courtesy phrases and function words removed.
pub fn content(text: &str) -> Vec<Syllable> {
    let all = syllables(text);
    let folded: Vec<&str> = all.iter().map(|s| s.folded.as_str()).collect();
    let mut keep = vec![true; all.len()];
    for phrase in COURTESY {
        let words: Vec<&str> = phrase.split(' ').collect();
        let n = words.len();
        let mut i = 0;
        while i + n <= folded.len() {
            if folded[i..i + n] == words[..] {
                keep[i..i + n].iter_mut().for_each(|k| *k = false);
                i += n;
            } else {
                i += 1;
            }
        }
    }
    all.into_iter()
        .zip(keep)
        .filter(|(s, k)| *k && !is_stop(s))
        .map(|(s, _)| s)
        .collect()
}

/// Folded content syllables and their adjacent pairs ("khoi nghiep"): the
/// features both the similarity index and the router count.
pub fn folded_grams(content: &[Syllable]) -> Vec<String> {
    let mut out: Vec<String> = content.iter().map(|s| s.folded.clone()).collect();
    for pair in content.windows(2) {
        out.push(format!("{} {}", pair[0].folded, pair[1].folded));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(text: &str) -> Vec<String> {
        content(text).into_iter().map(|s| s.folded).collect()
    }

    #[test]
    fn courtesy_and_function_words_are_dropped() {
        assert_eq!(
            folded("Kính thưa lãnh đạo, cho em hỏi về vốn vay khởi nghiệp ạ?"),
            ["von", "vay", "khoi", "nghiep"]
        );
    }

    #[test]
    fn accented_unaccented_and_teencode_agree() {
        let a = folded("Thanh niên không có vốn thì được hỗ trợ vay gì?");
        let b = folded("thanh nien ko co von thi dc ho tro vay j");
        let c = folded("tn hok co von thi đc ho tro vay ji");
        assert_eq!(b, c);
        // Without accents "thi" may be "thi" (an exam), so it stays: a
        // superset, never a loss.
        assert!(a.iter().all(|s| b.contains(s)), "{a:?} ⊄ {b:?}");
        assert_eq!(a, ["thanh", "nien", "von", "ho", "tro", "vay"]);
    }

    #[test]
    fn written_form_keeps_diacritics_folded_form_maps_d_with_stroke() {
        let s = &content("Đoàn viên")[0];
        assert_eq!(s.written, "đoàn");
        assert_eq!(s.folded, "doan");
    }

    #[test]
    fn spelled_out_letters_are_joined() {
        assert_eq!(tokens("đ.ị.t con"), ["địt", "con"]);
        assert_eq!(tokens("v c l"), ["vcl"]);
        assert_eq!(tokens("a b"), ["a", "b"], "two letters stay apart");
    }

    #[test]
    fn bigrams_span_dropped_words() {
        let grams = folded_grams(&content("vốn của khởi nghiệp"));
        assert!(grams.contains(&"von khoi".to_string()), "{grams:?}");
        assert!(grams.contains(&"khoi nghiep".to_string()));
    }
}
