/**
 * `npm run bench -- aggregator --verifiable [--devices 1000] [--values N] [--tampered K] [--workers W]
 *   [--cache DIR [--generate-only]] [--database URL --helper-database URL] [--verify-on-arrival] [--concurrency 16] [--json FILE]`: one collection of the
 * verifiable mode (issue 20; docs/secure-aggregation.md "A collection of 1,000 devices (stop 36)") against the two
 * real services.
 *
 * The leader and the helper run as their own processes (`npm run aggregator -- --verifiable … --app`, the real
 * entry point: the app's task, PINE, the collections and the published model; each its own PGlite in memory, or
 * each its own PostgreSQL database), so their figures are their own: CPU time (user + system, /proc) and peak
 * resident memory (VmHWM) of each. Noise at the aggregators is set to 0 (--noise-stddev 0) so that the collected
 * sum can be checked exactly against the devices' vectors; its cost (one Gaussian draw per entry) is negligible.
 *
 * The devices: each encodes a delta as the app does and builds its PINE report — in worker threads BEFORE the timed
 * part (verifiable-round-worker.ts), since on this 2-core machine generating 1,000 reports takes longer than
 * serving them, and a real device does its own. `--cache DIR` keeps the generated reports (per task and
 * collection) for the next run; `--generate-only` stops there (a long generation as a run of its own). The timed part: every device uploads its helper share, then its leader share
 * naming the open collection (HTTP, `--concurrency` at once); then the operator's collect — the leader verifies
 * every pending report with the helper (prepare shares exchanged over HTTP), both sum their accepted output
 * shares, the leader combines, decodes and publishes the collection's model. `--tampered K` flips one byte of K
 * devices' leader shares (dropped by both; not in the expected sum). `--verify-on-arrival` starts the leader with it
 * (service.ts verifyOnArrival): the leader verifies each report with the helper while the uploads go on, and the
 * collect verifies only what is left.
 *
 * Checked: the collected sum equals the honest devices' encoded vectors' sum entry for entry; the published model
 * is base + the decoded mean (largest deviation printed).
 */
import { readFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeModelFile } from '../../src/core/federated/format';
import { flatten } from '../../src/core/federated/params';
import { appVerifiableTask } from '../../src/core/secagg/verifiable-app';
import { uploadSizes } from '../../src/core/secagg/verifiable/prio';
import { pool } from '../../src/core/pool';
import { benchBase, cpuSeconds, peakRssMiB, request, startService } from '../../server/bench-client';
import type { CollectionInfo } from '../../server/verifiable/models';
import { tsxWorker } from '../tsx-worker';
import { benchDelta, type GeneratedReport, type GenerateJob } from './verifiable-round-worker';

const { values: args } = parseArgs({
  options: {
    verifiable: { type: 'boolean' },
    devices: { type: 'string', default: '1000' },
    values: { type: 'string' },
    tampered: { type: 'string', default: '0' },
    workers: { type: 'string', default: String(availableParallelism()) },
    cache: { type: 'string' },
    'generate-only': { type: 'boolean', default: false },
    database: { type: 'string' },
    'helper-database': { type: 'string' },
    'verify-on-arrival': { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '16' },
    json: { type: 'string' },
  },
  strict: true,
});
const DEVICES = Number(args.devices);
const TAMPERED = Number(args.tampered);
const WORKERS = Math.max(1, Number(args.workers));
if (!(Number.isInteger(DEVICES) && DEVICES >= 1)) throw new Error('--devices: a positive integer');
if (!(Number.isInteger(TAMPERED) && TAMPERED >= 0 && TAMPERED <= DEVICES)) throw new Error('--tampered: 0 to --devices');
if (args['generate-only'] && !args.cache) throw new Error('--generate-only needs --cache DIR (where the reports are kept)');
if (Boolean(args.database) !== Boolean(args['helper-database']))
  throw new Error('--database and --helper-database go together: each aggregator has its own PostgreSQL database');
const VERIFY_KEY = '00112233445566778899aabbccddeeff';
const TOKEN = 'bench-peer-token-0123456789';
const NOISE = { clipNorm: 1, noiseMultiplier: 1 };

/** Generates (or reads from the cache) every device's report, in worker threads. */
async function generate(job: Omit<GenerateJob, 'devices'>, cacheDir: string | undefined): Promise<GeneratedReport[]> {
  const sizes = uploadSizes(job.params);
  const valuesBytes = job.params.length * 4;
  const out = new Array<GeneratedReport | undefined>(DEVICES);
  const missing: number[] = [];
  for (let device = 0; device < DEVICES; device++) {
    const file = cacheDir && join(cacheDir, `${device}.bin`);
    const bytes = file ? await readFile(file).catch(() => undefined) : undefined;
    if (bytes && bytes.length === sizes.leader + sizes.helper + valuesBytes) {
      const copy = new Uint8Array(bytes);
      out[device] = {
        device,
        leader: copy.subarray(0, sizes.leader),
        helper: copy.subarray(sizes.leader, sizes.leader + sizes.helper),
        values: new Int32Array(copy.buffer.slice(sizes.leader + sizes.helper)),
      };
    } else missing.push(device);
  }
  if (missing.length === 0) return out as GeneratedReport[];
  console.error(`generating ${missing.length} reports in ${WORKERS} worker threads${cacheDir ? ` (cached in ${cacheDir})` : ''}…`);
  let made = 0;
  await Promise.all(
    Array.from({ length: Math.min(WORKERS, missing.length) }, (_, w) => {
      const worker = tsxWorker(new URL('./verifiable-round-worker.ts', import.meta.url));
      return new Promise<void>((resolve, reject) => {
        worker.on('message', (message: GeneratedReport | { done: true } | { error: string }) => {
          if ('error' in message) reject(new Error(message.error));
          else if ('done' in message) void worker.terminate().then(() => resolve());
          else {
            out[message.device] = message;
            if (++made % 50 === 0) console.error(`  ${made} / ${missing.length}`);
            if (cacheDir) {
              const file = new Uint8Array(sizes.leader + sizes.helper + valuesBytes);
              file.set(message.leader);
              file.set(message.helper, sizes.leader);
              file.set(new Uint8Array(message.values.buffer, message.values.byteOffset, valuesBytes), sizes.leader + sizes.helper);
              void writeFile(join(cacheDir, `${message.device}.bin`), file);
            }
          }
        });
        worker.once('error', reject);
        worker.postMessage({ ...job, devices: missing.filter((_, i) => i % WORKERS === w) } satisfies GenerateJob);
      });
    }),
  );
  return out as GeneratedReport[];
}

/** POST collect without a client-side timeout (fetch gives up after 300 s without headers; a large collection takes longer). */
function postCollect(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/v1/verifiable/collect`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vdaf-bench-'));
  const base = await benchBase(dir, args.values);
  const baseFile = base.path;
  const common = ['--app', '--base', baseFile, '--noise-stddev', '0', '--verify-key', VERIFY_KEY, '--peer-token', TOKEN, '--min-batch', '1'];
  const db = (url: string | undefined) => (url ? ['--database', url] : []);
  // AGGREGATOR_BENCH_NODE_FLAGS adds flags to both services' node (e.g. --cpu-prof), as in the masked mode's bench.
  const flags = (process.env.AGGREGATOR_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const helper = await startService(['--verifiable', 'helper', ...common, ...db(args['helper-database'])], flags);
  const onArrival = args['verify-on-arrival'] ? ['--verify-on-arrival'] : [];
  const leader = await startService(['--verifiable', 'leader', ...common, ...onArrival, '--helper', helper.url, ...db(args.database)], flags).catch(
    async (error: unknown) => {
      helper.child.kill('SIGTERM');
      throw error;
    },
  );
  try {
    const info = (await request(`${leader.url}/v1/verifiable/collection`)) as CollectionInfo;
    const task = appVerifiableTask(info.deltaLength, NOISE);
    for (const service of [leader, helper]) {
      const announced = (await request(`${service.url}/v1/verifiable/task`)) as { length: number; normBound?: number };
      if (announced.length !== task.params.length || announced.normBound !== task.params.normBound)
        throw new Error(`the ${service === leader ? 'leader' : 'helper'} runs another task: ${JSON.stringify(announced)}`);
    }
    const cacheDir = args.cache && join(args.cache, `L${task.params.length}-N${task.params.normBound}-${info.collectionId}`);
    if (cacheDir) await mkdir(cacheDir, { recursive: true });
    const generationStarted = performance.now();
    const reports = await generate(
      { params: task.params, settings: task.settings, deltaLength: info.deltaLength, rotationSeed: Buffer.from(info.rotationSeed, 'base64url') },
      cacheDir,
    );
    const generationSeconds = (performance.now() - generationStarted) / 1000;
    console.error(`reports ready in ${generationSeconds.toFixed(1)} s (${reports[0]!.leader.length} + ${reports[0]!.helper.length} bytes each)`);
    if (args['generate-only']) return;
    // The first TAMPERED devices flip one byte of their leader share's measurement: both aggregators drop them.
    const expected = new Float64Array(task.params.length);
    for (const r of reports) {
      if (r.device < TAMPERED) {
        r.leader = new Uint8Array(r.leader);
        r.leader[48] = r.leader[48]! ^ 1;
      } else for (let j = 0; j < expected.length; j++) expected[j]! += r.values[j]!;
    }

    const cpu = () => ({ leader: cpuSeconds(leader.pid), helper: cpuSeconds(helper.pid) });
    const atStart = cpu();
    const started = performance.now();
    let retries = 0;
    // A device retries an upload whose connection failed (a kept-alive connection the service closed); a 409
    // "already received" then means the first try arrived.
    const send = async (url: string, bytes: Uint8Array) => {
      for (let attempt = 1; ; attempt++) {
        try {
          await request(url, { bytes });
          return;
        } catch (error) {
          const message = String((error as Error).message);
          if (attempt > 1 && /HTTP 409 .*already received/.test(message)) return;
          if (attempt >= 4 || !/fetch failed/.test(message)) throw error;
          retries++;
        }
      }
    };
    await pool(
      reports,
      async (r) => {
        await send(`${helper.url}/v1/verifiable/reports`, r.helper);
        await send(`${leader.url}/v1/verifiable/reports?collection=${info.collectionId}`, r.leader);
      },
      Number(args.concurrency),
    );
    const uploadSeconds = (performance.now() - started) / 1000;
    const afterUpload = cpu();
    console.error(`uploads: ${uploadSeconds.toFixed(1)} s${retries ? ` (${retries} retried after a failed connection)` : ''}`);
    const collectStarted = performance.now();
    const collected = await postCollect(leader.url);
    const collectSeconds = (performance.now() - collectStarted) / 1000;
    const wall = (performance.now() - started) / 1000;
    const atEnd = cpu();
    if (collected.status !== 200) throw new Error(`collect: HTTP ${collected.status} ${collected.body.slice(0, 300)}`);
    const body = JSON.parse(collected.body) as { reports: number; rejected: number; sum: number[]; published?: { collection: string; sha256: string } };
    let mismatches = 0;
    for (let j = 0; j < expected.length; j++) if (body.sum[j] !== expected[j]) mismatches++;
    if (body.sum.length !== expected.length) mismatches = Math.max(mismatches, 1);

    // The published model is base + the decoded mean of the honest devices' deltas (up to the rounding).
    const published = await decodeModelFile(new Uint8Array(await (await fetch(`${leader.url}/v1/verifiable/models/latest`)).arrayBuffer()));
    const got = flatten(published.params);
    const want = flatten(base.params);
    const honest = DEVICES - TAMPERED;
    const deltas = [0, 1, 2, 3].map((k) => benchDelta(k, info.deltaLength));
    const counts = [0, 1, 2, 3].map((k) => reports.filter((r) => r.device >= TAMPERED && r.device % 4 === k).length);
    let worst = 0;
    for (let i = 0; i < got.length; i++) {
      const mean = deltas.reduce((s, d, k) => s + d[i]! * counts[k]!, 0) / honest;
      worst = Math.max(worst, Math.abs(got[i]! - want[i]! - mean));
    }
    const verifyLine = leader.log.find((l) => /verified \d+ reports with the helper in/.test(l)) ?? '';
    const verifySeconds = Number(/in ([\d.]+) s/.exec(verifyLine)?.[1] ?? NaN);
    // with --verify-on-arrival: how many were verified on arrival, the last of them how far into the collect
    const arrivalLine = /verified (\d+) reports on arrival .*\(the last ones ([\d.]+) s into the collect\)/.exec(
      leader.log.find((l) => l.includes('on arrival since the last collection')) ?? '',
    );
    const figures = {
      devices: DEVICES,
      tampered: TAMPERED,
      deltaLength: info.deltaLength,
      encodedLength: task.params.length,
      uploadBytes: { leader: reports[0]!.leader.length, helper: reports[0]!.helper.length },
      database: args.database ? 'PostgreSQL' : 'PGlite (memory)',
      generationSeconds,
      generationWorkers: WORKERS,
      cached: generationSeconds < 0.05 * DEVICES,
      uploadSeconds,
      collectSeconds,
      verifySeconds,
      verifyOnArrival: args['verify-on-arrival']
        ? { reports: Number(arrivalLine?.[1] ?? 0), lastIntoCollectSeconds: Number(arrivalLine?.[2] ?? NaN) }
        : undefined,
      wallSeconds: wall,
      cpuSeconds: {
        leader: { upload: afterUpload.leader - atStart.leader, collect: atEnd.leader - afterUpload.leader },
        helper: { upload: afterUpload.helper - atStart.helper, collect: atEnd.helper - afterUpload.helper },
      },
      peakRssMiB: { leader: peakRssMiB(leader.pid), helper: peakRssMiB(helper.pid) },
      accepted: body.reports,
      rejected: body.rejected,
      uploadRetries: retries,
      sumMismatches: mismatches,
      maxModelError: worst,
      contributors: published.header.kind === 'global' ? published.header.contributors : undefined,
    };
    const c = figures.cpuSeconds;
    const perReport = (s: number) => ((s / DEVICES) * 1000).toFixed(0);
    console.log(
      `| devices | values (encoded) | database | CPU leader (upload + collect) | CPU helper (upload + collect) | verify ms / report (leader / helper CPU) | peak RSS leader / helper | wall: uploads + collect (verify) | accepted / rejected | sum |`,
    );
    console.log(`|---|---|---|---|---|---|---|---|---|---|`);
    console.log(
      `| ${DEVICES} | ${info.deltaLength} (${task.params.length}) | ${figures.database} | ${(c.leader.upload + c.leader.collect).toFixed(1)} s (${c.leader.upload.toFixed(1)} + ${c.leader.collect.toFixed(1)}) | ${(c.helper.upload + c.helper.collect).toFixed(1)} s (${c.helper.upload.toFixed(1)} + ${c.helper.collect.toFixed(1)}) | ${perReport(c.leader.collect)} / ${perReport(c.helper.collect)} | ${figures.peakRssMiB.leader.toFixed(0)} / ${figures.peakRssMiB.helper.toFixed(0)} MiB | ${wall.toFixed(1)} s: ${uploadSeconds.toFixed(1)} + ${collectSeconds.toFixed(1)} (${verifySeconds.toFixed(1)}) | ${body.reports} / ${body.rejected} | ${mismatches === 0 ? 'exact' : `${mismatches} entries differ`} |`,
    );
    console.log(
      `reports generated in ${generationSeconds.toFixed(1)} s (${WORKERS} worker threads${figures.cached ? ', from the cache' : ''}; not in the wall above); upload ${figures.uploadBytes.leader} + ${figures.uploadBytes.helper} bytes a device`,
    );
    if (figures.verifyOnArrival)
      console.log(
        `verified on arrival: ${figures.verifyOnArrival.reports} reports, the last ${figures.verifyOnArrival.lastIntoCollectSeconds.toFixed(1)} s into the collect; the collect's own pass: ${Number.isNaN(verifySeconds) ? 'none' : `${verifySeconds.toFixed(1)} s`}`,
      );
    console.log(`published model: ${figures.contributors} contributors; largest |published − base − mean delta| = ${worst.toExponential(2)}`);
    if (args.json) await writeFile(args.json, JSON.stringify(figures, null, 2));
    if (mismatches > 0 || body.reports !== honest || body.rejected !== TAMPERED) process.exitCode = 1;
  } catch (error) {
    console.error(`failed at ${new Date().toISOString()}: ${String((error as Error).stack ?? error)}`);
    for (const [name, service] of [
      ['leader', leader],
      ['helper', helper],
    ] as const)
      console.error(`${name} (exit code ${service.child.exitCode}): ${service.log.slice(-10).join('\n')}`);
    throw error;
  } finally {
    for (const service of [leader, helper]) {
      if (service.child.exitCode !== null || service.child.signalCode !== null) continue;
      const exited = new Promise((resolve) => service.child.once('exit', resolve));
      service.child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
