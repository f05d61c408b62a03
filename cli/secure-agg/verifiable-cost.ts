/**
 * `npx tsx cli/secure-agg/verifiable-cost.ts [--length 346384] [--bits 10] [--placement aggregators|device]
 *   [--norm-check [--field field128|field64]] [--verify] [--browser] [--skip-node] [--port 4333] [--json FILE]`: what the
 * verifiable mode (src/core/secagg/verifiable) costs one device and each aggregator, for one report of a delta of
 * `--length` values. `--field field64`: the Field64 PINE with two proofs (stop 38); default Field128.
 *
 * Node (always): the device's encodeForVerifiable (clip, rotate, round, [noise share], clamp) and buildReport
 * (Prio3SumVec shard, or with --norm-check Prio3Pine's (pine.ts): the shares and the proof), the bytes of each upload; with --verify also each
 * aggregator's prepareInit, the leader's prepareMessage (the proof's decision) and both prepareFinish, and a
 * check that the combined sum equals the device's vector.
 * --browser: the same two device steps in a dedicated worker of headless Chromium (the core bundled by
 * esbuild, as Vite bundles it into the app's worker; the page is served from 127.0.0.1:PORT).
 * Peak RSS of this Node process is printed (the browser's memory is not measured).
 */
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { bundleWorker, closeServer, launchChromium, servePage } from './browser-harness';
import { encodedLength } from '../../src/core/secagg/encode';
import { verifiableBound, verifiableParams, type VerifiableSettings } from '../../src/core/secagg/verifiable/encode';
import { deviceSteps, type DeviceSteps } from './verifiable-cost-device';
import {
  aggregateOutputShares,
  buildReport,
  combineAggregates,
  makeVdaf,
  prepareFinish,
  prepareInit,
  prepareMessage,
  uploadSizes,
} from '../../src/core/secagg/verifiable/prio';

const { values: args } = parseArgs({
  options: {
    length: { type: 'string', default: '346384' },
    bits: { type: 'string', default: '10' },
    placement: { type: 'string', default: 'aggregators' },
    'norm-check': { type: 'boolean', default: false },
    field: { type: 'string', default: 'field128' },
    verify: { type: 'boolean', default: false },
    browser: { type: 'boolean', default: false },
    'skip-node': { type: 'boolean', default: false },
    port: { type: 'string', default: '4333' },
    json: { type: 'string' },
  },
  strict: true,
});
const LENGTH = Number(args.length);
const BITS = Number(args.bits);
if (args.placement !== 'aggregators' && args.placement !== 'device') throw new Error('--placement aggregators|device');
if (args.field !== 'field128' && args.field !== 'field64') throw new Error('--field field128|field64');
const SETTINGS: VerifiableSettings = {
  // the bench's ε = 8 settings (z for 5 rounds, C = 0.5, n = 943)
  noise: { clipNorm: 0.5, noiseMultiplier: 1.426, expectedCohort: 943, dropoutTolerance: 1 / 3, bits: 32 },
  bits: BITS,
  placement: args.placement,
  normCheck: args['norm-check'],
  ...(args['norm-check'] ? { field: args.field } : {}),
};
const PORT = Number(args.port);

async function inBrowser(): Promise<{ chromium: string; steps: DeviceSteps }> {
  const worker = await bundleWorker({
    contents: `import { deviceSteps } from './verifiable-cost-device';
self.onmessage = async (e) => { try { self.postMessage({ ok: await deviceSteps(e.data.settings, e.data.length) }); } catch (err) { self.postMessage({ error: String(err && err.stack || err) }); } };`,
    resolveDir: import.meta.dirname,
  });
  const page = `<!doctype html><meta charset="utf-8"><title>verifiable mode: one device</title>
<script type="module">
window.runDevice = (message) => new Promise((resolve) => { const w = new Worker('/worker.js', { type: 'module' }); w.onmessage = (e) => resolve(e.data); w.onerror = (e) => resolve({ error: String(e.message) }); w.postMessage(message); });
</script>`;
  const server = await servePage(PORT, { '/': ['text/html; charset=utf-8', page], '/worker.js': ['text/javascript', worker] });
  const browser = await launchChromium();
  try {
    const p = await browser.newPage();
    await p.goto(`http://127.0.0.1:${PORT}/`);
    const result = (await p.evaluate((message) => (window as unknown as { runDevice(m: unknown): Promise<unknown> }).runDevice(message), {
      settings: SETTINGS,
      length: LENGTH,
    })) as {
      ok?: DeviceSteps;
      error?: string;
    };
    if (!result.ok) throw new Error(`the worker failed: ${result.error}`);
    return { chromium: browser.version(), steps: result.ok };
  } finally {
    await browser.close();
    await closeServer(server);
  }
}

async function main(): Promise<void> {
  const load0 = loadavg()[0]!;
  const padded = encodedLength(LENGTH);
  const bound = verifiableBound(SETTINGS, LENGTH);
  console.log(
    `delta ${LENGTH} values → ${padded} entries × ${BITS} bits, noise at the ${SETTINGS.placement}; ${SETTINGS.normCheck ? `norm check ‖x‖² ≤ ${verifiableParams(SETTINGS, LENGTH).normBound} (PINE, ${SETTINGS.field})` : 'range check only'}; a tampering device's room: B = ${bound.entry} per entry, ${bound.timesClip.toFixed(SETTINGS.normCheck ? 5 : 1)}·C in L2`,
  );
  const node = args['skip-node'] ? undefined : await deviceSteps(SETTINGS, LENGTH);
  if (node)
    console.log(
      `Node ${process.versions.node}: encode ${node.encodeMs.toFixed(0)} ms, shard (shares + proof) ${node.shardMs.toFixed(0)} ms; upload leader ${node.leaderBytes.toLocaleString('en')} B + helper ${node.helperBytes} B (${((node.leaderBytes + node.helperBytes) / (4 * padded)).toFixed(3)}× the 32-bit plaintext ${(4 * padded).toLocaleString('en')} B); clamped ${node.clamped}`,
    );
  const out: Record<string, unknown> = {
    length: LENGTH,
    padded,
    bits: BITS,
    placement: SETTINGS.placement,
    normCheck: SETTINGS.normCheck,
    field: SETTINGS.field,
    bound,
    node,
  };
  if (args.verify) {
    const params = verifiableParams(SETTINGS, LENGTH);
    const vdaf = makeVdaf(params);
    const x = Int32Array.from({ length: padded }, (_, i) => (i % 7) - 3); // ‖x‖² = 4 per entry on average: within N here
    const report = await buildReport(params, x, vdaf);
    const key = crypto.getRandomValues(new Uint8Array(16));
    const t0 = performance.now();
    const leader = await prepareInit(vdaf, key, 0, report.leader);
    const t1 = performance.now();
    const helper = await prepareInit(vdaf, key, 1, report.helper);
    const t2 = performance.now();
    const message = await prepareMessage(vdaf, leader.prepareShare, helper.prepareShare);
    const t3 = performance.now();
    const sum = combineAggregates(
      params,
      vdaf,
      aggregateOutputShares(vdaf, [prepareFinish(vdaf, leader.state, message)]),
      aggregateOutputShares(vdaf, [prepareFinish(vdaf, helper.state, message)]),
      1,
    );
    const exact = sum.every((v, i) => v === x[i]);
    const verify = {
      leaderInitMs: t1 - t0,
      helperInitMs: t2 - t1,
      decideMs: t3 - t2,
      prepareShareBytes: leader.prepareShare.length,
      exact,
      sizes: uploadSizes(params, vdaf),
    };
    console.log(
      `aggregators: leader prepareInit ${verify.leaderInitMs.toFixed(0)} ms, helper prepareInit ${verify.helperInitMs.toFixed(0)} ms (expands its seeds), decision ${verify.decideMs.toFixed(0)} ms; prepare share ${verify.prepareShareBytes.toLocaleString('en')} B each way; sum exact: ${exact}`,
    );
    out.verify = verify;
  }
  if (args.browser) {
    const browser = await inBrowser();
    console.log(
      `Chromium ${browser.chromium} (dedicated worker): encode ${browser.steps.encodeMs.toFixed(0)} ms, shard ${browser.steps.shardMs.toFixed(0)} ms; upload leader ${browser.steps.leaderBytes.toLocaleString('en')} B + helper ${browser.steps.helperBytes} B`,
    );
    out.browser = browser;
  }
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(`peak RSS (Node) ${rss.toFixed(0)} MB; load average 1 min ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)} (2 cores)`);
  if (args.json) await writeFile(args.json, JSON.stringify({ ...out, peakRssMB: rss, load: [load0, loadavg()[0]] }, null, 2));
}

await main();
