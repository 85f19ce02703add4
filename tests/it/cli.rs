//! The `doithoai` binary's subcommands, run as a user would.

use std::process::Command;

fn doithoai(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_doithoai"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("DOITHOAI_SECRET")
        .output()
        .expect("run doithoai")
}

#[test]
fn event_create_reports_errors_with_their_line_and_tokens_print_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let template = Command::new(env!("CARGO_BIN_EXE_doithoai"))
        .args(["event", "template"])
        .output()
        .unwrap();
    let toml = String::from_utf8(template.stdout).unwrap();
    assert!(toml.contains("Hội trường UBND tỉnh"));

    // A district's own event with a duplicate hall id on line 6.
    let bad = "id = \"cho-moi-2025\"\nname = \"Đối thoại huyện Chợ Mới 2025\"\ndate = \"2025-03-20\"\nhalls = [\n  { id = \"huyen\", name = \"Hội trường huyện\" },\n  { id = \"huyen\", name = \"Xã Kiến An\" },\n]\ndepartments = [{ id = \"ubnd\", name = \"UBND huyện\" }]\ngroups = [{ id = \"khac\", name = \"Khác\" }]\n";
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, bad).unwrap();
    let out = doithoai(
        dir.path(),
        &["event", "create", "--file", file.to_str().unwrap()],
    );
    assert!(!out.status.success());
    // `file:line: …`, as README shows it: Vietnamese first, then English.
    let err = String::from_utf8_lossy(&out.stderr);
    let name = file.display();
    assert!(
        err.contains(&format!("lỗi: {name}:6: halls: trùng id «huyen»\n")),
        "{err}"
    );
    assert!(
        err.contains(&format!("error: {name}:6: halls: duplicate id «huyen»")),
        "{err}"
    );
    // The parser's own messages get a Vietnamese half too.
    std::fs::write(&file, "id = \"x\"\ndate = \"2025-03-20\"\n").unwrap();
    let out = doithoai(
        dir.path(),
        &["event", "create", "--file", file.to_str().unwrap()],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("thiếu trường `name`"), "{err}");
    assert!(err.contains("missing field `name`"), "{err}");
    std::fs::write(&file, bad).unwrap();

    let good = bad.replace(
        "{ id = \"huyen\", name = \"Xã Kiến An\" }",
        "{ id = \"kien-an\", name = \"Xã Kiến An\" }",
    );
    std::fs::write(&file, good).unwrap();
    let out = doithoai(
        dir.path(),
        &["event", "create", "--file", file.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let first = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!first.contains("restart"), "{first}");
    // Saving it again replaces the definition, and says a running server needs a restart.
    let out = doithoai(
        dir.path(),
        &["event", "create", "--file", file.to_str().unwrap()],
    );
    assert!(out.status.success());
    let again = String::from_utf8_lossy(&out.stdout);
    assert!(
        again.contains("already existed") && again.contains("restart"),
        "{again}"
    );
    assert!(again.contains("khởi động lại"), "{again}");

    let out = doithoai(dir.path(), &["tokens", "--event", "cho-moi-2025", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let op = list
        .iter()
        .find(|t| t["slot"] == "hall_operator:kien-an")
        .expect("a seat per hall");
    assert_eq!(op["role"], "hall_operator");
    assert_eq!(op["hall"], "kien-an");
    let token = op["token"].as_str().unwrap().to_string();
    assert!(op["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/hall.html#token={token}")));

    // Printing again gives the same tokens; revoking a seat changes only that one.
    let again: Vec<serde_json::Value> = serde_json::from_slice(
        &doithoai(dir.path(), &["tokens", "--event", "cho-moi-2025", "--json"]).stdout,
    )
    .unwrap();
    assert_eq!(list, again);
    let out = doithoai(
        dir.path(),
        &[
            "tokens",
            "--event",
            "cho-moi-2025",
            "--json",
            "--revoke",
            "hall_operator:kien-an",
        ],
    );
    assert!(out.status.success());
    let after: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let new = after
        .iter()
        .find(|t| t["slot"] == "hall_operator:kien-an")
        .unwrap();
    assert_ne!(new["token"].as_str().unwrap(), token);
    let same = |slot: &str| {
        list.iter().find(|t| t["slot"] == slot).unwrap()["token"]
            == after.iter().find(|t| t["slot"] == slot).unwrap()["token"]
    };
    assert!(same("moderator-1"));

    // The database holds hashes, never the tokens themselves.
    let db = std::fs::read(dir.path().join("doithoai.db")).unwrap();
    let wal = std::fs::read(dir.path().join("doithoai.db-wal")).unwrap_or_default();
    let haystack = [db, wal].concat();
    assert!(!haystack.windows(token.len()).any(|w| w == token.as_bytes()));
}

/// `event create` while a server runs on the same data: the server opens
/// the new event when it is first asked for (a phone's hello, a seat's
/// token, the event list) instead of needing a restart.
#[tokio::test]
async fn an_event_created_while_serving_is_opened_on_first_use() {
    use crate::common::{spawn_app, submit, Client};
    use serde_json::json;

    let app = spawn_app().await;
    let toml = "id = \"cho-moi-2025\"\nname = \"Đối thoại huyện Chợ Mới 2025\"\ndate = \"2025-03-20\"\nhalls = [\n  { id = \"huyen\", name = \"Hội trường huyện\" },\n  { id = \"kien-an\", name = \"Xã Kiến An\" },\n]\ndepartments = [{ id = \"ubnd\", name = \"UBND huyện\" }]\ngroups = [{ id = \"khac\", name = \"Khác\" }]\n";
    let file = app.data_dir.join("cho-moi-2025.toml");
    std::fs::write(&file, toml).unwrap();
    let out = doithoai(
        &app.data_dir,
        &["event", "create", "--file", file.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The public list shows it.
    let list = app.get_json("/api/events").await;
    let ids: Vec<&str> = list["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["an-giang-2024", "cho-moi-2025"]);

    // A phone joins it by its code and submits; the moderator's token works.
    let url = app.ws_url();
    let mut phone = Client::join(
        &url,
        json!({"type":"hello","protocol":1,"event":"cho-moi-2025","hall":"kien-an","device":"d1"}),
    )
    .await;
    assert_eq!(
        phone.welcome["event"]["name"],
        "Đối thoại huyện Chợ Mới 2025"
    );
    let out = doithoai(
        &app.data_dir,
        &["tokens", "--event", "cho-moi-2025", "--json"],
    );
    let seats: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let token = seats
        .iter()
        .find(|t| t["slot"] == "moderator-1")
        .and_then(|t| t["token"].as_str())
        .unwrap()
        .to_string();
    let mut moderator =
        Client::join(&url, json!({"type":"hello","protocol":1,"token":token})).await;
    assert_eq!(moderator.welcome["event"]["id"], "cho-moi-2025");
    let (id, cmd) = submit("Xã Kiến An cần thêm điểm sinh hoạt thanh niên", "kien-an");
    let ack = phone.cmd(cmd).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    moderator
        .until("the phone's question", |v| {
            v["type"] == "change" && v["questions"][0]["id"] == id.as_str()
        })
        .await;
    // The built-in event is untouched and still separate.
    let builtin = app.questions("moderator-1").await;
    assert_eq!(builtin["questions"].as_array().map(Vec::len), Some(0));
}

/// Run the binary with `stdin` as given and a time limit (a command that
/// should refuse must not hang the suite if it does not).
pub fn doithoai_with(
    dir: &std::path::Path,
    args: &[&str],
    stdin: &[u8],
    env: &[(&str, &str)],
) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_doithoai"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("DOITHOAI_SECRET")
        .env_remove("DOITHOAI_PUBLIC_URL")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run doithoai");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(120)) {
        Ok(out) => out.expect("wait"),
        Err(_) => {
            // SAFETY: killing the child this test started, by its pid.
            unsafe { libc::kill(id as i32, libc::SIGKILL) };
            panic!("doithoai {args:?} did not finish within 120 s");
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

pub const TWO_HALLS: &str = "id = \"cho-moi-2025\"\nname = \"Đối thoại huyện Chợ Mới 2025\"\ndate = \"2025-03-20\"\nhalls = [\n  { id = \"huyen\", name = \"Hội trường huyện\" },\n  { id = \"kien-an\", name = \"Xã Kiến An\" },\n]\ndepartments = [{ id = \"ubnd\", name = \"UBND huyện\" }]\ngroups = [{ id = \"khac\", name = \"Khác\" }]\n";

const CSV_HEADER: &str = "Nội dung câu hỏi (text),Điểm cầu (hall),Nhóm vấn đề (issue group),Đơn vị thu thập (collected by),Họ tên người hỏi (name),Tuổi (age),\"Trường, nơi làm việc (organization)\",Số điện thoại (phone),Đồng ý lưu thông tin (consent)";

/// Five good rows (one with a consenting asker's phone), two for halls the event does not have.
pub fn district_csv() -> String {
    [
        CSV_HEADER,
        "Xã Kiến An cần thêm điểm sinh hoạt thanh niên,kien-an,,Xã đoàn Kiến An,,,,,",
        "Đường ra bến đò Kiến An bao giờ sửa?,kien-an,,Xã đoàn Kiến An,,,,,",
        "Thanh niên huyện được học nghề miễn phí không?,huyen,,Huyện đoàn,,,,,",
        "Vốn vay khởi nghiệp cho thanh niên nông thôn?,huyen,,Huyện đoàn,Nguyễn Văn Tư,22,,0912 345 678,có",
        "Sân bóng xã bao giờ có đèn?,Xã Kiến An,,,,,,,",
        "Hỏi về đường điện,Hà Nội,,,,,,,",
        "Hỏi về cầu,Long Xuyên,,,,,,,",
    ]
    .join("\n")
}

/// `doithoai tokens … | head -2`: a closed pipe ends the command quietly
/// (as it ends `cat`), never with a panic and a backtrace.
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    use std::os::fd::FromRawFd;
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("cho-moi-2025.toml");
    std::fs::write(&event, TWO_HALLS).unwrap();
    assert!(doithoai(
        dir.path(),
        &["event", "create", "--file", event.to_str().unwrap()]
    )
    .status
    .success());
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills the two descriptors we then own.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // The reader is gone before the first line is written, like `head`
    // after its two lines.
    unsafe { libc::close(fds[0]) };
    let writer = unsafe { std::fs::File::from_raw_fd(fds[1]) };
    let out = Command::new(env!("CARGO_BIN_EXE_doithoai"))
        .args(["tokens", "--event", "cho-moi-2025", "--data-dir"])
        .arg(dir.path())
        .env_remove("DOITHOAI_SECRET")
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.is_empty(), "nothing on stderr: {err}");
    assert!(
        out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
        "{:?}",
        out.status
    );
}

/// The import report's totals add up before and after, a piped "y" is not
/// taken as consent (and the message says why), and the template is written
/// without a server.
#[test]
fn import_from_the_command_line_reads_like_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("cho-moi-2025.toml");
    std::fs::write(&event, TWO_HALLS).unwrap();
    let out = doithoai(
        dir.path(),
        &["event", "create", "--file", event.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = dir.path().join("cau-hoi.csv");
    std::fs::write(&csv, district_csv()).unwrap();
    let args = ["import", "--event", "cho-moi-2025", csv.to_str().unwrap()];

    // `echo y | doithoai import …`
    let out = doithoai_with(dir.path(), &args, b"y\n", &[]);
    assert!(!out.status.success());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        stdout.contains("Tổng / total: 7 dòng/rows — mới, chưa nhập/new, not yet imported 5, đã có/already 0, loại/rejected 2"),
        "{stdout}"
    );
    assert!(!stdout.contains("imported 0"), "{stdout}");
    assert!(
        stderr.contains("không phải bàn phím (terminal)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("not a terminal") && stderr.contains("--yes"),
        "{stderr}"
    );

    let mut with_yes = args.to_vec();
    with_yes.push("--yes");
    let out = doithoai_with(dir.path(), &with_yes, b"", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Kết quả / result: Tổng / total: 7 dòng/rows — đã nhập/imported 5, đã có/already 0, loại/rejected 2"),
        "{stdout}"
    );
    assert!(!stdout.contains("imported 0"), "{stdout}");
    // Again: nothing new.
    let out = doithoai_with(dir.path(), &with_yes, b"", &[]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("đã có/already 5"), "{stdout}");
    assert!(stdout.contains("nothing new to import"), "{stdout}");

    // Templates without a server.
    let xlsx = dir.path().join("mau.xlsx");
    let out = doithoai(
        dir.path(),
        &[
            "import",
            "--template",
            xlsx.to_str().unwrap(),
            "--event",
            "cho-moi-2025",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bytes = std::fs::read(&xlsx).unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX is a zip");
    let mut book = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut shared = String::new();
    std::io::Read::read_to_string(
        &mut book.by_name("xl/sharedStrings.xml").unwrap(),
        &mut shared,
    )
    .unwrap();
    assert!(
        shared.contains("Xã Kiến An"),
        "the event's halls are listed"
    );
    let template_csv = dir.path().join("mau.csv");
    let out = doithoai(
        dir.path(),
        &["import", "--template", template_csv.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(std::fs::read_to_string(&template_csv)
        .unwrap()
        .contains("Nội dung câu hỏi (text)"));
    // Never overwrites.
    let out = doithoai(
        dir.path(),
        &["import", "--template", template_csv.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("đã có"));
}

/// A new definition that drops a hall questions still use is refused with
/// the list; `--force` saves it and says what happens to them.
#[test]
fn event_create_refuses_to_drop_a_hall_that_has_questions() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("cho-moi-2025.toml");
    std::fs::write(&event, TWO_HALLS).unwrap();
    assert!(doithoai(
        dir.path(),
        &["event", "create", "--file", event.to_str().unwrap()]
    )
    .status
    .success());
    let csv = dir.path().join("cau-hoi.csv");
    std::fs::write(&csv, district_csv()).unwrap();
    let out = doithoai_with(
        dir.path(),
        &[
            "import",
            "--event",
            "cho-moi-2025",
            csv.to_str().unwrap(),
            "--yes",
        ],
        b"",
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let one_hall = TWO_HALLS.replace("  { id = \"kien-an\", name = \"Xã Kiến An\" },\n", "");
    std::fs::write(&event, &one_hall).unwrap();
    let out = doithoai(
        dir.path(),
        &["event", "create", "--file", event.to_str().unwrap()],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("3 câu hỏi") && err.contains("3 questions"),
        "{err}"
    );
    assert!(err.contains("Xã Kiến An cần thêm điểm sinh hoạt"), "{err}");
    assert!(
        err.contains("hall «kien-an»") && err.contains("--force"),
        "{err}"
    );
    // Nothing changed.
    let list = text(&doithoai(dir.path(), &["tokens", "--event", "cho-moi-2025"]).stdout);
    assert!(list.contains("hall_operator:kien-an"), "{list}");

    let out = doithoai(
        dir.path(),
        &[
            "event",
            "create",
            "--file",
            event.to_str().unwrap(),
            "--force",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("show them as is"));
    let list = text(&doithoai(dir.path(), &["tokens", "--event", "cho-moi-2025"]).stdout);
    assert!(!list.contains("hall_operator:kien-an"), "{list}");
}

/// Every command's help explains itself and every argument, Vietnamese first.
#[test]
fn every_command_has_help_for_every_argument() {
    let commands: &[&[&str]] = &[
        &[],
        &["serve"],
        &["event"],
        &["event", "create"],
        &["event", "list"],
        &["event", "close"],
        &["event", "template"],
        &["tokens"],
        &["import"],
        &["erase-personal-data"],
        &["backup"],
        &["restore"],
        &["check"],
        &["migrate-store"],
    ];
    for command in commands {
        let out = Command::new(env!("CARGO_BIN_EXE_doithoai"))
            .args(*command)
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success(), "{command:?}");
        let help = text(&out.stdout);
        // An option's help follows its name after two spaces, or on the
        // next, more indented line.
        let lines: Vec<&str> = help.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            if !t.starts_with('-') {
                continue;
            }
            let same_line = t
                .split_once("  ")
                .is_some_and(|(_, h)| !h.trim().is_empty());
            let indent = line.len() - t.len();
            let next_line = lines.get(i + 1).is_some_and(|n| {
                let nt = n.trim_start();
                !nt.is_empty() && !nt.starts_with('-') && n.len() - nt.len() > indent
            });
            assert!(
                same_line || next_line,
                "{command:?}: no help for {t:?}\n{help}"
            );
        }
        assert!(help.contains(" / "), "{command:?} bilingual:\n{help}");
    }
    let import = text(
        &Command::new(env!("CARGO_BIN_EXE_doithoai"))
            .args(["import", "--help"])
            .output()
            .unwrap()
            .stdout,
    );
    assert!(import.contains("Mã sự kiện"), "{import}");
    assert!(import.contains("Ví dụ / examples"), "{import}");
    let serve = text(
        &Command::new(env!("CARGO_BIN_EXE_doithoai"))
            .args(["serve", "--help"])
            .output()
            .unwrap()
            .stdout,
    );
    assert!(serve.contains("DOITHOAI_QUIET_TOKENS"), "{serve}");
    assert!(serve.contains("DOITHOAI_PRINT_TOKENS"), "{serve}");
}
