import { describe, expect, it } from 'vitest';
import { buildExport, planExport, readGlobalModel, type SharedModelState } from './client';
import { decodeModelFile, encodeModelFile } from './format';
import type { ParamSet } from './params';
import { seededUniform } from '../random';
import { DEFAULT_FEDERATED_SETTINGS, federatedSettingsSchema } from './settings';

const tensor = (shape: number[], fill: (i: number) => number) => ({
  shape,
  values: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => fill(i)),
});
const global: ParamSet = { W: tensor([4, 2], (i) => i / 10), q: tensor([3, 2], () => 0), b: tensor([3], () => 0) };
const local: ParamSet = { W: tensor([4, 2], (i) => i / 10 + 0.01), q: tensor([3, 2], (i) => (i === 0 ? 0.5 : 0)), b: tensor([3], (i) => (i === 0 ? 0.2 : 0)) };
const state: SharedModelState = { modelId: 'hybrid-test@1', catalogFingerprint: 'cat-1', local, global };

describe('federated client', () => {
  it('plans exactly the file it then writes, with the settings and ε in its header', async () => {
    const plan = await planExport(state, DEFAULT_FEDERATED_SETTINGS, []);
    const { bytes, epsilonAfter } = await buildExport(state, DEFAULT_FEDERATED_SETTINGS, [], seededUniform(1));
    expect(bytes.length).toBe(plan.sizeBytes);
    expect(plan.contents.map((c) => c.name).sort()).toEqual(['W', 'b', 'q']);
    expect(plan.epsilonSpent).toBe(0);
    expect(plan.epsilonAfter).toBeCloseTo(epsilonAfter, 10);
    const { header, params } = await decodeModelFile(bytes);
    expect(header).toMatchObject({ kind: 'delta', modelId: 'hybrid-test@1', clipNorm: 1, noiseMultiplier: 5, epsilonSpent: epsilonAfter, weight: 1 });
    // Dense noise: every coordinate moved, not only the touched item's row.
    expect(params.q!.values.every((v) => v !== 0)).toBe(true);
  });

  it('clips by group when the settings say so: same layout, same ε, W takes the whole norm budget', async () => {
    const settings = federatedSettingsSchema.parse({ clipShares: { W: 1, '*': 0 } });
    const plain = await planExport(state, DEFAULT_FEDERATED_SETTINGS, []);
    const plan = await planExport(state, settings, []);
    expect(plan.epsilonAfter).toBe(plain.epsilonAfter);
    expect(plan.sizeBytes).toBe(plain.sizeBytes);
    const { bytes } = await buildExport(state, settings, [], seededUniform(5));
    const { params } = await decodeModelFile(bytes);
    expect(Object.keys(params).sort()).toEqual(['W', 'b', 'q']);
    expect(params.q!.values.every((v) => v !== 0)).toBe(true); // still dense noise
    expect(federatedSettingsSchema.safeParse({ clipShares: { W: 0.5 } }).success).toBe(false);
  });

  it('accumulates ε over exports and refuses one past the budget', async () => {
    const settings = { ...DEFAULT_FEDERATED_SETTINGS, epsilonBudget: 1 };
    const first = await planExport(state, settings, []);
    expect(first.allowed).toBe(true);
    const second = await planExport(state, settings, [settings.noiseMultiplier]);
    expect(second.epsilonSpent).toBeCloseTo(first.epsilonAfter, 10);
    expect(second.allowed).toBe(false);
    await expect(buildExport(state, settings, [settings.noiseMultiplier])).rejects.toThrow(/over your budget of 1. Nothing was exported/);
  });

  it('accepts a matching global model and refuses deltas, other models, other catalogs and other shapes', async () => {
    const expected = { modelId: state.modelId, catalogFingerprint: state.catalogFingerprint, params: global };
    const info = { kind: 'global' as const, modelId: state.modelId, catalogFingerprint: 'cat-1', contributors: 3 };
    const good = await encodeModelFile(info, local);
    expect((await readGlobalModel(good, expected)).q!.values[0]).toBeCloseTo(0.5);

    const { bytes: delta } = await buildExport(state, DEFAULT_FEDERATED_SETTINGS, [], seededUniform(2));
    await expect(readGlobalModel(delta, expected)).rejects.toThrow(/not an aggregated global model/);
    await expect(readGlobalModel(await encodeModelFile({ ...info, modelId: 'other@2' }, local), expected)).rejects.toThrow(/model 'other@2'/);
    await expect(readGlobalModel(await encodeModelFile({ ...info, catalogFingerprint: 'cat-2' }, local), expected)).rejects.toThrow(/another catalog/);
    const wider = { ...local, q: tensor([4, 2], () => 0) };
    await expect(readGlobalModel(await encodeModelFile(info, wider), expected)).rejects.toThrow(/do not fit.*q/);
  });

  it('refuses a global model with finite values so large that every score would overflow', async () => {
    const expected = { modelId: state.modelId, catalogFingerprint: state.catalogFingerprint, params: global };
    const info = { kind: 'global' as const, modelId: state.modelId, catalogFingerprint: 'cat-1' };
    for (const huge of [3e38, -3e38, 1.5e4]) {
      const file = await encodeModelFile(info, { ...local, q: tensor([3, 2], (i) => (i === 1 ? huge : 0.1)) });
      await expect(readGlobalModel(file, expected, 'big.prfed')).rejects.toThrow(
        /big.prfed: parameter 'q' has a value \(.*\) beyond ±10000 at index 1, so its scores would overflow/,
      );
    }
  });
});
