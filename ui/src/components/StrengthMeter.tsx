import { passphraseStrength } from "../lib/strength";

/** Four segments that fill with the estimated strength, a label, and one hint. */
export function StrengthMeter({ passphrase }: { passphrase: string }) {
  const s = passphraseStrength(passphrase);
  const filled = passphrase.length === 0 ? 0 : Math.max(1, s.score);
  return (
    <div className={`strength strength-${s.score}`} data-testid="strength-meter" data-score={s.score}>
      <div className="strength-bar" aria-hidden="true">
        {[1, 2, 3, 4].map((i) => (
          <span key={i} className={`strength-seg ${i <= filled ? "on" : ""}`} />
        ))}
      </div>
      <div className="strength-text">
        <span className="strength-label" data-testid="strength-label">
          {passphrase.length === 0 ? "Strength" : s.label}
        </span>
        <span className="muted small">{passphrase.length === 0 ? "" : (s.hint ?? "Nice — hard to guess.")}</span>
      </div>
    </div>
  );
}
