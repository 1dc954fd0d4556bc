//! A small blocking W3C WebDriver client: just what the Locket scenarios need.
//!
//! It talks to `tauri-driver`, which forwards to `WebKitWebDriver`, which drives the app's web view.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use crate::{E2eError, Result};

/// The W3C key under which a web element reference travels.
const ELEMENT_KEY: &str = "element-6066-11e4-a52f-4ab5-a4c7-d3f5-d4e3";

/// How long `wait_*` helpers wait by default before giving up.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(20);

/// Time between two polls of a `wait_*` helper.
const POLL: Duration = Duration::from_millis(100);

/// Keys for [`Element::send_keys`] (W3C "normalized key values").
pub mod keys {
    /// The Enter key.
    pub const ENTER: &str = "\u{E007}";
    /// The Tab key.
    pub const TAB: &str = "\u{E004}";
    /// The Escape key.
    pub const ESCAPE: &str = "\u{E00C}";
    /// The space bar.
    pub const SPACE: &str = "\u{E00D}";
    /// The Backspace key.
    pub const BACKSPACE: &str = "\u{E003}";
    /// The Control modifier (stays pressed until [`NULL`]).
    pub const CONTROL: &str = "\u{E009}";
    /// Releases all modifiers.
    pub const NULL: &str = "\u{E000}";
}

/// One WebDriver session (one running instance of the app).
pub struct Session {
    http: reqwest::blocking::Client,
    base: String,
    id: String,
    closed: bool,
}

/// A reference to an element of the page.
#[derive(Clone)]
pub struct Element<'s> {
    session: &'s Session,
    id: String,
    /// What was looked up (for error messages).
    what: String,
}

impl std::fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Element({})", self.what)
    }
}

/// CSS selector for `data-testid="id"`.
pub fn testid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

impl Session {
    /// Start a new session on the driver at `base` (e.g. `http://127.0.0.1:4444`) that launches
    /// `application` with `args`. The request is bounded by `timeout`: a hung start fails instead
    /// of blocking the suite.
    pub fn start(base: &str, application: &Path, args: &[String], timeout: Duration) -> Result<Session> {
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "wry",
                    "tauri:options": { "application": application, "args": args }
                }
            }
        });
        Session::start_with(base, &caps, timeout)
            .map_err(|e| E2eError::Setup(format!("launching {}: {e}", application.display())))
    }

    /// Start a session with explicit new-session capabilities (the whole request body).
    pub fn start_with(base: &str, capabilities: &Value, timeout: Duration) -> Result<Session> {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| E2eError::Http(format!("cannot build HTTP client: {e}")))?;
        let resp = http
            .post(format!("{base}/session"))
            .timeout(timeout)
            .json(capabilities)
            .send()
            .map_err(|e| E2eError::Http(format!("POST /session: {e}")))?;
        let value = decode(resp, "POST /session")?;
        let id = value
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| E2eError::Protocol(format!("no sessionId in new-session reply: {value}")))?
            .to_owned();
        Ok(Session {
            http,
            base: base.to_owned(),
            id,
            closed: false,
        })
    }

    /// The session id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{}", self.base, self.id, path)
    }

    fn get(&self, path: &str) -> Result<Value> {
        let what = format!("GET {path}");
        let resp = self
            .http
            .get(self.url(path))
            .send()
            .map_err(|e| E2eError::Http(format!("{what}: {e}")))?;
        decode(resp, &what)
    }

    fn post(&self, path: &str, body: Value) -> Result<Value> {
        let what = format!("POST {path}");
        let resp = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .map_err(|e| E2eError::Http(format!("{what}: {e}")))?;
        decode(resp, &what)
    }

    /// End the session: WebKitWebDriver closes the app. Safe to call twice.
    pub fn close(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        let resp = self
            .http
            .delete(self.url(""))
            .timeout(Duration::from_secs(15))
            .send()
            .map_err(|e| E2eError::Http(format!("DELETE session: {e}")))?;
        decode(resp, "DELETE session").map(|_| ())
    }

    /// The handles of the session's top-level browsing contexts (windows).
    pub fn window_handles(&self) -> Result<Vec<String>> {
        let v = self.get("/window/handles")?;
        Ok(v.as_array()
            .map(|a| a.iter().filter_map(|h| h.as_str().map(str::to_owned)).collect())
            .unwrap_or_default())
    }

    /// Makes the window `handle` the current browsing context.
    pub fn switch_to_window(&self, handle: &str) -> Result<()> {
        self.post("/window", json!({ "handle": handle })).map(|_| ())
    }

    /// Loads `url` in the current browsing context (waits for the page load, as WebDriver does).
    pub fn navigate(&self, url: &str) -> Result<()> {
        self.post("/url", json!({ "url": url })).map(|_| ())
    }

    /// The first element matching a CSS selector, right now.
    pub fn find(&self, css: &str) -> Result<Element<'_>> {
        let v = self.post("/element", json!({"using": "css selector", "value": css}))?;
        Ok(Element {
            session: self,
            id: element_id(&v)?,
            what: css.to_owned(),
        })
    }

    /// All elements matching a CSS selector, right now (possibly none).
    pub fn find_all(&self, css: &str) -> Result<Vec<Element<'_>>> {
        let v = self.post("/elements", json!({"using": "css selector", "value": css}))?;
        let list = v
            .as_array()
            .ok_or_else(|| E2eError::Protocol(format!("elements reply is not a list: {v}")))?;
        list.iter()
            .map(|e| {
                Ok(Element {
                    session: self,
                    id: element_id(e)?,
                    what: css.to_owned(),
                })
            })
            .collect()
    }

    /// The element with `data-testid="id"`, waiting for it to appear (up to [`DEFAULT_WAIT`]).
    pub fn tid(&self, id: &str) -> Result<Element<'_>> {
        self.wait_for(&testid(id))
    }

    /// Click the displayed element with `data-testid="id"`, waiting while something covers it (a
    /// toast, a closing dialog) — as a person waits before clicking.
    pub fn press(&self, id: &str) -> Result<()> {
        self.click_when_clear(&testid(id))
    }

    /// Click the label of a (possibly visually hidden) radio button or checkbox with
    /// `data-testid="id"`, as a person clicks the visible chip or row.
    pub fn pick(&self, id: &str) -> Result<()> {
        self.click_when_clear(&format!("label:has({})", testid(id)))
    }

    /// Click the first displayed element matching `css`, retrying while another element would
    /// receive the click.
    pub fn click_when_clear(&self, css: &str) -> Result<()> {
        self.wait_until(&format!("{css} to be clickable"), |s| {
            let el = s.wait_for(css)?;
            match el.click() {
                Ok(()) => Ok(Some(())),
                Err(E2eError::WebDriver { error, .. })
                    if error == "element click intercepted" || error == "element not interactable" =>
                {
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        })
    }

    /// Wait until an element matching `css` exists and is displayed, then return it.
    pub fn wait_for(&self, css: &str) -> Result<Element<'_>> {
        self.wait_for_within(css, DEFAULT_WAIT)
    }

    /// [`Session::wait_for`] with an explicit timeout.
    pub fn wait_for_within(&self, css: &str, timeout: Duration) -> Result<Element<'_>> {
        self.wait_until_within(&format!("element {css} to be displayed"), timeout, |s| {
            for el in s.find_all(css)? {
                if el.displayed()? {
                    return Ok(Some(el.id));
                }
            }
            Ok(None)
        })
        .map(|id| Element {
            session: self,
            id,
            what: css.to_owned(),
        })
    }

    /// Wait until no displayed element matches `css`.
    pub fn wait_gone(&self, css: &str) -> Result<()> {
        self.wait_until(&format!("element {css} to disappear"), |s| {
            for el in s.find_all(css)? {
                match el.displayed() {
                    Ok(true) => return Ok(None),
                    Ok(false) => {}
                    Err(_) => {} // went stale: it is gone
                }
            }
            Ok(Some(()))
        })
    }

    /// Wait until the text of the element matching `css` contains `needle`; returns the full text.
    pub fn wait_text(&self, css: &str, needle: &str) -> Result<String> {
        let mut last = String::new();
        let r = self.wait_until(&format!("text of {css} to contain {needle:?}"), |s| {
            for el in s.find_all(css)? {
                let t = el.text().unwrap_or_default();
                if t.contains(needle) {
                    return Ok(Some(t));
                }
                last = t;
            }
            Ok(None)
        });
        r.map_err(|e| match e {
            E2eError::Timeout(m) => E2eError::Timeout(format!("{m}; last text seen: {last:?}")),
            other => other,
        })
    }

    /// Poll `check` until it yields `Some`, up to [`DEFAULT_WAIT`]. Errors from `check` (e.g. a
    /// stale element while the page re-renders) count as "not yet"; the last one is reported on
    /// timeout.
    pub fn wait_until<T>(&self, what: &str, check: impl FnMut(&Session) -> Result<Option<T>>) -> Result<T> {
        self.wait_until_within(what, DEFAULT_WAIT, check)
    }

    /// [`Session::wait_until`] with an explicit timeout.
    pub fn wait_until_within<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&Session) -> Result<Option<T>>,
    ) -> Result<T> {
        let deadline = Instant::now() + timeout;
        let mut last_err = None;
        loop {
            match check(self) {
                Ok(Some(v)) => return Ok(v),
                Ok(None) => {}
                Err(e @ (E2eError::Http(_) | E2eError::Io(_))) => return Err(e),
                Err(e) => last_err = Some(e),
            }
            if Instant::now() >= deadline {
                let tail = last_err.map(|e| format!(" (last error: {e})")).unwrap_or_default();
                return Err(E2eError::Timeout(format!("waited {timeout:?} for {what}{tail}")));
            }
            thread::sleep(POLL);
        }
    }

    /// Type `text` on the keyboard into whatever has the focus (WebDriver key actions; use
    /// [`keys`] for Tab, Enter, ...), as a keyboard-only user does.
    pub fn type_keys(&self, text: &str) -> Result<()> {
        let mut actions = Vec::new();
        for c in text.chars() {
            actions.push(json!({"type": "keyDown", "value": c.to_string()}));
            actions.push(json!({"type": "keyUp", "value": c.to_string()}));
        }
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        )?;
        self.delete_actions()
    }

    fn delete_actions(&self) -> Result<()> {
        let what = "DELETE /actions";
        let resp = self
            .http
            .delete(self.url("/actions"))
            .send()
            .map_err(|e| E2eError::Http(format!("{what}: {e}")))?;
        decode(resp, what).map(|_| ())
    }

    /// The `data-testid` of the focused element (empty when it has none).
    pub fn focused_testid(&self) -> Result<String> {
        let v = self.execute(
            "return document.activeElement ? (document.activeElement.dataset.testid || '') : ''",
            vec![],
        )?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Press Tab until the element with `data-testid="id"` has the focus (at most `max` times).
    pub fn tab_to(&self, id: &str, max: usize) -> Result<()> {
        for _ in 0..max {
            if self.focused_testid()? == id {
                return Ok(());
            }
            self.type_keys(keys::TAB)?;
        }
        if self.focused_testid()? == id {
            return Ok(());
        }
        Err(E2eError::Check(format!(
            "{id} cannot be reached with Tab (tried {max} times)"
        )))
    }

    /// Run a synchronous script in the page; `arguments[i]` are `args` (elements may be passed
    /// with [`Element::to_arg`]). Returns the script's return value.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.post("/execute/sync", json!({"script": script, "args": args}))
    }

    /// Run an asynchronous script: the last argument is a callback to call with the result.
    pub fn execute_async(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.post("/execute/async", json!({"script": script, "args": args}))
    }

    /// The document title.
    pub fn title(&self) -> Result<String> {
        Ok(self.get("/title")?.as_str().unwrap_or_default().to_owned())
    }

    /// The page's current URL.
    pub fn current_url(&self) -> Result<String> {
        Ok(self.get("/url")?.as_str().unwrap_or_default().to_owned())
    }

    /// Take a screenshot of the window (PNG bytes).
    pub fn screenshot_png(&self) -> Result<Vec<u8>> {
        let v = self.get("/screenshot")?;
        let b64 = v
            .as_str()
            .ok_or_else(|| E2eError::Protocol("screenshot reply is not a string".into()))?;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| E2eError::Protocol(format!("screenshot is not base64: {e}")))
    }

    /// Set the window size (outer size, in CSS pixels).
    pub fn set_window_size(&self, width: u32, height: u32) -> Result<()> {
        self.post("/window/rect", json!({"width": width, "height": height}))
            .map(|_| ())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

impl<'s> Element<'s> {
    fn path(&self, rest: &str) -> String {
        format!("/element/{}{}", self.id, rest)
    }

    /// The element as a script argument for [`Session::execute`].
    pub fn to_arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    /// Click it (scrolls it into view first, as WebDriver does).
    pub fn click(&self) -> Result<()> {
        self.session.post(&self.path("/click"), json!({})).map(|_| ())
    }

    /// Type text into it (real key events).
    pub fn send_keys(&self, text: &str) -> Result<()> {
        self.session
            .post(&self.path("/value"), json!({"text": text}))
            .map(|_| ())
    }

    /// Empty an input the way a person does — select all, then Backspace — so frameworks that
    /// listen to input events (React) see the change. (WebDriver's own "clear" changes the DOM
    /// value behind React's back.)
    pub fn clear(&self) -> Result<()> {
        self.send_keys(&format!("{}a{}{}", keys::CONTROL, keys::NULL, keys::BACKSPACE))
    }

    /// WebDriver's "element clear" (sets the DOM value directly, fires only `change`).
    pub fn clear_dom(&self) -> Result<()> {
        self.session.post(&self.path("/clear"), json!({})).map(|_| ())
    }

    /// Replace an input's content: [`Element::clear`], then type `text`.
    pub fn set_text(&self, text: &str) -> Result<()> {
        self.clear()?;
        self.send_keys(text)
    }

    /// Its rendered text.
    pub fn text(&self) -> Result<String> {
        Ok(self
            .session
            .get(&self.path("/text"))?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// An HTML attribute (`None` when absent).
    pub fn attr(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .session
            .get(&self.path(&format!("/attribute/{name}")))?
            .as_str()
            .map(str::to_owned))
    }

    /// A DOM property (e.g. `value`, `checked`).
    pub fn prop(&self, name: &str) -> Result<Value> {
        self.session.get(&self.path(&format!("/property/{name}")))
    }

    /// Whether it is displayed.
    pub fn displayed(&self) -> Result<bool> {
        Ok(self.session.get(&self.path("/displayed"))?.as_bool().unwrap_or(false))
    }

    /// Whether it is enabled (not `disabled`).
    pub fn enabled(&self) -> Result<bool> {
        Ok(self.session.get(&self.path("/enabled"))?.as_bool().unwrap_or(false))
    }

    /// Whether a checkbox/radio/option is selected.
    pub fn selected(&self) -> Result<bool> {
        Ok(self.session.get(&self.path("/selected"))?.as_bool().unwrap_or(false))
    }

    /// The first descendant matching `css`.
    pub fn find(&self, css: &str) -> Result<Element<'s>> {
        let v = self
            .session
            .post(&self.path("/element"), json!({"using": "css selector", "value": css}))?;
        Ok(Element {
            session: self.session,
            id: element_id(&v)?,
            what: format!("{} {css}", self.what),
        })
    }

    /// All descendants matching `css`.
    pub fn find_all(&self, css: &str) -> Result<Vec<Element<'s>>> {
        let v = self
            .session
            .post(&self.path("/elements"), json!({"using": "css selector", "value": css}))?;
        let list = v
            .as_array()
            .ok_or_else(|| E2eError::Protocol(format!("elements reply is not a list: {v}")))?;
        list.iter()
            .map(|e| {
                Ok(Element {
                    session: self.session,
                    id: element_id(e)?,
                    what: format!("{} {css}", self.what),
                })
            })
            .collect()
    }
}

/// Extract the element reference from a find reply.
fn element_id(v: &Value) -> Result<String> {
    v.as_object()
        .and_then(|o| o.get(ELEMENT_KEY).or_else(|| o.values().next()))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| E2eError::Protocol(format!("not an element reference: {v}")))
}

/// Decode a WebDriver reply: `{"value": ...}` on success, `{"value": {"error", "message"}}` on failure.
fn decode(resp: reqwest::blocking::Response, what: &str) -> Result<Value> {
    let status = resp.status();
    let text = resp
        .text()
        .map_err(|e| E2eError::Http(format!("{what}: reading reply: {e}")))?;
    let body: Value = serde_json::from_str(&text)
        .map_err(|_| E2eError::Protocol(format!("{what}: HTTP {status}, not JSON: {}", truncate(&text, 400))))?;
    let value = body.get("value").cloned().unwrap_or(Value::Null);
    if status.is_success() {
        // Legacy new-session replies carry sessionId at the top level.
        if let (Some(sid), Value::Object(mut o)) = (body.get("sessionId"), value.clone()) {
            o.entry("sessionId").or_insert(sid.clone());
            return Ok(Value::Object(o));
        }
        return Ok(value);
    }
    let error = value
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("unknown error")
        .to_owned();
    let message = value.get("message").and_then(Value::as_str).unwrap_or("").to_owned();
    Err(E2eError::WebDriver {
        what: what.to_owned(),
        error,
        message: truncate(&message, 600),
    })
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}
