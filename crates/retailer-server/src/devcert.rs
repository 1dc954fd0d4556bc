//! A development certificate authority and a server certificate signed by it, for running the reference
//! server on one machine: the owner's Locket trusts the CA through its test setting `LOCKET_NET_EXTRA_CA`.
//! Never use these outside development: anyone with `key.pem` can impersonate the host to whoever trusts
//! `ca.pem`. The CA's private key is not kept, so the CA can sign nothing else.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike as _, Duration, Utc};
use locket_wire::metadata::web_origin;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::store::{create_private_dir, write_private};
use crate::RetailerError;

/// A CA certificate, a server certificate for one host and the server's private key, as PEM.
pub struct DevCert {
    /// The CA certificate (to trust).
    pub ca_pem: String,
    /// The server certificate followed by the CA certificate (the chain a server presents).
    pub chain_pem: String,
    /// The server's private key (PKCS#8).
    pub key_pem: String,
}

impl std::fmt::Debug for DevCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevCert")
            .field("key_pem", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// The files [`write_dev_cert`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevCertFiles {
    /// `DIR/ca.pem`.
    pub ca: PathBuf,
    /// `DIR/cert.pem`.
    pub cert: PathBuf,
    /// `DIR/key.pem` (0600).
    pub key: PathBuf,
}

fn crypto(what: &str) -> impl Fn(rcgen::Error) -> RetailerError + '_ {
    move |e| RetailerError::Crypto(format!("cannot make the {what}: {e}"))
}

/// Check that `host` is a domain name a web origin can have (`shop.test`, not an address or a URL).
pub fn check_host(host: &str) -> Result<String, RetailerError> {
    let origin = web_origin(&format!("https://{host}"))
        .map_err(|e| RetailerError::Invalid(format!("--host {host:?}: not a domain name ({e})")))?;
    Ok(origin.trim_start_matches("https://").to_owned())
}

/// Make a CA (valid ten years) and a certificate for `host` signed by it (valid 397 days, the longest
/// browsers accept), both from the day before `now`. Keys are ECDSA P-256.
pub fn make_dev_cert(host: &str, now: DateTime<Utc>) -> Result<DevCert, RetailerError> {
    let host = check_host(host)?;
    // Midnight of a day (rcgen takes its own date type; month and day always fit a u8).
    let day = |t: DateTime<Utc>| rcgen::date_time_ymd(t.year(), t.month() as u8, t.day() as u8);
    let start = day(now - Duration::days(1));

    let ca_key = KeyPair::generate().map_err(crypto("CA key"))?;
    let mut ca = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("Locket development CA for {host}"));
    dn.push(DnType::OrganizationName, "locket-retailer dev-cert");
    ca.distinguished_name = dn;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = start;
    ca.not_after = day(now + Duration::days(3650));
    let ca_cert = ca.self_signed(&ca_key).map_err(crypto("CA certificate"))?;
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate().map_err(crypto("server key"))?;
    let mut leaf = CertificateParams::new(vec![host.clone()]).map_err(crypto("server certificate"))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, host.clone());
    leaf.distinguished_name = dn;
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = start;
    leaf.not_after = day(now + Duration::days(397));
    let cert = leaf.signed_by(&key, &issuer).map_err(crypto("server certificate"))?;

    Ok(DevCert {
        ca_pem: ca_cert.pem(),
        chain_pem: format!("{}{}", cert.pem(), ca_cert.pem()),
        key_pem: key.serialize_pem(),
    })
}

/// Make a development CA and server certificate for `host` and write them to `out` (0700): `ca.pem`,
/// `cert.pem` (server certificate + CA), `key.pem` (0600). Existing files are replaced only with `replace`.
pub fn write_dev_cert(host: &str, out: &Path, replace: bool) -> Result<DevCertFiles, RetailerError> {
    let files = DevCertFiles {
        ca: out.join("ca.pem"),
        cert: out.join("cert.pem"),
        key: out.join("key.pem"),
    };
    if !replace {
        for f in [&files.ca, &files.cert, &files.key] {
            if f.exists() {
                return Err(RetailerError::FileExists {
                    path: f.display().to_string(),
                });
            }
        }
    }
    let made = make_dev_cert(host, Utc::now())?;
    create_private_dir(out)?;
    write_private(&files.key, made.key_pem.as_bytes(), replace)?;
    write_private(&files.cert, made.chain_pem.as_bytes(), replace)?;
    write_private(&files.ca, made.ca_pem.as_bytes(), replace)?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_domain_names() {
        assert_eq!(check_host("Shop.Test").unwrap(), "shop.test");
        for bad in ["127.0.0.1", "https://shop.test", "shop.test/x", "intranet", ""] {
            assert_eq!(check_host(bad).unwrap_err().code(), "invalid_argument", "{bad}");
        }
    }

    #[test]
    fn files_are_written_once() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("tls");
        let files = write_dev_cert("shop.test", &out, false).unwrap();
        let chain = std::fs::read_to_string(&files.cert).unwrap();
        assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2);
        assert!(std::fs::read_to_string(&files.key)
            .unwrap()
            .contains("BEGIN PRIVATE KEY"));
        assert_eq!(
            write_dev_cert("shop.test", &out, false).unwrap_err().code(),
            "file_exists"
        );
        write_dev_cert("shop.test", &out, true).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&files.key).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(!format!("{:?}", make_dev_cert("shop.test", Utc::now()).unwrap()).contains("PRIVATE"));
    }
}
