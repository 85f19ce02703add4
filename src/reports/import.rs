//! Importing questions collected before the event ("thu thập trước") from the
//! spreadsheets the Youth Union's district committees send in.
//!
//! Three steps, all pure: [`read`] turns a CSV (UTF-8, with or without BOM)
//! or XLSX file into numbered rows; [`plan`] checks every row with the
//! domain's own `apply` against the event's current state — so an import
//! refuses exactly what a moderator typing the question would be refused —
//! and yields a row report plus the `Submit` commands to run; the caller
//! runs them through the engine only once a person has accepted the report.
//!
//! # Why the question id comes from the row's content
//! Each row's question id is a UUID v5 of (event, duplicate key of the text,
//! hall, collecting unit, occurrence number of that same triple in the file).
//! A hash of the file plus the row number would make "the same file twice"
//! idempotent only byte for byte: Excel re-saving the file, a committee
//! re-sending it with one row fixed, or rows sorted differently would all
//! import everything again. Content-derived ids survive all of that, and
//! the engine's normal idempotency (a `Submit` whose id exists is a no-op)
//! does the rest. The duplicate key folds accents and tone placement
//! (hòa/hoà) the same way duplicate detection does. The occurrence number
//! keeps two identical rows of one file — two youths of one district asking
//! the same thing — as two questions, and still the same two on re-import;
//! only accepted rows are counted, so fixing a refused row later does not
//! shift the ids of the others.
//! The issue group is deliberately *not* part of the key: correcting a group
//! in the file must not create a second copy of the question.

use std::collections::HashMap;
use std::io::Cursor;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ReportError;
use crate::domain::{self, text, Actor, Command, Ctx, Questioner, View};
use crate::event::EventConfig;

/// How many non-blank rows at the top may precede the header (title blocks).
const HEADER_SEARCH_ROWS: usize = 10;

/// Most data rows one file may hold (a whole province's pre-collected questions fit easily).
pub const MAX_ROWS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    /// From an explicit `format` value or, failing that, the file name's extension.
    pub fn detect(format: Option<&str>, filename: Option<&str>) -> Option<Format> {
        let pick = |s: &str| match s.trim().to_ascii_lowercase().as_str() {
            "csv" | "text/csv" => Some(Format::Csv),
            "xlsx" | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => {
                Some(Format::Xlsx)
            }
            _ => None,
        };
        if let Some(f) = format.and_then(pick) {
            return Some(f);
        }
        let name = filename?;
        let ext = name.rsplit_once('.').map(|(_, e)| e)?;
        pick(ext)
    }
}

/// The columns an import understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Col {
    Text,
    Hall,
    Group,
    Source,
    Name,
    Age,
    Organization,
    Phone,
    Consent,
}

/// Header names per column, as duplicate keys (accents folded, lower case).
/// A header cell matches when any part of it (split at `/`, `(`, `)`) is one
/// of these, so "Nội dung câu hỏi (text)" and plain "text" both work.
const ALIASES: &[(Col, &[&str])] = &[
    (
        Col::Text,
        &[
            "text",
            "question",
            "noi dung",
            "noi dung cau hoi",
            "cau hoi",
            "y kien",
            "y kien kien nghi",
        ],
    ),
    (Col::Hall, &["hall", "diem cau"]),
    (
        Col::Group,
        &["group", "issue group", "nhom", "nhom van de", "linh vuc"],
    ),
    (
        Col::Source,
        &[
            "source",
            "collected by",
            "source collected by",
            "nguon",
            "don vi thu thap",
            "thu thap boi",
            "nguoi thu thap",
        ],
    ),
    (
        Col::Name,
        &[
            "name",
            "questioner name",
            "ho ten",
            "ho va ten",
            "ho ten nguoi hoi",
            "nguoi hoi",
        ],
    ),
    (Col::Age, &["age", "tuoi"]),
    (
        Col::Organization,
        &[
            "organization",
            "organisation",
            "school",
            "workplace",
            "truong",
            "noi lam viec",
            "truong noi lam viec",
            "don vi cong tac",
        ],
    ),
    (Col::Phone, &["phone", "dien thoai", "so dien thoai", "sdt"]),
    (Col::Consent, &["consent", "dong y", "dong y luu thong tin"]),
];

/// The template's header row, Vietnamese first with the English name in brackets.
pub const TEMPLATE_HEADERS: [&str; 9] = [
    "Nội dung câu hỏi (text)",
    "Điểm cầu (hall)",
    "Nhóm vấn đề (issue group)",
    "Đơn vị thu thập (collected by)",
    "Họ tên người hỏi (name)",
    "Tuổi (age)",
    "Trường, nơi làm việc (organization)",
    "Số điện thoại (phone)",
    "Đồng ý lưu thông tin (consent)",
];

fn column_of(header: &str) -> Option<Col> {
    header
        .split(['/', '(', ')'])
        .map(text::duplicate_key)
        .filter(|k| !k.is_empty())
        .find_map(|k| {
            ALIASES
                .iter()
                .find(|(_, names)| names.contains(&k.as_str()))
                .map(|(c, _)| *c)
        })
}

/// One data row as read from the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawRow {
    /// The row number a person sees in the spreadsheet (the header is row 1 in a template).
    pub row: usize,
    pub text: String,
    pub hall: String,
    pub group: String,
    pub source: String,
    pub name: String,
    pub age: String,
    pub organization: String,
    pub phone: String,
    pub consent: String,
}

impl RawRow {
    fn set(&mut self, col: Col, value: String) {
        let slot = match col {
            Col::Text => &mut self.text,
            Col::Hall => &mut self.hall,
            Col::Group => &mut self.group,
            Col::Source => &mut self.source,
            Col::Name => &mut self.name,
            Col::Age => &mut self.age,
            Col::Organization => &mut self.organization,
            Col::Phone => &mut self.phone,
            Col::Consent => &mut self.consent,
        };
        *slot = value;
    }
}

/// Read a file into data rows. Blank rows are skipped; the first non-blank
/// row is the header and must name a question text column.
pub fn read(bytes: &[u8], format: Format) -> Result<Vec<RawRow>, ReportError> {
    let table = match format {
        Format::Csv => csv_table(bytes)?,
        Format::Xlsx => xlsx_table(bytes)?,
    };
    let lines: Vec<(usize, Vec<String>)> = table
        .into_iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .collect();
    if lines.is_empty() {
        return Err(ReportError::NoHeader);
    }
    // Spreadsheets from district offices often start with a title block
    // ("ỦY BAN NHÂN DÂN …", "DANH SÁCH CÂU HỎI …"): the header is the first
    // of the top rows that names a question-text column.
    let header_at = lines
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .position(|(_, cells)| cells.iter().any(|h| column_of(h) == Some(Col::Text)))
        .ok_or(ReportError::NoTextColumn)?;
    let mut lines = lines.into_iter().skip(header_at);
    let Some((_, header)) = lines.next() else {
        return Err(ReportError::NoHeader);
    };
    let columns: Vec<Option<Col>> = header.iter().map(|h| column_of(h)).collect();
    let mut rows = Vec::new();
    for (row, cells) in lines {
        let mut r = RawRow {
            row,
            ..RawRow::default()
        };
        for (col, value) in columns.iter().zip(cells) {
            if let Some(col) = col {
                r.set(*col, value);
            }
        }
        rows.push(r);
        if rows.len() > MAX_ROWS {
            return Err(ReportError::Spreadsheet(format!(
                "more than {MAX_ROWS} rows"
            )));
        }
    }
    Ok(rows)
}

fn csv_table(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, ReportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // Excel in some locales saves "CSV" with semicolons; the header line tells which.
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |c: u8| first_line.iter().filter(|b| **b == c).count();
    let delimiter = if count(b';') > count(b',') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes);
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| match e.kind() {
            csv::ErrorKind::Utf8 { .. } => ReportError::NotUtf8 { row: i + 1 },
            _ => ReportError::Csv(e.to_string()),
        })?;
        out.push((i + 1, record.iter().map(str::to_string).collect()));
    }
    Ok(out)
}

fn xlsx_table(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, ReportError> {
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| ReportError::Spreadsheet(e.to_string()))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| ReportError::Spreadsheet("no worksheet".into()))?
        .map_err(|e| ReportError::Spreadsheet(e.to_string()))?;
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    let cell = |d: &Data| match d {
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        // Whole numbers (ages, phone numbers typed as numbers) without ".0".
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::Empty => String::new(),
        other => other.to_string(),
    };
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, cells)| {
            // Columns left of the used range are empty; keep positions aligned with the header.
            let mut row = vec![String::new(); first_col as usize];
            row.extend(cells.iter().map(cell));
            (first_row as usize + i + 1, row)
        })
        .collect())
}

/// Why a row is refused, in Vietnamese and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    pub message: String,
    pub message_en: String,
}

impl Reason {
    pub fn new(code: &str, vi: impl Into<String>, en: impl Into<String>) -> Reason {
        Reason {
            code: code.into(),
            message: vi.into(),
            message_en: en.into(),
        }
    }
    pub fn from_domain(e: &domain::DomainError) -> Reason {
        Reason::new(e.code(), e.message_vi(), e.message_en())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// Valid and not yet in the event: will be imported once accepted.
    New,
    /// Valid, and a question with this row's id is already in the event.
    AlreadyImported,
    Rejected,
    /// Committed by this import.
    Imported,
}

/// One row of the report a person reads before accepting an import.
/// Personal data is not echoed back; `personal_data` says whether the row has some.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowReport {
    pub row: usize,
    pub status: RowStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hall: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_note: Option<String>,
    pub personal_data: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
}

/// The checked file: a report per row and the commands for the new ones.
#[derive(Debug, Clone)]
pub struct Plan {
    pub rows: Vec<RowReport>,
    /// `(index into rows, command)` for every row with status `New`.
    pub commands: Vec<(usize, Command)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub rows: usize,
    pub new: usize,
    pub already_imported: usize,
    pub rejected: usize,
    pub imported: usize,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let n = |s: RowStatus| self.rows.iter().filter(|r| r.status == s).count();
        Summary {
            rows: self.rows.len(),
            new: n(RowStatus::New),
            already_imported: n(RowStatus::AlreadyImported),
            rejected: n(RowStatus::Rejected),
            imported: n(RowStatus::Imported),
        }
    }

    /// The report as plain text lines (CLI), Vietnamese / English.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for r in &self.rows {
            let status = match r.status {
                RowStatus::New => "mới / new",
                RowStatus::AlreadyImported => "đã có / already imported",
                RowStatus::Rejected => "LOẠI / REJECTED",
                RowStatus::Imported => "đã nhập / imported",
            };
            let excerpt: String = r.text.chars().take(60).collect();
            out.push_str(&format!(
                "dòng/row {:>5}  {:<26} {}\n",
                r.row, status, excerpt
            ));
            for reason in &r.reasons {
                out.push_str(&format!(
                    "             - {} / {}\n",
                    reason.message, reason.message_en
                ));
            }
        }
        out.push_str(&self.totals_line());
        out.push('\n');
        out
    }

    /// One line of totals that add up to the rows: before an import the
    /// new rows, after it the imported ones (never "imported 0" next to a
    /// later "imported 5").
    pub fn totals_line(&self) -> String {
        let s = self.summary();
        let mut parts = Vec::new();
        if s.imported > 0 || s.new == 0 {
            parts.push(format!("đã nhập/imported {}", s.imported));
        }
        if s.new > 0 {
            parts.push(format!("mới, chưa nhập/new, not yet imported {}", s.new));
        }
        parts.push(format!("đã có/already {}", s.already_imported));
        parts.push(format!("loại/rejected {}", s.rejected));
        format!("Tổng / total: {} dòng/rows — {}", s.rows, parts.join(", "))
    }
}

/// Hall id for a cell holding an id or a name ("Chợ Mới", "H. Chợ Mới", "cho-moi").
pub fn resolve_hall(event: &EventConfig, cell: &str) -> Option<String> {
    let key = text::duplicate_key(cell);
    event
        .halls
        .iter()
        .find(|h| {
            h.id == cell.trim()
                || text::duplicate_key(&h.name) == key
                || text::duplicate_key(strip_unit_prefix(&h.name)) == key
                || text::duplicate_key(&h.id) == key
        })
        .map(|h| h.id.clone())
}

/// "TP. Châu Đốc" → "Châu Đốc": district halls are often written without their prefix.
fn strip_unit_prefix(name: &str) -> &str {
    for prefix in [
        "TP.",
        "TX.",
        "H.",
        "Thành phố",
        "Thị xã",
        "Huyện",
        "Xã",
        "Phường",
    ] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return rest.trim_start();
        }
    }
    name
}

/// Issue-group id for a cell holding its id, Vietnamese name or English name.
pub fn resolve_group(event: &EventConfig, cell: &str) -> Option<String> {
    let key = text::duplicate_key(cell);
    event
        .groups
        .iter()
        .find(|g| {
            g.id == cell.trim()
                || text::duplicate_key(&g.name) == key
                || (!g.name_en.is_empty() && text::duplicate_key(&g.name_en) == key)
        })
        .map(|g| g.id.clone())
}

fn parse_consent(cell: &str) -> Option<bool> {
    match text::duplicate_key(cell).as_str() {
        "" | "khong" | "no" | "n" | "0" | "false" | "khong dong y" => Some(false),
        "co" | "x" | "yes" | "y" | "1" | "true" | "dong y" | "da dong y" | "co dong y" => {
            Some(true)
        }
        _ => None,
    }
}

/// Phone numbers typed into a number-formatted cell lose their leading 0
/// (0912345678 becomes 912345678); Vietnamese numbers have 10 digits.
fn clean_phone(cell: &str) -> Option<String> {
    let p = text::clean(cell);
    if p.len() == 9 && p.chars().all(|c| c.is_ascii_digit()) {
        return Some(format!("0{p}"));
    }
    (!p.is_empty()).then_some(p)
}

/// Deterministic question id of a row (see the module documentation).
pub fn row_id(
    event_id: &str,
    text_key: &str,
    hall: &str,
    unit_key: &str,
    occurrence: usize,
) -> Uuid {
    let name = format!("doithoai/import\u{1f}{event_id}\u{1f}{text_key}\u{1f}{hall}\u{1f}{unit_key}\u{1f}{occurrence}");
    Uuid::new_v5(&Uuid::NAMESPACE_URL, name.as_bytes())
}

/// Check every row against the event's current state (`view`) with the
/// domain's rules, as `actor` (a moderator or admin), at `now`.
/// `default_unit` fills the source note of rows without a collecting unit.
pub fn plan(
    rows: &[RawRow],
    event: &EventConfig,
    view: &dyn View,
    actor: &Actor,
    now: i64,
    default_unit: Option<&str>,
) -> Plan {
    let ctx = Ctx { event, actor, now };
    let mut seen: HashMap<(String, String, String), usize> = HashMap::new();
    let mut out = Plan {
        rows: Vec::with_capacity(rows.len()),
        commands: Vec::new(),
    };
    for raw in rows {
        let mut reasons = Vec::new();
        let age = match raw.age.trim() {
            "" => None,
            a => match a.parse::<u8>() {
                Ok(n) if (1..=120).contains(&n) => Some(n),
                _ => {
                    reasons.push(Reason::new(
                        "invalid_age",
                        format!("Tuổi không hợp lệ: «{a}»"),
                        format!("invalid age: {a}"),
                    ));
                    None
                }
            },
        };
        let consent = parse_consent(&raw.consent).unwrap_or_else(|| {
            reasons.push(Reason::new(
                "invalid_consent",
                format!(
                    "Cột «Đồng ý» phải là «có» hoặc «không», không phải «{}»",
                    raw.consent.trim()
                ),
                format!("consent must be yes or no, not {}", raw.consent.trim()),
            ));
            false
        });
        let questioner = Questioner {
            name: text::clean_opt(Some(&raw.name)),
            age,
            organization: text::clean_opt(Some(&raw.organization)),
            phone: clean_phone(&raw.phone),
            show_name: false,
        };
        let has_personal = questioner != Questioner::default();
        let hall_cell = text::clean(&raw.hall);
        let hall = match hall_cell.as_str() {
            "" => None,
            h => Some(resolve_hall(event, h).unwrap_or_else(|| h.to_string())),
        };
        let group_cell = text::clean(&raw.group);
        let group = match group_cell.as_str() {
            "" => None,
            g => Some(resolve_group(event, g).unwrap_or_else(|| g.to_string())),
        };
        let unit = text::clean(&raw.source);
        let note_unit = if unit.is_empty() {
            default_unit.map(text::clean).unwrap_or_default()
        } else {
            unit.clone()
        };
        let source_note = if note_unit.is_empty() {
            "thu thập trước".to_string()
        } else {
            format!("thu thập trước: {note_unit}")
        };
        let clean_text = text::clean(&raw.text);
        let key = (
            text::duplicate_key(&clean_text),
            hall.clone()
                .unwrap_or_else(|| event.host_hall().to_string()),
            text::duplicate_key(&unit),
        );
        // Only accepted rows are counted, so fixing or deleting a refused row
        // does not shift the ids of the rows after it.
        let occurrence = seen.get(&key).copied().unwrap_or(0) + 1;
        let id = row_id(&event.id, &key.0, &key.1, &key.2, occurrence);
        let cmd = Command::Submit {
            id,
            text: raw.text.clone(),
            hall: hall.clone(),
            group: group.clone(),
            questioner: has_personal.then_some(questioner),
            consent,
            source_note: Some(source_note.clone()),
            imported: true,
        };
        let mut status = RowStatus::Rejected;
        if reasons.is_empty() {
            match domain::apply(view, &ctx, &cmd) {
                Ok(o) if o.duplicate_of.is_some() => status = RowStatus::AlreadyImported,
                Ok(_) => status = RowStatus::New,
                Err(e) => reasons.push(Reason::from_domain(&e)),
            }
        }
        if status != RowStatus::Rejected {
            seen.insert(key, occurrence);
        }
        if status == RowStatus::New {
            out.commands.push((out.rows.len(), cmd));
        }
        out.rows.push(RowReport {
            row: raw.row,
            status,
            id: (status != RowStatus::Rejected).then_some(id),
            text: clean_text,
            hall: hall.or_else(|| Some(event.host_hall().to_string())),
            group,
            source_note: Some(source_note),
            personal_data: has_personal,
            reasons,
        });
    }
    out
}

/// The import template as XLSX: the header row (phone and age columns
/// formatted as text so leading zeros survive) and a second sheet listing
/// the event's halls and issue groups.
pub fn template_xlsx(event: &EventConfig) -> Result<Vec<u8>, ReportError> {
    use rust_xlsxwriter::{Format as XFormat, Workbook};
    let mut book = Workbook::new();
    let bold = XFormat::new().set_bold().set_text_wrap();
    let as_text = XFormat::new().set_num_format("@");
    let sheet = book.add_worksheet();
    sheet.set_name("Câu hỏi")?;
    for (c, h) in TEMPLATE_HEADERS.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &bold)?;
        sheet.set_column_width(c as u16, if c == 0 { 60 } else { 22 })?;
    }
    sheet.set_column_format(7, &as_text)?;
    sheet.set_freeze_panes(1, 0)?;
    let help = book.add_worksheet();
    help.set_name("Hướng dẫn")?;
    let lines: Vec<(String, String)> = [
        ("Hướng dẫn / Instructions".to_string(), String::new()),
        (
            "Mỗi dòng một câu hỏi; chỉ cột «Nội dung câu hỏi» là bắt buộc.".to_string(),
            "One question per row; only the text column is required.".to_string(),
        ),
        (
            "Điểm cầu, nhóm vấn đề: ghi mã hoặc tên như bên dưới.".to_string(),
            "Hall, issue group: an id or a name from the lists below.".to_string(),
        ),
        (
            "Có thông tin cá nhân thì cột «Đồng ý» phải ghi «có».".to_string(),
            "Rows with personal data need consent = yes.".to_string(),
        ),
        (String::new(), String::new()),
        ("Điểm cầu (hall)".to_string(), String::new()),
    ]
    .into_iter()
    .chain(event.halls.iter().map(|h| (h.id.clone(), h.name.clone())))
    .chain([
        (String::new(), String::new()),
        ("Nhóm vấn đề (issue group)".to_string(), String::new()),
    ])
    .chain(event.groups.iter().map(|g| (g.id.clone(), g.name.clone())))
    .collect();
    for (r, (a, b)) in lines.iter().enumerate() {
        help.write_string(r as u32, 0, a)?;
        help.write_string(r as u32, 1, b)?;
    }
    help.set_column_width(0, 50)?;
    help.set_column_width(1, 60)?;
    Ok(book.save_to_buffer()?)
}

/// The import template as CSV (UTF-8 with BOM, header only).
pub fn template_csv() -> Result<Vec<u8>, ReportError> {
    let mut w = csv::Writer::from_writer(super::export::BOM.to_vec());
    w.write_record(TEMPLATE_HEADERS)?;
    w.into_inner()
        .map_err(|e| ReportError::Write(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Role, Source};
    use crate::engine::EventState;

    fn moderator() -> Actor {
        Actor::new(Role::Moderator, "moderator-1")
    }

    const CSV: &str = "\u{feff}Nội dung câu hỏi (text),Điểm cầu (hall),Nhóm vấn đề (issue group),Đơn vị thu thập (collected by),Họ tên người hỏi (name),Tuổi (age),\"Trường, nơi làm việc (organization)\",Số điện thoại (phone),Đồng ý lưu thông tin (consent)\n\
Vốn vay khởi nghiệp cho thanh niên hòa nhập?,Chợ Mới,khoi-nghiep,Huyện đoàn Chợ Mới,,,,,\n\
,tinh,,,,,,,\n\
Hỏi về thủy lợi,Hà Nội,,,,,,,\n\
Đào tạo nghề ở đâu?,TP. Châu Đốc,\"Lao động, đào tạo nghề, định hướng nghề nghiệp\",,Nguyễn Văn Ư,22,Trường ĐH An Giang,912345678,\n\
Đào tạo nghề ở đâu?,chau-doc,\"Lao động, đào tạo nghề, định hướng nghề nghiệp\",,Nguyễn Văn Ư,22,Trường ĐH An Giang,0912345678,có\n";

    #[test]
    fn csv_with_bom_reads_vietnamese_headers_and_row_numbers() {
        let rows = read(CSV.as_bytes(), Format::Csv).unwrap();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].row, 2);
        assert_eq!(rows[0].text, "Vốn vay khởi nghiệp cho thanh niên hòa nhập?");
        assert_eq!(rows[0].source, "Huyện đoàn Chợ Mới");
        assert_eq!(rows[3].organization, "Trường ĐH An Giang");
        assert_eq!(rows[4].consent, "có");
    }

    #[test]
    fn every_row_is_checked_with_the_domain_rules() {
        let event = EventConfig::builtin();
        let rows = read(CSV.as_bytes(), Format::Csv).unwrap();
        let state = EventState::default();
        let p = plan(&rows, &event, &state, &moderator(), 1, None);
        let status: Vec<_> = p.rows.iter().map(|r| (r.row, r.status)).collect();
        assert_eq!(
            status,
            vec![
                (2, RowStatus::New),
                (3, RowStatus::Rejected),
                (4, RowStatus::Rejected),
                (5, RowStatus::Rejected),
                (6, RowStatus::New),
            ]
        );
        assert_eq!(p.rows[1].reasons[0].code, "empty_text");
        assert_eq!(p.rows[2].reasons[0].code, "unknown_hall");
        assert_eq!(p.rows[3].reasons[0].code, "consent_required");
        assert_eq!(p.rows[0].hall.as_deref(), Some("cho-moi"));
        assert_eq!(
            p.rows[0].source_note.as_deref(),
            Some("thu thập trước: Huyện đoàn Chợ Mới")
        );
        assert_eq!(p.rows[4].group.as_deref(), Some("dao-tao-nghe"));
        assert_eq!(p.rows[4].hall.as_deref(), Some("chau-doc"));
        assert_eq!(p.commands.len(), 2);
        let Command::Submit { questioner, .. } = &p.commands[1].1 else {
            panic!()
        };
        assert_eq!(
            questioner.as_ref().unwrap().phone.as_deref(),
            Some("0912345678")
        );
    }

    #[test]
    fn ids_follow_content_not_position_and_tone_placement() {
        let event = EventConfig::builtin();
        let a = "text,hall\nHòa bình và thủy lợi,cho-moi\nKhác,tinh\n";
        let b = "hall,text\ntinh,Khác\nH. Chợ Mới,Hoà bình và thuỷ lợi\n";
        let state = EventState::default();
        let pa = plan(
            &read(a.as_bytes(), Format::Csv).unwrap(),
            &event,
            &state,
            &moderator(),
            1,
            None,
        );
        let pb = plan(
            &read(b.as_bytes(), Format::Csv).unwrap(),
            &event,
            &state,
            &moderator(),
            1,
            None,
        );
        let mut ia: Vec<_> = pa.rows.iter().map(|r| r.id).collect();
        let mut ib: Vec<_> = pb.rows.iter().map(|r| r.id).collect();
        ia.sort();
        ib.sort();
        assert_eq!(ia, ib);
    }

    #[test]
    fn identical_rows_stay_two_questions_and_existing_ones_are_reported() {
        let event = EventConfig::builtin();
        let csv = "text\nCùng một câu\nCùng một câu\n";
        let rows = read(csv.as_bytes(), Format::Csv).unwrap();
        let mut state = EventState::default();
        let p = plan(&rows, &event, &state, &moderator(), 1, Some("Tỉnh đoàn"));
        assert_ne!(p.rows[0].id, p.rows[1].id);
        assert_eq!(
            p.rows[0].source_note.as_deref(),
            Some("thu thập trước: Tỉnh đoàn")
        );
        // Pretend the first was imported.
        let ctx_actor = moderator();
        let ctx = Ctx {
            event: &event,
            actor: &ctx_actor,
            now: 1,
        };
        let outcome = domain::apply(&state, &ctx, &p.commands[0].1).unwrap();
        let q = outcome.questions[0].question.clone();
        assert_eq!(q.source, Source::Import);
        state.questions.insert(q.id, q);
        let again = plan(&rows, &event, &state, &moderator(), 2, None);
        assert_eq!(again.rows[0].status, RowStatus::AlreadyImported);
        assert_eq!(again.rows[1].status, RowStatus::New);
    }

    #[test]
    fn header_without_text_column_is_refused_and_bad_age_reported() {
        assert!(matches!(
            read(b"hall,group\ntinh,khac\n", Format::Csv),
            Err(ReportError::NoTextColumn)
        ));
        let event = EventConfig::builtin();
        let rows = read(
            "text;age;consent\nA;200;có\nB;20;maybe\n".as_bytes(),
            Format::Csv,
        )
        .unwrap();
        let p = plan(&rows, &event, &EventState::default(), &moderator(), 1, None);
        assert_eq!(p.rows[0].reasons[0].code, "invalid_age");
        assert_eq!(p.rows[1].reasons[0].code, "invalid_consent");
    }

    #[test]
    fn title_rows_above_the_header_are_skipped_and_other_encodings_refused() {
        let csv = "ỦY BAN NHÂN DÂN HUYỆN CHỢ MỚI,,\nDanh sách câu hỏi của thanh niên,,\n,,\nSTT,Câu hỏi,Điểm cầu\n1,Hỏi về vốn vay,cho-moi\n";
        let rows = read(csv.as_bytes(), Format::Csv).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].row, rows[0].text.as_str(), rows[0].hall.as_str()),
            (5, "Hỏi về vốn vay", "cho-moi")
        );
        // "Hỏi" in Windows-1258 is not UTF-8: a clear message, not mojibake.
        let err = read(b"text\nH\xf5i\n", Format::Csv).unwrap_err();
        assert!(err.to_string().contains("UTF-8"), "{err}");
        // Each language in its own half.
        assert_eq!(
            err.message_vi(),
            "Dòng 2 không phải mã UTF-8; trong Excel chọn Lưu thành (Save As) «CSV UTF-8»"
        );
        assert_eq!(
            err.to_string(),
            "row 2 is not UTF-8; save the file as \"CSV UTF-8\""
        );
    }

    #[test]
    fn template_round_trips_through_the_reader() {
        let event = EventConfig::builtin();
        let bytes = template_xlsx(&event).unwrap();
        assert!(read(&bytes, Format::Xlsx).unwrap().is_empty());
        let csv = template_csv().unwrap();
        assert!(csv.starts_with(super::super::export::BOM));
        assert!(read(&csv, Format::Csv).unwrap().is_empty());
    }

    #[test]
    fn format_is_detected_from_name_or_value() {
        assert_eq!(
            Format::detect(None, Some("Câu hỏi.XLSX")),
            Some(Format::Xlsx)
        );
        assert_eq!(
            Format::detect(Some("csv"), Some("x.xlsx")),
            Some(Format::Csv)
        );
        assert_eq!(Format::detect(None, Some("x.pdf")), None);
    }
}
