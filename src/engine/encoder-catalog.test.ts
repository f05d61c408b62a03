import { describe, expect, it } from 'vitest';
import { listEncoderOptions } from './encoder-catalog';

const manifest = {
  format: 'private-recs-models',
  version: 1,
  models: [
    {
      id: 'Xenova/all-MiniLM-L6-v2',
      files: [
        { path: 'tokenizer.json', bytes: 700_000, sha256: 'a'.repeat(64) },
        { path: 'onnx/model_quantized.onnx', bytes: 22_000_000, sha256: 'b'.repeat(64) },
      ],
      dtypes: ['q8'],
      fixture: true,
      origin: '../shared/fixtures/minilm-l6-shape-random',
    },
    // Unknown to the registry (no pooling, no prefixes): never offered.
    { id: 'someone/unknown', files: [], dtypes: ['q8'], origin: 'x' },
  ],
};

describe('listEncoderOptions', () => {
  it('offers the bundled model and the known models the manifest lists, with their real size', async () => {
    const { options, dtypes, problem } = await listEncoderOptions('http://app.test/models/', async (url) => {
      expect(url).toBe('http://app.test/models/manifest.json');
      return JSON.stringify(manifest);
    });
    expect(problem).toBeUndefined();
    expect(options).toEqual([
      {
        id: 'use-lite-512',
        label: 'Universal Sentence Encoder Lite (bundled)',
        languages: ['en'],
        dimension: 512,
        downloadBytes: 0,
        bundled: true,
        fixture: false,
      },
      { id: 'Xenova/all-MiniLM-L6-v2', label: 'all-MiniLM-L6-v2', languages: ['en'], dimension: 384, downloadBytes: 22_700_000, bundled: false, fixture: true },
    ]);
    expect(dtypes.get('Xenova/all-MiniLM-L6-v2')).toEqual(['q8']);
  });

  it('falls back to the bundled model alone, saying why, when the manifest is missing, not JSON or invalid', async () => {
    const ids = (result: { options: { id: string }[] }) => result.options.map((option) => option.id);
    const missing = await listEncoderOptions('http://app.test/models/', async () => {
      throw new Error('HTTP 404');
    });
    expect(ids(missing)).toEqual(['use-lite-512']);
    expect(missing.problem).toMatch(/HTTP 404/);
    const garbled = await listEncoderOptions('http://app.test/models/', async () => '{"format": "private-recs-mod');
    expect(garbled.problem).toMatch(/not JSON/);
    const invalid = await listEncoderOptions('http://app.test/models/', async () => JSON.stringify({ ...manifest, version: 2 }));
    expect(ids(invalid)).toEqual(['use-lite-512']);
    expect(invalid.problem).toMatch(/invalid/);
    // The widget passes no models URL: nothing is fetched.
    expect(ids(await listEncoderOptions(undefined, async () => Promise.reject(new Error('fetched'))))).toEqual(['use-lite-512']);
  });
});
