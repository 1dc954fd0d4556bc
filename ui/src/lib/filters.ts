// Grouping and filtering logic shared by Grants, Activity and Requests.
import type { AuditFilter, Grant, GrantStatus, Outcome, TimelineDay } from "../backend";
import { localDay } from "./format";

/** A grant's status at `now`: the stored status may say "active" for a grant that has since expired. */
export function effectiveStatus(g: Grant, now: Date): GrantStatus {
  if (g.status !== "active") return g.status;
  if (new Date(g.expiresAt).getTime() <= now.getTime()) return "expired";
  if (g.maxUses !== null && g.uses >= g.maxUses) return "exhausted";
  return "active";
}

export type GrantTab = "active" | "expired" | "revoked";

export function grantTab(s: GrantStatus): GrantTab {
  return s === "active" ? "active" : s === "revoked" ? "revoked" : "expired";
}

export function filterGrants(grants: Grant[], tab: GrantTab, now: Date): Grant[] {
  return grants
    .filter((g) => grantTab(effectiveStatus(g, now)) === tab)
    .sort((a, b) =>
      tab === "active"
        ? a.expiresAt.localeCompare(b.expiresAt)
        : (b.revokedAt ?? b.expiresAt).localeCompare(a.revokedAt ?? a.expiresAt),
    );
}

export function countByTab(grants: Grant[], now: Date): Record<GrantTab, number> {
  const c: Record<GrantTab, number> = { active: 0, expired: 0, revoked: 0 };
  for (const g of grants) c[grantTab(effectiveStatus(g, now))] += 1;
  return c;
}

export interface ActivityFilterForm {
  retailerId: string;
  field: string;
  outcome: "" | Exclude<Outcome, "info">;
  range: "all" | "24h" | "7d" | "30d";
}

export const EMPTY_FILTER: ActivityFilterForm = { retailerId: "", field: "", outcome: "", range: "all" };

/** The form's state as the filter the backend takes; empty inputs mean "any". */
export function toAuditFilter(f: ActivityFilterForm, now: Date): AuditFilter {
  const hours = f.range === "24h" ? 24 : f.range === "7d" ? 24 * 7 : f.range === "30d" ? 24 * 30 : 0;
  return {
    retailerId: f.retailerId || null,
    field: f.field.trim() || null,
    outcome: f.outcome || null,
    since: hours > 0 ? new Date(now.getTime() - hours * 3600_000).toISOString() : null,
    until: null,
  };
}

export function isFiltered(f: ActivityFilterForm): boolean {
  return f.retailerId !== "" || f.field.trim() !== "" || f.outcome !== "" || f.range !== "all";
}

/** One entry per day for the last `days` days (oldest first), missing days filled with zeros. */
export function timelineSeries(buckets: TimelineDay[], days: number, now: Date): TimelineDay[] {
  const out: TimelineDay[] = [];
  const index = new Map<string, TimelineDay>();
  for (let i = days - 1; i >= 0; i--) {
    const d = new Date(now.getFullYear(), now.getMonth(), now.getDate() - i);
    const s: TimelineDay = { day: localDay(d), allowed: 0, refused: 0 };
    out.push(s);
    index.set(s.day, s);
  }
  for (const b of buckets) {
    const s = index.get(b.day);
    if (!s) continue;
    s.allowed += b.allowed;
    s.refused += b.refused;
  }
  return out;
}

/** A "nice" axis maximum ≥ v: 1, 2, 5, 10, 20, 50, … */
export function niceMax(v: number): number {
  if (v <= 1) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
