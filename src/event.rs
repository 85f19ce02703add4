//! An event's definition: halls, departments, agencies, issue groups and
//! rules, read from TOML (with line-precise errors) or the built-in An Giang
//! 2024 default. Pure data; the store persists it as TOML text.

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// The built-in default event (DOMAIN.md), shipped inside the binary.
pub const DEFAULT_EVENT_TOML: &str = include_str!("../events/an-giang-2024.toml");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hall {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    /// Words and phrases of its field, for the suggested department (src/moderation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    /// Words and phrases of the issue group, for the suggested group (src/moderation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventConfig {
    /// URL-safe id, also the public code participants join with.
    pub id: String,
    pub name: String,
    pub theme: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The first hall is the host hall.
    pub halls: Vec<Hall>,
    pub departments: Vec<Department>,
    #[serde(default)]
    pub agencies: Vec<String>,
    pub groups: Vec<Group>,
    pub written_answer_due_days: u32,
    pub max_question_chars: usize,
    /// Words flagged as profanity on top of the built-in Vietnamese list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profanity: Vec<String>,
}

/// What is wrong with an event file, on which line, in Vietnamese and English.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{line}: {message_vi} / {message}")]
pub struct EventError {
    pub line: usize,
    pub message_vi: String,
    /// English.
    pub message: String,
}

/// A TOML parser message (English, from the `toml` crate) with a
/// Vietnamese explanation an organiser can act on.
fn toml_message_vi(en: &str) -> String {
    let quoted = |s: &str| -> Option<String> {
        let start = s.find('`')? + 1;
        let end = start + s[start..].find('`')?;
        Some(s[start..end].to_string())
    };
    if en.starts_with("missing field") {
        let field = quoted(en).unwrap_or_default();
        format!("thiếu trường `{field}` (xem mẫu: doithoai event template)")
    } else if en.starts_with("unknown field") {
        let field = quoted(en).unwrap_or_default();
        format!("trường `{field}` không có trong mẫu sự kiện (viết sai tên?)")
    } else if en.starts_with("invalid type") {
        "sai kiểu giá trị (chữ phải trong dấu ngoặc kép \"…\", số thì không)".into()
    } else if en.starts_with("duplicate key") {
        "một khóa được khai báo hai lần".into()
    } else if en.starts_with("invalid value") {
        "giá trị không hợp lệ".into()
    } else {
        "lỗi cú pháp TOML (kiểm tra dấu ngoặc kép, dấu phẩy, dấu ngoặc [ ] { } và xuống dòng)"
            .into()
    }
}

// What the TOML file holds; ids keep their spans so errors can name the line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    id: Spanned<String>,
    name: Spanned<String>,
    #[serde(default)]
    theme: String,
    date: Spanned<String>,
    halls: Spanned<Vec<RawItem>>,
    departments: Spanned<Vec<RawItem>>,
    #[serde(default)]
    agencies: Vec<Spanned<String>>,
    groups: Spanned<Vec<RawItem>>,
    #[serde(default = "default_due_days")]
    written_answer_due_days: Spanned<u32>,
    #[serde(default = "default_max_chars")]
    max_question_chars: Spanned<usize>,
    #[serde(default)]
    profanity: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    id: Spanned<String>,
    name: Spanned<String>,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    keywords: Vec<String>,
}

fn default_due_days() -> Spanned<u32> {
    Spanned::new(0..0, 30)
}
fn default_max_chars() -> Spanned<usize> {
    Spanned::new(0..0, 2000)
}

impl EventConfig {
    pub fn builtin() -> EventConfig {
        // The built-in file is covered by a unit test, so this cannot fail at run time.
        Self::from_toml(DEFAULT_EVENT_TOML)
            .unwrap_or_else(|e| panic!("built-in event is invalid: {e}"))
    }

    /// Parse and validate an event file.
    pub fn from_toml(src: &str) -> Result<EventConfig, EventError> {
        let line_of = |offset: usize| src[..offset.min(src.len())].matches('\n').count() + 1;
        let raw: RawEvent = toml::from_str(src).map_err(|e| EventError {
            line: e.span().map(|s| line_of(s.start)).unwrap_or(1),
            message_vi: toml_message_vi(e.message()),
            message: e.message().trim().to_string(),
        })?;
        let err =
            |span: std::ops::Range<usize>, (message_vi, message): (String, String)| EventError {
                line: line_of(span.start),
                message_vi,
                message,
            };
        let id = crate::domain::text::clean(raw.id.get_ref());
        if !is_slug(&id) {
            return Err(err(
                raw.id.span(),
                (
                    "id chỉ gồm chữ thường không dấu, chữ số và '-'".into(),
                    "id must be lower-case letters, digits and '-'".into(),
                ),
            ));
        }
        if raw.name.get_ref().trim().is_empty() {
            return Err(err(
                raw.name.span(),
                (
                    "name (tên sự kiện) không được để trống".into(),
                    "name must not be empty".into(),
                ),
            ));
        }
        let format = time::macros::format_description!("[year]-[month]-[day]");
        if time::Date::parse(raw.date.get_ref(), format).is_err() {
            return Err(err(
                raw.date.span(),
                (
                    "date (ngày) phải viết dạng NĂM-THÁNG-NGÀY, ví dụ \"2025-03-20\"".into(),
                    "date must be YYYY-MM-DD".into(),
                ),
            ));
        }
        let halls = items(&raw.halls, "halls", &err)?;
        let departments = items(&raw.departments, "departments", &err)?;
        let groups = items(&raw.groups, "groups", &err)?;
        let max = *raw.max_question_chars.get_ref();
        if !(10..=10_000).contains(&max) {
            return Err(err(
                raw.max_question_chars.span(),
                (
                    "max_question_chars phải từ 10 đến 10000".into(),
                    "max_question_chars must be 10..=10000".into(),
                ),
            ));
        }
        // Due dates past year 9999 cannot be written (or computed).
        let due_days = *raw.written_answer_due_days.get_ref();
        if due_days > 3650 {
            return Err(err(
                raw.written_answer_due_days.span(),
                (
                    "written_answer_due_days (số ngày hạn trả lời bằng văn bản) phải từ 0 đến 3650"
                        .into(),
                    "written_answer_due_days must be 0..=3650".into(),
                ),
            ));
        }
        let mut agencies = Vec::new();
        for a in &raw.agencies {
            let name = crate::domain::text::clean(a.get_ref());
            if name.is_empty() {
                return Err(err(
                    a.span(),
                    (
                        "tên cơ quan (agencies) không được để trống".into(),
                        "agency name must not be empty".into(),
                    ),
                ));
            }
            agencies.push(name);
        }
        Ok(EventConfig {
            id,
            name: crate::domain::text::clean(raw.name.get_ref()),
            theme: crate::domain::text::clean(&raw.theme),
            date: raw.date.get_ref().clone(),
            halls: halls
                .into_iter()
                .map(|(id, name, ..)| Hall { id, name })
                .collect(),
            departments: departments
                .into_iter()
                .map(|(id, name, name_en, keywords)| Department {
                    id,
                    name,
                    name_en,
                    keywords,
                })
                .collect(),
            agencies,
            groups: groups
                .into_iter()
                .map(|(id, name, name_en, keywords)| Group {
                    id,
                    name,
                    name_en,
                    keywords,
                })
                .collect(),
            written_answer_due_days: due_days,
            max_question_chars: max,
            profanity: clean_list(&raw.profanity),
        })
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    pub fn host_hall(&self) -> &str {
        self.halls.first().map(|h| h.id.as_str()).unwrap_or("")
    }
    pub fn has_hall(&self, id: &str) -> bool {
        self.halls.iter().any(|h| h.id == id)
    }
    pub fn hall_name(&self, id: &str) -> String {
        self.halls
            .iter()
            .find(|h| h.id == id)
            .map(|h| h.name.clone())
            .unwrap_or_else(|| id.to_string())
    }
    pub fn has_department(&self, id: &str) -> bool {
        self.departments.iter().any(|d| d.id == id)
    }
    pub fn department_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.departments
            .iter()
            .find(|d| d.id == id)
            .map(|d| d.name.as_str())
            .unwrap_or(id)
    }
    pub fn has_group(&self, id: &str) -> bool {
        self.groups.iter().any(|g| g.id == id)
    }
    pub fn group_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.groups
            .iter()
            .find(|g| g.id == id)
            .map(|g| g.name.as_str())
            .unwrap_or(id)
    }

    /// Due date of a deferral that names none: `written_answer_due_days`
    /// after the dialogue (the event's `date`), or after `now` when the
    /// deferral comes later than that day, so no agency is ever given less
    /// than the full period (docs/PROTOCOL.md, `defer`).
    pub fn default_due_date(&self, now_ms: i64) -> String {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let today = time::OffsetDateTime::from_unix_timestamp(now_ms / 1000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
            .date();
        let start = match time::Date::parse(&self.date, format) {
            Ok(day) if day > today => day,
            _ => today,
        };
        // from_toml bounds the delay; the last date is a guard, never a panic.
        let due = start
            .checked_add(time::Duration::days(i64::from(
                self.written_answer_due_days,
            )))
            .unwrap_or(time::Date::MAX);
        due.format(format).unwrap_or_default()
    }
}

/// id, name, English name, keywords.
type Item = (String, String, String, Vec<String>);

fn clean_list(words: &[String]) -> Vec<String> {
    words
        .iter()
        .map(|w| crate::domain::text::clean(w))
        .filter(|w| !w.is_empty())
        .collect()
}

fn items(
    list: &Spanned<Vec<RawItem>>,
    what: &str,
    err: &dyn Fn(std::ops::Range<usize>, (String, String)) -> EventError,
) -> Result<Vec<Item>, EventError> {
    if list.get_ref().is_empty() {
        return Err(err(
            list.span(),
            (
                format!("{what}: danh sách không được để trống"),
                format!("{what} must not be empty"),
            ),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for item in list.get_ref() {
        let id = item.id.get_ref().trim().to_string();
        if !is_slug(&id) {
            return Err(err(
                item.id.span(),
                (
                    format!("{what}: id «{id}» chỉ gồm chữ thường không dấu, chữ số và '-'"),
                    format!("{what}: id «{id}» must be lower-case letters, digits and '-'"),
                ),
            ));
        }
        if !seen.insert(id.clone()) {
            return Err(err(
                item.id.span(),
                (
                    format!("{what}: trùng id «{id}»"),
                    format!("{what}: duplicate id «{id}»"),
                ),
            ));
        }
        let name = crate::domain::text::clean(item.name.get_ref());
        if name.is_empty() {
            return Err(err(
                item.name.span(),
                (
                    format!("{what}: tên của «{id}» không được để trống"),
                    format!("{what}: name of «{id}» must not be empty"),
                ),
            ));
        }
        out.push((
            id,
            name,
            crate::domain::text::clean(&item.name_en),
            clean_list(&item.keywords),
        ));
    }
    Ok(out)
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_event_is_an_giang_2024() {
        let e = EventConfig::from_toml(DEFAULT_EVENT_TOML).expect("valid");
        assert_eq!(e.id, "an-giang-2024");
        assert_eq!(e.halls.len(), 12);
        assert_eq!(e.host_hall(), "tinh");
        assert_eq!(e.departments.len(), 9);
        assert_eq!(e.groups.len(), 5);
        assert_eq!(e.hall_name("chau-doc"), "TP. Châu Đốc");
    }

    #[test]
    fn duplicate_hall_is_reported_on_its_line() {
        let src = DEFAULT_EVENT_TOML.replace("{ id = \"chau-doc\"", "{ id = \"long-xuyen\"");
        let err = EventConfig::from_toml(&src).unwrap_err();
        let expected = src
            .lines()
            .position(|l| l.contains("TP. Châu Đốc"))
            .unwrap()
            + 1;
        assert_eq!(err.line, expected, "{err}");
        assert!(err.message.contains("duplicate"), "{err}");
    }

    #[test]
    fn syntax_and_type_errors_carry_a_line() {
        let err = EventConfig::from_toml("id = \"x\"\nname = 3\n").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        let err = EventConfig::from_toml("id = \"x\"\nname = \"n\"\ndate = \"26/03/2024\"\nhalls=[{id=\"a\",name=\"A\"}]\ndepartments=[{id=\"d\",name=\"D\"}]\ngroups=[{id=\"g\",name=\"G\"}]\n").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
    }

    #[test]
    fn every_error_reads_in_vietnamese_first_then_english() {
        let missing = EventConfig::from_toml("id = \"x\"\ndate = \"2025-03-20\"\n").unwrap_err();
        assert!(
            missing.message_vi.contains("thiếu trường `name`"),
            "{missing}"
        );
        assert!(
            missing.message.contains("missing field `name`"),
            "{missing}"
        );
        let syntax = EventConfig::from_toml("id = \"x\" name = \"y\"\n").unwrap_err();
        assert!(syntax.message_vi.contains("cú pháp"), "{syntax}");
        let date = EventConfig::from_toml("id = \"x\"\nname = \"n\"\ndate = \"20/03/2025\"\nhalls=[{id=\"a\",name=\"A\"}]\ndepartments=[{id=\"d\",name=\"D\"}]\ngroups=[{id=\"g\",name=\"G\"}]\n").unwrap_err();
        assert!(date.message_vi.contains("NĂM-THÁNG-NGÀY"), "{date}");
        assert_eq!(
            date.to_string(),
            format!("3: {} / {}", date.message_vi, date.message)
        );
    }

    #[test]
    fn two_hundred_halls_are_fine() {
        let halls: Vec<String> = (0..200)
            .map(|i| format!("{{ id = \"xa-{i}\", name = \"Xã {i}\" }}"))
            .collect();
        let src = format!(
            "id = \"big\"\nname = \"Lớn\"\ndate = \"2025-03-01\"\nhalls = [{}]\ndepartments=[{{id=\"d\",name=\"D\"}}]\ngroups=[{{id=\"g\",name=\"G\"}}]\n",
            halls.join(",")
        );
        let e = EventConfig::from_toml(&src).expect("valid");
        assert_eq!(e.halls.len(), 200);
    }

    #[test]
    fn keywords_and_profanity_are_optional_and_survive_a_round_trip() {
        let e = EventConfig::builtin();
        assert!(
            e.departments.iter().all(|d| !d.keywords.is_empty()),
            "all 9 ship a lexicon"
        );
        assert_eq!(EventConfig::from_toml(&e.to_toml()).unwrap(), e);
        let src = "id = \"x\"\nname = \"n\"\ndate = \"2025-03-01\"\nprofanity = [\" bò đỏ \", \"\"]\nhalls=[{id=\"a\",name=\"A\"}]\ndepartments=[{id=\"d\",name=\"D\",keywords=[\"vốn vay\"]}]\ngroups=[{id=\"g\",name=\"G\"}]\n";
        let e = EventConfig::from_toml(src).expect("valid");
        assert_eq!(e.profanity, ["bò đỏ"]);
        assert_eq!(e.departments[0].keywords, ["vốn vay"]);
        assert!(e.groups[0].keywords.is_empty());
    }

    #[test]
    fn default_due_date_adds_days() {
        let e = EventConfig::builtin();
        // 2024-03-26T00:00:00Z
        assert_eq!(e.default_due_date(1_711_411_200_000), "2024-04-25");
    }

    #[test]
    fn default_due_date_counts_from_the_event_day_or_today_if_later() {
        let e = EventConfig::builtin(); // 2024-03-26, 30 days
                                        // Deferred a week before the dialogue (2024-03-19): still from the event day.
        assert_eq!(e.default_due_date(1_710_806_400_000), "2024-04-25");
        // Deferred two days after it (2024-03-28): from that day.
        assert_eq!(e.default_due_date(1_711_584_000_000), "2024-04-27");
    }

    /// Found while writing the `event_toml` fuzz target (docs/FUZZING.md):
    /// a due delay past year 9999 made every deferral without a due date
    /// panic the event's writer (`Date + Duration` overflows).
    #[test]
    fn a_due_delay_beyond_ten_years_is_refused_on_its_line() {
        let src = DEFAULT_EVENT_TOML.replace(
            "written_answer_due_days = 30",
            "written_answer_due_days = 4000000",
        );
        assert_ne!(src, DEFAULT_EVENT_TOML);
        let err = EventConfig::from_toml(&src).unwrap_err();
        let expected = src.lines().position(|l| l.contains("4000000")).unwrap() + 1;
        assert_eq!(err.line, expected, "{err}");
        assert!(err.message.contains("written_answer_due_days"), "{err}");
        let ten_years = src.replace("4000000", "3650");
        assert_eq!(
            EventConfig::from_toml(&ten_years)
                .unwrap()
                .written_answer_due_days,
            3650
        );
    }

    #[test]
    fn default_due_date_never_panics() {
        let e = EventConfig {
            written_answer_due_days: u32::MAX,
            ..EventConfig::builtin()
        };
        assert_eq!(e.default_due_date(1_711_411_200_000), "9999-12-31");
        assert_eq!(e.default_due_date(i64::MIN), "9999-12-31");
    }
}
