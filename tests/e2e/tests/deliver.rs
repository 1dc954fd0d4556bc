//! End to end over HTTPS on loopback, with the shipped binaries only: the reference retailer server
//! (`locket-retailer serve`, a development CA) publishes a signed request; the owner's `locket` connects to it,
//! approves, and delivers; the shop's own database (`locket-retailer holdings`) then holds the data. An edit
//! reaches it as a new version; with the shop down the release waits (visibly) and goes out when it is back, at
//! the owner's next session; a revocation erases the shop's copy and nothing more arrives.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use locket_e2e::{bins, free_port};
use serde_json::Value;

const PASS: &str = "correct horse battery staple";

struct World {
    tmp: tempfile::TempDir,
    port: u16,
    server: Option<Child>,
}

impl World {
    fn vault(&self) -> PathBuf {
        self.tmp.path().join("vault")
    }
    fn shop(&self) -> PathBuf {
        self.tmp.path().join("shop")
    }
    fn origin(&self) -> String {
        format!("https://shop.test:{}", self.port)
    }

    fn locket(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(&bins().unwrap().locket);
        cmd.env("LOCKET_VAULT", self.vault())
            .env("LOCKET_KDF_PROFILE", "test")
            .env("LOCKET_NET_EXTRA_CA", self.shop().join("tls/ca.pem"))
            .env("LOCKET_NET_RESOLVE", "shop.test=127.0.0.1")
            .env("LOCKET_NET_ALLOW_LOOPBACK", "1")
            .env("LOCKET_NET_TIMEOUT_MS", "3000")
            .env("XDG_DATA_HOME", self.tmp.path().join("xdg"))
            .env("NO_COLOR", "1")
            .arg("--passphrase-stdin")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("locket runs");
        use std::io::Write as _;
        let _ = writeln!(child.stdin.take().unwrap(), "{PASS}");
        child.wait_with_output().unwrap()
    }

    /// `locket --json ARGS`, asserting success.
    fn ok(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.locket(&all);
        assert!(
            out.status.success(),
            "locket {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    fn retailer(&self, args: &[&str]) -> Output {
        let out = Command::new(&bins().unwrap().retailer).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "locket-retailer {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn start_shop(&mut self) {
        let shop = self.shop();
        let tls = shop.join("tls");
        let child = Command::new(&bins().unwrap().retailer)
            .args([
                "serve",
                "--origin",
                &self.origin(),
                "--listen",
                &format!("127.0.0.1:{}", self.port),
            ])
            .arg("--tls-cert")
            .arg(tls.join("cert.pem"))
            .arg("--tls-key")
            .arg(tls.join("key.pem"))
            .arg("--data")
            .arg(&shop)
            .args(["--name", "Test Shop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.server = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "the shop's server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop_shop(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The shop's holdings: `locket-retailer holdings --json`.
    fn holdings(&self) -> Value {
        let shop = self.shop();
        let out = self.retailer(&["holdings", "--data", path(&shop), "--json"]);
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn pending(&self) -> Vec<Value> {
        self.ok(&["deliveries", "list"])["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["status"] == "pending")
            .cloned()
            .collect()
    }

    /// Makes every waiting delivery due now and runs one pass.
    fn deliver_now(&self) -> Value {
        for d in self.pending() {
            self.ok(&["deliveries", "retry", d["release_id"].as_str().unwrap()]);
        }
        self.ok(&["deliveries", "send"])
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.stop_shop();
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The value the shop holds for `key`, with its version, for the first subject it knows.
fn held(h: &Value, key: &str) -> Option<(String, u64)> {
    let subjects = h["subjects"].as_array()?;
    for s in subjects {
        for g in s["grants"].as_array().into_iter().flatten() {
            for f in g["fields"].as_array().into_iter().flatten() {
                if f["key"] == key {
                    return Some((
                        f["value"].as_str().unwrap_or_default().to_owned(),
                        f["version"].as_u64()?,
                    ));
                }
            }
        }
    }
    None
}

#[test]
fn connect_approve_deliver_update_outage_and_revoke_reach_the_shops_database() {
    let tmp = tempfile::tempdir().unwrap();
    let mut w = World {
        tmp,
        port: free_port().unwrap(),
        server: None,
    };
    let shop = w.shop();
    w.retailer(&["keys", "new", "--data", path(&shop)]);
    w.retailer(&["dev-cert", "--host", "shop.test", "--out", path(&shop.join("tls"))]);
    w.start_shop();
    let init = w.locket(&["--json", "init"]);
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    w.ok(&["profile", "set", "contact.email", "ada@example.org"]);

    // Connect and approve: the grant release waits in the outbox, then reaches the shop's database.
    let published = w.retailer(&[
        "request",
        "publish",
        "--data",
        path(&shop),
        "--require",
        "contact.email=order_fulfilment",
        "--json",
    ]);
    let link = serde_json::from_slice::<Value>(&published.stdout).unwrap()["link"]
        .as_str()
        .unwrap()
        .to_owned();
    let req = w.ok(&["requests", "connect", &link]);
    let request_id = req["id"]
        .as_str()
        .or_else(|| req["request"]["id"].as_str())
        .unwrap()
        .to_owned();
    let grant_file = w.tmp.path().join("grant.json");
    let approved = w.ok(&["grant", "approve", &request_id, "--out", path(&grant_file)]);
    let grant_id = approved["grant"]["id"].as_str().unwrap().to_owned();
    assert_eq!(w.pending().len(), 1);
    assert_eq!(w.ok(&["deliveries", "send"])["delivered"], 1);
    let h = w.holdings();
    assert_eq!(held(&h, "contact.email"), Some(("ada@example.org".into(), 1)), "{h}");

    // An edit reaches it as a new version.
    w.ok(&["profile", "set", "contact.email", "ada@new.example"]);
    assert_eq!(w.deliver_now()["delivered"], 1);
    assert_eq!(
        held(&w.holdings(), "contact.email"),
        Some(("ada@new.example".into(), 2))
    );

    // The shop is down: the update waits with the reason; it goes out when the shop is back (a later session).
    w.stop_shop();
    w.ok(&["profile", "set", "contact.email", "ada@third.example"]);
    let pass = w.deliver_now();
    assert_eq!(pass["retrying"], 1, "{pass}");
    let list = w.locket(&["deliveries", "list"]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains("waiting to deliver since"), "{text}");
    w.start_shop();
    assert_eq!(w.deliver_now()["delivered"], 1);
    assert_eq!(
        held(&w.holdings(), "contact.email"),
        Some(("ada@third.example".into(), 3))
    );

    // Revoke: the shop's copy is erased and nothing more arrives.
    w.ok(&["grant", "revoke", &grant_id]);
    assert_eq!(w.deliver_now()["delivered"], 1);
    let h = w.holdings();
    assert_eq!(held(&h, "contact.email"), None, "{h}");
    let erasures = h["subjects"][0]["erasures"].as_array().cloned().unwrap_or_default();
    assert_eq!(erasures.len(), 1, "{h}");
    assert_eq!(erasures[0]["reason"], "revoke");
    w.ok(&["profile", "set", "contact.email", "ada@after.example"]);
    assert!(w.pending().is_empty(), "a revoked grant queued more");
}
