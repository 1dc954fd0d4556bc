import { useState } from "react";
import * as backend from "../backend";
import { Button, ConfirmDialog, EmptyState, ErrorState, Loading, PageHeader, StatusPill } from "../components/ui";
import { GrantTable } from "../components/GrantTable";
import { RetailerPrivacy } from "../components/RetailerPrivacy";
import type { Live, Toast, View } from "../lib/navigation";
import { useAction, useLoad, useNow } from "../hooks";
import { formatDateTime, relativeTime } from "../lib/format";
import { effectiveStatus } from "../lib/filters";

export function RetailersScreen(props: { live: Live; go: (v: View) => void }) {
  const list = useLoad(() => backend.retailers(), [props.live.auditTick, props.live.requestTick]);
  const now = new Date();
  if (list.error && !list.data) return <ErrorState error={list.error} onRetry={list.reload} />;
  if (!list.data) return <Loading />;
  return (
    <div className="page" data-testid="retailers-screen">
      <PageHeader title="Retailers" subtitle="Every shop that has asked for your data." />
      {list.data.length === 0 ? (
        <EmptyState icon="retailers" title="No retailers yet" testid="retailers-empty">
          <p>A retailer appears here once it sends you a request.</p>
        </EmptyState>
      ) : (
        <div className="retailer-grid">
          {list.data.map((r) => (
            <button
              key={r.retailer.id}
              type="button"
              className="card retailer-tile"
              onClick={() => props.go({ page: "retailer", id: r.retailer.id })}
              data-testid="retailer-tile"
              data-retailer-id={r.retailer.id}
            >
              <div className="avatar" aria-hidden="true">{r.retailer.name.slice(0, 1).toUpperCase()}</div>
              <div className="retailer-tile-text">
                <strong>{r.retailer.name}</strong>
                <span className="muted small">{r.retailer.origin}</span>
                <span className="small">
                  {r.activeGrants} active grant{r.activeGrants === 1 ? "" : "s"}
                  {r.pendingRequests > 0 ? ` · ${r.pendingRequests} waiting` : ""}
                  {" · "}
                  {r.lastAccess ? `last access ${relativeTime(new Date(r.lastAccess), now)}` : "never accessed"}
                </span>
              </div>
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

export function RetailerPage(props: { id: string; live: Live; toast: (k: Toast["kind"], t: string) => void; go: (v: View) => void }) {
  const d = useLoad(() => backend.retailerDetail(props.id), [props.id, props.live.auditTick, props.live.requestTick]);
  const [confirm, setConfirm] = useState(false);
  const act = useAction();
  const now = useNow(5000);
  if (d.error && !d.data) return <ErrorState error={d.error} onRetry={d.reload} />;
  if (!d.data) return <Loading />;
  const { retailer, grants, requests, disclosures } = d.data;
  const active = grants.filter((g) => effectiveStatus(g, now) === "active");
  return (
    <div className="page" data-testid="retailer-page">
      <button type="button" className="link back" onClick={() => props.go({ page: "retailers" })} data-testid="retailer-back">
        ‹ All retailers
      </button>
      <PageHeader
        title={retailer.name}
        subtitle={
          <>
            {retailer.origin}
            {retailer.contact ? ` · ${retailer.contact}` : ""}
            {retailer.privacyPolicy ? ` · privacy policy: ${retailer.privacyPolicy}` : ""}
          </>
        }
        actions={
          <Button kind="danger" disabled={active.length === 0} onClick={() => setConfirm(true)} testid="retailer-revoke-all">
            Revoke all access
          </Button>
        }
      />
      <section className="card card-flush">
        <h2 className="card-pad">Grants</h2>
        {grants.length === 0 ? (
          <p className="muted card-pad">You have not approved anything for {retailer.name}.</p>
        ) : (
          <GrantTable grants={grants} showRetailer={false} onRevoked={() => d.reload()} />
        )}
      </section>
      <RetailerPrivacy retailer={retailer} grantScopes={grants.flatMap((g) => g.scopes.map((x) => x.scope))} tick={props.live.auditTick} toast={props.toast} />
      <section className="card card-flush">
        <h2 className="card-pad">What {retailer.name} has received</h2>
        {disclosures.length === 0 ? (
          <p className="muted card-pad" data-testid="disclosures-empty">Nothing yet — {retailer.name} has not fetched any of your data.</p>
        ) : (
          <table className="table" data-testid="disclosure-table">
            <thead>
              <tr>
                <th>When</th>
                <th>Field</th>
                <th>Version</th>
              </tr>
            </thead>
            <tbody>
              {disclosures.map((x, i) => (
                <tr key={`${x.at}-${x.field}-${i}`} data-testid="disclosure-row">
                  <td className="nowrap">{formatDateTime(x.at)}</td>
                  <td className="mono">{x.field}</td>
                  <td>{x.versionId !== null ? `v${x.versionId}` : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="card card-flush">
        <h2 className="card-pad">Requests</h2>
        {requests.length === 0 ? (
          <p className="muted card-pad">No requests.</p>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>Received</th>
                <th>Asked for</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {requests.map((r) => (
                <tr key={r.id}>
                  <td className="nowrap">{formatDateTime(r.receivedAt)}</td>
                  <td>{r.scopes.map((s) => s.label).join(", ")}</td>
                  <td>
                    {r.status === "pending" ? (
                      <button type="button" className="link" onClick={() => props.go({ page: "requests", focus: r.id })}>
                        Waiting for you ›
                      </button>
                    ) : (
                      <StatusPill status={r.status} />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {confirm && (
        <ConfirmDialog
          title={`Revoke all of ${retailer.name}'s access?`}
          body={<p>All {active.length} active grant{active.length === 1 ? "" : "s"} end now; the next fetch is refused.</p>}
          confirmLabel="Revoke all"
          busy={act.busy}
          error={act.error}
          testid="revoke-all-dialog"
          onCancel={() => setConfirm(false)}
          onConfirm={() =>
            void act.run(async () => {
              const n = await backend.revokeAllForRetailer(retailer.id);
              setConfirm(false);
              props.toast("success", `Revoked ${n} grant${n === 1 ? "" : "s"} for ${retailer.name}`);
              d.reload();
            })
          }
        />
      )}
    </div>
  );
}
