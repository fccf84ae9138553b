/**
 * Talking to an RFC 2136 server: UDP and TCP transport (RFC 1035 4.2, RFC 7766), signed UPDATE,
 * signed AXFR and signed queries. Knows nothing of dkimsync's plans; index.ts maps the answers to
 * ProviderErrors.
 */
import { randomInt } from "node:crypto";
import {
  AdaptiveLimit,
  DnsExchangeError,
  type Outcome,
  tcpExchange as sharedTcp,
  udpExchange as sharedUdp,
} from "../../src/provider-kit.js";
import { ResponseVerifier, TsigError, readTsig, signRequest, type TsigKey } from "./tsig.js";
import {
  TYPES,
  encodeQuery,
  encodeUpdate,
  parseMessage,
  type ParsedMessage,
  type ParsedRecord,
  type WireRecord,
} from "./wire.js";

/** A timeout or a refused connection: worth trying again later. */
/** The pause before try `attempt + 1` of a read: random, growing with each try. */
function backoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.random() * READ_BACKOFF_MS * 2 ** (attempt - 1)));
}

export class DnsTransportError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DnsTransportError";
  }
}

export interface DnsClientOptions {
  host: string;
  port: number;
  /** Sign every request and verify every response with this key; unsigned when absent. */
  key?: TsigKey;
  timeoutMs: number;
}

/** One answer: the message, parsed, and the TSIG error the server reported. */
export interface DnsResponse {
  message: Buffer;
  parsed: ParsedMessage;
  rcode: number;
  tsigError: number;
  tsigServerTime: number;
  /**
   * True when the answer carried a TSIG MAC that verified with the key. False for every answer
   * to an unsigned request, for BADSIG/BADKEY answers (unsigned by design, RFC 8945 5.3.2), and
   * for an unsigned error answer to a signed request: Knot 3.2 and PowerDNS 4.7 answer a zone
   * they do not serve, and PowerDNS every TSIG failure, with an unsigned REFUSED or NOTAUTH
   * (observed on Knot 3.2.6 and PowerDNS 4.7.3). Such an answer is never read as success; it is
   * kept so the error can say what the server said, marked as unverified.
   */
  signed: boolean;
}

/** A record together with the message it came in (names inside RDATA may point into it). */
export interface ReceivedRecord {
  message: Buffer;
  record: ParsedRecord;
}

/**
 * Reads (queries and zone transfers) are tried this often when the server answers SERVFAIL, does
 * not answer in time, or refuses or drops the connection: they change nothing, so another try is
 * safe. An UPDATE is sent once: after a timeout nobody can tell whether it was applied, and a
 * failed apply is run again by the user, reading the zone afresh.
 */
export const READ_ATTEMPTS = 3;
/** Backoff before read attempt n + 1: a random time up to 200 ms x 2^(n-1) (full jitter). */
export const READ_BACKOFF_MS = 200;
const SERVFAIL = 2;

export class DnsClient {
  /**
   * Concurrency per server, found by trying (limit.ts). Reads start at 4 and may grow to 32
   * (a `transfer: query` read sends nine queries per name); UPDATEs start at 1 and may grow to
   * 4, the most zones apply writes at once.
   */
  readonly reads = new AdaptiveLimit(4, 32);
  readonly writes = new AdaptiveLimit(1, 4);

  constructor(readonly options: DnsClientOptions) {}

  /** Send one UPDATE (RFC 2136) over TCP: an update with its prerequisites can exceed 512 octets. */
  async update(
    zone: string,
    prerequisites: readonly WireRecord[],
    updates: readonly WireRecord[],
  ): Promise<DnsResponse> {
    return this.limited(this.writes, 1, async () => {
      const id = randomInt(0, 0x10000);
      const { message, verifier } = this.sign(encodeUpdate({ id, zone, prerequisites, updates }));
      const [answer] = await tcpExchange(this.options, message, id, () => true);
      return this.check(answer as Buffer, verifier);
    });
  }

  /**
   * One exchange under `limit`, tried up to `attempts` times while the server shows overload
   * (SERVFAIL or a transport failure), with a growing random pause between tries. The last
   * SERVFAIL answer is returned for the caller to explain; the last transport failure is thrown,
   * saying how many tries were made.
   */
  private async limited<T extends { response: DnsResponse } | DnsResponse>(
    limit: AdaptiveLimit,
    attempts: number,
    run: () => Promise<T>,
  ): Promise<T> {
    const rcodeOf = (r: T | undefined) => {
      const a = r as { response?: DnsResponse; rcode?: number } | undefined;
      return a?.response?.rcode ?? a?.rcode;
    };
    // SERVFAIL and a failed transport are what an overloaded server shows.
    const judge = (o: { value?: T; error?: unknown; failed: boolean }): Outcome => {
      if (o.failed) return o.error instanceof DnsTransportError ? "overloaded" : "other";
      return rcodeOf(o.value) === SERVFAIL ? "overloaded" : "ok";
    };
    for (let attempt = 1; ; attempt++) {
      let result: T;
      try {
        result = await limit.use(run, judge);
      } catch (err) {
        if (!(err instanceof DnsTransportError)) throw err;
        if (attempt >= attempts) {
          if (attempts > 1) err.message += ` (${attempt} attempts)`;
          throw err;
        }
        await backoff(attempt);
        continue;
      }
      if (rcodeOf(result) !== SERVFAIL || attempt >= attempts) return result;
      await backoff(attempt);
    }
  }

  /**
   * A query for one name and type: UDP, and TCP when the answer is truncated (RFC 7766 5), or
   * TCP straight away with `tcp` (RFC 8482 4.1 lets a server answer ANY over UDP with one RRset;
   * Knot 3.2.6 was observed to do so, and to answer ANY over TCP in full).
   */
  async query(
    name: string,
    type: string,
    opts: { tcp?: boolean } = {},
  ): Promise<{ response: DnsResponse; records: ReceivedRecord[] }> {
    return this.limited(this.reads, READ_ATTEMPTS, () => this.queryOnce(name, type, opts));
  }

  private async queryOnce(
    name: string,
    type: string,
    opts: { tcp?: boolean },
  ): Promise<{ response: DnsResponse; records: ReceivedRecord[] }> {
    const id = randomInt(0, 0x10000);
    let signed = this.sign(encodeQuery({ id, name, type }));
    let raw = opts.tcp ? undefined : await udpExchange(this.options, signed.message, id);
    if (raw === undefined || raw.readUInt16BE(2) & 0x0200) {
      if (raw !== undefined) signed = this.sign(encodeQuery({ id, name, type }));
      [raw] = (await tcpExchange(this.options, signed.message, id, () => true)) as [Buffer];
    }
    const response = this.check(raw, signed.verifier);
    return { response, records: response.parsed.sections[0].map((record) => ({ message: response.message, record })) };
  }

  /**
   * Read the whole zone with AXFR over TCP (RFC 5936): the stream starts and ends with the SOA.
   * The closing SOA is dropped.
   */
  async axfr(zone: string): Promise<{ response: DnsResponse; records: ReceivedRecord[] }> {
    return this.limited(this.reads, READ_ATTEMPTS, () => this.axfrOnce(zone));
  }

  private async axfrOnce(zone: string): Promise<{ response: DnsResponse; records: ReceivedRecord[] }> {
    const id = randomInt(0, 0x10000);
    const signed = this.sign(encodeQuery({ id, name: zone, type: "AXFR" }));
    const records: ReceivedRecord[] = [];
    let soas = 0;
    let first: DnsResponse | undefined;
    let failed: DnsResponse | undefined;
    await tcpExchange(this.options, signed.message, id, (raw) => {
      const response = this.check(raw, signed.verifier);
      first ??= response;
      if (response.rcode !== 0 || response.tsigError !== 0) {
        // RFC 5936 2.2: an error in any message ends the transfer; what came before is no zone.
        failed = response;
        return true;
      }
      for (const record of response.parsed.sections[0]) {
        if (record.type === TYPES.SOA) soas++;
        if (soas < 2) records.push({ message: response.message, record });
      }
      return soas >= 2;
    });
    if (failed) return { response: failed, records: [] };
    if (signed.verifier && first && first.rcode === 0 && !signed.verifier.complete) {
      throw new DnsTransportError("the zone transfer did not end with a signed message (RFC 8945 5.3.1)");
    }
    return { response: first as DnsResponse, records };
  }

  private sign(message: Buffer): { message: Buffer; verifier?: ResponseVerifier } {
    if (!this.options.key) return { message };
    const signed = signRequest(message, this.options.key);
    return { message: signed.message, verifier: new ResponseVerifier(this.options.key, signed.mac) };
  }

  /**
   * Throws TsigError when a signed request got a badly signed answer, or an unsigned answer
   * that claims success (NOERROR). An unsigned error answer comes back with signed: false.
   */
  private check(message: Buffer, verifier: ResponseVerifier | undefined): DnsResponse {
    const parsed = parseMessage(message);
    if (!verifier) return { message, parsed, rcode: parsed.rcode, tsigError: 0, tsigServerTime: 0, signed: false };
    try {
      const { tsigError, serverTime } = verifier.verify(message);
      const unsignedByDesign = tsigError === 16 || tsigError === 17;
      return {
        message,
        parsed,
        rcode: parsed.rcode,
        tsigError,
        tsigServerTime: serverTime,
        signed: !unsignedByDesign && readTsig(message) !== undefined,
      };
    } catch (err) {
      if (
        err instanceof TsigError &&
        err.code === "UNSIGNED" &&
        parsed.rcode !== 0 &&
        readTsig(message) === undefined
      ) {
        return { message, parsed, rcode: parsed.rcode, tsigError: 0, tsigServerTime: 0, signed: false };
      }
      throw err;
    }
  }
}

function where(o: DnsClientOptions): string {
  return `${o.host}:${o.port}`;
}

/** The shared exchange's failures, worded for this provider and marked as transport trouble. */
function transportError(o: DnsClientOptions, transport: "UDP" | "TCP", err: unknown): unknown {
  if (!(err instanceof DnsExchangeError)) return err;
  switch (err.code) {
    case "TIMEOUT":
      return new DnsTransportError(
        `no ${transport === "TCP" ? "complete " : ""}answer from ${where(o)} within ${o.timeoutMs} ms (${transport})`,
      );
    case "CLOSED":
      return new DnsTransportError(`${where(o)} closed the connection before answering completely`);
    case "BAD_ID":
      return new DnsTransportError(`${where(o)} answered with a different message ID`);
    default:
      return new DnsTransportError(`cannot reach ${where(o)}: ${err.message}`, { cause: err.cause ?? err });
  }
}

function udpExchange(o: DnsClientOptions, message: Buffer, id: number): Promise<Buffer> {
  return sharedUdp(o, message, id, o.timeoutMs).catch((err: unknown) => {
    throw transportError(o, "UDP", err);
  });
}

function tcpExchange(
  o: DnsClientOptions,
  message: Buffer,
  id: number,
  done: (answer: Buffer) => boolean,
): Promise<Buffer[]> {
  return sharedTcp(o, message, id, o.timeoutMs, done).catch((err: unknown) => {
    throw transportError(o, "TCP", err);
  });
}
