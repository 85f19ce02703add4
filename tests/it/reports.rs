//! Before and after the live hour, against the real server: importing real
//! CSV and XLSX files, exports read back with calamine, the conclusion DOCX
//! opened and parsed, who may get what, the written follow-up through to the
//! public answers page, and erasing personal data down to the database bytes.

use std::io::Read;
use std::path::Path;

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use unicode_normalization::UnicodeNormalization;

// ------------------------------------------------------------------ helpers

fn bearer(app: &TestApp, slot: &str) -> String {
    format!("Bearer {}", app.token(slot))
}

async fn command(app: &TestApp, slot: &str, cmd: Value) -> (StatusCode, Value) {
    let r = app
        .http()
        .post(format!("{}/api/commands", app.base))
        .header("authorization", bearer(app, slot))
        .json(&cmd)
        .send()
        .await
        .expect("send");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn ok(app: &TestApp, slot: &str, cmd: Value) -> Value {
    let (status, body) = command(app, slot, cmd.clone()).await;
    assert_eq!(status, StatusCode::OK, "{cmd} → {body}");
    body
}

async fn questions(app: &TestApp, slot: &str) -> Vec<Value> {
    let v: Value = app
        .http()
        .get(format!("{}/api/questions", app.base))
        .header("authorization", bearer(app, slot))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    v["questions"].as_array().cloned().unwrap_or_default()
}

async fn question(app: &TestApp, id: &str) -> Value {
    questions(app, "follow_up-1")
        .await
        .into_iter()
        .find(|q| q["id"] == id)
        .unwrap_or_else(|| panic!("no question {id}"))
}

async fn version(app: &TestApp, id: &str) -> u64 {
    question(app, id).await["version"]
        .as_u64()
        .expect("version")
}

async fn get(app: &TestApp, slot: Option<&str>, path: &str) -> reqwest::Response {
    let mut r = app.http().get(format!("{}{path}", app.base));
    if let Some(slot) = slot {
        r = r.header("authorization", bearer(app, slot));
    }
    r.send().await.expect("send")
}

async fn bytes(app: &TestApp, slot: &str, path: &str) -> Vec<u8> {
    let r = get(app, Some(slot), path).await;
    assert_eq!(r.status(), StatusCode::OK, "{path} as {slot}");
    r.bytes().await.expect("body").to_vec()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Upload as a raw body with the file name in the query.
async fn import_raw(
    app: &TestApp,
    slot: &str,
    step: &str,
    filename: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    // A commit names the previewed file by its SHA-256 (required).
    let sha = sha256_hex(&body);
    let mut query = vec![("filename", filename)];
    if step == "commit" {
        query.push(("sha256", sha.as_str()));
    }
    let r = app
        .http()
        .post(format!("{}/api/import/{step}", app.base))
        .query(&query)
        .header("authorization", bearer(app, slot))
        .body(body)
        .send()
        .await
        .expect("send");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Upload as multipart/form-data, the way the console's file input does.
async fn import_multipart(
    app: &TestApp,
    slot: &str,
    step: &str,
    filename: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let sha = sha256_hex(&body);
    let mut form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(body).file_name(filename.to_string()),
    );
    if step == "commit" {
        form = form.text("sha256", sha);
    }
    let r = app
        .http()
        .post(format!("{}/api/import/{step}", app.base))
        .header("authorization", bearer(app, slot))
        .multipart(form)
        .send()
        .await
        .expect("send");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn row(report: &Value, n: u64) -> &Value {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["row"] == n)
        .unwrap_or_else(|| panic!("no row {n} in {report}"))
}

fn reason(report: &Value, n: u64) -> String {
    let r = row(report, n);
    assert_eq!(r["status"], "rejected", "row {n}: {r}");
    let reason = &r["reasons"][0];
    assert!(
        !reason["message"].as_str().unwrap_or_default().is_empty(),
        "Vietnamese reason"
    );
    assert!(
        !reason["message_en"].as_str().unwrap_or_default().is_empty(),
        "English reason"
    );
    reason["code"].as_str().unwrap_or_default().to_string()
}

fn xlsx_rows(bytes: &[u8], sheet: usize) -> Vec<Vec<String>> {
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    let range = book
        .worksheet_range_at(sheet)
        .expect("sheet")
        .expect("range");
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

fn sheet_names(bytes: &[u8]) -> Vec<String> {
    use calamine::{Reader, Xlsx};
    let book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    book.sheet_names()
}

/// Rows of the DOCX's tables, each a list of cell texts, plus all paragraph text.
fn docx_content(bytes: &[u8]) -> (String, Vec<Vec<String>>) {
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("docx is a zip");
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .expect("word/document.xml")
        .read_to_string(&mut xml)
        .expect("utf-8 xml");
    let texts = |s: &str| -> String {
        let mut out = String::new();
        for part in s.split("<w:t").skip(1) {
            // `<w:t xml:space="preserve">text</w:t>` or `<w:tc>`/`<w:tbl>`: only real text runs.
            let Some(rest) = part.strip_prefix('>').or_else(|| {
                part.strip_prefix(' ')
                    .and_then(|p| p.split_once('>').map(|x| x.1))
            }) else {
                continue;
            };
            if let Some((t, _)) = rest.split_once("</w:t>") {
                out.push_str(t);
            }
        }
        out.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
    };
    let rows = xml
        .split("<w:tr>")
        .skip(1)
        .map(|tr| {
            let tr = tr.split("</w:tr>").next().unwrap_or_default();
            tr.split("<w:tc>").skip(1).map(texts).collect()
        })
        .collect();
    (texts(&xml), rows)
}

fn file_contains(dir: &Path, needle: &[u8]) -> bool {
    ["doithoai.db", "doithoai.db-wal"].iter().any(|f| {
        std::fs::read(dir.join(f))
            .map(|b| b.windows(needle.len()).any(|w| w == needle))
            .unwrap_or(false)
    })
}

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_doithoai"))
        .args(args)
        .env_remove("DOITHOAI_DATABASE_URL")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the doithoai binary")
}

// ------------------------------------------------------------------ import

const CSV_HEADER: &str = "Nội dung câu hỏi (text),Điểm cầu (hall),Nhóm vấn đề (issue group),Đơn vị thu thập (collected by),Họ tên người hỏi (name),Tuổi (age),\"Trường, nơi làm việc (organization)\",Số điện thoại (phone),Đồng ý lưu thông tin (consent)";

fn sample_csv() -> Vec<u8> {
    // Row 3 arrives decomposed (NFD), as some keyboards and Macs send it.
    let decomposed: String = "Mô hình nuôi cá đồng của hợp tác xã thuỷ sản được hỗ trợ gì?"
        .nfd()
        .collect();
    let long = "Đ".repeat(2001);
    let lines = [
        CSV_HEADER.to_string(),
        "Thanh niên hòa nhập cộng đồng có được vay vốn khởi nghiệp không?,Chợ Mới,\"Khởi nghiệp, đổi mới sáng tạo, vốn vay\",Huyện đoàn Chợ Mới,,,,,".into(),
        format!("{decomposed},H. Tri Tôn,mo-hinh-san-xuat,Huyện đoàn Tri Tôn,,,,,"),
        ",tinh,,,,,,,".into(),
        "Hỏi về đường điện,Hà Nội,,Tỉnh đoàn,,,,,".into(),
        "Xin hỏi về học bổng,tinh,viec-lam,Tỉnh đoàn,Trần Văn Ơn,19,,0911222333,".into(),
        "Chính sách việc làm cho thanh niên xuất ngũ?,tri-ton,viec-lam,Huyện đoàn Tri Tôn,Nguyễn Thị Đường Ươm,23,\"Trường ĐH An Giang\",0912 345 678,có".into(),
        format!("{long},tinh,,,,,,,"),
        "Câu hỏi thể thao,tinh,Thể thao,,,,,,".into(),
    ];
    let mut out = b"\xEF\xBB\xBF".to_vec();
    out.extend(lines.join("\r\n").into_bytes());
    out.extend(b"\r\n");
    out
}

fn sample_xlsx() -> Vec<u8> {
    use rust_xlsxwriter::Workbook;
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let header = [
        "text",
        "hall",
        "group",
        "collected by",
        "name",
        "age",
        "organization",
        "phone",
        "consent",
    ];
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    let rows: [[&str; 9]; 4] = [
        // Same question as CSV row 2, new tone placement (hoà): already there.
        [
            "Thanh niên hoà nhập cộng đồng có được vay vốn khởi nghiệp không?",
            "cho-moi",
            "khoi-nghiep",
            "Huyện đoàn Chợ Mới",
            "",
            "",
            "",
            "",
            "",
        ],
        [
            "Quy hoạch vùng nuôi thủy sản ở Tân Châu ra sao?",
            "TX. Tân Châu",
            "Mô hình sản xuất, kinh doanh (nông nghiệp, hợp tác xã, nông sản)",
            "Thị đoàn Tân Châu",
            "",
            "",
            "",
            "",
            "",
        ],
        ["Tuổi sai", "tinh", "", "", "Lê Ư", "abc", "", "", "có"],
        [
            "Hỗ trợ ươm tạo doanh nghiệp đổi mới sáng tạo",
            "tinh",
            "khoi-nghiep",
            "Tỉnh đoàn",
            "Võ Thị Thuỷ",
            "",
            "Công ty Đồng Xanh",
            "",
            "có",
        ],
    ];
    for (r, cells) in rows.iter().enumerate() {
        for (c, v) in cells.iter().enumerate() {
            if !v.is_empty() {
                sheet.write_string(r as u32 + 1, c as u16, *v).unwrap();
            }
        }
    }
    // A phone typed as a number loses its leading zero in Excel.
    sheet.write_number(4, 7, 912_345_679.0).unwrap();
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn csv_and_xlsx_import_report_rows_and_never_add_twice() {
    let app = spawn_app().await;

    let (status, preview) = import_multipart(
        &app,
        "moderator-1",
        "preview",
        "cau-hoi-cho-moi.csv",
        sample_csv(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["committed"], false);
    assert_eq!(preview["summary"]["rows"], 8);
    assert_eq!(preview["summary"]["new"], 3);
    assert_eq!(row(&preview, 2)["status"], "new");
    assert_eq!(reason(&preview, 4), "empty_text");
    assert_eq!(reason(&preview, 5), "unknown_hall");
    assert_eq!(reason(&preview, 6), "consent_required");
    assert_eq!(reason(&preview, 8), "text_too_long");
    assert_eq!(reason(&preview, 9), "unknown_group");
    assert!(
        questions(&app, "moderator-1").await.is_empty(),
        "nothing imported before accepting"
    );

    let (status, done) = import_raw(
        &app,
        "moderator-1",
        "commit",
        "cau-hoi-cho-moi.csv",
        sample_csv(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["summary"]["imported"], 3);
    assert_eq!(done["summary"]["rejected"], 5);

    let all = questions(&app, "follow_up-1").await;
    assert_eq!(all.len(), 3);
    let first = question(&app, row(&done, 2)["id"].as_str().unwrap()).await;
    assert_eq!(
        first["text"],
        "Thanh niên hòa nhập cộng đồng có được vay vốn khởi nghiệp không?"
    );
    assert_eq!(first["hall"], "cho-moi");
    assert_eq!(first["group"], "khoi-nghiep");
    assert_eq!(first["source"], "import");
    assert_eq!(first["source_note"], "thu thập trước: Huyện đoàn Chợ Mới");
    assert_eq!(first["state"], "pending");
    let nfc = question(&app, row(&done, 3)["id"].as_str().unwrap()).await;
    let expected = "Mô hình nuôi cá đồng của hợp tác xã thuỷ sản được hỗ trợ gì?";
    assert_eq!(nfc["text"].as_str().unwrap(), expected);
    assert_eq!(nfc["hall"], "tri-ton");
    let with_person = question(&app, row(&done, 7)["id"].as_str().unwrap()).await;
    assert_eq!(with_person["questioner"]["name"], "Nguyễn Thị Đường Ươm");
    assert_eq!(with_person["questioner"]["age"], 23);
    assert_eq!(
        with_person["questioner"]["organization"],
        "Trường ĐH An Giang"
    );
    assert_eq!(with_person["questioner"]["phone"], "0912 345 678");
    assert!(
        with_person.get("display_name").is_none(),
        "imports never consent to showing a name"
    );

    // The same file again, previewed and committed: every valid row is already there.
    let (_, again) = import_raw(
        &app,
        "moderator-2",
        "preview",
        "cau-hoi-cho-moi.csv",
        sample_csv(),
    )
    .await;
    assert_eq!(again["summary"]["new"], 0);
    assert_eq!(again["summary"]["already_imported"], 3);
    let (_, again) = import_multipart(&app, "admin", "commit", "lan-2.csv", sample_csv()).await;
    assert_eq!(again["summary"]["imported"], 0);
    assert_eq!(questions(&app, "moderator-1").await.len(), 3);

    // XLSX: the tone-placement variant of an imported row is recognised; bad age reported.
    // One copy of the file: the workbook records its creation time, so two
    // builds a second apart have different SHA-256s.
    let xlsx = sample_xlsx();
    let (status, x) = import_multipart(
        &app,
        "moderator-1",
        "preview",
        "Tân Châu.xlsx",
        xlsx.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{x}");
    assert_eq!(x["format"], "xlsx");
    assert_eq!(row(&x, 2)["status"], "already_imported");
    assert_eq!(row(&x, 2)["id"], row(&done, 2)["id"]);
    assert_eq!(row(&x, 3)["status"], "new");
    assert_eq!(row(&x, 3)["hall"], "tan-chau");
    assert_eq!(row(&x, 3)["group"], "mo-hinh-san-xuat");
    assert_eq!(reason(&x, 4), "invalid_age");
    assert_eq!(row(&x, 5)["status"], "new");
    let sha = x["sha256"].as_str().unwrap().to_string();

    // Committing another file than the one previewed is refused.
    let r = app
        .http()
        .post(format!("{}/api/import/commit", app.base))
        .query(&[("filename", "x.csv"), ("sha256", sha.as_str())])
        .header("authorization", bearer(&app, "moderator-1"))
        .body(sample_csv())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);

    let r = app
        .http()
        .post(format!("{}/api/import/commit", app.base))
        .query(&[("filename", "Tân Châu.xlsx"), ("sha256", sha.as_str())])
        .header("authorization", bearer(&app, "moderator-1"))
        .body(xlsx)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let x: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{x}");
    assert_eq!(x["summary"]["imported"], 2);
    let thuy = question(&app, row(&x, 5)["id"].as_str().unwrap()).await;
    assert_eq!(thuy["questioner"]["name"], "Võ Thị Thuỷ");
    assert_eq!(
        thuy["questioner"]["phone"], "0912345679",
        "leading zero restored"
    );
    assert_eq!(thuy["source_note"], "thu thập trước: Tỉnh đoàn");
    let (_, x2) = import_raw(
        &app,
        "moderator-1",
        "commit",
        "Tân Châu.xlsx",
        sample_xlsx(),
    )
    .await;
    assert_eq!(x2["summary"]["imported"], 0);
    assert_eq!(questions(&app, "moderator-1").await.len(), 5);

    // Only moderators and the admin import; a follow-up officer may not.
    let (status, _) = import_raw(&app, "follow_up-1", "preview", "a.csv", sample_csv()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A file that is neither CSV nor XLSX is refused with a reason.
    let (status, body) =
        import_raw(&app, "moderator-1", "preview", "a.pdf", b"%PDF".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "unsupported_format");
    app.stop().await;
}

#[tokio::test]
async fn templates_download_and_read_back() {
    let app = spawn_app().await;
    let r = get(&app, None, "/api/import/template.xlsx").await;
    assert_eq!(r.status(), StatusCode::OK);
    let xlsx = r.bytes().await.unwrap().to_vec();
    let rows = xlsx_rows(&xlsx, 0);
    assert_eq!(rows[0][0], "Nội dung câu hỏi (text)");
    assert_eq!(rows[0][8], "Đồng ý lưu thông tin (consent)");
    let help = xlsx_rows(&xlsx, 1);
    assert!(help
        .iter()
        .any(|r| r.first().map(String::as_str) == Some("cho-moi") && r[1] == "H. Chợ Mới"));
    let csv = get(&app, None, "/api/import/template.csv")
        .await
        .bytes()
        .await
        .unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    assert!(String::from_utf8_lossy(&csv).contains("Điểm cầu (hall)"));
    app.stop().await;
}

#[tokio::test]
async fn cli_import_reports_and_imports_only_when_accepted() {
    let app = spawn_app().await;
    let dir = app.data_dir.clone();
    let temp = app.stop().await;
    let file = dir.join("truoc.csv");
    std::fs::write(&file, sample_csv()).unwrap();
    let data = dir.to_str().unwrap();
    let path = file.to_str().unwrap();

    // Without --yes and without a terminal to ask on: the report, then a
    // refusal that says why (cli.rs tests the wording).
    let out = cli(&["import", "--data-dir", data, "--event", EVENT, path]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout} {stderr}");
    assert!(stdout.contains("dòng/row     4"), "{stdout}");
    assert!(
        stdout.contains("Nội dung câu hỏi đang trống / question text is empty"),
        "{stdout}"
    );
    assert!(stderr.contains("nothing imported"), "{stderr}");

    let out = cli(&[
        "import",
        "--data-dir",
        data,
        "--event",
        EVENT,
        path,
        "--yes",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("imported 3"), "{stdout}");
    let out = cli(&[
        "import",
        "--data-dir",
        data,
        "--event",
        EVENT,
        path,
        "--yes",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("nothing new to import"), "{stdout}");

    let app = spawn_app_in(&dir).await;
    let all = questions(&app, "moderator-1").await;
    assert_eq!(all.len(), 3);
    assert!(all
        .iter()
        .all(|q| q["source"] == "import" && q["submitted_by"] == "admin:cli-import"));
    app.stop().await;
    drop(temp);
}

// ------------------------------------------------------------------ scenario

pub(crate) struct Scenario {
    answered: Vec<String>,
    deferred: Vec<String>,
    participant: String,
}

/// A small live hour: questions from phones, halls and moderators; some
/// answered on stage, some deferred to agencies, one rejected, one left pending.
pub(crate) async fn live_hour(app: &TestApp) -> Scenario {
    let mut m = app.staff("moderator-1").await;
    let mut op = app.staff("hall_operator:cho-moi").await;
    let r: Value = app
        .http()
        .post(format!("{}/api/events/{EVENT}/questions", app.base))
        .json(&json!({
            "id": uuid::Uuid::new_v4(),
            "text": "Thanh niên nông thôn được hỗ trợ đào tạo nghề thế nào?",
            "hall": "phu-tan",
            "questioner": {"name": "Lê Văn Thuỷ", "age": 21, "organization": "Trường Cao đẳng nghề", "phone": "0987654321"},
            "consent": true,
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let participant = r["id"].as_str().unwrap().to_string();
    let texts = [
        ("Vốn vay ưu đãi cho thanh niên khởi nghiệp?", "tinh", "khdt"),
        (
            "Đường vào khu công nghiệp Bình Hòa bao giờ xong?",
            "chau-thanh",
            "ubnd",
        ),
        ("Bệnh viện huyện thiếu bác sĩ trẻ", "an-phu", "ubnd"),
        (
            "Trợ giúp pháp lý cho hợp tác xã thanh niên",
            "tinh",
            "tinh-doan",
        ),
        ("Câu hỏi không phù hợp", "tinh", "ubnd"),
        ("Còn chờ duyệt", "tinh", "ubnd"),
    ];
    let mut ids = vec![participant.clone()];
    for (text, hall, _) in texts {
        let (id, cmd) = submit(text, hall);
        m.ok(cmd).await;
        ids.push(id);
    }
    let (op_id, cmd) = submit("Điểm cầu Chợ Mới hỏi về thủy lợi", "cho-moi");
    op.ok(cmd).await;
    ids.push(op_id.clone());
    // Approve and route all but the last moderator question (left pending).
    let routes = [
        (&participant, "ldtbxh"),
        (&ids[1], "khdt"),
        (&ids[2], "ubnd"),
        (&ids[3], "ubnd"),
        (&ids[4], "tinh-doan"),
        (&op_id, "nnptnt"),
    ];
    for (id, dept) in routes {
        ok(
            app,
            "moderator-1",
            json!({"type":"approve","question":id,"version":1}),
        )
        .await;
        ok(
            app,
            "moderator-1",
            json!({"type":"assign","question":id,"version":2,"department":dept}),
        )
        .await;
    }
    ok(
        app,
        "moderator-2",
        json!({"type":"reject","question":ids[5],"version":1,"reason":"Không thuộc chủ đề"}),
    )
    .await;
    // On air and answered on stage: the participant's question and the loan question.
    for id in [&participant, &ids[1]] {
        m.ok(json!({"type":"put_on_air","question":id,"version":3}))
            .await;
        m.ok(json!({"type":"mark_answered","question":id,"version":4}))
            .await;
    }
    // Deferred: road and hospital to agencies, legal aid by its speaker, and the hall's question.
    ok(app, "moderator-1", json!({"type":"defer","question":ids[2],"version":3,"agency":"Sở Giao thông vận tải","due":"2024-04-25"})).await;
    ok(
        app,
        "moderator-1",
        json!({"type":"defer","question":ids[3],"version":3,"agency":"Sở Y tế","due":"2024-04-20"}),
    )
    .await;
    ok(
        app,
        "speaker:tinh-doan",
        json!({"type":"defer","question":ids[4],"version":3}),
    )
    .await;
    ok(
        app,
        "moderator-1",
        json!({"type":"defer","question":op_id,"version":3,"agency":"Sở Y tế","due":"2099-01-01"}),
    )
    .await;
    m.close().await;
    op.close().await;
    Scenario {
        answered: vec![participant.clone(), ids[1].clone()],
        deferred: vec![ids[2].clone(), ids[3].clone(), ids[4].clone(), op_id],
        participant,
    }
}

#[tokio::test]
async fn conclusion_docx_and_exports_match_the_store() {
    let app = spawn_app().await;
    let s = live_hour(&app).await;
    let all = questions(&app, "follow_up-1").await;
    assert_eq!(all.len(), 8);

    // DOCX: figures and the deferred table come from the store.
    let docx = bytes(&app, "follow_up-1", "/api/reports/conclusion.docx").await;
    let (text, rows) = docx_content(&docx);
    assert!(text.contains("VĂN BẢN KẾT LUẬN"), "{text}");
    assert!(text.contains("Thanh niên An Giang sáng tạo khởi nghiệp, lập nghiệp"));
    assert!(
        text.contains("Tổng số câu hỏi, ý kiến, kiến nghị nhận được: 8."),
        "{text}"
    );
    assert!(text.contains("Đã trả lời trực tiếp tại buổi đối thoại: 2."));
    assert!(text.contains("Chuyển cơ quan có thẩm quyền trả lời bằng văn bản: 4."));
    assert!(
        text.contains("không tiếp nhận: 1. Chưa xử lý: 1."),
        "{text}"
    );
    assert!(
        !text.contains("Lê Văn Thuỷ") && !text.contains("0987654321"),
        "no personal data"
    );
    // By hall: asked, answered live, in writing, rejected.
    assert!(
        rows.iter()
            .any(|r| r.len() == 5 && r[0] == "H. Phú Tân" && r[1] == "1"),
        "{rows:?}"
    );
    assert!(rows.contains(&vec![
        "Sở Y tế".to_string(),
        "2".to_string(),
        "0".to_string()
    ]));
    // Section III: answered on stage, with the department.
    assert!(rows.iter().any(|r| r.len() == 4
        && r[1] == "Thanh niên nông thôn được hỗ trợ đào tạo nghề thế nào?"
        && r[3] == "Sở Lao động, Thương binh và Xã hội"));
    // Section IV: exactly the deferred questions, with agency and due date.
    let deferred_rows: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r.len() == 6 && r[0] != "STT")
        .collect();
    assert_eq!(deferred_rows.len(), s.deferred.len());
    for id in &s.deferred {
        let q = all.iter().find(|q| q["id"] == id.as_str()).unwrap();
        let due = q["followup"]["due"].as_str().unwrap();
        let (y, rest) = due.split_once('-').unwrap();
        let (mo, d) = rest.split_once('-').unwrap();
        let expected = vec![
            q["text"].as_str().unwrap().to_string(),
            q["followup"]["agency"].as_str().unwrap().to_string(),
            format!("{d}/{mo}/{y}"),
        ];
        assert!(
            deferred_rows
                .iter()
                .any(|r| r[1] == expected[0] && r[3] == expected[1] && r[4] == expected[2]),
            "{expected:?} in {deferred_rows:?}"
        );
    }
    assert!(
        deferred_rows.iter().any(|r| r[3] == "Tỉnh đoàn"),
        "a speaker's own deferral names its department"
    );

    // Regenerating after a written answer updates the figures.
    let id = &s.deferred[1];
    let v = version(&app, id).await;
    ok(&app, "follow_up-1", json!({"type":"update_follow_up","question":id,"version":v,"answer":"Sở Y tế đã bổ sung 5 bác sĩ."})).await;
    ok(
        &app,
        "follow_up-1",
        json!({"type":"mark_sent","question":id,"version":v + 1}),
    )
    .await;
    let (_, rows) = docx_content(&bytes(&app, "chair", "/api/reports/conclusion.docx").await);
    assert!(rows.contains(&vec![
        "Sở Y tế".to_string(),
        "2".to_string(),
        "1".to_string()
    ]));

    let html = String::from_utf8(bytes(&app, "moderator-1", "/api/reports/conclusion.html").await)
        .unwrap();
    assert!(html.contains("nhận được: 8.") && html.contains("/css/report.css"));

    // questions.xlsx for the follow-up officer: personal data and history, Vietnamese intact.
    let xlsx = bytes(&app, "follow_up-1", "/api/exports/questions.xlsx").await;
    let rows = xlsx_rows(&xlsx, 0);
    assert_eq!(rows.len(), 9);
    let header = &rows[0];
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{name} in {header:?}"))
    };
    let p = rows
        .iter()
        .find(|r| r[0] == s.participant)
        .expect("participant row");
    assert_eq!(
        p[col("Nội dung (text)")],
        "Thanh niên nông thôn được hỗ trợ đào tạo nghề thế nào?"
    );
    assert_eq!(p[col("Họ tên (name)")], "Lê Văn Thuỷ");
    assert_eq!(p[col("Điện thoại (phone)")], "0987654321");
    assert_eq!(p[col("Điểm cầu (hall)")], "H. Phú Tân");
    assert_eq!(p[col("Trạng thái (state)")], "Đã trả lời tại chỗ");
    let history = &p[col("Lịch sử (history)")];
    assert!(
        history.contains("participant submit:  → pending"),
        "{history}"
    );
    assert!(
        history.contains("moderator-1 mark_answered: on_air → answered"),
        "{history}"
    );

    // The same export for a moderator has no personal-data columns or values.
    let xlsx = bytes(&app, "moderator-1", "/api/exports/questions.xlsx").await;
    let rows = xlsx_rows(&xlsx, 0);
    assert!(!rows[0].iter().any(|h| h == "Họ tên (name)"));
    assert!(!rows
        .iter()
        .flatten()
        .any(|c| c.contains("Lê Văn Thuỷ") || c.contains("0987654321")));

    // CSV: BOM, Vietnamese, personal data only for follow-up.
    let csv = bytes(&app, "follow_up-1", "/api/exports/questions.csv").await;
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    let csv_text = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert!(csv_text.contains("Đường vào khu công nghiệp Bình Hòa bao giờ xong?"));
    assert!(csv_text.contains("Lê Văn Thuỷ"));
    let csv = String::from_utf8(bytes(&app, "chair", "/api/exports/questions.csv").await).unwrap();
    assert!(!csv.contains("Lê Văn Thuỷ"));

    // Per-agency list: one sheet per agency, or one agency only.
    let xlsx = bytes(&app, "follow_up-1", "/api/exports/deferred.xlsx").await;
    let mut names = sheet_names(&xlsx);
    names.sort();
    assert_eq!(names, vec!["Sở Giao thông vận tải", "Sở Y tế", "Tỉnh đoàn"]);
    let one = bytes(
        &app,
        "follow_up-1",
        "/api/exports/deferred.xlsx?agency=S%E1%BB%9F%20Y%20t%E1%BA%BF",
    )
    .await;
    assert_eq!(sheet_names(&one), vec!["Sở Y tế"]);
    let rows = xlsx_rows(&one, 0);
    assert_eq!(rows.len(), 3);
    // Past its due date but already sent: not overdue. Due in 2099: not overdue.
    assert!(rows
        .iter()
        .any(|r| r[1] == "Bệnh viện huyện thiếu bác sĩ trẻ"
            && r[5].is_empty()
            && r[6] == "Đã gửi trả lời"));
    assert!(rows
        .iter()
        .any(|r| r[1] == "Điểm cầu Chợ Mới hỏi về thủy lợi" && r[5].is_empty()));
    assert_eq!(
        rows[0][9], "Họ tên (name)",
        "the follow-up officer's list carries contact details"
    );
    let roads = names
        .iter()
        .position(|n| n == "Sở Giao thông vận tải")
        .unwrap();
    let roads = xlsx_rows(
        &xlsx,
        sheet_names(&xlsx)
            .iter()
            .position(|n| *n == names[roads])
            .unwrap(),
    );
    assert_eq!(
        roads[1][1],
        "Đường vào khu công nghiệp Bình Hòa bao giờ xong?"
    );
    assert_eq!(roads[1][4], "25/04/2024");
    assert_eq!(roads[1][5], "quá hạn");
    let moderator_list = bytes(&app, "moderator-1", "/api/exports/deferred.xlsx").await;
    assert!(!xlsx_rows(&moderator_list, 0)[0]
        .iter()
        .any(|h| h == "Họ tên (name)"));

    // Audit: one line per transition, matching the questions' versions.
    let audit =
        String::from_utf8(bytes(&app, "admin", "/api/exports/audit.csv").await[3..].to_vec())
            .unwrap();
    let mut reader = csv::Reader::from_reader(audit.as_bytes());
    let lines: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let versions: u64 = questions(&app, "admin")
        .await
        .iter()
        .map(|q| q["version"].as_u64().unwrap())
        .sum();
    assert_eq!(
        lines.len() as u64,
        versions,
        "every version of every question has its transition"
    );
    assert!(lines.iter().any(|l| &l[4] == "moderator-2"
        && &l[5] == "reject"
        && &l[7] == "pending"
        && &l[8] == "rejected"));
    assert!(!audit.contains("Lê Văn Thuỷ"));

    // Statistics for the charts.
    let stats: Value = get(&app, Some("chair"), "/api/stats")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stats["total"], 8);
    assert_eq!(stats["answered_on_stage"], 2);
    assert_eq!(stats["deferred"], 4);
    let hall = |id: &str| {
        stats["by_hall"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()["count"]
            .clone()
    };
    assert_eq!(hall("tinh"), 4);
    assert_eq!(hall("cho-moi"), 1);
    let timeline: u64 = stats["timeline"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["submitted"].as_u64().unwrap())
        .sum();
    assert_eq!(timeline, 8);
    assert_eq!(stats["followup"][0]["agency"], "Sở Y tế");
    assert_eq!(stats["followup"][0]["answer_sent"], 1);
    let _ = s.answered;
    app.stop().await;
}

// ------------------------------------------------------------------ permissions

#[tokio::test]
async fn only_staff_with_a_reason_get_exports_and_personal_data() {
    let app = spawn_app().await;
    let s = live_hour(&app).await;
    let endpoints = [
        "/api/exports/questions.csv",
        "/api/exports/questions.xlsx",
        "/api/exports/deferred.xlsx",
        "/api/exports/audit.csv",
        "/api/reports/conclusion.docx",
        "/api/reports/conclusion.html",
        "/api/stats",
        "/api/followup/history",
    ];
    for path in endpoints {
        for slot in [
            "speaker:ldtbxh",
            "hall_operator:phu-tan",
            "display:tinh",
            "display:all",
        ] {
            assert_eq!(
                get(&app, Some(slot), path).await.status(),
                StatusCode::FORBIDDEN,
                "{path} as {slot}"
            );
        }
        assert_eq!(
            get(&app, None, path).await.status(),
            StatusCode::UNAUTHORIZED,
            "{path} without token"
        );
        for slot in ["follow_up-1", "admin", "moderator-3", "chair"] {
            assert_eq!(
                get(&app, Some(slot), path).await.status(),
                StatusCode::OK,
                "{path} as {slot}"
            );
        }
    }
    for slot in [
        "speaker:ldtbxh",
        "hall_operator:phu-tan",
        "display:tinh",
        "chair",
        "follow_up-2",
    ] {
        let (status, _) = import_raw(&app, slot, "preview", "a.csv", sample_csv()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "import as {slot}");
    }
    let r = app
        .http()
        .post(format!("{}/api/import/preview?filename=a.csv", app.base))
        .body(sample_csv())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Personal data: the speaker and the hall operator of the asker's own hall see the question, not the person.
    for slot in ["speaker:ldtbxh", "hall_operator:phu-tan", "chair"] {
        let qs = questions(&app, slot).await;
        assert!(
            qs.iter().any(|q| q["id"] == s.participant.as_str()),
            "{slot} sees the question"
        );
        let raw = serde_json::to_string(&qs).unwrap();
        assert!(
            !raw.contains("Lê Văn Thuỷ") && !raw.contains("0987654321"),
            "{slot} sees no personal data"
        );
    }
    let r = get(&app, None, "/api/questions").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Follow-up actions are refused to everyone outside follow-up, moderation and admin.
    let id = &s.deferred[0];
    let v = version(&app, id).await;
    for slot in [
        "speaker:ubnd",
        "hall_operator:chau-thanh",
        "display:tinh",
        "chair",
    ] {
        for cmd in [
            json!({"type":"update_follow_up","question":id,"version":v,"answer":"x"}),
            json!({"type":"update_follow_up","question":id,"version":v,"due":"2030-01-01"}),
        ] {
            let (status, body) = command(&app, slot, cmd).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{slot}: {body}");
        }
    }
    let r = app
        .http()
        .post(format!("{}/api/commands", app.base))
        .json(&json!({"type":"mark_sent","question":id,"version":v}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Erasing is for the admin only.
    for slot in ["follow_up-1", "moderator-1", "chair", "speaker:ubnd"] {
        let r = app
            .http()
            .post(format!("{}/api/admin/erase-personal-data", app.base))
            .header("authorization", bearer(&app, slot))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{slot}");
    }
    app.stop().await;
}

// ------------------------------------------------------------------ follow-up

#[tokio::test]
async fn written_answer_reaches_receipt_and_public_answers_page() {
    let app = spawn_app().await;
    let submit_as = |name: &str, show: bool| {
        json!({
            "id": uuid::Uuid::new_v4(),
            "text": format!("Câu hỏi của {name} về thủy lợi và hoà giải?"),
            "hall": "thoai-son",
            "questioner": {"name": name, "phone": "0977000111", "show_name": show},
            "consent": true,
        })
    };
    let mut receipts = Vec::new();
    for (name, show) in [("Đặng Thị Ửng", false), ("Phan Văn Ơn", true)] {
        let r: Value = app
            .http()
            .post(format!("{}/api/events/{EVENT}/questions", app.base))
            .json(&submit_as(name, show))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        receipts.push((
            r["id"].as_str().unwrap().to_string(),
            r["receipt"].as_str().unwrap().to_string(),
        ));
    }
    for (id, _) in &receipts {
        ok(
            &app,
            "moderator-1",
            json!({"type":"approve","question":id,"version":1}),
        )
        .await;
        ok(&app, "moderator-1", json!({"type":"defer","question":id,"version":2,"agency":"Sở Tư pháp","due":"2024-04-30"})).await;
        let q = question(&app, id).await;
        assert_eq!(q["state"], "deferred");
        ok(
            &app,
            "follow_up-1",
            json!({"type":"update_follow_up","question":id,"version":3,"due":"2024-05-15"}),
        )
        .await;
        ok(
            &app,
            "follow_up-1",
            json!({"type":"update_follow_up","question":id,"version":4,"answer":"Sở Tư pháp trả lời: thủ tục hòa giải ở cơ sở được hướng dẫn tại UBND xã."}),
        )
        .await;
        let q = question(&app, id).await;
        assert_eq!(q["state"], "answer_drafted");
        assert_eq!(q["followup"]["due"], "2024-05-15");
        assert_eq!(q["followup"]["drafted_by"], "follow_up-1");
        // Not public before publishing.
        let receipt: Value = get(
            &app,
            None,
            &format!("/api/receipts/{id}?r={}", receipts[0].1),
        )
        .await
        .json()
        .await
        .unwrap_or(Value::Null);
        assert!(receipt.get("answer").is_none_or(|a| a.is_null()));
        ok(
            &app,
            "follow_up-2",
            json!({"type":"mark_sent","question":id,"version":5}),
        )
        .await;
        ok(
            &app,
            "follow_up-1",
            json!({"type":"publish","question":id,"version":6}),
        )
        .await;
        let q = question(&app, id).await;
        assert_eq!(q["state"], "published");
        assert_eq!(q["followup"]["sent_by"], "follow_up-2");
        assert_eq!(q["followup"]["published_by"], "follow_up-1");
    }
    // Who did each follow-up step and when, for the page.
    let (id, _) = &receipts[1];
    let h: Value = get(&app, Some("follow_up-2"), "/api/followup/history")
        .await
        .json()
        .await
        .unwrap();
    let steps: Vec<(String, String)> = h["history"][id.as_str()]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["action"].as_str().unwrap().to_string(),
                t["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("defer", "moderator-1"),
        ("update_follow_up", "follow_up-1"),
        ("update_follow_up", "follow_up-1"),
        ("mark_sent", "follow_up-2"),
        ("publish", "follow_up-1"),
    ];
    assert_eq!(
        steps,
        expected
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .to_vec()
    );
    let (id, r) = &receipts[0];
    let receipt: Value = get(&app, None, &format!("/api/receipts/{id}?r={r}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(receipt["state"], "published");
    assert_eq!(
        receipt["answer"],
        "Sở Tư pháp trả lời: thủ tục hòa giải ở cơ sở được hướng dẫn tại UBND xã."
    );

    let r = get(&app, None, &format!("/api/events/{EVENT}/answers")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page: Value = r.json().await.unwrap();
    let answers = page["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 2);
    let raw = serde_json::to_string(&page).unwrap();
    assert!(!raw.contains("0977000111"), "no phone on the public page");
    assert!(
        !raw.contains("Đặng Thị Ửng\""),
        "no name without consent to show it"
    );
    assert!(
        raw.contains("\"display_name\":\"Phan Văn Ơn\""),
        "name shown where the asker agreed"
    );
    assert!(answers
        .iter()
        .all(|a| a["hall"] == "H. Thoại Sơn" && a["agency"] == "Sở Tư pháp"));
    assert!(get(&app, None, "/answers.html").await.status().is_success());
    assert!(get(&app, None, "/followup.html")
        .await
        .status()
        .is_success());
    assert!(get(&app, None, "/stats.html").await.status().is_success());
    assert!(get(&app, None, "/import.html").await.status().is_success());
    app.stop().await;
}

// ------------------------------------------------------------------ erasing

const NAME: &str = "Quách Thị Zerasê";
const PHONE: &str = "0999888777";

async fn asker_with_personal_data(app: &TestApp) -> String {
    let r: Value = app
        .http()
        .post(format!("{}/api/events/{EVENT}/questions", app.base))
        .json(&json!({
            "id": uuid::Uuid::new_v4(),
            "text": "Hỏi về việc làm sau khi tốt nghiệp",
            "hall": "tinh",
            "questioner": {"name": NAME, "phone": PHONE, "organization": "Trường THPT Thoại Ngọc Hầu"},
            "consent": true,
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = r["id"].as_str().unwrap().to_string();
    ok(
        app,
        "moderator-1",
        json!({"type":"approve","question":id,"version":1}),
    )
    .await;
    ok(
        app,
        "moderator-1",
        json!({"type":"defer","question":id,"version":2,"agency":"Sở Nội vụ"}),
    )
    .await;
    ok(app, "follow_up-1", json!({"type":"update_follow_up","question":id,"version":3,"answer":"Đã trả lời bằng văn bản."})).await;
    id
}

#[tokio::test]
async fn admin_endpoint_erases_personal_data_of_a_closed_event_from_file_and_memory() {
    let app = spawn_app().await;
    let id = asker_with_personal_data(&app).await;
    assert!(
        file_contains(&app.data_dir, NAME.as_bytes())
            || file_contains(&app.data_dir, PHONE.as_bytes())
    );
    assert!(
        file_contains(&app.data_dir, PHONE.as_bytes()),
        "the phone is in the database before"
    );
    let erase = || {
        app.http()
            .post(format!("{}/api/admin/erase-personal-data", app.base))
            .header("authorization", bearer(&app, "admin"))
            .send()
    };
    let r = erase().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CONFLICT,
        "refused while the event is open"
    );
    assert!(file_contains(&app.data_dir, PHONE.as_bytes()));
    // A follow-up console resuming from the start replays the submission, personal data included…
    let mut before = app.staff_resume("follow_up-1", 0).await;
    let replay = before.recv().await.unwrap();
    assert_eq!(replay["type"], "change", "{replay}");
    assert!(replay.to_string().contains(PHONE));
    before.close().await;

    app.app
        .engine
        .store()
        .close_event(EVENT, doithoai::now_ms())
        .await
        .unwrap();
    let r = erase().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["erased"], 1);
    assert!(
        !file_contains(&app.data_dir, PHONE.as_bytes()),
        "phone gone from the files"
    );
    assert!(
        !file_contains(&app.data_dir, NAME.as_bytes()),
        "name gone from the files"
    );
    let q = question(&app, &id).await;
    assert!(q.get("questioner").is_none(), "gone from memory too: {q}");
    // …and after the erase it gets a snapshot without it, not the old change.
    let mut after = app.staff_resume("follow_up-1", 0).await;
    let first = after.recv().await.unwrap();
    assert_eq!(first["type"], "snapshot", "{first}");
    assert!(!first.to_string().contains(PHONE));
    assert!(first
        .to_string()
        .contains("Hỏi về việc làm sau khi tốt nghiệp"));
    after.close().await;
    assert_eq!(
        q["followup"]["answer"], "Đã trả lời bằng văn bản.",
        "answers stay"
    );
    let csv =
        String::from_utf8(bytes(&app, "follow_up-1", "/api/exports/questions.csv").await).unwrap();
    assert!(!csv.contains(PHONE) && csv.contains("Hỏi về việc làm sau khi tốt nghiệp"));
    app.stop().await;
}

#[tokio::test]
async fn erase_command_refuses_open_events_and_leaves_no_personal_data_in_the_file() {
    let app = spawn_app().await;
    let id = asker_with_personal_data(&app).await;
    let dir = app.data_dir.clone();
    let temp = app.stop().await;
    assert!(
        file_contains(&dir, PHONE.as_bytes()),
        "the phone is in the database before"
    );
    let data = dir.to_str().unwrap();

    let out = cli(&["erase-personal-data", "--data-dir", data, "--event", EVENT]);
    assert!(!out.status.success(), "refused while open");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not closed"));
    assert!(file_contains(&dir, PHONE.as_bytes()));

    let out = cli(&["event", "close", "--data-dir", data, "--event", EVENT]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&["erase-personal-data", "--data-dir", data, "--event", EVENT]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("erased personal data of 1"));
    assert!(!file_contains(&dir, PHONE.as_bytes()), "phone gone");
    assert!(!file_contains(&dir, NAME.as_bytes()), "name gone");
    assert!(
        !file_contains(&dir, "Thoại Ngọc Hầu".as_bytes()),
        "school gone"
    );

    let app = spawn_app_in(&dir).await;
    let q = question(&app, &id).await;
    assert!(q.get("questioner").is_none());
    assert_eq!(q["text"], "Hỏi về việc làm sau khi tốt nghiệp");
    assert_eq!(q["followup"]["answer"], "Đã trả lời bằng văn bản.");
    app.stop().await;
    drop(temp);
}
