import { useState } from "react";
import * as backend from "../backend";
import type { AppStatus, SessionInfo } from "../backend";
import { Button, ErrorText, TextField } from "../components/ui";
import { StrengthMeter } from "../components/StrengthMeter";
import { LocketMark } from "../components/LocketMark";
import { useAction } from "../hooks";
import { MIN_ACCEPTED_SCORE, passphraseStrength } from "../lib/strength";

export function Unlock(props: { status: AppStatus; notice: string | null; onUnlocked: (s: SessionInfo) => void }) {
  const [mode, setMode] = useState<"passphrase" | "recovery">("passphrase");
  const [pass, setPass] = useState("");
  const [recoveryKey, setRecoveryKey] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const act = useAction();

  const unlock = () => {
    if (pass.length === 0 || act.busy) return;
    void act.run(async () => {
      const s = await backend.unlock(pass);
      setPass("");
      props.onUnlocked(s);
    });
  };
  const recover = () => {
    if (act.busy) return;
    void act.run(async () => {
      const s = await backend.recover(recoveryKey, next);
      setRecoveryKey("");
      setNext("");
      setConfirm("");
      props.onUnlocked(s);
    });
  };
  const wrong = act.error?.code === "wrong_passphrase";
  const damaged = act.error?.code === "vault_damaged";
  const rolledBack = act.error?.code === "vault_rolled_back";
  const restore = useAction();
  const keepOlder = () =>
    void restore.run(async () => {
      const s = await backend.acceptRollback(pass);
      setPass("");
      act.setError(null);
      props.onUnlocked(s);
    });
  const restoreNewest = () =>
    void restore.run(async () => {
      const s = await backend.recoverFromBackup(pass);
      setPass("");
      act.setError(null);
      props.onUnlocked(s);
    });

  if (mode === "recovery") {
    const ok = recoveryKey.trim().length > 0 && passphraseStrength(next).score >= MIN_ACCEPTED_SCORE && next === confirm;
    return (
      <div className="onboarding">
        <form
          className="onboarding-card"
          data-testid="recover"
          onSubmit={(e) => {
            e.preventDefault();
            if (ok) recover();
          }}
        >
          <LocketMark size={44} />
          <h1>Use your recovery key</h1>
          <p>Enter the recovery key you saved when you created the vault, then choose a new passphrase.</p>
          <TextField
            label="Recovery key"
            value={recoveryKey}
            onChange={setRecoveryKey}
            testid="recover-key"
            autoFocus
            placeholder="XXXX-XXXX-XXXX-…"
          />
          <TextField
            label="New passphrase"
            type="password"
            value={next}
            onChange={setNext}
            testid="recover-passphrase"
            autoComplete="new-password"
          />
          <StrengthMeter passphrase={next} />
          <TextField
            label="Type it again"
            type="password"
            value={confirm}
            onChange={setConfirm}
            testid="recover-confirm"
            autoComplete="new-password"
            error={confirm.length > 0 && confirm !== next ? "The two passphrases differ." : null}
          />
          <ErrorText error={act.error} testid="recover-error" />
          <Button kind="primary" type="submit" disabled={!ok} busy={act.busy} testid="recover-submit">
            Set new passphrase and unlock
          </Button>
          <Button kind="ghost" onClick={() => { act.setError(null); setMode("passphrase"); }} testid="recover-back">
            Back to unlock
          </Button>
        </form>
      </div>
    );
  }

  return (
    <div className="onboarding">
      <form
        className="onboarding-card"
        data-testid="unlock"
        onSubmit={(e) => {
          e.preventDefault();
          unlock();
        }}
      >
        <LocketMark size={52} />
        <h1>Unlock Locket</h1>
        {props.notice && (
          <p className="notice" data-testid="lock-notice">
            {props.notice}
          </p>
        )}
        <TextField
          label="Passphrase"
          type="password"
          value={pass}
          onChange={(v) => {
            setPass(v);
            if (wrong) act.setError(null);
          }}
          testid="unlock-passphrase"
          autoFocus
          autoComplete="current-password"
        />
        {damaged ? (
          <div className="damaged-box" data-testid="unlock-damaged">
            <p>
              <strong>Your vault file is damaged, so Locket cannot open it.</strong>
            </p>
            <p className="small" data-testid="unlock-damaged-detail">{act.error?.message}</p>
            <p className="small">
              Locket can put back the newest backup of your vault, opened with the passphrase you just typed. Grants you revoked
              since that backup stay revoked and their use counts are kept; other changes since it are lost. The damaged file is
              kept aside, not deleted. Nothing is changed until you click.
            </p>
            <Button kind="primary" onClick={restoreNewest} busy={restore.busy} disabled={pass.length === 0} testid="unlock-restore-backup">
              {restore.busy ? "Restoring…" : "Restore the newest backup"}
            </Button>
            <ErrorText error={restore.error} testid="unlock-restore-error" />
          </div>
        ) : rolledBack ? (
          <div className="damaged-box" data-testid="unlock-rolled-back">
            <p>
              <strong>Your vault file is older than your vault: it was put back from an older copy, or lost its last writes.</strong>
            </p>
            <p className="small">
              Opening it as it is would bring back grants you revoked and hide recent log entries, so Locket did not open it
              and changed nothing.
            </p>
            <p className="small" data-testid="unlock-rolled-back-detail">{act.error?.message}</p>
            <p className="small">
              If you have the newer <code>vault.db</code> and <code>vault.db-wal</code>, quit Locket and put them back. If you
              put this older copy back on purpose, keep it: every grant you revoked since stays revoked, use counts are kept,
              and the access log records that the vault was rolled back. Log entries and profile changes made since are lost.
            </p>
            <Button kind="primary" onClick={keepOlder} busy={restore.busy} disabled={pass.length === 0} testid="unlock-accept-rollback">
              {restore.busy ? "Applying revocations…" : "Keep this older copy"}
            </Button>
            <ErrorText error={restore.error} testid="unlock-rollback-error" />
          </div>
        ) : (
          <ErrorText
            error={wrong ? "That passphrase is not right. Check Caps Lock and try again." : act.error}
            testid="unlock-error"
          />
        )}
        <Button kind={damaged || rolledBack ? "secondary" : "primary"} type="submit" disabled={pass.length === 0} busy={act.busy} testid="unlock-submit">
          Unlock
        </Button>
        {props.status.keychainEnabled && (
          <Button
            kind="secondary"
            testid="unlock-keychain"
            onClick={() => void act.run(async () => props.onUnlocked(await backend.unlockWithKeychain()))}
          >
            Unlock with this device
          </Button>
        )}
        <button type="button" className="link" onClick={() => { act.setError(null); setMode("recovery"); }} data-testid="unlock-forgot">
          Forgot your passphrase?
        </button>
        <p className="muted small center" title={props.status.vaultPath}>
          Vault: {props.status.vaultPath}
        </p>
      </form>
    </div>
  );
}
