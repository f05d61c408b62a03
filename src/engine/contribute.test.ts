/**
 * The device's side of secure aggregation (engine/contribute.ts) with the real protocol binding
 * (secagg-device.ts) against the real service (server/, in-process PGlite) over HTTP: nothing is sent
 * without consent; three devices complete a round, one leaving after its masked upload, and the two
 * others import the published model through the import path. Plus the refusals a device makes itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readGlobalModel, type SharedModelState } from '../core/federated/client';
import { cloneParams, type ParamSet } from '../core/federated/params';
import type { PromisedNoise } from '../core/deployment';
import { SimDevice, startService, testDatabase, tinyBase, waitForRound, type TestService } from '../../server/testing';
import { encodeForSum } from '../core/secagg/encode';
import {
  base64UrlDecode,
  Contributor,
  type ContributionReport,
  type RoundNoise,
  SETTING_CONTRIBUTE,
  SETTING_ROUNDS,
  sharedDelta,
  type ContributorDeps,
} from './contribute';
import { deviceProtocol } from './secagg-device';
import { until } from './testing/until';

// A lifetime budget no test round reaches, except where a test sets its own.
const PROMISED: PromisedNoise = { clipNorm: 1, noiseMultiplier: 1, expectedCohort: 4, dropoutTolerance: 1 / 3, lifetimeEpsilon: 1000 };

interface Device {
  contributor: Contributor;
  states: ContributionReport[];
  settings: Record<string, unknown>;
  requests: string[];
  /** Content type and size of each masked upload. */
  masked: { type: string | undefined; bytes: number }[];
  imported: ParamSet[];
  state: SharedModelState;
}

function device(
  origin: string,
  global: ParamSet,
  change: number,
  options: { refuse?: RegExp; settings?: Record<string, unknown>; lifetimeEpsilon?: number } = {},
): Device {
  const local = cloneParams(global);
  local.q!.values[0]! += change;
  local.W!.values[1]! -= change;
  const d: Device = {
    states: [],
    settings: { ...options.settings },
    requests: [],
    masked: [],
    imported: [],
    state: { modelId: 'test-model@1', catalogFingerprint: 'test-catalog', local, global },
    contributor: undefined as unknown as Contributor,
  };
  const deps: ContributorDeps = {
    origin,
    promised: { ...PROMISED, ...(options.lifetimeEpsilon !== undefined ? { lifetimeEpsilon: options.lifetimeEpsilon } : {}) },
    loadProtocol: async () => deviceProtocol(),
    fetch: async (input, init) => {
      const url = String(input);
      d.requests.push(`${init?.method ?? 'GET'} ${new URL(url).pathname}`);
      if (url.endsWith('/masked'))
        d.masked.push({ type: (init?.headers as Record<string, string>)['Content-Type'], bytes: (init?.body as Uint8Array).byteLength });
      if (options.refuse?.test(url)) throw new TypeError('Failed to fetch');
      return fetch(input, init);
    },
    sharedState: () => d.state,
    importGlobal: async (bytes, source) => {
      const params = await readGlobalModel(bytes, { modelId: d.state.modelId, catalogFingerprint: d.state.catalogFingerprint, params: d.state.global }, source);
      d.imported.push(params);
      d.state = { ...d.state, local: cloneParams(params), global: cloneParams(params) };
      const { decodeModelFile } = await import('../core/federated/format');
      const { header } = await decodeModelFile(bytes);
      return header.kind === 'global' && header.contributors !== undefined ? { contributors: header.contributors } : {};
    },
    readSettings: async () => ({ ...d.settings }),
    putSettings: async (values) => void Object.assign(d.settings, values),
    report: (state) => void d.states.push(state),
    pollMs: 40,
    retryMs: 200,
  };
  d.contributor = new Contributor(deps);
  return d;
}

const last = (d: Device) => d.states.at(-1)!;

describe('Contributor against the aggregation service', () => {
  let service: TestService | undefined;
  const devices: Device[] = [];
  afterEach(async () => {
    for (const d of devices.splice(0)) await d.contributor.stop();
    await service?.close();
    service = undefined;
  });

  async function start(phaseSeconds = 30) {
    const base = await tinyBase(6, 2, 4);
    service = await startService({
      db: await testDatabase(),
      base,
      quiet: true,
      config: { cohort: 4, minCohort: 3, phaseSeconds, noise: { clipNorm: 1, noiseMultiplier: 1, dropoutTolerance: 1 / 3 } },
    });
    return base;
  }

  it('sends nothing while the consent is off, and nothing after it is turned off', async () => {
    const base = await start();
    const d = device(service!.url, base.params, 0.1);
    devices.push(d);
    await d.contributor.load();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(d.requests).toEqual([]);
    expect(last(d)).toMatchObject({ enabled: false, stage: 'off', roundsJoined: 0, epsilon: 0 });
    expect(last(d).epsilonNext).toBeGreaterThan(0);

    await d.contributor.setEnabled(true);
    expect(d.settings[SETTING_CONTRIBUTE]).toBe(true);
    await until(() => d.requests.length > 0, 'a request');
    await d.contributor.setEnabled(false);
    expect(d.settings[SETTING_CONTRIBUTE]).toBe(false);
    const sent = d.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(d.requests.length).toBe(sent);
    expect(last(d)).toMatchObject({ enabled: false, stage: 'off' });
  });

  // Four devices: with three (t = 2, each secret shared to 2 neighbours with threshold 2) a single dropout cannot be unmasked.
  it('three devices complete a round that a fourth leaves after its masked upload; they import the published model', async () => {
    // Deadlines long enough for a loaded machine (a device too slow for one is dropped), short for the one that leaves.
    const base = await start(4);
    const staying = [device(service!.url, base.params, 0.2), device(service!.url, base.params, -0.1), device(service!.url, base.params, 0.05)];
    // The third never learns who survived (so never unmasks) and stops once its masked vector is sent.
    const leaving = device(service!.url, base.params, 0.3, { refuse: /\/survivors$/ });
    devices.push(...staying, leaving);
    for (const d of devices) await d.contributor.load();
    for (const d of devices) await d.contributor.setEnabled(true);
    try {
      // Ever reported (it may be past it at once: it fails to fetch the survivors as soon as the unmask phase opens).
      await until(() => leaving.states.some((state) => state.stage === 'masked'), 'the leaving device’s masked upload');
    } catch (error) {
      console.log(
        service!.logs.join('\n'),
        devices.map((d) => JSON.stringify(d.states.slice(-4).map(({ stage, message, roundId }) => ({ stage, message, roundId })))).join('\n'),
      );
      throw error;
    }
    await leaving.contributor.stop();

    try {
      for (const d of staying) await until(() => d.imported.length === 1 && last(d).lastRound !== undefined, 'the import', 60_000);
    } catch (error) {
      console.log(
        service!.logs.join('\n'),
        devices
          .map((d) => JSON.stringify(d.states.slice(-3).map(({ stage, message, roundId, lastRound }) => ({ stage, message, roundId, lastRound }))))
          .join('\n'),
        devices.map((d) => d.requests.join(', ')).join('\n'),
      );
      throw error;
    }
    // They go on to the next round at once (which three cannot complete): stopped here to look at the first.
    for (const d of staying) await d.contributor.stop();
    const roundId = last(staying[0]!).lastRound!.roundId;
    for (const d of staying) {
      const done = d.states.find((state) => state.stage === 'done');
      expect(done).toMatchObject({ roundId, roundsJoined: 1, lastRound: { roundId, outcome: 'imported', contributors: 4 } });
      expect(d.states.map((state) => state.stage).filter((stage, i, all) => stage !== all[i - 1])).toEqual(
        expect.arrayContaining(['waiting', 'keys', 'shares', 'masked', 'unmask', 'importing', 'done']),
      );
      expect(last(d)).toMatchObject({ enabled: false, stage: 'off', roundsJoined: 1 });
      expect(d.settings[SETTING_ROUNDS]).toEqual([1]);
      expect(last(d).epsilon).toBeGreaterThan(0);
    }
    expect(leaving.settings[SETTING_ROUNDS]).toEqual([1]);
    // Both imported the same model, and it is not the base: the sum was decoded and applied.
    expect(staying[1]!.imported[0]!.q!.values).toEqual(staying[0]!.imported[0]!.q!.values);
    expect(staying[0]!.imported[0]!.q!.values.some((v, i) => v !== base.params.q!.values[i])).toBe(true);
    // Each device sent each step once, and only to the service's API.
    for (const d of staying) {
      for (const step of ['keys', 'shares', 'masked', 'signature', 'unmask'])
        expect(d.requests.filter((r) => r === `POST /v1/rounds/${roundId}/${step}`)).toHaveLength(1);
    }
    expect(leaving.requests.filter((r) => r.startsWith('POST') && (r.endsWith('/unmask') || r.endsWith('/signature')))).toEqual([]);
    // The masked vector goes raw: 4 bytes a value of the round's 32 (30 padded), not base64url JSON.
    for (const d of devices) expect(d.masked).toEqual([{ type: 'application/octet-stream', bytes: 4 * 32 }]);
  }, 120_000);

  it('a device a round behind takes the published model and joins the very round that starts from it', async () => {
    const base = await tinyBase(6, 2, 4);
    service = await startService({
      db: await testDatabase(),
      base,
      quiet: true,
      config: { cohort: 3, minCohort: 3, phaseSeconds: 30, noise: { clipNorm: 1, noiseMultiplier: 1, dropoutTolerance: 1 / 3 } },
    });
    const url = service.url;
    /** Simulated devices (server/testing.ts) taking a round's steps, each once the phase is open; each sends a change of every value. */
    const simulated = async (count: number, before: () => Promise<void> = async () => undefined) => {
      const round = (await (await fetch(`${url}/v1/round`)).json()) as { roundId: string; deltaLength: number; noise: RoundNoise; rotationSeed: string };
      const roundId = round.roundId;
      const change = encodeForSum(
        Float32Array.from({ length: round.deltaLength }, (_, i) => 0.01 * Math.sin(i + 1)),
        round.noise,
        base64UrlDecode(round.rotationSeed),
      );
      const sims = await Promise.all(Array.from({ length: count }, () => SimDevice.register(url, roundId)));
      await before();
      await waitForRound(url, (r) => r.phase === 'shares');
      await Promise.all(sims.map((d) => d.sendShares()));
      await waitForRound(url, (r) => r.phase === 'masked');
      await Promise.all(sims.map((d) => d.sendMasked(change)));
      await waitForRound(url, (r) => r.phase === 'consistency');
      await Promise.all(sims.map((d) => d.sendSignature()));
      await waitForRound(url, (r) => r.phase === 'unmask');
      await Promise.all(sims.map((d) => d.sendUnmask()));
      await waitForRound(url, (r) => r.roundId !== roundId, 60_000);
      return roundId;
    };
    const round1 = await simulated(3);
    // Round 2 starts from round 1's model; the device still holds the base model: a round behind.
    const late = device(url, base.params, 0.3);
    devices.push(late);
    await late.contributor.load();
    const round2 = await simulated(2, () => late.contributor.setEnabled(true));
    try {
      await until(() => late.imported.length === 2 && last(late).lastRound?.roundId === round2, 'the catch-up import and round 2’s model', 60_000);
    } catch (error) {
      throw new Error(`${String(error)}\n${service.logs.join('\n')}\n${JSON.stringify(late.states.map((x) => [x.stage, x.roundId, x.message]))}`);
    }
    // It goes on to round 3 at once (which it cannot complete alone): stopped here to look at the first two.
    await late.contributor.stop();
    expect(late.requests.filter((r) => r.startsWith('POST') && r.endsWith('/keys'))[0]).toBe(`POST /v1/rounds/${round2}/keys`);
    expect(late.requests).not.toContain(`POST /v1/rounds/${round1}/keys`);
    // It took round 1's model (the catch-up), then joined round 2 and took its model.
    const taken = late.states.flatMap((state) => (state.lastRound ? [JSON.stringify(state.lastRound)] : [])).filter((x, i, all) => x !== all[i - 1]);
    expect(taken.map((x) => JSON.parse(x) as unknown)).toEqual([
      { roundId: round1, outcome: 'imported', contributors: 3 },
      { roundId: round2, outcome: 'imported', contributors: 3 },
    ]);
  }, 120_000);

  it('refuses a round with less noise than the deployment promised, and sends no key', async () => {
    const base = await tinyBase(6, 2, 4);
    service = await startService({
      db: await testDatabase(),
      base,
      quiet: true,
      config: { cohort: 3, minCohort: 3, noise: { clipNorm: 1, noiseMultiplier: 0.5, dropoutTolerance: 1 / 3 } },
    });
    const d = device(service.url, base.params, 0.1);
    devices.push(d);
    await d.contributor.load();
    await d.contributor.setEnabled(true);
    await until(() => last(d).stage === 'error', 'the refusal');
    expect(last(d).message).toMatch(/noise \(σ = 0\.5.*weaker than this deployment promised \(σ = 1/);
    expect(d.requests.filter((r) => r.startsWith('POST'))).toEqual([]);
  });
});

describe('the lifetime ε budget', () => {
  let service: TestService | undefined;
  const devices: Device[] = [];
  afterEach(async () => {
    for (const d of devices.splice(0)) await d.contributor.stop();
    await service?.close();
    service = undefined;
  });

  /** ε after 1, 2 and 3 rounds at the promised σ, as this device's accountant computes it (read from its report). */
  async function epsilons(origin: string, params: ParamSet): Promise<number[]> {
    const out: number[] = [];
    for (const rounds of [0, 1, 2]) {
      const probe = device(origin, params, 0.1, { settings: { [SETTING_ROUNDS]: Array.from({ length: rounds }, () => 1) } });
      await probe.contributor.load();
      out.push(last(probe).epsilonNext);
    }
    return out;
  }

  it('reports spent and the budget; with the next round past it, sends nothing at all (not even a poll) and says so', async () => {
    const base = await tinyBase(6, 2, 4);
    service = await startService({
      db: await testDatabase(),
      base,
      quiet: true,
      config: { cohort: 3, minCohort: 3, noise: { clipNorm: 1, noiseMultiplier: 1, dropoutTolerance: 1 / 3 } },
    });
    const [e1, e2, e3] = await epsilons(service.url, base.params);
    expect(e1).toBeLessThan(e2!);
    expect(e2).toBeLessThan(e3!);
    // Two rounds joined; the budget admits two but not three.
    const limit = (e2! + e3!) / 2;
    const d = device(service.url, base.params, 0.1, { settings: { [SETTING_ROUNDS]: [1, 1] }, lifetimeEpsilon: limit });
    devices.push(d);
    await d.contributor.load();
    expect(last(d)).toMatchObject({ roundsJoined: 2, epsilonBudget: limit, epsilon: e2, epsilonNext: e3 });
    await d.contributor.setEnabled(true);
    await until(() => /lifetime budget/.test(last(d).message ?? ''), 'the refusal');
    expect(last(d)).toMatchObject({ enabled: true, stage: 'waiting', roundsJoined: 2 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(d.requests).toEqual([]);
    expect(d.settings[SETTING_ROUNDS]).toEqual([1, 1]);
  });

  it('checks the budget again against the record as stored when a round opens, before sending its keys', async () => {
    const base = await tinyBase(6, 2, 4);
    service = await startService({
      db: await testDatabase(),
      base,
      quiet: true,
      config: { cohort: 3, minCohort: 3, noise: { clipNorm: 1, noiseMultiplier: 1, dropoutTolerance: 1 / 3 } },
    });
    const [, e2, e3] = await epsilons(service.url, base.params);
    const limit = (e2! + e3!) / 2;
    const d = device(service.url, base.params, 0.1, { settings: { [SETTING_ROUNDS]: [1] }, lifetimeEpsilon: limit });
    devices.push(d);
    await d.contributor.load();
    expect(last(d)).toMatchObject({ roundsJoined: 1, epsilonNext: e2 });
    // Another tab (or an imported data file) recorded a round since this one read the record.
    d.settings[SETTING_ROUNDS] = [1, 1];
    await d.contributor.setEnabled(true);
    await until(() => /lifetime budget/.test(last(d).message ?? ''), 'the refusal');
    expect(last(d)).toMatchObject({ roundsJoined: 2, epsilon: e2, epsilonNext: e3 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // It looked at the open round, and sent nothing to it.
    expect(d.requests.filter((r) => r.startsWith('POST'))).toEqual([]);
    expect(d.requests.every((r) => r === 'GET /v1/round')).toBe(true);
  });
});

describe('sharedDelta', () => {
  it('is local − global over the shared tensors in sorted-name order (no user vector exists in the state)', async () => {
    const base = await tinyBase(2, 1, 2);
    const local = cloneParams(base.params);
    local.b!.values[1]! += 0.5;
    const delta = sharedDelta({ modelId: 'm', catalogFingerprint: 'c', local, global: base.params });
    // Sorted names: W (2), b (2), q (2), ranker/bias (1), ranker/weights (3).
    expect(delta).toHaveLength(10);
    expect([...delta].map((x) => Math.round(x * 10) / 10)).toEqual([0, 0, 0, 0.5, 0, 0, 0, 0, 0, 0]);
  });
});

describe('settingsToImport (a data file imported)', () => {
  it('never turns the consent on, and never shortens the record of rounds joined', async () => {
    const { settingsToImport } = await import('./personal-model');
    const file = { [SETTING_CONTRIBUTE]: true, [SETTING_ROUNDS]: [1], other: 'x' };
    expect(settingsToImport(file, { [SETTING_CONTRIBUTE]: false, [SETTING_ROUNDS]: [1, 2, 1] }, false)).toEqual({ [SETTING_ROUNDS]: [1, 2, 1], other: 'x' });
    expect(settingsToImport({ [SETTING_ROUNDS]: [1, 1, 1, 1] }, { [SETTING_ROUNDS]: [1] }, false)).toEqual({ [SETTING_ROUNDS]: [1, 1, 1, 1] });
  });
});
