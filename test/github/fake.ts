/**
 * A loopback fake of the GitHub REST endpoints the action calls, speaking the documented wire
 * protocol (GitHub REST API documentation, "Issues > Comments" and "Using pagination in the REST
 * API"):
 * - GET /repos/{owner}/{repo}/issues/{n}/comments: `per_page` (default 30, at most 100) and
 *   `page`, with a `Link` header naming rel="next" and rel="last" while more pages remain;
 * - POST the same path with {"body"}: 201 and the comment;
 * - PATCH /repos/{owner}/{repo}/issues/comments/{id} with {"body"}: 200, or 404 if unknown;
 * - a body over 65,536 characters is refused with 422 "body is too long (maximum is 65536
 *   characters)", as GitHub does;
 * - every request must carry `authorization: token <T>` or `Bearer <T>`, else 401 "Bad
 *   credentials".
 * Guessed where the documentation is silent: the fake counts the body's length in UTF-16 code
 * units (JavaScript's String length); GitHub's own counting is not documented.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeComment {
  id: number;
  issue: number;
  body: string;
  user: { login: string };
}

export interface FakeGitHub {
  url: string;
  comments: FakeComment[];
  requests: { method: string; path: string; auth: string | undefined }[];
  /** The next matching request (method) fails with this status, once. */
  failNext(method: string, status: number, message: string): void;
  close(): Promise<void>;
}

const LIMIT = 65_536;

export async function startFakeGitHub(opts: { token: string; owner: string; repo: string }): Promise<FakeGitHub> {
  const comments: FakeComment[] = [];
  const requests: FakeGitHub["requests"] = [];
  const faults: { method: string; status: number; message: string }[] = [];
  let nextId = 1000;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://fake");
      requests.push({ method: req.method ?? "", path: url.pathname + url.search, auth: req.headers.authorization });
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
        res.end(JSON.stringify(body));
      };
      const auth = req.headers.authorization ?? "";
      if (auth !== `token ${opts.token}` && auth !== `Bearer ${opts.token}`) {
        return send(401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" });
      }
      const fault = faults.findIndex((f) => f.method === req.method);
      if (fault >= 0) {
        const f = faults.splice(fault, 1)[0] as (typeof faults)[number];
        return send(f.status, { message: f.message });
      }
      const base = `/repos/${opts.owner}/${opts.repo}`;
      const list = new RegExp(`^${base}/issues/(\\d+)/comments$`).exec(url.pathname);
      const one = new RegExp(`^${base}/issues/comments/(\\d+)$`).exec(url.pathname);
      let body: { body?: unknown } = {};
      if (chunks.length > 0) {
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { body?: unknown };
        } catch {
          return send(400, { message: "Problems parsing JSON" });
        }
      }
      const tooLong = () =>
        send(422, {
          message: "Validation Failed",
          errors: [
            {
              resource: "IssueComment",
              code: "custom",
              field: "body",
              message: `body is too long (maximum is ${LIMIT} characters)`,
            },
          ],
        });
      if (list && req.method === "GET") {
        const issue = Number(list[1]);
        const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get("per_page") ?? 30)));
        const page = Math.max(1, Number(url.searchParams.get("page") ?? 1));
        const all = comments.filter((c) => c.issue === issue);
        const last = Math.max(1, Math.ceil(all.length / perPage));
        const headers: Record<string, string> = {};
        if (page < last) {
          const link = (p: number) => `<${fakeUrl()}${url.pathname}?per_page=${perPage}&page=${p}>`;
          headers.link = `${link(page + 1)}; rel="next", ${link(last)}; rel="last"`;
        }
        return send(200, all.slice((page - 1) * perPage, page * perPage), headers);
      }
      if (list && req.method === "POST") {
        if (typeof body.body !== "string") return send(422, { message: "Validation Failed" });
        if (body.body.length > LIMIT) return tooLong();
        const c: FakeComment = {
          id: nextId++,
          issue: Number(list[1]),
          body: body.body,
          user: { login: "github-actions[bot]" },
        };
        comments.push(c);
        return send(201, {
          ...c,
          html_url: `https://github.example/${opts.owner}/${opts.repo}/pull/${c.issue}#issuecomment-${c.id}`,
        });
      }
      if (one && req.method === "PATCH") {
        const c = comments.find((x) => x.id === Number(one[1]));
        if (!c) return send(404, { message: "Not Found" });
        if (typeof body.body !== "string") return send(422, { message: "Validation Failed" });
        if (body.body.length > LIMIT) return tooLong();
        c.body = body.body;
        return send(200, {
          ...c,
          html_url: `https://github.example/${opts.owner}/${opts.repo}/pull/${c.issue}#issuecomment-${c.id}`,
        });
      }
      return send(404, { message: "Not Found" });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const fakeUrl = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: fakeUrl(),
    comments,
    requests,
    failNext: (method, status, message) => void faults.push({ method, status, message }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
