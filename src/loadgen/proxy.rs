//! HAProxy in front of doithoai nodes, started from the project's own
//! `deploy/haproxy.cfg` (the file docker-compose.yml mounts), so the shipped
//! recipe is what the integration test and `loadgen national` exercise. The
//! file reads its addresses from the environment (`DOITHOAI_PROXY_BIND`,
//! `DOITHOAI_NODE1`…`4`, `DOITHOAI_PROXY_MAXCONN`); nothing is rewritten.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::target::http_status;
use super::Error;

/// Most nodes the shipped configuration names (`DOITHOAI_NODE1`…`4`).
pub const MAX_NODES: usize = 4;

/// A running `haproxy` child process.
pub struct Haproxy {
    pub addr: SocketAddr,
    child: Child,
}

/// The shipped configuration, found from the crate's root.
pub fn shipped_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/haproxy.cfg")
}

/// The environment that points `deploy/haproxy.cfg` at these addresses.
fn environment(bind: SocketAddr, nodes: &[SocketAddr], maxconn: usize) -> Vec<(String, String)> {
    let mut env = vec![
        ("DOITHOAI_PROXY_BIND".to_string(), bind.to_string()),
        ("DOITHOAI_PROXY_MAXCONN".to_string(), maxconn.to_string()),
    ];
    for (i, n) in nodes.iter().enumerate() {
        env.push((format!("DOITHOAI_NODE{}", i + 1), n.to_string()));
    }
    env
}

fn haproxy_command(config: &Path, env: &[(String, String)]) -> Command {
    let mut cmd = Command::new("haproxy");
    cmd.arg("-f").arg(config);
    for i in 1..=MAX_NODES {
        cmd.env_remove(format!("DOITHOAI_NODE{i}"));
    }
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd
}

/// `haproxy -c`: is the configuration valid with these addresses? Returns
/// HAProxy's own output as the error when it is not (or when HAProxy is
/// missing: the Debian package `haproxy`).
pub async fn check_config(
    config: &Path,
    bind: SocketAddr,
    nodes: &[SocketAddr],
    maxconn: usize,
) -> Result<(), Error> {
    let out = haproxy_command(config, &environment(bind, nodes, maxconn))
        .arg("-c")
        .output()
        .await
        .map_err(|e| format!("cannot run haproxy (apt-get install haproxy): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "haproxy -c -f {} refused the configuration:\n{}{}",
            config.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into())
    }
}

/// A free loopback port (bound, then released for HAProxy to take).
fn free_port() -> Result<SocketAddr, Error> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

impl Haproxy {
    /// Check, then start HAProxy with `config` in front of `nodes`, on a free
    /// loopback port; returns once it answers `/healthz` with 200 (a node is
    /// up behind it). Its log goes to `log_file`. `maxconn` must fit the
    /// open-files limit (HAProxy needs about two files per connection).
    pub async fn start(
        config: &Path,
        nodes: &[SocketAddr],
        maxconn: usize,
        log_file: &Path,
    ) -> Result<Haproxy, Error> {
        if nodes.is_empty() || nodes.len() > MAX_NODES {
            return Err(format!("the shipped haproxy.cfg takes 1 to {MAX_NODES} nodes").into());
        }
        if let Some(n) = nodes.iter().find(|n| !n.ip().is_loopback()) {
            return Err(format!("refusing node {n}: loopback only").into());
        }
        let mut last_error: Error = "no attempt".into();
        // The free port can be taken between finding and binding it: retry.
        for _ in 0..5 {
            let bind = free_port()?;
            check_config(config, bind, nodes, maxconn).await?;
            let log = std::fs::File::create(log_file)?;
            let mut child = haproxy_command(config, &environment(bind, nodes, maxconn))
                // Foreground, no daemon, no master process: the child is HAProxy.
                .arg("-db")
                .stdout(Stdio::from(log.try_clone()?))
                .stderr(Stdio::from(log))
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| format!("cannot start haproxy (apt-get install haproxy): {e}"))?;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            loop {
                if let Some(status) = child.try_wait()? {
                    last_error = format!(
                        "haproxy exited ({status}): {}",
                        std::fs::read_to_string(log_file).unwrap_or_default()
                    )
                    .into();
                    break;
                }
                if let Ok(200) = http_status(bind, "/healthz").await {
                    return Ok(Haproxy { addr: bind, child });
                }
                if tokio::time::Instant::now() > deadline {
                    let _ = child.kill().await;
                    return Err(format!(
                        "haproxy on {bind} answered no healthy /healthz within 20 s: {}",
                        std::fs::read_to_string(log_file).unwrap_or_default()
                    )
                    .into());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Err(last_error)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
