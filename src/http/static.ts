/**
 * Static files for the dashboard: the browser code under web/ and the uPlot build from node_modules,
 * served by the agent itself so the dashboard works without internet access.
 */
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** web/ at the package root: two levels up from both src/http/ and dist/http/. */
export function webRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
}

/** The dist/ folder of the installed uplot package. */
export function uplotDist(): string {
  return join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
}

/** Security headers for everything the dashboard serves: no inline script, no third-party origins. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'",
};

/**
 * Resolves `rel` inside `root`, or undefined when it would escape it (`..`, absolute paths, NUL).
 * Decoding happens before the check so `%2e%2e` cannot sneak through.
 */
export function safeJoin(root: string, rel: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const full = resolve(root, '.' + sep + decoded.replace(/^[/\\]+/, ''));
  const base = resolve(root);
  return full === base || full.startsWith(base + sep) ? full : undefined;
}

/**
 * Sends a file with an ETag (size + mtime) and answers conditional requests with 304. Returns false
 * when there is no such file, so the caller can fall back (to index.html or a 404).
 */
export async function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  cacheControl = 'no-cache',
): Promise<boolean> {
  let st;
  try {
    st = await stat(path);
  } catch {
    return false;
  }
  if (!st.isFile()) return false;
  const etag = `"${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}"`;
  const headers: Record<string, string> = {
    ...PAGE_HEADERS,
    'content-type': TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
    etag,
    'cache-control': cacheControl,
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return true;
  }
  const body = await readFile(path);
  res.writeHead(200, { ...headers, 'content-length': String(body.length) });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
