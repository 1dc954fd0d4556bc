//! What a grant request says the owner gets in return, and who else gets the data: the request's optional
//! `benefit` (the shop's words, plus an optional structured [`Offer`]) and `recipients` (each party beyond the
//! shop itself that receives what the owner shares: a processor working for the shop, a joint controller, a
//! third party using it for its own ends). Both are the shop's claims: Locket shows and records them, it cannot
//! check them. A request without `recipients` (or with an empty list) says the shop shares with nobody else.
//!
//! The schema (`docs/schemas/grant-request.v1.schema.json`, `properties/benefit`, `properties/recipients`)
//! holds the shape, lengths, counts and code lists; [`problems`] the rules it cannot express. A request broken
//! only in one of these members is refused as `request_benefit_invalid` or `request_recipients_invalid`
//! ([`crate::error::RequestError`]). Consent receipts record both (`crate::receipt`).

use crate::error::Problem;
use crate::iso;
use crate::purpose::Purpose;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Most recipients one request may list.
pub const MAX_RECIPIENTS: usize = 20;

/// What the owner reads when a request names no recipient beyond the shop: the shop's claim, not a fact Locket
/// checked.
pub const NOBODY_ELSE: &str = "Shared with nobody else, the shop says.";

/// What the owner reads when a request offers nothing in return.
pub const NO_BENEFIT: &str = "The shop offers nothing in return.";

/// What the shop offers the owner in return for the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Benefit {
    /// The offer in the shop's words ("10% off your first order").
    pub description: String,
    /// The offer in a form Locket can state in its own words, if the shop gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<Offer>,
}

/// A benefit in structured form. The wire form is an object whose `kind` names the variant, with the members
/// that variant needs (`{"kind": "discount_percent", "percent": 10}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Offer {
    /// A discount of a percentage of the price.
    DiscountPercent {
        /// 1 to 100.
        percent: u8,
    },
    /// A discount of a fixed amount.
    DiscountAmount {
        /// A decimal amount greater than zero, at most three decimals (`"5"`, `"4.99"`).
        amount: String,
        /// ISO 4217 currency code (`"EUR"`).
        currency: String,
    },
    /// Points in the shop's loyalty scheme.
    LoyaltyPoints {
        /// 1 to 1,000,000,000.
        points: u32,
    },
    /// Delivery at no charge.
    FreeShipping,
    /// Access to sales or products before others.
    EarlyAccess,
    /// Anything else: the description says what.
    Other,
}

impl Offer {
    /// The variant's wire name (`"discount_percent"`).
    pub fn kind(&self) -> &'static str {
        match self {
            Offer::DiscountPercent { .. } => "discount_percent",
            Offer::DiscountAmount { .. } => "discount_amount",
            Offer::LoyaltyPoints { .. } => "loyalty_points",
            Offer::FreeShipping => "free_shipping",
            Offer::EarlyAccess => "early_access",
            Offer::Other => "other",
        }
    }

    /// The offer in Locket's words ("10% off", "5.00 EUR off", "500 loyalty points", "Free delivery"); `None`
    /// for [`Offer::Other`], whose description is the only statement of it.
    pub fn summary(&self) -> Option<String> {
        Some(match self {
            Offer::DiscountPercent { percent } => format!("{percent}% off"),
            Offer::DiscountAmount { amount, currency } => format!("{amount} {currency} off"),
            Offer::LoyaltyPoints { points } => {
                format!(
                    "{} loyalty point{}",
                    group_thousands(*points),
                    if *points == 1 { "" } else { "s" }
                )
            }
            Offer::FreeShipping => "Free delivery".to_owned(),
            Offer::EarlyAccess => "Early access to sales or products".to_owned(),
            Offer::Other => return None,
        })
    }
}

/// `1234567` → `"1,234,567"`.
fn group_thousands(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What a recipient is to the shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientRole {
    /// Handles the data on the shop's behalf and on its instructions (a courier, a payment provider, a host).
    Processor,
    /// Decides together with the shop why and how the data is used.
    JointController,
    /// Receives the data to use for its own purposes.
    ThirdParty,
}

impl RecipientRole {
    /// Every role, in documentation order.
    pub const ALL: [RecipientRole; 3] = [
        RecipientRole::Processor,
        RecipientRole::JointController,
        RecipientRole::ThirdParty,
    ];

    /// The stable wire name (`"third_party"`).
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientRole::Processor => "processor",
            RecipientRole::JointController => "joint_controller",
            RecipientRole::ThirdParty => "third_party",
        }
    }

    /// The role in plain words for the owner.
    pub fn words(self) -> &'static str {
        match self {
            RecipientRole::Processor => "works for the shop",
            RecipientRole::JointController => "decides with the shop how your data is used",
            RecipientRole::ThirdParty => "uses your data for its own purposes",
        }
    }
}

impl fmt::Display for RecipientRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A party beyond the shop that receives what the owner shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// Who ("Parcel Express Ltd").
    pub name: String,
    /// What it is to the shop.
    pub role: RecipientRole,
    /// What it receives the data for.
    pub purpose: Purpose,
    /// The shop's words about that purpose (required when `purpose` is `other`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose_text: Option<String>,
    /// Where it is, as an ISO 3166-1 alpha-2 code (`"DE"`).
    pub country: String,
}

impl Recipient {
    /// The English short name of the recipient's country ("Germany"); the code itself if it is not one Locket
    /// knows (only possible for a document that was not validated).
    pub fn country_name(&self) -> &str {
        iso::country_name(&self.country).unwrap_or(&self.country)
    }
}

/// Whether `amount` (already matching the schema's decimal pattern) is greater than zero.
fn positive(amount: &str) -> bool {
    amount.bytes().any(|b| (b'1'..=b'9').contains(&b))
}

fn problem(path: String, rule: &str, message: String) -> Problem {
    Problem {
        path,
        rule: rule.to_owned(),
        message,
    }
}

/// The rules about `benefit` and `recipients` that the schema cannot express, on a document the schema
/// accepted: a discount amount must be more than zero (`positive_amount`), and a recipient may be listed once
/// (`unique_recipient`: the same name — ignoring case and surrounding spaces —, role, purpose and country).
pub fn problems(benefit: Option<&Benefit>, recipients: &[Recipient]) -> Vec<Problem> {
    let mut out = Vec::new();
    if let Some(Offer::DiscountAmount { amount, .. }) = benefit.and_then(|b| b.offer.as_ref()) {
        if !positive(amount) {
            out.push(problem(
                "/benefit/offer/amount".to_owned(),
                "positive_amount",
                format!("a discount of {amount:?} is no discount; give an amount greater than zero"),
            ));
        }
    }
    let key = |r: &Recipient| (r.name.trim().to_lowercase(), r.role, r.purpose, r.country.clone());
    for (i, r) in recipients.iter().enumerate() {
        if let Some(first) = recipients[..i].iter().position(|o| key(o) == key(r)) {
            out.push(problem(
                format!("/recipients/{i}"),
                "unique_recipient",
                format!("{:?} is already listed at /recipients/{first} with the same role, purpose and country; list each recipient once", r.name),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn offers_round_trip_in_their_wire_form() {
        for (offer, wire) in [
            (
                Offer::DiscountPercent { percent: 10 },
                json!({"kind": "discount_percent", "percent": 10}),
            ),
            (
                Offer::DiscountAmount {
                    amount: "4.99".into(),
                    currency: "EUR".into(),
                },
                json!({"kind": "discount_amount", "amount": "4.99", "currency": "EUR"}),
            ),
            (
                Offer::LoyaltyPoints { points: 500 },
                json!({"kind": "loyalty_points", "points": 500}),
            ),
            (Offer::FreeShipping, json!({"kind": "free_shipping"})),
            (Offer::EarlyAccess, json!({"kind": "early_access"})),
            (Offer::Other, json!({"kind": "other"})),
        ] {
            assert_eq!(serde_json::to_value(&offer).unwrap(), wire);
            assert_eq!(serde_json::from_value::<Offer>(wire.clone()).unwrap(), offer);
            assert_eq!(wire["kind"], offer.kind());
        }
        // A member another kind needs is refused, not ignored.
        assert!(
            serde_json::from_value::<Offer>(json!({"kind": "discount_percent", "percent": 5, "points": 1})).is_err()
        );
        assert!(serde_json::from_value::<Offer>(json!({"kind": "voucher"})).is_err());
    }

    #[test]
    fn summaries_are_plain_words() {
        assert_eq!(Offer::DiscountPercent { percent: 15 }.summary().unwrap(), "15% off");
        assert_eq!(
            Offer::DiscountAmount {
                amount: "5.00".into(),
                currency: "GBP".into()
            }
            .summary()
            .unwrap(),
            "5.00 GBP off"
        );
        assert_eq!(Offer::LoyaltyPoints { points: 1 }.summary().unwrap(), "1 loyalty point");
        assert_eq!(
            Offer::LoyaltyPoints { points: 1_234_567 }.summary().unwrap(),
            "1,234,567 loyalty points"
        );
        assert_eq!(
            Offer::LoyaltyPoints { points: 500 }.summary().unwrap(),
            "500 loyalty points"
        );
        assert_eq!(Offer::FreeShipping.summary().unwrap(), "Free delivery");
        assert_eq!(Offer::Other.summary(), None);
    }

    fn recipient(name: &str, role: RecipientRole, country: &str) -> Recipient {
        Recipient {
            name: name.into(),
            role,
            purpose: Purpose::Delivery,
            purpose_text: None,
            country: country.into(),
        }
    }

    #[test]
    fn semantic_rules() {
        let zero = Benefit {
            description: "Nothing really".into(),
            offer: Some(Offer::DiscountAmount {
                amount: "0.000".into(),
                currency: "EUR".into(),
            }),
        };
        let p = problems(Some(&zero), &[]);
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].path.as_str(), p[0].rule.as_str()),
            ("/benefit/offer/amount", "positive_amount")
        );
        let small = Benefit {
            offer: Some(Offer::DiscountAmount {
                amount: "0.01".into(),
                currency: "EUR".into(),
            }),
            ..zero
        };
        assert!(problems(Some(&small), &[]).is_empty());

        let list = [
            recipient("Parcel Express", RecipientRole::Processor, "DE"),
            recipient("Parcel Express", RecipientRole::ThirdParty, "DE"),
            recipient(" parcel express ", RecipientRole::Processor, "DE"),
            recipient("Parcel Express", RecipientRole::Processor, "FR"),
        ];
        let p = problems(None, &list);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(
            (p[0].path.as_str(), p[0].rule.as_str()),
            ("/recipients/2", "unique_recipient")
        );
        assert!(p[0].message.contains("/recipients/0"), "{}", p[0].message);
    }

    #[test]
    fn roles_and_countries() {
        for r in RecipientRole::ALL {
            let wire = serde_json::to_value(r).unwrap();
            assert_eq!(wire, json!(r.as_str()));
            assert_eq!(serde_json::from_value::<RecipientRole>(wire).unwrap(), r);
        }
        assert_eq!(recipient("A", RecipientRole::Processor, "IE").country_name(), "Ireland");
        assert_eq!(recipient("A", RecipientRole::Processor, "QQ").country_name(), "QQ");
    }
}
