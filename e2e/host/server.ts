/**
 * A tiny static server for the widget tests' host pages: a site on another origin (another port)
 * that embeds the widget. Serves e2e/host/ with `{{APP_ORIGIN}}`, `{{HOST_ORIGIN}}` and `{{OTHER_ORIGIN}}` filled in.
 * It listens on every interface, so http://localhost:PORT is a second, distinct origin on the same
 * server (the "other site" that must not be able to talk to the widget).
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('.', import.meta.url));
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.json': 'application/json', '.css': 'text/css' };

/**
 * The port of the host pages' server: E2E_HOST_PORT, else 10 above the app's (E2E_PORT, default 4173).
 * `offset` gives a spec a server of its own beside the widget spec's, which lives as long as its worker.
 */
export function hostPort(offset = 0): number {
  return Number(process.env.E2E_HOST_PORT ?? Number(process.env.E2E_PORT ?? 4173) + 10) + offset;
}

export interface HostServer {
  origin: string;
  /** The same server under another host name: a different origin. */
  otherOrigin: string;
  close(): Promise<void>;
}

export async function startHostServer(port: number, appOrigin: string): Promise<HostServer> {
  const origin = `http://127.0.0.1:${port}`;
  const otherOrigin = `http://localhost:${port}`;
  const server: Server = createServer(async (req, res) => {
    const path = normalize(new URL(req.url ?? '/', origin).pathname).replace(/^(\.\.[/\\])+/, '');
    const type = TYPES[extname(path)];
    if (!type || path.endsWith('.ts')) return void res.writeHead(404).end();
    try {
      const body = (await readFile(join(ROOT, path), 'utf8')).replaceAll('{{APP_ORIGIN}}', appOrigin).replaceAll('{{HOST_ORIGIN}}', origin).replaceAll('{{OTHER_ORIGIN}}', otherOrigin);
      res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '::', resolve));
  return {
    origin,
    otherOrigin,
    // close() alone waits for every open connection, and a socket the browser opened ahead of a
    // request (a preconnect) counts as open until Node's header timeout: once a test hung here 166 s.
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
