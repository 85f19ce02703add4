//! Real-browser helpers: a chromedriver the test starts itself on a free
//! port, headless Chromium sessions at a page's intended window size, waits
//! with generous timeouts (never timing assertions), screenshots into
//! target/screenshots/ (and docs/screenshots/ only with
//! `UPDATE_SCREENSHOTS=1`, so a test run leaves the tree clean), the
//! Chrome DevTools protocol through chromedriver (network emulation),
//! axe-core's accessibility check, figures for the browser test report
//! under target/browser-report/, and a loopback TCP proxy whose link a test can cut and
//! restore to play a hall losing its connection.
//!
//! Missing chromedriver or Chromium is a loud failure, never a skip: these
//! tests are the only check that the pages work in a browser.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Generous bound for something that must happen in the page.
pub const PAGE_WAIT: Duration = Duration::from_secs(40);

/// Browser tests share two cores: run them one at a time. An async mutex,
/// because each test holds it across its awaits (every test has its own runtime).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().await
}

/// A chromedriver process, killed (with its browsers) on drop.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Driver {
    pub async fn start() -> Driver {
        for (path, package) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
            assert!(
                std::path::Path::new(path).exists(),
                "browser tests need {path}: install it with `apt-get install -y chromium chromium-driver` (Debian package {package})"
            );
        }
        let port = free_port();
        let mut cmd = Command::new(CHROMEDRIVER);
        cmd.arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so drop can end the browsers it started too.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        // Owned by the Driver at once, so a failure below still ends the process.
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let status = format!("{}/status", driver.url);
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(r) = http.get(&status).send().await {
                if r.status().is_success() {
                    return driver;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not answer on {status}");
    }

    /// A new headless Chromium at `width`×`height` with a fresh profile.
    pub async fn session(&self, width: u32, height: u32) -> Page {
        let profile = tempfile::tempdir().expect("profile dir");
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            format!("--user-data-dir={}", profile.path().display()),
            format!("--window-size={width},{height}"),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        // Alerts must stay open so a test can see that none was raised.
        caps.insert("unhandledPromptBehavior".into(), json!("ignore"));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot open a Chromium session via chromedriver: {e}"));
        // --window-size counts the browser's frame; make the viewport itself the intended size.
        let inner = client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .expect("viewport size");
        let (iw, ih) = (
            inner[0].as_u64().unwrap_or(0) as u32,
            inner[1].as_u64().unwrap_or(0) as u32,
        );
        if (iw, ih) != (width, height) && iw > 0 && ih > 0 {
            client
                .set_window_size(
                    width + width.saturating_sub(iw),
                    height + height.saturating_sub(ih),
                )
                .await
                .expect("resize window");
        }
        Page {
            client,
            driver: self.url.clone(),
            _profile: profile,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let pid = self.child.id();
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{pid}")])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// One browser window.
pub struct Page {
    pub client: Client,
    /// chromedriver's address, for its Chromium-only endpoints.
    driver: String,
    _profile: tempfile::TempDir,
}

/// This build's target directory (where test output that is not source goes).
pub fn target_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().map(PathBuf::from).unwrap_or(tmp)
}

/// Write `text` as target/browser-report/`name`.md: figures the browser
/// tests measure (not assertions), one file per test so tests never race.
pub fn report(name: &str, text: &str) {
    let dir = target_dir().join("browser-report");
    std::fs::create_dir_all(&dir).expect("report dir");
    let path = dir.join(format!("{name}.md"));
    std::fs::write(&path, text).expect("write report");
    eprintln!("browser test report: {}", path.display());
}

/// The axe-core script, installed by scripts/test.sh (`npm ci --prefix tests/axe`).
fn axe_source() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/axe/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the accessibility check needs {}: run `npm ci --prefix tests/axe` (scripts/test.sh does): {e}",
            path.display()
        )
    })
}

impl Page {
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// Run JavaScript (a function body; `arguments` holds `args`).
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Wait until `script` returns true; panic naming `what` after PAGE_WAIT.
    pub async fn wait(&self, what: &str, script: &str, args: Vec<Value>) {
        let start = std::time::Instant::now();
        loop {
            if let Ok(v) = self.client.execute(script, args.clone()).await {
                if v == Value::Bool(true) {
                    return;
                }
            }
            if start.elapsed() > PAGE_WAIT {
                let state = self
                    .js(
                        "return document.body ? document.body.innerText.slice(0, 3000) : ''",
                        vec![],
                    )
                    .await;
                panic!(
                    "timed out waiting for {what}; page text:\n{}",
                    state.as_str().unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Wait for the page's connection badge to say `state`.
    pub async fn wait_conn(&self, state: &str) {
        self.wait(
            &format!("connection state {state}"),
            "const c = document.getElementById('conn'); return !!c && c.dataset.state === arguments[0];",
            vec![json!(state)],
        )
        .await;
    }

    /// Wait until the element for question `id` under `scope` exists (and has `data-state` = `state`, if given).
    pub async fn wait_question(&self, scope: &str, id: &str, state: Option<&str>) {
        self.wait(
            &format!("question {id} in {scope} (state {state:?})"),
            "const el = document.querySelector(`${arguments[0]} [data-id=\"${arguments[1]}\"]`);
             return !!el && (arguments[2] === null || el.dataset.state === arguments[2]);",
            vec![json!(scope), json!(id), json!(state)],
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        // Wait for it first: pages render from the live connection.
        self.wait(
            &format!("element {css}"),
            "return !!document.querySelector(arguments[0]);",
            vec![json!(css)],
        )
        .await;
        self.client
            .find(Locator::Css(css))
            .await
            .expect("find")
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self
            .client
            .find(Locator::Css(css))
            .await
            .expect("find input");
        el.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Replace the contents of a text field.
    pub async fn fill(&self, css: &str, text: &str) {
        let el = self
            .client
            .find(Locator::Css(css))
            .await
            .expect("find input");
        el.clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        el.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.click(css).await;
        let el = self
            .client
            .find(Locator::Css(css))
            .await
            .expect("find select");
        el.select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("select {value} in {css}: {e}"));
    }

    pub async fn text(&self, css: &str) -> String {
        self.js(
            "const el = document.querySelector(arguments[0]); return el ? el.textContent : null;",
            vec![json!(css)],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// True when a JavaScript dialog (alert, confirm) is open.
    pub async fn alert_open(&self) -> bool {
        self.client.get_alert_text().await.is_ok()
    }

    /// Scroll back to the top (clicks scroll the page; screenshots want the top bar).
    pub async fn scroll_top(&self) {
        self.js(
            "document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);",
            vec![],
        )
        .await;
    }

    /// Save a PNG of the window as target/screenshots/`name`.png; with
    /// `UPDATE_SCREENSHOTS=1` also as docs/screenshots/`name`.png, the
    /// pictures the README shows (so an ordinary test run changes no tracked file).
    pub async fn screenshot(&self, name: &str) {
        // Let fonts and the last render settle; this is not an assertion.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = self.client.screenshot().await.expect("screenshot");
        let mut dirs = vec![target_dir().join("screenshots")];
        if std::env::var("UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
            dirs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots"));
        }
        for dir in dirs {
            std::fs::create_dir_all(&dir).expect("screenshot dir");
            std::fs::write(dir.join(format!("{name}.png")), &png).expect("write screenshot");
        }
    }

    /// Run a Chrome DevTools protocol command in this window (chromedriver's
    /// `goog/cdp/execute`) and return its result.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let session = self
            .client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        let url = format!("{}/session/{session}/goog/cdp/execute", self.driver);
        let r = reqwest::Client::new()
            .post(&url)
            .json(&json!({ "cmd": cmd, "params": params }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd}: {e}"));
        let ok = r.status().is_success();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert!(ok, "CDP {cmd} failed: {body}");
        body["value"].clone()
    }

    /// Run axe-core on the page as it is now and return its serious and
    /// critical violations as "rule (impact): help — targets" lines.
    pub async fn axe(&self) -> Vec<String> {
        let loaded = self
            .js("return typeof window.axe === 'object';", vec![])
            .await;
        if loaded != Value::Bool(true) {
            // Scripts run by WebDriver are not subject to the page's CSP.
            self.js(&axe_source(), vec![]).await;
        }
        let found = self
            .js(
                "return axe.run(document, { resultTypes: ['violations'] }).then(r => r.violations
                   .filter(v => v.impact === 'serious' || v.impact === 'critical')
                   .map(v => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 5).map(n => n.target.join(' ')).join(', ')}${v.nodes.length > 5 ? ` and ${v.nodes.length - 5} more` : ''}`));",
                vec![],
            )
            .await;
        found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// A loopback TCP proxy in front of the server. `cut()` drops every open
/// connection and refuses new ones; `block_websockets()` lets page loads
/// through but refuses WebSocket connections; `restore()` lets everything through again.
pub struct Proxy {
    pub addr: SocketAddr,
    mode: Arc<AtomicU8>,
    conns: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

const UP: u8 = 0;
const DOWN: u8 = 1;
const NO_WS: u8 = 2;

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
        let addr = listener.local_addr().expect("proxy addr");
        let mode = Arc::new(AtomicU8::new(UP));
        let conns: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (m, c) = (mode.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if m.load(Ordering::SeqCst) == DOWN {
                    drop(client);
                    continue;
                }
                let m = m.clone();
                let task = tokio::spawn(async move {
                    if m.load(Ordering::SeqCst) == NO_WS {
                        // Peek at the request line: a WebSocket always opens its own connection.
                        let mut head = [0u8; 8];
                        if client.peek(&mut head).await.is_err() || head.starts_with(b"GET /ws") {
                            return;
                        }
                    }
                    let Ok(mut server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
                c.lock().unwrap().push(task.abort_handle());
            }
        })
        .abort_handle();
        Proxy {
            addr,
            mode,
            conns,
            accept,
        }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn drop_all(&self) {
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    pub fn cut(&self) {
        self.mode.store(DOWN, Ordering::SeqCst);
        self.drop_all();
    }

    pub fn block_websockets(&self) {
        self.mode.store(NO_WS, Ordering::SeqCst);
        self.drop_all();
    }

    pub fn restore(&self) {
        self.mode.store(UP, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.drop_all();
    }
}
