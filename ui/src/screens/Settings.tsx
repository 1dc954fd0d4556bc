import { useEffect, useState } from "react";
import * as backend from "../backend";
import type { AppSettings, AppStatus, EndpointStatus, Progress, SessionInfo } from "../backend";
import { Button, ErrorText, Modal, PageHeader, TextField, Toggle } from "../components/ui";
import { StrengthMeter } from "../components/StrengthMeter";
import { BackupsCard } from "../components/BackupsCard";
import type { Toast } from "../lib/navigation";
import { useAction } from "../hooks";
import { formatBytes } from "../lib/format";
import { MIN_ACCEPTED_SCORE, passphraseStrength } from "../lib/strength";

type ToastFn = (kind: Toast["kind"], text: string) => void;
export const WIPE_PHRASE = "delete my vault";

export function SettingsScreen(props: {
  session: SessionInfo;
  status: AppStatus;
  endpoint: EndpointStatus;
  onSession: (s: SessionInfo) => void;
  onWiped: () => void;
  toast: ToastFn;
}) {
  const { session, toast } = props;
  return (
    <div className="page" data-testid="settings-screen">
      <PageHeader title="Settings" />
      <div className="settings-grid">
        <div className="settings-col">
          <PassphraseCard toast={toast} />
          <LockingCard session={session} onSession={props.onSession} toast={toast} />
          <AboutCard session={session} status={props.status} />
        </div>
        <div className="settings-col">
          <EndpointCard session={session} endpoint={props.endpoint} onSession={props.onSession} toast={toast} />
          <BackupsCard toast={toast} />
          <DataCard toast={toast} />
          <RecoveryCard />
          <WipeCard onWiped={props.onWiped} />
        </div>
      </div>
    </div>
  );
}

function PassphraseCard({ toast }: { toast: ToastFn }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [newKey, setNewKey] = useState<string | null>(null);
  const act = useAction();
  const ok = current.length > 0 && passphraseStrength(next).score >= MIN_ACCEPTED_SCORE && next === confirm;
  return (
    <section className="card" data-testid="settings-passphrase">
      <h2>Passphrase</h2>
      <p className="muted small">
        Changing it gives your vault a new key: the vault and its backups are re-encrypted, so the old passphrase
        opens nothing afterwards — not even an old copy of the vault folder's key file. Nothing is lost.
      </p>
      <TextField label="Current passphrase" type="password" value={current} onChange={setCurrent} testid="pass-current" autoComplete="current-password" />
      <TextField label="New passphrase" type="password" value={next} onChange={setNext} testid="pass-new" autoComplete="new-password" />
      <StrengthMeter passphrase={next} />
      <TextField
        label="Type it again"
        type="password"
        value={confirm}
        onChange={setConfirm}
        testid="pass-confirm"
        autoComplete="new-password"
        error={
          confirm.length > 0 && confirm !== next
            ? "The two passphrases differ."
            : act.error?.code === "wrong_passphrase"
              ? "Your current passphrase is not right."
              : (act.error?.message ?? null)
        }
        errorTestid="pass-error"
      />
      <Button
        kind="primary"
        disabled={!ok}
        busy={act.busy}
        testid="pass-submit"
        onClick={() =>
          void act.run(async () => {
            const r = await backend.changePassphrase(current, next);
            setCurrent("");
            setNext("");
            setConfirm("");
            if (r.newRecoveryKey) setNewKey(r.newRecoveryKey);
            toast("success", "Passphrase changed. The old passphrase no longer opens the vault or its backups.");
          })
        }
      >
        Change passphrase
      </Button>
      {newKey && <ReplacedRecoveryKey recoveryKey={newKey} onDone={() => setNewKey(null)} />}
    </section>
  );
}

/** Shown once after a passphrase change of a vault whose recovery key could not follow the new vault key. */
function ReplacedRecoveryKey(props: { recoveryKey: string; onDone: () => void }) {
  const [saved, setSaved] = useState(false);
  const act = useAction();
  return (
    <Modal
      title="Your new recovery key"
      onClose={() => undefined}
      testid="passphrase-new-recovery"
      footer={<Button kind="primary" disabled={!saved} onClick={props.onDone}>Done</Button>}
    >
      <p>
        Your vault was made before Locket could carry a recovery key over to a new vault key, so your old recovery
        key no longer works. This is your new one. Write it down or store it in a password manager: it will not be
        shown again.
      </p>
      <div className="recovery-key" tabIndex={0}>{props.recoveryKey}</div>
      <Button small onClick={() => void act.run(() => backend.copyText(props.recoveryKey))}>Copy to clipboard</Button>
      <label className="check">
        <input type="checkbox" checked={saved} onChange={(e) => setSaved(e.target.checked)} />
        <span>I have saved my new recovery key</span>
      </label>
      <ErrorText error={act.error} />
    </Modal>
  );
}

function RecoveryCard() {
  const [asking, setAsking] = useState(false);
  const [pass, setPass] = useState("");
  const [key, setKey] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const act = useAction();
  const close = () => {
    setAsking(false);
    setPass("");
    setKey(null);
    setSaved(false);
    act.setError(null);
  };
  return (
    <section className="card" data-testid="settings-recovery">
      <h2>Recovery key</h2>
      <p className="muted small">
        Lost your recovery key? Make a new one. The old key stops working the moment the new one is made.
      </p>
      <Button onClick={() => setAsking(true)} testid="recovery-reset">Make a new recovery key…</Button>
      {asking && (
        <Modal
          title={key ? "Your new recovery key" : "Make a new recovery key"}
          onClose={key && !saved ? () => undefined : close}
          testid="recovery-dialog"
          footer={
            key ? (
              <Button kind="primary" disabled={!saved} onClick={close} testid="recovery-reset-done">Done</Button>
            ) : (
              <>
                <Button kind="ghost" onClick={close}>Cancel</Button>
                <Button
                  kind="primary"
                  disabled={pass.length === 0}
                  busy={act.busy}
                  testid="recovery-reset-submit"
                  onClick={() =>
                    void act.run(async () => {
                      const r = await backend.resetRecoveryKey(pass);
                      setPass("");
                      setKey(r.recoveryKey);
                    })
                  }
                >
                  Make new key
                </Button>
              </>
            )
          }
        >
          {key ? (
            <>
              <p>Write it down or store it in a password manager. It will not be shown again.</p>
              <div className="recovery-key" data-testid="recovery-reset-key" tabIndex={0}>{key}</div>
              <Button small onClick={() => void act.run(() => backend.copyText(key))}>Copy to clipboard</Button>
              <label className="check">
                <input type="checkbox" checked={saved} onChange={(e) => setSaved(e.target.checked)} data-testid="recovery-reset-saved" />
                <span>I have saved my new recovery key</span>
              </label>
            </>
          ) : (
            <TextField label="Your passphrase" type="password" value={pass} onChange={setPass} testid="recovery-reset-passphrase" autoComplete="current-password" />
          )}
          <ErrorText error={act.error} />
        </Modal>
      )}
    </section>
  );
}

const AUTO_LOCK = [
  { v: 1, l: "After 1 minute" },
  { v: 5, l: "After 5 minutes" },
  { v: 15, l: "After 15 minutes" },
  { v: 30, l: "After 30 minutes" },
  { v: 60, l: "After 1 hour" },
  { v: 0, l: "Never" },
];

function LockingCard(props: { session: SessionInfo; onSession: (s: SessionInfo) => void; toast: ToastFn }) {
  const s = props.session.settings;
  const act = useAction();
  const save = (patch: Partial<AppSettings>) =>
    void act.run(async () => props.onSession(await backend.updateSettings({ ...s, ...patch })));
  return (
    <section className="card" data-testid="settings-locking">
      <h2>Locking</h2>
      <div className="field">
        <label htmlFor="autolock">Lock automatically when idle</label>
        <select id="autolock" value={s.autoLockMinutes} onChange={(e) => save({ autoLockMinutes: Number(e.target.value) })} data-testid="autolock-select">
          {AUTO_LOCK.map((o) => (
            <option key={o.v} value={o.v}>{o.l}</option>
          ))}
          {!AUTO_LOCK.some((o) => o.v === s.autoLockMinutes) && <option value={s.autoLockMinutes}>After {s.autoLockMinutes} minutes</option>}
        </select>
      </div>
      <Toggle
        label="Unlock automatically on this device"
        description="Keeps a key to your vault in the system keychain. Anyone using your computer account could then open Locket."
        checked={s.keychainEnabled}
        disabled={act.busy}
        testid="keychain-toggle"
        onChange={(v) =>
          void act.run(async () => {
            const next = await backend.setKeychain(v);
            props.onSession({ ...props.session, settings: next });
            props.toast("success", v ? "This device will unlock Locket" : "Keychain key removed");
          })
        }
      />
      <ErrorText error={act.error} testid="locking-error" />
    </section>
  );
}

function EndpointCard(props: { session: SessionInfo; endpoint: EndpointStatus; onSession: (s: SessionInfo) => void; toast: ToastFn }) {
  const s = props.session.settings;
  const [addr, setAddr] = useState(s.endpointAddress);
  const act = useAction();
  useEffect(() => setAddr(s.endpointAddress), [s.endpointAddress]);
  const apply = (patch: Partial<AppSettings>) =>
    void act.run(async () => {
      const next = await backend.updateSettings({ ...s, ...patch });
      props.onSession(next);
    });
  const ep = props.endpoint;
  return (
    <section className="card" data-testid="settings-endpoint">
      <h2>Sharing endpoint</h2>
      <p className="muted small">
        Retailers holding a grant fetch your data here while Locket is unlocked. It listens on this computer only
        unless you change the address.
      </p>
      <Toggle label="Let retailers fetch granted data" checked={s.endpointEnabled} onChange={(v) => apply({ endpointEnabled: v })} disabled={act.busy} testid="endpoint-toggle" />
      <TextField
        label="Address"
        value={addr}
        onChange={setAddr}
        testid="endpoint-address"
        hint={ep.running ? `Listening on ${ep.address}` : ep.error ? <span className="error-inline">{ep.error}</span> : "Not running"}
        onEnter={() => apply({ endpointAddress: addr.trim() })}
      />
      <ErrorText error={act.error} testid="endpoint-error" />
      <Button disabled={addr.trim() === s.endpointAddress} busy={act.busy} onClick={() => apply({ endpointAddress: addr.trim() })} testid="endpoint-apply">
        Apply address
      </Button>
    </section>
  );
}

function DataCard({ toast }: { toast: ToastFn }) {
  const [progress, setProgress] = useState<Progress | null>(null);
  const [encrypt, setEncrypt] = useState(true);
  const [exportPass, setExportPass] = useState("");
  const [importPass, setImportPass] = useState("");
  // Which vault signed the file just exported or imported (kept on screen, unlike a toast, to compare).
  const [signer, setSigner] = useState<{ op: "export" | "import"; fingerprint: string | null } | null>(null);
  const act = useAction();
  useEffect(() => {
    const un = backend.onProgress(setProgress);
    return () => void un.then((f) => f());
  }, []);
  const busyOp = act.busy ? progress?.op ?? null : null;
  return (
    <section className="card" data-testid="settings-data">
      <h2>Export and import</h2>
      <p className="muted small">
        An export holds your whole profile. Unencrypted, it is readable by anyone who gets the file — protect it
        with a passphrase unless you need plain JSON. Importing fills a new, empty vault (right after creating it).
      </p>
      <label className="check">
        <input type="checkbox" checked={encrypt} onChange={(e) => setEncrypt(e.target.checked)} data-testid="export-encrypt" />
        <span>Protect the export with a passphrase</span>
      </label>
      {encrypt && <TextField label="Export passphrase" type="password" value={exportPass} onChange={setExportPass} testid="export-passphrase" autoComplete="new-password" />}
      <div className="row gap">
        <Button
          disabled={act.busy || (encrypt && exportPass.length < 8)}
          busy={busyOp === "export"}
          testid="export-button"
          onClick={() =>
            void act.run(async () => {
              const f = await backend.pickSavePath("vault_export", "locket-export.json");
              if (!f) return;
              setProgress({ op: "export", done: 0, total: 1 });
              const r = await backend.exportVault(f, encrypt ? exportPass : null);
              toast("success", `Exported ${r.fields} values (${formatBytes(r.bytes)})`);
              setSigner({ op: "export", fingerprint: r.fingerprint });
              setExportPass("");
            })
          }
        >
          Export…
        </Button>
        <Button
          disabled={act.busy}
          busy={busyOp === "import"}
          testid="import-button"
          onClick={() =>
            void act.run(async () => {
              const f = await backend.pickImportFile();
              if (!f) return;
              setProgress({ op: "import", done: 0, total: 1 });
              const r = await backend.importVault(f, importPass || null);
              toast("success", `Imported ${r.fields} values`);
              setSigner({ op: "import", fingerprint: r.fingerprint });
              setImportPass("");
            })
          }
        >
          Import…
        </Button>
      </div>
      <TextField label="Passphrase of the file to import (if it has one)" type="password" value={importPass} onChange={setImportPass} testid="import-passphrase" />
      <div className="progress-slot">
        {act.busy && progress && (
          <>
            <progress max={Math.max(progress.total, 1)} value={progress.done} data-testid="data-progress" />
            <span className="muted small">{progress.op === "export" ? "Exporting" : "Importing"} {progress.done} of {progress.total}</span>
          </>
        )}
      </div>
      {signer && (
        <p className="signer-note small" data-testid="export-fingerprint">
          {signer.op === "export" ? (
            <>
              Signed by this vault, key fingerprint <span className="mono">{signer.fingerprint}</span>. Importing the
              file shows the fingerprint of the vault that signed it: they must match.
            </>
          ) : signer.fingerprint ? (
            <>
              The file was signed by the vault with key fingerprint <span className="mono">{signer.fingerprint}</span>.
              Its export showed that vault&apos;s fingerprint: if they differ, this is not the file you exported.
            </>
          ) : (
            <>The file carries no signed activity log or grants.</>
          )}
        </p>
      )}
      <ErrorText error={act.error} testid="data-error" />
    </section>
  );
}

function AboutCard({ session, status }: { session: SessionInfo; status: AppStatus }) {
  return (
    <section className="card" data-testid="settings-about">
      <h2>About</h2>
      <dl className="facts facts-stacked">
        <div><dt>Version</dt><dd data-testid="about-version">Locket {status.version}</dd></div>
        <div><dt>Vault</dt><dd className="mono break" data-testid="about-vault-path">{status.vaultPath}</dd></div>
        <div><dt>Vault id</dt><dd className="mono break">{session.vaultId}</dd></div>
        <div><dt>Signing key id</dt><dd className="mono break" data-testid="about-key-id">{session.keyId}</dd></div>
      </dl>
    </section>
  );
}

function WipeCard({ onWiped }: { onWiped: () => void }) {
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState("");
  const act = useAction();
  return (
    <section className="card card-danger" data-testid="settings-wipe">
      <h2>Wipe this vault</h2>
      <p className="muted small">Destroys the keys first, then deletes every file. Nobody — not even you — can get the data back.</p>
      <Button kind="danger" onClick={() => setOpen(true)} testid="wipe-open">Wipe vault…</Button>
      {open && (
        <Modal
          title="Wipe your vault for good?"
          onClose={() => { setOpen(false); setTyped(""); }}
          testid="wipe-dialog"
          footer={
            <>
              <Button kind="ghost" onClick={() => { setOpen(false); setTyped(""); }}>Cancel</Button>
              <Button
                kind="danger"
                disabled={typed.trim() !== WIPE_PHRASE}
                busy={act.busy}
                testid="wipe-confirm"
                onClick={() =>
                  void act.run(async () => {
                    await backend.wipeVault(typed.trim());
                    onWiped();
                  })
                }
              >
                Wipe everything
              </Button>
            </>
          }
        >
          <p>Your profile, grants and activity log will be destroyed. Retailers holding grants will be refused.</p>
          <TextField label={`Type “${WIPE_PHRASE}” to confirm`} value={typed} onChange={setTyped} testid="wipe-input" />
          <ErrorText error={act.error} testid="wipe-error" />
        </Modal>
      )}
    </section>
  );
}
