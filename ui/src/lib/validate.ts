// Immediate, client-side checks that mirror the core's validation, so the owner sees a problem while typing.
// The core validates again on save; its `{code, message}` is shown in the same place.
import type { FieldType } from "../backend";

export function validateValue(fieldType: FieldType, raw: string, options: string[] = []): string | null {
  const v = raw.trim();
  if (v.length === 0) return null; // empty = "clear the value", handled by the caller
  switch (fieldType) {
    case "email":
      return /^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/.test(v) ? null : "Expected an email address, e.g. ada@example.com";
    case "phone":
      return /^\+[1-9][0-9]{6,14}$/.test(v.replace(/[\s-]/g, ""))
        ? null
        : "Expected an international number (E.164), e.g. +442071234567";
    case "date": {
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
      if (!m) return "Expected a date as YYYY-MM-DD";
      const d = new Date(`${v}T00:00:00Z`);
      if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== v) return "That date does not exist";
      return null;
    }
    case "country":
      return /^[A-Za-z]{2}$/.test(v) ? null : "Expected a two-letter country code, e.g. GB or DE";
    case "number":
      return /^-?\d+(\.\d+)?$/.test(v) ? null : "Expected a number";
    case "range": {
      const m = /^(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)(?:\s+[A-Za-z]{3})?$/.exec(v);
      if (!m) return "Expected a range such as 20-80";
      return Number(m[1]) <= Number(m[2]) ? null : "The lower bound must not exceed the upper bound";
    }
    case "bool":
      return v === "true" || v === "false" ? null : "Expected yes or no";
    case "enum":
      return options.length === 0 || options.includes(v) ? null : `Choose one of: ${options.join(", ")}`;
    case "multi_enum": {
      if (options.length === 0) return null;
      const bad = splitMulti(v).filter((x) => !options.includes(x));
      return bad.length === 0 ? null : `Not a choice here: ${bad.join(", ")}`;
    }
    case "text":
      return v.length > 2000 ? "Keep it under 2000 characters" : null;
  }
}

export function splitMulti(v: string): string[] {
  return v
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}

export function joinMulti(values: string[]): string {
  return values.join(",");
}

/** A custom field key: lowercase words separated by dots/underscores, e.g. "custom.favourite_colour". */
export function validateCustomKey(key: string): string | null {
  if (!/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/.test(key))
    return "Use lowercase letters, digits and underscores, groups separated by dots (e.g. custom.shoe_width)";
  if (key.length > 64) return "Keep the key under 64 characters";
  return null;
}

/** "20-80 GBP" → { lo: "20", hi: "80", currency: "GBP" }; partial input keeps what is there. */
export function parseRange(v: string): { lo: string; hi: string; currency: string } {
  const m = /^\s*([^-\s]*)\s*-\s*([^\s]*)\s*([A-Za-z]{3})?\s*$/.exec(v);
  if (!m) return { lo: v.trim(), hi: "", currency: "" };
  return { lo: m[1] ?? "", hi: m[2] ?? "", currency: (m[3] ?? "").toUpperCase() };
}
