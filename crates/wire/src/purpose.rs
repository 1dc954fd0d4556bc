//! The documented list of purposes a retailer can give for a scope (see `docs/purposes.md`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Why a retailer wants a scope. The wire form is the snake_case name (`"marketing_email"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Processing and completing an order the owner placed.
    OrderFulfilment,
    /// Delivering goods to the owner.
    Delivery,
    /// Creating and maintaining the owner's account with the retailer.
    AccountManagement,
    /// Tailoring product suggestions to the owner.
    PersonalisedRecommendations,
    /// Sending marketing by email.
    MarketingEmail,
    /// Sending marketing by text message.
    MarketingSms,
    /// Sending marketing by post.
    MarketingPost,
    /// Measuring and analysing how the retailer's services are used.
    Analytics,
    /// Checking that the owner meets an age requirement.
    AgeVerification,
    /// Detecting and preventing fraud.
    FraudPrevention,
    /// Answering the owner's questions and complaints.
    CustomerSupport,
    /// Anything else; the request must then explain it in `purpose_text`.
    Other,
}

impl Purpose {
    /// Every purpose, in documentation order.
    pub const ALL: [Purpose; 12] = [
        Purpose::OrderFulfilment,
        Purpose::Delivery,
        Purpose::AccountManagement,
        Purpose::PersonalisedRecommendations,
        Purpose::MarketingEmail,
        Purpose::MarketingSms,
        Purpose::MarketingPost,
        Purpose::Analytics,
        Purpose::AgeVerification,
        Purpose::FraudPrevention,
        Purpose::CustomerSupport,
        Purpose::Other,
    ];

    /// The stable wire name (`"order_fulfilment"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::OrderFulfilment => "order_fulfilment",
            Purpose::Delivery => "delivery",
            Purpose::AccountManagement => "account_management",
            Purpose::PersonalisedRecommendations => "personalised_recommendations",
            Purpose::MarketingEmail => "marketing_email",
            Purpose::MarketingSms => "marketing_sms",
            Purpose::MarketingPost => "marketing_post",
            Purpose::Analytics => "analytics",
            Purpose::AgeVerification => "age_verification",
            Purpose::FraudPrevention => "fraud_prevention",
            Purpose::CustomerSupport => "customer_support",
            Purpose::Other => "other",
        }
    }

    /// A short label for the owner ("order fulfilment").
    pub fn label(self) -> &'static str {
        match self {
            Purpose::OrderFulfilment => "order fulfilment",
            Purpose::Delivery => "delivery",
            Purpose::AccountManagement => "account management",
            Purpose::PersonalisedRecommendations => "personalised recommendations",
            Purpose::MarketingEmail => "marketing by email",
            Purpose::MarketingSms => "marketing by text message",
            Purpose::MarketingPost => "marketing by post",
            Purpose::Analytics => "analytics",
            Purpose::AgeVerification => "age verification",
            Purpose::FraudPrevention => "fraud prevention",
            Purpose::CustomerSupport => "customer support",
            Purpose::Other => "other purpose",
        }
    }

    /// The purpose as the end of a sentence for the owner ("… to process and deliver your orders").
    pub fn phrase(self) -> &'static str {
        match self {
            Purpose::OrderFulfilment => "to process and deliver your orders",
            Purpose::Delivery => "to deliver your orders",
            Purpose::AccountManagement => "to set up and run your account",
            Purpose::PersonalisedRecommendations => "to recommend products that suit you",
            Purpose::MarketingEmail => "to send you marketing emails",
            Purpose::MarketingSms => "to send you marketing text messages",
            Purpose::MarketingPost => "to send you marketing by post",
            Purpose::Analytics => "for statistics about how customers shop",
            Purpose::AgeVerification => "to check you are old enough",
            Purpose::FraudPrevention => "to prevent fraud",
            Purpose::CustomerSupport => "to help you when you contact support",
            Purpose::Other => "for another purpose",
        }
    }

    /// True for purposes that are about selling to or profiling the owner rather than serving an order
    /// (marketing and analytics); interfaces highlight them.
    pub fn is_marketing_or_profiling(self) -> bool {
        matches!(
            self,
            Purpose::MarketingEmail
                | Purpose::MarketingSms
                | Purpose::MarketingPost
                | Purpose::Analytics
                | Purpose::PersonalisedRecommendations
        )
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The given text is not one of the documented purposes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown purpose {0:?}; see docs/purposes.md for the list")]
pub struct UnknownPurpose(pub String);

impl FromStr for Purpose {
    type Err = UnknownPurpose;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Purpose::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPurpose(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_through_serde_and_from_str() {
        for p in Purpose::ALL {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
            assert_eq!(serde_json::from_str::<Purpose>(&json).unwrap(), p);
            assert_eq!(p.as_str().parse::<Purpose>().unwrap(), p);
        }
        assert!("marketing".parse::<Purpose>().is_err());
    }

    #[test]
    fn schema_enum_matches_the_rust_enum() {
        let schema: serde_json::Value = serde_json::from_str(crate::schemas::REQUEST_SCHEMA).unwrap();
        let listed: Vec<&str> = schema["properties"]["scopes"]["items"]["properties"]["purpose"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let ours: Vec<&str> = Purpose::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(listed, ours);
    }

    #[test]
    fn purposes_doc_lists_every_purpose() {
        let doc = include_str!("../../../docs/purposes.md");
        for p in Purpose::ALL {
            assert!(
                doc.contains(&format!("`{}`", p.as_str())),
                "{p} missing from docs/purposes.md"
            );
        }
    }
}
