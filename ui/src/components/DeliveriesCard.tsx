// "Deliveries to <shop>'s server": what Locket sent (or is still trying to send) to a shop that takes deliveries,
// per grant, in plain words, with Try again / Cancel and the grant's "send updates" switch.
import { useState } from "react";
import * as backend from "../backend";
import type { Delivery, Grant, Retailer, RetailerDeliveries } from "../backend";
import { useAction, useNow } from "../hooks";
import { deliveryActions, deliveryWords, dayAndTime } from "../lib/deliveries";
import { effectiveStatus } from "../lib/filters";
import type { Toast } from "../lib/navigation";
import { Button, ConfirmDialog, ErrorText, StatusPill, Toggle } from "./ui";

function host(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export function DeliveriesCard(props: {
  retailer: Retailer;
  grants: Grant[];
  data: RetailerDeliveries;
  onChanged: () => void;
  toast: (kind: Toast["kind"], text: string) => void;
}) {
  const { retailer, data } = props;
  const now = useNow(1000);
  const act = useAction();
  const [cancelling, setCancelling] = useState<Delivery | null>(null);
  const [retrying, setRetrying] = useState<string | null>(null);
  const name = retailer.name;
  // Newest grant first, like the deliveries inside each.
  const grantIds = [...data.grants.map((g) => g.grantId)].reverse();
  for (const d of data.deliveries) if (!grantIds.includes(d.grantId)) grantIds.push(d.grantId);
  const url = data.deliveries[0]?.deliveryUrl ?? null;

  const retry = (d: Delivery) => {
    setRetrying(d.releaseId);
    void act.run(async () => {
      await backend.retryDelivery(d.releaseId);
      props.toast("info", `Trying again to deliver to ${name}`);
      props.onChanged();
    });
  };

  return (
    <section className="card card-flush" data-testid="deliveries-section">
      <div className="card-pad">
        <h2>Deliveries to {name}’s server</h2>
        <p className="muted small deliveries-intro">
          {name} asked Locket to send what you approve to its server{url ? <> at <span className="mono">{host(url)}</span></> : null}.
          Each delivery is sealed so that only {name} can open it, and signed by Locket; every attempt is in Activity.
        </p>
      </div>
      {grantIds.length === 0 ? (
        <p className="muted card-pad" data-testid="deliveries-empty">Nothing has been sent to {name}’s server.</p>
      ) : (
        grantIds.map((id) => {
          const grant = props.grants.find((g) => g.id === id) ?? null;
          const setting = data.grants.find((g) => g.grantId === id) ?? null;
          const rows = data.deliveries.filter((d) => d.grantId === id);
          const status = grant ? effectiveStatus(grant, now) : null;
          return (
            <div className="delivery-grant" key={id} data-testid="delivery-grant" data-grant-id={id}>
              <div className="delivery-grant-head">
                <div className="delivery-grant-title">
                  <strong>{grant ? `Grant of ${dayAndTime(new Date(grant.issuedAt), now)}` : "Grant"}</strong>
                  {status && <StatusPill status={status} />}
                  {grant && <span className="muted small">{grant.scopes.map((s) => s.label).join(", ")}</span>}
                </div>
                {setting && status === "active" && (
                  <Toggle
                    label="Send updates when your details change"
                    description={
                      setting.updates
                        ? `When you change a value this grant shares, Locket sends ${name} the new version.`
                        : `Off: ${name} keeps the versions it has until the grant ends.`
                    }
                    checked={setting.updates}
                    disabled={act.busy}
                    testid="delivery-updates-toggle"
                    onChange={(on) =>
                      void act.run(async () => {
                        await backend.setGrantUpdates(id, on);
                          props.onChanged();
                      })
                    }
                  />
                )}
              </div>
              <ul className="delivery-list">
                {rows.map((d) => {
                  const revoked = status === "revoked";
                  const can = deliveryActions(d, now, revoked);
                  return (
                    <li
                      key={d.releaseId}
                      className={`delivery-row is-${d.status}`}
                      data-testid="delivery-row"
                      data-status={d.status}
                      data-event={d.event}
                      data-release-id={d.releaseId}
                    >
                      <span className={`delivery-dot delivery-dot-${d.status}`} aria-hidden="true" />
                      <span className="delivery-words" data-testid="delivery-words" title={d.releaseId}>
                        {deliveryWords(d, now, revoked)}
                      </span>
                      {(can.retry || can.cancel) && (
                        <span className="delivery-actions">
                          {can.retry && (
                            <Button small busy={act.busy && retrying === d.releaseId} disabled={act.busy} onClick={() => retry(d)} testid="delivery-retry">
                              {d.attempts === 0 ? "Send now" : "Try again"}
                            </Button>
                          )}
                          {can.cancel && (
                            <Button small kind="ghost" disabled={act.busy} onClick={() => setCancelling(d)} testid="delivery-cancel">
                              Cancel
                            </Button>
                          )}
                        </span>
                      )}
                    </li>
                  );
                })}
              </ul>
            </div>
          );
        })
      )}
      {act.error && !cancelling && (
        <div className="deliveries-error">
          <ErrorText error={act.error} testid="delivery-error" />
        </div>
      )}
      {cancelling && (
        <ConfirmDialog
          title={cancelling.event === "revoke" ? `Not send the erasure request to ${name}?` : `Cancel this delivery to ${name}?`}
          body={
            cancelling.event === "revoke" ? (
              <p>
                Locket stops trying to deliver it: {name}’s server will not be asked to erase what it received. The grant
                stays revoked. You can still ask for erasure from this page.
              </p>
            ) : (
              <p>
                Locket stops trying and never sends it. {name} keeps whatever it already received; the grant itself is not
                changed.
              </p>
            )
          }
          confirmLabel="Cancel delivery"
          cancelLabel="Keep trying"
          busy={act.busy}
          error={act.error}
          testid="delivery-cancel-dialog"
          onCancel={() => {
            act.setError(null);
            setCancelling(null);
          }}
          onConfirm={() =>
            void act.run(async () => {
              await backend.cancelDelivery(cancelling.releaseId);
              setCancelling(null);
              props.toast("success", `Cancelled — it will not be sent to ${name}`);
              props.onChanged();
            })
          }
        />
      )}
    </section>
  );
}
