/**
 * `npm run bench -- browser [--runs N] [--json FILE]`: speed of the built app in headless Chromium.
 * Serves dist/ with `vite preview` on its own port and reports median and p95 of:
 *  - time to first recommendation, first visit (empty profile) and returning visit (embeddings cached);
 *  - catalog embedding throughput of the default encoder (items/s, from the first visit's progress).
 * Build first (`npm run build`). Chromium: $PLAYWRIGHT_CHROMIUM_PATH or /usr/bin/chromium.
 */
import { chromium, type BrowserContext } from '@playwright/test';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, json: { type: 'string' }, port: { type: 'string', default: '4183' } },
});
const runs = Number(values.runs);
const origin = `http://127.0.0.1:${values.port}`;
const executablePath = process.env.PLAYWRIGHT_CHROMIUM_PATH ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined);
const args = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

if (!existsSync('dist/index.html')) {
  console.error('dist/ is missing: run `npm run build` first.');
  process.exit(2);
}
const server = spawn('npx', ['vite', 'preview', '--port', values.port!, '--strictPort', '--host', '127.0.0.1'], { stdio: 'ignore' });
for (let i = 0; i < 100 && !(await fetch(origin).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 200));

function quantile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

async function timeToFirstRecommendation(context: BrowserContext): Promise<number> {
  const page = await context.newPage();
  await page.goto(origin);
  await page.waitForFunction(() => performance.getEntriesByName('first-recommendation').length > 0, null, { timeout: 60_000 });
  const ms = await page.evaluate(() => performance.getEntriesByName('first-recommendation')[0]!.startTime);
  await page.close();
  return ms;
}

async function withProfile<T>(dir: string, body: (context: BrowserContext) => Promise<T>): Promise<T> {
  const context = await chromium.launchPersistentContext(dir, { executablePath, args });
  try {
    return await body(context);
  } finally {
    await context.close();
  }
}

const results: Record<string, { median: number; p95: number; unit: string; runs: number }> = {};
const record = (name: string, unit: string, samples: number[]) => {
  results[name] = { median: quantile(samples, 0.5), p95: quantile(samples, 0.95), unit, runs: samples.length };
};

try {
  const firstVisit: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-first-'));
    firstVisit.push(await withProfile(dir, timeToFirstRecommendation));
    await rm(dir, { recursive: true, force: true });
  }
  record('first recommendation, first visit', 'ms', firstVisit);

  // One full visit embeds and caches the whole catalog; its progress gives the throughput.
  const dir = await mkdtemp(join(tmpdir(), 'bench-returning-'));
  const throughput = await withProfile(dir, async (context) => {
    const page = await context.newPage();
    await page.goto(origin);
    const progress = page.locator('#embedding-progress');
    await progress.waitFor({ timeout: 60_000 });
    const read = async () => Number(await progress.getAttribute('value').catch(() => null));
    const start = { at: performance.now(), done: await read() };
    const total = Number(await progress.getAttribute('max'));
    await progress.waitFor({ state: 'detached', timeout: 600_000 });
    return (total - start.done) / ((performance.now() - start.at) / 1000);
  });
  record('catalog embedding (USE Lite, WASM)', 'items/s', [throughput]);
  const returning: number[] = [];
  for (let i = 0; i < runs; i++) returning.push(await withProfile(dir, timeToFirstRecommendation));
  record('first recommendation, returning visit', 'ms', returning);
  await rm(dir, { recursive: true, force: true });
} finally {
  server.kill();
}

console.log(`\n| measure | median | p95 | unit | runs |\n|---|---:|---:|---|---:|`);
for (const [name, r] of Object.entries(results)) {
  console.log(`| ${name} | ${r.median.toFixed(r.unit === 'ms' ? 0 : 1)} | ${r.p95.toFixed(r.unit === 'ms' ? 0 : 1)} | ${r.unit} | ${r.runs} |`);
}
if (values.json) await writeFile(values.json, JSON.stringify(results, null, 2));
