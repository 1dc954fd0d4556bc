// Codes from the core (purposes, refusal reasons, event kinds) turned into plain words for the owner. The words
// for purposes and event kinds are the core's own (`Purpose::phrase`, `EventKind::label`), generated into
// ../generated/ipc.ts; only codes this version does not know fall back to a humanised form.
import { EVENT_KINDS, PURPOSES, type ErrorCode, type EventKind, type Purpose, type RefusalSummary } from "../generated/ipc";
import { formatCount, formatLogTime } from "./format";

function isPurpose(code: string): code is Purpose {
  return Object.hasOwn(PURPOSES, code);
}

function isEventKind(code: string): code is EventKind {
  return Object.hasOwn(EVENT_KINDS, code);
}

/** Capitalised "Snake case" from a code, for codes we have no words for. */
export function humanize(code: string): string {
  const s = code.replace(/[._-]+/g, " ").trim();
  return s.length === 0 ? code : s.charAt(0).toUpperCase() + s.slice(1);
}

/** "to process and deliver your orders". A retailer's free text, when given, follows after a colon. */
export function purposeWords(purpose: string, freeText?: string | null): string {
  const base = isPurpose(purpose) ? PURPOSES[purpose].phrase : `for ${humanize(purpose).toLowerCase()}`;
  const extra = freeText?.trim();
  return extra ? `${base}: “${extra}”` : base;
}

const REFUSALS: Partial<Record<ErrorCode, string>> = {
  authorization_missing: "The request carried no access token.",
  token_malformed: "The access token was damaged or not a Locket token.",
  token_invalid_signature: "The access token was forged or altered — its signature did not match.",
  token_unknown_key: "The access token was signed by a key this vault does not know.",
  token_not_yet_valid: "The access token was used before its start time.",
  token_expired: "The grant had expired.",
  grant_unknown: "The grant does not exist in this vault.",
  grant_revoked: "You had revoked this grant.",
  grant_uses_exhausted: "The grant had been used the maximum number of times you allowed.",
  vault_locked: "Your vault was locked.",
  scope_unsatisfiable: "A field in the grant no longer exists in your profile.",
  rate_limited: "Too many requests came from one sender in a short time.",
  origin_invalid: "The request named a web page address that is not valid.",
  requests_pending_limit: "Too many requests were already waiting for your decision.",
  request_too_large: "The request was larger than Locket accepts.",
  request_malformed: "The request was not readable JSON.",
  request_invalid: "The request was not a valid Locket request.",
  request_control_characters: "The request hid control or text-direction characters in its text.",
  request_benefit_invalid: "The request described what the shop offers in return in a way Locket does not accept.",
  request_recipients_invalid: "The request’s list of who else gets your data was not valid.",
  request_duplicate: "The same request had already been sent.",
  unsupported_media_type: "The request was not sent as JSON.",
  internal_error: "Locket could not answer because of an internal error.",
  storage_failed: "Locket could not record the access, so it refused it.",
  wrong_passphrase: "Someone typed a wrong passphrase.",
  wrong_recovery_key: "Someone typed a wrong recovery key.",
};

/** A refusal reason code in plain words. */
export function refusalWords(code: string | null | undefined): string {
  if (!code) return "Refused.";
  return REFUSALS[code as ErrorCode] ?? `${humanize(code)}.`;
}

/** "42 times from a program on this computer, 10:04–10:05; counted together, not logged one by one." */
export function refusalSummaryWords(s: RefusalSummary, now: Date = new Date()): string {
  const times = s.count === 1 ? "once" : `${formatCount(s.count)} times`;
  const from = s.fromThisComputer ? "from a program or web page on this computer" : "from another computer";
  const first = formatLogTime(s.firstAt, now);
  const last = formatLogTime(s.lastAt, now);
  const when = first === last ? first : `${first} – ${last}`;
  return `${times} ${from}, ${when}; counted together, not logged one by one.`;
}

/** What the owner reads for an audit event kind (the core's label; unknown kinds are humanised). */
export function eventKindWords(kind: string): string {
  return isEventKind(kind) ? EVENT_KINDS[kind] : humanize(kind);
}

/** "3 fields" / "Email address" for short lists. */
export function fieldListWords(labels: string[]): string {
  if (labels.length === 0) return "no fields";
  if (labels.length <= 3) return labels.join(", ");
  return `${labels.slice(0, 2).join(", ")} and ${labels.length - 2} more`;
}

export const SENSITIVITY_WORDS: Record<string, { label: string; help: string }> = {
  low: { label: "Low", help: "Everyday information." },
  personal: { label: "Personal", help: "Identifies or reaches you." },
  sensitive: { label: "Sensitive", help: "Health or other special information — share with care." },
};
