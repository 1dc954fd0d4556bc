//! The reference retailer server, as a shop's developer runs it: `keys new` → `dev-cert` → `serve` (the real
//! binary, real TLS on a loopback port) → `request publish`, then Locket's side of the exchange — fetching the
//! metadata and the request object over HTTPS trusting the development CA, and checking both with the wire
//! crate's own `parse_metadata` and `verify_request_object`.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use locket_wire::metadata::parse_metadata;
use locket_wire::request_object::verify_request_object;

pub(crate) fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_locket-retailer"))
}

pub(crate) fn run(args: &[&str]) -> Output {
    bin().args(args).stdin(Stdio::null()).output().unwrap()
}

pub(crate) fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

pub(crate) fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// A free loopback port: the origin must carry the port before the server is started.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `locket-retailer serve`, killed if the test ends without stopping it.
pub(crate) struct Running {
    child: Option<Child>,
    stderr: Arc<Mutex<String>>,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = bin()
            .arg("serve")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut running = Running {
            child: Some(child),
            stderr,
        };
        loop {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) if line.starts_with("listening on https://") => return running,
                Ok(_) => {}
                Err(e) => {
                    let status = running.child.as_mut().unwrap().try_wait().unwrap();
                    panic!("serve did not start ({e}, {status:?}): {}", running.stderr());
                }
            }
        }
    }

    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Close stdin (the server stops when its parent's pipe closes) and wait for a clean exit.
    pub(crate) fn stop(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        drop(child.stdin.take());
        wait_briefly(child)
    }

    /// Send SIGTERM (stdin stays open) and wait for a clean exit.
    #[cfg(unix)]
    fn terminate(mut self) -> std::process::ExitStatus {
        let child = self.child.take().unwrap();
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        wait_briefly(child)
    }
}

/// The child's exit status within 10 s, or it is killed and the test fails.
fn wait_briefly(mut child: Child) -> std::process::ExitStatus {
    for _ in 0..200 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("serve did not stop within 10 s");
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// An HTTPS client that trusts only the development CA and finds `shop.test` on the loopback port — what
/// Locket does with `LOCKET_NET_EXTRA_CA` and `LOCKET_NET_RESOLVE`.
fn client(ca: &Path, addr: SocketAddr) -> reqwest::blocking::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .resolve("shop.test", addr)
        // Shorter than the server's 10 s handshake timeout: a fetch that had to wait behind a stalled client's
        // handshake would fail.
        .timeout(Duration::from_secs(8))
        .build()
        .unwrap()
}

pub(crate) struct Shop {
    _tmp: tempfile::TempDir,
    pub(crate) data: PathBuf,
    tls: PathBuf,
    pub(crate) port: u16,
    pub(crate) origin: String,
    signing_kid: String,
}

/// `keys new` and `dev-cert` in a fresh directory, with their checks.
pub(crate) fn shop() -> Shop {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("shop");
    let tls = tmp.path().join("tls");

    let o = run(&["keys", "new", "--data", s(&data), "--json"]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    let keys: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let signing_kid = keys["signing"]["kid"].as_str().unwrap().to_owned();
    assert!(signing_kid.starts_with("sig-"), "{stdout}");
    assert_eq!(keys["signing"]["thumbprint"].as_str().unwrap().len(), 43, "{stdout}");
    assert!(
        keys["encryption"]["kid"].as_str().unwrap().starts_with("enc-"),
        "{stdout}"
    );
    assert!(!stdout.contains("\"d\""), "no private key member is printed: {stdout}");

    let o = run(&["dev-cert", "--host", "shop.test", "--out", s(&tls)]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    let ca = std::fs::canonicalize(tls.join("ca.pem")).unwrap();
    assert!(
        stdout.contains(&format!(
            "LOCKET_NET_EXTRA_CA={} LOCKET_NET_RESOLVE=shop.test=127.0.0.1 LOCKET_NET_ALLOW_LOOPBACK=1",
            ca.display()
        )),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(tls.join("cert.pem"))
            .unwrap()
            .matches("BEGIN CERTIFICATE")
            .count(),
        2,
        "server certificate + CA"
    );
    #[cfg(unix)]
    assert_eq!(mode(&tls.join("key.pem")), 0o600);

    let port = free_port();
    Shop {
        _tmp: tmp,
        origin: format!("https://shop.test:{port}"),
        data,
        tls,
        port,
        signing_kid,
    }
}

impl Shop {
    pub(crate) fn serve(&self, extra: &[&str]) -> Running {
        let listen = format!("127.0.0.1:{}", self.port);
        let (cert, key) = (self.tls.join("cert.pem"), self.tls.join("key.pem"));
        let mut args = vec![
            "--origin",
            &self.origin,
            "--listen",
            &listen,
            "--tls-cert",
            s(&cert),
            "--tls-key",
            s(&key),
            "--data",
            s(&self.data),
        ];
        args.extend(extra);
        Running::start(&args)
    }

    fn publish(&self, extra: &[&str]) -> Output {
        let mut args = vec!["request", "publish", "--data", s(&self.data)];
        args.extend(extra);
        run(&args)
    }

    pub(crate) fn client(&self) -> reqwest::blocking::Client {
        client(&self.tls.join("ca.pem"), SocketAddr::from(([127, 0, 0, 1], self.port)))
    }
}

#[test]
fn keys_are_owner_only_and_never_overwritten() {
    let shop = shop();
    let keys = shop.data.join("keys.json");
    #[cfg(unix)]
    {
        assert_eq!(mode(&keys), 0o600);
        assert_eq!(mode(&shop.data), 0o700);
    }
    let before = std::fs::read(&keys).unwrap();
    let o = run(&["keys", "new", "--data", s(&shop.data)]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("[file_exists]"), "{stderr}");
    assert_eq!(std::fs::read(&keys).unwrap(), before, "the keys file is untouched");

    let o = run(&["keys", "new", "--data", s(&shop.data), "--force"]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(stdout.contains("kid sig-") && stdout.contains("thumbprint"), "{stdout}");
    assert_ne!(std::fs::read(&keys).unwrap(), before, "--force makes new keys");
    #[cfg(unix)]
    assert_eq!(mode(&keys), 0o600);
    let names: Vec<_> = std::fs::read_dir(&shop.data)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["keys.json"], "no temporary file is left behind");
}

#[test]
fn a_shop_serves_metadata_and_one_time_signed_requests_that_locket_accepts() {
    let shop = shop();

    // Before `serve` recorded the shop's details there is nothing to publish for.
    let o = shop.publish(&["--require", "contact.email=order_fulfilment"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("[retailer_shop_missing]"), "{}", text(&o).1);

    let server = shop.serve(&["--name", "Test Shop", "--contact", "privacy@shop.test"]);
    let recorded: serde_json::Value =
        serde_json::from_slice(&std::fs::read(shop.data.join("shop.json")).unwrap()).unwrap();
    assert_eq!(recorded["origin"], shop.origin.as_str());
    assert_eq!(recorded["name"], "Test Shop");
    #[cfg(unix)]
    assert_eq!(mode(&shop.data.join("shop.json")), 0o600);

    // A client that connects and never starts its TLS handshake holds up nobody.
    let _stalled = std::net::TcpStream::connect(("127.0.0.1", shop.port)).unwrap();

    let http = shop.client();
    let well_known = format!("{}/.well-known/locket-retailer.json", shop.origin);
    let resp = http.get(&well_known).send().unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body = resp.bytes().unwrap();
    let metadata = parse_metadata(&body, &shop.origin).unwrap();
    assert_eq!(metadata.retailer_id(), "shop.test");
    assert_eq!(metadata.name, "Test Shop");
    assert_eq!(metadata.privacy_policy, format!("{}/privacy", shop.origin));
    assert_eq!(metadata.delivery_url, format!("{}/locket/deliveries", shop.origin));
    assert!(metadata.jwks.signing_key(&shop.signing_kid).is_some());

    // Publish: the link on the first line, then the QR code of exactly that link.
    let o = shop.publish(&[
        "--require",
        "contact.email=order_fulfilment",
        "--scope",
        "sizes=other:fit advice",
        "--retention",
        "P90D",
        "--statement",
        "We keep your email 90 days after delivery.",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    let (link, qr) = stdout.split_once('\n').unwrap();
    let parsed = url::Url::parse(link).unwrap();
    assert_eq!((parsed.scheme(), parsed.host_str()), ("locket", Some("connect")));
    let request_uri = parsed
        .query_pairs()
        .find(|(k, _)| k == "request_uri")
        .unwrap()
        .1
        .into_owned();
    assert!(
        request_uri.starts_with(&format!("{}/locket/requests/", shop.origin)),
        "{request_uri}"
    );
    assert!(
        link.contains("request_uri=https%3A%2F%2Fshop.test%3A"),
        "percent-encoded: {link}"
    );
    assert!(
        qr.contains('\u{2588}') && qr.contains('\u{2580}') && qr.contains('\u{2584}'),
        "{qr}"
    );
    assert_eq!(
        qr.trim_end_matches('\n'),
        locket_retailer_server::publish::qr_text(link, false).unwrap(),
        "the QR code is of the link"
    );
    assert!(qr.lines().next().unwrap().trim().is_empty(), "quiet zone on top");

    // Locket's side: fetch and verify.
    let resp = http.get(&request_uri).send().unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/jwt");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let jws = resp.bytes().unwrap();
    let verified = verify_request_object(&jws, &metadata, &request_uri, Utc::now()).unwrap();
    assert_eq!(verified.key_id, shop.signing_kid);
    assert_eq!(verified.request.retailer.id, "shop.test");
    assert_eq!(verified.request.retailer.origin, shop.origin);
    assert_eq!(verified.request.retailer.name, "Test Shop");
    assert_eq!(verified.request.retention.max_duration, "P90D");
    assert_eq!(verified.request.scopes.len(), 2);
    assert!(verified.request.scopes[0].required && !verified.request.scopes[1].required);
    assert!(verified.state.len() >= 16);
    assert!((verified.expires_at - verified.issued_at).num_seconds() == 600);

    // One time only.
    let again = http.get(&request_uri).send().unwrap();
    assert_eq!(again.status(), 404);
    assert_eq!(again.headers()["cache-control"], "no-store");

    // An expired one: 410, and then it is gone.
    let o = shop.publish(&[
        "--require",
        "contact.email=order_fulfilment",
        "--ttl",
        "1s",
        "--state",
        "order-4711-abcdefghijkl",
        "--json",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    let out: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(out["state"], "order-4711-abcdefghijkl");
    let expired_uri = out["request_uri"].as_str().unwrap().to_owned();
    assert_eq!(
        out["link"].as_str().unwrap(),
        locket_retailer_server::publish::connect_link(&expired_uri)
    );
    let expires_at: chrono::DateTime<Utc> = out["expires_at"].as_str().unwrap().parse().unwrap();
    let wait = (expires_at - Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(200);
    std::thread::sleep(wait);
    assert_eq!(http.get(&expired_uri).send().unwrap().status(), 410);
    assert_eq!(http.get(&expired_uri).send().unwrap().status(), 404);

    // Ids that are not request ids, the pages, and a delivery without its headers.
    for bad in ["..%2Fkeys.json", "keys", "AAAAAAAAAAAAAAAAAAAAAA"] {
        let resp = http
            .get(format!("{}/locket/requests/{bad}", shop.origin))
            .send()
            .unwrap();
        assert_eq!(resp.status(), 404, "{bad}");
    }
    let index = http.get(format!("{}/", shop.origin)).send().unwrap();
    assert_eq!(index.status(), 200);
    let index = index.text().unwrap();
    assert!(
        index.contains("Test Shop") && index.contains("request publish"),
        "{index}"
    );
    let privacy = http.get(&metadata.privacy_policy).send().unwrap();
    assert_eq!(privacy.status(), 200);
    assert!(privacy.text().unwrap().contains("privacy@shop.test"));
    let delivery = http.post(&metadata.delivery_url).body("{}").send().unwrap();
    assert_eq!(delivery.status(), 400);
    let refusal: serde_json::Value = delivery.json().unwrap();
    assert_eq!(refusal["code"], "release_headers_invalid", "{refusal}");

    // Plain HTTP on the TLS port gets nowhere.
    let plain = reqwest::blocking::Client::new()
        .get(format!("http://127.0.0.1:{}/", shop.port))
        .timeout(Duration::from_secs(5))
        .send();
    assert!(plain.map(|r| !r.status().is_success()).unwrap_or(true));

    drop(http);
    let log = server.stderr();
    let id = request_uri.rsplit('/').next().unwrap();
    assert!(log.contains("\"GET /locket/requests/"), "{log}");
    assert!(log.contains(" 410 ") && log.contains(" 404 "), "{log}");
    assert!(!log.contains(id), "request ids are not logged in full: {log}");
    let status = server.stop();
    assert!(status.success(), "clean exit when stdin closes: {status:?}");
}

#[test]
fn serve_refuses_what_it_cannot_use() {
    let shop = shop();
    let listen = format!("127.0.0.1:{}", shop.port);
    let cert = shop.tls.join("cert.pem");
    let key = shop.tls.join("key.pem");
    let serve = |origin: &str, cert: &Path, key: &Path, data: &Path| {
        run(&[
            "serve",
            "--origin",
            origin,
            "--listen",
            &listen,
            "--tls-cert",
            s(cert),
            "--tls-key",
            s(key),
            "--data",
            s(data),
        ])
    };
    let code_of = |o: &Output| {
        let e = text(o).1;
        e.split_once('[')
            .and_then(|(_, r)| r.split_once(']'))
            .map(|(c, _)| c.to_owned())
            .unwrap_or(e)
    };
    let o = serve(&shop.origin, &cert, &key, &shop.data.join("nowhere"));
    assert_eq!(code_of(&o), "retailer_keys_missing");
    let o = serve(&shop.origin, &key, &cert, &shop.data);
    assert_eq!(code_of(&o), "tls_files_invalid");
    let o = serve("http://shop.test", &cert, &key, &shop.data);
    assert_eq!(code_of(&o), "invalid_argument");
    let busy = std::net::TcpListener::bind(&listen).unwrap();
    let o = serve(&shop.origin, &cert, &key, &shop.data);
    assert_eq!(code_of(&o), "server_bind_failed");
    drop(busy);
    assert!(
        !shop.data.join("shop.json").exists(),
        "nothing recorded when serve could not start"
    );
}

#[cfg(unix)]
#[test]
fn serve_stops_cleanly_on_sigterm() {
    let shop = shop();
    let server = shop.serve(&[]);
    let resp = shop
        .client()
        .get(format!("{}/.well-known/locket-retailer.json", shop.origin))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    // stdin stays open: the signal alone stops it (`wait_briefly` fails the test otherwise).
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
}
