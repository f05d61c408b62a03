/**
 * `npm run bench -- scale --browser [--sizes 100000,1000000] [--users 50] [--queries 20]
 *   [--feed-candidates 200,500] [--text-candidates 500,1000] [--feed-methods …] [--text-methods …]
 *   [--rows opfs,memory,copy] [--dist dist] [--port 4321] [--json FILE]`
 *
 * Issue 21's index in headless Chromium: the scale lab (e2e/lab/scale.html, src/core/index in a
 * dedicated worker, the full vectors in OPFS read for the candidates only) over synthetic catalogs of
 * 100,000 and 1,000,000 items (cases as cli/bench-scale.ts: feed-random, d = 32; text-real, 512-d
 * recombined goodbooks vectors). Prints per method and candidate count: recall@10 against the exact
 * brute force over the same int8 scores, stage one and total latency (wall ms in the worker, the
 * OPFS reads included; `--rows memory`: the VectorStore's copy of the rows in memory instead, where the
 * catalog's rows fit its limit, 64 MiB: 100,000 × 512-d do, 1,000,000 do not; scored where they lie, as the
 * engine does; `--rows copy`: the same copy, the candidates' rows copied into the scorer's buffers first). Then a returning visit (a new browser on the same profile) reads the chosen
 * indexes' codes from OPFS, is measured again, and reports the worker's memory: its V8 heap and
 * ArrayBuffer/WASM backing stores by CDP (Runtime.getHeapUsage), performance.measureUserAgentSpecificMemory()
 * (the worker's entries), and the renderer processes' proportional set size (/proc).
 * Build first with the lab pages: `VITE_LABS=1 VITE_OUT_DIR=dist-scale npx vite build`, then pass --dist dist-scale.
 */
import { chromium, type BrowserContext, type Page } from '@playwright/test';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BuildReport, LabCase, LikeRow, MeasureRow } from '../e2e/lab/scale-worker';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    users: { type: 'string', default: '50' },
    queries: { type: 'string', default: '20' },
    'feed-candidates': { type: 'string', default: '200,500' },
    'text-candidates': { type: 'string', default: '500,1000' },
    'feed-methods': { type: 'string', default: 'pq16,pq16-wasm' },
    'text-methods': {
      type: 'string',
      default: 'sign512,sign512-wasm,hamming512,hamming512-wasm,hammingcut512-2000-wasm,cascade512-256-50,cascade512-256-50-wasm,cascade512-128-50-wasm',
    },
    cases: { type: 'string', default: 'feed-random,text-real' },
    dist: { type: 'string', default: 'dist' },
    port: { type: 'string', default: '4321' },
    json: { type: 'string' },
    /** Likes timed on the returning visit (text-real, the chosen method): like → re-ranked feed, as the engine's scale path. */
    likes: { type: 'string', default: '20' },
    /** Where the candidates' rows are read from, each measured: OPFS, the store's copy in memory (in place, or copied out: `copy`). The returning visit uses the last that applies. */
    rows: { type: 'string', default: 'opfs,memory' },
  },
});
const list = (s: string) => s.split(',').filter(Boolean);
const sizes = list(values.sizes!).map(Number);
const origin = `http://127.0.0.1:${values.port}`;
const executablePath = CHROMIUM_PATH;
const args = [
  ...CHROMIUM_ARGS,
  // A collection before each memory figure, and measureUserAgentSpecificMemory without its random delay.
  '--js-flags=--expose-gc',
  '--enable-blink-features=ForceEagerMeasureMemory',
];

if (!existsSync(join(values.dist!, 'e2e/lab/scale.html'))) {
  console.error(`${values.dist}/e2e/lab/scale.html is missing: build first with the lab pages (VITE_LABS=1 VITE_OUT_DIR=${values.dist} npx vite build).`);
  process.exit(2);
}
const server = spawn('npx', ['vite', 'preview', '--port', values.port!, '--strictPort', '--host', '127.0.0.1', '--outDir', values.dist!], {
  stdio: 'ignore',
  detached: true,
});
for (
  let i = 0;
  i < 150 &&
  !(await fetch(origin).then(
    (r) => r.ok,
    () => false,
  ));
  i++
)
  await new Promise((r) => setTimeout(r, 200));

// A persistent profile, as a user's browser: an incognito context keeps OPFS in memory behind IPC,
// which is not what a visitor's browser does (docs/scale.md).
const profile = await mkdtemp(join(tmpdir(), 'scale-bench-'));
const openContext = () => chromium.launchPersistentContext(profile, { executablePath, args });

/**
 * Proportional set size (Pss, /proc/<pid>/smaps_rollup) of this browser's renderer processes: a dedicated
 * worker runs in its page's renderer; pages shared between processes are split among them rather than
 * counted in each (RSS would count the shared V8 and library pages once per process).
 */
async function rendererPss(): Promise<{ bytes: number; processes: number }> {
  let bytes = 0;
  let processes = 0;
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    // Only this bench's browser: its renderers carry the expose-gc flag given above.
    if (!cmdline.includes('--type=renderer') || !cmdline.includes('--expose-gc')) continue;
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
    const kb = /^Pss:\s+(\d+) kB/m.exec(rollup)?.[1];
    if (kb) {
      bytes += Number(kb) * 1024;
      processes++;
    }
  }
  return { bytes, processes };
}

interface MemoryRow {
  items: number;
  loaded: string;
  loadMs: string;
  heapUsed?: number;
  heapBacking?: number;
  workerBytes?: number;
  pageBytes?: number;
  renderer: { bytes: number; processes: number };
  codesBytes: number;
}

const rows: (MeasureRow & { visit: string })[] = [];
const builds: BuildReport[] = [];
const memory: MemoryRow[] = [];
const likeRows: LikeRow[] = [];
const fmt = (x: number, digits = 1) => x.toFixed(digits);
const mib = (bytes: number) => fmt(bytes / 2 ** 20);
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

type Lab = Record<string, (...a: unknown[]) => Promise<unknown>>;
const callOn =
  (page: Page) =>
  <T>(fn: string, ...params: unknown[]) =>
    page.evaluate(([name, rest]) => (window as unknown as { scaleLab: Lab }).scaleLab[name as string]!(...(rest as unknown[])), [
      fn,
      params,
    ] as const) as Promise<T>;

async function labPage(context: BrowserContext): Promise<Page> {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (error) => console.error('page error:', error.message));
  await page.goto(`${origin}/e2e/lab/scale.html`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  return page;
}

/**
 * The worker's V8 heap by CDP (Runtime.getHeapUsage on the worker's target: used JS heap, and where
 * Chromium reports it, the backing stores of ArrayBuffers and WASM memories).
 */
async function workerHeap(context: BrowserContext, page: Page): Promise<{ used: number; backing?: number } | undefined> {
  try {
    const cdp = await context.newCDPSession(page);
    const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { targetId: string; type: string; url: string }[] };
    const target = targetInfos.find((t) => t.type === 'worker' && t.url.includes('scale-worker'));
    if (!target) return undefined;
    const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false })) as { sessionId: string };
    const result = new Promise<{ usedSize: number; backingStorageSize?: number }>((resolve, reject) => {
      setTimeout(() => reject(new Error('no answer')), 10_000);
      cdp.on('Target.receivedMessageFromTarget', (event: { message: string }) => {
        const message = JSON.parse(event.message) as { id?: number; result?: { usedSize: number; backingStorageSize?: number } };
        if (message.id === 1 && message.result) resolve(message.result);
      });
    });
    await cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id: 1, method: 'Runtime.getHeapUsage' }) });
    const heap = await result;
    await cdp.detach();
    return { used: heap.usedSize, ...(heap.backingStorageSize !== undefined ? { backing: heap.backingStorageSize } : {}) };
  } catch (error) {
    console.error(`worker heap by CDP: ${String(error)}`);
    return undefined;
  }
}

function printRow(row: MeasureRow, visit: string): void {
  console.log(
    `| ${row.case} | ${row.items.toLocaleString('en')} | ${visit} | ${row.method} | ${row.candidates} | ${fmt(row.recall, 3)} (min ${fmt(row.minRecall, 1)}) | ${fmt(row.stageOneP50)} / ${fmt(row.stageOneP95)} | ${row.rows} | ${fmt(row.readP50, 2)} (${fmt(row.readCallsP50, 0)}) | ${fmt(row.totalP50)} / ${fmt(row.totalP95)} | ${load()} |`,
  );
}

try {
  let context = await openContext();
  let page = await labPage(context);
  const isolated = await page.evaluate(() => self.crossOriginIsolated);
  const wasm = await callOn(page)<boolean>('wasmScanSupported');
  // The full version (the user agent string is reduced to 156.0.0.0).
  const version = await page.evaluate(async () => {
    const data = (
      navigator as unknown as { userAgentData?: { getHighEntropyValues(hints: string[]): Promise<{ fullVersionList?: { brand: string; version: string }[] }> } }
    ).userAgentData;
    const list = (await data?.getHighEntropyValues(['fullVersionList']))?.fullVersionList ?? [];
    return list.find((b) => /Chrom/.test(b.brand))?.version ?? navigator.userAgent.match(/Chrome\/([\d.]+)/)?.[1] ?? '?';
  });
  console.log(`# scale bench in the browser — ${new Date().toISOString()}, Chromium ${version}, ${cpus()[0]?.model ?? '?'} × ${cpus().length}, load ${load()}`);
  console.log(
    `cross-origin isolated: ${isolated}; WASM SIMD scan: ${wasm}; feed users ${values.users}, text queries ${values.queries}; k = 10; the first query of each row is a warm-up`,
  );
  console.log('');
  console.log(
    "Latencies: wall ms on the worker's clock (performance.now), per query: stage one (scan + candidate heap), OPFS read of the candidates' rows, total (+ exact rescoring).",
  );
  console.log(
    '"first": the visit that built the catalog (codes in memory since the build); "returning": a new browser on the same profile, the codes read from OPFS.',
  );
  console.log('');
  console.log('| case | items | visit | method | candidates | recall@10 (min) | stage one p50 / p95 | rows | read p50 (OPFS calls) | total p50 / p95 | load |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');

  for (const items of sizes) {
    const call = callOn(page);
    const chosen: Partial<Record<LabCase, string>> = {};
    for (const name of list(values.cases!) as LabCase[]) {
      const isFeed = name === 'feed-random';
      const methods = list(isFeed ? values['feed-methods']! : values['text-methods']!);
      const candidates = list(isFeed ? values['feed-candidates']! : values['text-candidates']!).map(Number);
      const report = await call<BuildReport>('build', { case: name, items, queries: Number(isFeed ? values.users : values.queries) + 1, methods });
      builds.push(report);
      console.log(
        `<!-- built ${name} × ${items}: ${fmt(report.buildMs / 1000)} s wall (generate, quantise, encode, write ${mib(report.opfsBytes)} MiB to OPFS, exact top-10), load ${load()} -->`,
      );
      const measured: MeasureRow[] = [];
      for (const method of methods) {
        for (const where of list(values.rows!))
          for (const row of await call<MeasureRow[]>('measure', name, method, candidates, where)) {
            measured.push(row);
            rows.push({ ...row, visit: 'first' });
            printRow(row, 'first');
          }
      }
      // What the engine would keep: the fastest method (total p50) whose recall@10 is ≥ 0.95, at its fewest candidates.
      const best = measured.filter((r) => r.recall >= 0.95).sort((a, b) => a.totalP50 - b.totalP50)[0];
      if (best) {
        chosen[name] = `${best.method}@${best.candidates}@${best.rows}`;
        await call('save', name, best.method);
      }
      await call('drop', name);
    }
    // The returning visit: a new browser on the same profile reads the codes from OPFS.
    await context.close();
    context = await openContext();
    page = await labPage(context);
    const again = callOn(page);
    let codesBytes = 0;
    const loadMs: string[] = [];
    for (const [name, pick] of Object.entries(chosen) as [LabCase, string][]) {
      const [method, candidates, where] = pick.split('@') as [string, string, string];
      const loaded = await again<{ method: string; loadMs: number; codesBytes: number }>('load', name);
      codesBytes += loaded.codesBytes;
      loadMs.push(`${name} ${fmt(loaded.loadMs)} ms`);
      for (const row of await again<MeasureRow[]>('measure', name, method, [Number(candidates)], where)) {
        rows.push({ ...row, visit: 'returning' });
        printRow(row, 'returning');
      }
      if (name === 'text-real' && Number(values.likes) > 0)
        likeRows.push({ ...(await again<LikeRow>('likeToFeed', name, method, Number(values.likes))), load: load() } as LikeRow);
    }
    await again('collect');
    const measuredMemory = isolated
      ? await page.evaluate(async () => {
          const perf = performance as unknown as {
            measureUserAgentSpecificMemory?: () => Promise<{ bytes: number; breakdown: { bytes: number; attribution: { scope: string }[] }[] }>;
          };
          if (!perf.measureUserAgentSpecificMemory) return undefined;
          const result = await perf.measureUserAgentSpecificMemory();
          const worker = result.breakdown
            .filter((entry) => entry.attribution.some((a) => a.scope === 'DedicatedWorkerGlobalScope'))
            .reduce((sum, entry) => sum + entry.bytes, 0);
          return { worker, page: result.bytes - worker };
        })
      : undefined;
    const heap = await workerHeap(context, page);
    memory.push({
      items,
      loaded: Object.entries(chosen)
        .map(([c, m]) => `${c}: ${m}`)
        .join(', '),
      loadMs: loadMs.join(', '),
      ...(measuredMemory ? { workerBytes: measuredMemory.worker, pageBytes: measuredMemory.page } : {}),
      ...(heap ? { heapUsed: heap.used, ...(heap.backing !== undefined ? { heapBacking: heap.backing } : {}) } : {}),
      renderer: await rendererPss(),
      codesBytes,
    });
    for (const name of list(values.cases!) as LabCase[]) await again('removeFiles', name);
  }
  console.log('');
  console.log(
    'Memory on the returning visit, with the chosen indexes loaded from OPFS (the fastest method with recall@10 ≥ 0.95 per case; the rows stay in OPFS):',
  );
  console.log('');
  console.log(
    '| items | loaded (method@candidates) | codes read in | codes MiB | worker JS heap MiB (CDP) | worker ArrayBuffer/WASM backing MiB (CDP) | worker MiB (measureUserAgentSpecificMemory) | renderer Pss MiB (processes) |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const m of memory) {
    console.log(
      `| ${m.items.toLocaleString('en')} | ${m.loaded} | ${m.loadMs} | ${mib(m.codesBytes)} | ${m.heapUsed !== undefined ? mib(m.heapUsed) : 'unavailable'} | ${m.heapBacking !== undefined ? mib(m.heapBacking) : 'unavailable'} | ${m.workerBytes !== undefined ? mib(m.workerBytes) : 'unavailable'} | ${mib(m.renderer.bytes)} (${m.renderer.processes}) |`,
    );
  }
  if (likeRows.length > 0) {
    console.log('');
    console.log(
      "Like → re-ranked feed on the returning visit, as the engine's scale path does it (wall ms in the worker; without the IndexedDB write and the message to the page):",
    );
    console.log('');
    console.log(
      '| items | text index | likes | pool (median) | stage one + liked row p50 | pool rows read p50 | ranker over the pool p50 | total p50 / p95 | load |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of likeRows) {
      console.log(
        `| ${r.items.toLocaleString('en')} | ${r.method} | ${r.likes} | ${r.pool} | ${fmt(r.stageOneP50)} | ${fmt(r.readP50)} | ${fmt(r.rankP50)} | ${fmt(r.totalP50)} / ${fmt(r.totalP95)} | ${(r as LikeRow & { load?: string }).load ?? ''} |`,
      );
    }
  }
  if (values.json)
    await writeFile(
      values.json,
      JSON.stringify({ date: new Date().toISOString(), chromium: version, load: loadavg(), rows, builds, memory, likes: likeRows }, null, 2),
    );
  await context.close();
} finally {
  await rm(profile, { recursive: true, force: true });
  try {
    process.kill(-server.pid!);
  } catch {
    // already gone
  }
}
