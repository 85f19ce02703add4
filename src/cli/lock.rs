//! One server per data directory: `serve` holds an exclusive `flock` on
//! `<data-dir>/serve.lock` for its whole life and writes its pid and address
//! into it. The kernel drops the lock when the process dies, kill -9
//! included, so a stale file never blocks a restart. The command line reads
//! the same file to find the running server and send its writes there.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const LOCK_FILE: &str = "serve.lock";

/// What the running server wrote into the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningServer {
    pub pid: u32,
    /// Where the command line on this machine reaches it (loopback when it
    /// listens on every interface), e.g. `127.0.0.1:8080`.
    pub addr: String,
    /// The base URL of its links, as printed at start.
    pub url: String,
}

impl RunningServer {
    /// "pid 1234, http://…" for messages.
    pub fn describe(&self) -> String {
        format!("pid {}, {}", self.pid, self.url)
    }
}

/// The held lock; dropping it (or the process dying) releases it.
#[derive(Debug)]
pub struct DataDirLock {
    file: File,
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Another live process holds the lock; what it wrote, if readable yet.
    #[error("held by another server")]
    Held(Option<RunningServer>),
}

fn lock_path(dir: &Path) -> PathBuf {
    dir.join(LOCK_FILE)
}

fn open_lock_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// `flock(2)` without waiting; Ok(false) when another process holds it.
fn try_flock(file: &File, operation: libc::c_int) -> std::io::Result<bool> {
    // SAFETY: flock on a file descriptor we own; no memory is passed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), operation | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(err)
    }
}

fn read_holder(file: &mut File) -> Option<RunningServer> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// Take the data directory for this process, or say who has it.
pub fn acquire(dir: &Path) -> Result<DataDirLock, LockError> {
    std::fs::create_dir_all(dir)?;
    let path = lock_path(dir);
    let mut file = open_lock_file(&path)?;
    if !try_flock(&file, libc::LOCK_EX)? {
        return Err(LockError::Held(read_holder(&mut file)));
    }
    Ok(DataDirLock { file, path })
}

impl DataDirLock {
    /// Record who holds the lock, once the address is known.
    pub fn record(&mut self, server: &RunningServer) -> std::io::Result<()> {
        let text = serde_json::to_string(server).map_err(std::io::Error::other)?;
        self.file.set_len(0)?;
        self.file.rewind()?;
        self.file.write_all(text.as_bytes())?;
        self.file.sync_data()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The server running on `dir`, if one holds its lock right now.
pub fn running_server(dir: &Path) -> std::io::Result<Option<RunningServer>> {
    let path = lock_path(dir);
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if try_flock(&file, libc::LOCK_SH)? {
        // Nobody holds it: a leftover from a server that has ended.
        // SAFETY: as above.
        unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) };
        return Ok(None);
    }
    match read_holder(&mut file) {
        Some(server) => Ok(Some(server)),
        // Held but not yet written: the server is still starting.
        None => Err(std::io::Error::other(format!(
            "một máy chủ đang khởi động trên {} (chưa ghi địa chỉ); thử lại sau vài giây / \
             a server is starting on this data directory; try again in a few seconds",
            dir.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_directory_is_refused_and_names_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = acquire(dir.path()).unwrap();
        // Held but not yet written: the command line is told to wait.
        assert!(running_server(dir.path()).is_err());
        let me = RunningServer {
            pid: 42,
            addr: "127.0.0.1:8080".into(),
            url: "http://127.0.0.1:8080".into(),
        };
        first.record(&me).unwrap();
        match acquire(dir.path()) {
            Err(LockError::Held(Some(s))) => assert_eq!(s, me),
            other => panic!("expected the lock to be held: {other:?}"),
        }
        assert_eq!(running_server(dir.path()).unwrap(), Some(me));
        drop(first);
        assert_eq!(running_server(dir.path()).unwrap(), None);
        acquire(dir.path()).expect("free again once dropped");
    }
}
