/**
 * `@locket/retailer`: what a shop's server needs to connect with its customers' Locket over the web — publish
 * metadata, sign request objects (and show their link as a QR code), open and apply the releases Locket delivers,
 * read grant files and verify their tokens offline, redeem a token at a Locket on the same computer. See README.md and
 * docs/retailers.md in the Locket repository.
 *
 * @packageDocumentation
 */
export { generateShopKeys, publicJwks, publicJwk, jwkThumbprint, type ShopKeys } from "./keys.js";
export {
  shopMetadata,
  webOrigin,
  originOf,
  retailerIdOf,
  keySetProblems,
  LocketInputError,
  METADATA_FORMAT,
  WELL_KNOWN_PATH,
  MAX_METADATA_BYTES,
  type ShopDetails,
} from "./metadata.js";
export {
  signRequestObject,
  connectLink,
  randomState,
  REQUEST_OBJECT_TYP,
  MAX_LIFETIME_SECONDS,
  MAX_REQUEST_OBJECT_BYTES,
  type RequestObjectInput,
  type SignedRequestObject,
} from "./request.js";
export {
  openRelease,
  webhookHeaders,
  checkRelease,
  ReleaseError,
  RELEASE_FORMAT,
  RELEASE_TYP,
  RELEASE_CONTENT_TYPE,
  MAX_RELEASE_BYTES,
  TIMESTAMP_TOLERANCE_SECS,
  type ReleaseErrorCode,
  type HeaderBag,
  type WebhookHeaders,
  type OpenReleaseInput,
  type OpenedRelease,
} from "./release.js";
export { keyIdOf, jwkOfPaserk } from "./paserk.js";
export type * from "./types.js";
export {
  ReleaseReceiver,
  MemoryStore,
  type ReleaseStore,
  type GrantRecord,
  type GrantEnded,
  type HeldGrant,
  type ReleaseReceiverOptions,
  type ReceiverAnswer,
  type ReceiverCode,
} from "./receiver.js";
export { connectQrSvg, qrModules, type QrSvgOptions } from "./qr.js";
export {
  readGrantFile,
  verifyGrantToken,
  GrantFileError,
  GrantTokenError,
  GRANT_FORMAT,
  MAX_GRANT_FILE_BYTES,
  MAX_TOKEN_BYTES,
  type GrantTokenErrorCode,
  type VerifyGrantTokenOptions,
  type VerifiedGrantToken,
} from "./grant.js";
export {
  LocalLocket,
  LocketApiError,
  isLoopbackUrl,
  MAX_RESPONSE_BYTES,
  type LocalLocketOptions,
  type DataReply,
  type DisclosedValue,
  type Introspection,
} from "./local.js";
