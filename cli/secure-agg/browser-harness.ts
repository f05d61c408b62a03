/**
 * What the two browser benches of the secure-aggregation CLI share (browser-device.ts: the masked mode's device in
 * a round; verifiable-cost.ts: the verifiable mode's device steps): a dedicated worker's code bundled by esbuild
 * as Vite bundles it into the app's worker, a page server on 127.0.0.1:PORT, and headless Chromium (the system's
 * when installed, as the e2e tests use it).
 */
import { createServer, type Server } from 'node:http';
import { build } from 'esbuild';
import { chromium, type Browser } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium';

/** The worker's code: an entry file, or source text resolved from `resolveDir`. Minified ES2022 for the browser. */
export async function bundleWorker(entry: { file: string } | { contents: string; resolveDir: string }): Promise<Uint8Array> {
  const bundle = await build({
    ...('file' in entry ? { entryPoints: [entry.file] } : { stdin: { contents: entry.contents, resolveDir: entry.resolveDir, loader: 'ts' as const } }),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
  });
  return bundle.outputFiles[0]!.contents;
}

/** Serves `files` (path → content type and body, uncached) on 127.0.0.1:port; 404 for anything else. */
export async function servePage(port: number, files: Record<string, [type: string, body: string | Uint8Array]>): Promise<Server> {
  const server = createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', `http://127.0.0.1:${port}`).pathname];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': file[0], 'Cache-Control': 'no-store' }).end(file[1]);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return server;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Headless Chromium: PLAYWRIGHT_CHROMIUM_PATH, else /usr/bin/chromium when present, else Playwright's own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
}
