import { describe, expect, it } from 'vitest';
import type { SentenceEncoder } from './encoder';
import { DeviceFallbackEncoder, type FallbackNotice } from './encoder-fallback';

/** An encoder whose vectors say which device made them; it fails from call `failFrom` on. */
function fakeEncoder(device: number, failFrom = Infinity, dimension = 2): SentenceEncoder & { calls: number } {
  return {
    id: 'model',
    dimension,
    calls: 0,
    async embedBatch(texts) {
      if (++this.calls >= failFrom) throw new Error('GPUDevice was lost');
      return texts.map(() => Float32Array.from([device, 0]));
    },
  };
}

describe('DeviceFallbackEncoder', () => {
  it('retries the failed batch on the fallback, keeps using it, and tells once', async () => {
    const notices: FallbackNotice[] = [];
    let loads = 0;
    const wasm = fakeEncoder(2);
    const encoder = new DeviceFallbackEncoder(
      fakeEncoder(1, 2),
      async () => (loads++, wasm),
      (notice) => notices.push(notice),
    );
    expect((await encoder.embedBatch(['a']))[0]![0]).toBe(1);
    const retried = await encoder.embedBatch(['b', 'c']);
    expect(retried.map((v) => v[0])).toEqual([2, 2]);
    expect((await encoder.embedBatch(['d']))[0]![0]).toBe(2);
    expect(loads).toBe(1);
    expect(notices).toHaveLength(1);
    expect(notices[0]!.cause).toMatch(/lost/);
    expect(encoder.usingFallback).toBe(true);
  });

  it('lets the fallback’s own failure through, and refuses a fallback of another shape', async () => {
    const failing = new DeviceFallbackEncoder(
      fakeEncoder(1, 1),
      async () => fakeEncoder(2, 1),
      () => {},
    );
    await expect(failing.embedBatch(['a'])).rejects.toThrow(/lost/);
    const mismatched = new DeviceFallbackEncoder(
      fakeEncoder(1, 1),
      async () => fakeEncoder(2, Infinity, 3),
      () => {},
    );
    await expect(mismatched.embedBatch(['a'])).rejects.toThrow(/does not match/);
  });
});
