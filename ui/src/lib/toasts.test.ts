import { describe, expect, it } from "vitest";
import { addToast, toastKey, TOAST_MAX, type ToastItem } from "./toasts";

const t = (id: number, text: string, at: number, key?: string, kind: ToastItem["kind"] = "info"): ToastItem => ({
  id,
  kind,
  text,
  at,
  key: toastKey(kind, text, key),
});

describe("addToast", () => {
  it("shows identical toasts within the window once", () => {
    const a = addToast([], t(1, "Refused Acme: expired", 1000));
    const b = addToast(a, t(2, "Refused Acme: expired", 2500));
    expect(b).toBe(a);
    expect(b).toHaveLength(1);
  });

  it("shows the same text again once the window has passed", () => {
    const a = addToast([], t(1, "Refused Acme: expired", 1000));
    const b = addToast(a, t(2, "Refused Acme: expired", 1000 + 5000));
    expect(b.map((x) => x.id)).toEqual([1, 2]);
  });

  it("one import (request event + import result) gives one toast with the import words", () => {
    const a = addToast([], t(1, "New request from Acme", 1000, "request:r1"));
    const b = addToast(a, t(2, "Request from Acme imported", 1200, "request:r1", "success"));
    expect(b).toHaveLength(1);
    expect(b[0]).toMatchObject({ id: 1, text: "Request from Acme imported", kind: "success" });
  });

  it("keys the request-arrived and request-imported words by retailer without an explicit key", () => {
    expect(toastKey("info", "New request from Acme Shop")).toBe(toastKey("success", "Request from Acme Shop imported"));
    expect(toastKey("info", "New request from Acme")).not.toBe(toastKey("info", "New request from Bolt"));
    expect(toastKey("success", "Approved Acme")).toBe("success:Approved Acme");
  });

  it("different requests still get their own toasts, capped at TOAST_MAX", () => {
    let list: ToastItem[] = [];
    for (let i = 0; i < TOAST_MAX + 2; i++) list = addToast(list, t(i, `New request from R${i}`, 1000 + i, `request:${i}`));
    expect(list).toHaveLength(TOAST_MAX);
    expect(list[list.length - 1]?.text).toBe(`New request from R${TOAST_MAX + 1}`);
  });
});
