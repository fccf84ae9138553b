/**
 * The `type: rfc2136` options block, read and checked through the OptionsReader (every problem with
 * file:line). Kept apart from the provider (index.ts) so that checking a config, which every run
 * and `validate` do for every provider block, loads no SDK: this module imports none.
 */
import { canonical, parseHostPort, type OptionsReader } from "../../src/provider-kit.js";
import { validKeyName } from "./convert.js";
import { TSIG_ALGORITHMS, decodeSecret, type TsigKey } from "./tsig.js";

/** Options of `type: rfc2136` in dkim.zones.yaml. */
export interface Rfc2136Options {
  /** `host` or `host:port` (`[v6]:port`); port 53 by default. */
  server: { host: string; port: number };
  /**
   * The zones to manage on this server. Optional: without it each domain's zone is found with an
   * SOA query to the server (zoneOf). With it, no query is sent and a domain outside the list is
   * not managed here.
   */
  zones?: string[];
  /** The TSIG key; without it every request is unsigned (servers normally refuse such updates). */
  tsig?: TsigKey;
  /** `axfr` (default): one signed zone transfer per zone; `query`: per-name queries. */
  transfer: "axfr" | "query";
  /** Per request, default 5000. */
  timeoutMs: number;
}

export function readRfc2136Options(o: OptionsReader): Rfc2136Options {
  const parsed = parseHostPort(o.string("server", { required: true }));
  if ("error" in parsed) o.fail("server", `${parsed.error}`, "for example server: 127.0.0.1:53");
  const server = parsed;
  const zoneList = o.stringList("zones")?.map(canonical);
  let tsig: TsigKey | undefined;
  const t = o.object("tsig");
  if (t) {
    const name = canonical(t.string("name", { required: true }));
    if (!validKeyName(name)) t.fail("name", `"${name}" is not a valid key name`);
    const algorithm = t.oneOf("algorithm", TSIG_ALGORITHMS, { default: "hmac-sha256" });
    const secret =
      decodeSecret(t.secret("secret", { required: true })) ??
      t.fail(
        "secret",
        "is not base64",
        "use the secret from the key file that `tsig-keygen -a hmac-sha256 NAME` printed",
      );
    t.done();
    tsig = { name, algorithm, secret };
  }
  const transfer = o.oneOf("transfer", ["axfr", "query"] as const, { default: "axfr" });
  const timeoutMs = o.number("timeout_ms", { default: 5000, min: 100, max: 120_000, integer: true });
  o.done();
  return { server, zones: zoneList, tsig, transfer, timeoutMs };
}
