import { useCallback, useEffect, useRef, useState } from "react";
import { toLocketError, type LocketError } from "./backend";
import { settleDelay } from "./lib/settle";

export interface Loaded<T> {
  data: T | null;
  error: LocketError | null;
  loading: boolean;
  reload: () => void;
}

/** Runs `fn` on mount and whenever `deps` change; keeps the last data while reloading (no layout jump). */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<LocketError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    setLoading(true);
    fn().then(
      (d) => {
        if (mine !== seq.current) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e: unknown) => {
        if (mine !== seq.current) return;
        setError(toLocketError(e));
        setLoading(false);
      },
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

/** The current time, refreshed every `ms` milliseconds (for countdowns). */
export function useNow(ms: number): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const id = window.setInterval(() => setNow(new Date()), ms);
    return () => window.clearInterval(id);
  }, [ms]);
  return now;
}

/** Run an async action with a busy flag and a typed error. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<LocketError | null>(null);
  const run = useCallback(async <T,>(fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(toLocketError(e));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

/**
 * `value`, passed on once it has stopped changing for `quietMs` (or, during a long burst, at most `maxMs` after
 * the first change still unpassed). The last change is always passed on.
 */
export function useSettled<T>(value: T, quietMs: number, maxMs: number): T {
  const [out, setOut] = useState(value);
  const pendingSince = useRef<number | null>(null);
  useEffect(() => {
    if (Object.is(value, out)) {
      pendingSince.current = null;
      return;
    }
    const now = Date.now();
    pendingSince.current ??= now;
    const id = window.setTimeout(() => {
      pendingSince.current = null;
      setOut(value);
    }, settleDelay(now, now, pendingSince.current, quietMs, maxMs));
    return () => window.clearTimeout(id);
  }, [value, out, quietMs, maxMs]);
  return out;
}
