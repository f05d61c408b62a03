import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeModelFile, encodeModelFile, type DeltaInfo } from '../src/core/federated/format';
import type { ParamSet } from '../src/core/federated/params';
import { parseAggregateArgs, runAggregate } from './aggregate';

const delta: DeltaInfo = { kind: 'delta', modelId: 'm@1', catalogFingerprint: 'cat:1', clipNorm: 1, noiseMultiplier: 5, epsilonSpent: 0.8, delta: 1e-5, weight: 1 };
const params = (...xs: number[]): ParamSet => ({ q: { shape: [xs.length / 2, 2], values: Float32Array.from(xs) }, b: { shape: [1], values: Float32Array.from([xs[0]!]) } });

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aggregate-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cli aggregate', () => {
  it('aggregates the deltas in a folder onto the global model and writes a global-model file', async () => {
    await writeFile(join(dir, 'global.fed'), await encodeModelFile({ kind: 'global', modelId: 'm@1', catalogFingerprint: 'cat:1' }, params(1, 1)));
    await writeFile(join(dir, 'a.fed'), await encodeModelFile({ ...delta, weight: 1 }, params(2, 0)));
    await writeFile(join(dir, 'b.fed'), await encodeModelFile({ ...delta, weight: 3 }, params(-2, 4)));
    const out = join(dir, 'next.fed');
    const summary = await runAggregate({ inDir: dir, out });
    expect(summary).toMatchObject({ base: 'global.fed', deltas: ['a.fed', 'b.fed'], method: 'fedavg', totalWeight: 4 });
    const written = await decodeModelFile(new Uint8Array(await readFile(out)));
    expect(written.header).toMatchObject({ kind: 'global', modelId: 'm@1', catalogFingerprint: 'cat:1', contributors: 2, aggregation: 'fedavg' });
    expect([...written.params.q!.values]).toEqual([0, 4]);
    // Running again ignores its own output file in the folder.
    await expect(runAggregate({ inDir: dir, out })).resolves.toMatchObject({ deltas: ['a.fed', 'b.fed'] });
  });

  it('refuses a bad file with its name, a missing base, and a mismatched catalog', async () => {
    await writeFile(join(dir, 'a.fed'), await encodeModelFile(delta, params(2, 0)));
    await expect(runAggregate({ inDir: dir, out: join(dir, 'out.fed') })).rejects.toThrow(/no global model/);
    await expect(runAggregate({ inDir: dir, out: join(dir, 'out.fed'), fromZero: true, method: 'trimmed-mean', trim: 0 })).resolves.toMatchObject({ base: '(zeros)' });
    await writeFile(join(dir, 'b.fed'), await encodeModelFile({ ...delta, catalogFingerprint: 'cat:2' }, params(0, 0)));
    await expect(runAggregate({ inDir: dir, out: join(dir, 'out.fed'), fromZero: true })).rejects.toThrow("b.fed: catalog fingerprint 'cat:2' does not match 'cat:1' of a.fed");
    const good = await encodeModelFile(delta, params(0, 0));
    await writeFile(join(dir, 'b.fed'), good.slice(0, good.length - 2));
    await expect(runAggregate({ inDir: dir, out: join(dir, 'out.fed'), fromZero: true })).rejects.toThrow(/^b\.fed: the file is truncated/);
  });

  it('parses its arguments and rejects bad ones', () => {
    expect(parseAggregateArgs(['--in', 'd', '--out', 'o', '--robust', 'trimmed-mean', '--trim', '0.2'])).toMatchObject({ inDir: 'd', out: 'o', method: 'trimmed-mean', trim: 0.2 });
    expect(() => parseAggregateArgs(['--in', 'd'])).toThrow(/required/);
    expect(() => parseAggregateArgs(['--in', 'd', '--out', 'o', '--robust', 'median'])).toThrow(/unknown --robust/);
    expect(() => parseAggregateArgs(['--in', 'd', '--out', 'o', '--robust', 'trimmed-mean', '--trim', '0.7'])).toThrow(/\[0, 0.5\)/);
  });
});
