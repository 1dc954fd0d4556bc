// Deliveries (releases Locket sends to a shop's server) in the owner's words: "Delivered Dec 7, 10:04 — Email
// address v2", "Waiting to deliver since 10:04 — the shop answered HTTP 503; next try in 4 min". The wording
// follows the CLI's `locket deliveries list` (src/cli/deliveries.rs). Times are the owner's local time.
import type { DeliveredField, Delivery, DeliveryNote } from "../generated/ipc";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** "10:04" today, "Dec 7, 10:04" this year, "Dec 7, 2025, 10:04" otherwise (24-hour, local time). */
export function clockTime(at: Date, now: Date): string {
  const hm = `${pad(at.getHours())}:${pad(at.getMinutes())}`;
  const sameDay =
    at.getFullYear() === now.getFullYear() && at.getMonth() === now.getMonth() && at.getDate() === now.getDate();
  if (sameDay) return hm;
  const day = `${MONTHS[at.getMonth()]} ${at.getDate()}`;
  return at.getFullYear() === now.getFullYear() ? `${day}, ${hm}` : `${day}, ${at.getFullYear()}, ${hm}`;
}

/** "Dec 7, 10:04" — always with the day (for things that happened, where "10:04" alone reads oddly). */
export function dayAndTime(at: Date, now: Date): string {
  const t = clockTime(at, now);
  return t.includes(",") ? t : `${MONTHS[at.getMonth()]} ${at.getDate()}, ${t}`;
}

/** When the next try is, from now: "any moment", "in 25 s", "in 4 min", "in 2 h 5 min", "on Dec 9, 10:04". */
export function nextTryWords(due: Date, now: Date): string {
  const s = Math.ceil((due.getTime() - now.getTime()) / 1000);
  if (s <= 0) return "any moment";
  if (s < 60) return `in ${s} s`;
  const min = Math.ceil(s / 60);
  if (min < 60) return `in ${min} min`;
  if (min < 24 * 60) {
    const h = Math.floor(min / 60);
    const m = min % 60;
    return m === 0 ? `in ${h} h` : `in ${h} h ${m} min`;
  }
  return `on ${dayAndTime(due, now)}`;
}

/** "Email address v2, Shoe size v1". */
export function deliveredFieldsWords(fields: DeliveredField[]): string {
  return fields.map((f) => `${f.label} v${f.version}`).join(", ");
}

function attempts(n: number): string {
  return `${n} attempt${n === 1 ? "" : "s"}`;
}

type Event = Delivery["event"];

/** What a release is, as the subject of a sentence ("Erasure request …"); `null` for the grant's own data. */
function subject(event: Event): string | null {
  switch (event) {
    case "update":
      return "Update";
    case "revoke":
      return "Erasure request";
    case "expire":
      return "Notice that the grant ended";
    default:
      return null;
  }
}

/** Whether a release carries the owner's data (its grant's or an update), as opposed to a revocation or an end. */
function carriesData(d: Delivery): boolean {
  return d.event === "grant" || d.event === "update";
}

/** One delivery in a sentence, as of `now`; `grantRevoked`: its grant was revoked since. */
export function deliveryWords(d: Delivery, now: Date, grantRevoked = false): string {
  const at = (iso: string | null) => (iso ? dayAndTime(new Date(iso), now) : "");
  const fields = d.fields.length > 0 ? ` — ${deliveredFieldsWords(d.fields)}` : "";
  const what = subject(d.event);
  switch (d.status) {
    case "delivered": {
      const when = at(d.finishedAt);
      if (d.event === "revoke") return `Erasure requested ${when} — the shop was told you revoked the grant`;
      if (d.event === "expire") return `Told the shop the grant ended ${when}`;
      return `${what ? `${what} delivered` : "Delivered"} ${when}${fields}`;
    }
    case "pending": {
      const head = what ? `${what} waiting to be delivered` : "Waiting to deliver";
      const since = `since ${clockTime(new Date(d.createdAt), now)}`;
      const next = nextTryWords(new Date(d.dueAt), now);
      if (d.attempts === 0) return next === "any moment" ? `${head} ${since} — sending now` : `${head} ${since}; first try ${next}`;
      return `${head} ${since} — ${d.lastError ?? "no answer"}; next try ${next}`;
    }
    case "failed": {
      const why = `${what ? `${what} failed` : "Failed"} after ${attempts(d.attempts)}: ${d.lastError ?? "Locket gave up"}`;
      return grantRevoked && carriesData(d) ? `${why} — it will not be sent: you revoked the grant` : why;
    }
    case "cancelled":
      return [what ? `${what} cancelled` : "Cancelled", at(d.finishedAt), d.attempts === 0 ? "— never sent" : "— not delivered"].filter(Boolean).join(" ");
    default:
      return d.status;
  }
}

/**
 * Which actions a delivery offers: try again (failed — unless it carries data of a revoked grant —, or waiting
 * for its next try: "send now" for one not tried yet, unless it is due already) and cancel (waiting).
 */
export function deliveryActions(d: Delivery, now: Date, grantRevoked = false): { retry: boolean; cancel: boolean } {
  const waitingForNothing = d.status === "pending" && d.attempts === 0 && new Date(d.dueAt).getTime() <= now.getTime();
  // Data of a revoked grant is never sent again (the outbox refuses to retry it).
  const neverAgain = d.status === "failed" && grantRevoked && carriesData(d);
  return {
    retry: (d.status === "failed" && !neverAgain) || (d.status === "pending" && !waitingForNothing),
    cancel: d.status === "pending",
  };
}

/** Whether the list should be polled (something is still on its way). */
export function anyPending(ds: Delivery[]): boolean {
  return ds.some((d) => d.status === "pending");
}

/** Whether anything carrying the owner's data reached the shop's server. */
export function anyDataDelivered(ds: Delivery[]): boolean {
  return ds.some((d) => d.status === "delivered" && d.fields.length > 0);
}

function releaseWords(event: DeliveryNote["event"]): string {
  switch (event) {
    case "grant":
      return "The approved data";
    case "update":
      return "An update";
    case "revoke":
      return "The erasure request";
    case "expire":
      return "The notice that the grant ended";
    default:
      return "A release";
  }
}

/** The Activity list's details for a delivery event ("Attempt 2 — the shop answered HTTP 503"). */
export function deliveryNoteWords(kind: string, n: DeliveryNote): string {
  switch (kind) {
    case "release_queued":
      return `${releaseWords(n.event)}, queued for the shop's server`;
    case "delivery_attempt": {
      const which = n.attempt !== null ? `Attempt ${n.attempt}` : "An attempt";
      if (n.error) return `${which} — ${n.error}`;
      return `${which} — the shop's server accepted it${n.status !== null ? ` (HTTP ${n.status})` : ""}`;
    }
    case "release_delivered":
      return `${releaseWords(n.event)}, accepted by the shop's server${n.status !== null ? ` (HTTP ${n.status})` : ""}`;
    case "release_failed":
      if (n.withdrawn !== null) {
        return `${n.withdrawn} waiting release${n.withdrawn === 1 ? "" : "s"} withdrawn: ${n.error ?? "the grant was revoked"}`;
      }
      return `${releaseWords(n.event)}, not delivered: ${n.error ?? "Locket gave up"}`;
    default:
      return "";
  }
}
