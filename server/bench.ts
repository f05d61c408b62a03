/**
 * `npm run bench -- aggregator [--devices 1000] [--values N] [--database URL | --data DIR]
 *   [--concurrency 16] [--json FILE]`: one round of simulated devices against the service.
 *
 * The service runs as its own process (`npm run aggregator`, the real entry point), so its figures are
 * its own: CPU time (user + system, /proc) over the round, peak resident memory (VmHWM), the decode
 * and publish time it logs, and the wall time of each phase as the devices saw it. The devices run
 * here: every one with its own SecAggClient (keys, shares, masks, unmask shares) and signing key (the
 * consistency round: each signs the survivor lists and fetches the relayed signatures; the devices here do not
 * check the t signatures each, a device's own cost measured by `--browser`), talking HTTP. On this
 * 2-core machine they share the cores with the service, so the wall times include their compute; the
 * service's CPU time is what a deployment with real, remote devices would spend.
 *
 * The base model: `--values N` makes one of N values (default: the app's shipped model, 346,392 values,
 * W, q, b and the ranker). Devices send honest encodings of a few fixed deltas (noise multiplier 0, so
 * the published model can be checked against the expected mean); the service's work does not depend on
 * the values. Dropouts (which cost the service one mask expansion per dropped device's surviving
 * neighbour instead of one self mask) are exercised by server/aggregator.test.ts, not here.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeModelFile } from '../src/core/federated/format';
import { flatten } from '../src/core/federated/params';
import { encodeForSum } from '../src/core/secagg/encode';
import { SurvivorSigner } from '../src/core/secagg/consistency';
import {
  decodeKeysResponse,
  decodeSharesResponse,
  decodeSurvivorsResponse,
  encodeKeysRequest,
  encodeSharesRequest,
  encodeSignatureRequest,
  encodeUnmaskRequest,
  u32ToBytes,
} from '../src/core/secagg/messages';
import { SecAggClient, type AdvertisedKeys, type RoundParams } from '../src/core/secagg/protocol';
import { pool } from '../src/core/pool';
import { benchBase, cpuSeconds, peakRssMiB, request, startService, type AnnouncedRound } from './bench-client';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000' },
    values: { type: 'string' },
    database: { type: 'string' },
    data: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    json: { type: 'string' },
  },
  strict: true,
});
const DEVICES = Number(args.devices);
const CONCURRENCY = Number(args.concurrency);

function startServiceFor(base: string): ReturnType<typeof startService> {
  const database = args.database ? ['--database', args.database] : args.data ? ['--data', args.data] : [];
  // AGGREGATOR_BENCH_NODE_FLAGS adds flags to the service's node (e.g. --cpu-prof).
  const flags = (process.env.AGGREGATOR_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  return startService(['--cohort', String(DEVICES), '--phase-seconds', '3600', '--noise-multiplier', '0', '--base', base, ...database], flags);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'agg-bench-'));
  const base = await benchBase(dir, args.values);
  const baseFile = base.path;
  const service = await startServiceFor(baseFile);
  const cpuAtStart = cpuSeconds(service.pid);
  const phases: Record<string, number> = {};
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await work();
    phases[name] = (performance.now() - started) / 1000;
    console.error(`${name}: ${phases[name]!.toFixed(1)} s`);
    return result;
  };
  try {
    const round = (await request(`${service.url}/v1/round`)) as AnnouncedRound;
    const seed = Buffer.from(round.rotationSeed, 'base64url');
    // A few distinct honest updates (clipped, rotated, rounded); device i sends number i mod 4.
    const deltas = Array.from({ length: 4 }, (_, k) => Float32Array.from({ length: round.deltaLength }, (_, i) => Math.sin(i * 0.37 + k) * 1e-3));
    const encoded = deltas.map((d) => encodeForSum(d, round.noise, seed));

    const startedRound = performance.now();
    // Keys: the index comes back from the service (the client takes it before it shares).
    const devices = await timed('keys (register 1 device = 1 POST)', () =>
      pool(
        Array.from({ length: DEVICES }),
        async () => {
          const client = await SecAggClient.create(0);
          const signer = SurvivorSigner.create();
          const { index, token } = (await request(`${service.url}/v1/rounds/${round.roundId}/keys`, {
            json: encodeKeysRequest({ ...client.advertise(), signingPublicKey: signer.publicKey }),
          })) as { index: number; token: string };
          client.assignIndex(index);
          return { index, token, client, signer };
        },
        CONCURRENCY,
      ),
    );
    let params!: RoundParams;
    // Every device fetches the keys (the service's work); the bench decodes the answer once (checking 2n public keys
    // is each device's own work, n times over here, and would dominate the bench on two cores).
    let keysText = '';
    let keys!: AdvertisedKeys[];
    await timed('shares (GET keys, share, POST)', () =>
      pool(
        devices,
        async (device) => {
          const response = await fetch(`${service.url}/v1/rounds/${round.roundId}/keys`);
          const text = await response.text();
          if (!response.ok) throw new Error(`GET keys: HTTP ${response.status} ${text}`);
          if (text !== keysText) {
            ({ params, keys } = decodeKeysResponse(JSON.parse(text)));
            keysText = text;
          }
          const shares = await device.client.shareKeys(params, keys);
          await request(`${service.url}/v1/rounds/${round.roundId}/shares`, { token: device.token, json: encodeSharesRequest(shares) });
        },
        CONCURRENCY,
      ),
    );
    await timed('masked (GET shares, mask, POST raw u32)', () =>
      pool(
        devices,
        async (device) => {
          const received = decodeSharesResponse(
            await request(`${service.url}/v1/rounds/${round.roundId}/shares`, { token: device.token }),
            device.index,
            params,
          );
          const masked = await device.client.maskInput(encoded[device.index % encoded.length]!, received);
          await request(`${service.url}/v1/rounds/${round.roundId}/masked`, { token: device.token, bytes: u32ToBytes(masked) });
        },
        CONCURRENCY,
      ),
    );
    const lists = new Map<number, { survivors: number[]; dropped: number[] }>();
    await timed('consistency (GET survivors, sign, POST signature: the service verifies it)', () =>
      pool(
        devices,
        async (device) => {
          const signed = decodeSurvivorsResponse(await request(`${service.url}/v1/rounds/${round.roundId}/survivors`), params);
          lists.set(device.index, signed);
          const signature = device.signer.sign(device.index, round.roundId, signed.survivors, signed.dropped);
          await request(`${service.url}/v1/rounds/${round.roundId}/signature`, { token: device.token, json: encodeSignatureRequest(signature) });
        },
        CONCURRENCY,
      ),
    );
    await timed('unmask (GET signatures, unmask, POST; the last POST waits for the decode)', () =>
      pool(
        devices,
        async (device) => {
          await request(`${service.url}/v1/rounds/${round.roundId}/signatures`);
          const { survivors, dropped: gone } = lists.get(device.index)!;
          await request(`${service.url}/v1/rounds/${round.roundId}/unmask`, {
            token: device.token,
            json: encodeUnmaskRequest(device.client.unmask(survivors, gone)),
          });
        },
        CONCURRENCY,
      ),
    );
    // The round is done when the next one is open.
    for (;;) {
      const now = (await request(`${service.url}/v1/round`)) as AnnouncedRound;
      if (now.roundId !== round.roundId) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const wall = (performance.now() - startedRound) / 1000;
    const cpu = cpuSeconds(service.pid) - cpuAtStart;
    const peak = peakRssMiB(service.pid);
    const decodeLine = service.log.find((l) => /done: .* decoded in/.test(l)) ?? '';
    const decodeSeconds = Number(/decoded in ([\d.]+) s/.exec(decodeLine)?.[1] ?? NaN);

    // The published model is base + the mean of the devices' updates.
    const published = await decodeModelFile(new Uint8Array(await (await fetch(`${service.url}/v1/models/latest`)).arrayBuffer()));
    const got = flatten(published.params);
    const want = flatten(base.params);
    let worst = 0;
    for (let i = 0; i < got.length; i++) {
      const mean = devices.reduce((s, d) => s + deltas[d.index % deltas.length]![i]!, 0) / DEVICES;
      worst = Math.max(worst, Math.abs(got[i]! - want[i]! - mean));
    }
    const figures = {
      devices: DEVICES,
      values: round.deltaLength,
      vectorLength: round.vectorLength,
      neighbours: params.neighbours,
      threshold: params.threshold,
      database: args.database ? 'PostgreSQL' : args.data ? 'PGlite (directory)' : 'PGlite (memory)',
      phases,
      roundWallSeconds: wall,
      serviceCpuSeconds: cpu,
      decodeAndPublishSeconds: decodeSeconds,
      servicePeakRssMiB: peak,
      maxModelError: worst,
      contributors: published.header.kind === 'global' ? published.header.contributors : undefined,
    };
    console.log(`| devices | values (u32 sent) | k | t | database | service CPU | decode+publish | service peak RSS | round wall (devices here too) |`);
    console.log(`|---|---|---|---|---|---|---|---|---|`);
    console.log(
      `| ${DEVICES} | ${round.deltaLength} (${round.vectorLength}) | ${params.neighbours} | ${params.threshold} | ${figures.database} | ${cpu.toFixed(1)} s | ${decodeSeconds.toFixed(1)} s | ${peak.toFixed(0)} MiB | ${wall.toFixed(1)} s |`,
    );
    console.log(`published model: ${figures.contributors} contributors; largest |published − base − mean delta| = ${worst.toExponential(2)}`);
    if (args.json) await writeFile(args.json, JSON.stringify(figures, null, 2));
  } finally {
    const exited = new Promise((resolve) => service.child.once('exit', resolve));
    service.child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
