//! The draft of the conclusion document (văn bản kết luận) that Home Affairs
//! writes after the dialogue (Youth Law 2020, Art. 10 §3): event details,
//! figures, the questions answered on stage and the table of questions sent
//! to agencies for a written answer.
//!
//! The document is first built as a list of [`Block`]s from the event's
//! current state, then rendered as printable HTML or as DOCX from the same
//! blocks, so both always say the same thing; regenerating after more
//! written answers arrive updates the figures and tables. It never carries
//! personal data: it goes to agencies and the press.

use docx_rs::{
    AlignmentType, Docx, Paragraph, Run, RunFonts, Table as DocxTable, TableCell, TableRow,
    WidthType,
};

use super::{format_date, format_time, source_label, ReportError};
use crate::domain::{QState, Question, Source};
use crate::event::EventConfig;

/// One piece of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Title(String),
    Subtitle(String),
    Heading(String),
    Para(String),
    Table {
        headers: Vec<String>,
        rows: Vec<Vec<String>>,
    },
}

/// The numbers of section II, kept apart so tests and callers can read them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Figures {
    pub received: usize,
    pub by_hall: Vec<(String, usize)>,
    /// Per hall: asked, answered live, answered in writing, rejected.
    pub halls: Vec<super::stats::HallOutcome>,
    pub by_group: Vec<(String, usize)>,
    pub by_source: Vec<(String, usize)>,
    pub answered_on_stage: usize,
    pub deferred: usize,
    /// Agency, questions sent to it, of which answered in writing (sent or published).
    pub deferred_by_agency: Vec<(String, usize, usize)>,
    pub rejected: usize,
    pub merged: usize,
    pub not_reached: usize,
}

pub fn figures(event: &EventConfig, questions: &[Question]) -> Figures {
    let n = |pred: &dyn Fn(&Question) -> bool| questions.iter().filter(|q| pred(q)).count();
    let mut by_agency: Vec<(String, usize, usize)> = Vec::new();
    for q in questions.iter().filter(|q| q.state.is_deferred()) {
        let agency = q
            .followup
            .as_ref()
            .map(|f| f.agency.clone())
            .unwrap_or_default();
        let done = usize::from(matches!(q.state, QState::AnswerSent | QState::Published));
        match by_agency.iter_mut().find(|(a, _, _)| *a == agency) {
            Some(entry) => {
                entry.1 += 1;
                entry.2 += done;
            }
            None => by_agency.push((agency, 1, done)),
        }
    }
    by_agency.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut by_group: Vec<(String, usize)> = event
        .groups
        .iter()
        .map(|g| (g.name.clone(), n(&|q| q.group.as_deref() == Some(&g.id))))
        .collect();
    by_group.push(("Chưa phân nhóm".into(), n(&|q| q.group.is_none())));
    let sources = [
        Source::Import,
        Source::Participant,
        Source::Hall,
        Source::Moderator,
    ];
    Figures {
        received: questions.len(),
        by_hall: event
            .halls
            .iter()
            .map(|h| (h.name.clone(), n(&|q| q.hall == h.id)))
            .collect(),
        halls: super::stats::hall_outcomes(event, questions),
        by_group,
        by_source: sources
            .iter()
            .map(|s| {
                let label = questions
                    .iter()
                    .find(|q| q.source == *s)
                    .map(source_label)
                    .unwrap_or(match s {
                        Source::Import => "Thu thập trước",
                        Source::Participant => "Thanh niên gửi qua điện thoại",
                        Source::Hall => "Điểm cầu nhập tại chỗ",
                        Source::Moderator => "Ban tổ chức nhập",
                    });
                (label.to_string(), n(&|q| q.source == *s))
            })
            .collect(),
        answered_on_stage: n(&|q| q.state == QState::Answered),
        deferred: n(&|q| q.state.is_deferred()),
        deferred_by_agency: by_agency,
        rejected: n(&|q| q.state == QState::Rejected),
        merged: n(&|q| q.state == QState::Merged),
        not_reached: n(&|q| {
            matches!(
                q.state,
                QState::Pending | QState::Approved | QState::Queued | QState::OnAir
            )
        }),
    }
}

fn table(headers: &[&str], rows: Vec<Vec<String>>) -> Block {
    Block::Table {
        headers: headers.iter().map(|h| h.to_string()).collect(),
        rows,
    }
}

/// The whole document, from the event's current state, generated at `now`.
pub fn build(event: &EventConfig, questions: &[Question], now: i64) -> Vec<Block> {
    let f = figures(event, questions);
    let mut out = vec![
        Block::Subtitle("DỰ THẢO".into()),
        Block::Title("VĂN BẢN KẾT LUẬN".into()),
        Block::Subtitle(format!("{} ({})", event.name, format_date(&event.date))),
        Block::Heading("I. THÔNG TIN CHUNG".into()),
        Block::Para(format!("Chủ đề: {}.", event.theme)),
        Block::Para(format!("Thời gian: ngày {}.", format_date(&event.date))),
        Block::Para(format!(
            "Hình thức: trực tiếp tại {} kết hợp trực tuyến với {} điểm cầu.",
            event.halls.first().map(|h| h.name.as_str()).unwrap_or(""),
            event.halls.len().saturating_sub(1)
        )),
        Block::Para(format!(
            "Cơ quan trả lời: {}.",
            event
                .departments
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        )),
        Block::Heading("II. KẾT QUẢ TIẾP NHẬN VÀ TRẢ LỜI CÂU HỎI".into()),
        Block::Para(format!(
            "Tổng số câu hỏi, ý kiến, kiến nghị nhận được: {}.",
            f.received
        )),
        Block::Para(format!(
            "Đã trả lời trực tiếp tại buổi đối thoại: {}.",
            f.answered_on_stage
        )),
        Block::Para(format!(
            "Chuyển cơ quan có thẩm quyền trả lời bằng văn bản: {}.",
            f.deferred
        )),
        Block::Para(format!(
            "Trùng nội dung, đã gộp: {}. Không phù hợp, không tiếp nhận: {}. Chưa xử lý: {}.",
            f.merged, f.rejected, f.not_reached
        )),
        Block::Heading("1. Theo điểm cầu".into()),
        table(
            &[
                "Điểm cầu",
                "Số câu hỏi",
                "Trả lời tại chỗ",
                "Trả lời bằng văn bản",
                "Không tiếp nhận",
            ],
            f.halls
                .iter()
                .map(|h| {
                    vec![
                        h.label.clone(),
                        h.asked.to_string(),
                        h.answered_live.to_string(),
                        h.answered_in_writing.to_string(),
                        h.rejected.to_string(),
                    ]
                })
                .collect(),
        ),
        Block::Heading("2. Theo nhóm vấn đề".into()),
        table(
            &["Nhóm vấn đề", "Số câu hỏi"],
            f.by_group
                .iter()
                .map(|(g, n)| vec![g.clone(), n.to_string()])
                .collect(),
        ),
        Block::Heading("3. Theo nguồn tiếp nhận".into()),
        table(
            &["Nguồn", "Số câu hỏi"],
            f.by_source
                .iter()
                .map(|(s, n)| vec![s.clone(), n.to_string()])
                .collect(),
        ),
        Block::Heading("4. Chuyển trả lời bằng văn bản theo cơ quan".into()),
        table(
            &["Cơ quan", "Số câu hỏi", "Đã trả lời bằng văn bản"],
            f.deferred_by_agency
                .iter()
                .map(|(a, n, done)| vec![a.clone(), n.to_string(), done.to_string()])
                .collect(),
        ),
        Block::Heading("III. CÁC CÂU HỎI ĐÃ TRẢ LỜI TRỰC TIẾP".into()),
    ];
    let mut answered: Vec<&Question> = questions
        .iter()
        .filter(|q| q.state == QState::Answered)
        .collect();
    answered.sort_by_key(|q| (q.answered_at, q.created_at));
    out.push(table(
        &["STT", "Nội dung câu hỏi", "Điểm cầu", "Cơ quan trả lời"],
        answered
            .iter()
            .enumerate()
            .map(|(i, q)| {
                vec![
                    (i + 1).to_string(),
                    q.text.clone(),
                    event.hall_name(&q.hall),
                    q.department
                        .as_deref()
                        .map(|d| event.department_name(d).to_string())
                        .unwrap_or_default(),
                ]
            })
            .collect(),
    ));
    out.push(Block::Heading(
        "IV. CÁC CÂU HỎI CHUYỂN TRẢ LỜI BẰNG VĂN BẢN".into(),
    ));
    let mut deferred: Vec<&Question> = questions.iter().filter(|q| q.state.is_deferred()).collect();
    deferred.sort_by_key(|q| {
        let f = q.followup.as_ref();
        (
            f.map(|f| f.agency.clone()).unwrap_or_default(),
            f.map(|f| f.due.clone()).unwrap_or_default(),
            q.created_at,
        )
    });
    out.push(table(
        &[
            "STT",
            "Nội dung câu hỏi",
            "Điểm cầu",
            "Cơ quan trả lời",
            "Hạn trả lời",
            "Tình trạng",
        ],
        deferred
            .iter()
            .enumerate()
            .map(|(i, q)| {
                let f = q.followup.as_ref();
                vec![
                    (i + 1).to_string(),
                    q.text.clone(),
                    event.hall_name(&q.hall),
                    f.map(|f| f.agency.clone()).unwrap_or_default(),
                    f.map(|f| format_date(&f.due)).unwrap_or_default(),
                    q.state.label_vi().to_string(),
                ]
            })
            .collect(),
    ));
    out.push(Block::Heading("V. KẾT LUẬN".into()));
    out.push(Block::Para(
        "(Sở Nội vụ dự thảo nội dung kết luận của Chủ tịch Ủy ban nhân dân tại đây.)".into(),
    ));
    out.push(Block::Para(format!(
        "Số liệu tổng hợp tự động lúc {} từ hệ thống đối thoại.",
        format_time(now)
    )));
    out
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A printable page. Styles come from `/css/report.css` because the site's
/// content security policy allows no inline style.
pub fn to_html(blocks: &[Block]) -> String {
    let title = blocks
        .iter()
        .find_map(|b| match b {
            Block::Title(t) => Some(t.as_str()),
            _ => None,
        })
        .unwrap_or("Văn bản kết luận");
    let mut out = format!(
        "<!doctype html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n\
         <link rel=\"stylesheet\" href=\"/css/report.css\">\n</head>\n<body>\n<main class=\"report\">\n",
        escape(title)
    );
    for b in blocks {
        match b {
            Block::Title(t) => out.push_str(&format!("<h1>{}</h1>\n", escape(t))),
            Block::Subtitle(t) => {
                out.push_str(&format!("<p class=\"subtitle\">{}</p>\n", escape(t)))
            }
            Block::Heading(t) => out.push_str(&format!("<h2>{}</h2>\n", escape(t))),
            Block::Para(t) => out.push_str(&format!("<p>{}</p>\n", escape(t))),
            Block::Table { headers, rows } => {
                out.push_str("<table>\n<thead><tr>");
                for h in headers {
                    out.push_str(&format!("<th>{}</th>", escape(h)));
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                if rows.is_empty() {
                    out.push_str(&format!(
                        "<tr><td colspan=\"{}\">(không có)</td></tr>\n",
                        headers.len()
                    ));
                }
                for r in rows {
                    out.push_str("<tr>");
                    for c in r {
                        out.push_str(&format!("<td>{}</td>", escape(c)));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody>\n</table>\n");
            }
        }
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// Word document in Times New Roman 13 pt, the usual face of Vietnamese
/// administrative documents (Decree 30/2020/NĐ-CP).
pub fn to_docx(blocks: &[Block]) -> Result<Vec<u8>, ReportError> {
    let font = "Times New Roman";
    let mut doc = Docx::new()
        .default_fonts(
            RunFonts::new()
                .ascii(font)
                .hi_ansi(font)
                .cs(font)
                .east_asia(font),
        )
        .default_size(26);
    let para = |text: &str| Paragraph::new().add_run(Run::new().add_text(text));
    for b in blocks {
        doc = match b {
            Block::Title(t) => doc.add_paragraph(
                Paragraph::new()
                    .align(AlignmentType::Center)
                    .add_run(Run::new().add_text(t).bold().size(30)),
            ),
            Block::Subtitle(t) => doc.add_paragraph(
                Paragraph::new()
                    .align(AlignmentType::Center)
                    .add_run(Run::new().add_text(t).italic()),
            ),
            Block::Heading(t) => {
                doc.add_paragraph(Paragraph::new().add_run(Run::new().add_text(t).bold()))
            }
            Block::Para(t) => doc.add_paragraph(para(t).align(AlignmentType::Both)),
            Block::Table { headers, rows } => {
                let header = TableRow::new(
                    headers
                        .iter()
                        .map(|h| {
                            TableCell::new().add_paragraph(
                                Paragraph::new().add_run(Run::new().add_text(h).bold()),
                            )
                        })
                        .collect(),
                );
                let body = if rows.is_empty() {
                    vec![TableRow::new(vec![TableCell::new()
                        .grid_span(headers.len())
                        .add_paragraph(para("(không có)"))])]
                } else {
                    rows.iter()
                        .map(|r| {
                            TableRow::new(
                                r.iter()
                                    .map(|c| TableCell::new().add_paragraph(para(c)))
                                    .collect(),
                            )
                        })
                        .collect()
                };
                let table = DocxTable::new(std::iter::once(header).chain(body).collect())
                    .width(5000, WidthType::Pct);
                doc.add_table(table).add_paragraph(Paragraph::new())
            }
        };
    }
    let mut out = std::io::Cursor::new(Vec::new());
    doc.build()
        .pack(&mut out)
        .map_err(|e| ReportError::Write(e.to_string()))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FollowUp;
    use crate::reports::export::tests::question;

    fn scenario() -> Vec<Question> {
        let mut answered = question("Vốn vay khởi nghiệp <ưu đãi> & lãi suất?", QState::Answered);
        answered.answered_at = Some(2);
        let mut deferred = question("Đường ống thủy lợi xã Hòa Bình", QState::AnswerSent);
        deferred.hall = "tri-ton".into();
        deferred.followup = Some(FollowUp {
            agency: "Sở Nông nghiệp và Phát triển nông thôn".into(),
            due: "2024-04-25".into(),
            answer: Some("Đã bố trí vốn.".into()),
            drafted_at: None,
            drafted_by: None,
            sent_at: None,
            sent_by: None,
            published_at: None,
            published_by: None,
        });
        vec![
            answered,
            deferred,
            question("Chưa tới lượt", QState::Pending),
        ]
    }

    #[test]
    fn figures_count_what_the_event_holds() {
        let f = figures(&EventConfig::builtin(), &scenario());
        assert_eq!(f.received, 3);
        assert_eq!(f.answered_on_stage, 1);
        assert_eq!(f.deferred, 1);
        assert_eq!(f.not_reached, 1);
        assert_eq!(
            f.deferred_by_agency,
            vec![("Sở Nông nghiệp và Phát triển nông thôn".into(), 1, 1)]
        );
        assert!(f.by_hall.contains(&("H. Tri Tôn".to_string(), 1)));
        let tri_ton = f.halls.iter().find(|h| h.id == "tri-ton").unwrap();
        assert_eq!(
            (
                tri_ton.asked,
                tri_ton.answered_live,
                tri_ton.answered_in_writing,
                tri_ton.rejected
            ),
            (1, 0, 1, 0)
        );
    }

    #[test]
    fn html_is_escaped_and_has_no_personal_data() {
        let html = to_html(&build(&EventConfig::builtin(), &scenario(), 0));
        assert!(html.contains("Vốn vay khởi nghiệp &lt;ưu đãi&gt; &amp; lãi suất?"));
        assert!(html.contains("<td>25/04/2024</td>"));
        assert!(!html.contains("Trần Thị Thủy") && !html.contains("0901234567"));
        assert!(!html.contains("style="));
    }

    #[test]
    fn docx_is_a_zip_with_a_document() {
        let bytes = to_docx(&build(&EventConfig::builtin(), &scenario(), 0)).unwrap();
        assert!(bytes.starts_with(b"PK"));
    }
}
