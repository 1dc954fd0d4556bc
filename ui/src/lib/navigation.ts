// What the app shell hands its screens: where the owner is (a view), how a screen raises a toast, and the live
// counters the shell bumps when the backend pushes an event. Kept apart from App.tsx so screens never import
// the shell that imports them.
import type { AuditEvent } from "../backend";

export type View =
  | { page: "profile" }
  | { page: "requests"; focus?: string }
  | { page: "grants" }
  | { page: "activity" }
  | { page: "retailers" }
  | { page: "retailer"; id: string }
  | { page: "settings" };

export interface Toast {
  id: number;
  kind: "info" | "success" | "warning";
  text: string;
}

export interface Live {
  /** Incremented for every audit event pushed by the shell. */
  auditTick: number;
  lastAudit: AuditEvent | null;
  /** Incremented for every request that arrives (HTTP inbox or deep link). */
  requestTick: number;
}
