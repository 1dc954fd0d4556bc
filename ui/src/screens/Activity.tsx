import { useEffect, useMemo, useRef, useState } from "react";
import * as backend from "../backend";
import { Button, EmptyState, ErrorState, Loading, PageHeader } from "../components/ui";
import { ActivityTimeline } from "../components/ActivityTimeline";
import type { Live, View } from "../lib/navigation";
import { useLoad, useSettled } from "../hooks";
import { EMPTY_FILTER, isFiltered, toAuditFilter, type ActivityFilterForm } from "../lib/filters";
import { formatCount, formatDateTime, formatLogTime } from "../lib/format";
import { eventKindWords, refusalSummaryWords, refusalWords } from "../lib/words";
import { deliveryNoteWords } from "../lib/deliveries";

const PAGE = 50;
const DAYS = 30;

export function ActivityScreen(props: { live: Live; go: (v: View) => void }) {
  const [form, setForm] = useState<ActivityFilterForm>(EMPTY_FILTER);
  const [fieldDraft, setFieldDraft] = useState("");
  // Keyset paging: the cursors of the pages seen so far (null = newest page).
  const [cursors, setCursors] = useState<(number | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const pageIndex = cursors.length - 1;
  const [liveTick, setLiveTick] = useState(0);
  const lastReload = useRef(0);

  // Live: reload the first page and the chart when events arrive, at most ~4 times a second.
  useEffect(() => {
    if (props.live.auditTick === 0) return;
    const wait = Math.max(0, 250 - (Date.now() - lastReload.current));
    const id = window.setTimeout(() => {
      lastReload.current = Date.now();
      setLiveTick((t) => t + 1);
    }, wait);
    return () => window.clearTimeout(id);
  }, [props.live.auditTick]);

  // Apply the field filter shortly after typing stops.
  useEffect(() => {
    const id = window.setTimeout(() => {
      setForm((f) => (f.field === fieldDraft ? f : { ...f, field: fieldDraft }));
      setCursors([null]);
    }, 300);
    return () => window.clearTimeout(id);
  }, [fieldDraft]);

  const filter = useMemo(() => toAuditFilter(form, new Date()), [form]);
  const page = useLoad(() => backend.auditPage(filter, cursor, PAGE), [filter, cursor, pageIndex === 0 ? liveTick : -1]);
  const timeline = useLoad(() => backend.auditTimeline(DAYS, form.retailerId || null), [liveTick, form.retailerId]);
  // The chain check walks the whole log: re-run it once live events settle (trailing), so its count catches up
  // with the table, and at most every few seconds during a long burst.
  const chainTick = useSettled(liveTick, 800, 5000);
  const chain = useLoad(() => backend.verifyChain(), [chainTick]);
  const retailers = useLoad(() => backend.retailers(), [liveTick]);

  const set = (patch: Partial<ActivityFilterForm>) => {
    setForm((f) => ({ ...f, ...patch }));
    setCursors([null]);
  };

  const total = page.data?.total ?? null;
  const shown = page.data?.events.length ?? 0;
  const first = pageIndex * PAGE + 1;
  return (
    <div className="page" data-testid="activity-screen">
      <PageHeader
        title="Activity"
        subtitle="Every access to your data, every delivery to a shop and every refusal, in a log that cannot be edited unnoticed."
        actions={<span className="live-badge" data-testid="activity-live"><span className="dot" aria-hidden="true" /> Live</span>}
      />
      <ChainBanner chain={chain.data} error={chain.error?.message ?? null} />
      <section className="card">
        <div className="card-title-row">
          <h2>Last {DAYS} days</h2>
        </div>
        {timeline.error && !timeline.data ? (
          <p className="error-text">{timeline.error.message}</p>
        ) : (
          <ActivityTimeline buckets={timeline.data ?? []} days={DAYS} />
        )}
      </section>
      <section className="card card-flush">
        <div className="filters" role="search" aria-label="Filter activity">
          <select value={form.retailerId} onChange={(e) => set({ retailerId: e.target.value })} aria-label="Retailer" data-testid="filter-retailer">
            <option value="">All retailers</option>
            {(retailers.data ?? []).map((r) => (
              <option key={r.retailer.id} value={r.retailer.id}>{r.retailer.name}</option>
            ))}
          </select>
          <input type="search" placeholder="Field, e.g. contact.email" value={fieldDraft} onChange={(e) => setFieldDraft(e.target.value)} aria-label="Field" data-testid="filter-field" />
          <select value={form.outcome} onChange={(e) => set({ outcome: e.target.value as ActivityFilterForm["outcome"] })} aria-label="Outcome" data-testid="filter-outcome">
            <option value="">All outcomes</option>
            <option value="allowed">Data shared</option>
            <option value="refused">Refused</option>
          </select>
          <select value={form.range} onChange={(e) => set({ range: e.target.value as ActivityFilterForm["range"] })} aria-label="Time" data-testid="filter-range">
            <option value="all">Any time</option>
            <option value="24h">Last 24 hours</option>
            <option value="7d">Last 7 days</option>
            <option value="30d">Last 30 days</option>
          </select>
          {isFiltered(form) && (
            <Button small kind="ghost" onClick={() => { setFieldDraft(""); set(EMPTY_FILTER); }} testid="filter-clear">
              Clear filters
            </Button>
          )}
          <span className="filters-count muted small" data-testid="activity-total">
            {total !== null ? `${formatCount(total)} event${total === 1 ? "" : "s"} in the log` : page.data ? "Filtered" : ""}
          </span>
        </div>
        {page.error && !page.data && <ErrorState error={page.error} onRetry={page.reload} />}
        {!page.data && !page.error && <Loading />}
        {page.data && page.data.events.length === 0 && (
          <EmptyState icon="activity" title={isFiltered(form) ? "Nothing matches these filters" : "No activity yet"} testid="activity-empty">
            <p>{isFiltered(form) ? "Try a wider time range or clear the filters." : "When a retailer fetches your data, or is refused, it shows up here straight away."}</p>
          </EmptyState>
        )}
        {page.data && page.data.events.length > 0 && (
          <div className="table-scroll">
            <table className="table activity-table" data-testid="activity-table">
              <thead>
                <tr>
                  <th className="col-time">Time</th>
                  <th>Event</th>
                  <th>Retailer</th>
                  <th>Fields</th>
                  <th>Details</th>
                </tr>
              </thead>
              <tbody>
                {page.data.events.map((e) => (
                  <tr key={e.seq} className={`outcome-${e.outcome}`} data-testid="activity-row" data-outcome={e.outcome} data-seq={e.seq}>
                    <td className="nowrap col-time" title={formatDateTime(e.at)}>{formatLogTime(e.at)}</td>
                    <td className="nowrap">
                      <span className={`outcome-dot outcome-dot-${e.outcome}`} aria-hidden="true" />
                      {eventKindWords(e.kind)}
                    </td>
                    <td>
                      {e.retailerId ? (
                        <button type="button" className="link" onClick={() => props.go({ page: "retailer", id: e.retailerId! })}>
                          {e.retailerName ?? e.retailerId}
                        </button>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                    <td>
                      {e.fields.length === 0 ? (
                        <span className="muted">—</span>
                      ) : (
                        <div className="fields-cell">
                          {e.fields.map((f) => (
                            <span key={f} className="chip chip-static chip-mono">
                              {f}
                              {e.versions[f] !== undefined ? ` v${e.versions[f]}` : ""}
                            </span>
                          ))}
                        </div>
                      )}
                    </td>
                    <td className="details-cell">
                      {e.outcome === "refused" ? (
                        <>
                          <span className="refusal" data-testid="refusal-reason" data-code={e.reason ?? ""}>{refusalWords(e.reason)}</span>
                          {e.summary && (
                            <span className="refusal-summary muted small" data-testid="refusal-summary">
                              {refusalSummaryWords(e.summary)}
                            </span>
                          )}
                        </>
                      ) : e.delivery ? (
                        <span className="small" data-testid="delivery-note">{deliveryNoteWords(e.kind, e.delivery)}</span>
                      ) : (
                        <span className="muted small">{[e.remote, e.userAgent].filter(Boolean).join(" · ") || " "}</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {page.data && shown > 0 && (
          <div className="pager">
            <Button small disabled={pageIndex === 0} onClick={() => setCursors([null])} testid="page-first">Newest</Button>
            <Button small disabled={pageIndex === 0} onClick={() => setCursors((c) => c.slice(0, -1))} testid="page-newer">‹ Newer</Button>
            <span className="muted small" data-testid="page-range">
              {formatCount(first)}–{formatCount(first + shown - 1)}
              {total !== null ? ` of ${formatCount(total)}` : ""}
            </span>
            <Button
              small
              disabled={page.data.next === null}
              onClick={() => {
                const next = page.data?.next ?? null;
                if (next !== null) setCursors((c) => [...c, next]);
              }}
              testid="page-older"
            >
              Older ›
            </Button>
          </div>
        )}
      </section>
    </div>
  );
}

function ChainBanner({ chain, error }: { chain: backend.ChainStatus | null; error: string | null }) {
  if (error)
    return (
      <div className="banner banner-bad" data-testid="chain-status" data-ok="false">
        Could not check the log: {error}
      </div>
    );
  if (!chain)
    return (
      <div className="banner banner-neutral" data-testid="chain-status">
        Checking the log…
      </div>
    );
  return chain.ok ? (
    <div className="banner banner-good" data-testid="chain-status" data-ok="true" data-events={chain.events}>
      <strong>Log verified ✓</strong>{" "}
      <span className="muted">
        — {formatCount(chain.events)} {chain.events === 1 ? "event" : "events"} checked, none altered.
      </span>
      {chain.restores.length > 0 && (
        <ul className="small" data-testid="chain-restores">
          {chain.restores.map((r) => (
            <li key={r}>This log was restored. {r}</li>
          ))}
        </ul>
      )}
    </div>
  ) : (
    <div className="banner banner-bad" data-testid="chain-status" data-ok="false">
      <strong>Tampering detected at event {chain.badSeq ?? "?"}.</strong> {chain.message}
    </div>
  );
}
