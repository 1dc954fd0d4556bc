// The only module that talks to Tauri. Every command and event of docs/ipc.md has a typed wrapper here;
// the rest of the UI imports these functions and types and never sees `@tauri-apps/*`.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { open as openDialog, save as saveDialog } from "@tauri-apps/plugin-dialog";
import { writeText } from "@tauri-apps/plugin-clipboard-manager";

// ---------- errors ----------

/** Every failed command rejects with this: a stable snake_case `code` and a sentence for the owner. */
export class LocketError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "LocketError";
    this.code = code;
  }
}

export function toLocketError(e: unknown): LocketError {
  if (e instanceof LocketError) return e;
  if (typeof e === "object" && e !== null && "code" in e && "message" in e) {
    const o = e as { code: unknown; message: unknown };
    return new LocketError(String(o.code), String(o.message));
  }
  if (e instanceof Error) return new LocketError("internal", e.message);
  return new LocketError("internal", String(e));
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toLocketError(e);
  }
}

// ---------- types (mirrors of src-tauri/src/dto.rs) ----------

export type Sensitivity = "low" | "personal" | "sensitive";
export type FieldType =
  | "text"
  | "email"
  | "phone"
  | "date"
  | "country"
  | "enum"
  | "multi_enum"
  | "number"
  | "range"
  | "bool";

export interface AppStatus {
  version: string;
  vaultPath: string;
  vaultExists: boolean;
  unlocked: boolean;
  keychainEnabled: boolean;
}

export interface SessionInfo {
  vaultId: string;
  keyId: string;
  endpoint: EndpointStatus;
  settings: AppSettings;
}

export interface EndpointStatus {
  running: boolean;
  address: string | null;
  error: string | null;
}

export interface AppSettings {
  autoLockMinutes: number;
  endpointEnabled: boolean;
  endpointAddress: string;
  keychainEnabled: boolean;
}

export interface CatalogField {
  key: string;
  label: string;
  group: string;
  groupLabel: string;
  fieldType: FieldType;
  options: FieldOption[];
  sensitivity: Sensitivity;
  hint: string;
  /** An example of valid input, e.g. "+442071234567". */
  example: string;
  custom: boolean;
}

export interface FieldOption {
  value: string;
  label: string;
}

export interface ProfileValue {
  key: string;
  /** Editable text (what the core's input parser reads back), e.g. "vegan,halal" or "20-80 GBP". */
  value: string;
  /** The value as shown to the owner. */
  display: string;
  versionId: number;
  updatedAt: string | null;
}

export interface ValueVersion {
  versionId: number;
  value: string | null;
  createdAt: string;
}

export interface CustomFieldInput {
  key: string;
  label: string;
  fieldType: FieldType;
  options: string[];
  sensitivity: Sensitivity;
}

export interface Retailer {
  id: string;
  name: string;
  origin: string;
  contact: string | null;
  privacyPolicy: string | null;
}

export interface RequestedScope {
  scope: string;
  label: string;
  purpose: string;
  purposeLabel: string;
  purposeText: string | null;
  required: boolean;
  sensitivity: Sensitivity;
}

export type RequestStatus = "pending" | "approved" | "denied" | "expired";

export interface GrantRequest {
  id: string;
  retailer: Retailer;
  scopes: RequestedScope[];
  durationSeconds: number;
  retentionText: string;
  retentionSeconds: number | null;
  receivedAt: string;
  via: "file" | "http" | "deep_link";
  status: RequestStatus;
  /** The privacy check (pending requests only): over-asking and sensitive data asked for marketing. */
  warnings: PrivacyWarning[];
  /** Requested scope → the minimized answer "Share the minimized answer instead" grants in its place. */
  minimized: Record<string, string>;
}

export interface PrivacyWarning {
  code: "over_asking" | "sensitive_for_marketing";
  scope: string;
  purpose: string;
  message: string;
  suggestion: { scope: string; label: string; explanation: string } | null;
}

export type GrantStatus = "active" | "expired" | "revoked" | "exhausted";

export interface GrantScope {
  scope: string;
  label: string;
  purpose: string;
}

export interface Grant {
  id: string;
  requestId: string | null;
  retailer: Retailer;
  scopes: GrantScope[];
  issuedAt: string;
  expiresAt: string;
  maxUses: number | null;
  uses: number;
  lastAccess: string | null;
  revokedAt: string | null;
  status: GrantStatus;
}

export interface ApproveInput {
  requestId: string;
  scopes: string[];
  /** How long the grant lasts; null = as long as the retailer asked. */
  expiresInSeconds: number | null;
  maxUses: number | null;
  /** Share the request's minimized answers instead of the raw fields they replace. */
  minimize?: boolean;
}

export interface IssuedGrant {
  grant: Grant;
  /** The grant file (locket.grant/v1 JSON) as text: what the retailer needs. It holds no profile data. */
  grantFile: string;
  suggestedFileName: string;
}

export type Outcome = "allowed" | "refused" | "info";

export interface AuditEvent {
  seq: number;
  at: string;
  kind: string;
  outcome: Outcome;
  retailerId: string | null;
  retailerName: string | null;
  grantId: string | null;
  fields: string[];
  versions: Record<string, number>;
  reason: string | null;
  remote: string | null;
  userAgent: string | null;
}

export interface AuditFilter {
  retailerId?: string | null;
  field?: string | null;
  outcome?: Outcome | null;
  since?: string | null;
  until?: string | null;
}

export interface AuditPage {
  events: AuditEvent[];
  /** Cursor of the next (older) page; null on the last page. */
  next: number | null;
  /** Events in the whole log; null when a filter is set. */
  total: number | null;
}

export interface TimelineDay {
  day: string; // YYYY-MM-DD (local)
  allowed: number;
  refused: number;
}

export interface ChainStatus {
  ok: boolean;
  events: number;
  badSeq: number | null;
  message: string;
}

export interface RetailerSummary {
  retailer: Retailer;
  activeGrants: number;
  pendingRequests: number;
  lastAccess: string | null;
}

export interface Disclosure {
  at: string;
  field: string;
  versionId: number | null;
  grantId: string | null;
}

export interface RetailerDetail {
  retailer: Retailer;
  grants: Grant[];
  requests: GrantRequest[];
  disclosures: Disclosure[];
}

export interface Holding {
  field: string;
  label: string;
  retailerId: string;
  retailerName: string;
  /** The newest version it received (0 = the catalog default). */
  version: number;
  /** When it first received that version. */
  since: string;
  lastReceivedAt: string;
  /** When the owner changed the field after that version; null = it holds the current value. */
  outdatedSince: string | null;
}

export interface ConsentReceipt {
  receiptId: string;
  version: number;
  event: "grant" | "narrowing" | "revoke" | "expiry" | string;
  eventAt: string;
  collectionMethod: string;
  grantId: string;
  scopes: string[];
  withdrawnScopes: string[];
}

export interface PrivacyBudget {
  total: number;
  spent: number;
  remaining: number;
  answers: number;
}

export interface ErasureRequest {
  id: string;
  grantId: string | null;
  requestedAt: string;
  note: string | null;
  acknowledgedAt: string | null;
}

export interface RetailerPrivacy {
  holdings: Holding[];
  receipts: ConsentReceipt[];
  /** null when the retailer never asked for analytics. */
  budget: PrivacyBudget | null;
  erasures: ErasureRequest[];
  alias: string | null;
}

export interface Backup {
  id: string;
  createdAt: string;
  reason: "manual" | "auto" | "daily" | "before-restore" | string;
  sizeBytes: number;
}

export interface BackupCheck {
  id: string;
  ok: boolean;
  integrityProblems: string[];
  logEvents: number;
  logProblem: string | null;
}

export interface Progress {
  op: "export" | "import";
  done: number;
  total: number;
}

// ---------- session ----------

export const appStatus = () => call<AppStatus>("app_status");
export const createVault = (passphrase: string, rememberOnDevice: boolean) =>
  call<{ recoveryKey: string; session: SessionInfo }>("vault_create", { passphrase, rememberOnDevice });
export const unlock = (passphrase: string) => call<SessionInfo>("vault_unlock", { passphrase });
export const unlockWithKeychain = () => call<SessionInfo>("vault_unlock_keychain");
export const recover = (recoveryKey: string, newPassphrase: string) =>
  call<SessionInfo>("vault_recover", { recoveryKey, newPassphrase });
export const lock = (reason: "button" | "idle" | "tray") => call<void>("vault_lock", { reason });
/** The owner is using the window: Locket's idle auto-lock (which runs in Rust) starts again. */
export const reportActivity = () => call<void>("session_activity");
export const sessionInfo = () => call<SessionInfo>("session_info");

// ---------- settings ----------

export const changePassphrase = (current: string, next: string) =>
  call<void>("passphrase_change", { current, next });
export const resetRecoveryKey = (passphrase: string) =>
  call<{ recoveryKey: string }>("recovery_reset", { passphrase });
export const setKeychain = (enabled: boolean) => call<AppSettings>("keychain_set", { enabled });
export const updateSettings = (settings: AppSettings) =>
  call<SessionInfo>("settings_update", { settings });
export const exportVault = (path: string, passphrase: string | null) =>
  call<{ fields: number; bytes: number }>("vault_export", { path, passphrase });
export const importVault = (path: string, passphrase: string | null) =>
  call<{ fields: number }>("vault_import", { path, passphrase });
export const wipeVault = (confirmation: string) => call<void>("vault_wipe", { confirmation });

// ---------- profile ----------

export const catalog = () => call<CatalogField[]>("catalog");
export const profileValues = () => call<ProfileValue[]>("profile_list");
export const setValue = (key: string, value: string) => call<ProfileValue>("profile_set", { key, value });
export const removeValue = (key: string) => call<void>("profile_remove", { key });
export const valueHistory = (key: string) => call<ValueVersion[]>("profile_history", { key });
export const addCustomField = (field: CustomFieldInput) => call<CatalogField>("custom_field_add", { field });

// ---------- requests and grants ----------

export const requests = () => call<GrantRequest[]>("requests_list");
export const importRequestFile = (path: string) => call<GrantRequest>("request_import", { path });
export const approveRequest = (input: ApproveInput) => call<IssuedGrant>("request_approve", { input });
export const denyRequest = (requestId: string) => call<void>("request_deny", { requestId });
export const saveGrantFile = (grantId: string, path: string) =>
  call<void>("grant_file_save", { grantId, path });
export const grants = () => call<Grant[]>("grants_list");
export const revokeGrant = (grantId: string) => call<Grant>("grant_revoke", { grantId });
export const revokeAllForRetailer = (retailerId: string) =>
  call<number>("retailer_revoke_all", { retailerId });
export const retailers = () => call<RetailerSummary[]>("retailers_list");
export const retailerDetail = (retailerId: string) =>
  call<RetailerDetail>("retailer_detail", { retailerId });

// ---------- privacy ----------

export const retailerPrivacy = (retailerId: string) =>
  call<RetailerPrivacy>("retailer_privacy", { retailerId });
export const exportReceipts = (retailerId: string, path: string) =>
  call<number>("receipts_export", { retailerId, path });
export const requestErasure = (retailerId: string, note: string | null) =>
  call<ErasureRequest>("erasure_request", { retailerId, note });
export const setAlias = (retailerId: string, alias: string) => call<string>("alias_set", { retailerId, alias });
export const fieldHolders = (key: string) => call<Holding[]>("field_holders", { key });

// ---------- backups ----------

export const backups = () => call<Backup[]>("backups_list");
export const backupNow = () => call<Backup>("backup_now");
export const verifyBackup = (id: string) => call<BackupCheck>("backup_verify", { id });
export const restoreBackup = (id: string, confirmation: string) =>
  call<void>("backup_restore", { id, confirmation });
export const recoverFromBackup = (passphrase: string) =>
  call<SessionInfo>("vault_recover_from_backup", { passphrase });

// ---------- activity ----------

export const auditPage = (filter: AuditFilter, cursor: number | null, limit: number) =>
  call<AuditPage>("audit_query", { filter, cursor, limit });
export const auditTimeline = (days: number, retailerId: string | null) =>
  call<TimelineDay[]>("audit_timeline", { days, retailerId });
export const verifyChain = () => call<ChainStatus>("audit_verify");

// ---------- events ----------

export type LockReason = "button" | "idle" | "tray" | "wiped" | "restore";

async function on<T>(name: string, handler: (payload: T) => void): Promise<UnlistenFn> {
  return listen<T>(name, (e) => handler(e.payload));
}

export const onAuditEvent = (h: (e: AuditEvent) => void) => on<AuditEvent>("locket://audit-event", h);
export const onRequestReceived = (h: (r: GrantRequest) => void) =>
  on<GrantRequest>("locket://request-received", h);
export const onLocked = (h: (reason: LockReason) => void) =>
  on<{ reason: LockReason }>("locket://locked", (p) => h(p.reason));
export const onFocusRequest = (h: (requestId: string) => void) =>
  on<{ requestId: string }>("locket://focus-request", (p) => h(p.requestId));
export const onDeepLinkError = (h: (err: LocketError) => void) =>
  on<{ code: string; message: string }>("locket://deep-link-error", (p) => h(toLocketError(p)));
export const onProgress = (h: (p: Progress) => void) => on<Progress>("locket://progress", h);
export const onEndpointStatus = (h: (s: EndpointStatus) => void) =>
  on<EndpointStatus>("locket://endpoint", h);

/** Files dropped on the window (Tauri gives real paths). Returns an unsubscribe function. */
export async function onFileDrop(handlers: {
  over: (hovering: boolean) => void;
  drop: (paths: string[]) => void;
}): Promise<UnlistenFn> {
  return getCurrentWebview().onDragDropEvent((e) => {
    const p = e.payload;
    if (p.type === "enter" || p.type === "over") handlers.over(true);
    else if (p.type === "leave") handlers.over(false);
    else if (p.type === "drop") {
      handlers.over(false);
      handlers.drop(p.paths);
    }
  });
}

// ---------- dialogs and clipboard ----------

export async function pickRequestFile(): Promise<string | null> {
  const p = await openDialog({
    title: "Import a request",
    multiple: false,
    directory: false,
    filters: [{ name: "Locket request", extensions: ["json"] }],
  });
  return typeof p === "string" ? p : null;
}

export async function pickImportFile(): Promise<string | null> {
  const p = await openDialog({ title: "Import a Locket export", multiple: false, directory: false });
  return typeof p === "string" ? p : null;
}

export async function pickSavePath(title: string, defaultPath: string): Promise<string | null> {
  const p = await saveDialog({ title, defaultPath, filters: [{ name: "JSON", extensions: ["json"] }] });
  return p ?? null;
}

export async function copyText(text: string): Promise<void> {
  try {
    await writeText(text);
  } catch (e) {
    throw toLocketError(e);
  }
}
