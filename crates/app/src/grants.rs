//! The owner's decisions on requests and grants, and the retailer directory: import a request, approve all or
//! part of it (optionally the minimized answers), deny, revoke one grant or all of a retailer's, list requests,
//! grants and retailers, and one retailer's page. Each decision and its audit event commit together on the
//! vault's writer before the caller hears of it.
use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, Utc};
use locket_audit::{EventKind, Filter, Outcome};
use locket_grants::derived;
use locket_grants::scope::ScopeResolver;
use locket_grants::store::{self, ApproveOptions, GrantRecord, RequestRecord, RequestSource};
use locket_grants::VaultCatalog;
use locket_vault::catalog::Sensitivity;
use locket_vault::profile;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{AppError, AppResult};
use crate::session::{lock, Session};

// ---------- DTOs ----------

/// A retailer as the UI shows it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Retailer")]
pub struct RetailerDto {
    pub id: String,
    pub name: String,
    pub origin: String,
    pub contact: Option<String>,
    pub privacy_policy: Option<String>,
}

/// One requested scope, with the words the owner needs to decide.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "RequestedScope")]
pub struct RequestedScopeDto {
    pub scope: String,
    pub label: String,
    #[ts(type = "Purpose")]
    pub purpose: String,
    pub purpose_label: String,
    pub purpose_text: Option<String>,
    pub required: bool,
    #[ts(type = "Sensitivity")]
    pub sensitivity: &'static str,
}

/// A stored request.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "GrantRequest")]
pub struct RequestDto {
    pub id: String,
    pub retailer: RetailerDto,
    pub scopes: Vec<RequestedScopeDto>,
    pub duration_seconds: i64,
    pub retention_text: String,
    pub retention_seconds: Option<i64>,
    /// What the shop offers in return; null when it offers nothing.
    pub benefit: Option<BenefitDto>,
    /// Everyone beyond the shop the request says receives the data; empty when the shop says it shares with
    /// nobody else (its claim: Locket cannot check it).
    pub recipients: Vec<RecipientDto>,
    pub received_at: String,
    #[ts(type = r#""file" | "http" | "deep_link" | "connect""#)]
    pub via: String,
    #[ts(type = r#""pending" | "approved" | "denied""#)]
    pub status: &'static str,
    /// The privacy check: over-asking and sensitive-for-marketing warnings, in plain words.
    pub warnings: Vec<PrivacyWarningDto>,
    /// Requested scope → the minimized answer "Share the minimized answer instead" grants in its place.
    pub minimized: BTreeMap<String, String>,
    /// Where this request's retailer details differ from the ones Locket first saw for the same retailer id
    /// (anyone can claim any shop's id): empty when they agree or this is the first-seen request.
    pub retailer_changes: Vec<RetailerChangeDto>,
    /// Whether Locket fetched this request from the shop's site and verified its signature there.
    pub verified: bool,
    /// What was verified, for a request fetched from a shop's site (`via` = `connect`).
    pub verification: Option<VerificationDto>,
    /// For a request that is not verified: the origin of a verified shop that uses the same retailer id (this
    /// request may be pretending to be that shop).
    pub verified_shop_with_same_id: Option<String>,
}

/// What Locket checked about a request it fetched from a shop's site.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Verification")]
pub struct VerificationDto {
    /// The shop's web origin (`https://shop.example`): the site that signed the request.
    pub origin: String,
    /// The origin's host, as the owner reads it (`shop.example`).
    pub host: String,
    /// Where the signed request was fetched from.
    pub request_uri: String,
    /// When it was fetched (RFC 3339).
    pub fetched_at: String,
    /// When Locket first verified this shop (RFC 3339).
    pub pinned_since: Option<String>,
    /// The signing key's id and RFC 7638 thumbprint.
    pub key_id: String,
    pub key_thumbprint: String,
    /// Where the shop's published details or keys differ from the ones Locket pinned the first time: empty when
    /// nothing changed.
    pub changes: Vec<PinChangeDto>,
}

/// One pinned detail of a verified shop that this request's metadata states differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "PinChange")]
pub struct PinChangeDto {
    #[ts(type = r#""name" | "contact" | "privacy_policy" | "delivery_url" | "signing_key" | "encryption_key""#)]
    pub field: String,
    /// In plain words ("name", "signing key").
    pub label: String,
    /// What Locket pinned.
    pub pinned: String,
    /// What the shop publishes now.
    pub now: String,
}

/// The verification of a stored request as front ends show it.
pub fn verification_dto(v: &locket_grants::connect::Verification) -> VerificationDto {
    VerificationDto {
        origin: v.origin.clone(),
        host: url::Url::parse(&v.origin)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| v.origin.clone()),
        request_uri: v.request_uri.clone(),
        fetched_at: v.fetched_at.to_rfc3339(),
        pinned_since: v.pinned_since.map(|t| t.to_rfc3339()),
        key_id: v.key_id.clone(),
        key_thumbprint: v.key_thumbprint.clone(),
        changes: v
            .changes
            .iter()
            .map(|c| PinChangeDto {
                field: c.field.clone(),
                label: match c.field.as_str() {
                    "privacy_policy" => "privacy policy",
                    "delivery_url" => "delivery address",
                    "signing_key" => "signing key",
                    "encryption_key" => "encryption key",
                    other => other,
                }
                .to_owned(),
                pinned: c.pinned.clone(),
                now: c.now.clone(),
            })
            .collect(),
    }
}

/// What a request offers the owner in return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Benefit")]
pub struct BenefitDto {
    /// The shop's words.
    pub description: String,
    /// The structured offer, if the shop gave one.
    pub offer: Option<OfferDto>,
}

/// A benefit's structured offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Offer")]
pub struct OfferDto {
    #[ts(
        type = r#""discount_percent" | "discount_amount" | "loyalty_points" | "free_shipping" | "early_access" | "other""#
    )]
    pub kind: &'static str,
    /// The offer in Locket's words ("10% off", "5.00 EUR off"); null for `other`.
    pub summary: Option<String>,
}

/// Someone beyond the shop who receives what the owner shares, as the request states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Recipient")]
pub struct RecipientDto {
    pub name: String,
    #[ts(type = r#""processor" | "joint_controller" | "third_party""#)]
    pub role: &'static str,
    /// The role in plain words ("works for the shop").
    pub role_words: &'static str,
    #[ts(type = "Purpose")]
    pub purpose: String,
    pub purpose_text: Option<String>,
    /// Whether the purpose is marketing or profiling (the core's `is_marketing_or_profiling`).
    pub marketing_or_profiling: bool,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// The country's English short name ("Germany").
    pub country_name: String,
}

/// The benefit of a request as the UI shows it.
pub fn benefit_dto(b: &locket_grants::Benefit) -> BenefitDto {
    BenefitDto {
        description: b.description.clone(),
        offer: b.offer.as_ref().map(|o| OfferDto {
            kind: o.kind(),
            summary: o.summary(),
        }),
    }
}

/// A recipient as the UI shows it.
pub fn recipient_dto(r: &locket_grants::Recipient) -> RecipientDto {
    RecipientDto {
        name: r.name.clone(),
        role: r.role.as_str(),
        role_words: r.role.words(),
        purpose: r.purpose.as_str().to_owned(),
        purpose_text: r.purpose_text.clone(),
        marketing_or_profiling: r.purpose.is_marketing_or_profiling(),
        country: r.country.clone(),
        country_name: r.country_name().to_owned(),
    }
}

/// One retailer detail a request states differently from the first-seen details of the same retailer id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "RetailerChange")]
pub struct RetailerChangeDto {
    /// Which detail.
    #[ts(type = r#""name" | "origin" | "contact" | "privacy_policy""#)]
    pub field: &'static str,
    /// Its label in plain words ("name", "website", "contact", "privacy policy").
    pub label: &'static str,
    /// What Locket first saw (and keeps for this retailer's grants).
    pub first_seen: String,
    /// What this request claims.
    pub claimed: String,
}

/// The details of `claimed` that differ from `pinned`.
pub fn retailer_changes(pinned: &locket_grants::Retailer, claimed: &locket_grants::Retailer) -> Vec<RetailerChangeDto> {
    [
        ("name", "name", &pinned.name, &claimed.name),
        ("origin", "website", &pinned.origin, &claimed.origin),
        ("contact", "contact", &pinned.contact, &claimed.contact),
        (
            "privacy_policy",
            "privacy policy",
            &pinned.privacy_policy,
            &claimed.privacy_policy,
        ),
    ]
    .into_iter()
    .filter(|(_, _, a, b)| a.trim() != b.trim())
    .map(|(field, label, a, b)| RetailerChangeDto {
        field,
        label,
        first_seen: a.clone(),
        claimed: b.clone(),
    })
    .collect()
}

/// One warning of the privacy check on a request.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "PrivacyWarning")]
pub struct PrivacyWarningDto {
    /// `over_asking` or `sensitive_for_marketing`.
    #[ts(type = r#""over_asking" | "sensitive_for_marketing""#)]
    pub code: String,
    pub scope: String,
    #[ts(type = "Purpose")]
    pub purpose: String,
    pub message: String,
    /// The minimized answer offered instead.
    pub suggestion: Option<SuggestionDto>,
}

/// A minimized answer offered in place of a requested field.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Suggestion")]
pub struct SuggestionDto {
    pub scope: String,
    pub label: String,
    pub explanation: String,
}

/// One granted scope.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "GrantScope")]
pub struct GrantScopeDto {
    pub scope: String,
    pub label: String,
    #[ts(type = "Purpose")]
    pub purpose: String,
}

/// A stored grant.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Grant")]
pub struct GrantDto {
    pub id: String,
    pub request_id: Option<String>,
    pub retailer: RetailerDto,
    pub scopes: Vec<GrantScopeDto>,
    pub issued_at: String,
    pub expires_at: String,
    pub max_uses: Option<u32>,
    pub uses: u32,
    pub last_access: Option<String>,
    pub revoked_at: Option<String>,
    #[ts(type = r#""active" | "expired" | "revoked" | "exhausted""#)]
    pub status: &'static str,
}

/// `request_approve` input.
#[derive(Debug, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ApproveInput {
    pub request_id: String,
    pub scopes: Vec<String>,
    /// `None` = as long as requested.
    pub expires_in_seconds: Option<i64>,
    pub max_uses: Option<u32>,
    /// Share the minimized answers (the request's `minimized` plan) instead of the raw fields they replace.
    #[serde(default)]
    #[ts(as = "Option<_>", optional)]
    pub minimize: bool,
    /// The owner insists on granting more than one answer about their age to this retailer (refused with
    /// `age_bracketing` otherwise).
    #[serde(default)]
    #[ts(as = "Option<_>", optional)]
    pub allow_age_bracketing: bool,
}

/// `request_approve` result: the grant and its file (the file holds a token, no profile data).
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "IssuedGrant")]
pub struct IssuedDto {
    pub grant: GrantDto,
    pub grant_file: String,
    pub suggested_file_name: String,
}

/// A retailer in the list.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RetailerSummary {
    pub retailer: RetailerDto,
    pub active_grants: usize,
    pub pending_requests: usize,
    pub last_access: Option<String>,
}

/// One field a retailer received.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Disclosure {
    pub at: String,
    pub field: String,
    pub version_id: Option<i64>,
    pub grant_id: Option<String>,
}

/// Everything about one retailer.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RetailerDetail {
    pub retailer: RetailerDto,
    pub grants: Vec<GrantDto>,
    pub requests: Vec<RequestDto>,
    pub disclosures: Vec<Disclosure>,
}

// ---------- conversions ----------

fn retailer_dto(r: &locket_grants::Retailer) -> RetailerDto {
    let opt = |s: &str| (!s.trim().is_empty()).then(|| s.to_owned());
    RetailerDto {
        id: r.id.clone(),
        name: r.name.clone(),
        origin: r.origin.clone(),
        contact: opt(&r.contact),
        privacy_policy: opt(&r.privacy_policy),
    }
}

fn scope_sensitivity(conn: &Connection, resolved: Option<&locket_grants::ResolvedScope>) -> &'static str {
    let Some(r) = resolved else { return "personal" };
    let mut level: Option<Sensitivity> = None;
    for f in &r.fields {
        if let Ok(def) = profile::field_def(conn, &f.key) {
            level = Some(level.map_or(def.sensitivity, |l| l.max(def.sensitivity)));
        }
    }
    level.unwrap_or(Sensitivity::Personal).as_str()
}

/// For a request that is not verified: where its retailer details differ from the first-seen request of the
/// same retailer id (a verified request is compared with its shop's pin instead).
fn unverified_changes(conn: &Connection, r: &RequestRecord, verified: bool) -> Vec<RetailerChangeDto> {
    if verified {
        return Vec::new();
    }
    match store::first_seen_request(conn, &r.request.retailer.id) {
        Ok(Some(first)) if first.id != r.id => retailer_changes(&first.request.retailer, &r.request.retailer),
        _ => Vec::new(),
    }
}

fn request_dto(conn: &Connection, r: &RequestRecord) -> RequestDto {
    let verification = locket_grants::connect::verification(conn, &r.id).ok().flatten();
    let catalog = VaultCatalog::new(conn);
    let req = &r.request;
    let scopes = req
        .scopes
        .iter()
        .map(|s| {
            let resolved = catalog.resolve(&s.scope);
            RequestedScopeDto {
                scope: s.scope.clone(),
                label: resolved
                    .as_ref()
                    .map(|x| x.label.clone())
                    .unwrap_or_else(|| s.scope.clone()),
                purpose: s.purpose.as_str().to_owned(),
                purpose_label: s.purpose.label().to_owned(),
                purpose_text: s.purpose_text.clone(),
                required: s.required,
                sensitivity: scope_sensitivity(conn, resolved.as_ref()),
            }
        })
        .collect();
    RequestDto {
        id: r.id.clone(),
        retailer: retailer_dto(&req.retailer),
        scopes,
        duration_seconds: req.requested_duration().map(|d| d.num_seconds()).unwrap_or(0),
        retention_text: req.retention.statement.clone(),
        retention_seconds: locket_grants::duration::parse_iso8601(&req.retention.max_duration)
            .ok()
            .map(|d| d.num_seconds()),
        benefit: req.benefit.as_ref().map(benefit_dto),
        recipients: req.recipients.iter().map(recipient_dto).collect(),
        received_at: r.received_at.to_rfc3339(),
        via: store::source_class(&r.source, r.source_detail.as_deref()).to_owned(),
        status: r.status.as_str(),
        warnings: if r.status == store::RequestStatus::Pending {
            derived::review_request(conn, req)
                .into_iter()
                .map(|w| PrivacyWarningDto {
                    code: w.code,
                    scope: w.scope,
                    purpose: w.purpose.as_str().to_owned(),
                    message: w.message,
                    suggestion: w.suggestion.map(|x| SuggestionDto {
                        scope: x.scope,
                        label: x.label,
                        explanation: x.explanation,
                    }),
                })
                .collect()
        } else {
            Vec::new()
        },
        minimized: if r.status == store::RequestStatus::Pending {
            derived::minimization_plan(conn, req, None)
        } else {
            BTreeMap::new()
        },
        retailer_changes: unverified_changes(conn, r, verification.is_some()),
        verified: verification.is_some(),
        verification: verification.as_ref().map(verification_dto),
        verified_shop_with_same_id: match verification {
            Some(_) => None,
            None => locket_grants::connect::pinned_origin_of(conn, &req.retailer.id)
                .ok()
                .flatten(),
        },
    }
}

pub use locket_grants::store::DEEP_LINK_SOURCE;

fn grant_dto(g: &GrantRecord, retailers: &HashMap<String, RetailerDto>) -> GrantDto {
    let now = Utc::now();
    let retailer = retailers.get(&g.retailer_id).cloned().unwrap_or_else(|| RetailerDto {
        id: g.retailer_id.clone(),
        name: g.retailer_name.clone(),
        origin: String::new(),
        contact: None,
        privacy_policy: None,
    });
    GrantDto {
        id: g.id.clone(),
        request_id: Some(g.request_id.clone()),
        retailer,
        scopes: g
            .scopes
            .iter()
            .map(|s| GrantScopeDto {
                scope: s.scope.clone(),
                label: s.label.clone(),
                purpose: s.purpose.as_str().to_owned(),
            })
            .collect(),
        issued_at: g.issued_at.to_rfc3339(),
        expires_at: g.expires_at.to_rfc3339(),
        max_uses: g.max_uses,
        uses: g.uses,
        last_access: g.last_used_at.map(|t| t.to_rfc3339()),
        revoked_at: g.revoked_at.map(|t| t.to_rfc3339()),
        status: match g.status(now).as_str() {
            "not_yet_valid" => "active",
            s => s,
        },
    }
}

/// Retailer details by id, from the stored requests (the grant table keeps only id and name): the first-seen
/// details ([`store::first_seen_request`]) — those of the request behind the retailer's oldest grant, or else of
/// its oldest request — never the newest claim, which anyone can make.
fn retailer_index(requests: &[RequestRecord], grants: &[GrantRecord]) -> HashMap<String, RetailerDto> {
    let by_id: HashMap<&str, &RequestRecord> = requests.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut oldest_grants: Vec<&GrantRecord> = grants.iter().collect();
    oldest_grants.sort_by(|a, b| (a.issued_at, &a.id).cmp(&(b.issued_at, &b.id)));
    let mut m = HashMap::new();
    for g in oldest_grants {
        if let Some(r) = by_id.get(g.request_id.as_str()) {
            m.entry(g.retailer_id.clone())
                .or_insert_with(|| retailer_dto(&r.request.retailer));
        }
    }
    // Requests are listed newest first: the oldest one wins.
    for r in requests.iter().rev() {
        m.entry(r.request.retailer.id.clone())
            .or_insert_with(|| retailer_dto(&r.request.retailer));
    }
    m
}

/// Every retailer Locket knows: those that sent a request (their first-seen details) and those holding a
/// grant (a grant made before its request was kept, or imported, still names its retailer).
fn directory(requests: &[RequestRecord], grants: &[GrantRecord]) -> HashMap<String, RetailerDto> {
    let mut m = retailer_index(requests, grants);
    for g in grants {
        m.entry(g.retailer_id.clone()).or_insert_with(|| RetailerDto {
            id: g.retailer_id.clone(),
            name: g.retailer_name.clone(),
            origin: String::new(),
            contact: None,
            privacy_policy: None,
        });
    }
    m
}

/// Most disclosures listed on a retailer page.
const DISCLOSURE_LIMIT: usize = 200;

/// A file name for a grant file: `locket-grant-<retailer slug>.json`.
fn grant_file_name(retailer_name: &str) -> String {
    let slug: String = retailer_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("locket-grant-{}.json", slug.trim_matches('-'))
}

impl Session {
    /// One request as front ends show it.
    pub fn request(&self, id: &str) -> AppResult<RequestDto> {
        let store = self.store()?;
        let r = store::get_request(store.conn(), id)?;
        Ok(request_dto(store.conn(), &r))
    }

    /// Every stored request, newest first.
    pub fn requests(&self) -> AppResult<Vec<RequestDto>> {
        let store = self.store()?;
        let conn = store.conn();
        let requests = store::list_requests(conn, None)?;
        Ok(requests.iter().map(|r| request_dto(conn, r)).collect())
    }

    /// Imports a retailer's request (a file's bytes or a `locket://` link's payload) as pending.
    pub fn import_request(&self, bytes: Vec<u8>, source: RequestSource) -> AppResult<RequestDto> {
        let record = self.import_request_record(bytes, source)?;
        self.request(&record.id)
    }

    /// Approves the scopes the owner ticked (never anything the request did not ask for), for at most the
    /// requested time; returns the grant and its file (a signed token, no profile data).
    pub fn approve(&self, input: ApproveInput, endpoint_url: Option<String>) -> AppResult<IssuedDto> {
        if input.scopes.is_empty() {
            return Err(AppError::new(
                "nothing_selected",
                "Tick at least one field to share, or deny the request.",
            ));
        }
        let options = ApproveOptions {
            only: Some(input.scopes),
            expires_in: input.expires_in_seconds.map(|sec| Duration::seconds(sec.max(60))),
            max_uses: input.max_uses,
            note: None,
            allow_age_bracketing: input.allow_age_bracketing,
        };
        // The desktop keeps the file in the session until the owner saves or copies it.
        let minimized = if input.minimize {
            self.minimization_plan(&input.request_id, options.only.as_deref())?
        } else {
            BTreeMap::new()
        };
        let issued = self.approve_with(&input.request_id, options, minimized, endpoint_url, |_| Ok(()))?;
        let file = issued.file.to_json_pretty();
        lock(&self.issued)?.insert(issued.grant.id.clone(), file.clone());
        let retailers = self.directory()?;
        Ok(IssuedDto {
            grant: grant_dto(&issued.grant, &retailers),
            grant_file: file,
            suggested_file_name: grant_file_name(&issued.grant.retailer_name),
        })
    }

    /// The distinct answers about the owner's age (`age_over:N`, `birth_year_band`) `retailer_id` holds in its
    /// grants, sorted.
    pub fn age_answers(&self, retailer_id: &str) -> AppResult<Vec<String>> {
        let store = self.store()?;
        let mut all = Vec::new();
        for g in locket_grants::store::list_grants(store.conn())?
            .into_iter()
            .filter(|g| g.retailer_id == retailer_id)
        {
            all.extend(g.scopes.into_iter().map(|s| s.scope));
        }
        Ok(locket_grants::store::age_answers(
            store.conn(),
            retailer_id,
            all.iter().map(String::as_str),
        )?)
    }

    /// Denies a pending request (recorded and logged).
    pub fn deny(&self, request_id: String) -> AppResult<()> {
        self.deny_request(request_id, None).map(drop)
    }

    /// A grant file issued in this session (they are kept only until Locket locks).
    pub fn issued_file(&self, grant_id: &str) -> AppResult<String> {
        lock(&self.issued)?.get(grant_id).cloned().ok_or_else(|| {
            AppError::new(
                "grant_file_unavailable",
                "That grant file is no longer available; it is only kept until Locket locks.",
            )
        })
    }

    /// Every grant, newest first.
    pub fn grants(&self) -> AppResult<Vec<GrantDto>> {
        let store = self.store()?;
        let conn = store.conn();
        let grants = store::list_grants(conn)?;
        let retailers = directory(&store::list_requests(conn, None)?, &grants);
        Ok(grants.iter().map(|g| grant_dto(g, &retailers)).collect())
    }

    /// Revokes one grant with immediate effect (the next redemption is refused) and issues its receipt.
    pub fn revoke(&self, grant_id: String, note: Option<String>) -> AppResult<GrantDto> {
        let (revoked, _) = self.revoke_grant(grant_id, note)?;
        let retailers = self.directory()?;
        Ok(grant_dto(&revoked.grant, &retailers))
    }

    /// Revokes every live grant of one retailer in one transaction (all or none). Returns how many.
    pub fn revoke_all(&self, retailer_id: &str) -> AppResult<usize> {
        let now = Utc::now();
        let ids: Vec<String> = store::list_grants(self.store()?.conn())?
            .into_iter()
            .filter(|g| g.retailer_id == retailer_id && g.revoked_at.is_none() && g.expires_at > now)
            .map(|g| g.id)
            .collect();
        let n = ids.len();
        let issuers = self.issuers();
        let collection = self.collection();
        self.write(move |tx| {
            for id in &ids {
                store::revoke_via(tx, &issuers, id, Some("revoke all"), collection, Utc::now())?;
            }
            Ok::<_, locket_grants::GrantError>(())
        })?;
        self.wake_deliveries();
        Ok(n)
    }

    fn directory(&self) -> AppResult<HashMap<String, RetailerDto>> {
        let store = self.store()?;
        let conn = store.conn();
        Ok(directory(
            &store::list_requests(conn, None)?,
            &store::list_grants(conn)?,
        ))
    }

    /// The retailer directory: everyone who asked or holds a grant, with live grants, pending requests and last
    /// access; sorted by name.
    pub fn retailers(&self) -> AppResult<Vec<RetailerSummary>> {
        let store = self.store()?;
        let conn = store.conn();
        let requests = store::list_requests(conn, None)?;
        let grants = store::list_grants(conn)?;
        let now = Utc::now();
        let mut out: BTreeMap<String, RetailerSummary> = directory(&requests, &grants)
            .into_iter()
            .map(|(id, retailer)| {
                (
                    id,
                    RetailerSummary {
                        retailer,
                        active_grants: 0,
                        pending_requests: 0,
                        last_access: None,
                    },
                )
            })
            .collect();
        for r in &requests {
            if let Some(sum) = out.get_mut(&r.request.retailer.id) {
                if r.status == store::RequestStatus::Pending {
                    sum.pending_requests += 1;
                }
            }
        }
        for g in &grants {
            if let Some(sum) = out.get_mut(&g.retailer_id) {
                if g.status(now) == store::GrantStatus::Active {
                    sum.active_grants += 1;
                }
                if let Some(t) = g.last_used_at.map(|t| t.to_rfc3339()) {
                    if sum.last_access.as_ref().is_none_or(|l| *l < t) {
                        sum.last_access = Some(t);
                    }
                }
            }
        }
        let mut list: Vec<RetailerSummary> = out.into_values().collect();
        list.sort_by_key(|a| a.retailer.name.to_lowercase());
        Ok(list)
    }

    /// One retailer's page: its grants, its requests and the newest fields it received.
    pub fn retailer(&self, retailer_id: &str) -> AppResult<RetailerDetail> {
        let store = self.store()?;
        let conn = store.conn();
        let requests = store::list_requests(conn, None)?;
        let all_grants = store::list_grants(conn)?;
        let index = directory(&requests, &all_grants);
        let retailer = index.get(retailer_id).cloned().ok_or_else(|| {
            AppError::new(
                "unknown_retailer",
                format!("No retailer {retailer_id} has sent a request or holds a grant."),
            )
        })?;
        let grants = all_grants
            .iter()
            .filter(|g| g.retailer_id == retailer_id)
            .map(|g| grant_dto(g, &index))
            .collect();
        let reqs = requests
            .iter()
            .filter(|r| r.request.retailer.id == retailer_id)
            .map(|r| request_dto(conn, r))
            .collect();
        let filter = Filter {
            retailer: Some(retailer_id.to_owned()),
            kind: Some(EventKind::Redemption),
            outcome: Some(Outcome::Ok),
            ..Filter::default()
        };
        let page = locket_audit::query(conn, &filter, None, DISCLOSURE_LIMIT)?;
        let mut disclosures = Vec::new();
        for e in &page.events {
            for f in &e.fields {
                disclosures.push(Disclosure {
                    at: e.time.to_rfc3339(),
                    field: f.key.clone(),
                    version_id: Some(f.version),
                    grant_id: e.grant_id.clone(),
                });
            }
        }
        Ok(RetailerDetail {
            retailer,
            grants,
            requests: reqs,
            disclosures,
        })
    }

    /// A retailer's display name for events, cached per session (misses too, until the next request arrives).
    pub fn retailer_name(&self, id: &str) -> Option<String> {
        if let Some(hit) = self.names.lock().ok()?.get(id) {
            return hit.clone();
        }
        let names = self.directory().ok()?;
        let mut cache = self.names.lock().ok()?;
        for (k, v) in names {
            cache.insert(k, Some(v.name));
        }
        cache.entry(id.to_owned()).or_insert(None).clone()
    }

    /// Forgets cached retailer names (a new request may name a new retailer).
    pub(crate) fn forget_names(&self) {
        if let Ok(mut cache) = self.names.lock() {
            cache.clear();
        }
    }
}

/// Scopes resolve against the vault's catalog (built-in fields, groups, the owner's custom fields, derived
/// answers), for front ends that label requested scopes themselves.
impl ScopeResolver for Session {
    fn resolve(&self, scope: &str) -> Option<locket_grants::ResolvedScope> {
        let store = self.store().ok()?;
        VaultCatalog::new(store.conn()).resolve(scope)
    }
}

/// What approving a request produced, for front ends that show the core records (the CLI).
pub use locket_grants::store::{Issued, Revoked};

/// The over-asking check of one stored request: its warnings, and the minimized answer each over-asked scope can
/// get instead (what `minimize` grants).
#[derive(Debug, Clone)]
pub struct Review {
    /// Over-asking and sensitive-for-marketing warnings.
    pub warnings: Vec<derived::ScopeWarning>,
    /// Requested scope → the minimized answer granted instead when minimizing.
    pub plan: BTreeMap<String, String>,
    /// Where the request's retailer details differ from the first-seen ones of the same retailer id (requests
    /// that are not verified).
    pub retailer_changes: Vec<RetailerChangeDto>,
    /// What was verified, for a request fetched from a shop's site.
    pub verification: Option<locket_grants::connect::Verification>,
    /// For a request that is not verified: the origin of a verified shop using the same retailer id.
    pub verified_shop_with_same_id: Option<String>,
}

impl Session {
    /// A stored request (by id or unique prefix) as the core keeps it.
    pub fn request_record(&self, id: &str) -> AppResult<RequestRecord> {
        Ok(store::get_request(self.store()?.conn(), id)?)
    }

    /// Stored requests, newest first, optionally only those with one status.
    pub fn request_records(&self, status: Option<store::RequestStatus>) -> AppResult<Vec<RequestRecord>> {
        Ok(store::list_requests(self.store()?.conn(), status)?)
    }

    /// Imports a retailer's request as pending and returns the stored record.
    /// Files and links are capped like requests over HTTP ([`store::PendingCaps`]): a page can open links in a
    /// loop, and a file may come from anyone.
    pub fn import_request_record(&self, bytes: Vec<u8>, source: RequestSource) -> AppResult<RequestRecord> {
        let caps = store::PendingCaps::default();
        let record = self.write(move |tx| store::import_request(tx, &bytes, &source, Utc::now(), Some(&caps)))?;
        self.forget_names();
        Ok(record)
    }

    /// The over-asking check of a stored request.
    pub fn review(&self, rec: &RequestRecord) -> AppResult<Review> {
        let store = self.store()?;
        let verification = locket_grants::connect::verification(store.conn(), &rec.id)?;
        Ok(Review {
            warnings: derived::review_request(store.conn(), &rec.request),
            plan: derived::minimization_plan(store.conn(), &rec.request, None),
            retailer_changes: unverified_changes(store.conn(), rec, verification.is_some()),
            verified_shop_with_same_id: match verification {
                Some(_) => None,
                None => locket_grants::connect::pinned_origin_of(store.conn(), &rec.request.retailer.id)?,
            },
            verification,
        })
    }

    /// The minimized answers approving `request_id` with `minimize` would grant (empty: nothing to minimize).
    pub fn minimization_plan(&self, request_id: &str, only: Option<&[String]>) -> AppResult<BTreeMap<String, String>> {
        let store = self.store()?;
        let record = store::get_request(store.conn(), request_id)?;
        Ok(derived::minimization_plan(store.conn(), &record.request, only))
    }

    /// Approves a request with the owner's options (all or part of it; `minimized` maps requested scopes to the
    /// minimized answers granted instead, see [`Session::minimization_plan`]) and
    /// hands the grant file to `deliver` **before** the decision commits: if `deliver` fails, nothing is
    /// recorded; if the commit fails after it, the caller learns it from the error and discards what it wrote.
    pub fn approve_with<F>(
        &self,
        request_id: &str,
        options: ApproveOptions,
        minimized: BTreeMap<String, String>,
        endpoint_url: Option<String>,
        deliver: F,
    ) -> AppResult<Issued>
    where
        F: FnOnce(&str) -> AppResult<()> + Send + 'static,
    {
        let issuers = self.issuers();
        let endpoint = match endpoint_url {
            Some(u) => u,
            None => store::endpoint_url(self.store()?.conn())?,
        };
        let request_id = request_id.to_owned();
        let collection = self.collection();
        self.write(move |tx| -> AppResult<Issued> {
            let issued = store::approve_via(
                tx,
                &issuers,
                &request_id,
                &options,
                &minimized,
                collection,
                &endpoint,
                Utc::now(),
            )?;
            // Approving a verified request whose shop details changed is the owner accepting the new ones.
            locket_grants::connect::accept_pin(tx, &request_id, Utc::now())?;
            deliver(&issued.file.to_json_pretty())?;
            Ok(issued)
        })
        .inspect(|_| self.wake_deliveries())
    }

    /// Denies a pending request with an optional note kept with the decision (recorded and logged).
    pub fn deny_request(&self, request_id: String, note: Option<String>) -> AppResult<store::Decision> {
        self.write(move |tx| store::deny(tx, &request_id, note.as_deref(), Utc::now()))
    }

    /// Revokes one grant (by id or unique prefix); committed before this returns, so its next use is refused.
    /// Returns whether it was already revoked, and the consent receipt issued.
    pub fn revoke_grant(
        &self,
        grant_id: String,
        reason: Option<String>,
    ) -> AppResult<(Revoked, Option<locket_grants::receipt::Receipt>)> {
        let issuers = self.issuers();
        let collection = self.collection();
        let revoked = self
            .write(move |tx| store::revoke_via(tx, &issuers, &grant_id, reason.as_deref(), collection, Utc::now()))?;
        self.wake_deliveries();
        Ok(revoked)
    }

    /// Withdraws some scopes of a grant and keeps the rest; returns the grant and the consent receipt issued.
    pub fn narrow_grant(
        &self,
        grant_id: String,
        withdraw: Vec<String>,
    ) -> AppResult<(GrantRecord, locket_grants::receipt::Receipt)> {
        let issuers = self.issuers();
        let collection = self.collection();
        self.write(move |tx| store::narrow(tx, &issuers, &grant_id, &withdraw, collection, Utc::now()))
    }

    /// A grant (by id or unique prefix) as the core keeps it.
    pub fn grant_record(&self, id: &str) -> AppResult<GrantRecord> {
        Ok(store::get_grant(self.store()?.conn(), id)?)
    }

    /// Every grant as the core keeps it.
    pub fn grant_records(&self) -> AppResult<Vec<GrantRecord>> {
        Ok(store::list_grants(self.store()?.conn())?)
    }

    /// The ids of every retailer Locket knows: those that sent a request and those holding a grant (one
    /// definition for every front end), sorted.
    pub fn known_retailers(&self) -> AppResult<std::collections::BTreeSet<String>> {
        let store = self.store()?;
        let conn = store.conn();
        let mut ids: std::collections::BTreeSet<String> = store::list_requests(conn, None)?
            .into_iter()
            .map(|r| r.request.retailer.id)
            .collect();
        ids.extend(store::list_grants(conn)?.into_iter().map(|g| g.retailer_id));
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_file_names_are_plain_slugs() {
        assert_eq!(grant_file_name("Shop & Co."), "locket-grant-shop---co.json");
        assert_eq!(grant_file_name("Ünïcode Shop"), "locket-grant-n-code-shop.json");
    }
}
