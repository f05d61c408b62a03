import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ParamSet } from '../../src/core/federated/params';
import type { SharedParams } from '../federated-sim/local-sgd';
import { secureAggBench, type SecureBenchContext, type SecureBenchOptions } from './bench';
import { parsePerEpsilon } from './per-epsilon';
import { verifiableNoiseMultiplier } from './verifiable-sum';

// A toy federation: 9 devices, 4 items, d = 2, k = 3. Each device's update is a fixed small vector, so the
// harness's plumbing (which tensors each ε exports, its rounds, the protocol, the dropout check) is what is tested.
const users = 9;
const items = 4;
const d = 2;
const k = 3;

function context(exported: string[]): SecureBenchContext {
  const toParamSet = (p: SharedParams): ParamSet => ({
    W: { shape: [d, k], values: p.W },
    q: { shape: [items, d], values: p.q },
    b: { shape: [items], values: p.b },
  });
  return {
    userCount: users,
    itemCount: items,
    factors: d,
    textDim: k,
    seed: 7,
    delta: 1e-5,
    validation: true,
    deviceSeen: Array.from({ length: users }, (_, u) => new Set([u % items])),
    textOnlyGlobal: () => ({ W: new Float32Array(d * k), q: new Float32Array(items * d), b: new Float32Array(items) }),
    toParamSet,
    withParamSet: (base, p) => ({ W: p.W?.values ?? base.W, q: p.q?.values ?? base.q, b: p.b?.values ?? base.b }),
    vectorsOf: (p) => p.q,
    localUpdate: (global, _vectors, client) => {
      const set = toParamSet(global);
      const raw: ParamSet = Object.fromEntries(
        Object.entries(set).map(([name, t]) => [name, { shape: t.shape, values: t.values.map((_, j) => 0.01 * (((client + j) % 3) - 1)) }]),
      );
      return { client, raw };
    },
    deviceFittedMetrics: () => ({ hr: 0.5, ndcg: 0.25 }),
    itemEffectScores: (delta) => {
      const names = Object.keys(delta).sort().join(',');
      if (exported.at(-1) !== names) exported.push(names);
      return Float64Array.from({ length: items }, (_, i) => delta.b?.values[i] ?? 0);
    },
    central: { bpr: { own: { hr: 0.6, ndcg: 0.3 }, fitted: { hr: 0.6, ndcg: 0.31 }, epochs: 1 }, softmax: { hr: 0.7, ndcg: 0.4 }, softmaxSettings: 'toy' },
    localNoise: () => ({ noiseMultiplier: 1, final: { hr: 0.4, ndcg: 0.2 } }),
    localNoiseSettings: 'toy',
  };
}

describe('secureAggBench: per-ε settings in one run', () => {
  let logs: string[];
  beforeEach(() => {
    logs = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logs.push(a.join(' ')));
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  it('runs each ε with its own export and rounds, through the protocol, and checks the dropout round with the consistency round', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'secagg-bench-'));
    const options: SecureBenchOptions = {
      base: { shared: ['W', 'q', 'b'], shrink: 'rows', rounds: 2, clipNorm: 0.5, serverLearningRate: 10 },
      perEpsilon: parsePerEpsilon('1:shared=W+b,shrink=james-stein,rounds=3'),
      epsilons: [Infinity, 8, 1],
      serverOptimizer: { kind: 'sgd', momentum: 0, tau: 1e-3 },
      clipShares: null,
      qRows: null,
      localTraining: 'toy',
      rowThreshold: 0,
      sumNoise: 'protocol',
      dropoutCheck: 0.3,
      dropoutConsistency: true,
      attackClients: 2,
      costDevices: 0,
      appDeltaLength: 10,
      appDeltaLayout: 'toy',
      curveEpsilons: [],
      localNoiseEpsilons: [],
      json: join(dir, 'out.json'),
      svg: join(dir, 'curve.svg'),
      started: performance.now(),
    };
    const exported: string[] = [];
    await secureAggBench(context(exported), options);
    const out = JSON.parse(await readFile(join(dir, 'out.json'), 'utf8')) as {
      secure: { epsilon: number | null; settings: { shared: string[]; rounds: number }; length: number; perRound: unknown[]; protocol: unknown[] }[];
      dropout: { exact: boolean; consistency: boolean; dropped: number; length: number };
    };
    const [inf, eight, one] = out.secure;
    expect(inf!.epsilon).toBeNull();
    expect(eight!.settings.shared).toEqual(['W', 'q', 'b']);
    expect(eight!.length).toBe(d * k + items * d + items);
    expect(eight!.perRound).toHaveLength(3); // round 0 + 2 rounds
    expect(eight!.protocol).toHaveLength(2); // the protocol ran in every round
    expect(one!.settings).toMatchObject({ shared: ['W', 'b'], rounds: 3 });
    expect(one!.length).toBe(d * k + items);
    expect(one!.perRound).toHaveLength(4);
    expect(one!.protocol).toHaveLength(3);
    // The membership attack decodes each run's last sum with that run's own layout.
    expect(exported).toEqual(['W,b,q', 'W,b']); // ∞ and 8 (W, q, b), then 1 (W, b)
    // The dropout check runs on ε = 8's last round (its W, q, b length) with the consistency round, and decodes exactly.
    expect(out.dropout).toMatchObject({ exact: true, consistency: true, dropped: 3, length: d * k + items * d + items });
    const report = logs.join('\n');
    expect(report).toContain('ε = 1: export W, b, 3 rounds');
    expect(report).toMatch(/consistency round RUN/);
    expect(await readFile(join(dir, 'curve.svg'), 'utf8')).toContain('<svg');
  }, 60_000);

  it('runs every round through the verifiable mode with z from its accountant (--verifiable)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'secagg-bench-'));
    const options: SecureBenchOptions = {
      base: { shared: ['W', 'q', 'b'], shrink: 'rows', rounds: 2, clipNorm: 0.5, serverLearningRate: 10 },
      perEpsilon: parsePerEpsilon('1:shared=W+b,shrink=james-stein,rounds=3'),
      epsilons: [8, 1],
      serverOptimizer: { kind: 'sgd', momentum: 0, tau: 1e-3 },
      clipShares: null,
      qRows: null,
      localTraining: 'toy',
      rowThreshold: 0,
      sumNoise: 'verifiable',
      verifiableWorkers: 0,
      dropoutCheck: 0,
      dropoutConsistency: false,
      attackClients: 0,
      costDevices: 0,
      appDeltaLength: 10,
      appDeltaLayout: 'toy',
      curveEpsilons: [],
      localNoiseEpsilons: [],
      json: join(dir, 'out.json'),
      started: performance.now(),
    };
    await secureAggBench(context([]), options);
    const out = JSON.parse(await readFile(join(dir, 'out.json'), 'utf8')) as {
      secure: {
        epsilon: number;
        settings: { rounds: number };
        length: number;
        noiseMultiplier: number;
        epsilonReported: number;
        perRound: unknown[];
        protocol: unknown[];
        verifiable: { devices: number; accepted: number; rejected: number }[];
      }[];
    };
    const [eight, one] = out.secure;
    expect(eight!.protocol).toEqual([]); // not the masked protocol
    expect(eight!.verifiable).toHaveLength(2);
    expect(eight!.verifiable.every((v) => v.devices === users && v.accepted === users && v.rejected === 0)).toBe(true);
    expect(one!.verifiable).toHaveLength(3);
    expect(eight!.noiseMultiplier).toBeCloseTo(verifiableNoiseMultiplier(8, 1e-5, 2, 0.5, eight!.length), 10);
    expect(one!.epsilonReported).toBeLessThanOrEqual(1);
    expect(one!.epsilonReported).toBeGreaterThan(0.999);
    expect(logs.join('\n')).toMatch(/verifiable mode, ε = 8 \|/);
  }, 60_000);
});
