// The privacy half of a retailer's page: what it holds (the disclosure ledger), its consent receipts, its
// privacy budget, erasure requests and its email alias.
import { useState } from "react";
import * as backend from "../backend";
import type { Retailer } from "../backend";
import type { Toast } from "../lib/navigation";
import { useAction, useLoad } from "../hooks";
import { formatDate, formatDateTime } from "../lib/format";
import { budgetFraction, budgetWords, holdingKind, sortHoldings } from "../lib/privacy";
import { Button, ConfirmDialog, ErrorText, TextField } from "./ui";

const RECEIPT_EVENTS: Record<string, string> = {
  grant: "You approved",
  narrowing: "You narrowed",
  revoke: "You revoked",
  expiry: "Expired",
};

export function RetailerPrivacy(props: {
  retailer: Retailer;
  grantScopes: string[];
  tick: number;
  toast: (kind: Toast["kind"], text: string) => void;
  /** Locket delivered data to the retailer's server (the ledger below counts only what it fetched). */
  deliveredToServer?: boolean;
}) {
  const { retailer } = props;
  const p = useLoad(() => backend.retailerPrivacy(retailer.id), [retailer.id, props.tick]);
  const act = useAction();
  const [confirmErase, setConfirmErase] = useState(false);
  const [aliasEdit, setAliasEdit] = useState<string | null>(null);
  if (!p.data) return p.error ? <ErrorText error={p.error} testid="retailer-privacy-error" /> : null;
  const { holdings, receipts, budget, erasures, alias } = p.data;
  const open = erasures.find((e) => !e.acknowledgedAt) ?? null;
  const last = erasures[erasures.length - 1] ?? null;
  const frac = budget ? budgetFraction(budget) : 0;

  return (
    <>
      <section className="card card-flush" data-testid="retailer-holdings">
        <h2 className="card-pad">What {retailer.name} holds</h2>
        {holdings.length === 0 ? (
          <p className="muted card-pad" data-testid="holdings-empty">
            {props.deliveredToServer
              ? `${retailer.name} has fetched none of your data; what Locket delivered to its server is listed under Deliveries above.`
              : `${retailer.name} holds none of your data.`}
          </p>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>Field</th>
                <th>Version</th>
                <th>Since</th>
                <th>Current?</th>
              </tr>
            </thead>
            <tbody>
              {sortHoldings(holdings).map((h) => {
                const kind = holdingKind(h, props.grantScopes);
                return (
                <tr key={h.field} data-testid="holding-row" data-field={h.field} data-kind={kind}>
                  <td>
                    {kind === "answer" ? `Answer: ${h.label.charAt(0).toLowerCase()}${h.label.slice(1)}` : h.label}
                    {kind === "source" && <span className="muted small block">Only used to work out an answer — the value itself was not shared</span>}
                  </td>
                  <td>{kind === "answer" ? "—" : `v${h.version}`}</td>
                  <td className="nowrap">{formatDate(h.since)}</td>
                  <td>
                    {kind === "answer" ? (
                      "—"
                    ) : kind === "source" && h.outdatedSince ? (
                      <span className="cell-outdated" data-testid="holding-outdated">
                        You changed it {formatDate(h.outdatedSince)}; the answer worked out from it may be out of date
                      </span>
                    ) : h.outdatedSince ? (
                      <span className="cell-outdated" data-testid="holding-outdated">
                        Holds your previous {h.label.toLowerCase()} — you changed it {formatDate(h.outdatedSince)}
                      </span>
                    ) : (
                      "Yes"
                    )}
                  </td>
                </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>

      <div className="grid-2">
        <section className="card" data-testid="retailer-erasure">
          <h2>Erasure</h2>
          {last ? (
            <p data-testid="erasure-status">
              You asked {retailer.name} to erase your data on {formatDate(last.requestedAt)}.{" "}
              {last.acknowledgedAt ? (
                <strong>It acknowledged on {formatDate(last.acknowledgedAt)}.</strong>
              ) : (
                <span className="muted">It has not acknowledged yet.</span>
              )}
            </p>
          ) : (
            <p className="muted">You can ask {retailer.name} to erase everything it received from you.</p>
          )}
          <Button kind="danger" disabled={open !== null} onClick={() => setConfirmErase(true)} testid="erasure-request">
            Ask to erase my data
          </Button>
        </section>

        <section className="card" data-testid="retailer-alias">
          <h2>Email alias</h2>
          {aliasEdit === null ? (
            <>
              <p data-testid="alias-value">
                {alias ? (
                  <>
                    {retailer.name} gets <strong className="mono">{alias}</strong> instead of your email address.
                  </>
                ) : (
                  <span className="muted">No alias: {retailer.name} gets your own email address.</span>
                )}
              </p>
              <Button onClick={() => setAliasEdit(alias ?? "")} testid="alias-edit">
                {alias ? "Change alias" : "Set an alias"}
              </Button>
            </>
          ) : (
            <>
              <TextField label="Alias address" value={aliasEdit} onChange={setAliasEdit} testid="alias-input" placeholder="shop-name@my-alias.example" autoFocus />
              <div className="row gap">
                <Button
                  kind="primary"
                  busy={act.busy}
                  testid="alias-save"
                  onClick={() =>
                    void act.run(async () => {
                      const saved = await backend.setAlias(retailer.id, aliasEdit);
                      setAliasEdit(null);
                      props.toast("success", `${retailer.name} will get ${saved}`);
                      p.reload();
                    })
                  }
                >
                  Save
                </Button>
                <Button kind="ghost" onClick={() => setAliasEdit(null)}>
                  Cancel
                </Button>
              </div>
            </>
          )}
          <ErrorText error={confirmErase ? null : act.error} testid="alias-error" />
        </section>
      </div>

      {budget && (
        <section className="card" data-testid="retailer-budget">
          <h2>Privacy budget</h2>
          <p className="muted small">
            For statistics, {retailer.name} gets noised answers that hide yours. Each answer spends some of this budget;
            when it is used up, no more are given.
          </p>
          <div className={`meter ${frac >= 0.8 ? "is-high" : ""}`} role="meter" aria-valuemin={0} aria-valuemax={budget.total} aria-valuenow={budget.spent} aria-label="Privacy budget spent">
            <span style={{ width: `${Math.round(frac * 100)}%` }} />
          </div>
          <p className="small" data-testid="budget-words">
            {budgetWords(budget)} · {budget.answers} noised answer{budget.answers === 1 ? "" : "s"}
          </p>
        </section>
      )}

      <section className="card card-flush" data-testid="retailer-receipts">
        <div className="card-pad row between">
          <h2>Consent receipts</h2>
          <Button
            small
            disabled={receipts.length === 0}
            busy={act.busy}
            testid="receipts-export"
            onClick={() =>
              void act.run(async () => {
                const slug = retailer.name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
                const file = await backend.pickSavePath("receipts", `locket-receipts-${slug}.json`);
                if (!file) return;
                const n = await backend.exportReceipts(retailer.id, file);
                props.toast("success", `Saved ${n} receipt${n === 1 ? "" : "s"} to ${file.name}`);
              })
            }
          >
            Export…
          </Button>
        </div>
        {receipts.length === 0 ? (
          <p className="muted card-pad">No receipts yet. Each time you approve, narrow or revoke, Locket issues a signed receipt.</p>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>When</th>
                <th>What</th>
                <th>Fields</th>
                <th>Receipt</th>
              </tr>
            </thead>
            <tbody>
              {receipts.map((r) => (
                <tr key={r.receiptId} data-testid="receipt-row" data-event={r.event}>
                  <td className="nowrap">{formatDateTime(r.eventAt)}</td>
                  <td>{RECEIPT_EVENTS[r.event] ?? r.event}</td>
                  <td className="mono small">{(r.scopes.length > 0 ? r.scopes : r.withdrawnScopes).join(", ")}</td>
                  <td className="mono small" title={r.receiptId}>
                    {r.receiptId.slice(0, 11)}… v{r.version}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      {confirmErase && (
        <ConfirmDialog
          title={`Ask ${retailer.name} to erase your data?`}
          body={
            <p>
              Locket records the request; {retailer.name} sees it the next time it checks one of its grants, and its
              acknowledgement shows here. Its grants stay as they are — revoke them too if it should stop receiving data.
            </p>
          }
          confirmLabel="Ask to erase"
          busy={act.busy}
          error={act.error}
          testid="erasure-dialog"
          onCancel={() => setConfirmErase(false)}
          onConfirm={() =>
            void act.run(async () => {
              await backend.requestErasure(retailer.id, null);
              setConfirmErase(false);
              props.toast("success", `Asked ${retailer.name} to erase your data`);
              p.reload();
            })
          }
        />
      )}
    </>
  );
}
