//! Locket's one way out to the internet: HTTPS GETs (and, for deliveries, POSTs) to URLs a retailer supplied,
//! with the guards every such URL gets.
//!
//! - **https only**, to a domain name (address literals are refused by [`locket_wire::metadata::web_origin`]);
//! - **no redirects off the origin** (at most [`MAX_REDIRECTS`] on it);
//! - **public addresses only**: a name that resolves to a loopback, private, link-local, shared, multicast or
//!   otherwise special address is refused (`connect_address_refused`), whatever else it resolves to, so a shop's
//!   site cannot point Locket at the owner's router or at a service on the laptop; the check is made on the
//!   addresses actually connected to (a resolver of our own), so DNS rebinding between check and use gains
//!   nothing;
//! - **timeouts** for connecting and for the whole exchange, and a **size cap** on every answer;
//! - **no proxies** from the environment (a proxy would connect on our behalf, past the address check).
//!
//! [`NetPolicy::from_env`] reads the documented test settings, which only tests and developers set:
//! `LOCKET_NET_ALLOW_LOOPBACK=1` lets loopback addresses through (and nothing else that is private),
//! `LOCKET_NET_EXTRA_CA=FILE` trusts one more certificate authority (PEM) besides the system's,
//! `LOCKET_NET_RESOLVE=host=ip[,host=ip…]` answers those names without DNS (the address is still checked), and
//! `LOCKET_NET_TIMEOUT_MS` shortens the overall timeout.
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{AppError, AppResult};

/// Most redirects followed (each on the same origin).
pub const MAX_REDIRECTS: usize = 3;
/// Time allowed to connect (TCP and TLS).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for a whole exchange, answer body included.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(15);

/// A request to a retailer's URL was refused or failed. [`code`](NetError::code) is the stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// Not an https URL on a domain name.
    #[error("{0}")]
    NotHttps(String),
    /// The name resolves to an address Locket does not connect to.
    #[error("{host} resolves to {address}, a {class} address; Locket only connects to shops on the public internet")]
    AddressRefused {
        /// The host name.
        host: String,
        /// The address refused.
        address: String,
        /// What sort of address.
        class: &'static str,
    },
    /// A redirect to another origin (or too many).
    #[error("{0}")]
    RedirectRefused(String),
    /// No answer in time.
    #[error("{0} did not answer in time")]
    Timeout(String),
    /// The answer is over the cap.
    #[error("{url} answered with more than {max} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The cap.
        max: usize,
    },
    /// The TLS handshake failed (an untrusted or wrong certificate).
    #[error("the secure connection to {host} failed: {detail}")]
    Tls {
        /// The host.
        host: String,
        /// What failed.
        detail: String,
    },
    /// The name does not resolve or the server refused the connection.
    #[error("{host} cannot be reached: {detail}")]
    Unreachable {
        /// The host.
        host: String,
        /// What failed.
        detail: String,
    },
    /// The server answered with a status other than the one expected.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status received.
        status: u16,
    },
    /// The settings for the network are wrong (a test setting).
    #[error("{0}")]
    Settings(String),
}

impl NetError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            NetError::NotHttps(_) => "connect_not_https",
            NetError::AddressRefused { .. } => "connect_address_refused",
            NetError::RedirectRefused(_) => "connect_redirect_refused",
            NetError::Timeout(_) => "connect_timeout",
            NetError::TooLarge { .. } => "connect_too_large",
            NetError::Tls { .. } => "connect_tls_failed",
            NetError::Unreachable { .. } => "connect_unreachable",
            NetError::Status { .. } => "connect_http_status",
            NetError::Settings(_) => "connect_settings_invalid",
        }
    }
}

impl From<NetError> for AppError {
    fn from(e: NetError) -> AppError {
        AppError::new(e.code(), e.to_string())
    }
}

/// Status, final URL and content type of an answer.
fn head_of(response: &reqwest::Response) -> (u16, String, Option<String>) {
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (response.status().as_u16(), response.url().to_string(), content_type)
}

/// Reads at most `max` bytes of an answer's body: beyond that, `connect_too_large` when `strict`, else the
/// bytes that fit.
async fn read_body(
    mut response: reqwest::Response,
    max: usize,
    host: &str,
    url: &str,
    strict: bool,
) -> Result<Vec<u8>, NetError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e, host, url))? {
        if body.len() + chunk.len() > max {
            if strict {
                return Err(NetError::TooLarge {
                    url: url.to_owned(),
                    max,
                });
            }
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// What sort of address `ip` is, if Locket refuses to connect to it; `None` for a public unicast address.
pub fn special_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_private() {
                Some("private")
            } else if v4.is_link_local() {
                Some("link-local")
            } else if o[0] == 100 && (64..128).contains(&o[1]) {
                Some("shared (carrier-grade NAT)")
            } else if v4.is_unspecified() || o[0] == 0 {
                Some("unspecified")
            } else if v4.is_multicast() || v4.is_broadcast() || o[0] >= 240 {
                Some("multicast or reserved")
            } else if v4.is_documentation()
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
            {
                Some("reserved")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return special_address(IpAddr::V4(v4));
            }
            let s = v6.segments();
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if (s[0] & 0xfe00) == 0xfc00 {
                Some("private")
            } else if (s[0] & 0xffc0) == 0xfe80 {
                Some("link-local")
            } else if v6.is_multicast() {
                Some("multicast or reserved")
            } else if s[0] == 0x2001 && s[1] == 0x0db8 || s[0] == 0x0064 && s[1] == 0xff9b || s[0] == 0x2002 {
                Some("reserved")
            } else {
                None
            }
        }
    }
}

/// How Locket reaches retailers: the guards' settings.
#[derive(Clone)]
pub struct NetPolicy {
    /// Let loopback addresses through (tests and developers only).
    pub allow_loopback: bool,
    /// Extra trusted certificate authorities (PEM), besides the system's.
    pub extra_ca_pem: Vec<Vec<u8>>,
    /// Names answered without DNS (the addresses are still checked).
    pub resolve: Vec<(String, IpAddr)>,
    /// Overall timeout of one exchange.
    pub total_timeout: Duration,
}

impl std::fmt::Debug for NetPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetPolicy")
            .field("allow_loopback", &self.allow_loopback)
            .field("extra_ca", &self.extra_ca_pem.len())
            .field("resolve", &self.resolve)
            .field("total_timeout", &self.total_timeout)
            .finish()
    }
}

impl Default for NetPolicy {
    fn default() -> NetPolicy {
        NetPolicy {
            allow_loopback: false,
            extra_ca_pem: Vec::new(),
            resolve: Vec::new(),
            total_timeout: TOTAL_TIMEOUT,
        }
    }
}

impl NetPolicy {
    /// The policy with the documented test settings from the environment applied (see the module docs).
    pub fn from_env() -> Result<NetPolicy, NetError> {
        let mut p = NetPolicy::default();
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        p.allow_loopback = var("LOCKET_NET_ALLOW_LOOPBACK").is_some_and(|v| v == "1");
        if let Some(path) = var("LOCKET_NET_EXTRA_CA") {
            let pem = std::fs::read(&path)
                .map_err(|e| NetError::Settings(format!("LOCKET_NET_EXTRA_CA: cannot read {path}: {e}")))?;
            p.extra_ca_pem.push(pem);
        }
        if let Some(list) = var("LOCKET_NET_RESOLVE") {
            for pair in list.split(',') {
                let (host, ip) = pair
                    .split_once('=')
                    .ok_or_else(|| NetError::Settings(format!("LOCKET_NET_RESOLVE: {pair:?} is not host=ip")))?;
                let ip: IpAddr = ip
                    .trim()
                    .parse()
                    .map_err(|_| NetError::Settings(format!("LOCKET_NET_RESOLVE: {ip:?} is not an IP address")))?;
                p.resolve.push((host.trim().to_ascii_lowercase(), ip));
            }
        }
        if let Some(ms) = var("LOCKET_NET_TIMEOUT_MS") {
            let ms: u64 = ms
                .parse()
                .map_err(|_| NetError::Settings(format!("LOCKET_NET_TIMEOUT_MS: {ms:?} is not a number")))?;
            p.total_timeout = Duration::from_millis(ms.clamp(100, TOTAL_TIMEOUT.as_millis() as u64));
        }
        Ok(p)
    }

    fn refused(&self, ip: IpAddr) -> Option<&'static str> {
        match special_address(ip) {
            Some("loopback") if self.allow_loopback => None,
            other => other,
        }
    }
}

/// The error a resolver gives for a refused address (found again in the error chain).
#[derive(Debug)]
struct Refused(NetError);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
impl std::error::Error for Refused {}

/// Resolves names (or answers from the test table) and drops special addresses.
struct GuardedResolver {
    policy: Arc<NetPolicy>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_ascii_lowercase();
        Box::pin(async move {
            let addrs: Vec<IpAddr> = match policy.resolve.iter().find(|(h, _)| *h == host) {
                Some((_, ip)) => vec![*ip],
                None => tokio::net::lookup_host((host.as_str(), 0))
                    .await
                    .map_err(|e| {
                        Box::new(Refused(NetError::Unreachable {
                            host: host.clone(),
                            detail: format!("the name does not resolve ({e})"),
                        })) as Box<dyn std::error::Error + Send + Sync>
                    })?
                    .map(|a| a.ip())
                    .collect(),
            };
            // One special address is enough to refuse: a name that mixes them is an attack or a mistake.
            if let Some((ip, class)) = addrs.iter().find_map(|ip| policy.refused(*ip).map(|c| (*ip, c))) {
                return Err(Box::new(Refused(NetError::AddressRefused {
                    host: host.clone(),
                    address: ip.to_string(),
                    class,
                })) as Box<dyn std::error::Error + Send + Sync>);
            }
            if addrs.is_empty() {
                return Err(Box::new(Refused(NetError::Unreachable {
                    host,
                    detail: "the name has no address".to_owned(),
                })) as Box<dyn std::error::Error + Send + Sync>);
            }
            let it: reqwest::dns::Addrs = Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(it)
        })
    }
}

/// An answer that passed the guards.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The final URL (after same-origin redirects).
    pub url: String,
    /// The HTTP status.
    pub status: u16,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body (at most the cap asked for).
    pub body: Vec<u8>,
}

/// A guarded HTTPS client (see the module docs). Cheap to clone.
#[derive(Clone)]
pub struct Net {
    client: reqwest::Client,
    policy: Arc<NetPolicy>,
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Net").field("policy", &self.policy).finish()
    }
}

impl Net {
    /// A client with `policy`.
    pub fn new(policy: NetPolicy) -> Result<Net, NetError> {
        let policy = Arc::new(policy);
        let mut builder = reqwest::Client::builder()
            .https_only(true)
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT.min(policy.total_timeout))
            .timeout(policy.total_timeout)
            .user_agent(concat!("Locket/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver {
                policy: Arc::clone(&policy),
            }))
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                let first = attempt.previous().first().map(|u| u.origin());
                if attempt.previous().len() > MAX_REDIRECTS {
                    attempt.error(Refused(NetError::RedirectRefused(format!(
                        "more than {MAX_REDIRECTS} redirects"
                    ))))
                } else if first.as_ref() != Some(&attempt.url().origin()) {
                    let to = attempt.url().origin().ascii_serialization();
                    attempt.error(Refused(NetError::RedirectRefused(format!(
                        "the shop's site redirected Locket to another site ({to}); Locket only follows redirects within the shop's own site"
                    ))))
                } else {
                    attempt.follow()
                }
            }));
        for pem in &policy.extra_ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| NetError::Settings(format!("LOCKET_NET_EXTRA_CA is not a PEM certificate: {e}")))?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder
            .build()
            .map_err(|e| NetError::Settings(format!("the HTTPS client could not be set up: {e}")))?;
        Ok(Net { client, policy })
    }

    /// A client with the policy from the environment ([`NetPolicy::from_env`]).
    pub fn from_env() -> AppResult<Net> {
        Ok(Net::new(NetPolicy::from_env()?)?)
    }

    /// GET `url` (already known to be https on a domain), accepting only `200` and at most `max` bytes.
    /// Runs on a thread of its own, so it may be called from anywhere, async code included.
    pub fn get(&self, url: &str, accept: &str, max: usize) -> Result<Answer, NetError> {
        let this = self.clone();
        let (url, accept) = (url.to_owned(), accept.to_owned());
        run(move || async move { this.get_async(&url, &accept, max).await })
    }

    /// POST `body` to `url` (https on a domain) with `headers`, reading at most `max` bytes of the answer,
    /// whatever its status (the caller decides what a status means). Same guards as [`Net::get`].
    pub fn post(
        &self,
        url: &str,
        content_type: &str,
        headers: Vec<(String, String)>,
        body: String,
        max: usize,
    ) -> Result<Answer, NetError> {
        let this = self.clone();
        let (url, content_type) = (url.to_owned(), content_type.to_owned());
        run(move || async move { this.post_async(&url, &content_type, headers, body, max).await })
    }

    async fn post_async(
        &self,
        url: &str,
        content_type: &str,
        headers: Vec<(String, String)>,
        body: String,
        max: usize,
    ) -> Result<Answer, NetError> {
        let parsed = url::Url::parse(url).map_err(|e| NetError::NotHttps(format!("{url:?} is not a URL ({e})")))?;
        locket_wire::metadata::origin_of(&parsed).map_err(NetError::NotHttps)?;
        let host = parsed.host_str().unwrap_or_default().to_owned();
        let mut request = self
            .client
            .post(parsed.clone())
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .header(reqwest::header::ACCEPT, "application/json");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.body(body).send().await.map_err(|e| classify(&e, &host, url))?;
        // The answer is informative only (an acknowledgement or an error): read up to `max`, keep what fits.
        let (status, final_url, content_type) = head_of(&response);
        let body = read_body(response, max, &host, url, false).await?;
        Ok(Answer {
            url: final_url,
            status,
            content_type,
            body,
        })
    }

    async fn get_async(&self, url: &str, accept: &str, max: usize) -> Result<Answer, NetError> {
        let parsed = url::Url::parse(url).map_err(|e| NetError::NotHttps(format!("{url:?} is not a URL ({e})")))?;
        locket_wire::metadata::origin_of(&parsed).map_err(NetError::NotHttps)?;
        let host = parsed.host_str().unwrap_or_default().to_owned();
        let response = self
            .client
            .get(parsed.clone())
            .header(reqwest::header::ACCEPT, accept)
            .send()
            .await
            .map_err(|e| classify(&e, &host, url))?;
        let (status, final_url, content_type) = head_of(&response);
        if status != 200 {
            return Err(NetError::Status {
                url: url.to_owned(),
                status,
            });
        }
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err(NetError::TooLarge {
                url: url.to_owned(),
                max,
            });
        }
        let body = read_body(response, max, &host, url, true).await?;
        Ok(Answer {
            url: final_url,
            status,
            content_type,
            body,
        })
    }

    /// The policy in force.
    pub fn policy(&self) -> &NetPolicy {
        &self.policy
    }
}

/// Runs an async exchange to completion on a thread and runtime of its own.
fn run<F, Fut, T>(f: F) -> Result<T, NetError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, NetError>>,
    T: Send + 'static,
{
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| NetError::Settings(format!("could not start the network runtime: {e}")))?;
        rt.block_on(f())
    })
    .join()
    .unwrap_or_else(|_| Err(NetError::Settings("the network thread failed".to_owned())))
}

/// The guard's own error, if one is in the chain of `e`.
fn guard_error(e: &(dyn std::error::Error + 'static)) -> Option<NetError> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<Refused>() {
            return Some(r.0.clone());
        }
        cur = err.source();
    }
    None
}

fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        parts.push(err.to_string());
        cur = err.source();
    }
    parts.join(": ")
}

fn classify(e: &reqwest::Error, host: &str, url: &str) -> NetError {
    if let Some(g) = guard_error(e) {
        return g;
    }
    if e.is_timeout() {
        return NetError::Timeout(url.to_owned());
    }
    let text = chain_text(e);
    let lower = text.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        return NetError::Tls {
            host: host.to_owned(),
            detail: text,
        };
    }
    NetError::Unreachable {
        host: host.to_owned(),
        detail: text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_addresses_are_named() {
        for (ip, class) in [
            ("127.0.0.1", Some("loopback")),
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("192.168.1.1", Some("private")),
            ("169.254.169.254", Some("link-local")),
            ("100.64.0.1", Some("shared (carrier-grade NAT)")),
            ("0.0.0.0", Some("unspecified")),
            ("224.0.0.1", Some("multicast or reserved")),
            ("::1", Some("loopback")),
            ("fd00::1", Some("private")),
            ("fe80::1", Some("link-local")),
            ("::ffff:192.168.0.1", Some("private")),
            ("93.184.215.14", None),
            ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", None),
        ] {
            assert_eq!(special_address(ip.parse().unwrap()), class, "{ip}");
        }
        let p = NetPolicy {
            allow_loopback: true,
            ..NetPolicy::default()
        };
        assert_eq!(p.refused("127.0.0.1".parse().unwrap()), None);
        assert_eq!(p.refused("192.168.0.1".parse().unwrap()), Some("private"));
    }
}
