// What the shop asks a visitor's Locket for: a `locket.grant-request/v1` document (docs/retailers.md, "Writing a
// request"; the purposes are docs/purposes.md's). Every scope is optional: the shop works without any of them.

import { randomState } from "@locket/retailer";

/** The scopes asked for, each with its purpose and the shop's own words shown to the owner. */
export const SCOPES = [
  {
    scope: "identity.preferred_name",
    purpose: "account_management",
    purpose_text: "To greet you by name when you come back to the shop.",
    required: false,
  },
  {
    scope: "sizes.clothing",
    purpose: "personalised_recommendations",
    purpose_text: "To show every item in your size.",
    required: false,
  },
  {
    scope: "style.styles",
    purpose: "personalised_recommendations",
    purpose_text: "To show the styles you like first.",
    required: false,
  },
];

/** How long the shop asks to receive the data. */
export const DURATION = "P30D";

/**
 * The grant request for a shop whose metadata is `metadata` (its `retailer` block must match it), made `now`
 * (a Date) with a fresh nonce.
 */
export function grantRequest(metadata, now = new Date()) {
  return {
    format: "locket.grant-request/v1",
    retailer: {
      id: new URL(metadata.id).hostname,
      name: metadata.name,
      origin: metadata.id,
      contact: metadata.contact,
      privacy_policy: metadata.privacy_policy,
    },
    scopes: SCOPES.map((s) => ({ ...s })),
    requested_duration: DURATION,
    retention: {
      max_duration: "until_grant_ends",
      statement: "We keep what you share only while you share it, and erase it when you stop sharing or the grant ends.",
    },
    benefit: { description: "Free delivery on your first order.", offer: { kind: "free_shipping" } },
    nonce: randomState(),
    created_at: now.toISOString().replace(/\.\d{3}Z$/, "Z"),
  };
}
