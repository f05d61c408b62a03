import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FORMAT_VERSION, MAGIC, MAX_FILE_BYTES, ModelFileError, decodeModelFile, encodeModelFile, sha256Hex, type DeltaInfo } from './format';
import type { ParamSet } from './params';

const info: DeltaInfo = {
  kind: 'delta',
  modelId: 'mf-bpr-8@1',
  catalogFingerprint: 'goodbooks-10k:3f2a',
  clipNorm: 1,
  noiseMultiplier: 5,
  epsilonSpent: 0.8,
  delta: 1e-5,
  weight: 1,
};

const small = (): ParamSet => ({
  q: { shape: [3, 2], values: Float32Array.from([1, -2, 3.5, 0, -0.25, 1e-30]) },
  b: { shape: [3], values: Float32Array.from([0.5, 0, -1]) },
  ranker: { shape: [], values: Float32Array.from([2]) },
});

/** Rewrites the JSON header of an encoded file (and its length prefix), keeping the payload. */
function withHeader(file: Uint8Array, edit: (header: Record<string, unknown>) => void): Uint8Array {
  const view = new DataView(file.buffer, file.byteOffset);
  const length = view.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(file.subarray(12, 12 + length))) as Record<string, unknown>;
  edit(header);
  const payload = file.subarray(Math.ceil((12 + length) / 4) * 4);
  const bytes = new TextEncoder().encode(JSON.stringify(header));
  const start = Math.ceil((12 + bytes.length) / 4) * 4;
  const out = new Uint8Array(start + payload.length);
  out.set(MAGIC);
  new DataView(out.buffer).setUint32(8, bytes.length, true);
  out.set(bytes, 12);
  out.set(payload, start);
  return out;
}

async function refusal(bytes: Uint8Array): Promise<string> {
  try {
    await decodeModelFile(bytes, 'alice.delta');
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFileError);
    return (error as Error).message;
  }
  throw new Error('the file was accepted');
}

const layoutArb = fc.uniqueArray(
  fc.record({
    name: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_./:-]{0,11}$/),
    shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }),
  }),
  { minLength: 1, maxLength: 5, selector: (t) => t.name },
);
const paramsArb = layoutArb.chain((layout) =>
  fc
    .tuple(
      ...layout.map(({ name, shape }) =>
        fc
          .array(fc.float({ noNaN: true, noDefaultInfinity: true }), {
            minLength: shape.reduce((a, b) => a * b, 1),
            maxLength: shape.reduce((a, b) => a * b, 1),
          })
          .map((values) => [name, { shape, values: Float32Array.from(values) }] as const),
      ),
    )
    .map((entries) => Object.fromEntries(entries) as ParamSet),
);

describe('model file format', () => {
  it("refuses a parameter named '__proto__' instead of silently dropping it", async () => {
    const params = JSON.parse('{"__proto__": {"shape": [1], "values": [0]}}') as Record<string, { shape: number[]; values: number[] }>;
    const set = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, { shape: v.shape, values: Float32Array.from(v.values) }]));
    expect(Object.keys(set)).toEqual(['__proto__']);
    await expect(encodeModelFile(info, set)).rejects.toThrow(/not a valid parameter name/);
  });

  it('round-trips any parameter set and header (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        paramsArb,
        fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim() === s && s.length > 0),
        async (params, modelId) => {
          const file = await encodeModelFile({ ...info, modelId }, params);
          expect(file.length % 4).toBe(0);
          const decoded = await decodeModelFile(file);
          expect(decoded.params).toEqual(params);
          expect(decoded.header).toMatchObject({ ...info, modelId, formatVersion: FORMAT_VERSION });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuses every truncation and any flipped payload byte (property)', async () => {
    const file = await encodeModelFile(info, small());
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: file.length - 1 }), async (length) => {
        expect(await refusal(file.slice(0, length))).toMatch(/^alice\.delta: /);
      }),
    );
    const payloadStart = file.length - 10 * 4;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: payloadStart, max: file.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
        const bad = file.slice();
        bad[at]! ^= xor;
        expect(await refusal(bad)).toMatch(/checksum does not match/);
      }),
    );
  });

  it('writes the payload as float32 little-endian in name order, and the header checksum matches it', async () => {
    const file = await encodeModelFile(info, small());
    const payload = file.slice(file.length - 40);
    const floats = new DataView(payload.buffer);
    expect(floats.getFloat32(0, true)).toBe(0.5); // b first, then q, then ranker
    expect(floats.getFloat32(36, true)).toBe(2);
    expect((await decodeModelFile(file)).header.payloadSha256).toBe(await sha256Hex(payload));
  });

  it('refuses with a clear message: bad magic, truncation, trailing bytes', async () => {
    const file = await encodeModelFile(info, small());
    expect(await refusal(new TextEncoder().encode('{"kind":"delta"} and more text'))).toMatch(/not a federated model file \(wrong magic bytes\)/);
    expect(await refusal(new Uint8Array(0))).toMatch(/too short/);
    expect(await refusal(file.slice(0, file.length - 3))).toMatch(/truncated: the header describes 10 values/);
    expect(await refusal(file.slice(0, 20))).toMatch(/truncated inside its header/);
    const longer = new Uint8Array(file.length + 4);
    longer.set(file);
    expect(await refusal(longer)).toMatch(/4 unexpected bytes/);
  });

  it('refuses a newer version, a bad header, mismatched shapes and absurd sizes', async () => {
    const file = await encodeModelFile(info, small());
    expect(await refusal(withHeader(file, (h) => (h.formatVersion = 2)))).toMatch(/format version 2; this app reads up to version 1/);
    expect(await refusal(withHeader(file, (h) => (h.kind = 'gradient')))).toMatch(/invalid header/);
    expect(await refusal(withHeader(file, (h) => delete h.catalogFingerprint))).toMatch(/invalid header \(catalogFingerprint/);
    expect(await refusal(withHeader(file, (h) => (h.noiseMultiplier = -1)))).toMatch(/noiseMultiplier/);
    expect(
      await refusal(
        withHeader(
          file,
          (h) =>
            (h.params = [
              { name: 'q', shape: [4, 2] },
              { name: 'b', shape: [3] },
            ]),
        ),
      ),
    ).toMatch(/truncated: the header describes 11 values/);
    expect(await refusal(withHeader(file, (h) => (h.params = [{ name: 'q', shape: [2, 2] }])))).toMatch(/6 unexpected bytes|unexpected bytes/);
    expect(await refusal(withHeader(file, (h) => (h.params = [{ name: 'q', shape: [100_000, 100_000] }])))).toMatch(/the limit is 256 MiB/);
    expect(
      await refusal(
        withHeader(
          file,
          (h) =>
            (h.params = [
              { name: 'q', shape: [5] },
              { name: 'q', shape: [5] },
            ]),
        ),
      ),
    ).toMatch(/'q' appears twice/);
    const hugeHeader = file.slice();
    new DataView(hugeHeader.buffer).setUint32(8, 0xffffffff, true);
    expect(await refusal(hugeHeader)).toMatch(/header claims 4294967295 bytes/);
    expect(await refusal({ length: MAX_FILE_BYTES + 1 } as unknown as Uint8Array)).toMatch(/limit is 256 MiB/);
    const notJson = file.slice();
    notJson[12] = 0xff;
    expect(await refusal(notJson)).toMatch(/not valid UTF-8 JSON/);
  });

  it('refuses NaN and Inf, naming the parameter and index, even with a correct checksum', async () => {
    const good = await encodeModelFile(info, small());
    const view = new DataView(good.buffer);
    const start = good.length - 40;
    view.setFloat32(start + 4 * 4, Number.NaN, true); // q[1]
    // Re-sign the edited payload, as an attacker or a buggy client would, so only the NaN check can catch it.
    const sha = await sha256Hex(good.slice(start));
    expect(await refusal(withHeader(good, (h) => (h.payloadSha256 = sha)))).toMatch(/parameter 'q' has a non-finite value \(NaN\) at index 1/);
    await expect(encodeModelFile(info, { b: { shape: [1], values: Float32Array.from([Infinity]) } })).rejects.toThrow(
      /'b' has a non-finite value \(Infinity\)/,
    );
  });

  it('refuses to write a header that does not validate', async () => {
    await expect(encodeModelFile({ ...info, weight: 0 }, small())).rejects.toThrow(/weight/);
    await expect(encodeModelFile({ ...info, modelId: '' }, small())).rejects.toThrow(/modelId/);
  });
});
