/**
 * Provider `rfc2136`: any authoritative server that takes RFC 2136 dynamic updates signed with
 * TSIG (RFC 8945): BIND, Knot, PowerDNS. Reads with a signed AXFR (or per-name queries), writes
 * one UPDATE per zone with prerequisites, then reads back what it wrote. Without a `zones` list it
 * finds each domain's zone by asking the server for the domain's SOA (discovery.ts).
 */
import {
  canonical,
  findZone,
  ProviderError,
  errorMessage,
  type Capabilities,
  type Change,
  type Provider,
  type RecordSet,
} from "../../src/provider-kit.js";
import type { ProviderFactory } from "../types.js";
import { DnsClient, DnsTransportError, type DnsResponse, type ReceivedRecord } from "./api.js";
import { RdataMemory, changesToUpdate, toRecordSets } from "./convert.js";
import { parentName, readSoaAnswer } from "./discovery.js";
import { TSIG_ERRORS, TsigError, type TsigKey } from "./tsig.js";
import { CLASS_NONE, RCODES, TYPES, type WireRecord } from "./wire.js";

import { readRfc2136Options, type Rfc2136Options } from "./options.js";

export { readRfc2136Options, type Rfc2136Options } from "./options.js";

/**
 * The types asked for in `transfer: query` mode. ANY is not used: RFC 8482 lets servers answer it
 * with one arbitrary RRset. These cover the selector CNAME and what commonly blocks it.
 */
export const QUERY_TYPES = ["CNAME", "TXT", "A", "AAAA", "MX", "NS", "SRV", "PTR"] as const;

export const createRfc2136Provider: ProviderFactory = (reader) => {
  const options = readRfc2136Options(reader);
  return new Rfc2136Provider(reader.src.provider, options);
};

export class Rfc2136Provider implements Provider {
  readonly type = "rfc2136";
  readonly capabilities: Capabilities;
  readonly client: DnsClient;
  private readonly memory = new RdataMemory();

  constructor(
    readonly name: string,
    readonly options: Rfc2136Options,
  ) {
    this.client = new DnsClient({
      host: options.server.host,
      port: options.server.port,
      key: options.tsig,
      timeoutMs: options.timeoutMs,
    });
    this.capabilities = {
      atomicWrites: { can: true, source: "RFC 2136 3.7: an UPDATE is applied entirely or not at all" },
      readsOnlyNames:
        options.transfer === "query"
          ? { can: true, source: "transfer: query asks for each managed name and type" }
          : {
              can: false,
              reason: "transfer: axfr reads the whole zone, then keeps the managed names",
              source: "RFC 5936",
            },
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
      // A TSIG error, or PowerDNS's unsigned NOTAUTH to a signed query (its answer to a wrong
      // secret, key name or algorithm, observed on 4.7.3), is about the key, not the zone.
      if (response.tsigError === 18) await this.expectOk(undefined, what, response, { op: "query" });
      const verdict = keyVerdict(response, this.options.tsig);
      if (verdict) throw this.keyError(undefined, what, response, verdict, undefined);
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
            {
              hint: `configure an rfc2136 (or other) provider for zone ${outcome.zone}, or remove the delegation if the zone should live on ${server}`,
            },
          );
        case "unexpected": {
          const rcode = RCODES[response.rcode] ?? `RCODE ${response.rcode}`;
          throw new ProviderError(
            this.name,
            `cannot tell the zone of ${wanted} from the answer to ${what} (${rcode}): ${outcome.reason}`,
            {
              // SERVFAIL: the zone may be loading or broken on the server; worth another try.
              transient: response.rcode === 2,
              hint: `point server at the zone's primary (an authoritative server), or list the zones with zones: [...]`,
            },
          );
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
      await this.expectOk(z, "zone transfer", response, { op: "transfer" });
      received.push(...records);
    } else {
      // Every type dkimsync knows, and ANY over TCP for the rest (a HINFO at a selector name
      // blocks the CNAME as much as a TXT does). BIND 9.18, Knot 3.2.6 and PowerDNS 4.7.3 answer
      // ANY over TCP with every RRset at the name (observed); a server that answers it minimally
      // (RFC 8482) is still caught at apply by the "name is not in use" prerequisite.
      const asks = [...wanted].flatMap((n) => [...QUERY_TYPES, "ANY"].map((t) => ({ n, t })));
      const answers = await Promise.all(
        asks.map(({ n, t }) => this.call(z, `query ${t} ${n}`, () => this.client.query(n, t, { tcp: t === "ANY" }))),
      );
      for (const [i, { response, records }] of answers.entries()) {
        const ask = asks[i] as { n: string; t: string };
        // NXDOMAIN: nothing at the name. An answer may also carry the CNAME chain: keep only
        // the records at the name asked for (of the type asked for, unless ANY).
        if (response.rcode === 3) continue;
        await this.expectOk(z, `query ${ask.t} ${ask.n}`, response, { op: "query" });
        received.push(...records.filter(({ record }) => record.name === ask.n));
      }
    }
    return toRecordSets(received, wanted, this.memory);
  }

  async apply(zone: string, changes: readonly Change[]): Promise<void> {
    if (changes.length === 0) return;
    const z = canonical(zone);
    const { prerequisites, updates } = changesToUpdate(changes, this.memory);
    const response = await this.call(z, "update", () => this.client.update(z, prerequisites, updates));
    await this.expectOk(z, "update", response, { op: "update", changes, prerequisites });
    await this.checkTook(z, changes);
  }

  /**
   * Re-read after NOERROR: BIND and Knot answer NOERROR but silently ignore a CNAME added next to
   * other data (RFC 2136 3.4.2.2, observed on BIND 9.18 and Knot 3.2.6), so NOERROR alone does
   * not prove the write.
   */
  private async checkTook(zone: string, changes: readonly Change[]): Promise<void> {
    const names = [...new Set(changes.map((c) => canonical(c.name)))];
    const now = await this.list(zone, names);
    const find = (name: string, type: string) =>
      now.find((s) => s.name === canonical(name) && s.type === type.toUpperCase());
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
      const same =
        got !== undefined &&
        got.length === want.length &&
        got.every((v, i) => v === want[i]) &&
        found?.ttl === after.ttl;
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
      throw new ProviderError(
        this.name,
        `the server answered NOERROR, but ${missed.length} change(s) did not take: ${missed.join("; ")}`,
        {
          zone,
          hint: cnameBlocked
            ? "a CNAME cannot share its name with other records (RFC 1034 3.6.2) and BIND and Knot ignore such an add without an error: remove the other records, or run apply --force to replace a conflicting TXT"
            : "run plan again to see the zone as it is now",
        },
      );
    }
  }

  private async call<T>(zone: string | undefined, what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof DnsTransportError) {
        throw new ProviderError(this.name, `${what} failed: ${err.message}`, {
          zone,
          cause: err,
          transient: true,
          hint: "check that the server is running and reachable, or raise timeout_ms",
        });
      }
      if (err instanceof TsigError) {
        throw new ProviderError(this.name, `${what}: the server's answer cannot be trusted: ${err.message}`, {
          zone,
          cause: err,
          hint:
            err.code === "BADTIME"
              ? "synchronise this machine's clock (TSIG allows 300 s of skew)"
              : "check that tsig.secret matches the key on the server",
        });
      }
      throw new ProviderError(this.name, `${what} failed: ${errorMessage(err)}`, { zone, cause: err });
    }
  }

  /**
   * Turn an answer that is not success into an error that says what the server answered
   * (RCODE, TSIG error, signed or not) and the causes that fit it. The three servers answer the
   * same refusal differently (observed on BIND 9.18.49, Knot 3.2.6 and PowerDNS 4.7.3):
   *
   * | refusal                               | BIND                 | Knot                   | PowerDNS               |
   * | wrong secret                          | NOTAUTH/BADSIG       | NOTAUTH/BADSIG         | update: REFUSED, AXFR/query: NOTAUTH, unsigned |
   * | unknown key name, or wrong algorithm  | NOTAUTH/BADKEY       | NOTAUTH/BADKEY         | as a wrong secret      |
   * | valid key the zone does not allow     | REFUSED, signed      | NOTAUTH/BADKEY (acl)   | update: REFUSED signed; AXFR: NOTAUTH unsigned |
   * | unsigned request the zone refuses     | REFUSED              | NOTAUTH                | REFUSED                |
   * | zone not served (signed request)      | NOTAUTH, signed      | NOTAUTH, unsigned      | update: NOTAUTH signed; AXFR: NOTAUTH unsigned |
   * | CNAME added next to other data        | NOERROR, CNAME dropped | NOERROR, CNAME dropped | REFUSED, signed      |
   *
   * Where the answer alone cannot tell (BADKEY from Knot, anything unsigned, REFUSED, NOTAUTH),
   * one more signed SOA query for the zone is sent (probe()): its answer says whether the server
   * accepts the key and serves the zone, which separates "key", "zone" and "permission". The
   * secret is blamed only when a server said BADSIG, or when PowerDNS rejected the key itself.
   */
  private async expectOk(
    zone: string | undefined,
    what: string,
    r: DnsResponse,
    ctx: { op: Operation; changes?: readonly Change[]; prerequisites?: readonly WireRecord[] },
  ): Promise<void> {
    if (r.rcode === 0 && r.tsigError === 0) return;
    const said = describeAnswer(r, this.options.tsig);
    const fail = (message: string, hint: string, transient = false): never => {
      throw new ProviderError(this.name, `${what} failed: ${message}`, {
        zone,
        hint,
        transient,
        operation: ctx.op,
        status: answerStatus(r),
      });
    };
    if (r.tsigError === 18) {
      const ahead = r.tsigServerTime ? Math.floor(Date.now() / 1000) - r.tsigServerTime : 0;
      const skew =
        ahead === 0
          ? ""
          : ` (this machine's clock is ${Math.abs(ahead)} s ${ahead > 0 ? "ahead of" : "behind"} the server's)`;
      fail(
        `the server rejected the signature time (${said}): clock skew${skew}`,
        "synchronise this machine's clock; TSIG allows 300 s",
      );
    }
    if (r.tsigError === 16) throw this.keyError(zone, what, r, "badsig", undefined);
    // REFUSED or NOTAUTH (BADKEY comes as NOTAUTH): a refusal whose cause the probe can tell.
    if ((r.rcode === 5 || r.rcode === 9) && zone !== undefined) await this.explainRefusal(zone, what, r, ctx);

    const changed = "the records changed since they were read: run plan again";
    switch (r.rcode) {
      case 6:
        if (ctx.op === "update" && zone !== undefined)
          await this.explainNameInUse(zone, what, r, ctx.prerequisites ?? []);
        fail(`${changed} (${said})`, "dkimsync plan shows the zone as it is now");
        break;
      case 7:
      case 8:
      case 3:
        if (ctx.op === "update") fail(`${changed} (${said})`, "dkimsync plan shows the zone as it is now");
        break;
      case 10:
        fail(`a name is not in zone ${zone} (${said})`, "check which zone the domain belongs to (zones:)");
        break;
      case 1:
        fail(
          `the server could not parse the request (${said})`,
          "this is a dkimsync bug: report it with DKIMSYNC_DEBUG=1 output",
        );
        break;
      case 2:
        fail(`the server failed (${said})`, "try again; check the server's log", true);
        break;
      case 4:
        fail(
          `the server does not implement this (${said})`,
          "the server must accept RFC 2136 dynamic updates (PowerDNS: dnsupdate=yes)",
        );
        break;
    }
    fail(`the server answered ${said}`, "check the server's log");
  }

  /** The error for a key the server did not accept, with each server's setting for keys. */
  private keyError(
    zone: string | undefined,
    what: string,
    r: DnsResponse,
    verdict: "badsig" | "badkey" | "rejected",
    probe: Probe | undefined,
  ): ProviderError {
    const key = this.options.tsig as TsigKey;
    const seen = probe ? `; a signed SOA query for ${zone} then got ${probe.said}` : "";
    const message =
      verdict === "badsig"
        ? `the server answered ${describeAnswer(r, key)}${seen}: it knows key "${key.name}" but the signature did not verify, so tsig.secret is not that key's secret on the server`
        : verdict === "badkey"
          ? `the server answered ${describeAnswer(r, key)}${seen}: it does not know key "${key.name}" with algorithm ${key.algorithm}`
          : `the server answered ${describeAnswer(r, key)}${seen}: it did not accept key "${key.name}"; PowerDNS answers a wrong secret, an unknown key name and a wrong algorithm alike, unsigned, so one of tsig.name, tsig.algorithm, tsig.secret differs from the server's key`;
    const hint =
      verdict === "badsig"
        ? "set tsig.secret to the secret of this key on the server (the key file tsig-keygen or keymgr wrote; PowerDNS: pdnsutil list-tsig-keys)"
        : keySettings(key);
    return new ProviderError(this.name, `${what} failed: ${message}`, {
      zone,
      hint,
      operation: what,
      status: answerStatus(r),
    });
  }

  /** A refusal (REFUSED, NOTAUTH, BADKEY, unsigned): probe, then throw the error that fits. */
  private async explainRefusal(
    zone: string,
    what: string,
    r: DnsResponse,
    ctx: { op: Operation; changes?: readonly Change[] },
  ): Promise<never> {
    const key = this.options.tsig;
    const said = describeAnswer(r, key);
    const p = await this.probe(zone);
    const fail = (message: string, hint: string): never => {
      throw new ProviderError(this.name, `${what} failed: ${message}`, {
        zone,
        hint,
        operation: ctx.op,
        status: answerStatus(r),
      });
    };
    if (p.key === "badsig" || p.key === "badkey" || p.key === "rejected") throw this.keyError(zone, what, r, p.key, p);
    if (p.zone === "not-served") {
      fail(
        `the server answered ${said}, and ${p.said} to an SOA query for ${zone}: it does not serve zone ${zone}, so no zone at provider "${this.name}" contains ${zone}${p.note ? ` (${p.note})` : ""}`,
        `point server at the primary of ${zone}, create the zone on that server, or correct zones: in dkim.zones.yaml`,
      );
    }
    if (p.zone === "served" && p.key !== "unknown") {
      const op = ctx.op === "transfer" ? "transfer" : ctx.op === "update" ? "update" : "query";
      if (ctx.op === "update" && r.rcode === 5 && ctx.changes) {
        const blocked = await this.cnameBlockers(zone, ctx.changes);
        if (blocked.length > 0) {
          fail(
            `the server answered ${said}: ${blocked.join("; ")}; a CNAME cannot share its name with other data (RFC 1034 3.6.2), and PowerDNS refuses the whole update for it, so nothing was written`,
            "remove the other records at that name, or run plan again and apply --force to replace a conflicting record",
          );
        }
      }
      if (!key) {
        return fail(
          `the server answered ${said}: the request was not signed, and the server takes no unsigned ${op} for zone ${zone}`,
          `configure tsig: { name, algorithm, secret: env/NAME } for this provider, and allow that key: ${permissionSettings(op, "KEY", zone)}`,
        );
      }
      const knot = r.tsigError === 17 ? " (Knot answers a key its acl does not allow with BADKEY)" : "";
      fail(
        `the server answered ${said}, though it serves zone ${zone} and accepts key "${key.name}" (a signed SOA query verified): the key may not ${op === "query" ? "query" : op} the zone${knot}`,
        `${permissionSettings(op, key.name, zone)}${op === "transfer" ? "; or set transfer: query" : ""}`,
      );
    }
    // The probe could not tell either: say so, and list every cause that fits the answer.
    const op = ctx.op === "transfer" ? "transfer" : ctx.op === "update" ? "update" : "query";
    const causes = [
      `the server does not serve zone ${zone}`,
      ...(key
        ? [`it does not know key "${key.name}" (name, algorithm ${key.algorithm}, or secret differ)`]
        : ["it takes no unsigned requests"]),
      `the key may not ${op} the zone`,
    ];
    return fail(
      `the server answered ${said}, and ${p.said} to an SOA query for ${zone}, which does not tell why; it may be that ${causes.join(", or ")}`,
      `check server and zones:, then ${key ? keySettings(key) : "configure tsig:"}; ${permissionSettings(op, key?.name ?? "KEY", zone)}`,
    );
  }

  /**
   * A signed SOA query for the zone (UDP, time-limited like every request): whether the server
   * accepts the key and serves the zone. See expectOk for how each server answers.
   */
  private async probe(zone: string): Promise<Probe> {
    let r: DnsResponse;
    try {
      r = (await this.client.query(zone, "SOA")).response;
    } catch (err) {
      return { key: "unknown", zone: "unknown", said: `no usable answer (${errorMessage(err)})` };
    }
    const said = describeAnswer(r, this.options.tsig);
    const verdict = keyVerdict(r, this.options.tsig);
    if (verdict) return { key: verdict, zone: "unknown", said };
    const key = !this.options.tsig ? "none" : r.signed ? "ok" : "unknown";
    if (r.tsigError !== 0) return { key: "unknown", zone: "unknown", said };
    // REFUSED: no zone here (BIND, PowerDNS signed; Knot unsigned, observed).
    if (r.rcode === 5 || r.rcode === 9)
      return {
        key,
        zone: "not-served",
        said,
        note:
          r.signed || !this.options.tsig
            ? undefined
            : "that answer is unsigned: Knot does not sign a refusal for a zone it does not serve",
      };
    const outcome = readSoaAnswer(zone, r.message, r.parsed);
    if (outcome.kind === "zone") {
      if (outcome.zone === zone) return { key, zone: "served", said };
      return { key, zone: "not-served", said, note: `the name lies in zone ${outcome.zone} on this server` };
    }
    if (outcome.kind === "referral")
      return {
        key,
        zone: "not-served",
        said,
        note: `it is delegated to ${outcome.servers.join(", ") || "other servers"}`,
      };
    return { key, zone: "unknown", said };
  }

  /** For a refused update: the names where a CNAME is added next to other data (ANY over TCP). */
  private async cnameBlockers(zone: string, changes: readonly Change[]): Promise<string[]> {
    const adds = changes
      .filter((c) => c.action !== "delete" && c.type.toUpperCase() === "CNAME")
      .map((c) => canonical(c.name));
    const deleted = new Set(
      changes.filter((c) => c.action === "delete").map((c) => `${canonical(c.name)}|${c.type.toUpperCase()}`),
    );
    const out: string[] = [];
    for (const name of adds) {
      const others = (await this.typesAt(zone, name)).filter((t) => t !== "CNAME" && !deleted.has(`${name}|${t}`));
      if (others.length > 0) out.push(`${name} holds ${others.join(", ")}`);
    }
    return out;
  }

  /** The types at a name, from a signed ANY query over TCP; empty when that fails. */
  private async typesAt(zone: string, name: string): Promise<string[]> {
    try {
      const { response, records } = await this.client.query(name, "ANY", { tcp: true });
      if (response.rcode !== 0) return [];
      return toRecordSets(records, new Set([name])).map((s) => s.type);
    } catch {
      return [];
    }
  }

  /**
   * YXDOMAIN to an update: a "name is not in use" prerequisite failed (convert.ts adds it to
   * creates): the name holds data the plan did not show. Say which, from an ANY query.
   */
  private async explainNameInUse(
    zone: string,
    what: string,
    r: DnsResponse,
    prerequisites: readonly WireRecord[],
  ): Promise<void> {
    const names = [
      ...new Set(
        prerequisites.filter((p) => p.type === (TYPES.ANY as number) && p.class === CLASS_NONE).map((p) => p.name),
      ),
    ];
    if (names.length === 0) return;
    const found: string[] = [];
    for (const name of names) {
      const types = await this.typesAt(zone, name);
      if (types.length > 0) found.push(`${name} holds ${types.join(", ")}`);
    }
    const which = found.length > 0 ? found.join("; ") : `one of ${names.join(", ")} holds data`;
    const why =
      this.options.transfer === "query"
        ? `, of a type the per-name queries of transfer: query did not return, or written since the plan`
        : ", written since the plan read the zone";
    throw new ProviderError(
      this.name,
      `${what} failed: the server answered ${describeAnswer(r, this.options.tsig)}: ${which}${why}; a selector CNAME cannot share its name (RFC 1034 3.6.2), so nothing was written`,
      {
        zone,
        operation: "update",
        status: answerStatus(r),
        hint: "run plan again: the records show as a conflict; remove them, or apply --force to replace them with the CNAME",
      },
    );
  }
}

type Operation = "update" | "transfer" | "query";

/** The answer's error as its RFC name: the TSIG error (RFC 8945 5.3) when set, else the RCODE (RFC 1035 4.1.1, RFC 2136 2.2). */
function answerStatus(r: DnsResponse): string {
  return r.tsigError !== 0
    ? (TSIG_ERRORS[r.tsigError] ?? `TSIG error ${r.tsigError}`)
    : (RCODES[r.rcode] ?? `RCODE ${r.rcode}`);
}

interface Probe {
  /** ok: the answer was signed and verified; none: no key configured; else what the server said of the key. */
  key: "ok" | "none" | "badsig" | "badkey" | "rejected" | "unknown";
  zone: "served" | "not-served" | "unknown";
  /** What the server answered, e.g. `REFUSED, unsigned`. */
  said: string;
  note?: string;
}

/** `NOTAUTH/BADKEY, unsigned`: the RCODE, the TSIG error if any, and whether it was signed. */
function describeAnswer(r: DnsResponse, key: TsigKey | undefined): string {
  const rcode = RCODES[r.rcode] ?? `RCODE ${r.rcode}`;
  const tsig = r.tsigError !== 0 ? `/${TSIG_ERRORS[r.tsigError] ?? `TSIG error ${r.tsigError}`}` : "";
  return key ? `${rcode}${tsig}, ${r.signed ? "signed" : "unsigned"}` : `${rcode}${tsig}`;
}

/**
 * What an answer says about the key by itself: BADSIG, BADKEY, or (PowerDNS 4.7.3, observed) an
 * unsigned NOTAUTH to a signed query, its answer to a wrong secret, key name and algorithm alike.
 * Knot also answers BADKEY for a known key its acl does not allow for updates and transfers, but
 * it answers queries with any known key, so on a query BADKEY means an unknown key.
 */
function keyVerdict(r: DnsResponse, key: TsigKey | undefined): "badsig" | "badkey" | "rejected" | undefined {
  if (!key) return undefined;
  if (r.tsigError === 16) return "badsig";
  if (r.tsigError === 17) return "badkey";
  if (!r.signed && r.rcode === 9 && r.tsigError === 0) return "rejected";
  return undefined;
}

/** Where each server defines a key. */
function keySettings(key: TsigKey): string {
  return (
    `tsig.name and tsig.algorithm must match a key on the server: BIND key "${key.name}" { algorithm ${key.algorithm}; secret "..."; }; ` +
    `Knot key: - id: ${key.name}, algorithm: ${key.algorithm}; PowerDNS pdnsutil import-tsig-key ${key.name} ${key.algorithm} SECRET (pdnsutil list-tsig-keys)`
  );
}

/** Where each server grants a key an operation on a zone. */
function permissionSettings(op: Operation, keyName: string, zone: string): string {
  switch (op) {
    case "update":
      return (
        `BIND: allow-update { key "${keyName}"; }; or update-policy { grant ${keyName} name selector1._domainkey.DOMAIN. CNAME TXT; ... }; in zone "${zone}"; ` +
        `Knot: an acl with key: ${keyName} and action: update in the zone's acl list (update-owner/update-type must cover the selector names, CNAME and TXT); ` +
        `PowerDNS: pdnsutil set-meta ${zone} TSIG-ALLOW-DNSUPDATE ${keyName}, and this machine's address in allow-dnsupdate-from (or the zone's ALLOW-DNSUPDATE-FROM)`
      );
    case "transfer":
      return (
        `BIND: allow-transfer { key "${keyName}"; }; in zone "${zone}"; Knot: an acl with key: ${keyName} and action: transfer in the zone's acl list; ` +
        `PowerDNS: pdnsutil set-meta ${zone} TSIG-ALLOW-AXFR ${keyName} (or this machine's address in allow-axfr-ips)`
      );
    default:
      return `BIND: allow-query; Knot: an acl with key: ${keyName} and action: query; PowerDNS answers queries from anyone`;
  }
}
