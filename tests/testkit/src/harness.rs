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
