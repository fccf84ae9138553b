/**
 * Everything a provider may use from dkimsync's core, and the only module providers import from
 * `src/`: the model they read and write, canonical names, errors, the option reader, and the few
 * helpers several providers share. The core never imports a provider; it reaches them through
 * the registry (providers/index.ts) and the Provider interface, and reads what differs between
 * them from their `capabilities`.
 */
export type { OptionsReader } from "./config/options.js";
export type {
  Capabilities,
  Capability,
  Change,
  Provider,
  RecordSet,
  TtlLimit,
  ZoneRead,
  ZoneReadSink,
} from "./core/types.js";
export { ProviderError, errorMessage, errorWithHint, redact } from "./core/errors.js";
export { canonical, findZone, fqdn, isInZone, relativeName } from "./core/names.js";
export { sortSmall } from "./core/diff.js";
export { formatCharacterStrings, parseCharacterStrings, type OctetEscape } from "./dns/txt.js";
export { DnsExchangeError, tcpExchange, udpExchange } from "./dns/transport.js";
export { parseHostPort, type HostPort } from "./dns/host-port.js";
export { pool } from "./util/pool.js";
export { exact, internType, ownString } from "./util/compact.js";
export { AdaptiveLimit, type LimitState, type Outcome } from "./util/adaptive-limit.js";
export { waitForChange } from "./util/wait.js";
export { applySplices, type Splice } from "./util/yaml-splice.js";
export {
  acquireLock,
  decodeYaml,
  FileChangedError,
  FileRefusedError,
  LockTimeoutError,
  MAX_YAML_BYTES,
  OpenFile,
  readAll,
  removeStaleFiles,
  removeStaleTemps,
  writeFileAtomic,
  type DecodedYaml,
  type FileLock,
} from "./util/fs.js";
