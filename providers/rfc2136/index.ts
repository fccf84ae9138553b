/**
 * Provider `rfc2136`: any authoritative server that takes RFC 2136 dynamic updates signed with
 * TSIG (RFC 8945): BIND, Knot, PowerDNS. Reads with a signed AXFR (or per-name queries), writes
 * one UPDATE per zone with prerequisites, then reads back what it wrote. Without a `zones` list it
 * finds each domain's zone by asking the server for the domain's SOA (discovery.ts).
 */
import { canonical, findZone } from "../../src/core/names.js";
import { ProviderError, errorMessage } from "../../src/core/errors.js";
import type { OptionsReader } from "../../src/config/options.js";
import type { Capabilities, Change, Provider, RecordSet } from "../../src/core/types.js";
import type { ProviderFactory } from "../types.js";
import { DnsClient, DnsTransportError, type DnsResponse, type ReceivedRecord } from "./api.js";
import { RdataMemory, changesToUpdate, toRecordSets, validKeyName } from "./convert.js";
import { parentName, readSoaAnswer } from "./discovery.js";
import { TSIG_ALGORITHMS, TSIG_ERRORS, TsigError, decodeSecret, type TsigKey } from "./tsig.js";
import { RCODES } from "./wire.js";

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

/**
 * The types asked for in `transfer: query` mode. ANY is not used: RFC 8482 lets servers answer it
 * with one arbitrary RRset. These cover the selector CNAME and what commonly blocks it.
 */
export const QUERY_TYPES = ["CNAME", "TXT", "A", "AAAA", "MX", "NS", "SRV", "PTR"] as const;

export function readRfc2136Options(o: OptionsReader): Rfc2136Options {
  const server = parseServer(o.string("server", { required: true }));
  if (!server) o.fail("server", "must be host or host:port (IPv6 as [addr]:port)", "for example server: 127.0.0.1:53");
  const zoneList = o.stringList("zones")?.map(canonical);
  let tsig: TsigKey | undefined;
  const t = o.object("tsig");
  if (t) {
    const name = canonical(t.string("name", { required: true }));
    if (!validKeyName(name)) t.fail("name", `"${name}" is not a valid key name`);
    const algorithm = t.oneOf("algorithm", TSIG_ALGORITHMS, { default: "hmac-sha256" });
    const secret =
      decodeSecret(t.secret("secret", { required: true })) ??
      t.fail("secret", "is not base64", "use the secret from the key file that `tsig-keygen -a hmac-sha256 NAME` printed");
    t.done();
    tsig = { name, algorithm, secret };
  }
  const transfer = o.oneOf("transfer", ["axfr", "query"] as const, { default: "axfr" });
  const timeoutMs = o.number("timeout_ms", { default: 5000, min: 100, max: 120_000, integer: true });
  o.done();
  return { server, zones: zoneList, tsig, transfer, timeoutMs };
}

function parseServer(text: string): { host: string; port: number } | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text.trim()) ?? /^([^:\s]+)(?::(\d+))?$/.exec(text.trim());
  if (!m) return undefined;
  const port = m[2] === undefined ? 53 : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host: m[1] as string, port };
}

export const createRfc2136Provider: ProviderFactory = (reader) => {
  const options = readRfc2136Options(reader);
  return new Rfc2136Provider(reader.src.provider, options);
};

export class Rfc2136Provider implements Provider {
  readonly type = "rfc2136";
  readonly capabilities: Capabilities;
  private readonly client: DnsClient;
  private readonly memory = new RdataMemory();

  constructor(readonly name: string, readonly options: Rfc2136Options) {
    this.client = new DnsClient({ host: options.server.host, port: options.server.port, key: options.tsig, timeoutMs: options.timeoutMs });
    this.capabilities = {
      atomicWrites: { can: true, source: "RFC 2136 3.7: an UPDATE is applied entirely or not at all" },
      readsOnlyNames:
        options.transfer === "query"
          ? { can: true, source: "transfer: query asks for each managed name and type" }
          : { can: false, reason: "transfer: axfr reads the whole zone, then keeps the managed names", source: "RFC 5936" },
    };
  }

  /**
   * Only the configured list: DNS cannot list a server's zones. The planner asks zoneOf instead,
   * which works with or without the list.
   */
  async zones(): Promise<string[]> {
    if (!this.options.zones) {
      throw new ProviderError(this.name, "no zones are configured; DNS cannot list the zones a server serves", {
        hint: `add zones: [example.com, ...] to provider "${this.name}" in dkim.zones.yaml`,
      });
    }
    return [...this.options.zones].sort();
  }

  /**
   * The zone that holds `name`. With `zones` configured it is the longest listed zone containing
   * the name, as before, and nothing is sent. Otherwise the server is asked for the SOA of the
   * name (signed and verified like every other request): see readSoaAnswer for how each answer
   * is read. A name that owns a CNAME is asked about through its parent.
   *
   * A referral is an error rather than "no zone here": the server does serve the parent zone, but
   * the domain's records belong in a child zone on other servers, and writing them below the cut
   * would only create data no resolver ever sees (RFC 1034 4.2.1). The user needs to hear which
   * zone and servers to configure instead, which "no zone contains it" would not say.
   */
  async zoneOf(name: string): Promise<string | undefined> {
    const wanted = canonical(name);
    if (this.options.zones) return findZone(wanted, this.options.zones);
    const server = `${this.options.server.host}:${this.options.server.port}`;
    for (let asked: string | undefined = wanted; asked !== undefined; asked = parentName(asked)) {
      const q: string = asked;
      const what = `SOA query for ${q}`;
      const { response } = await this.call(undefined, what, () => this.client.query(q, "SOA"));
      if (response.tsigError !== 0) this.expectOk(undefined, what, response);
      const outcome = readSoaAnswer(q, response.message, response.parsed);
      switch (outcome.kind) {
        case "zone":
          return outcome.zone;
        case "none":
          return undefined;
        case "alias":
          continue;
        case "referral":
          throw new ProviderError(
            this.name,
            `${wanted} is delegated away from ${server}: zone ${outcome.zone} is served by ${outcome.servers.join(", ") || "other name servers"}; publish the domain with a provider for that zone's primary server`,
            { hint: `configure an rfc2136 (or other) provider for zone ${outcome.zone}, or remove the delegation if the zone should live on ${server}` },
          );
        case "unexpected": {
          const rcode = RCODES[response.rcode] ?? `RCODE ${response.rcode}`;
          throw new ProviderError(this.name, `cannot tell the zone of ${wanted} from the answer to ${what} (${rcode}): ${outcome.reason}`, {
            // SERVFAIL: the zone may be loading or broken on the server; worth another try.
            transient: response.rcode === 2,
            hint: `point server at the zone's primary (an authoritative server), or list the zones with zones: [...]`,
          });
        }
      }
    }
    return undefined;
  }

  async list(zone: string, names: readonly string[]): Promise<RecordSet[]> {
    const z = canonical(zone);
    const wanted = new Set(names.map(canonical));
    const received: ReceivedRecord[] = [];
    if (this.options.transfer === "axfr") {
      const { response, records } = await this.call(z, "zone transfer", () => this.client.axfr(z));
      this.expectOk(z, "zone transfer", response);
      received.push(...records);
    } else {
      const asks = [...wanted].flatMap((n) => QUERY_TYPES.map((t) => ({ n, t })));
      const answers = await Promise.all(asks.map(({ n, t }) => this.call(z, `query ${t} ${n}`, () => this.client.query(n, t))));
      answers.forEach(({ response, records }, i) => {
        const ask = asks[i] as { n: string; t: string };
        // NXDOMAIN: nothing at the name. An answer may also carry the CNAME chain: keep only
        // the records of the type asked for, at the name asked for.
        if (response.rcode === 3) return;
        this.expectOk(z, `query ${ask.t} ${ask.n}`, response);
        received.push(...records.filter(({ record }) => record.name === ask.n));
      });
    }
    return toRecordSets(received, wanted, this.memory);
  }

  async apply(zone: string, changes: readonly Change[]): Promise<void> {
    if (changes.length === 0) return;
    const z = canonical(zone);
    const { prerequisites, updates } = changesToUpdate(changes, this.memory);
    const response = await this.call(z, "update", () => this.client.update(z, prerequisites, updates));
    this.expectOk(z, "update", response);
    await this.checkTook(z, changes);
  }

  /**
   * Re-read after NOERROR: BIND answers NOERROR but silently ignores a CNAME added next to other
   * data (RFC 2136 3.4.2.2, observed on BIND 9.18), so NOERROR alone does not prove the write.
   */
  private async checkTook(zone: string, changes: readonly Change[]): Promise<void> {
    const names = [...new Set(changes.map((c) => canonical(c.name)))];
    const now = await this.list(zone, names);
    const find = (name: string, type: string) => now.find((s) => s.name === canonical(name) && s.type === type.toUpperCase());
    const missed: string[] = [];
    let cnameBlocked = false;
    for (const c of changes) {
      const found = find(c.name, c.type);
      if (c.action === "delete") {
        if (found) missed.push(`${c.type} ${c.name} is still there (${found.values.join(", ")})`);
        continue;
      }
      const after = c.after as RecordSet;
      // Names compare canonically; TXT data is case-sensitive.
      const norm = (v: string) => (c.type.toUpperCase() === "CNAME" ? canonical(v) : v);
      const want = after.values.map(norm).sort();
      const got = found?.values.map(norm).sort();
      const same = got !== undefined && got.length === want.length && got.every((v, i) => v === want[i]) && found?.ttl === after.ttl;
      if (!same) {
        const others = now.filter((s) => s.name === canonical(c.name) && s.type !== c.type.toUpperCase());
        if (c.type.toUpperCase() === "CNAME" && others.length > 0) cnameBlocked = true;
        missed.push(
          `${c.type} ${c.name}: expected ${want.join(", ")} (ttl ${after.ttl}), found ${found ? `${found.values.join(", ")} (ttl ${found.ttl})` : "nothing"}` +
            (others.length > 0 ? `; the name also holds ${others.map((s) => s.type).join(", ")}` : ""),
        );
      }
    }
    if (missed.length > 0) {
      throw new ProviderError(this.name, `the server answered NOERROR, but ${missed.length} change(s) did not take: ${missed.join("; ")}`, {
        zone,
        hint: cnameBlocked
          ? "a CNAME cannot share its name with other records (RFC 1034 3.6.2) and BIND ignores such an add without an error: remove the other records, or run apply --force to replace a conflicting TXT"
          : "run plan again to see the zone as it is now",
      });
    }
  }

  private async call<T>(zone: string | undefined, what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof DnsTransportError) {
        throw new ProviderError(this.name, `${what} failed: ${err.message}`, {
          zone, cause: err, transient: true, hint: "check that the server is running and reachable, or raise timeout_ms",
        });
      }
      if (err instanceof TsigError) {
        throw new ProviderError(this.name, `${what}: the server's answer cannot be trusted: ${err.message}`, {
          zone, cause: err,
          hint: err.code === "BADTIME" ? "synchronise this machine's clock (TSIG allows 300 s of skew)" : "check that tsig.secret matches the key on the server",
        });
      }
      throw new ProviderError(this.name, `${what} failed: ${errorMessage(err)}`, { zone, cause: err });
    }
  }

  private expectOk(zone: string | undefined, what: string, r: DnsResponse): void {
    if (r.rcode === 0 && r.tsigError === 0) return;
    const key = this.options.tsig;
    const rcode = RCODES[r.rcode] ?? `RCODE ${r.rcode}`;
    const fail = (message: string, hint: string, transient = false): never => {
      throw new ProviderError(this.name, `${what} failed: ${message}`, { zone, hint, transient });
    };
    // RFC 8945 5.2: TSIG failures come back as NOTAUTH with the reason in the TSIG error field.
    if (r.tsigError !== 0) {
      const tsig = TSIG_ERRORS[r.tsigError] ?? `TSIG error ${r.tsigError}`;
      if (r.tsigError === 16) fail(`the server rejected the signature of key "${key?.name}" (${rcode}/BADSIG): the secret is wrong`, "set tsig.secret to the secret of this key on the server (the key file tsig-keygen wrote)");
      if (r.tsigError === 17) fail(`the server does not know key "${key?.name}" with algorithm ${key?.algorithm} (${rcode}/BADKEY)`, "tsig.name and tsig.algorithm must match a key statement in the server's configuration");
      if (r.tsigError === 18) {
        const ahead = r.tsigServerTime ? Math.floor(Date.now() / 1000) - r.tsigServerTime : 0;
        const skew = ahead === 0 ? "" : ` (this machine's clock is ${Math.abs(ahead)} s ${ahead > 0 ? "ahead of" : "behind"} the server's)`;
        fail(`the server rejected the signature time (${rcode}/BADTIME): clock skew${skew}`, "synchronise this machine's clock; TSIG allows 300 s");
      }
      fail(`${rcode}/${tsig}`, "check the tsig options against the server's key");
    }
    const changed = "the records changed since they were read: run plan again";
    switch (r.rcode) {
      case 5: {
        const grant = key ? `allow-update { key "${key.name}"; };` : "a TSIG key (tsig: in dkim.zones.yaml)";
        if (what === "zone transfer") {
          fail("the server refused the zone transfer (REFUSED)", key ? `allow it for the key in the zone's configuration: allow-transfer { key "${key.name}"; }; or set transfer: query` : "configure tsig, or set transfer: query");
        }
        fail(
          key ? `the server refused it (REFUSED): key "${key.name}" may not ${what === "update" ? "update" : "read"} zone ${zone}` : "the server refused it (REFUSED): the request was not signed",
          key ? `in the zone's configuration in named.conf: ${grant} (or an update-policy grant for the selector names)` : "configure tsig: { name, algorithm, secret: env/NAME } for this provider",
        );
        break;
      }
      case 6:
      case 7:
      case 8:
      case 3:
        if (what === "update") fail(`${changed} (${rcode})`, "dkimsync plan shows the zone as it is now");
        break;
      case 9:
        fail(`the server is not authoritative for zone ${zone} (NOTAUTH)`, "check server and zones: the server must be the zone's primary");
        break;
      case 10:
        fail(`a name is not in zone ${zone} (NOTZONE)`, "check which zone the domain belongs to (zones:)");
        break;
      case 1:
        fail("the server could not parse the request (FORMERR)", "this is a dkimsync bug: report it with DKIMSYNC_DEBUG=1 output");
        break;
      case 2:
        fail("the server failed (SERVFAIL)", "try again; check the server's log", true);
        break;
      case 4:
        fail(`the server does not implement this (NOTIMP)`, "the server must accept RFC 2136 dynamic updates");
        break;
    }
    fail(`the server answered ${rcode}`, "check the server's log");
  }
}
