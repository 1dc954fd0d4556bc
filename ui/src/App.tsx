import { useCallback, useEffect, useRef, useState } from "react";
import * as backend from "./backend";
import { markOnce } from "./lib/marks";
import type { AppStatus, LocketError, SessionInfo } from "./backend";
import { toLocketError } from "./backend";
import { ErrorState, Loading } from "./components/ui";
import { LocketMark } from "./components/LocketMark";
import { Icon, type IconName } from "./components/Icon";
import { Welcome } from "./screens/Welcome";
import { Unlock } from "./screens/Unlock";
import { ProfileScreen } from "./screens/Profile";
import { RequestsScreen } from "./screens/Requests";
import { GrantsScreen } from "./screens/Grants";
import { ActivityScreen } from "./screens/Activity";
import { RetailersScreen, RetailerPage } from "./screens/Retailers";
import { SettingsScreen } from "./screens/Settings";
import { refusalWords } from "./lib/words";
import { addToast, toastKey, type ToastItem } from "./lib/toasts";
import type { Live, Toast, View } from "./lib/navigation";

/** How often, at most, the window tells Locket the owner is using it (the idle timer runs in Rust). */
const ACTIVITY_REPORT_MS = 15_000;

const NAV: { page: View["page"]; label: string; icon: IconName }[] = [
  { page: "profile", label: "Profile", icon: "profile" },
  { page: "requests", label: "Requests", icon: "requests" },
  { page: "grants", label: "Grants", icon: "grants" },
  { page: "activity", label: "Activity", icon: "activity" },
  { page: "retailers", label: "Retailers", icon: "retailers" },
  { page: "settings", label: "Settings", icon: "settings" },
];

export function App() {
  const [status, setStatus] = useState<AppStatus | null>(null);
  const [fatal, setFatal] = useState<LocketError | null>(null);
  const [session, setSession] = useState<SessionInfo | null>(null);
  const [lockNotice, setLockNotice] = useState<string | null>(null);

  const refreshStatus = useCallback(() => {
    backend.appStatus().then(
      (s) => {
        setStatus(s);
        setFatal(null);
        if (s.unlocked) backend.sessionInfo().then(setSession, (e: unknown) => setFatal(toLocketError(e)));
      },
      (e: unknown) => setFatal(toLocketError(e)),
    );
  }, []);
  useEffect(refreshStatus, [refreshStatus]);

  // Marks the first real screen (welcome or unlock) for start-up measurements.
  const firstScreen = status !== null || fatal !== null;
  useEffect(() => {
    if (firstScreen) markOnce("locket-first-screen");
  }, [firstScreen]);

  useEffect(() => {
    const un = backend.onLocked((reason) => {
      setSession(null);
      setLockNotice(
        reason === "idle"
          ? "Locket locked itself after a period of inactivity."
          : reason === "tray"
            ? "Locket was locked from the tray."
            : reason === "restore"
              ? "The backup was restored. Unlock to open it (your vault as it was before is kept as a backup too)."
              : null,
      );
      refreshStatus();
    });
    return () => void un.then((f) => f());
  }, [refreshStatus]);

  if (fatal) return <div className="onboarding"><ErrorState error={fatal} onRetry={refreshStatus} testid="fatal-error" /></div>;
  if (!status) return <Loading label="Opening Locket…" />;
  if (!status.vaultExists)
    return (
      <Welcome
        onDone={(s) => {
          setSession(s);
          setStatus({ ...status, vaultExists: true, unlocked: true });
        }}
      />
    );
  if (!session)
    return (
      <Unlock
        status={status}
        notice={lockNotice}
        onUnlocked={(s) => {
          setLockNotice(null);
          setSession(s);
          setStatus({ ...status, unlocked: true });
        }}
      />
    );
  return (
    <Shell
      session={session}
      status={status}
      onSession={setSession}
      onLocked={(notice) => {
        setSession(null);
        setLockNotice(notice);
        refreshStatus();
      }}
    />
  );
}

function Shell(props: {
  session: SessionInfo;
  status: AppStatus;
  onSession: (s: SessionInfo) => void;
  onLocked: (notice: string | null) => void;
}) {
  const { session, onLocked } = props;
  const [view, setView] = useState<View>({ page: "profile" });
  const [live, setLive] = useState<Live>({ auditTick: 0, lastAudit: null, requestTick: 0 });
  const [pending, setPending] = useState(0);
  const [toasts, setToasts] = useState<ToastItem[]>([]);
  const [endpoint, setEndpoint] = useState(session.endpoint);
  const toastSeq = useRef(0);

  const toast = useCallback((kind: Toast["kind"], text: string) => {
    const id = ++toastSeq.current;
    const item = { id, kind, text, key: toastKey(kind, text), at: Date.now() };
    setToasts((t) => addToast(t, item));
    window.setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), 6000);
  }, []);

  useEffect(() => setEndpoint(session.endpoint), [session.endpoint]);

  // A window opened for a locket:// link (Locket was running without one) shows the link's request.
  useEffect(() => {
    backend.takeFocusRequest().then(
      (id) => id && setView({ page: "requests", focus: id }),
      () => undefined,
    );
  }, []);

  // Live events from the shell.
  useEffect(() => {
    const subs = [
      backend.onAuditEvent((e) => {
        setLive((l) => ({ ...l, auditTick: l.auditTick + 1, lastAudit: e }));
        if (e.outcome === "refused" && e.retailerName)
          toast("warning", `Refused ${e.retailerName}: ${refusalWords(e.reason)}`);
      }),
      backend.onRequestReceived((r) => {
        setLive((l) => ({ ...l, requestTick: l.requestTick + 1 }));
        toast("info", `New request from ${r.retailer.name}`);
      }),
      backend.onFocusRequest((id) => {
        setView({ page: "requests", focus: id });
        void backend.takeFocusRequest().catch(() => undefined);
      }),
      backend.onDeepLinkError((e) => toast("warning", e.message)),
      backend.onEndpointStatus(setEndpoint),
    ];
    return () => subs.forEach((p) => void p.then((f) => f()));
  }, [toast]);

  // Request files dropped anywhere on the window are imported and shown on the Requests screen.
  const [dragging, setDragging] = useState(false);
  useEffect(() => {
    const un = backend.onFileDrop({
      over: setDragging,
      drop: (files) => {
        setView({ page: "requests" });
        void (async () => {
          for (const f of files) {
            try {
              const r = await backend.importRequestFile(f);
              toast("success", `Request from ${r.retailer.name} imported`);
              setView({ page: "requests", focus: r.id });
            } catch (e) {
              toast("warning", toLocketError(e).message);
            }
          }
        })();
      },
    });
    return () => void un.then((f) => f());
  }, [toast]);

  // Pending count for the sidebar badge (the Requests screen reports it itself from the list it loads).
  useEffect(() => {
    if (view.page === "requests") return;
    backend.requests().then(
      (rs) => setPending(rs.filter((r) => r.status === "pending").length),
      () => setPending(0),
    );
  }, [live.requestTick, view]);

  // Auto-lock runs in Locket itself (Rust), so a frozen or throttled window cannot keep the vault open: the
  // window only reports that the owner is using it, at most every 15 s. The lock arrives as a "locked" event.
  const lastReport = useRef(0);
  useEffect(() => {
    const report = () => {
      const now = Date.now();
      if (now - lastReport.current < ACTIVITY_REPORT_MS) return;
      lastReport.current = now;
      void backend.reportActivity().catch(() => undefined);
    };
    const evs = ["mousemove", "mousedown", "keydown", "wheel", "touchstart"] as const;
    evs.forEach((e) => window.addEventListener(e, report, { passive: true }));
    return () => evs.forEach((e) => window.removeEventListener(e, report));
  }, []);

  const lockNow = () => void backend.lock("button").finally(() => onLocked(null));

  let content;
  switch (view.page) {
    case "profile":
      content = <ProfileScreen toast={toast} go={setView} />;
      break;
    case "requests":
      content = <RequestsScreen live={live} focus={view.focus ?? null} toast={toast} go={setView} onPending={setPending} />;
      break;
    case "grants":
      content = <GrantsScreen live={live} toast={toast} go={setView} />;
      break;
    case "activity":
      content = <ActivityScreen live={live} go={setView} />;
      break;
    case "retailers":
      content = <RetailersScreen live={live} go={setView} />;
      break;
    case "retailer":
      content = <RetailerPage id={view.id} live={live} toast={toast} go={setView} />;
      break;
    case "settings":
      content = (
        <SettingsScreen
          session={session}
          status={props.status}
          endpoint={endpoint}
          onSession={props.onSession}
          onWiped={() => onLocked(null)}
          toast={toast}
        />
      );
      break;
  }

  const active = view.page === "retailer" ? "retailers" : view.page;
  return (
    <div className="app">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <LocketMark size={28} />
          <span>Locket</span>
        </div>
        <ul>
          {NAV.map((n) => (
            <li key={n.page}>
              <button
                type="button"
                className={`nav-item ${active === n.page ? "is-active" : ""}`}
                aria-current={active === n.page ? "page" : undefined}
                onClick={() => setView({ page: n.page } as View)}
                data-testid={`nav-${n.page}`}
              >
                <Icon name={n.icon} />
                <span className="nav-label">{n.label}</span>
                {n.page === "requests" && pending > 0 && (
                  <span className="nav-count" data-testid="nav-requests-count">{pending}</span>
                )}
              </button>
            </li>
          ))}
        </ul>
        <div className="sidebar-foot">
          <div className={`endpoint-status ${endpoint.running ? "is-on" : "is-off"}`} data-testid="endpoint-status" title={endpoint.error ?? undefined}>
            <span className="dot" aria-hidden="true" />
            <span>
              {endpoint.running ? "Sharing on" : endpoint.error ? "Sharing error" : "Sharing off"}
              <span className="muted small block">{endpoint.running ? endpoint.address : endpoint.error ? "See Settings" : "Retailers cannot fetch"}</span>
            </span>
          </div>
          <button type="button" className="btn btn-secondary lock-button" onClick={lockNow} data-testid="lock-button">
            <Icon name="lock" size={16} /> Lock
          </button>
        </div>
      </nav>
      <main className="content" id="content">
        {content}
      </main>
      {dragging && (
        <div className="drop-overlay" data-testid="drop-overlay">
          <div>Drop the request file to import it</div>
        </div>
      )}
      <div className="toasts" aria-live="polite" data-testid="toasts">
        {toasts.map((t) => (
          <div key={t.id} className={`toast toast-${t.kind}`} role="status">
            {t.text}
          </div>
        ))}
      </div>
    </div>
  );
}
