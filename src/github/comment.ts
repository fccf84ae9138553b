/**
 * One pull-request comment per config file, found again by a hidden marker and updated in place,
 * through the GitHub REST API with the official client (@octokit/core).
 *
 * Endpoints (GitHub REST API documentation, "Issues > Comments"; pull requests are issues there):
 * - GET   /repos/{owner}/{repo}/issues/{issue_number}/comments  (per_page at most 100; further
 *   pages are announced in the `Link` response header, rel="next": "Using pagination in the
 *   REST API")
 * - POST  /repos/{owner}/{repo}/issues/{issue_number}/comments  {body}
 * - PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}    {body}
 * A comment body is at most 65,536 characters (GitHub answers 422 "body is too long").
 */
import { Octokit } from "@octokit/core";

export const COMMENT_LIMIT = 65_536;
/** Each API call gets this long, then fails with a message (the job goes on without a comment). */
const TIMEOUT_MS = 30_000;
/** A pull request with more comments than this is not searched further (100 per page). */
const MAX_PAGES = 50;

/** The hidden marker: an HTML comment GitHub does not render, naming the config file. */
export function commentMarker(config: string): string {
  // "--" would end the HTML comment early; a config path never needs it.
  return `<!-- dkimsync:comment config=${config.replace(/--+/g, "-").replace(/>/g, "")} -->`;
}

export interface CommentTarget {
  apiUrl: string;
  token: string;
  owner: string;
  repo: string;
  issue: number;
}

export interface CommentResult {
  action: "created" | "updated";
  id: number;
  url?: string;
}

function client(t: CommentTarget): Octokit {
  return new Octokit({ auth: t.token, baseUrl: t.apiUrl.replace(/\/+$/, ""), userAgent: "dkimsync-action" });
}

/** The URL of rel="next" in a Link header (RFC 8288), if any. */
export function nextLink(link: string | undefined): string | undefined {
  for (const part of (link ?? "").split(",")) {
    const m = /<([^>]+)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim());
    if (m && m[2]?.split(/\s+/).includes("next")) return m[1];
  }
  return undefined;
}

interface IssueComment {
  id: number;
  body?: string | null;
  html_url?: string;
}

/** Create the comment, or update the one that carries `marker`; the body must already fit. */
export async function upsertComment(t: CommentTarget, marker: string, body: string): Promise<CommentResult> {
  if (body.length > COMMENT_LIMIT)
    throw new Error(`comment body is ${body.length} characters; GitHub allows ${COMMENT_LIMIT}`);
  const gh = client(t);
  // A fresh time limit per call: AbortSignal.timeout starts counting when it is made.
  const limit = () => ({ signal: AbortSignal.timeout(TIMEOUT_MS) });
  let existing: IssueComment | undefined;
  let url: string | undefined = `/repos/${t.owner}/${t.repo}/issues/${t.issue}/comments?per_page=100`;
  for (let page = 0; url !== undefined && page < MAX_PAGES && existing === undefined; page++) {
    const res = await gh.request(`GET ${url}`, { request: limit() });
    existing = (res.data as IssueComment[]).find((c) => c.body?.includes(marker));
    url = nextLink(res.headers.link);
  }
  if (existing) {
    const res = await gh.request("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", {
      owner: t.owner,
      repo: t.repo,
      comment_id: existing.id,
      body,
      request: limit(),
    });
    const data = res.data as IssueComment;
    return { action: "updated", id: data.id, ...(data.html_url ? { url: data.html_url } : {}) };
  }
  const res = await gh.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
    owner: t.owner,
    repo: t.repo,
    issue_number: t.issue,
    body,
    request: limit(),
  });
  const data = res.data as IssueComment;
  return { action: "created", id: data.id, ...(data.html_url ? { url: data.html_url } : {}) };
}
