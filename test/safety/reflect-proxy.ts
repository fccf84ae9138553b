/**
 * A loopback HTTP proxy that, when armed, answers matching requests itself with an error whose
 * body reflects every request header back -- the worst case of an API (or a proxy in front of
 * it) that echoes the request into its error text. Unarmed, it forwards to the real server or
 * the fake unchanged. The body is shaped like each provider's documented error format, so the
 * reflected text reaches the field dkimsync does read:
 *   PowerDNS:   {"error": "..."}                           (PowerDNS HTTP API, "Errors")
 *   Cloudflare: {"success": false, "errors": [{"code", "message"}], "messages": [], "result": null}
 *                                                          (Cloudflare API v4 response envelope)
 *   Route 53:   <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>
 *                                                          (Route 53 API reference, "Errors")
 * or, as `raw`, plain text that is all reflection (an HTML error page of a middlebox).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export type Flavour = "powerdns" | "cloudflare" | "route53";
export type Style = "field" | "raw";

export interface Arm {
  method: string;
  path: RegExp;
  status: number;
  style: Style;
}

export interface ReflectProxy {
  url: string;
  arm(a: Arm | undefined): void;
  /** Requests answered with a reflection since the last arm(). */
  reflected: number;
  close(): Promise<void>;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function body(flavour: Flavour, style: Style, status: number, text: string): { type: string; data: string } {
  if (style === "raw")
    return { type: "text/html", data: `<html><body><h1>${status}</h1><pre>${text}</pre></body></html>` };
  if (flavour === "powerdns") return { type: "application/json", data: JSON.stringify({ error: text }) };
  if (flavour === "cloudflare")
    return {
      type: "application/json",
      data: JSON.stringify({
        success: false,
        errors: [{ code: 1000 + status, message: text }],
        messages: [],
        result: null,
      }),
    };
  const code =
    status === 403
      ? "AccessDenied"
      : status === 404
        ? "NoSuchHostedZone"
        : status >= 500
          ? "ServiceUnavailable"
          : "InvalidInput";
  return {
    type: "text/xml",
    data: `<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(text)}</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`,
  };
}

export async function startReflectProxy(target: string, flavour: Flavour): Promise<ReflectProxy> {
  let armed: Arm | undefined;
  const state = { reflected: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const method = req.method ?? "GET";
        const url = req.url ?? "/";
        const a = armed;
        if (a && a.method === method && a.path.test(url.split("?")[0] ?? "")) {
          state.reflected++;
          // Credential headers first: the worst case, ahead of any length cap on messages.
          const sensitive = (k: string) => (/auth|key|token|security/i.test(k) ? 0 : 1);
          const reflected = Object.entries(req.headers)
            .sort(([a], [b]) => sensitive(a) - sensitive(b))
            .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : v}`)
            .join("; ");
          const b = body(
            flavour,
            a.style,
            a.status,
            `request rejected; you sent ${method} ${url} with headers ${reflected}`,
          );
          res.writeHead(a.status, { "content-type": b.type, "retry-after": "0" });
          res.end(b.data);
          return;
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) {
          if (typeof v === "string" && !["host", "content-length", "connection"].includes(k)) headers[k] = v;
        }
        const upstream = await fetch(`${target}${url}`, {
          method,
          headers,
          body: chunks.length > 0 ? Buffer.concat(chunks) : null,
        });
        const answer = Buffer.from(await upstream.arrayBuffer());
        const out: Record<string, string> = {};
        upstream.headers.forEach((v, k) => {
          if (!["content-length", "connection", "transfer-encoding", "content-encoding", "keep-alive"].includes(k))
            out[k] = v;
        });
        res.writeHead(upstream.status, out);
        res.end(answer);
      })().catch((err: unknown) => {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(`proxy: ${String(err)}`);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    arm(a) {
      armed = a;
      state.reflected = 0;
    },
    get reflected() {
      return state.reflected;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
