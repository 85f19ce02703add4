//! Files the follow-up officer takes away: every question with its full
//! history (CSV, XLSX), the deferred questions per agency to send out
//! (XLSX, one sheet per agency) and the audit log of transitions (CSV).
//!
//! History comes from the change log (`Store::changes_since`), never from a
//! second bookkeeping: every transition there names who did it and when.
//! Personal-data columns are added only when the caller's [`Access`] allows
//! it. CSV files start with a UTF-8 byte-order mark, without which Excel
//! opens them as Windows-1258/1252 and garbles every Vietnamese letter.

use std::collections::{BTreeMap, HashMap};

use rust_xlsxwriter::{Format, Workbook};
use uuid::Uuid;

use super::{format_date, format_time, is_overdue, source_label, Access, ReportError};
use crate::domain::{FloorState, QState, Question};
use crate::event::EventConfig;
use crate::store::Change;

/// UTF-8 byte-order mark: Excel's cue that a CSV file is UTF-8.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One question's move, as recorded in the change log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Transition {
    pub seq: u64,
    pub at: i64,
    /// The seat that did it ("moderator-2", "follow_up-1"): never a person's name.
    pub actor: String,
    pub role: &'static str,
    pub action: String,
    pub question: Uuid,
    pub from: Option<QState>,
    pub to: QState,
    pub version: u32,
}

/// Flatten changes into one transition per question touched, in log order.
pub fn transitions(changes: &[Change]) -> Vec<Transition> {
    changes
        .iter()
        .flat_map(|c| {
            c.questions.iter().map(move |u| Transition {
                seq: c.seq,
                at: c.at,
                actor: c.actor.label.clone(),
                role: c.actor.role.as_str(),
                action: c.action.clone(),
                question: u.question.id,
                from: u.from,
                to: u.question.state,
                version: u.question.version,
            })
        })
        .collect()
}

/// The written follow-up's own history per question: the deferral and every
/// later step (agency or due-date edits, drafts, sending, publishing), so
/// the follow-up page can say who did what and when, including for the
/// first step, whose time the question itself does not keep.
pub fn followup_history(history: &[Transition]) -> BTreeMap<Uuid, Vec<&Transition>> {
    let mut out: BTreeMap<Uuid, Vec<&Transition>> = BTreeMap::new();
    for t in history.iter().filter(|t| t.to.is_deferred()) {
        out.entry(t.question).or_default().push(t);
    }
    out
}

fn state_of(s: Option<QState>) -> &'static str {
    s.map(QState::as_str).unwrap_or("")
}

/// A table ready to be written as CSV or XLSX.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// A CSV cell as a spreadsheet will not evaluate it: text beginning with
/// `=`, `+`, `-`, `@`, tab or carriage return (a formula to Excel,
/// LibreOffice and Google Sheets, e.g. `=HYPERLINK(…)`) gets a leading `'`
/// (OWASP's advice for CSV injection). Other text is unchanged.
pub fn csv_cell(value: &str) -> std::borrow::Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}").into(),
        _ => value.into(),
    }
}

/// Excel refuses a cell longer than 32,767 characters (UTF-16 units).
pub const XLSX_CELL_LIMIT: usize = 32_767;
const TRUNCATED: &str = "… [cắt bớt / truncated]";

/// A cell's text cut to Excel's limit, with a marker saying so.
pub fn xlsx_cell(value: &str) -> std::borrow::Cow<'_, str> {
    if value.encode_utf16().count() <= XLSX_CELL_LIMIT {
        return value.into();
    }
    let budget = XLSX_CELL_LIMIT - TRUNCATED.encode_utf16().count();
    let mut used = 0;
    let mut out = String::new();
    for c in value.chars() {
        used += c.len_utf16();
        if used > budget {
            break;
        }
        out.push(c);
    }
    out.push_str(TRUNCATED);
    out.into()
}

impl Table {
    pub fn to_csv(&self) -> Result<Vec<u8>, ReportError> {
        let mut w = csv::Writer::from_writer(BOM.to_vec());
        w.write_record(&self.headers)?;
        for r in &self.rows {
            w.write_record(r.iter().map(|v| csv_cell(v).into_owned()))?;
        }
        w.into_inner()
            .map_err(|e| ReportError::Write(e.to_string()))
    }

    pub fn to_xlsx(&self, sheet_name: &str) -> Result<Vec<u8>, ReportError> {
        let mut book = Workbook::new();
        self.add_sheet(&mut book, sheet_name)?;
        Ok(book.save_to_buffer()?)
    }

    fn add_sheet(&self, book: &mut Workbook, name: &str) -> Result<(), ReportError> {
        let bold = Format::new().set_bold().set_text_wrap();
        let wrap = Format::new().set_text_wrap();
        let sheet = book.add_worksheet();
        sheet.set_name(name)?;
        for (c, h) in self.headers.iter().enumerate() {
            let c = c as u16;
            sheet.write_string_with_format(0, c, h, &bold)?;
            let wide = self
                .rows
                .iter()
                .any(|r| r.get(c as usize).is_some_and(|v| v.chars().count() > 40));
            sheet.set_column_width(c, if wide { 50 } else { 18 })?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                // Everything as text: phone numbers keep their leading zero, ids stay exact.
                sheet.write_string_with_format(r as u32 + 1, c as u16, xlsx_cell(v), &wrap)?;
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        Ok(())
    }
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

fn opt_time(t: Option<i64>) -> String {
    t.map(format_time).unwrap_or_default()
}

const PERSONAL_HEADERS: [&str; 5] = [
    "Họ tên (name)",
    "Tuổi (age)",
    "Trường, nơi làm việc (organization)",
    "Điện thoại (phone)",
    "Đồng ý hiện tên (show name)",
];

fn personal_cells(q: &Question) -> Vec<String> {
    let p = q.questioner.clone().unwrap_or_default();
    vec![
        opt(&p.name),
        p.age.map(|a| a.to_string()).unwrap_or_default(),
        opt(&p.organization),
        opt(&p.phone),
        if q.questioner.is_some() {
            if p.show_name { "có" } else { "không" }.to_string()
        } else {
            String::new()
        },
    ]
}

/// Every question with its full history, one row per question.
pub fn questions_table(
    event: &EventConfig,
    questions: &[Question],
    history: &[Transition],
    access: Access,
) -> Table {
    let mut by_question: HashMap<Uuid, Vec<&Transition>> = HashMap::new();
    for t in history {
        by_question.entry(t.question).or_default().push(t);
    }
    let mut headers: Vec<String> = [
        "Mã (id)",
        "Thời điểm gửi (submitted)",
        "Điểm cầu (hall)",
        "Nguồn (source)",
        "Ghi chú nguồn (source note)",
        "Nội dung (text)",
        "Nội dung gốc (original text)",
        "Nhóm vấn đề (issue group)",
        "Cơ quan trả lời (department)",
        "Trạng thái (state)",
        "Mã trạng thái (state code)",
        "Số người hỏi (votes)",
        "Điểm cầu cùng hỏi (also asked in)",
        "Gộp vào (merged into)",
        "Lý do từ chối (reject reason)",
        "Lên sóng (on air)",
        "Trả lời tại chỗ (answered)",
        "Cơ quan trả lời bằng văn bản (agency)",
        "Hạn trả lời (due)",
        "Nội dung trả lời (written answer)",
        "Dự thảo (drafted)",
        "Người dự thảo (drafted by)",
        "Đã gửi (sent)",
        "Người gửi (sent by)",
        "Công bố (published)",
        "Người công bố (published by)",
        "Lịch sử (history)",
    ]
    .map(String::from)
    .to_vec();
    if access.personal {
        headers.extend(PERSONAL_HEADERS.map(String::from));
    }
    let rows = questions
        .iter()
        .map(|q| {
            let f = q.followup.as_ref();
            let history = by_question
                .get(&q.id)
                .map(|ts| {
                    ts.iter()
                        .map(|t| {
                            format!(
                                "{} {} {}: {} → {}",
                                format_time(t.at),
                                t.actor,
                                t.action,
                                state_of(t.from),
                                t.to.as_str()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default();
            let mut row = vec![
                q.id.to_string(),
                format_time(q.created_at),
                event.hall_name(&q.hall),
                source_label(q).to_string(),
                opt(&q.source_note),
                q.text.clone(),
                opt(&q.original_text),
                q.group
                    .as_deref()
                    .map(|g| event.group_name(g).to_string())
                    .unwrap_or_default(),
                q.department
                    .as_deref()
                    .map(|d| event.department_name(d).to_string())
                    .unwrap_or_default(),
                q.state.label_vi().to_string(),
                q.state.as_str().to_string(),
                q.votes.to_string(),
                q.halls
                    .iter()
                    .map(|h| event.hall_name(h))
                    .collect::<Vec<_>>()
                    .join("; "),
                q.merged_into.map(|m| m.to_string()).unwrap_or_default(),
                opt(&q.reject_reason),
                opt_time(q.on_air_at),
                opt_time(q.answered_at),
                f.map(|f| f.agency.clone()).unwrap_or_default(),
                f.map(|f| format_date(&f.due)).unwrap_or_default(),
                f.and_then(|f| f.answer.clone()).unwrap_or_default(),
                opt_time(f.and_then(|f| f.drafted_at)),
                f.and_then(|f| f.drafted_by.clone()).unwrap_or_default(),
                opt_time(f.and_then(|f| f.sent_at)),
                f.and_then(|f| f.sent_by.clone()).unwrap_or_default(),
                opt_time(f.and_then(|f| f.published_at)),
                f.and_then(|f| f.published_by.clone()).unwrap_or_default(),
                history,
            ];
            if access.personal {
                row.extend(personal_cells(q));
            }
            row
        })
        .collect();
    Table { headers, rows }
}

/// The audit log: one line per transition of a question or a floor
/// request, oldest first. Holds no personal data (actors are seats, not
/// people).
pub fn audit_table(event: &EventConfig, changes: &[Change]) -> Table {
    let headers = [
        "STT (seq)",
        "Thời điểm (time)",
        "Thời điểm UTC (ms)",
        "Vai trò (role)",
        "Người thực hiện (seat)",
        "Thao tác (action)",
        "Câu hỏi (question)",
        "Từ (from)",
        "Sang (to)",
        "Phiên bản (version)",
        "Sự kiện (event)",
        "Loại (kind)",
        "Điểm cầu (hall)",
    ]
    .map(String::from)
    .to_vec();
    let mut rows = Vec::new();
    for c in changes {
        let common = |id: String, from: &str, to: &str, version: String| {
            vec![
                c.seq.to_string(),
                format_time(c.at),
                c.at.to_string(),
                c.actor.role.as_str().to_string(),
                c.actor.label.clone(),
                c.action.clone(),
                id,
                from.to_string(),
                to.to_string(),
                version,
                event.id.clone(),
            ]
        };
        for u in &c.questions {
            let mut row = common(
                u.question.id.to_string(),
                state_of(u.from),
                u.question.state.as_str(),
                u.question.version.to_string(),
            );
            row.extend(["question".to_string(), u.question.hall.clone()]);
            rows.push(row);
        }
        for f in &c.floor {
            let mut row = common(
                f.id.to_string(),
                floor_from(&c.action, f.state),
                floor_state(f.state),
                String::new(),
            );
            row.extend(["floor".to_string(), f.hall.clone()]);
            rows.push(row);
        }
    }
    Table { headers, rows }
}

fn floor_state(s: FloorState) -> &'static str {
    match s {
        FloorState::Requested => "requested",
        FloorState::Granted => "granted",
        FloorState::Declined => "declined",
        FloorState::Done => "done",
        FloorState::Cancelled => "cancelled",
    }
}

/// A floor request's state before `action` made it `to` (the log keeps
/// only the after). `grant_floor` also ends the hall that had the floor,
/// in the same change: granted → done.
fn floor_from(action: &str, to: FloorState) -> &'static str {
    match (action, to) {
        ("request_floor", _) => "",
        (_, FloorState::Done) => "granted",
        _ => "requested",
    }
}

/// Deferred questions grouped by agency (agency name → questions, by due date).
pub fn deferred_by_agency<'a>(
    questions: &'a [Question],
    agency: Option<&str>,
) -> BTreeMap<String, Vec<&'a Question>> {
    let wanted = agency.map(crate::domain::text::duplicate_key);
    let mut out: BTreeMap<String, Vec<&Question>> = BTreeMap::new();
    for q in questions.iter().filter(|q| q.state.is_deferred()) {
        let Some(f) = &q.followup else { continue };
        if wanted
            .as_ref()
            .is_some_and(|w| *w != crate::domain::text::duplicate_key(&f.agency))
        {
            continue;
        }
        out.entry(f.agency.clone()).or_default().push(q);
    }
    for list in out.values_mut() {
        list.sort_by(|a, b| {
            let due = |q: &Question| {
                q.followup
                    .as_ref()
                    .map(|f| f.due.clone())
                    .unwrap_or_default()
            };
            due(a).cmp(&due(b)).then(a.created_at.cmp(&b.created_at))
        });
    }
    out
}

/// One agency's list to send out.
pub fn deferred_table(
    event: &EventConfig,
    list: &[&Question],
    access: Access,
    today: &str,
) -> Table {
    let mut headers: Vec<String> = [
        "STT (no.)",
        "Nội dung câu hỏi (question)",
        "Điểm cầu (hall)",
        "Nhóm vấn đề (issue group)",
        "Hạn trả lời (due)",
        "Quá hạn (overdue)",
        "Trạng thái (state)",
        "Nội dung trả lời (written answer)",
        "Mã (id)",
    ]
    .map(String::from)
    .to_vec();
    if access.personal {
        headers.extend(PERSONAL_HEADERS.map(String::from));
    }
    let rows = list
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let f = q.followup.as_ref();
            let mut row = vec![
                (i + 1).to_string(),
                q.text.clone(),
                event.hall_name(&q.hall),
                q.group
                    .as_deref()
                    .map(|g| event.group_name(g).to_string())
                    .unwrap_or_default(),
                f.map(|f| format_date(&f.due)).unwrap_or_default(),
                if is_overdue(q, today) {
                    "quá hạn"
                } else {
                    ""
                }
                .to_string(),
                q.state.label_vi().to_string(),
                f.and_then(|f| f.answer.clone()).unwrap_or_default(),
                q.id.to_string(),
            ];
            if access.personal {
                row.extend(personal_cells(q));
            }
            row
        })
        .collect();
    Table { headers, rows }
}

/// XLSX with one sheet per agency (a single sheet when `agency` is given).
pub fn deferred_xlsx(
    event: &EventConfig,
    questions: &[Question],
    agency: Option<&str>,
    access: Access,
    today: &str,
) -> Result<Vec<u8>, ReportError> {
    let groups = deferred_by_agency(questions, agency);
    let mut book = Workbook::new();
    let mut used = Vec::new();
    if groups.is_empty() {
        deferred_table(event, &[], access, today).add_sheet(
            &mut book,
            &sheet_name(agency.unwrap_or("Trả lời bằng văn bản"), &mut used),
        )?;
    }
    for (name, list) in &groups {
        deferred_table(event, list, access, today)
            .add_sheet(&mut book, &sheet_name(name, &mut used))?;
    }
    Ok(book.save_to_buffer()?)
}

/// A valid, unique worksheet name: at most 31 characters, none of `[]:*?/\`.
pub fn sheet_name(wanted: &str, used: &mut Vec<String>) -> String {
    let clean: String = wanted
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\'))
        .collect::<String>()
        .trim()
        .trim_matches('\'')
        .to_string();
    let base: String = if clean.is_empty() {
        "Sheet".to_string()
    } else {
        clean
    };
    let mut name: String = base.chars().take(31).collect();
    let mut n = 2;
    while used.iter().any(|u| u.to_lowercase() == name.to_lowercase()) {
        let suffix = format!(" ({n})");
        name = base
            .chars()
            .take(31 - suffix.chars().count())
            .collect::<String>()
            + &suffix;
        n += 1;
    }
    used.push(name.clone());
    name
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{Actor, FollowUp, QuestionUpdate, Questioner, Role, Source};

    pub(crate) fn question(text: &str, state: QState) -> Question {
        Question {
            id: Uuid::new_v4(),
            hall: "cho-moi".into(),
            source: Source::Import,
            source_note: Some("thu thập trước: Huyện đoàn Chợ Mới".into()),
            text: text.into(),
            original_text: None,
            group: Some("khoi-nghiep".into()),
            department: Some("khdt".into()),
            state,
            reject_reason: None,
            merged_into: None,
            merged_from: vec![],
            votes: 1,
            halls: vec![],
            queue_pos: 0,
            followup: None,
            display_name: None,
            hints: None,
            questioner: Some(Questioner {
                name: Some("Trần Thị Thủy".into()),
                age: Some(24),
                organization: None,
                phone: Some("0901234567".into()),
                show_name: false,
            }),
            created_at: 1_711_416_600_000,
            updated_at: 1_711_416_600_000,
            on_air_at: None,
            answered_at: None,
            submitted_by: "moderator-1".into(),
            device_key: None,
            version: 1,
            before_merge: None,
        }
    }

    fn deferred(text: &str, agency: &str, due: &str) -> Question {
        let mut q = question(text, QState::Deferred);
        q.followup = Some(FollowUp {
            agency: agency.into(),
            due: due.into(),
            answer: None,
            drafted_at: None,
            drafted_by: None,
            sent_at: None,
            sent_by: None,
            published_at: None,
            published_by: None,
        });
        q
    }

    #[test]
    fn personal_columns_only_with_personal_access() {
        let event = EventConfig::builtin();
        let qs = vec![question("Vốn vay ưu đãi?", QState::Pending)];
        let with = questions_table(&event, &qs, &[], Access { personal: true });
        let without = questions_table(&event, &qs, &[], Access { personal: false });
        assert_eq!(with.headers.len(), without.headers.len() + 5);
        assert!(with.rows[0].contains(&"Trần Thị Thủy".to_string()));
        assert!(!without.rows[0]
            .iter()
            .any(|c| c.contains("Thủy") || c.contains("0901234567")));
        assert_eq!(with.rows[0][2], "H. Chợ Mới");
    }

    #[test]
    fn csv_starts_with_bom_and_keeps_vietnamese() {
        let t = Table {
            headers: vec!["Nội dung".into()],
            rows: vec![vec!["Hoà bình, đường ươm".into()]],
        };
        let bytes = t.to_csv().unwrap();
        assert!(bytes.starts_with(BOM));
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert_eq!(text, "Nội dung\n\"Hoà bình, đường ươm\"\n");
    }

    #[test]
    fn history_comes_from_the_log() {
        let q = question("A", QState::Approved);
        let mut before = q.clone();
        before.state = QState::Pending;
        let change = Change {
            seq: 7,
            at: 1_711_416_600_000,
            actor: Actor::new(Role::Moderator, "moderator-2"),
            action: "approve".into(),
            questions: vec![QuestionUpdate {
                voter: None,
                from: Some(QState::Pending),
                from_department: None,
                question: q.clone(),
            }],
            floor: vec![],
            notes: vec![],
        };
        let ts = transitions(std::slice::from_ref(&change));
        assert_eq!(ts.len(), 1);
        assert_eq!(
            (ts[0].from, ts[0].to, ts[0].actor.as_str()),
            (Some(QState::Pending), QState::Approved, "moderator-2")
        );
        let table = questions_table(
            &EventConfig::builtin(),
            &[q],
            &ts,
            Access { personal: false },
        );
        assert_eq!(
            table.rows[0].last().unwrap(),
            "26/03/2024 08:30 moderator-2 approve: pending → approved"
        );
        let audit = audit_table(&EventConfig::builtin(), std::slice::from_ref(&change));
        assert_eq!(audit.rows[0][0], "7");
        assert!(
            followup_history(&ts).is_empty(),
            "an approval is not a follow-up step"
        );
    }

    #[test]
    fn deferred_lists_group_by_agency_and_flag_overdue() {
        let qs = vec![
            deferred("B", "Sở Y tế", "2024-05-01"),
            deferred("A", "Sở Y tế", "2024-04-01"),
            deferred("C", "Sở Tư pháp", "2024-04-10"),
            question("D", QState::Answered),
        ];
        let groups = deferred_by_agency(&qs, None);
        assert_eq!(
            groups.keys().collect::<Vec<_>>(),
            vec!["Sở Tư pháp", "Sở Y tế"]
        );
        assert_eq!(groups["Sở Y tế"][0].text, "A");
        let one = deferred_by_agency(&qs, Some("so y te"));
        assert_eq!(one.len(), 1);
        let t = deferred_table(
            &EventConfig::builtin(),
            &groups["Sở Y tế"],
            Access { personal: false },
            "2024-04-15",
        );
        assert_eq!(t.rows[0][5], "quá hạn");
        assert_eq!(t.rows[1][5], "");
        let bytes = deferred_xlsx(
            &EventConfig::builtin(),
            &qs,
            None,
            Access { personal: true },
            "2024-04-15",
        )
        .unwrap();
        assert!(bytes.starts_with(b"PK"));
    }

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let mut used = vec![];
        assert_eq!(
            sheet_name("Sở Lao động/Thương binh", &mut used),
            "Sở Lao độngThương binh"
        );
        let long = "Sở Lao động, Thương binh và Xã hội tỉnh An Giang";
        let a = sheet_name(long, &mut used);
        let b = sheet_name(long, &mut used);
        assert_eq!(a.chars().count(), 31);
        assert_ne!(a, b);
        assert!(b.ends_with("(2)") && b.chars().count() <= 31);
    }

    #[test]
    fn csv_cells_that_would_be_formulas_are_neutralised() {
        let mut t = Table {
            headers: vec!["a".into(), "b".into(), "c".into()],
            rows: vec![vec![
                "=HYPERLINK(\"http://x\",\"bấm\")".into(),
                "@x".into(),
                "=1+1".into(),
            ]],
        };
        t.rows
            .push(vec!["-5".into(), "+84 912".into(), "\tx".into()]);
        t.rows
            .push(vec!["Câu hỏi = thường".into(), "".into(), "\rx".into()]);
        let out = String::from_utf8(t.to_csv().unwrap()).unwrap();
        let mut reader = csv::Reader::from_reader(out.trim_start_matches('\u{FEFF}').as_bytes());
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        assert_eq!(
            rows[0],
            ["'=HYPERLINK(\"http://x\",\"bấm\")", "'@x", "'=1+1"]
        );
        assert_eq!(rows[1], ["'-5", "'+84 912", "'\tx"]);
        assert_eq!(rows[2], ["Câu hỏi = thường", "", "'\rx"]);
    }

    #[test]
    fn xlsx_never_fails_on_a_cell_over_excels_limit() {
        let long: String = "ệ".repeat(60_000);
        let cut = xlsx_cell(&long);
        assert_eq!(cut.encode_utf16().count(), XLSX_CELL_LIMIT);
        assert!(cut.ends_with(TRUNCATED));
        assert_eq!(xlsx_cell("ngắn"), "ngắn");
        let t = Table {
            headers: vec!["lý do".into()],
            rows: vec![vec![long]],
        };
        assert!(t.to_xlsx("Sheet").is_ok());
    }
}
