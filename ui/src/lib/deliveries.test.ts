import type { Delivery, DeliveryNote } from "../generated/ipc";
import {
  anyDataDelivered,
  anyPending,
  clockTime,
  dayAndTime,
  deliveryActions,
  deliveryNoteWords,
  deliveryWords,
  nextTryWords,
} from "./deliveries";

// Local times, so the expected words do not depend on the machine's time zone.
const now = new Date(2026, 11, 7, 10, 10, 0);
const at = (h: number, m: number, day = 7, month = 11, year = 2026) => new Date(year, month, day, h, m, 0).toISOString();

function delivery(patch: Partial<Delivery>): Delivery {
  return {
    releaseId: "rel_0123456789abcdef",
    grantId: "gr_1",
    retailerId: "shop.test",
    sequence: 1,
    event: "grant",
    status: "pending",
    deliveryUrl: "https://shop.test/locket/deliveries",
    fields: [],
    createdAt: at(10, 4),
    dueAt: at(10, 14),
    giveUpAt: at(10, 4, 10),
    attempts: 0,
    lastAttemptAt: null,
    lastStatus: null,
    lastError: null,
    finishedAt: null,
    ...patch,
  };
}

const fields = [
  { key: "contact.email", label: "Email address", version: 2 },
  { key: "sizes.shoe", label: "Shoe size", version: 1 },
];

describe("clockTime", () => {
  it("shows the time alone today, the day this year, the year otherwise", () => {
    expect(clockTime(new Date(at(10, 4)), now)).toBe("10:04");
    expect(clockTime(new Date(at(9, 5, 6)), now)).toBe("Dec 6, 09:05");
    expect(clockTime(new Date(at(23, 59, 31, 11, 2025)), now)).toBe("Dec 31, 2025, 23:59");
    expect(dayAndTime(new Date(at(10, 4)), now)).toBe("Dec 7, 10:04");
    expect(dayAndTime(new Date(at(10, 4, 1, 0)), now)).toBe("Jan 1, 10:04");
  });
});

describe("nextTryWords", () => {
  const inS = (s: number) => new Date(now.getTime() + s * 1000);
  it("counts down in seconds, minutes and hours", () => {
    expect(nextTryWords(inS(0), now)).toBe("any moment");
    expect(nextTryWords(inS(-30), now)).toBe("any moment");
    expect(nextTryWords(inS(25), now)).toBe("in 25 s");
    expect(nextTryWords(inS(60), now)).toBe("in 1 min");
    expect(nextTryWords(inS(3 * 60 + 10), now)).toBe("in 4 min");
    expect(nextTryWords(inS(3600), now)).toBe("in 1 h");
    expect(nextTryWords(inS(2 * 3600 + 5 * 60), now)).toBe("in 2 h 5 min");
    expect(nextTryWords(inS(2 * 86400), now)).toBe("on Dec 9, 10:10");
  });
});

describe("deliveryWords", () => {
  it("says what was delivered, when, with the versions", () => {
    const d = delivery({ status: "delivered", fields, attempts: 1, lastStatus: 200, finishedAt: at(10, 4) });
    expect(deliveryWords(d, now)).toBe("Delivered Dec 7, 10:04 — Email address v2, Shoe size v1");
    expect(deliveryWords({ ...d, event: "update", fields: [fields[0]!] }, now)).toBe(
      "Update delivered Dec 7, 10:04 — Email address v2",
    );
  });

  it("says why a delivery waits and when it is tried again", () => {
    const d = delivery({ attempts: 2, lastStatus: 503, lastError: "the shop answered HTTP 503", dueAt: at(10, 14) });
    expect(deliveryWords(d, now)).toBe(
      "Waiting to deliver since 10:04 — the shop answered HTTP 503; next try in 4 min",
    );
    // Live: the same delivery a minute later.
    expect(deliveryWords(d, new Date(now.getTime() + 60_000))).toMatch(/next try in 3 min$/);
    expect(deliveryWords({ ...d, lastError: null }, now)).toContain("— no answer;");
  });

  it("tells a first try apart", () => {
    expect(deliveryWords(delivery({ dueAt: at(10, 10) }), now)).toBe("Waiting to deliver since 10:04 — sending now");
    expect(deliveryWords(delivery({ event: "update", dueAt: at(10, 10) }), new Date(now.getTime() - 25_000))).toBe(
      "Update waiting to be delivered since 10:04; first try in 25 s",
    );
  });

  it("says how many attempts failed and why", () => {
    const d = delivery({ status: "failed", attempts: 7, lastError: "the shop answered HTTP 404", finishedAt: at(10, 9) });
    expect(deliveryWords(d, now)).toBe("Failed after 7 attempts: the shop answered HTTP 404");
    expect(deliveryWords({ ...d, attempts: 1 }, now)).toBe("Failed after 1 attempt: the shop answered HTTP 404");
    expect(deliveryWords({ ...d, lastError: null }, now)).toBe("Failed after 7 attempts: Locket gave up");
    expect(deliveryWords(d, now, true)).toBe(
      "Failed after 7 attempts: the shop answered HTTP 404 — it will not be sent: you revoked the grant",
    );
  });

  it("words revocations as erasure requests", () => {
    const r = delivery({ event: "revoke", sequence: 2 });
    expect(deliveryWords({ ...r, status: "delivered", attempts: 1, finishedAt: at(10, 6) }, now)).toBe(
      "Erasure requested Dec 7, 10:06 — the shop was told you revoked the grant",
    );
    expect(deliveryWords({ ...r, attempts: 1, lastError: "the shop answered HTTP 503" }, now)).toBe(
      "Erasure request waiting to be delivered since 10:04 — the shop answered HTTP 503; next try in 4 min",
    );
    expect(deliveryWords({ ...r, status: "failed", attempts: 3, lastError: "x" }, now)).toBe(
      "Erasure request failed after 3 attempts: x",
    );
  });

  it("words the end of a grant and cancellations", () => {
    expect(deliveryWords(delivery({ event: "expire", status: "delivered", finishedAt: at(8, 0) }), now)).toBe(
      "Told the shop the grant ended Dec 7, 08:00",
    );
    expect(deliveryWords(delivery({ status: "cancelled", finishedAt: at(10, 5) }), now)).toBe(
      "Cancelled Dec 7, 10:05 — never sent",
    );
    expect(deliveryWords(delivery({ status: "cancelled", attempts: 2, finishedAt: null }), now)).toBe(
      "Cancelled — not delivered",
    );
    expect(deliveryWords(delivery({ event: "revoke", status: "cancelled", finishedAt: at(10, 5) }), now)).toBe(
      "Erasure request cancelled Dec 7, 10:05 — never sent",
    );
  });
});

describe("actions and polling", () => {
  it("offers try again on waiting and failed ones, cancel on waiting ones", () => {
    expect(deliveryActions(delivery({ status: "pending", attempts: 2 }), now)).toEqual({ retry: true, cancel: true });
    expect(deliveryActions(delivery({ status: "pending", attempts: 2, dueAt: at(10, 0) }), now)).toEqual({ retry: true, cancel: true });
    expect(deliveryActions(delivery({ status: "failed", attempts: 1 }), now)).toEqual({ retry: true, cancel: false });
    expect(deliveryActions(delivery({ status: "delivered" }), now)).toEqual({ retry: false, cancel: false });
    expect(deliveryActions(delivery({ status: "cancelled" }), now)).toEqual({ retry: false, cancel: false });
  });

  it("never offers to send a revoked grant's data again, but does its erasure request", () => {
    expect(deliveryActions(delivery({ status: "failed", attempts: 2 }), now, true)).toEqual({ retry: false, cancel: false });
    expect(deliveryActions(delivery({ status: "failed", event: "update", attempts: 1 }), now, true).retry).toBe(false);
    expect(deliveryActions(delivery({ status: "failed", event: "revoke", attempts: 1 }), now, true).retry).toBe(true);
  });

  it("offers to send a not-yet-tried one now only while it waits for its first try", () => {
    expect(deliveryActions(delivery({ status: "pending", dueAt: at(10, 14) }), now)).toEqual({ retry: true, cancel: true });
    expect(deliveryActions(delivery({ status: "pending", dueAt: at(10, 10) }), now)).toEqual({ retry: false, cancel: true });
  });

  it("polls only while something is on its way", () => {
    expect(anyPending([delivery({ status: "delivered" }), delivery({ status: "pending" })])).toBe(true);
    expect(anyPending([delivery({ status: "failed" }), delivery({ status: "cancelled" })])).toBe(false);
    expect(anyPending([])).toBe(false);
  });

  it("knows whether data reached the shop", () => {
    expect(anyDataDelivered([delivery({ status: "delivered", fields })])).toBe(true);
    expect(anyDataDelivered([delivery({ status: "delivered", event: "revoke" })])).toBe(false);
    expect(anyDataDelivered([delivery({ status: "failed", fields })])).toBe(false);
  });
});

describe("deliveryNoteWords", () => {
  const note = (patch: Partial<DeliveryNote>): DeliveryNote => ({
    releaseId: "rel_1",
    event: "grant",
    attempt: null,
    status: null,
    error: null,
    withdrawn: null,
    ...patch,
  });
  it("describes each delivery event kind", () => {
    expect(deliveryNoteWords("release_queued", note({}))).toBe("The approved data, queued for the shop's server");
    expect(deliveryNoteWords("delivery_attempt", note({ attempt: 2, status: 503, error: "the shop answered HTTP 503" }))).toBe(
      "Attempt 2 — the shop answered HTTP 503",
    );
    expect(deliveryNoteWords("delivery_attempt", note({ attempt: 1, status: 200 }))).toBe(
      "Attempt 1 — the shop's server accepted it (HTTP 200)",
    );
    expect(deliveryNoteWords("release_delivered", note({ event: "revoke", status: 204 }))).toBe(
      "The erasure request, accepted by the shop's server (HTTP 204)",
    );
    expect(deliveryNoteWords("release_failed", note({ event: "update", error: "cancelled by the owner" }))).toBe(
      "An update, not delivered: cancelled by the owner",
    );
    expect(
      deliveryNoteWords("release_failed", note({ event: null, releaseId: null, withdrawn: 2, error: "the grant was revoked before they were delivered" })),
    ).toBe("2 waiting releases withdrawn: the grant was revoked before they were delivered");
    expect(deliveryNoteWords("redemption", note({}))).toBe("");
  });
});
