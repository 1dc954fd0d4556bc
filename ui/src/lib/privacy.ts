// The privacy views' logic, kept out of the components so it can be tested: the request card's privacy
// check, what a retailer holds, budgets, backups.
import type { Backup, GrantRequest, Holding, PrivacyBudget } from "../backend";
import { purposeWords } from "./words";

export interface PrivacyNote {
  kind: "over_asking" | "sensitive_for_marketing";
  /** The requested scope the note is about. */
  scope: string;
  /** The warning in plain words. */
  text: string;
  /** What the shop would learn instead (over-asking only). */
  detail: string | null;
  /** Whether "Share the minimized answer instead" would replace this scope. */
  minimizable: boolean;
}

/** The short answer a minimized scope gives: `age_over:18` → "over 18: yes". */
export function answerPhrase(scope: string, label: string): string {
  const age = /^age_over:(\d+)$/.exec(scope);
  if (age) return `over ${age[1]}: yes`;
  return label.charAt(0).toLowerCase() + label.slice(1);
}

function lower(label: string): string {
  return label.charAt(0).toLowerCase() + label.slice(1);
}

/** The request's warnings as sentences for the card, one per scope and kind (over-asking first). */
export function privacyNotes(r: GrantRequest): PrivacyNote[] {
  const out: PrivacyNote[] = [];
  const seen = new Set<string>();
  const sorted = [...r.warnings].sort((a, b) => (a.code === b.code ? 0 : a.code === "over_asking" ? -1 : 1));
  for (const w of sorted) {
    const key = `${w.code}|${w.scope}`;
    if (seen.has(key)) continue;
    const asked = r.scopes.find((s) => s.scope === w.scope);
    const label = lower(asked?.label ?? w.scope);
    const why = purposeWords(w.purpose, asked?.purposeText);
    if (w.code === "over_asking") {
      // Only the plan's replacement is offered (one per scope); other suggestions are left out.
      const planned = r.minimized[w.scope];
      if (!w.suggestion || (planned !== undefined && planned !== w.suggestion.scope)) continue;
      seen.add(key);
      out.push({
        kind: "over_asking",
        scope: w.scope,
        text: `This shop asks for your ${label} ${why} — share only “${answerPhrase(w.suggestion.scope, w.suggestion.label)}”?`,
        detail: w.suggestion.explanation,
        minimizable: planned === w.suggestion.scope,
      });
    } else {
      seen.add(key);
      out.push({
        kind: "sensitive_for_marketing",
        scope: w.scope,
        text: `This shop asks for your ${label} ${why}. That is sensitive information, and shops rarely need it for this — consider leaving it unticked.`,
        detail: null,
        minimizable: false,
      });
    }
  }
  return out;
}

/** The scopes to approve when sharing minimized answers: the ticked ones plus every scope being minimized. */
export function minimizedSelection(r: GrantRequest, chosen: ReadonlySet<string>): string[] {
  const minimized = new Set(Object.keys(r.minimized));
  return r.scopes.filter((s) => chosen.has(s.scope) || minimized.has(s.scope)).map((s) => s.scope);
}

/** Share of the budget spent, 0–1 (a zero total counts as fully spent). */
export function budgetFraction(b: PrivacyBudget): number {
  if (b.total <= 0) return 1;
  return Math.min(1, Math.max(0, b.spent / b.total));
}

/** "ε 0.5 of 2 spent" with at most two decimals. */
export function budgetWords(b: PrivacyBudget): string {
  const n = (x: number) => String(Math.round(x * 100) / 100);
  return `ε ${n(b.spent)} of ${n(b.total)} spent`;
}

/**
 * What a ledger row means: `value` — the shop received the field's value; `answer` — a derived or noised
 * answer (`age_over:18`); `source` — the field was only read to compute an answer, the shop never saw it.
 * `grantScopes` are the scopes of the retailer's grants (a raw field or a group covers the field).
 */
export function holdingKind(h: Holding, grantScopes: string[]): "value" | "answer" | "source" {
  if (h.field.includes(":")) return "answer";
  const raw = grantScopes.some((s) => !s.includes(":") && (s === h.field || h.field.startsWith(`${s}.`)));
  return raw ? "value" : "source";
}

/** Holdings sorted: outdated values first (the owner changed them since), then by field label. */
export function sortHoldings(list: Holding[]): Holding[] {
  return [...list].sort((a, b) => {
    const ao = a.outdatedSince ? 0 : 1;
    const bo = b.outdatedSince ? 0 : 1;
    return ao - bo || a.label.localeCompare(b.label);
  });
}

/** After saving a field: "2 retailers hold your previous value (since 3 Mar 2026)". Null when none do. */
export function previousValueSentence(holders: Holding[], formatDay: (iso: string) => string): string | null {
  if (holders.length === 0) return null;
  const earliest = holders.map((h) => h.since).sort()[0]!;
  const who = holders.length === 1 ? `${holders[0]!.retailerName} holds` : `${holders.length} retailers hold`;
  return `${who} your previous value (since ${formatDay(earliest)}).`;
}

/** "1.2 MiB" / "340 KiB". */
export function sizeWords(bytes: number): string {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KiB`;
}

const REASONS: Record<string, string> = {
  manual: "You backed up",
  auto: "After changes",
  daily: "Daily",
  "before-restore": "Before a restore",
};

/** Why a backup was taken, in words. */
export function backupReason(b: Backup): string {
  return REASONS[b.reason] ?? b.reason;
}

/** The words the owner types to confirm a restore (as in src-tauri/src/backups.rs). */
export const RESTORE_PHRASE = "restore";
