import { useEffect, useState } from "react";
import * as backend from "../backend";
import type { Grant } from "../backend";
import { EmptyState, ErrorState, Loading, PageHeader } from "../components/ui";
import { GrantTable } from "../components/GrantTable";
import type { Live, Toast, View } from "../lib/navigation";
import { useLoad, useNow } from "../hooks";
import { countByTab, filterGrants, type GrantTab } from "../lib/filters";

const TABS: { id: GrantTab; label: string; empty: string }[] = [
  { id: "active", label: "Active", empty: "No retailer can fetch anything right now. Approve a request to share some fields." },
  { id: "expired", label: "Expired", empty: "No grant has run out yet." },
  { id: "revoked", label: "Revoked", empty: "You have not revoked any grant." },
];

export function GrantsScreen(props: { live: Live; toast: (k: Toast["kind"], t: string) => void; go: (v: View) => void }) {
  const list = useLoad(() => backend.grants(), [props.live.auditTick]);
  const [tab, setTab] = useState<GrantTab>("active");
  const [rows, setRows] = useState<Grant[] | null>(null);
  const now = useNow(5000);
  useEffect(() => setRows(list.data), [list.data]);

  if (list.error && !rows) return <ErrorState error={list.error} onRetry={list.reload} />;
  if (!rows) return <Loading />;
  const counts = countByTab(rows, now);
  const shown = filterGrants(rows, tab, now);
  const t = TABS.find((x) => x.id === tab)!;

  return (
    <div className="page" data-testid="grants-screen">
      <PageHeader title="Grants" subtitle="Who can fetch what from your profile, and until when." />
      <div className="tabs" role="tablist">
        {TABS.map((x) => (
          <button
            key={x.id}
            type="button"
            role="tab"
            aria-selected={tab === x.id}
            className={`tab ${tab === x.id ? "is-active" : ""}`}
            onClick={() => setTab(x.id)}
            data-testid={`grants-tab-${x.id}`}
          >
            {x.label} <span className="tab-count">{counts[x.id]}</span>
          </button>
        ))}
      </div>
      {shown.length === 0 ? (
        <EmptyState icon="grants" title={`No ${t.label.toLowerCase()} grants`} testid="grants-empty">
          <p>{t.empty}</p>
        </EmptyState>
      ) : (
        <section className="card card-flush">
          <GrantTable
            grants={shown}
            showRetailer
            onRetailer={(id) => props.go({ page: "retailer", id })}
            onRevoked={(g) => {
              setRows((rs) => (rs ?? []).map((x) => (x.id === g.id ? g : x)));
              props.toast("success", `Revoked ${g.retailer.name}'s access`);
            }}
          />
        </section>
      )}
    </div>
  );
}
