// Settings → Backups: the vault's snapshots (taken automatically after changes and daily while unlocked, or
// on demand), with Verify (page integrity and the access log's hash chain) and Restore (typed confirmation;
// Locket locks afterwards so the restored vault is opened fresh).
import { useState } from "react";
import * as backend from "../backend";
import type { Backup, BackupCheck, RestorePreview } from "../backend";
import type { Toast } from "../lib/navigation";
import { useAction, useLoad } from "../hooks";
import { formatDateTime } from "../lib/format";
import { RESTORE_PHRASE, backupReason, sizeWords } from "../lib/privacy";
import { Button, ErrorText, Modal, TextField } from "./ui";

function VerifyResult({ check }: { check: BackupCheck }) {
  if (check.ok) {
    return (
      <p className="verify-result is-ok small" data-testid="backup-verify-result" data-ok="true">
        ✓ Intact: every page checks out and the access log ({check.logEvents} {check.logEvents === 1 ? "entry" : "entries"}) is
        unbroken.
      </p>
    );
  }
  return (
    <p className="verify-result is-bad small" data-testid="backup-verify-result" data-ok="false">
      ✗ Damaged:{" "}
      {[
        ...(check.integrityProblems.length > 0 ? [`${check.integrityProblems.length} page(s) failed their check (${check.integrityProblems[0]})`] : []),
        ...(check.logProblem ? [check.logProblem] : []),
      ].join("; ")}
      . Do not restore this backup.
    </p>
  );
}

export function BackupsCard({ toast }: { toast: (kind: Toast["kind"], text: string) => void }) {
  const list = useLoad(() => backend.backups(), []);
  const now = useAction();
  const verify = useAction();
  const [verifying, setVerifying] = useState<string | null>(null);
  const [checks, setChecks] = useState<Record<string, BackupCheck>>({});
  const [restoring, setRestoring] = useState<Backup | null>(null);

  return (
    <section className="card card-flush" data-testid="settings-backups">
      <div className="card-pad">
        <h2>Backups</h2>
        <p className="muted small">
          While Locket is unlocked it backs up after changes and at least daily, keeping the newest ten and one a week
          for eight weeks. Backups are encrypted like the vault.
        </p>
        <Button
          kind="primary"
          busy={now.busy}
          testid="backup-now"
          onClick={() =>
            void now.run(async () => {
              const b = await backend.backupNow();
              toast("success", `Backed up (${sizeWords(b.sizeBytes)})`);
              list.reload();
            })
          }
        >
          {now.busy ? "Backing up…" : "Back up now"}
        </Button>
        <ErrorText error={now.error ?? verify.error ?? list.error} testid="backup-error" />
      </div>
      {list.data && list.data.length === 0 && (
        <p className="muted card-pad" data-testid="backups-empty">No backups yet. The first one is taken shortly after your next change, or now with “Back up now”.</p>
      )}
      {list.data && list.data.length > 0 && (
        <table className="table" data-testid="backup-table">
          <thead>
            <tr>
              <th>Taken</th>
              <th>Size</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.data.map((b) => (
              <tr key={b.id} data-testid="backup-row" data-backup-id={b.id}>
                <td>
                  <span className="nowrap">{formatDateTime(b.createdAt)}</span>
                  <span className="muted small block">{backupReason(b)}</span>
                  {checks[b.id] && <VerifyResult check={checks[b.id]!} />}
                </td>
                <td className="nowrap">{sizeWords(b.sizeBytes)}</td>
                <td className="nowrap">
                  <Button
                    small
                    busy={verifying === b.id}
                    disabled={verifying !== null && verifying !== b.id}
                    testid="backup-verify"
                    onClick={() => {
                      setVerifying(b.id);
                      void verify
                        .run(async () => {
                          const c = await backend.verifyBackup(b.id);
                          setChecks((m) => ({ ...m, [b.id]: c }));
                        })
                        .finally(() => setVerifying(null));
                    }}
                  >
                    {verifying === b.id ? "Verifying…" : "Verify"}
                  </Button>{" "}
                  <Button small kind="ghost" testid="backup-restore" onClick={() => setRestoring(b)}>
                    Restore…
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {restoring && <RestoreDialog backup={restoring} onClose={() => setRestoring(null)} />}
    </section>
  );
}

function RestoreDialog({ backup, onClose }: { backup: Backup; onClose: () => void }) {
  const [typed, setTyped] = useState("");
  const act = useAction();
  // What comes back and what stays, from the vault itself (revocations made after the backup stay).
  const preview = useLoad<RestorePreview>(() => backend.restorePreview(backup.id), [backup.id]);
  return (
    <Modal
      title="Restore this backup?"
      onClose={() => !act.busy && onClose()}
      testid="restore-dialog"
      footer={
        <>
          <Button kind="ghost" onClick={onClose} disabled={act.busy}>
            Cancel
          </Button>
          <Button
            kind="danger"
            disabled={typed.trim() !== RESTORE_PHRASE || !preview.data}
            busy={act.busy}
            testid="restore-confirm"
            onClick={() => void act.run(() => backend.restoreBackup(backup.id, typed.trim()))}
          >
            {act.busy ? "Restoring…" : "Restore and lock"}
          </Button>
        </>
      }
    >
      <p>
        Your vault goes back to how it was on <strong>{formatDateTime(backup.createdAt)}</strong>. Your vault as it is now is
        first kept as a backup, so this can be reversed.
      </p>
      {preview.data ? (
        <ul className="restore-preview small" data-testid="restore-preview">
          {preview.data.summary.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      ) : (
        <p className="muted small" data-testid="restore-preview-loading">
          {preview.error ? null : "Checking what this backup brings back…"}
        </p>
      )}
      <ErrorText error={preview.error} testid="restore-preview-error" />
      <p>Locket locks when the restore is done; unlock it with your passphrase as usual.</p>
      <TextField label={`Type “${RESTORE_PHRASE}” to confirm`} value={typed} onChange={setTyped} testid="restore-input" />
      <ErrorText error={act.error} testid="restore-error" />
    </Modal>
  );
}
