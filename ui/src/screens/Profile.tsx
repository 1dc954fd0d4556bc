import { useEffect, useMemo, useState } from "react";
import * as backend from "../backend";
import type { CatalogField, FieldType, Holding, ProfileValue, Sensitivity } from "../backend";
import { Button, EmptyState, ErrorState, ErrorText, Loading, Modal, PageHeader, SensitivityBadge, TextField, Toggle } from "../components/ui";
import type { Toast, View } from "../lib/navigation";
import { useAction, useLoad } from "../hooks";
import { formatDate, formatDateTime } from "../lib/format";
import { markOnce } from "../lib/marks";
import { previousValueSentence } from "../lib/privacy";
import { joinMulti, parseRange, splitMulti, validateCustomKey, validateValue } from "../lib/validate";

type ToastFn = (kind: Toast["kind"], text: string) => void;

/** Fields shown per group before "Show all" (keeps very large custom groups light). */
const GROUP_PREVIEW = 40;

export function ProfileScreen({ toast, go }: { toast: ToastFn; go: (v: View) => void }) {
  const data = useLoad(async () => {
    const [fields, values] = await Promise.all([backend.catalog(), backend.profileValues()]);
    return { fields, values };
  }, []);
  const [query, setQuery] = useState("");
  const [history, setHistory] = useState<CatalogField | null>(null);
  const [adding, setAdding] = useState(false);
  const [expanded, setExpanded] = useState<Set<string>>(new Set());

  const values = useMemo(() => {
    const m = new Map<string, ProfileValue>();
    for (const v of data.data?.values ?? []) m.set(v.key, v);
    return m;
  }, [data.data]);

  const groups = useMemo(() => {
    const q = query.trim().toLowerCase();
    const out: { id: string; label: string; fields: CatalogField[] }[] = [];
    for (const f of data.data?.fields ?? []) {
      if (q && !f.label.toLowerCase().includes(q) && !f.key.toLowerCase().includes(q)) continue;
      let g = out.find((x) => x.id === f.group);
      if (!g) {
        g = { id: f.group, label: f.groupLabel, fields: [] };
        out.push(g);
      }
      g.fields.push(f);
    }
    return out;
  }, [data.data, query]);

  const filled = data.data ? data.data.values.length : 0;
  const loaded = data.data !== null;
  // The unlocked dashboard is on the page once the profile has loaded (start-up measurements).
  useEffect(() => {
    if (loaded) markOnce("locket-unlocked-screen");
  }, [loaded]);

  if (data.error && !data.data) return <ErrorState error={data.error} onRetry={data.reload} />;
  if (!data.data) return <Loading />;

  return (
    <div className="page" data-testid="profile-screen">
      <PageHeader
        title="Profile"
        subtitle={`${filled} of ${data.data.fields.length} fields filled. Only what you approve is ever shared.`}
        actions={
          <>
            <input
              className="search"
              type="search"
              placeholder="Find a field…"
              value={query}
              onChange={(e) => setQuery(e.target.value)}
              aria-label="Find a field"
              data-testid="profile-search"
            />
            <Button onClick={() => setAdding(true)} testid="custom-field-add">
              + Custom field
            </Button>
          </>
        }
      />
      {filled === 0 && !query && (
        <div className="callout" data-testid="profile-empty">
          <strong>Your profile is empty.</strong> Start with the basics — a name and an email — and add more whenever
          you like. Each field shows how sensitive it is.
        </div>
      )}
      <div className="group-chips" role="navigation" aria-label="Field groups">
        {groups.map((g) => (
          <a key={g.id} href={`#group-${g.id}`} className="chip" data-testid={`group-chip-${g.id}`}>
            {g.label}
          </a>
        ))}
      </div>
      {groups.length === 0 && (
        <EmptyState icon="search" title="No field matches" testid="profile-no-match">
          <p>Try another word, or add a custom field.</p>
        </EmptyState>
      )}
      {groups.map((g) => (
        <section key={g.id} id={`group-${g.id}`} className="card field-group" data-testid={`group-${g.id}`}>
          <h2>{g.label}</h2>
          <div className="field-list">
            {(expanded.has(g.id) || query ? g.fields : g.fields.slice(0, GROUP_PREVIEW)).map((f) => (
              <FieldRow
                key={f.key}
                field={f}
                stored={values.get(f.key) ?? null}
                onSaved={data.reload}
                onHistory={() => setHistory(f)}
                toast={toast}
                go={go}
              />
            ))}
          </div>
          {!query && !expanded.has(g.id) && g.fields.length > GROUP_PREVIEW && (
            <Button
              kind="ghost"
              testid={`group-show-all-${g.id}`}
              onClick={() => setExpanded((e) => new Set(e).add(g.id))}
            >
              Show all {g.fields.length} fields
            </Button>
          )}
        </section>
      ))}
      {history && <HistoryDialog field={history} onClose={() => setHistory(null)} />}
      {adding && (
        <CustomFieldDialog
          onClose={() => setAdding(false)}
          onAdded={(f) => {
            setAdding(false);
            toast("success", `Added “${f.label}”`);
            data.reload();
          }}
        />
      )}
    </div>
  );
}

function FieldRow(props: {
  field: CatalogField;
  stored: ProfileValue | null;
  onSaved: () => void;
  onHistory: () => void;
  toast: ToastFn;
  go: (v: View) => void;
}) {
  const { field, stored } = props;
  const storedValue = stored?.value ?? "";
  const [draft, setDraft] = useState<string | null>(null);
  const act = useAction();
  const [holders, setHolders] = useState<Holding[]>([]);
  const value = draft ?? storedValue;
  const dirty = draft !== null && draft.trim() !== storedValue;
  const optionValues = field.options.map((o) => o.value);
  const localError = draft !== null ? validateValue(field.fieldType, draft, optionValues) : null;

  const save = (v: string) => {
    if (validateValue(field.fieldType, v, optionValues)) return;
    void act.run(async () => {
      if (v.trim() === "") await backend.removeValue(field.key);
      else await backend.setValue(field.key, v.trim());
      setDraft(null);
      props.onSaved();
      // Retailers that received this field now hold the previous value: say so, with the way to them.
      setHolders(await backend.fieldHolders(field.key).catch(() => []));
    });
  };

  const tid = field.key.replace(/[^a-zA-Z0-9]+/g, "-");

  if (field.fieldType === "bool") {
    return (
      <div className="field-row field-row-bool" data-testid={`field-${tid}`}>
        <Toggle
          checked={storedValue === "true"}
          onChange={(v) => save(v ? "true" : "false")}
          label={field.label}
          description={field.hint || undefined}
          disabled={act.busy}
          testid={`toggle-${tid}`}
        />
        <div className="field-meta">
          <SensitivityBadge level={field.sensitivity} />
          {stored && (
            <button type="button" className="link small" onClick={props.onHistory} data-testid={`history-${tid}`}>
              History
            </button>
          )}
        </div>
        <ErrorText error={act.error} testid={`error-${tid}`} />
      </div>
    );
  }

  return (
    <div className={`field-row ${localError || act.error ? "has-error" : ""}`} data-testid={`field-${tid}`}>
      <div className="field-label">
        <label htmlFor={`in-${tid}`} title={field.hint}>
          {field.label}
        </label>
        <div className="field-meta">
          <SensitivityBadge level={field.sensitivity} />
          {field.custom && <span className="badge badge-custom">Custom</span>}
        </div>
      </div>
      <div className="field-input">
        <ValueInput
          id={`in-${tid}`}
          field={field}
          value={value}
          onChange={setDraft}
          onEnter={() => dirty && save(value)}
          onEscape={() => setDraft(null)}
          testid={`input-${tid}`}
        />
        <ErrorText error={localError ?? act.error} testid={`error-${tid}`} />
        {holders.length > 0 && (
          <p className="note-box small" data-testid={`holders-${tid}`}>
            {previousValueSentence(holders, formatDate)}{" "}
            {holders.map((h, i) => (
              <span key={h.retailerId}>
                {i > 0 ? ", " : ""}
                <button type="button" className="link" onClick={() => props.go({ page: "retailer", id: h.retailerId })} data-testid="holder-link">
                  {holders.length === 1 ? `See what ${h.retailerName} holds ›` : h.retailerName}
                </button>
              </span>
            ))}{" "}
            <button type="button" className="link small" onClick={() => setHolders([])} aria-label="Dismiss">
              Dismiss
            </button>
          </p>
        )}
      </div>
      <div className="field-actions">
        {dirty ? (
          <>
            <Button small kind="primary" onClick={() => save(value)} busy={act.busy} disabled={!!localError} testid={`save-${tid}`}>
              Save
            </Button>
            <Button small kind="ghost" onClick={() => { setDraft(null); act.setError(null); }} testid={`cancel-${tid}`}>
              Cancel
            </Button>
          </>
        ) : (
          <>
            {stored && (
              <span className="muted small" title={formatDateTime(stored.updatedAt)}>
                v{stored.versionId}
              </span>
            )}
            {stored && (
              <button type="button" className="link small" onClick={props.onHistory} data-testid={`history-${tid}`}>
                History
              </button>
            )}
          </>
        )}
      </div>
    </div>
  );
}

function ValueInput(props: {
  id: string;
  field: CatalogField;
  value: string;
  onChange: (v: string) => void;
  onEnter: () => void;
  onEscape: () => void;
  testid: string;
}) {
  const { field, value } = props;
  const keys = (e: React.KeyboardEvent) => {
    if (e.key === "Enter") {
      e.preventDefault();
      props.onEnter();
    } else if (e.key === "Escape") props.onEscape();
  };
  const placeholder =
    field.fieldType === "text" ? "" : field.fieldType === "date" ? "YYYY-MM-DD" : field.example || placeholderFor(field.fieldType);
  if (field.fieldType === "enum" && field.options.length > 0) {
    return (
      <select id={props.id} value={value} onChange={(e) => props.onChange(e.target.value)} onKeyDown={keys} data-testid={props.testid}>
        <option value="">— Not set —</option>
        {field.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    );
  }
  if (field.fieldType === "multi_enum" && field.options.length > 0) {
    const chosen = new Set(splitMulti(value));
    return (
      <div className="multi" id={props.id} role="group" aria-label={field.label} data-testid={props.testid}>
        {field.options.map((o) => (
          <label key={o.value} className={`chip chip-toggle ${chosen.has(o.value) ? "is-on" : ""}`}>
            <input
              type="checkbox"
              checked={chosen.has(o.value)}
              onKeyDown={keys}
              onChange={(e) => {
                const next = field.options
                  .map((x) => x.value)
                  .filter((x) => (x === o.value ? e.target.checked : chosen.has(x)));
                props.onChange(joinMulti(next));
              }}
            />
            {o.label}
          </label>
        ))}
      </div>
    );
  }
  if (field.fieldType === "range") {
    const r = parseRange(value);
    const set = (a: string, b: string) =>
      props.onChange(a === "" && b === "" ? "" : `${a}-${b}${r.currency ? ` ${r.currency}` : ""}`);
    return (
      <div className="range-input" id={props.id} data-testid={props.testid}>
        <input type="number" inputMode="decimal" aria-label={`${field.label} from`} value={r.lo} placeholder="from" onChange={(e) => set(e.target.value, r.hi)} onKeyDown={keys} />
        <span aria-hidden="true">–</span>
        <input type="number" inputMode="decimal" aria-label={`${field.label} to`} value={r.hi} placeholder="to" onChange={(e) => set(r.lo, e.target.value)} onKeyDown={keys} />
        {r.currency && <span className="muted">{r.currency}</span>}
      </div>
    );
  }
  const type =
    field.fieldType === "email" ? "email" : field.fieldType === "phone" ? "tel" : "text";
  return (
    <input
      id={props.id}
      type={type}
      value={value}
      placeholder={placeholder}
      onChange={(e) => props.onChange(e.target.value)}
      onKeyDown={keys}
      data-testid={props.testid}
      spellCheck={false}
      autoComplete="off"
    />
  );
}

function placeholderFor(t: FieldType): string {
  switch (t) {
    case "email":
      return "name@example.com";
    case "phone":
      return "+442071234567";
    case "country":
      return "GB";
    case "number":
      return "0";
    case "date":
      return "YYYY-MM-DD";
    default:
      return "";
  }
}

function HistoryDialog({ field, onClose }: { field: CatalogField; onClose: () => void }) {
  const h = useLoad(() => backend.valueHistory(field.key), [field.key]);
  return (
    <Modal title={`History of “${field.label}”`} onClose={onClose} testid="history-dialog">
      {h.error && <ErrorState error={h.error} onRetry={h.reload} />}
      {!h.data && !h.error && <Loading />}
      {h.data && h.data.length === 0 && <p className="muted">No value has been saved yet.</p>}
      {h.data && h.data.length > 0 && (
        <ol className="history-list">
          {[...h.data].reverse().map((v) => (
            <li key={v.versionId} data-testid="history-entry">
              <span className="history-version">v{v.versionId}</span>
              <span className={v.value === null ? "muted italic" : "history-value"}>{v.value ?? "removed"}</span>
              <span className="muted small">{formatDateTime(v.createdAt)}</span>
            </li>
          ))}
        </ol>
      )}
      <p className="muted small">Retailers' access records name the version they received.</p>
    </Modal>
  );
}

const TYPES: { id: FieldType; label: string }[] = [
  { id: "text", label: "Text" },
  { id: "number", label: "Number" },
  { id: "date", label: "Date" },
  { id: "email", label: "Email" },
  { id: "phone", label: "Phone" },
  { id: "enum", label: "One of a list" },
  { id: "multi_enum", label: "Several of a list" },
  { id: "bool", label: "Yes / no" },
];

function CustomFieldDialog(props: { onClose: () => void; onAdded: (f: CatalogField) => void }) {
  const [label, setLabel] = useState("");
  const [key, setKey] = useState("");
  const [keyTouched, setKeyTouched] = useState(false);
  const [fieldType, setFieldType] = useState<FieldType>("text");
  const [options, setOptions] = useState("");
  const [sensitivity, setSensitivity] = useState<Sensitivity>("personal");
  const act = useAction();
  const autoKey = `custom.${label.trim().toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "")}`;
  const effectiveKey = keyTouched ? key : autoKey;
  const keyError = label.trim() || keyTouched ? validateCustomKey(effectiveKey) : null;
  const needsOptions = fieldType === "enum" || fieldType === "multi_enum";
  const opts = splitMulti(options);
  const ok = label.trim().length > 0 && !keyError && (!needsOptions || opts.length >= 2);
  const submit = () => {
    if (!ok) return;
    void act.run(async () => {
      const f = await backend.addCustomField({ key: effectiveKey, label: label.trim(), fieldType, options: needsOptions ? opts : [], sensitivity });
      props.onAdded(f);
    });
  };
  return (
    <Modal
      title="Add a custom field"
      onClose={props.onClose}
      testid="custom-field-dialog"
      footer={
        <>
          <Button kind="ghost" onClick={props.onClose}>Cancel</Button>
          <Button kind="primary" onClick={submit} disabled={!ok} busy={act.busy} testid="custom-field-save">
            Add field
          </Button>
        </>
      }
    >
      <TextField label="Label" value={label} onChange={setLabel} testid="custom-field-label" autoFocus placeholder="e.g. Shoe width" />
      <TextField
        label="Key"
        value={effectiveKey}
        onChange={(v) => {
          setKeyTouched(true);
          setKey(v);
        }}
        testid="custom-field-key"
        hint="Retailers ask for fields by this key."
        error={keyError}
      />
      <div className="field">
        <label htmlFor="cf-type">Type</label>
        <select id="cf-type" value={fieldType} onChange={(e) => setFieldType(e.target.value as FieldType)} data-testid="custom-field-type">
          {TYPES.map((t) => (
            <option key={t.id} value={t.id}>{t.label}</option>
          ))}
        </select>
      </div>
      {needsOptions && (
        <TextField label="Choices (comma separated)" value={options} onChange={setOptions} testid="custom-field-options" placeholder="narrow, regular, wide" />
      )}
      <div className="field">
        <label htmlFor="cf-sens">Sensitivity</label>
        <select id="cf-sens" value={sensitivity} onChange={(e) => setSensitivity(e.target.value as Sensitivity)} data-testid="custom-field-sensitivity">
          <option value="low">Low — everyday information</option>
          <option value="personal">Personal — identifies or reaches you</option>
          <option value="sensitive">Sensitive — health or special information</option>
        </select>
      </div>
      <ErrorText error={act.error} testid="custom-field-error" />
    </Modal>
  );
}
