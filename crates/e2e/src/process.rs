//! The chromedriver child process and the temporary profile directory,
//! both cleaned up on drop.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::Error;
use crate::wire::Wire;

/// How long chromedriver gets to answer `GET /status` with `ready: true`.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
const READY_POLL: Duration = Duration::from_millis(50);
/// Attempts with a fresh port when chromedriver exits at once (port taken meanwhile).
const PORT_ATTEMPTS: usize = 3;
/// How much of chromedriver's output goes into error messages.
const LOG_TAIL_BYTES: u64 = 4096;

/// A directory under the system temp dir, removed (best effort) on drop.
pub(crate) struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new() -> Result<Self, Error> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let base = std::env::temp_dir();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut last_err = io::Error::other("no attempt made");
        for _ in 0..64 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("doorstep-e2e-{}-{nanos:x}-{n}", std::process::id()));
            match fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = e,
                Err(e) => {
                    return Err(Error::TempDir {
                        dir: base,
                        source: e,
                    });
                }
            }
        }
        Err(Error::TempDir {
            dir: base,
            source: last_err,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Chromium may still be flushing its profile for a moment after it quit.
        for _ in 0..10 {
            match fs::remove_dir_all(&self.path) {
                Ok(()) => return,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return,
                Err(_) => thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

/// The running chromedriver; killed (if still running) and reaped on drop.
pub(crate) struct DriverProcess {
    child: Child,
    log_path: PathBuf,
}

impl DriverProcess {
    /// Starts chromedriver on a free 127.0.0.1 port and waits until it reports ready.
    /// Returns the process and its base URL.
    pub fn start(binary: &Path, dir: &TempDir, wire: &Wire) -> Result<(Self, String), Error> {
        let log_path = dir.path().join("chromedriver.log");
        let mut last_detail = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port().map_err(|e| Error::Spawn {
                path: binary.to_owned(),
                source: e,
            })?;
            let mut process = Self::spawn(binary, port, &log_path)?;
            let base = format!("http://127.0.0.1:{port}");
            match process.wait_ready(&base, wire) {
                Ok(()) => return Ok((process, base)),
                Err(Readiness::Exited(detail)) => last_detail = detail, // try another port
                Err(Readiness::TimedOut(detail)) => {
                    let log = process.log_tail();
                    return Err(Error::DriverNotReady {
                        path: binary.to_owned(),
                        detail,
                        log,
                    });
                }
            }
            // `process` dropped here: already exited, just reaped.
        }
        let log = read_tail(&log_path);
        Err(Error::DriverNotReady {
            path: binary.to_owned(),
            detail: last_detail,
            log,
        })
    }

    fn spawn(binary: &Path, port: u16, log_path: &Path) -> Result<Self, Error> {
        let spawn_err = |source| Error::Spawn {
            path: binary.to_owned(),
            source,
        };
        let log = File::create(log_path).map_err(spawn_err)?;
        let log2 = log.try_clone().map_err(spawn_err)?;
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            // Chromium's own stderr goes to the log too, so start-up failures are explainable.
            .arg("--enable-chrome-logs")
            // No --allowed-ips / --allowed-origins: without them chromedriver
            // listens on loopback only.
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            .spawn()
            .map_err(spawn_err)?;
        Ok(DriverProcess {
            child,
            log_path: log_path.to_owned(),
        })
    }

    fn wait_ready(&mut self, base: &str, wire: &Wire) -> Result<(), Readiness> {
        let started = Instant::now();
        let mut last = String::from("no answer yet");
        let max_polls = READY_TIMEOUT.as_millis() / READY_POLL.as_millis() + 1;
        for _ in 0..max_polls {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Readiness::Exited(format!(
                    "chromedriver exited early ({status})"
                )));
            }
            match wire.status(base) {
                Ok(true) => return Ok(()),
                Ok(false) => last = "GET /status answered ready=false".to_owned(),
                Err(e) => last = e.to_string(),
            }
            if started.elapsed() >= READY_TIMEOUT {
                break;
            }
            thread::sleep(READY_POLL);
        }
        Err(Readiness::TimedOut(format!(
            "no ready answer on {base}/status within {READY_TIMEOUT:?}; last: {last}"
        )))
    }

    /// The last few KiB of chromedriver's stdout/stderr.
    pub fn log_tail(&self) -> String {
        read_tail(&self.log_path)
    }

    /// Waits (bounded) for chromedriver to exit by itself, e.g. after `/shutdown`.
    pub fn wait_exit(&mut self, timeout: Duration) {
        let started = Instant::now();
        for _ in 0..200 {
            if matches!(self.child.try_wait(), Ok(Some(_)) | Err(_)) || started.elapsed() >= timeout
            {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

enum Readiness {
    Exited(String),
    TimedOut(String),
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let port = listener.local_addr()?.port();
    drop(listener);
    Ok(port)
}

fn read_tail(path: &Path) -> String {
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(LOG_TAIL_BYTES);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = file.take(LOG_TAIL_BYTES).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}
