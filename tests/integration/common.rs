//! Helpers for tests that drive the real `locket` binary against vaults in temporary directories.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::SystemTime;

/// The passphrase every test vault is created with.
pub const PASS: &str = "correct horse battery staple";

/// Path of the `locket` binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_locket")
}

/// A `locket` command isolated from the environment: cheap KDF, no inherited vault, no logging.
pub fn locket_cmd(vault: &Path) -> Command {
    let mut c = Command::new(bin());
    c.env("LOCKET_KDF_PROFILE", "test")
        .env_remove("LOCKET_VAULT")
        .env_remove("LOCKET_LOG")
        .env_remove("LOCKET_CRASH_AT")
        .arg("--vault")
        .arg(vault);
    c
}

/// The result of one run.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Asserts exit code 0 and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code,
            Some(0),
            "expected success; stderr: {}\nstdout: {}",
            self.stderr,
            self.stdout
        );
        &self.stdout
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "stderr: {}\nstdout: {}",
            self.stderr,
            self.stdout
        );
        self
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

/// Runs a prepared command with `stdin` fed in.
pub fn run_cmd(mut cmd: Command, stdin: &str) -> Run {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start locket");
    {
        let mut input = child.stdin.take().unwrap();
        // The child may exit before reading everything (e.g. on an error); that is fine.
        let _ = input.write_all(stdin.as_bytes());
    }
    let Output { status, stdout, stderr } = child.wait_with_output().unwrap();
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Runs `locket --vault DIR ARGS...` with `stdin`.
pub fn run(vault: &Path, args: &[&str], stdin: &str) -> Run {
    let mut c = locket_cmd(vault);
    c.args(args);
    run_cmd(c, stdin)
}

/// Runs a command that needs the vault passphrase, giving [`PASS`] on stdin.
pub fn run_pw(vault: &Path, args: &[&str]) -> Run {
    let mut all = vec!["--passphrase-stdin"];
    all.extend_from_slice(args);
    run(vault, &all, &format!("{PASS}\n"))
}

/// A temp dir with a fresh vault in `<tmp>/vault`; returns the recovery key too.
pub struct TestVault {
    /// Keeps the directory alive.
    pub tmp: tempfile::TempDir,
    /// The vault directory.
    pub dir: PathBuf,
    /// The recovery key printed by `init`.
    pub recovery_key: String,
}

impl TestVault {
    /// Runs `locket init` in a new temp dir.
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("vault");
        let r = run(&dir, &["--passphrase-stdin", "--json", "init"], &format!("{PASS}\n"));
        let doc = r.json();
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let recovery_key = doc["recovery_key"].as_str().unwrap().to_owned();
        TestVault { tmp, dir, recovery_key }
    }

    /// `locket profile set KEY VALUE` (passphrase on stdin), asserting success.
    #[track_caller]
    pub fn set(&self, key: &str, value: &str) {
        run_pw(&self.dir, &["profile", "set", key, value]).ok();
    }

    /// `locket profile get KEY` (passphrase on stdin).
    pub fn get(&self, key: &str) -> Run {
        run_pw(&self.dir, &["profile", "get", key])
    }
}

/// Every file under `dir` (recursively) with its bytes and modification time.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let meta = fs::metadata(&p).unwrap();
                out.insert(p.clone(), (fs::read(&p).unwrap(), meta.modified().unwrap()));
            }
        }
    }
    out
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A path as `&str` for command arguments.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The real endpoint on an ephemeral loopback port, serving the vault in `vault_dir` (unlocked with [`PASS`]);
/// shut down when dropped.
pub struct Server {
    rt: tokio::runtime::Runtime,
    handle: Option<locket_endpoint::ServerHandle>,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
}

impl Server {
    /// Starts the endpoint.
    pub fn start(vault_dir: &Path) -> Server {
        let vault = locket_vault::Vault::unlock(vault_dir, &locket_vault::Passphrase::new(PASS.into())).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let handle = rt.block_on(async {
            let endpoint =
                locket_endpoint::Endpoint::with_vault(locket_endpoint::EndpointConfig::default(), vault).unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            locket_endpoint::spawn(listener, endpoint).unwrap()
        });
        let url = handle.url();
        Server {
            rt,
            handle: Some(handle),
            url,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = self.rt.block_on(h.shutdown());
        }
    }
}
