import { describe, expect, it } from 'vitest';
import { aggregateModelFiles, fedAvg, trimmedMean, type NamedModelFile } from './aggregate';
import type { DeltaHeader, GlobalHeader } from './format';
import type { ParamSet } from './params';

const vec = (...xs: number[]): ParamSet => ({ w: { shape: [xs.length], values: Float32Array.from(xs) } });
const values = (p: ParamSet): number[] => [...p.w!.values];

const header = {
  format: 'private-recs-federated',
  formatVersion: 1,
  modelId: 'm@1',
  catalogFingerprint: 'cat:1',
  params: [{ name: 'w', shape: [2] }],
} as const;
const GLOBAL_SHA = 'a'.repeat(64);
function deltaFile(name: string, xs: number[], extra: Partial<DeltaHeader> = {}): NamedModelFile {
  const h: DeltaHeader = {
    ...header,
    params: [{ name: 'w', shape: [xs.length] }],
    payloadSha256: 'b'.repeat(64),
    kind: 'delta',
    clipNorm: 1,
    noiseMultiplier: 1,
    epsilonSpent: 1,
    delta: 1e-5,
    weight: 1,
    ...extra,
  };
  return { name, file: { header: h, params: vec(...xs) } };
}
function globalFile(xs: number[], extra: Partial<GlobalHeader> = {}): NamedModelFile {
  const h: GlobalHeader = { ...header, params: [{ name: 'w', shape: [xs.length] }], payloadSha256: GLOBAL_SHA, kind: 'global', ...extra };
  return { name: 'global.fed', file: { header: h, params: vec(...xs) } };
}

describe('fedAvg', () => {
  it('adds the weighted mean of the deltas to the global model', () => {
    const out = fedAvg(vec(1, 1), [
      { weight: 1, params: vec(3, 0) },
      { weight: 3, params: vec(-1, 4) },
    ]);
    expect(values(out)).toEqual([1 + 0, 1 + 3]);
  });
});

describe('trimmedMean', () => {
  it('drops the extremes per coordinate, so one poisoned delta cannot move the result', () => {
    const honest = [vec(1, 2), vec(1.2, 2.2), vec(0.8, 1.8), vec(1.1, 2.1), vec(0.9, 1.9)];
    const poisoned = [...honest.slice(0, 4), vec(1000, -1000)];
    const out = trimmedMean(vec(0, 0), poisoned, 0.2); // drops 1 at each end of 5
    expect(values(out)[0]).toBeCloseTo((1 + 1.1 + 1.2) / 3, 5);
    expect(values(out)[1]).toBeCloseTo((1.8 + 2 + 2.1) / 3, 5);
    expect(
      values(
        fedAvg(
          vec(0, 0),
          poisoned.map((params) => ({ weight: 1, params })),
        ),
      )[0],
    ).toBeGreaterThan(100);
  });

  it('is the plain mean with trim 0, and refuses a trim that leaves nothing', () => {
    expect(values(trimmedMean(vec(1), [vec(1), vec(2), vec(6)], 0))).toEqual([4]);
    expect(() => trimmedMean(vec(1), [vec(1)], 0.5)).toThrow(/\[0, 0.5\)/);
  });
});

describe('aggregateModelFiles', () => {
  it('aggregates compatible files into a global model header', () => {
    const result = aggregateModelFiles(globalFile([1, 1]), [
      deltaFile('a.fed', [2, 0], { weight: 1 }),
      deltaFile('b.fed', [0, 2], { weight: 3, baseSha256: GLOBAL_SHA }),
    ]);
    expect(values(result.params)).toEqual([1.5, 2.5]);
    expect(result.info).toEqual({ kind: 'global', modelId: 'm@1', catalogFingerprint: 'cat:1', contributors: 2, aggregation: 'fedavg' });
    expect(result.totalWeight).toBe(4);
  });

  it('starts from zeros when there is no global model', () => {
    const result = aggregateModelFiles(null, [deltaFile('a.fed', [2, 0]), deltaFile('b.fed', [0, 2])], { method: 'trimmed-mean', trim: 0 });
    expect(values(result.params)).toEqual([1, 1]);
  });

  it('refuses mixed model ids, fingerprints, shapes, bases and kinds, naming the file and the mismatch', () => {
    const g = globalFile([0, 0]);
    const a = deltaFile('a.fed', [1, 1]);
    expect(() => aggregateModelFiles(g, [a, deltaFile('b.fed', [1, 1], { modelId: 'm@2' })])).toThrow(
      "b.fed: model id 'm@2' does not match 'm@1' of global.fed",
    );
    expect(() => aggregateModelFiles(null, [a, deltaFile('b.fed', [1, 1], { catalogFingerprint: 'cat:2' })])).toThrow(
      "b.fed: catalog fingerprint 'cat:2' does not match 'cat:1' of a.fed",
    );
    expect(() => aggregateModelFiles(g, [deltaFile('c.fed', [1, 1, 1])])).toThrow(
      "c.fed: dimensions differ from global.fed: parameter 'w' has shape [3], expected [2]",
    );
    expect(() => aggregateModelFiles(g, [deltaFile('d.fed', [1, 1], { baseSha256: 'c'.repeat(64) })])).toThrow(
      /d.fed: was computed against a different global model/,
    );
    expect(() => aggregateModelFiles(null, [a, globalFile([1, 1])])).toThrow(/global.fed: is a global model, not a delta/);
    expect(() => aggregateModelFiles(g, [])).toThrow(/no delta files/);
  });
});
