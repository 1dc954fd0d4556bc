/** Toast queue logic: at most a few visible, and no repeats of the same news within a short window. */

export interface ToastItem {
  id: number;
  kind: "info" | "success" | "warning";
  text: string;
  /** What the toast is about; two toasts with the same key are the same news (defaults to kind + text). */
  key: string;
  /** When it was shown (ms). */
  at: number;
}

/** Toasts with the same key within this many ms are shown once. */
export const TOAST_DEDUPE_MS = 4000;
/** How many toasts stay on screen at once. */
export const TOAST_MAX = 4;

/**
 * The subject of a toast. A request arriving ("New request from X") and its import finishing
 * ("Request from X imported") are the same news, so one import shows one toast; anything else is
 * keyed by kind and text.
 */
export function toastKey(kind: ToastItem["kind"], text: string, key?: string): string {
  if (key) return key;
  const m = /^New request from (.+)$/.exec(text) ?? /^Request from (.+) imported$/.exec(text);
  if (m) return `request:${m[1]}`;
  return `${kind}:${text}`;
}

/**
 * Adds `next` to `list` unless a toast with the same key was shown less than `TOAST_DEDUPE_MS` ago.
 * A later toast about the same thing that carries more detail (e.g. "imported" after "new request")
 * replaces the earlier one's text in place rather than stacking a second toast.
 * Returns the same array when nothing changed.
 */
export function addToast(list: ToastItem[], next: ToastItem, windowMs = TOAST_DEDUPE_MS): ToastItem[] {
  const i = list.findIndex((t) => t.key === next.key && next.at - t.at < windowMs);
  const prev = list[i];
  if (prev) {
    if (prev.text === next.text && prev.kind === next.kind) return list;
    // Same subject, different words: keep one toast (the earlier id, so its timer still removes it).
    const merged = { ...prev, kind: next.kind, text: next.text };
    return list.map((t, j) => (j === i ? merged : t));
  }
  return [...list.slice(-(TOAST_MAX - 1)), next];
}
