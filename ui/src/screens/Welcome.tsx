import { useState } from "react";
import * as backend from "../backend";
import type { SessionInfo } from "../backend";
import { Button, ErrorText, TextField } from "../components/ui";
import { StrengthMeter } from "../components/StrengthMeter";
import { LocketMark } from "../components/LocketMark";
import { useAction } from "../hooks";
import { MIN_ACCEPTED_SCORE, passphraseStrength } from "../lib/strength";

/** First run: choose a passphrase, then see the recovery key exactly once. */
export function Welcome({ onDone }: { onDone: (s: SessionInfo) => void }) {
  const [pass, setPass] = useState("");
  const [confirm, setConfirm] = useState("");
  const [remember, setRemember] = useState(false);
  const [created, setCreated] = useState<{ recoveryKey: string; session: SessionInfo } | null>(null);
  const [saved, setSaved] = useState(false);
  const [copied, setCopied] = useState(false);
  const act = useAction();

  const strength = passphraseStrength(pass);
  const mismatch = confirm.length > 0 && confirm !== pass;
  const canCreate = strength.score >= MIN_ACCEPTED_SCORE && confirm === pass && !act.busy;

  const create = () => {
    if (!canCreate) return;
    void act.run(async () => {
      const r = await backend.createVault(pass, remember);
      setPass("");
      setConfirm("");
      setCreated(r);
    });
  };

  if (created) {
    return (
      <div className="onboarding">
        <div className="onboarding-card" data-testid="recovery-step">
          <LocketMark size={44} />
          <h1>Save your recovery key</h1>
          <p>
            If you ever forget your passphrase, this key is the <strong>only</strong> way back into your vault.
            Write it down or keep it in a password manager. Locket will not show it again.
          </p>
          <div className="recovery-key" data-testid="recovery-key" tabIndex={0}>
            {created.recoveryKey}
          </div>
          <div className="row gap">
            <Button
              small
              testid="recovery-copy"
              onClick={() =>
                void act.run(async () => {
                  await backend.copyText(created.recoveryKey);
                  setCopied(true);
                })
              }
            >
              {copied ? "Copied" : "Copy to clipboard"}
            </Button>
          </div>
          <label className="check">
            <input
              type="checkbox"
              checked={saved}
              onChange={(e) => setSaved(e.target.checked)}
              data-testid="recovery-saved"
            />
            <span>I have saved my recovery key somewhere safe</span>
          </label>
          <ErrorText error={act.error} />
          <Button
            kind="primary"
            disabled={!saved}
            onClick={() => {
              const s = created.session;
              setCreated(null);
              onDone(s);
            }}
            testid="recovery-continue"
          >
            Open my vault
          </Button>
        </div>
      </div>
    );
  }

  return (
    <div className="onboarding">
      <form
        className="onboarding-card"
        data-testid="welcome"
        onSubmit={(e) => {
          e.preventDefault();
          create();
        }}
      >
        <LocketMark size={44} />
        <h1>Welcome to Locket</h1>
        <p className="lead">
          Your profile and preferences stay encrypted on this computer. Retailers ask; you decide what they get, and
          for how long.
        </p>
        <TextField
          label="Choose a passphrase"
          type="password"
          value={pass}
          onChange={setPass}
          testid="create-passphrase"
          autoFocus
          autoComplete="new-password"
        />
        <StrengthMeter passphrase={pass} />
        <TextField
          label="Type it again"
          type="password"
          value={confirm}
          onChange={setConfirm}
          testid="create-confirm"
          autoComplete="new-password"
          error={mismatch ? "The two passphrases differ." : null}
        />
        <label className="check">
          <input
            type="checkbox"
            checked={remember}
            onChange={(e) => setRemember(e.target.checked)}
            data-testid="create-remember"
          />
          <span>
            Unlock automatically on this device
            <span className="muted small block">Keeps a key in your system keychain. You can turn it off later.</span>
          </span>
        </label>
        <ErrorText error={act.error} testid="create-error" />
        <Button kind="primary" type="submit" disabled={!canCreate} busy={act.busy} testid="create-submit">
          Create my vault
        </Button>
        <p className="muted small center">There is no account and no server: nobody can reset this passphrase for you.</p>
      </form>
    </div>
  );
}
