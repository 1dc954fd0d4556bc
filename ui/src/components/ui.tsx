// Small building blocks shared by every screen. No inline styles anywhere: the CSP allows only style sheets.
import { useEffect, useId, useRef, type ReactNode } from "react";
import type { LocketError, Sensitivity } from "../backend";
import { SENSITIVITY_WORDS } from "../lib/words";
import { Icon, type IconName } from "./Icon";

export function Button(props: {
  children: ReactNode;
  onClick?: () => void;
  kind?: "primary" | "secondary" | "danger" | "ghost";
  type?: "button" | "submit";
  disabled?: boolean;
  busy?: boolean;
  testid?: string;
  small?: boolean;
  title?: string;
}) {
  const cls = ["btn", `btn-${props.kind ?? "secondary"}`, props.small ? "btn-small" : "", props.busy ? "is-busy" : ""]
    .filter(Boolean)
    .join(" ");
  return (
    <button
      type={props.type ?? "button"}
      className={cls}
      onClick={props.onClick}
      disabled={props.disabled || props.busy}
      data-testid={props.testid}
      title={props.title}
      aria-busy={props.busy || undefined}
    >
      {props.busy && <span className="spinner" aria-hidden="true" />}
      <span>{props.children}</span>
    </button>
  );
}

export function SensitivityBadge({ level }: { level: Sensitivity }) {
  const w = SENSITIVITY_WORDS[level] ?? { label: level, help: "" };
  return (
    <span className={`badge badge-${level}`} title={w.help} data-testid={`sensitivity-${level}`}>
      {w.label}
    </span>
  );
}

export function StatusPill({ status, testid }: { status: string; testid?: string }) {
  return (
    <span className={`pill pill-${status}`} data-testid={testid}>
      {status.charAt(0).toUpperCase() + status.slice(1)}
    </span>
  );
}

/** An error sentence in a reserved slot: the slot keeps its height when empty, so nothing jumps. */
export function ErrorText({ error, testid }: { error: LocketError | string | null; testid?: string }) {
  const msg = error === null ? "" : typeof error === "string" ? error : error.message;
  return (
    <p className="error-text" role={msg ? "alert" : undefined} data-testid={testid}>
      {msg}
    </p>
  );
}

export function ErrorState(props: { error: LocketError; onRetry?: () => void; testid?: string }) {
  return (
    <div className="state state-error" role="alert" data-testid={props.testid ?? "error-state"}>
      <div className="state-icon" aria-hidden="true"><Icon name="alert" size={24} /></div>
      <h3>Something went wrong</h3>
      <p>{props.error.message}</p>
      <p className="muted small">Error code: {props.error.code}</p>
      {props.onRetry && <Button onClick={props.onRetry}>Try again</Button>}
    </div>
  );
}

export function EmptyState(props: { icon: IconName; title: string; children: ReactNode; testid?: string }) {
  return (
    <div className="state state-empty" data-testid={props.testid}>
      <div className="state-icon" aria-hidden="true"><Icon name={props.icon} size={24} /></div>
      <h3>{props.title}</h3>
      <div className="state-body">{props.children}</div>
    </div>
  );
}

export function Loading({ label }: { label?: string }) {
  return (
    <div className="state state-loading" aria-live="polite">
      <span className="spinner spinner-large" aria-hidden="true" />
      <p className="muted">{label ?? "Loading…"}</p>
    </div>
  );
}

export function Toggle(props: {
  checked: boolean;
  onChange: (v: boolean) => void;
  label: string;
  description?: string;
  disabled?: boolean;
  testid?: string;
}) {
  const id = useId();
  return (
    <div className="toggle-row">
      <div className="toggle-text">
        <label htmlFor={id} className="toggle-label">
          {props.label}
        </label>
        {props.description && <p className="muted small">{props.description}</p>}
      </div>
      <button
        id={id}
        type="button"
        role="switch"
        aria-checked={props.checked}
        className={`switch ${props.checked ? "is-on" : ""}`}
        onClick={() => props.onChange(!props.checked)}
        disabled={props.disabled}
        data-testid={props.testid}
      >
        <span className="switch-knob" aria-hidden="true" />
      </button>
    </div>
  );
}

/** A modal dialog: Escape or the backdrop closes it, focus moves into it and is kept there. */
export function Modal(props: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  wide?: boolean;
  testid?: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const { onClose } = props;
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    const el = ref.current;
    const first = el?.querySelector<HTMLElement>("input, select, textarea, button:not(.modal-close)");
    (first ?? el)?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onClose();
      if (e.key === "Tab" && el) {
        const items = Array.from(
          el.querySelectorAll<HTMLElement>("button:not([disabled]), input, select, textarea, [tabindex='0']"),
        );
        if (items.length === 0) return;
        const firstItem = items[0]!;
        const last = items[items.length - 1]!;
        if (e.shiftKey && document.activeElement === firstItem) {
          last.focus();
          e.preventDefault();
        } else if (!e.shiftKey && document.activeElement === last) {
          firstItem.focus();
          e.preventDefault();
        }
      }
    };
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("keydown", onKey);
      prev?.focus();
    };
  }, [onClose]);
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        className={`modal ${props.wide ? "modal-wide" : ""}`}
        role="dialog"
        aria-modal="true"
        aria-label={props.title}
        ref={ref}
        tabIndex={-1}
        data-testid={props.testid}
      >
        <header className="modal-header">
          <h2>{props.title}</h2>
          <button type="button" className="modal-close" onClick={props.onClose} aria-label="Close">
            ×
          </button>
        </header>
        <div className="modal-body">{props.children}</div>
        {props.footer && <footer className="modal-footer">{props.footer}</footer>}
      </div>
    </div>
  );
}

export function ConfirmDialog(props: {
  title: string;
  body: ReactNode;
  confirmLabel: string;
  /** The button that closes the dialog without acting ("Cancel" unless that would be ambiguous). */
  cancelLabel?: string;
  onConfirm: () => void;
  onCancel: () => void;
  busy?: boolean;
  error?: LocketError | null;
  testid?: string;
}) {
  return (
    <Modal
      title={props.title}
      onClose={props.onCancel}
      testid={props.testid ?? "confirm-dialog"}
      footer={
        <>
          <Button kind="ghost" onClick={props.onCancel} testid="confirm-cancel">
            {props.cancelLabel ?? "Cancel"}
          </Button>
          <Button kind="danger" onClick={props.onConfirm} busy={props.busy} testid="confirm-ok">
            {props.confirmLabel}
          </Button>
        </>
      }
    >
      <div className="confirm-body">{props.body}</div>
      <ErrorText error={props.error ?? null} />
    </Modal>
  );
}

export function PageHeader(props: { title: string; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{props.title}</h1>
        {props.subtitle && <p className="muted">{props.subtitle}</p>}
      </div>
      {props.actions && <div className="page-actions">{props.actions}</div>}
    </header>
  );
}

export function TextField(props: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  type?: string;
  testid?: string;
  autoFocus?: boolean;
  placeholder?: string;
  hint?: ReactNode;
  error?: string | null;
  errorTestid?: string;
  autoComplete?: string;
  onEnter?: () => void;
}) {
  const id = useId();
  return (
    <div className={`field ${props.error ? "has-error" : ""}`}>
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        type={props.type ?? "text"}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && props.onEnter) {
            e.preventDefault();
            props.onEnter();
          }
        }}
        data-testid={props.testid}
        autoFocus={props.autoFocus}
        placeholder={props.placeholder}
        autoComplete={props.autoComplete ?? "off"}
        spellCheck={false}
        aria-invalid={props.error ? true : undefined}
      />
      {props.hint && <div className="field-hint muted small">{props.hint}</div>}
      {props.error !== undefined && <ErrorText error={props.error ?? null} testid={props.errorTestid} />}
    </div>
  );
}
