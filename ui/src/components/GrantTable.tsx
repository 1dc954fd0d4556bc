import { useState, type ReactNode } from "react";
import * as backend from "../backend";
import type { Grant } from "../backend";
import { useAction, useNow } from "../hooks";
import { countdown, formatDateTime, formatUses, relativeTime } from "../lib/format";
import { effectiveStatus } from "../lib/filters";
import { purposeWords } from "../lib/words";
import { Button, ConfirmDialog, StatusPill } from "./ui";

/** Grants as rows: retailer, scopes, countdown, uses, last access, and Revoke with confirmation. */
export function GrantTable(props: {
  grants: Grant[];
  showRetailer: boolean;
  onRetailer?: (id: string) => void;
  onRevoked: (g: Grant) => void;
  /** More words for the revoke confirmation of this grant (e.g. what revoking does to deliveries). */
  revokeBody?: (g: Grant) => ReactNode;
}) {
  const now = useNow(1000);
  const [confirm, setConfirm] = useState<Grant | null>(null);
  const act = useAction();
  const revokeExtra = confirm ? (props.revokeBody?.(confirm) ?? null) : null;
  return (
    <>
      <table className="table grant-table" data-testid="grant-table">
        <thead>
          <tr>
            {props.showRetailer && <th>Retailer</th>}
            <th>Shares</th>
            <th>Expires</th>
            <th>Uses</th>
            <th>Last access</th>
            <th className="col-actions"><span className="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {props.grants.map((g) => {
            const st = effectiveStatus(g, now);
            return (
              <tr key={g.id} data-testid="grant-row" data-grant-id={g.id} data-status={st}>
                {props.showRetailer && (
                  <td>
                    {props.onRetailer ? (
                      <button type="button" className="link strong" onClick={() => props.onRetailer?.(g.retailer.id)}>
                        {g.retailer.name}
                      </button>
                    ) : (
                      <strong>{g.retailer.name}</strong>
                    )}
                    <div className="muted small">{g.retailer.origin}</div>
                  </td>
                )}
                <td>
                  <div className="chips">
                    {g.scopes.map((s) => (
                      <span key={s.scope} className="chip chip-static" title={`Used ${purposeWords(s.purpose)}`}>
                        {s.label}
                      </span>
                    ))}
                  </div>
                </td>
                <td className="nowrap">
                  {st === "active" ? (
                    <>
                      <span className="countdown" data-testid="grant-countdown">{countdown(new Date(g.expiresAt), now)}</span>
                      <div className="muted small">{formatDateTime(g.expiresAt)}</div>
                    </>
                  ) : (
                    <>
                      <StatusPill status={st} testid="grant-status" />
                      <div className="muted small">
                        {st === "revoked" ? `revoked ${formatDateTime(g.revokedAt)}` : formatDateTime(g.expiresAt)}
                      </div>
                    </>
                  )}
                </td>
                <td className="nowrap" data-testid="grant-uses">{formatUses(g.uses, g.maxUses)}</td>
                <td className="nowrap">{g.lastAccess ? relativeTime(new Date(g.lastAccess), now) : <span className="muted">never</span>}</td>
                <td className="col-actions">
                  {st === "active" && (
                    <Button small kind="danger" onClick={() => setConfirm(g)} testid="grant-revoke">
                      Revoke
                    </Button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {confirm && (
        <ConfirmDialog
          title={`Revoke ${confirm.retailer.name}'s access?`}
          body={
            revokeExtra ? (
              <>
                <p>{confirm.retailer.name} will be refused from the very next request.</p>
                <p>{revokeExtra}</p>
                <p>This cannot be undone — it would have to ask again.</p>
              </>
            ) : (
              <p>
                {confirm.retailer.name} will be refused from the very next request. It keeps what it has already
                received under its own retention promise. This cannot be undone — it would have to ask again.
              </p>
            )
          }
          confirmLabel="Revoke now"
          busy={act.busy}
          error={act.error}
          testid="revoke-dialog"
          onCancel={() => {
            act.setError(null);
            setConfirm(null);
          }}
          onConfirm={() =>
            void act.run(async () => {
              const g = await backend.revokeGrant(confirm.id);
              setConfirm(null);
              props.onRevoked(g);
            })
          }
        />
      )}
    </>
  );
}
