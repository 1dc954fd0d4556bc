// What a request says the owner gets in return, and who else gets the data, in plain words for the consent
// screen. Everything here is the shop's claim: Locket shows it and records it in the consent receipt, it cannot
// check it. The core supplies the offer summary ("10% off"), the role words and the country name.
import type { Benefit, Recipient } from "../generated/ipc";
import { purposeWords } from "./words";

/** What the owner reads when the shop names nobody else: its claim, not a fact. */
export const NOBODY_ELSE = "Shared with nobody else, the shop says.";

/** What the owner reads when the shop offers nothing. */
export const NO_BENEFIT = "Nothing. The shop offers nothing in return for your data.";

export type BenefitWords = {
  /** The headline: Locket's words for a structured offer, else the shop's own. */
  headline: string;
  /** The shop's words under the headline, when the headline is Locket's. */
  shopWords: string | null;
  /** Whether nothing is offered. */
  none: boolean;
};

/** The benefit as the consent screen words it. */
export function benefitWords(benefit: Benefit | null): BenefitWords {
  if (!benefit) return { headline: NO_BENEFIT, shopWords: null, none: true };
  const summary = benefit.offer?.summary?.trim();
  const words = benefit.description.trim();
  if (summary) {
    // A description that merely repeats the summary is not shown twice.
    const same = words.toLowerCase() === summary.toLowerCase();
    return { headline: summary, shopWords: same ? null : words, none: false };
  }
  return { headline: words, shopWords: null, none: false };
}

/** A short tag for a recipient's role, next to its name. */
export function roleTag(role: Recipient["role"]): { label: string; tone: "neutral" | "partner" | "third" } {
  switch (role) {
    case "processor":
      return { label: "Service provider", tone: "neutral" };
    case "joint_controller":
      return { label: "Partner", tone: "partner" };
    case "third_party":
      return { label: "Third party", tone: "third" };
  }
}

/** "Works for the shop · in Germany · used to deliver your orders: “Delivers parcels”". */
export function recipientDetail(r: Recipient): string {
  const role = r.roleWords.charAt(0).toUpperCase() + r.roleWords.slice(1);
  return `${role} · in ${r.countryName} · used ${purposeWords(r.purpose, r.purposeText)}`;
}

/** The heading over the recipients: the count, or that nobody else gets the data — as the shop says. */
export function recipientsSummary(recipients: Recipient[]): string {
  if (recipients.length === 0) return NOBODY_ELSE;
  const others = recipients.length === 1 ? "1 other company" : `${recipients.length} other companies`;
  const thirds = recipients.filter((r) => r.role === "third_party").length;
  const own = thirds === 0 ? "" : thirds === 1 ? ", 1 for its own purposes" : `, ${thirds} for their own purposes`;
  return `The shop says ${others} also get${recipients.length === 1 ? "s" : ""} your data${own}.`;
}

/** Whether a recipient deserves the owner's attention: it uses the data for itself, or for marketing. */
export function recipientNeedsCare(r: Recipient): boolean {
  return r.role === "third_party" || r.marketingOrProfiling;
}
