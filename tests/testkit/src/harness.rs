//! The real `feedloom` binary in a temp workspace: one-shot commands and a
//! running `serve` that is killed when dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::client::{get, HttpResponse};

/// The `feedloom` binary cargo built for this test run: beside the test
/// executable's `deps/` folder (Cargo builds a package's binaries before
/// its integration tests; `CARGO_BIN_EXE_*` reaches only the tests
/// themselves, not a library they use).
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test>");
    let bin = dir.join(format!("feedloom{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: run the tests through `cargo test`",
        bin.display()
    );
    bin
}

/// A temp folder with `feeds/` and `data/`, and the real binary run in it.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub feeds: PathBuf,
    pub data: PathBuf,
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let feeds = dir.path().join("feeds");
        std::fs::create_dir(&feeds).unwrap();
        let data = dir.path().join("data");
        Workspace { dir, feeds, data }
    }

    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.feeds.join(name), text).unwrap();
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(binary());
        c.arg("--data")
            .arg(&self.data)
            .arg("--feeds")
            .arg(&self.feeds);
        c.env("FEEDLOOM_LOG", "warn");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run feedloom")
    }

    /// [`Workspace::run`], also measuring the process's peak resident
    /// memory (KiB): `VmHWM` from `/proc`, sampled every 2 ms until it
    /// exits. The high-water mark only grows, so the last sample is the
    /// peak up to 2 ms before the exit: a spike that lasts shorter than
    /// that is missed, which a memory bomb's parse never is.
    pub fn run_measured(&self, args: &[&str]) -> (Output, u64) {
        let child = self
            .command()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run feedloom");
        let pid = child.id();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut peak = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Some(kib) = peak_rss_kib(pid) {
                        peak = peak.max(kib);
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                peak
            })
        };
        let out = child.wait_with_output().expect("wait for feedloom");
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let peak = sampler.join().unwrap();
        assert!(peak > 0, "no memory reading of pid {pid} from /proc");
        (out, peak)
    }

    /// `poll --once`, asserting it succeeded; returns stdout.
    pub fn poll_ok(&self) -> String {
        let out = self.run(&["poll", "--once"]);
        assert!(
            out.status.success(),
            "poll failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Starts `serve` on a free port and waits until it listens.
    pub fn serve(&self) -> Server {
        self.serve_with(&[])
    }

    pub fn serve_with(&self, extra: &[&str]) -> Server {
        self.spawn_serve(self.command(), extra, Stdio::inherit())
    }

    /// [`Workspace::serve_with`], logging at debug level into `log`.
    pub fn serve_logging_to(&self, log: &Path, extra: &[&str]) -> Server {
        let mut command = self.command();
        command.env("FEEDLOOM_LOG", "debug");
        let file = std::fs::File::create(log).unwrap();
        self.spawn_serve(command, extra, Stdio::from(file))
    }

    fn spawn_serve(&self, mut command: Command, extra: &[&str], stderr: Stdio) -> Server {
        let mut child = command
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn feedloom serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|s| s.split('/').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("serve did not report its address: {line:?}"));
        Server { child, addr }
    }
}

impl Default for Workspace {
    fn default() -> Workspace {
        Workspace::new()
    }
}

/// A running `feedloom serve`; killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Server {
    pub fn get(&self, path: &str) -> HttpResponse {
        get(self.addr, path)
    }

    /// The server's peak resident memory so far (KiB, `VmHWM`).
    pub fn peak_rss_kib(&self) -> u64 {
        peak_rss_kib(self.child.id()).expect("the server's /proc/PID/status")
    }

    /// The server's resident memory now (KiB, `VmRSS`).
    pub fn rss_kib(&self) -> u64 {
        proc_status_kib(self.child.id(), "VmRSS:").expect("the server's /proc/PID/status")
    }

    /// Waits until every source has been polled once (`/readyz`).
    pub fn wait_ready(&self) {
        let start = Instant::now();
        while get(self.addr, "/readyz").status != 200 {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "server never became ready"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then waits: returns whether it exited successfully.
    pub fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "server ignored SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `check` holds, for what the server does in the background
/// (a reload, a poll), failing the test after 20 s.
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A process's peak resident memory (KiB): `VmHWM` in `/proc/PID/status`;
/// `None` once it has exited.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    proc_status_kib(pid, "VmHWM:")
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
