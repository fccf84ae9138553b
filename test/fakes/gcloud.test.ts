/**
 * The Cloud DNS loopback server, driven by the real google-auth-library (the service-account JWT
 * grant) and plain HTTP as the Cloud DNS v1 REST reference describes it: if its answers, paging,
 * errors and faults are what Google documents, the provider tests against it mean something.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { JWT } from "google-auth-library";
import ts from "typescript";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startGcloudFake, type GcloudFake, type ServiceAccountKeyFile } from "./gcloud/server.js";

const P = "fake-project";
let fake: GcloudFake;
let key: ServiceAccountKeyFile;
let token: string;

async function tokenFor(k: ServiceAccountKeyFile, tokenUrl = fake.tokenUrl): Promise<string> {
  const client = new JWT({
    email: k.client_email,
    key: k.private_key,
    scopes: ["https://www.googleapis.com/auth/ndev.clouddns.readwrite"],
  });
  client.transporter.interceptors.request.add({
    resolved: async (config) => {
      if (config.url.href === "https://oauth2.googleapis.com/token") config.url = new URL(tokenUrl);
      return config;
    },
  });
  const t = await client.getAccessToken();
  return t.token as string;
}

async function api(
  method: string,
  p: string,
  body?: unknown,
  bearer = token,
): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${fake.endpoint}/dns/v1/projects/${P}${p}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json(), headers: res.headers };
}

const rr = (name: string, type: string, ttl: number, rrdatas: string[]) => ({ name, type, ttl, rrdatas });

beforeEach(async () => {
  fake = await startGcloudFake();
  key = fake.createServiceAccount(`sa@${P}.iam.gserviceaccount.com`, { project: P });
  fake.state.createZone(P, "example.com", { rrsets: [rr("www.example.com.", "A", 300, ["192.0.2.1"])] });
  token = await tokenFor(key);
});
afterEach(async () => {
  await fake.stop();
});

describe("gcloud fake: OAuth 2.0 and errors", () => {
  it("issues a token for a correctly signed JWT grant and refuses a forged one", async () => {
    expect(token).toMatch(/^ya29\./);
    const other = fake.createServiceAccount("x@fake-project.iam.gserviceaccount.com");
    await expect(tokenFor({ ...key, private_key: other.private_key })).rejects.toThrow(/Invalid JWT Signature/);
  });

  it("answers a call without a valid token with 401 in Google's error format", async () => {
    const r = await api("GET", "/managedZones", undefined, "ya29.not-issued");
    expect(r.status).toBe(401);
    expect(r.json.error).toMatchObject({
      code: 401,
      status: "UNAUTHENTICATED",
      errors: [{ reason: "authError", domain: "global" }],
    });
  });

  it("answers an unknown zone with 404 notFound and `type` without `name` with 400", async () => {
    expect((await api("GET", "/managedZones/nope/rrsets")).json.error).toMatchObject({
      code: 404,
      errors: [{ reason: "notFound" }],
    });
    expect((await api("GET", "/managedZones/example-com/rrsets?type=A")).status).toBe(400);
  });
});

describe("gcloud fake: lists and paging", () => {
  it("pages managed zones and rrsets by maxResults and nextPageToken", async () => {
    for (let i = 0; i < 5; i++) fake.state.createZone(P, `z${i}.example`);
    const first = await api("GET", "/managedZones?maxResults=4");
    expect(first.json.managedZones).toHaveLength(4);
    const second = await api("GET", `/managedZones?maxResults=4&pageToken=${first.json.nextPageToken}`);
    expect(second.json.managedZones).toHaveLength(2);
    expect(second.json.nextPageToken).toBeUndefined();
    expect((await api("GET", "/managedZones?maxResults=4&pageToken=garbage")).status).toBe(400);
    const rrsets = await api("GET", "/managedZones/example-com/rrsets?maxResults=2");
    expect(rrsets.json.rrsets.map((r: any) => r.type)).toEqual(["NS", "SOA"]);
    const rest = await api(
      "GET",
      `/managedZones/example-com/rrsets?maxResults=2&pageToken=${rrsets.json.nextPageToken}`,
    );
    expect(rest.json.rrsets.map((r: any) => r.name)).toEqual(["www.example.com."]);
  });

  it("filters rrsets by exact name, and by name and type", async () => {
    const r = await api("GET", "/managedZones/example-com/rrsets?name=WWW.example.com.");
    expect(r.json.rrsets).toEqual([
      { kind: "dns#resourceRecordSet", ...rr("www.example.com.", "A", 300, ["192.0.2.1"]) },
    ]);
    expect((await api("GET", "/managedZones/example-com/rrsets?name=www.example.com.&type=TXT")).json.rrsets).toEqual(
      [],
    );
  });
});

describe("gcloud fake: changes", () => {
  const change = (body: unknown) => api("POST", "/managedZones/example-com/changes", body);

  it("applies deletions and additions together and reports the change pending, then done", async () => {
    const r = await change({
      deletions: [rr("www.example.com.", "A", 300, ["192.0.2.1"])],
      additions: [rr("www.example.com.", "A", 60, ["192.0.2.2"])],
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ kind: "dns#change", status: "pending" });
    expect((await api("GET", `/managedZones/example-com/changes/${r.json.id}`)).json.status).toBe("pending");
    expect((await api("GET", `/managedZones/example-com/changes/${r.json.id}`)).json.status).toBe("done");
    expect(fake.state.zoneByDns("example.com").rrsets.get("www.example.com. A")?.rrdatas).toEqual(["192.0.2.2"]);
  });

  it("refuses a deletion that does not match exactly with 412, an existing addition with 409, changing nothing", async () => {
    const before = fake.state.sorted(fake.state.zoneByDns("example.com"));
    const stale = await change({
      additions: [rr("new.example.com.", "A", 300, ["192.0.2.9"])],
      deletions: [rr("www.example.com.", "A", 3600, ["192.0.2.1"])],
    });
    expect(stale.status).toBe(412);
    expect(stale.json.error).toMatchObject({ code: 412, errors: [{ reason: "conditionNotMet" }] });
    const dup = await change({
      additions: [rr("new.example.com.", "A", 300, ["192.0.2.9"]), rr("www.example.com.", "A", 300, ["192.0.2.1"])],
    });
    expect(dup.status).toBe(409);
    expect(dup.json.error.errors[0].reason).toBe("alreadyExists");
    expect(fake.state.sorted(fake.state.zoneByDns("example.com"))).toEqual(before);
  });

  it("keeps a CNAME alone at its name, and names absolute", async () => {
    const r = await change({ additions: [rr("www.example.com.", "CNAME", 300, ["elsewhere.example.net."])] });
    expect(r.status).toBe(409);
    expect(r.json.error.errors[0].reason).toBe("cnameResourceRecordSetConflict");
    expect((await change({ additions: [rr("a.example.com", "A", 300, ["192.0.2.1"])] })).status).toBe(400);
    expect((await change({ additions: [rr("a.example.com.", "CNAME", 300, ["relative.example.net"])] })).status).toBe(
      400,
    );
  });

  it("refuses a change above the per-change quota", async () => {
    fake.state.perChangeLimit = 2;
    const r = await change({ additions: [1, 2, 3].map((i) => rr(`h${i}.example.com.`, "A", 300, ["192.0.2.1"])) });
    expect(r.status).toBe(403);
    expect(r.json.error.errors[0].reason).toBe("quotaExceeded");
  });
});

describe("gcloud fake: faults", () => {
  it("throttles with 429 or 403 rateLimitExceeded and Retry-After", async () => {
    fake.faults.throttleNext(1, { retryAfterSeconds: 7 });
    fake.faults.throttleNext(1, { status: 403 });
    const a = await api("GET", "/managedZones");
    expect([a.status, a.headers.get("retry-after"), a.json.error.status, a.json.error.errors[0].reason]).toEqual([
      429,
      "7",
      "RESOURCE_EXHAUSTED",
      "rateLimitExceeded",
    ]);
    const b = await api("GET", "/managedZones");
    expect([b.status, b.json.error.errors[0].reason]).toEqual([403, "rateLimitExceeded"]);
    expect((await api("GET", "/managedZones")).status).toBe(200);
  });

  it("loses an answer after committing the change, and drops a connection before doing anything", async () => {
    fake.faults.loseAnswerNext(1, "createChange");
    await expect(
      api("POST", "/managedZones/example-com/changes", { additions: [rr("n.example.com.", "A", 300, ["192.0.2.3"])] }),
    ).rejects.toThrow();
    expect(fake.state.zoneByDns("example.com").rrsets.has("n.example.com. A")).toBe(true);
    fake.faults.dropNext(1, "createChange");
    await expect(
      api("POST", "/managedZones/example-com/changes", { additions: [rr("m.example.com.", "A", 300, ["192.0.2.3"])] }),
    ).rejects.toThrow();
    expect(fake.state.zoneByDns("example.com").rrsets.has("m.example.com. A")).toBe(false);
  });

  it("accepts a stalled request and never answers it", async () => {
    fake.faults.stallNext(1, "listZones");
    const res = fetch(`${fake.endpoint}/dns/v1/projects/${P}/managedZones`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(300),
    });
    await expect(res).rejects.toThrow(/timeout|aborted/i);
    expect(fake.log.at(-1)?.status).toBe(-2);
  });
});

describe("gcloud fake: command line", () => {
  it("serves a project with zones and writes a key its token endpoint accepts", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "dkimsync-gc-cli-"));
    try {
      const port = fake.port; // a port known free once this fake stops
      await fake.stop();
      const cli = await buildCli(dir);
      const keyFile = path.join(dir, "key.json");
      const child = spawn(
        process.execPath,
        [cli, "--port", String(port), "--project", P, "--zone", "cli.example", "--key-out", keyFile],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      try {
        const out = await new Promise<string>((resolve, reject) => {
          let buf = "";
          child.stdout.on("data", (d: Buffer) => {
            buf += d.toString();
            if (buf.includes("zone cli.example.")) resolve(buf);
          });
          child.on("exit", (code) => reject(new Error(`cli exited ${code}`)));
        });
        expect(out).toContain(`http://127.0.0.1:${port}`);
        const k = JSON.parse(await readFile(keyFile, "utf8")) as ServiceAccountKeyFile;
        const t = await tokenFor(k, `http://127.0.0.1:${port}/token`);
        const res = await fetch(`http://127.0.0.1:${port}/dns/v1/projects/${P}/managedZones`, {
          headers: { authorization: `Bearer ${t}` },
        });
        expect(((await res.json()) as any).managedZones.map((z: any) => z.dnsName)).toEqual(["cli.example."]);
      } finally {
        child.kill();
      }
      fake = await startGcloudFake();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The CLI as `npm run build` would emit it (dist/test/fakes/gcloud/cli.js), transpiled into the
 * temp folder so the test does not depend on a prior build. Node 20 cannot run .ts.
 */
async function buildCli(dir: string): Promise<string> {
  const out = path.join(dir, "cli");
  await mkdir(out);
  await writeFile(path.join(out, "package.json"), '{"type":"module"}');
  await symlink(path.resolve("node_modules"), path.join(out, "node_modules"), "dir");
  for (const file of ["cli", "server", "state"]) {
    const source = await readFile(path.resolve(`test/fakes/gcloud/${file}.ts`), "utf8");
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    });
    await writeFile(path.join(out, `${file}.js`), js.outputText);
  }
  return path.join(out, "cli.js");
}
