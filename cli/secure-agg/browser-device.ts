/**
 * `npm run bench -- aggregator --browser [--devices 42] [--neighbours 40] [--port 4331] [--json FILE]`: one
 * device's compute and traffic for a round at the app's real length, measured in headless Chromium.
 *
 * The service runs as its own process (`npm run aggregator`'s program, embedded PGlite, the shipped model as
 * its base, the default noise z = 1). One device is the browser: a dedicated worker running the app's own
 * device code (engine/contribute.ts's Contributor over engine/secagg-device.ts, bundled here with esbuild,
 * as Vite bundles it into the app's worker; browser-device-worker.ts) on a page served from 127.0.0.1:PORT
 * (the service lists it as the app origin). The other devices are simulated here in Node with the same
 * protocol (SecAggClient), so that the round has a real cohort and the browser's device has `--neighbours`
 * neighbours. They take each step only after the browser's device reported its own, so the browser computes
 * while nothing of this bench competes with it for the CPU (other processes on the machine still may: the
 * load average is printed).
 *
 * Printed: the time of each of the browser's steps (and of their parts, timed alone after the round) and the
 * bytes each of its requests sent and received (bodies; HTTP headers not counted).
 */
import type { Server } from 'node:http';
import { loadavg } from 'node:os';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bundleWorker, closeServer, launchChromium, servePage } from './browser-harness';
import { encodeForSum } from '../../src/core/secagg/encode';
import { SurvivorSigner } from '../../src/core/secagg/consistency';
import {
  decodeKeysResponse,
  decodeSharesResponse,
  decodeSurvivorsResponse,
  encodeKeysRequest,
  encodeSharesRequest,
  encodeSignatureRequest,
  encodeUnmaskRequest,
  u32ToBytes,
} from '../../src/core/secagg/messages';
import { SecAggClient, localThreshold } from '../../src/core/secagg/protocol';
import { DEFAULT_BASE, loadBaseModel } from '../../server/base-model';
import { pool } from '../../src/core/pool';
import { cpuTicks, procStat, request, startService, TICKS_PER_SECOND, type AnnouncedRound } from '../../server/bench-client';
import type { StartMessage, Traffic, WorkerEvent } from './browser-device-worker';
import { timeParts, type PartsMessage } from './parts';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '42' },
    neighbours: { type: 'string', default: '40' },
    port: { type: 'string', default: '4331' },
    repeats: { type: 'string', default: '3' },
    json: { type: 'string' },
  },
  strict: true,
});
const DEVICES = Number(args.devices);
const NEIGHBOURS = Number(args.neighbours);
const PORT = Number(args.port);
const APP_ORIGIN = `http://127.0.0.1:${PORT}`;
/** Simulated devices in flight at once around the browser's. */
const POOL = 4;

/** The page and its worker (the app's device code, bundled), and the base model the worker starts from. */
async function startPageServer(baseFile: Uint8Array): Promise<Server> {
  const worker = await bundleWorker({ file: join(import.meta.dirname, 'browser-device-worker.ts') });
  const page = `<!doctype html><meta charset="utf-8"><title>secure aggregation: one device</title>
<script type="module">
const worker = new Worker('/worker.js', { type: 'module' });
worker.onmessage = (event) => window.benchEvent(event.data);
worker.onerror = (event) => window.benchEvent({ type: 'error', message: String(event.message) });
window.benchSend = (message) => worker.postMessage(message);
</script>`;
  return servePage(PORT, {
    '/': ['text/html; charset=utf-8', page],
    '/worker.js': ['text/javascript', worker],
    '/base.prfed': ['application/octet-stream', baseFile],
  });
}

/**
 * CPU seconds (user + system, /proc) of this process's Chromium renderers: the page, its worker and WebCrypto's
 * threads live there. Unlike wall times, it does not grow with the machine's load: what the device computes.
 */
function rendererCpuSeconds(): number {
  const parents = new Map<number, number>();
  const stats = new Map<number, string[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = procStat(entry);
      parents.set(Number(entry), Number(fields[1]));
      stats.set(Number(entry), fields);
    } catch {
      // gone meanwhile
    }
  }
  const mine = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === process.pid) return true;
    return false;
  };
  let ticks = 0;
  for (const [pid, fields] of stats) {
    if (!mine(pid)) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.includes('--type=renderer')) ticks += cpuTicks(fields);
  }
  return ticks / TICKS_PER_SECOND;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'secagg-browser-'));
  const base = await loadBaseModel(DEFAULT_BASE);
  await writeFile(join(dir, 'base.prfed'), base.file);
  // The page's port first: if it is taken, nothing else was started.
  const pageServer = await startPageServer(base.file);
  const service = await startService([
    '--cohort',
    String(DEVICES),
    '--neighbours',
    String(NEIGHBOURS),
    '--phase-seconds',
    '3600',
    '--app-origin',
    APP_ORIGIN,
    '--base',
    join(dir, 'base.prfed'),
  ]);
  const browser = await launchChromium().catch(async (error: unknown) => {
    service.child.kill('SIGTERM');
    pageServer.close();
    throw error;
  });
  const loadStart = loadavg();
  try {
    const round = (await request(`${service.url}/v1/round`)) as AnnouncedRound;
    const rotationSeed = Buffer.from(round.rotationSeed, 'base64url');
    // Each simulated device encodes its own change with its own noise share (the service checks the sum's norm
    // against what independent shares can reach: copies of one share would add up past it).
    const nodeEncodeMs: number[] = [];
    const encode = (k: number) => {
      const delta = Float32Array.from({ length: round.deltaLength }, (_, i) => Math.sin(i * 0.37 + k) * 1e-3);
      const started = performance.now();
      const out = encodeForSum(delta, round.noise, rotationSeed);
      nodeEncodeMs.push(performance.now() - started);
      return out;
    };

    // The browser's events, and a way to wait for one.
    const events: WorkerEvent[] = [];
    const cpuAt: { keys?: number; unmask?: number } = {};
    let failure: string | undefined;
    const page = await browser.newPage();
    await page.exposeFunction('benchEvent', (event: WorkerEvent) => {
      events.push(event);
      if (event.type === 'error') failure = event.message;
      if (event.type === 'stage') console.error(`browser: ${event.stage}${event.message ? ` (${event.message})` : ''}`);
      // The renderer's CPU from its keys sent to its unmask shares sent: steps 2–4 and the encoding, with the polls and uploads between them.
      if (event.type === 'stage' && event.stage === 'keys') cpuAt.keys ??= rendererCpuSeconds();
      if (event.type === 'stage' && event.stage === 'unmask') cpuAt.unmask ??= rendererCpuSeconds();
    });
    const waitFor = async <E extends WorkerEvent>(test: (e: WorkerEvent) => e is E, what: string): Promise<E> => {
      const end = Date.now() + 600_000;
      for (;;) {
        const seen = events.find(test);
        if (seen) return seen;
        if (failure) throw new Error(`the browser's device failed while waiting for ${what}: ${failure}\n${service.log.join('\n')}`);
        if (Date.now() > end) throw new Error(`no ${what} in 10 minutes\n${service.log.join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const stage = (name: string) => waitFor((e): e is Extract<WorkerEvent, { type: 'stage' }> => e.type === 'stage' && e.stage === name, `stage ${name}`);
    await page.goto(APP_ORIGIN);
    const cpuAtStart = rendererCpuSeconds();
    const start: StartMessage = { type: 'start', aggregator: service.url, lifetimeEpsilon: 1000 };
    await page.evaluate((message) => (window as unknown as { benchSend(m: unknown): void }).benchSend(message), start);

    // 1. The browser registers first; then the others (the keys phase closes at the cohort).
    await stage('keys');
    const others = await Promise.all(
      Array.from({ length: DEVICES - 1 }, async () => {
        const client = await SecAggClient.create(0);
        const signer = SurvivorSigner.create();
        const { index, token } = (await request(`${service.url}/v1/rounds/${round.roundId}/keys`, {
          json: encodeKeysRequest({ ...client.advertise(), signingPublicKey: signer.publicKey }),
        })) as { index: number; token: string };
        client.assignIndex(index);
        return { client, signer, index, token };
      }),
    );
    // 2. Shares: the browser first, alone.
    await stage('shares');
    const keysAnswer = await request(`${service.url}/v1/rounds/${round.roundId}/keys`);
    const { params, keys } = decodeKeysResponse(keysAnswer);
    await pool(
      others,
      async (device) => {
        await request(`${service.url}/v1/rounds/${round.roundId}/shares`, {
          token: device.token,
          json: encodeSharesRequest(await device.client.shareKeys(params, keys)),
        });
      },
      POOL,
    );
    // 3. Masked vectors: the browser first, alone.
    await stage('masked');
    await pool(
      others,
      async (device) => {
        const received = decodeSharesResponse(await request(`${service.url}/v1/rounds/${round.roundId}/shares`, { token: device.token }), device.index, params);
        const masked = await device.client.maskInput(encode(device.index), received);
        await request(`${service.url}/v1/rounds/${round.roundId}/masked`, { token: device.token, bytes: u32ToBytes(masked) });
      },
      POOL,
    );
    // 4. Consistency: the others sign the survivor lists (the browser signs as soon as the phase opens; its unmask
    // step waits for all signatures and checks them). The simulated devices do not check the signatures themselves.
    const lists = new Map<number, { survivors: number[]; dropped: number[] }>();
    await pool(
      others,
      async (device) => {
        const signed = decodeSurvivorsResponse(await request(`${service.url}/v1/rounds/${round.roundId}/survivors`), params);
        lists.set(device.index, signed);
        await request(`${service.url}/v1/rounds/${round.roundId}/signature`, {
          token: device.token,
          json: encodeSignatureRequest(device.signer.sign(device.index, round.roundId, signed.survivors, signed.dropped)),
        });
      },
      POOL,
    );
    // 5. Unmask: the browser first; the service decodes once all have answered; the browser imports the model.
    await stage('unmask');
    await pool(
      others,
      async (device) => {
        const { survivors, dropped } = lists.get(device.index)!;
        await request(`${service.url}/v1/rounds/${round.roundId}/unmask`, {
          token: device.token,
          json: encodeUnmaskRequest(device.client.unmask(survivors, dropped)),
        });
      },
      POOL,
    );
    const result = await waitFor((e): e is Extract<WorkerEvent, { type: 'round' }> => e.type === 'round', 'the round’s end');
    const roundCpu = rendererCpuSeconds() - cpuAtStart;
    // The parts of steps 2, 3 and 4, alone (nothing else of the bench runs).
    const parts: PartsMessage = {
      type: 'parts',
      neighbours: params.neighbours,
      localThreshold: localThreshold(params),
      vectorLength: params.vectorLength,
      signatures: params.cohortSize,
      repeats: Number(args.repeats),
    };
    const cpuBeforeParts = rendererCpuSeconds();
    await page.evaluate((message) => (window as unknown as { benchSend(m: unknown): void }).benchSend(message), parts);
    const partTimes = await waitFor((e): e is Extract<WorkerEvent, { type: 'parts' }> => e.type === 'parts', 'the parts');
    const partsCpu = rendererCpuSeconds() - cpuBeforeParts;
    const partsWall =
      Object.values(partTimes.parts)
        .flat()
        .reduce((a, b) => a + b, 0) / 1000;
    const nodeParts = await timeParts(parts);
    const loadEnd = loadavg();

    const version = browser.version();
    console.log(
      `Chromium ${version}, one device in a dedicated worker; round of ${DEVICES} devices, k = ${params.neighbours} neighbours, t = ${params.threshold}, t_local = ${localThreshold(params)}; delta ${result.deltaLength} values → ${params.vectorLength} u32; published from ${result.contributors} updates`,
    );
    console.log(`load average 1 min: ${loadStart[0]!.toFixed(1)} at start, ${loadEnd[0]!.toFixed(1)} at end (2 cores)`);
    console.log('');
    console.log('| step (the browser device) | time |');
    console.log('|---|---:|');
    const steps = Object.entries(result.steps).sort(([a], [b]) => a.localeCompare(b));
    for (const [name, time] of steps) console.log(`| ${name} | ${ms(time)} |`);
    const compute = steps.filter(([name]) => !name.startsWith('5')).reduce((s, [, t]) => s + t, 0);
    console.log(`| **device compute for the round (0–4 and encode, not the import)** | **${ms(compute)}** |`);
    console.log('');
    const stepsCpu = (cpuAt.unmask ?? NaN) - (cpuAt.keys ?? NaN);
    console.log(
      `Chromium renderer CPU (user + system, not slowed by the machine's load): steps 2–4 and the encoding (from the keys sent to the unmask shares sent, polls and uploads included) ${stepsCpu.toFixed(2)} s; the whole round with the worker's set-up (decoding the base model, making the change) and the import ${roundCpu.toFixed(2)} s; the parts below ${partsCpu.toFixed(2)} s of CPU in ${partsWall.toFixed(2)} s of wall`,
    );
    console.log('');
    console.log(`| part, timed alone (median of ${args.repeats}) | Chromium (worker) | Node ${process.versions.node}, right after |`);
    console.log('|---|---:|---:|');
    for (const [name, times] of Object.entries(partTimes.parts)) console.log(`| ${name} | ${ms(median(times))} | ${ms(median(nodeParts[name] ?? [NaN]))} |`);
    console.log(
      `| encode: clip, rotate, round, noise share (Node: median of the ${nodeEncodeMs.length} simulated devices, during the round) | ${ms(result.steps['encode: clip, rotate, round, noise share'] ?? NaN)} | ${ms(median(nodeEncodeMs))} |`,
    );
    console.log('');
    console.log('| request | count | bytes up | bytes down |');
    console.log('|---|---:|---:|---:|');
    const traffic = Object.entries(result.traffic).sort(([a], [b]) => a.localeCompare(b));
    const sum = (pick: (t: Traffic) => number, keep: (name: string) => boolean) => traffic.filter(([name]) => keep(name)).reduce((s, [, t]) => s + pick(t), 0);
    for (const [name, t] of traffic) console.log(`| ${name} | ${t.requests} | ${t.up.toLocaleString('en')} | ${t.down.toLocaleString('en')} |`);
    const isModel = (name: string) => name.startsWith('GET /v1/models/latest') && !name.endsWith('.json');
    console.log(
      `| **total, the protocol (all but the model download)** | ${sum(
        (t) => t.requests,
        (n) => !isModel(n),
      )} | **${sum(
        (t) => t.up,
        (n) => !isModel(n),
      ).toLocaleString('en')}** | **${sum(
        (t) => t.down,
        (n) => !isModel(n),
      ).toLocaleString('en')}** |`,
    );
    console.log(
      `| total with the published model | ${sum(
        (t) => t.requests,
        () => true,
      )} | ${sum(
        (t) => t.up,
        () => true,
      ).toLocaleString('en')} | ${sum(
        (t) => t.down,
        () => true,
      ).toLocaleString('en')} |`,
    );
    if (args.json) {
      await writeFile(
        args.json,
        JSON.stringify(
          {
            chromium: version,
            devices: DEVICES,
            params,
            deltaLength: result.deltaLength,
            steps: result.steps,
            computeMs: compute,
            rendererCpuSeconds: { steps2to4AndEncode: stepsCpu, round: roundCpu },
            partsCpuSeconds: partsCpu,
            partsWallSeconds: partsWall,
            parts: partTimes.parts,
            nodeParts,
            nodeEncodeMs,
            traffic: result.traffic,
            loadStart,
            loadEnd,
          },
          null,
          2,
        ),
      );
    }
  } finally {
    await browser.close();
    await closeServer(pageServer);
    const exited = new Promise((resolve) => service.child.once('exit', resolve));
    service.child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
