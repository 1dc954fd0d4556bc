// The only module that talks to Tauri. Every command and event of docs/ipc.md has a typed wrapper here;
// the rest of the UI imports these functions and types and never sees `@tauri-apps/*`. The types are generated
// from the Rust ones (./generated/ipc.ts, `LOCKET_BLESS=1 cargo test -p locket-desktop --test ipc generated`): a
// command's arguments and result are checked against its Rust signature through `Commands`.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { writeText } from "@tauri-apps/plugin-clipboard-manager";
import { EVENTS } from "./generated/ipc";
import type {
  AuditEvent,
  CommandName,
  Commands,
  EndpointStatus,
  EventName,
  EventPayloads,
  FilePurpose,
  Grant,
  GrantRequest,
  LockReason,
  PickedFile,
  Progress,
} from "./generated/ipc";

export * from "./generated/ipc";

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

type Args<K extends CommandName> = Commands[K]["args"];

/** Calls a command with the arguments its Rust function takes; resolves to its result, rejects with a LocketError. */
async function call<K extends CommandName>(
  cmd: K,
  ...args: keyof Args<K> extends never ? [] : [Args<K>]
): Promise<Commands[K]["result"]> {
  try {
    return await invoke<Commands[K]["result"]>(cmd, args[0]);
  } catch (e) {
    throw toLocketError(e);
  }
}

// ---------- names the UI uses for parts of the generated types ----------

export type Outcome = AuditEvent["outcome"];
export type GrantStatus = Grant["status"];
export type RequestStatus = GrantRequest["status"];

// ---------- session ----------

export const appStatus = () => call("app_status");
export const createVault = (passphrase: string, rememberOnDevice: boolean) =>
  call("vault_create", { passphrase, rememberOnDevice });
export const unlock = (passphrase: string) => call("vault_unlock", { passphrase });
export const unlockWithKeychain = () => call("vault_unlock_keychain");
export const recover = (recoveryKey: string, newPassphrase: string) =>
  call("vault_recover", { recoveryKey, newPassphrase });
export const lock = (reason: "button" | "idle" | "tray") => call("vault_lock", { reason });
/** The owner is using the window: Locket's idle auto-lock (which runs in Rust) starts again. */
export const reportActivity = () => call("session_activity");
export const sessionInfo = () => call("session_info");
/** The request a `locket://` link brought that this window has not shown yet (taken once). */
export const takeFocusRequest = () => call("focus_request_take");

// ---------- settings ----------

export const changePassphrase = (current: string, next: string) => call("passphrase_change", { current, next });
export const resetRecoveryKey = (passphrase: string) => call("recovery_reset", { passphrase });
export const setKeychain = (enabled: boolean) => call("keychain_set", { enabled });
export const updateSettings = (settings: Commands["settings_update"]["args"]["settings"]) =>
  call("settings_update", { settings });
export const exportVault = (file: PickedFile, passphrase: string | null) =>
  call("vault_export", { token: file.token, passphrase });
export const importVault = (file: PickedFile, passphrase: string | null) =>
  call("vault_import", { token: file.token, passphrase });
export const wipeVault = (confirmation: string) => call("vault_wipe", { confirmation });

// ---------- profile ----------

export const catalog = () => call("catalog");
export const profileValues = () => call("profile_list");
export const setValue = (key: string, value: string) => call("profile_set", { key, value });
export const removeValue = (key: string) => call("profile_remove", { key });
export const valueHistory = (key: string) => call("profile_history", { key });
export const addCustomField = (field: Args<"custom_field_add">["field"]) => call("custom_field_add", { field });

// ---------- requests and grants ----------

export const requests = () => call("requests_list");
export const importRequestFile = (file: PickedFile) => call("request_import", { token: file.token });
export const approveRequest = (input: Args<"request_approve">["input"]) => call("request_approve", { input });
export const denyRequest = (requestId: string) => call("request_deny", { requestId });
export const saveGrantFile = (grantId: string, file: PickedFile) =>
  call("grant_file_save", { grantId, token: file.token });
export const grants = () => call("grants_list");
export const revokeGrant = (grantId: string) => call("grant_revoke", { grantId });
export const revokeAllForRetailer = (retailerId: string) => call("retailer_revoke_all", { retailerId });
export const retailers = () => call("retailers_list");
export const retailerDetail = (retailerId: string) => call("retailer_detail", { retailerId });

// ---------- deliveries (releases to shops' servers) ----------

export const retailerDeliveries = (retailerId: string) => call("retailer_deliveries", { retailerId });
export const retryDelivery = (releaseId: string) => call("delivery_retry", { releaseId });
export const cancelDelivery = (releaseId: string) => call("delivery_cancel", { releaseId });
export const setGrantUpdates = (grantId: string, on: boolean) => call("grant_set_updates", { grantId, on });

// ---------- privacy ----------

export const retailerPrivacy = (retailerId: string) => call("retailer_privacy", { retailerId });
export const exportReceipts = (retailerId: string, file: PickedFile) =>
  call("receipts_export", { retailerId, token: file.token });
export const requestErasure = (retailerId: string, note: string | null) =>
  call("erasure_request", { retailerId, note });
export const setAlias = (retailerId: string, alias: string) => call("alias_set", { retailerId, alias });
export const fieldHolders = (key: string) => call("field_holders", { key });

// ---------- backups ----------

export const backups = () => call("backups_list");
export const backupNow = () => call("backup_now");
export const verifyBackup = (id: string) => call("backup_verify", { id });
export const restorePreview = (id: string) => call("backup_restore_preview", { id });
export const restoreBackup = (id: string, confirmation: string) => call("backup_restore", { id, confirmation });
export const recoverFromBackup = (passphrase: string) => call("vault_recover_from_backup", { passphrase });
export const acceptRollback = (passphrase: string) => call("vault_accept_rollback", { passphrase });

// ---------- activity ----------

export const auditPage = (filter: Args<"audit_query">["filter"], cursor: number | null, limit: number) =>
  call("audit_query", { filter, cursor, limit });
export const auditTimeline = (days: number, retailerId: string | null) =>
  call("audit_timeline", { days, retailerId });
export const verifyChain = () => call("audit_verify");

// ---------- events ----------

async function on<E extends EventName>(name: E, handler: (payload: EventPayloads[E]) => void): Promise<UnlistenFn> {
  return listen<EventPayloads[E]>(name, (e) => handler(e.payload));
}

export const onAuditEvent = (h: (e: AuditEvent) => void) => on(EVENTS.AUDIT, h);
export const onRequestReceived = (h: (r: GrantRequest) => void) => on(EVENTS.REQUEST, h);
export const onLocked = (h: (reason: LockReason) => void) => on(EVENTS.LOCKED, (p) => h(p.reason));
export const onFocusRequest = (h: (requestId: string) => void) => on(EVENTS.FOCUS_REQUEST, (p) => h(p.requestId));
export const onDeepLinkError = (h: (err: LocketError) => void) =>
  on(EVENTS.DEEP_LINK_ERROR, (p) => h(toLocketError(p)));
export const onProgress = (h: (p: Progress) => void) => on(EVENTS.PROGRESS, h);
export const onEndpointStatus = (h: (s: EndpointStatus) => void) => on(EVENTS.ENDPOINT, h);

/**
 * Files dropped on the window. The hover state comes from the web view's drag events; the files themselves come
 * from Rust, which receives the drop from the windowing system and sends a request-import token for each file
 * (the web view never names a path). Returns an unsubscribe function.
 */
export async function onFileDrop(handlers: {
  over: (hovering: boolean) => void;
  drop: (files: PickedFile[]) => void;
}): Promise<UnlistenFn> {
  const hover = getCurrentWebview().onDragDropEvent((e) => {
    const p = e.payload;
    if (p.type === "enter" || p.type === "over") handlers.over(true);
    else handlers.over(false);
  });
  const dropped = on(EVENTS.FILES_DROPPED, handlers.drop);
  const [a, b] = await Promise.all([hover, dropped]);
  return () => {
    a();
    b();
  };
}

// ---------- file dialogs (opened by Rust) and clipboard ----------

/**
 * Asks Rust to open the native dialog for `purpose`; resolves to a single-use token for the file the owner chose
 * (with its name, to show) or null when they cancelled. The commands that read or write files take only these.
 */
export const chooseFile = (purpose: FilePurpose, suggestedName: string | null = null) =>
  call("file_choose", { purpose, suggestedName });

export const pickRequestFile = () => chooseFile("request_file");
export const pickImportFile = () => chooseFile("vault_import");
export const pickSavePath = (purpose: "grant_file" | "vault_export" | "receipts", suggestedName: string) =>
  chooseFile(purpose, suggestedName);

export async function copyText(text: string): Promise<void> {
  try {
    await writeText(text);
  } catch (e) {
    throw toLocketError(e);
  }
}
