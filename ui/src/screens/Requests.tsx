import { useEffect, useMemo, useRef, useState } from "react";
import * as backend from "../backend";
import type { GrantRequest, IssuedGrant, PickedFile } from "../backend";
import { Button, EmptyState, ErrorState, ErrorText, Loading, PageHeader, SensitivityBadge, StatusPill } from "../components/ui";
import { ValueExchange } from "../components/ValueExchange";
import type { Live, Toast, View } from "../lib/navigation";
import { useAction, useLoad } from "../hooks";
import { customExpiry, expiryFrom, expiryPresets, parseMaxUses } from "../lib/expiry";
import { dateInputValue, formatDateTime, formatDuration, relativeTime } from "../lib/format";
import { purposeWords } from "../lib/words";
import { minimizedSelection, privacyNotes } from "../lib/privacy";
import { pinChangeWords, provenance, viaWords } from "../lib/verification";

type ToastFn = (kind: Toast["kind"], text: string) => void;

/** What Locket can say about how a request arrived. None of these ways proves who sent it. */
/** Whether a scope is an answer computed from the date of birth (the core's rule: `is_age_answer`). */
function isAgeAnswer(scope: string): boolean {
  return scope.startsWith("age_over:") || scope === "birth_year_band";
}

export function RequestsScreen(props: {
  live: Live;
  focus: string | null;
  toast: ToastFn;
  go: (v: View) => void;
  /** Told how many requests wait, each time the list loads (the sidebar's badge follows decisions made here). */
  onPending?: (n: number) => void;
}) {
  const list = useLoad(() => backend.requests(), [props.live.requestTick]);
  const imp = useAction();
  const [highlight, setHighlight] = useState<string | null>(props.focus);
  const [issued, setIssued] = useState<Record<string, IssuedGrant>>({});
  const { toast, focus, onPending } = props;
  // A request just approved stays on screen (its "grant issued" card) until Done, but no longer waits.
  useEffect(() => {
    if (list.data) onPending?.(list.data.filter((r) => r.status === "pending" && !issued[r.id]).length);
  }, [list.data, issued, onPending]);

  useEffect(() => setHighlight(focus), [focus]);

  const importFiles = (files: PickedFile[]) => {
    void imp.run(async () => {
      let last: GrantRequest | null = null;
      for (const f of files) last = await backend.importRequestFile(f);
      if (last) {
        toast("success", `Request from ${last.retailer.name} imported`);
        setHighlight(last.id);
      }
      list.reload();
    });
  };

  const pending = useMemo(() => (list.data ?? []).filter((r) => r.status === "pending" || issued[r.id]), [list.data, issued]);
  const past = useMemo(() => (list.data ?? []).filter((r) => r.status !== "pending" && !issued[r.id]), [list.data, issued]);

  return (
    <div className="page" data-testid="requests-screen">
      <PageHeader
        title="Requests"
        subtitle="Retailers ask for parts of your profile. Nothing is shared until you approve."
        actions={
          <Button
            kind="primary"
            busy={imp.busy}
            testid="request-import"
            onClick={() =>
              void imp.run(async () => {
                const f = await backend.pickRequestFile();
                if (f) importFiles([f]);
              })
            }
          >
            Import request…
          </Button>
        }
      />
      <ErrorText error={imp.error} testid="request-import-error" />
      {list.error && !list.data && <ErrorState error={list.error} onRetry={list.reload} />}
      {!list.data && !list.error && <Loading />}
      {list.data && pending.length === 0 && (
        <EmptyState icon="inbox" title="No requests waiting" testid="requests-empty">
          <p>
            When a shop asks for your details, its request appears here. You can also import a request file the
            shop gave you — use <strong>Import request…</strong> or drop the file on this window.
          </p>
        </EmptyState>
      )}
      <div className="request-list">
        {pending.map((r) => (
          <RequestCard
            key={r.id}
            request={r}
            highlight={highlight === r.id}
            issued={issued[r.id] ?? null}
            onIssued={(g) => setIssued((m) => ({ ...m, [r.id]: g }))}
            onDone={() => {
              setIssued((m) => {
                const n = { ...m };
                delete n[r.id];
                return n;
              });
              list.reload();
            }}
            toast={toast}
          />
        ))}
      </div>
      {past.length > 0 && (
        <section className="card" data-testid="requests-history">
          <h2>Earlier requests</h2>
          <table className="table">
            <thead>
              <tr>
                <th>Retailer</th>
                <th>Asked for</th>
                <th>Received</th>
                <th>Decision</th>
              </tr>
            </thead>
            <tbody>
              {past.map((r) => (
                <tr key={r.id} data-testid="request-history-row">
                  <td>
                    <button type="button" className="link" onClick={() => props.go({ page: "retailer", id: r.retailer.id })}>
                      {r.retailer.name}
                    </button>
                  </td>
                  <td>{r.scopes.length} fields</td>
                  <td>{formatDateTime(r.receivedAt)}</td>
                  <td><StatusPill status={r.status} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}

function RequestCard(props: {
  request: GrantRequest;
  highlight: boolean;
  issued: IssuedGrant | null;
  onIssued: (g: IssuedGrant) => void;
  onDone: () => void;
  toast: ToastFn;
}) {
  const r = props.request;
  const ref = useRef<HTMLElement>(null);
  const [chosen, setChosen] = useState<Set<string>>(() => new Set(r.scopes.filter((s) => s.required).map((s) => s.scope)));
  const presets = useMemo(() => expiryPresets(r.durationSeconds), [r.durationSeconds]);
  const [preset, setPreset] = useState<string>(presets[presets.length - 1]!.id);
  const [customDay, setCustomDay] = useState("");
  const [maxUses, setMaxUses] = useState("");
  const act = useAction();
  const [copied, setCopied] = useState(false);
  const [savedTo, setSavedTo] = useState<string | null>(null);

  useEffect(() => {
    if (props.highlight) ref.current?.scrollIntoView({ block: "start", behavior: "smooth" });
  }, [props.highlight]);

  const now = new Date();
  const custom = preset === "custom" ? customExpiry(customDay, now, r.durationSeconds) : null;
  const presetSeconds = presets.find((p) => p.id === preset)?.seconds ?? r.durationSeconds;
  const expiresAt = custom ? custom.at : expiryFrom(now, presetSeconds);
  const uses = parseMaxUses(maxUses);
  const missingRequired = r.scopes.filter((s) => s.required && !chosen.has(s.scope));
  const canApprove = chosen.size > 0 && expiresAt !== null && !uses.error && !act.busy;

  const notes = useMemo(() => privacyNotes(r), [r]);
  // Several answers about the owner's age (age_over:18 and age_over:21, birth_year_band) narrow it to a band.
  const [insistAge, setInsistAge] = useState(false);
  const ageAnswers = r.scopes.filter((s) => chosen.has(s.scope) && isAgeAnswer(s.scope)).map((s) => s.scope);
  const ageRefused = act.error?.code === "age_bracketing";
  const canMinimize = notes.some((n) => n.minimizable) && expiresAt !== null && !uses.error && !act.busy;

  const approve = (minimize: boolean) => {
    if (!expiresAt || (minimize ? !canMinimize : !canApprove)) return;
    void act.run(async () => {
      const g = await backend.approveRequest({
        requestId: r.id,
        scopes: minimize ? minimizedSelection(r, chosen) : r.scopes.filter((s) => chosen.has(s.scope)).map((s) => s.scope),
        expiresInSeconds:
          preset === "requested" ? null : Math.max(60, Math.floor((expiresAt.getTime() - Date.now()) / 1000)),
        maxUses: uses.value,
        minimize,
        allowAgeBracketing: insistAge,
      });
      props.onIssued(g);
      props.toast("success", minimize ? `Approved ${r.retailer.name} with minimized answers` : `Approved ${r.retailer.name}`);
    });
  };
  const deny = () =>
    void act.run(async () => {
      await backend.denyRequest(r.id);
      props.toast("info", `Denied ${r.retailer.name}`);
      props.onDone();
    });

  const prov = provenance(r);
  const header = (
    <header className="request-head">
      <div className="avatar" aria-hidden="true">{r.retailer.name.slice(0, 1).toUpperCase()}</div>
      <div>
        <h2 data-testid="request-retailer">{r.retailer.name}</h2>
        <p className="muted small">
          <span data-testid="request-origin">{r.retailer.origin}</span>
          {" · "}
          received {relativeTime(new Date(r.receivedAt), now)} {viaWords(r.via)}
          {" · "}
          {prov.kind === "verified" ? (
            <span className="verified" data-testid="request-verified" title={prov.detail}>
              ✓ verified: {prov.host}
            </span>
          ) : (
            <span className="unverified" data-testid="request-unverified" title={prov.detail}>
              not verified
            </span>
          )}
        </p>
      </div>
    </header>
  );

  if (props.issued) {
    const g = props.issued;
    return (
      <article className="card request-card is-approved" data-testid="request-card" data-request-id={r.id} ref={ref}>
        {header}
        <div className="approved-panel" data-testid="grant-issued">
          <h3>✓ Approved until {formatDateTime(g.grant.expiresAt)}</h3>
          <p>
            Give this grant file to {r.retailer.name}. It lets them fetch the {g.grant.scopes.length} field
            {g.grant.scopes.length === 1 ? "" : "s"} you chose — and nothing else — until it expires or you revoke it.
            The file itself holds none of your data.
          </p>
          <div className="row gap">
            <Button
              kind="primary"
              testid="grant-save"
              onClick={() =>
                void act.run(async () => {
                  const f = await backend.pickSavePath("grant_file", g.suggestedFileName);
                  if (!f) return;
                  await backend.saveGrantFile(g.grant.id, f);
                  setSavedTo(f.name);
                })
              }
            >
              Save grant file…
            </Button>
            <Button
              testid="grant-copy"
              onClick={() =>
                void act.run(async () => {
                  await backend.copyText(g.grantFile);
                  setCopied(true);
                })
              }
            >
              {copied ? "Copied ✓" : "Copy to clipboard"}
            </Button>
            <Button kind="ghost" onClick={props.onDone} testid="grant-done">
              Done
            </Button>
          </div>
          {act.error ? (
            <ErrorText error={act.error} />
          ) : (
            <p className="muted small" data-testid="grant-saved-to">{savedTo ? `Saved to ${savedTo}` : " "}</p>
          )}
        </div>
      </article>
    );
  }

  return (
    <article className={`card request-card ${props.highlight ? "is-highlight" : ""}`} data-testid="request-card" data-request-id={r.id} ref={ref}>
      {header}
      <p className="request-intro">
        <strong>{r.retailer.name}</strong> asks for {r.scopes.length} field{r.scopes.length === 1 ? "" : "s"} for{" "}
        <strong>{formatDuration(r.durationSeconds)}</strong>. Tick what you are happy to share.
      </p>
      {prov.kind === "verified" && !prov.changed && (
        <section className="identity-verified" data-testid="verified-banner" aria-label="Verified shop">
          <h3>✓ {prov.headline}</h3>
          <p className="small">{prov.detail}</p>
        </section>
      )}
      {prov.kind === "verified" && prov.changed && r.verification && (
        <section className="identity-check" data-testid="pin-changed" aria-label="Changed shop keys or details">
          <h3>⚠ {prov.host} is not presenting the keys or details Locket saw when you first connected</h3>
          <p className="small">
            The request is signed by {prov.origin}, but with different keys or details than before. That can be a
            routine change — or the site changed hands or was broken into. Check with the shop before you share
            anything; approving accepts the new details for this shop.
          </p>
          <dl className="facts">
            {r.verification.changes.map((c) => {
              const w = pinChangeWords(c);
              return (
                <div key={c.field} data-testid="pin-change" data-field={c.field}>
                  <dt>{w.label}</dt>
                  <dd>
                    <span className="muted">first seen:</span> {w.pinned} <br />
                    <span className="muted">now:</span> <strong>{w.now}</strong>
                  </dd>
                </div>
              );
            })}
          </dl>
        </section>
      )}
      {prov.kind === "unverified" && prov.impersonates && (
        <section className="identity-check" data-testid="impersonation" aria-label="Possible impersonation">
          <h3>⚠ A verified shop uses this name</h3>
          <p className="small">
            You connected to {prov.impersonates} from its website before. This request did not come from there, so
            it may be someone pretending to be that shop.
          </p>
        </section>
      )}
      {r.retailerChanges.length > 0 && (
        <section className="identity-check" data-testid="retailer-changed" aria-label="Different shop details">
          <h3>⚠ These details differ from the {r.retailer.id} you already know</h3>
          <p className="small">
            Anyone can send a request under a shop’s name. Locket keeps the details it saw first for this shop; this
            request says otherwise. Check with the shop before you share anything.
          </p>
          <dl className="facts">
            {r.retailerChanges.map((c) => (
              <div key={c.field} data-testid="retailer-change" data-field={c.field}>
                <dt>{c.label.charAt(0).toUpperCase() + c.label.slice(1)}</dt>
                <dd>
                  <span className="muted">first seen:</span> {c.firstSeen || "not given"} <br />
                  <span className="muted">this request:</span> <strong>{c.claimed || "not given"}</strong>
                </dd>
              </div>
            ))}
          </dl>
        </section>
      )}
      {notes.length > 0 && (
        <section className="privacy-check" data-testid="privacy-check" aria-label="Privacy check">
          <h3>Privacy check</h3>
          <ul>
            {notes.map((n) => (
              <li key={`${n.kind}-${n.scope}`} className={`privacy-note is-${n.kind}`} data-testid="privacy-warning" data-code={n.kind} data-scope={n.scope}>
                <span className="privacy-note-icon" aria-hidden="true">{n.kind === "over_asking" ? "⚖" : "⚠"}</span>
                <span>
                  <strong>{n.text}</strong>
                  {n.detail && <span className="muted small privacy-note-detail">{n.detail}</span>}
                </span>
              </li>
            ))}
          </ul>
          {notes.some((n) => n.minimizable) && (
            <div className="row gap">
              <Button kind="primary" onClick={() => approve(true)} disabled={!canMinimize} busy={act.busy} testid="request-approve-minimized">
                Share the minimized answer instead
              </Button>
              <span className="muted small">Approves what you ticked, with the minimized answer in place of the full value.</span>
            </div>
          )}
        </section>
      )}
      <ul className="scope-list">
        {r.scopes.map((s) => {
          const tid = s.scope.replace(/[^a-zA-Z0-9]+/g, "-");
          return (
            <li key={s.scope} className={`scope ${chosen.has(s.scope) ? "is-on" : ""}`}>
              <label>
                <input
                  type="checkbox"
                  checked={chosen.has(s.scope)}
                  onChange={(e) =>
                    setChosen((c) => {
                      const n = new Set(c);
                      if (e.target.checked) n.add(s.scope);
                      else n.delete(s.scope);
                      return n;
                    })
                  }
                  data-testid={`scope-${tid}`}
                />
                <span className="scope-main">
                  <span className="scope-label">
                    {s.label}
                    <span className={`tag ${s.required ? "tag-required" : "tag-optional"}`}>{s.required ? "Required" : "Optional"}</span>
                    <SensitivityBadge level={s.sensitivity} />
                  </span>
                  <span className="scope-purpose" data-testid={`purpose-${tid}`}>
                    Used {purposeWords(s.purpose, s.purposeText)}
                  </span>
                </span>
              </label>
            </li>
          );
        })}
      </ul>
      <p className="warn-text small" data-testid="request-required-warning">
        {missingRequired.length > 0
          ? `${r.retailer.name} says it needs ${missingRequired.map((s) => s.label).join(", ")}; without it some of its service may not work.`
          : " "}
      </p>
      <ValueExchange shop={r.retailer.name} benefit={r.benefit} recipients={r.recipients} />
      <dl className="facts">
        <div>
          <dt>They keep what they receive</dt>
          <dd data-testid="request-retention">{r.retentionText || (r.retentionSeconds ? formatDuration(r.retentionSeconds) : "not stated")}</dd>
        </div>
        <div>
          <dt>Privacy policy</dt>
          <dd>{r.retailer.privacyPolicy ?? "not given"}</dd>
        </div>
        {r.retailer.contact && (
          <div>
            <dt>Contact</dt>
            <dd>{r.retailer.contact}</dd>
          </div>
        )}
      </dl>
      <div className="decision">
        <fieldset className="expiry">
          <legend>Access ends</legend>
          <div className="chips">
            {presets.map((p) => (
              <label key={p.id} className={`chip chip-toggle ${preset === p.id ? "is-on" : ""}`}>
                <input type="radio" name={`exp-${r.id}`} checked={preset === p.id} onChange={() => setPreset(p.id)} data-testid={`expiry-${p.id}`} />
                {p.id === "requested" ? `${p.label} (${formatDuration(p.seconds)})` : p.label}
              </label>
            ))}
            <label className={`chip chip-toggle ${preset === "custom" ? "is-on" : ""}`}>
              <input type="radio" name={`exp-${r.id}`} checked={preset === "custom"} onChange={() => setPreset("custom")} data-testid="expiry-custom" />
              On a date
            </label>
            {preset === "custom" && (
              <input
                type="date"
                value={customDay}
                min={dateInputValue(new Date(now.getTime() + 86400_000))}
                max={dateInputValue(expiryFrom(now, r.durationSeconds))}
                onChange={(e) => setCustomDay(e.target.value)}
                aria-label="Expiry date"
                data-testid="expiry-date"
              />
            )}
          </div>
          <p className="muted small" data-testid="expiry-summary">
            {custom?.error ? <span className="error-inline">{custom.error}</span> : expiresAt ? `Until ${formatDateTime(expiresAt.toISOString())}` : " "}
          </p>
        </fieldset>
        <div className="field field-narrow">
          <label htmlFor={`uses-${r.id}`}>Max uses</label>
          <input id={`uses-${r.id}`} inputMode="numeric" placeholder="No limit" value={maxUses} onChange={(e) => setMaxUses(e.target.value)} data-testid="max-uses" />
          <ErrorText error={uses.error} />
        </div>
      </div>
      {(ageAnswers.length > 1 || ageRefused) && (
        <section className="identity-check" data-testid="age-bracketing" aria-label="Your age">
          <p>
            <strong>These answers together narrow down your age.</strong>{" "}
            {ageAnswers.length > 1
              ? `Sharing ${ageAnswers.join(" and ")} tells ${r.retailer.name} that your age lies between them; each further answer narrows it more, down to your exact age.`
              : `${r.retailer.name} already holds an answer about your age from an earlier grant; another one narrows your age to a band.`}{" "}
            Share just one, or confirm below.
          </p>
          <label className="check">
            <input type="checkbox" checked={insistAge} onChange={(e) => setInsistAge(e.target.checked)} data-testid="age-bracketing-insist" />
            <span>Share them anyway — I understand this narrows down my age</span>
          </label>
        </section>
      )}
      <ErrorText error={act.error} testid="request-error" />
      <footer className="request-actions">
        <Button kind="ghost" onClick={deny} disabled={act.busy} testid="request-deny">
          Deny
        </Button>
        <Button kind={notes.some((n) => n.minimizable) ? "secondary" : "primary"} onClick={() => approve(false)} disabled={!canApprove} busy={act.busy} testid="request-approve">
          Approve {chosen.size} field{chosen.size === 1 ? "" : "s"}
        </Button>
      </footer>
    </article>
  );
}
