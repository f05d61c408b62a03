import { describe, expect, it } from 'vitest';
import { USE_LITE_ID } from '../engine/encoder-ids';
import { availableEncoders, dtypeForDevice, ENCODER_SPECS, modelManifestSchema, USE_LITE_SPEC } from './encoder-registry';

const sha = 'a'.repeat(64);

describe('encoder registry', () => {
  it('keeps the bundled encoder id equal to the one its embeddings are cached under', () => {
    expect(USE_LITE_SPEC.id).toBe(USE_LITE_ID);
    expect(new Set(ENCODER_SPECS.map((spec) => spec.id)).size).toBe(ENCODER_SPECS.length);
  });

  it('offers the bundled model plus only the known models whose weights are present', () => {
    const manifest = modelManifestSchema.parse({
      format: 'private-recs-models',
      version: 1,
      models: [
        {
          id: 'Xenova/all-MiniLM-L6-v2',
          files: [
            { path: 'onnx/model_quantized.onnx', bytes: 1000, sha256: sha },
            { path: 'tokenizer.json', bytes: 24, sha256: sha },
          ],
          dtypes: ['q8'],
          fixture: true,
          origin: 'fixture',
        },
        { id: 'Xenova/bge-small-zh-v1.5', files: [{ path: 'tokenizer.json', bytes: 5, sha256: sha }], dtypes: [], origin: 'hub' },
        { id: 'someone/unknown-model', files: [], dtypes: ['q8'], origin: 'hub' },
      ],
    });
    const offered = availableEncoders(manifest);
    expect(offered.map((entry) => entry.spec.id)).toEqual([USE_LITE_ID, 'Xenova/all-MiniLM-L6-v2']);
    expect(offered[1]).toMatchObject({ downloadBytes: 1024, fixture: true, dtypes: ['q8'] });
    expect(availableEncoders(undefined).map((entry) => entry.spec.id)).toEqual([USE_LITE_ID]);
  });

  it('picks q8 on WASM and float weights on WebGPU when present', () => {
    expect(dtypeForDevice('wasm', ['fp32', 'q8'])).toBe('q8');
    expect(dtypeForDevice('webgpu', ['fp32', 'q8'])).toBe('fp32');
    expect(dtypeForDevice('webgpu', ['q8'])).toBe('q8');
    expect(dtypeForDevice('wasm', [])).toBeUndefined();
  });
});
