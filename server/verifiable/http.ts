/**
 * The verifiable mode's HTTP face (node:http), one per aggregator:
 *   GET  /v1/verifiable/task              the task's parameters (devices)
 *   POST /v1/verifiable/reports           a device's upload to this aggregator (application/octet-stream)
 *   POST /v1/verifiable/prepare           helper only, from the leader (Bearer peer token): one report's prepare step
 *   POST /v1/verifiable/drop              helper only, from the leader: a report the leader refused on its own
 *   POST /v1/verifiable/aggregate-share   helper only, from the leader: its sum over the named accepted reports
 *                                         (at least --min-batch of them)
 *   POST /v1/verifiable/collect           leader only, from the operator (Bearer peer token): verify, sum, answer
 *                                         (with the app's collections: and publish the new model)
 *   GET  /v1/verifiable/collection        leader with the app's collections (models.ts): the collection open now
 *   GET  /v1/verifiable/models/latest.json   its newest published model's description; /models/latest its file
 * A report's upload to the leader names the collection it was encoded for: POST /v1/verifiable/reports?collection=ID.
 * The Origin is checked against the app origins as in the masked mode's service; refusals answer
 * `{ "error": message }` and are logged (console and vdaf_refusals).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NotYet, Refusal } from '../errors';
import { readBody, type Listening } from '../http';
import type { VerifiableAggregator } from './service';

const JSON_LIMIT = 64 * 1024 * 1024; // the leader's list of nonces for a collection: 22 bytes a report

function send(res: ServerResponse, status: number, json?: unknown): void {
  res.setHeader('Cache-Control', 'no-store');
  if (json === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(json);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) }).end(text);
}

export function createVerifiableHandler(aggregator: VerifiableAggregator, appOrigins: readonly string[]): (req: IncomingMessage, res: ServerResponse) => void {
  const allowed = new Set(appOrigins);
  const collections = () => {
    if (!aggregator.config.collections) throw new Refusal(404, 'this aggregator runs no app collections (the leader started with --base)');
    return aggregator.config.collections;
  };
  return (req, res) => {
    const method = req.method ?? 'GET';
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    void (async () => {
      try {
        const origin = req.headers.origin;
        if (origin !== undefined) {
          if (!allowed.has(origin)) throw new Refusal(403, `origin ${origin} is not one of this service's app origins`);
          res.setHeader('Access-Control-Allow-Origin', origin);
          res.setHeader('Vary', 'Origin');
        }
        const auth = req.headers.authorization;
        const token = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : undefined;
        const json = async (): Promise<unknown> => {
          if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) throw new Refusal(415, 'send the body as application/json');
          try {
            return JSON.parse((await readBody(req, JSON_LIMIT)).toString('utf8')) as unknown;
          } catch (error) {
            if (error instanceof Refusal) throw error;
            throw new Refusal(400, 'the body is not valid JSON');
          }
        };
        if (method === 'OPTIONS' && path === '/v1/verifiable/reports') {
          res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
          res.setHeader('Access-Control-Allow-Headers', 'Content-Type');
          send(res, 204);
        } else if (method === 'GET' && path === '/v1/verifiable/task') {
          send(res, 200, aggregator.task());
        } else if (method === 'POST' && path === '/v1/verifiable/reports') {
          if (!/^application\/octet-stream\s*(;|$)/i.test(req.headers['content-type'] ?? ''))
            throw new Refusal(415, 'send the report as application/octet-stream');
          const body = await readBody(req, aggregator.uploadBytes);
          const collection = new URLSearchParams(query).get('collection') ?? undefined;
          await aggregator.submit(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), collection);
          send(res, 201);
        } else if (method === 'GET' && path === '/v1/verifiable/collection') {
          send(res, 200, collections().current());
        } else if (method === 'GET' && path === '/v1/verifiable/models/latest.json') {
          const { round, sha256, publishedAt } = collections().latest();
          send(res, 200, { round, sha256, publishedAt });
        } else if (method === 'GET' && path === '/v1/verifiable/models/latest') {
          const { file } = collections().latest();
          res.setHeader('Cache-Control', 'no-store');
          res
            .writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': file.byteLength })
            .end(Buffer.from(file.buffer, file.byteOffset, file.byteLength));
        } else if (method === 'POST' && path === '/v1/verifiable/prepare') {
          aggregator.checkPeer(token);
          send(res, 200, await aggregator.helperPrepare(await json()));
        } else if (method === 'POST' && path === '/v1/verifiable/drop') {
          aggregator.checkPeer(token);
          send(res, 200, await aggregator.helperDrop(await json()));
        } else if (method === 'POST' && path === '/v1/verifiable/aggregate-share') {
          aggregator.checkPeer(token);
          send(res, 200, await aggregator.helperAggregate(await json()));
        } else if (method === 'POST' && path === '/v1/verifiable/collect') {
          aggregator.checkPeer(token);
          const { reports, rejected, sum, published } = await aggregator.collect();
          send(res, 200, { reports, rejected, sum: Array.from(sum), ...(published ? { published } : {}) });
        } else {
          throw new Refusal(404, `no such route: ${method} ${path}`);
        }
      } catch (error) {
        if (error instanceof Refusal) {
          if (!(error instanceof NotYet)) await aggregator.logRefusal(error, method, path);
          if (error.status === 413) res.setHeader('Connection', 'close');
          send(res, error.status, { error: error.message });
        } else {
          console.error(`${method} ${path} failed:`, error);
          send(res, 500, { error: 'internal error; the request was not applied' });
        }
      }
    })();
  };
}

export async function listenVerifiable(
  aggregator: VerifiableAggregator,
  options: { host: string; port: number; appOrigins: readonly string[] },
): Promise<Listening> {
  // Idle kept-alive connections stay open 65 s (Node's default, 5 s, lets a busy client — the leader in the middle of
  // a report's proof check, a device — reuse a connection the server has just closed: ECONNRESET, a failed collect).
  const server = createServer(
    { requestTimeout: 600_000, keepAliveTimeout: 65_000, headersTimeout: 66_000 },
    createVerifiableHandler(aggregator, options.appOrigins),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${options.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
