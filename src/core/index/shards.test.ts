import { describe, expect, it } from 'vitest';
import { gaussianSource, seededUniform } from '../random';
import { quantizeRows } from '../quantize';
import {
  decodeShard,
  encodeShard,
  encodeShardFromFloats,
  planShards,
  readShardHeader,
  SHARD_MAGIC,
  shardUrl,
  ShardError,
  type ShardInfo,
  type ShardProblem,
} from './shards';

const dim = 16;
const info: ShardInfo = { modelId: 'use-lite-512', catalogFingerprint: 'fp-v2', catalog: 'shop', shard: 1, shards: 3, itemStart: 50, totalItems: 120 };
const expected = { modelId: 'use-lite-512', catalogFingerprint: 'fp-v2', dimension: dim, totalItems: 120, shard: 1 };

function rows(count: number, seed = 1) {
  const normal = gaussianSource(seededUniform(seed));
  return Array.from({ length: count }, (_, i) => ({
    textHash: i.toString(16).padStart(16, '0'),
    vector: Float32Array.from({ length: dim }, () => normal()),
  }));
}

async function rejects(bytes: Uint8Array | Promise<Uint8Array>, reason: ShardProblem, words: RegExp, expectation = expected): Promise<void> {
  const error = await decodeShard(await bytes, expectation, 'shop.shard-1.emb').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ShardError);
  expect((error as ShardError).reason).toBe(reason);
  expect((error as ShardError).message).toMatch(/^shop\.shard-1\.emb: /);
  expect((error as ShardError).message).toMatch(words);
}

describe('vector shards', () => {
  it('round-trip: the rows decode to exactly the int8 codes and scales written, text hashes included', async () => {
    const input = rows(50);
    const { codes, scales } = quantizeRows(
      input.map((row) => row.vector),
      dim,
    );
    const file = await encodeShard(info, { textHashes: input.map((row) => row.textHash), codes, scales, dimension: dim });
    const shard = await decodeShard(file, expected);
    expect(shard.codes).toEqual(codes);
    expect(shard.scales).toEqual(scales);
    expect(shard.textHashes).toEqual(input.map((row) => row.textHash));
    expect(shard.header).toMatchObject({ itemStart: 50, itemCount: 50, totalItems: 120, dimension: dim, shard: 1, shards: 3 });
    // From floats: the same bytes as quantising first.
    expect(await encodeShardFromFloats(info, input, dim)).toEqual(file);
  });

  it('decodes a shard held in a Node Buffer at an odd offset (a view into a larger download)', async () => {
    const file = await encodeShardFromFloats(info, rows(10), dim);
    const big = new Uint8Array(file.length + 3);
    big.set(file, 3);
    const shard = await decodeShard(big.subarray(3), expected);
    expect(shard.codes.length).toBe(10 * dim);
  });

  it('refuses a truncated shard, wherever it is cut', async () => {
    const file = await encodeShardFromFloats(info, rows(20), dim);
    await rejects(file.subarray(0, file.length - 1), 'truncated', /truncated/);
    await rejects(file.subarray(0, 40), 'truncated', /truncated/);
    await rejects(file.subarray(0, 5), 'truncated', /truncated/);
  });

  it('refuses a shard for another model, naming both', async () => {
    await rejects(encodeShardFromFloats({ ...info, modelId: 'minilm-384' }, rows(5), dim), 'other-model', /minilm-384.*use-lite-512/);
    await rejects(encodeShardFromFloats(info, rows(5), dim), 'other-model', /dimensions/, { ...expected, dimension: 512 });
  });

  it('refuses a shard for another version of the catalog', async () => {
    await rejects(encodeShardFromFloats({ ...info, catalogFingerprint: 'fp-v1' }, rows(5), dim), 'other-catalog', /another version of the catalog/);
    await rejects(encodeShardFromFloats(info, rows(5), dim), 'other-catalog', /another version/, { ...expected, totalItems: 121 });
  });

  it('refuses a damaged payload by its SHA-256', async () => {
    const file = await encodeShardFromFloats(info, rows(20), dim);
    const damaged = Uint8Array.from(file);
    damaged[damaged.length - 7]! ^= 0x10;
    await rejects(damaged, 'bad-checksum', /SHA-256/);
  });

  it('refuses extra bytes, a wrong shard, a newer version, an invalid header, and bytes that are not a shard', async () => {
    const file = await encodeShardFromFloats(info, rows(5), dim);
    const longer = new Uint8Array(file.length + 4);
    longer.set(file);
    await rejects(longer, 'too-long', /longer than/);
    await rejects(file, 'wrong-range', /shard 1, not shard 2/, { ...expected, shard: 2 });
    const edit = (change: (header: Record<string, unknown>) => void) => {
      const length = new DataView(file.buffer).getUint32(8, true);
      const header = JSON.parse(new TextDecoder().decode(file.subarray(12, 12 + length))) as Record<string, unknown>;
      change(header);
      const bytes = new TextEncoder().encode(JSON.stringify(header));
      const out = new Uint8Array(12 + bytes.length);
      out.set(SHARD_MAGIC);
      new DataView(out.buffer).setUint32(8, bytes.length, true);
      out.set(bytes, 12);
      return out;
    };
    await rejects(
      edit((h) => (h.version = 2)),
      'newer-version',
      /version 2/,
    );
    await rejects(
      edit((h) => (h.itemStart = 'fifty')),
      'bad-header',
      /itemStart/,
    );
    await rejects(
      edit((h) => (h.itemStart = 118)),
      'wrong-range',
      /claims items 118…122 of 120/,
    );
    await rejects(new TextEncoder().encode('{"format":"private-recs-shard"}'), 'not-a-shard', /not a vector shard/);
  });

  it('refuses a row with an invalid scale even under a valid checksum (a publisher bug, not transit)', async () => {
    const input = rows(3);
    const { codes, scales } = quantizeRows(
      input.map((row) => row.vector),
      dim,
    );
    scales[1] = Number.NaN;
    await rejects(
      encodeShard(info, { textHashes: input.map((row) => row.textHash), codes, scales, dimension: dim }),
      'bad-values',
      /row 1 has an invalid scale/,
    );
  });

  it('reads the header alone from the first bytes (a ranged request) and checks it', async () => {
    const file = await encodeShardFromFloats(info, rows(30), dim);
    const { header } = readShardHeader(file.subarray(0, 400), expected);
    expect(header.itemCount).toBe(30);
    expect(() => readShardHeader(file.subarray(0, 400), { ...expected, modelId: 'other' })).toThrow(/not other/);
  });

  it('plans shards over the catalog and names their files', () => {
    expect(planShards(120_001)).toEqual([
      { shard: 0, itemStart: 0, itemCount: 50_000 },
      { shard: 1, itemStart: 50_000, itemCount: 50_000 },
      { shard: 2, itemStart: 100_000, itemCount: 20_001 },
    ]);
    expect(planShards(0)).toEqual([{ shard: 0, itemStart: 0, itemCount: 0 }]);
    expect(shardUrl('/catalog/shop.json?v=3', 'Xenova/all-MiniLM-L6-v2', 4)).toBe('/catalog/shop.Xenova_all-MiniLM-L6-v2.shard-4.emb?v=3');
  });
});
