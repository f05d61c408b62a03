/**
 * The service's HTTP face (node:http, no framework: twelve routes do not need one). Every request is
 * checked before anything is stored: the Origin against the configured app origins (CORS for those
 * only), the route and its round id, the body's size (before it is parsed) and content type, then
 * the body against core/secagg's schemas (in the Aggregator). Refusals answer `{ "error": message }`
 * and are logged (console and the refusals table).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROUND_ID_PATTERN } from '../src/core/secagg/params';
import type { Aggregator } from './aggregator';
import { NotYet, Refusal } from './errors';
import { encodeSharesResponse } from '../src/core/secagg/messages';

export interface HttpOptions {
  /** Exact origins (scheme://host[:port]) of the app deployments allowed to call the service from a browser. */
  appOrigins: readonly string[];
}

/** Bodies other than masked vectors: a device's shares or unmask shares for up to 254 neighbours fit well within this. */
export const SMALL_BODY_BYTES = 256 * 1024;

/** A masked vector of `vectorLength` u32 as base64url JSON: 4 bytes → 16/3 characters, plus the envelope. */
export function maskedBodyLimit(vectorLength: number): number {
  return Math.ceil((vectorLength * 16) / 3) + 1024;
}

type Reply = { status?: number; json?: unknown; text?: string; bytes?: Uint8Array };
type Handler = (ctx: { roundId: string; token: string | undefined; body: () => Promise<unknown> }) => Promise<Reply>;

interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  /** Largest body accepted (POST only); a function of the aggregator for the masked upload. */
  limit?: (aggregator: Aggregator) => number;
  /** Also accepts the body as application/octet-stream (the masked vector's raw u32 little-endian bytes). */
  binary?: boolean;
  handle: (aggregator: Aggregator) => Handler;
}

const ROUTES: Route[] = [
  { method: 'GET', pattern: /^\/v1\/round$/, handle: (a) => async () => ({ json: await a.roundInfo() }) },
  { method: 'GET', pattern: /^\/v1\/rounds\/([^/]+)$/, handle: (a) => async ({ roundId }) => ({ json: await a.roundInfoOf(roundId) }) },
  { method: 'POST', pattern: /^\/v1\/rounds\/([^/]+)\/keys$/, limit: () => SMALL_BODY_BYTES, handle: (a) => async ({ roundId, body }) => ({ status: 201, json: await a.register(roundId, await body()) }) },
  {
    method: 'GET',
    pattern: /^\/v1\/rounds\/([^/]+)\/keys$/,
    handle: (a) => async ({ roundId }) => {
      return { text: await a.keysBody(roundId) };
    },
  },
  { method: 'POST', pattern: /^\/v1\/rounds\/([^/]+)\/shares$/, limit: () => SMALL_BODY_BYTES, handle: (a) => async ({ roundId, token, body }) => (await a.postShares(roundId, token, await body()), { status: 204 }) },
  {
    method: 'GET',
    pattern: /^\/v1\/rounds\/([^/]+)\/shares$/,
    handle: (a) => async ({ roundId, token }) => {
      const { shares } = await a.sharesFor(roundId, token);
      return { json: encodeSharesResponse(shares) };
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/rounds\/([^/]+)\/masked$/,
    limit: (a) => maskedBodyLimit(a.vectorLength),
    binary: true,
    handle: (a) => async ({ roundId, token, body }) => (await a.postMasked(roundId, token, await body()), { status: 204 }),
  },
  { method: 'GET', pattern: /^\/v1\/rounds\/([^/]+)\/survivors$/, handle: (a) => async ({ roundId }) => ({ json: await a.survivors(roundId) }) },
  { method: 'POST', pattern: /^\/v1\/rounds\/([^/]+)\/signature$/, limit: () => SMALL_BODY_BYTES, handle: (a) => async ({ roundId, token, body }) => (await a.postSignature(roundId, token, await body()), { status: 204 }) },
  { method: 'GET', pattern: /^\/v1\/rounds\/([^/]+)\/signatures$/, handle: (a) => async ({ roundId }) => ({ text: await a.signaturesBody(roundId) }) },
  { method: 'POST', pattern: /^\/v1\/rounds\/([^/]+)\/unmask$/, limit: () => SMALL_BODY_BYTES, handle: (a) => async ({ roundId, token, body }) => (await a.postUnmask(roundId, token, await body()), { status: 204 }) },
  { method: 'GET', pattern: /^\/v1\/models\/latest$/, handle: (a) => async () => ({ bytes: (await a.latestModel()).file }) },
  {
    method: 'GET',
    pattern: /^\/v1\/models\/latest\.json$/,
    handle: (a) => async () => {
      const { round, sha256, publishedAt } = await a.latestModel();
      return { json: { round, sha256, publishedAt: publishedAt.toISOString() } };
    },
  },
];

/** Reads at most `limit` bytes; a declared or actual larger body is refused with 413 before any parsing. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new Refusal(413, `the body is ${declared} bytes; this route accepts at most ${limit}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Refusal(413, `the body exceeds ${limit} bytes, the most this route accepts`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, payload?: Reply): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (payload?.bytes) {
    res.writeHead(status, { 'Content-Type': 'application/octet-stream', 'Content-Length': payload.bytes.length });
    res.end(payload.bytes);
  } else if (payload?.json !== undefined || payload?.text !== undefined) {
    const text = payload.text ?? JSON.stringify(payload.json);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  } else {
    res.writeHead(status);
    res.end();
  }
}

export function createHandler(aggregator: Aggregator, options: HttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const allowed = new Set(options.appOrigins);
  return (req, res) => {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0]!;
    void (async () => {
      try {
        const origin = req.headers.origin;
        if (origin !== undefined) {
          if (!allowed.has(origin)) throw new Refusal(403, `origin ${origin} is not one of this service's app origins`);
          res.setHeader('Access-Control-Allow-Origin', origin);
          res.setHeader('Vary', 'Origin');
        }
        const matches = ROUTES.filter((route) => route.pattern.test(path));
        if (matches.length === 0) throw new Refusal(404, `no such route: ${path}`);
        if (method === 'OPTIONS') {
          // Preflight: only reached with an allowed Origin (checked above) or none.
          res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
          res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Authorization');
          res.setHeader('Access-Control-Max-Age', '600');
          send(res, 204);
          return;
        }
        const route = matches.find((r) => r.method === method);
        if (!route) throw new Refusal(405, `${method} is not allowed on ${path}; use ${matches.map((r) => r.method).join(' or ')}`);
        const rawId = route.pattern.exec(path)![1];
        let roundId = '';
        if (rawId !== undefined) {
          roundId = decodeURIComponent(rawId);
          if (!ROUND_ID_PATTERN.test(roundId)) throw new Refusal(400, 'a round id is 1 to 100 characters of A-Z, a-z, 0-9, _ or -');
        }
        const auth = req.headers.authorization;
        const token = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : undefined;
        const body = async (): Promise<unknown> => {
          const type = req.headers['content-type'] ?? '';
          const binary = route.binary === true && /^application\/octet-stream\s*(;|$)/i.test(type);
          if (!binary && !/^application\/json\s*(;|$)/i.test(type)) {
            throw new Refusal(415, `send the body as application/json${route.binary ? ' or application/octet-stream' : ''} (got '${type || 'no content type'}')`, roundId || null);
          }
          const bytes = await readBody(req, route.limit!(aggregator)).catch((error: unknown) => {
            if (error instanceof Refusal) throw new Refusal(error.status, error.message, roundId || null);
            throw error;
          });
          if (binary) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          try {
            return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown;
          } catch {
            throw new Refusal(400, 'the body is not valid UTF-8 JSON', roundId || null);
          }
        };
        const result = await route.handle(aggregator)({ roundId, token, body });
        send(res, result.status ?? 200, result);
      } catch (error) {
        if (error instanceof Refusal) {
          if (!(error instanceof NotYet)) await aggregator.logRefusal(error, method, path);
          // After a refused upload the rest of its body is not read: close the connection instead.
          if (error.status === 413) res.setHeader('Connection', 'close');
          send(res, error.status, { json: { error: error.message } });
        } else {
          console.error(`${method} ${path} failed:`, error);
          send(res, 500, { json: { error: 'internal error; the request was not applied' } });
        }
      }
    })();
  };
}

export interface Listening {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Starts the HTTP server; port 0 picks a free one (tests). */
export async function listen(aggregator: Aggregator, options: HttpOptions & { host: string; port: number }): Promise<Listening> {
  // Devices compute between their requests (seconds, on a phone): keep their connections longer than Node's 5 s default,
  // so a reused connection is not closed under a request in flight.
  const server = createServer({ requestTimeout: 120_000, keepAliveTimeout: 65_000 }, createHandler(aggregator, options));
  server.headersTimeout = 70_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
