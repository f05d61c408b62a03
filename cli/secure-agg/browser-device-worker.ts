/**
 * The device side of one secure-aggregation round, in a browser's dedicated worker (as the app runs it in
 * its engine's worker), for `npm run bench -- aggregator --browser` (browser-device.ts bundles this file
 * with esbuild and serves it). It runs the app's own code — engine/contribute.ts's Contributor over
 * engine/secagg-device.ts's protocol binding — with the shipped model as the global model and a change of
 * every shared value as the local one, and times each step the device computes and counts the bytes each
 * request sends and receives. After the round it times the steps' parts on their own (X25519 agreements,
 * Shamir splits, AES-CTR mask expansion at the round's length) for the breakdown.
 */
import { readGlobalModel, type SharedModelState } from '../../src/core/federated/client';
import { decodeModelFile } from '../../src/core/federated/format';
import { cloneParams, paramNames } from '../../src/core/federated/params';
import { Contributor, SETTING_CONTRIBUTE, type DeviceProtocol, type RoundClient } from '../../src/engine/contribute';
import { deviceProtocol } from '../../src/engine/secagg-device';

export interface StartMessage {
  type: 'start';
  aggregator: string;
  lifetimeEpsilon: number;
}
import { timeParts, type PartsMessage } from './parts';

export type { PartsMessage };
export interface Traffic {
  requests: number;
  up: number;
  down: number;
}
export type WorkerEvent =
  | { type: 'stage'; stage: string; message?: string; roundId?: string }
  | { type: 'round'; steps: Record<string, number>; traffic: Record<string, Traffic>; deltaLength: number; contributors?: number }
  | { type: 'parts'; parts: Record<string, number[]> }
  | { type: 'error'; message: string };

const post = (event: WorkerEvent) => (self as unknown as Worker).postMessage(event);
const steps: Record<string, number> = {};
const traffic: Record<string, Traffic> = {};

async function timed<T>(name: string, work: () => T | Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    steps[name] = (steps[name] ?? 0) + performance.now() - started;
  }
}
function timedSync<T>(name: string, work: () => T): T {
  const started = performance.now();
  try {
    return work();
  } finally {
    steps[name] = (steps[name] ?? 0) + performance.now() - started;
  }
}

/** The request's route with the round id taken out, e.g. "POST /v1/rounds/:id/masked". */
function route(url: URL, method: string): string {
  return `${method} ${url.pathname.replace(/^\/v1\/rounds\/[^/]+/, '/v1/rounds/:id')}`;
}

function bodyBytes(body: BodyInit | null | undefined): number {
  if (body === undefined || body === null) return 0;
  if (typeof body === 'string') return new TextEncoder().encode(body).byteLength;
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) return body.byteLength;
  throw new Error('a request body of a kind this bench does not count');
}

async function countedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const url = new URL(String(input));
  const key = route(url, init?.method ?? 'GET');
  const response = await fetch(input, init);
  const down = (await response.clone().arrayBuffer()).byteLength;
  const entry = (traffic[key] ??= { requests: 0, up: 0, down: 0 });
  entry.requests++;
  entry.up += bodyBytes(init?.body);
  entry.down += down;
  return response;
}

/** The real protocol, each of the device's steps timed. */
function timedProtocol(): DeviceProtocol {
  const real = deviceProtocol();
  const client = (c: RoundClient): RoundClient => ({
    keysBody: () => timedSync('1 keys: two X25519 key pairs, seed commitment', () => c.keysBody()),
    setIndex: (index) => c.setIndex(index),
    sharesBody: (answer) => timed('2 shares: check the cohort’s keys, Shamir-split two secrets, k agreements + AES-GCM seals', () => c.sharesBody(answer)),
    maskedBody: (input, answer) => timed('3 masked: open k shares, k pairwise agreements, k + 1 AES-CTR masks', () => c.maskedBody(input, answer)),
    signatureBody: (answer) => timedSync('4 consistency: sign the survivor lists (Ed25519)', () => c.signatureBody(answer)),
    unmaskBody: (answer) => timedSync('4 unmask: verify the survivors’ signatures, check the survivors, pick the shares', () => c.unmaskBody(answer)),
  });
  return {
    createClient: async () => client(await timed('0 new client (random keys and seed)', () => real.createClient())),
    encodeForSum: (delta, noise, seed) => timedSync('encode: clip, rotate, round, noise share', () => real.encodeForSum(delta, noise, seed)),
    encodedLength: real.encodedLength,
    epsilon: real.epsilon,
  };
}

async function runRound(message: StartMessage): Promise<void> {
  const file = new Uint8Array(await (await fetch('/base.prfed')).arrayBuffer());
  const { header, params: global } = await decodeModelFile(file, 'the base model');
  const local = cloneParams(global);
  // A change of every shared value (as local training makes: b and q move for every item); encodeForSum clips it to C.
  let i = 0;
  for (const name of paramNames(local)) {
    const values = local[name]!.values;
    for (let j = 0; j < values.length; j++) values[j]! += Math.sin(0.37 * i++) * 1e-3;
  }
  let state: SharedModelState = { modelId: header.modelId, catalogFingerprint: header.catalogFingerprint, local, global };
  const settings: Record<string, unknown> = { [SETTING_CONTRIBUTE]: true };
  // What the round cost, copied when its model is imported (the contributor then polls for the next round until stopped).
  let finished: (result: { contributors: number | undefined; traffic: Record<string, Traffic> }) => void = () => undefined;
  const done = new Promise<{ contributors: number | undefined; traffic: Record<string, Traffic> }>((resolve) => (finished = resolve));
  const contributor = new Contributor({
    origin: message.aggregator,
    promised: { clipNorm: 1, noiseMultiplier: 1, expectedCohort: 100, dropoutTolerance: 1 / 3, lifetimeEpsilon: message.lifetimeEpsilon },
    loadProtocol: async () => timedProtocol(),
    fetch: countedFetch,
    sharedState: () => state,
    importGlobal: async (bytes, source) => {
      const params = await timed('5 import the published model (validate, decode)', () => readGlobalModel(bytes, { modelId: state.modelId, catalogFingerprint: state.catalogFingerprint, params: state.global }, source));
      state = { ...state, local: cloneParams(params), global: params };
      const { header: published } = await decodeModelFile(bytes);
      return published.kind === 'global' && published.contributors !== undefined ? { contributors: published.contributors } : {};
    },
    readSettings: async () => ({ ...settings }),
    putSettings: async (values) => void Object.assign(settings, values),
    report: (report) => {
      post({ type: 'stage', stage: report.stage, ...(report.message ? { message: report.message } : {}), ...(report.roundId ? { roundId: report.roundId } : {}) });
      if (report.lastRound?.outcome === 'imported') finished({ contributors: report.lastRound.contributors, traffic: structuredClone(traffic) });
      if (report.stage === 'error') post({ type: 'error', message: report.message ?? 'error' });
      if (report.lastRound?.outcome === 'abandoned') post({ type: 'error', message: `round ${report.lastRound.roundId} was abandoned` });
    },
    // The app's own polling (every 2 s), so the traffic is the app's.
    retryMs: 3_600_000,
  });
  await contributor.load();
  const { contributors, traffic: spent } = await done;
  await contributor.stop();
  const deltaLength = paramNames(global).reduce((n, name) => n + global[name]!.values.length, 0);
  post({ type: 'round', steps, traffic: spent, deltaLength, ...(contributors !== undefined ? { contributors } : {}) });
}

/** The parts of steps 2 and 3 on their own (parts.ts), posted to the bench. */
async function runParts(message: PartsMessage): Promise<void> {
  post({ type: 'parts', parts: await timeParts(message) });
}

self.onmessage = (event: MessageEvent<StartMessage | PartsMessage>) => {
  const work = event.data.type === 'start' ? runRound(event.data) : runParts(event.data);
  work.catch((error: unknown) => post({ type: 'error', message: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error) }));
};
