import { useEffect, useState } from "react";
import * as backend from "../backend";
import type { Grant, GrantRequest } from "../backend";
import { Button, ConfirmDialog, EmptyState, ErrorState, Loading, PageHeader, StatusPill } from "../components/ui";
import { DeliveriesCard } from "../components/DeliveriesCard";
import { GrantTable } from "../components/GrantTable";
import { RetailerPrivacy } from "../components/RetailerPrivacy";
import type { Live, Toast, View } from "../lib/navigation";
import { useAction, useLoad, useNow } from "../hooks";
import { formatDateTime, relativeTime } from "../lib/format";
import { effectiveStatus } from "../lib/filters";
import { anyDataDelivered, anyPending } from "../lib/deliveries";

/** How often the deliveries are read again while one is still on its way (the worker's attempts push no event). */
const DELIVERY_POLL_MS = 3000;

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
  const [poll, setPoll] = useState(0);
  const deliveries = useLoad(
    () => backend.retailerDeliveries(props.id),
    [props.id, props.live.auditTick, props.live.requestTick, poll],
  );
  const pending = deliveries.data ? anyPending(deliveries.data.deliveries) : false;
  useEffect(() => {
    if (!pending) return;
    const id = window.setInterval(() => setPoll((n) => n + 1), DELIVERY_POLL_MS);
    return () => window.clearInterval(id);
  }, [pending]);
  const [confirm, setConfirm] = useState(false);
  const act = useAction();
  const now = useNow(5000);
  if (d.error && !d.data) return <ErrorState error={d.error} onRetry={d.reload} />;
  if (!d.data) return <Loading />;
  const { retailer, grants, requests, disclosures } = d.data;
  const active = grants.filter((g) => effectiveStatus(g, now) === "active");
  const dv = deliveries.data;
  const delivering = new Set((dv?.grants ?? []).map((g) => g.grantId));
  const shows = dv !== null && (dv.grants.length > 0 || dv.deliveries.length > 0);
  const pushed = dv ? anyDataDelivered(dv.deliveries) : false;
  const reloadAll = () => {
    d.reload();
    deliveries.reload();
  };
  const retention = retentionOf(grants.filter((g) => delivering.has(g.id)), requests);
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
          <GrantTable
            grants={grants}
            showRetailer={false}
            onRevoked={reloadAll}
            revokeBody={(g) => (delivering.has(g.id) ? <RevokeWords name={retailer.name} retention={retention} /> : null)}
          />
        )}
        {active.some((g) => delivering.has(g.id)) && (
          <p className="revoke-note small card-pad" data-testid="revoke-note">
            <RevokeWords name={retailer.name} retention={retention} />
          </p>
        )}
      </section>
      {shows && dv && (
        <DeliveriesCard retailer={retailer} grants={grants} data={dv} onChanged={deliveries.reload} toast={props.toast} />
      )}
      {deliveries.error && !dv && <p className="error-text card-pad">{deliveries.error.message}</p>}
      <RetailerPrivacy
        retailer={retailer}
        grantScopes={grants.flatMap((g) => g.scopes.map((x) => x.scope))}
        tick={props.live.auditTick}
        toast={props.toast}
        deliveredToServer={pushed}
      />
      <section className="card card-flush">
        <h2 className="card-pad">What {retailer.name} has received</h2>
        {disclosures.length === 0 ? (
          <p className="muted card-pad" data-testid="disclosures-empty">
            {pushed
              ? `${retailer.name} has not fetched anything from Locket; what Locket delivered to its server is listed under Deliveries above.`
              : `Nothing yet — ${retailer.name} has not fetched any of your data.`}
          </p>
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
          body={
            <>
              <p>All {active.length} active grant{active.length === 1 ? "" : "s"} end now; the next fetch is refused.</p>
              {active.some((g) => delivering.has(g.id)) && (
                <p>
                  <RevokeWords name={retailer.name} retention={retention} />
                </p>
              )}
            </>
          }
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
              reloadAll();
            })
          }
        />
      )}
    </div>
  );
}

/** The retention promise the shop made for these grants, when they all made the same one. */
function retentionOf(grants: Grant[], requests: GrantRequest[]): string | null {
  const texts = new Set(
    grants
      .map((g) => requests.find((r) => r.id === g.requestId)?.retentionText.trim() ?? "")
      .filter((t) => t.length > 0),
  );
  return texts.size === 1 ? [...texts][0]! : null;
}

/** What revoking a grant that delivers does, and what it cannot do. */
function RevokeWords(props: { name: string; retention: string | null }) {
  const { name } = props;
  return (
    <>
      <strong>Revoking</strong> stops further deliveries and all access at once, and Locket asks {name} to erase what it
      received. <strong>It cannot</strong> reach into {name}’s systems: the copies {name} already holds are deleted by{" "}
      {name} itself, under its retention promise{props.retention ? <> (“{props.retention}”)</> : null}.
    </>
  );
}
