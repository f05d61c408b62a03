import { describe, expect, it } from 'vitest';
import type { EngineWarning, WarningCode, WarningParams } from '../../engine/api';
import { sameWarning } from '../../engine/api';
import { en } from './en';
import { formatWarning, WARNING_CODES, warningParts } from './warnings';
import { zhCN } from './zh-CN';

/** One warning of each code, with the English sentence the engine wrote before warnings had codes (tests in e2e/ read them). */
const SAMPLES: { [C in WarningCode]: [WarningParams[C], string] } = {
  catalogRowsSkipped: [
    { count: 2, row: 3, reason: 'title: missing' },
    '2 catalog rows were skipped because of missing or invalid fields (first: row 3, title: missing).',
  ],
  encoderNotOffered: [{ chosen: 'e5-small', fallback: 'USE Lite' }, 'The text model you chose (e5-small) is not available here; using USE Lite.'],
  historySkipped: [{ count: 1 }, '1 history record could not be read and was skipped.'],
  prebuiltIgnored: [{ message: 'the file is truncated' }, 'The precomputed embeddings were ignored: the file is truncated.'],
  backendUnavailableModelKept: [
    { message: 'No TensorFlow.js backend works here: cpu: broken' },
    'No TensorFlow.js backend works here: cpu: broken Your recommendations keep working, without training on your history.',
  ],
  backendUnavailable: [
    { message: 'No TensorFlow.js backend works here: cpu: broken' },
    'No TensorFlow.js backend works here: cpu: broken Showing popular books instead.',
  ],
  encoderNotice: [{ message: 'MiniLM: WebGPU failed (lost); continuing on WASM.' }, 'MiniLM: WebGPU failed (lost); continuing on WASM.'],
  storageFull: [
    {},
    'Storage on this device is nearly full: the cache of book embeddings was cleared and will be rebuilt later. Your history is kept — consider exporting it (Privacy panel).',
  ],
  modelScoresNotNumbers: [
    { message: 'NaN at 3' },
    'The recommendation model gave scores that are not numbers (NaN at 3); ranking by your taste profile instead.',
  ],
  storedDataSkipped: [
    { note: '2 cached text vectors were damaged and will be computed again' },
    'Some stored data could not be used: 2 cached text vectors were damaged and will be computed again.',
  ],
  shippedModelIgnored: [{ problem: 'HTTP 500' }, "The catalog's shipped recommendation model was ignored (HTTP 500); starting from the catalog text."],
  storedModelRebuilt: [{ problem: 'u is damaged' }, 'Your stored model could not be used (u is damaged); it was rebuilt from your history.'],
  modelStartFailed: [{ message: 'out of memory' }, 'The recommendation model could not start (out of memory); ranking by your taste profile instead.'],
  trainingStopped: [{ message: 'aborted' }, 'Training on your history stopped: aborted'],
  contributionUnavailable: [{ message: 'offline' }, 'Contributing to the shared model is unavailable: offline'],
  chosenEncoderFailed: [
    { chosen: 'MiniLM', message: '404', fallback: 'USE Lite' },
    'The text model you chose, MiniLM, could not be loaded (404); using USE Lite.',
  ],
  encoderFailed: [{ message: 'HTTP 404' }, 'The text model could not be loaded (HTTP 404). Showing popular books instead.'],
  coLikedIgnored: [
    { url: '/catalog/x.co-liked.bin', message: 'it is for another catalog' },
    'The catalog\'s "readers also liked" file (/catalog/x.co-liked.bin) was ignored: it is for another catalog.',
  ],
  prebuiltFileIgnored: [{ url: '/catalog/x.bin', message: 'truncated' }, 'The precomputed embeddings (/catalog/x.bin) were ignored: truncated.'],
  prebuiltWrongModel: [
    { fileModel: 'use-lite-512', fileDimension: 11, model: 'word-count-test', dimension: 384 },
    'The precomputed embeddings were ignored: they were built with use-lite-512 (11 dimensions), not word-count-test (384).',
  ],
  prebuiltMismatch: [
    { minCosine: 0.5, sampleSize: 64 },
    "The precomputed embeddings do not match this device's text model (cosine 0.500 on a sample of 64); they were discarded and the catalog is being read here.",
  ],
  prebuiltNotCached: [{ message: 'AbortError' }, 'The precomputed embeddings could not be cached: AbortError.'],
  columnsNotKept: [{ message: 'QuotaExceededError' }, 'The catalog could not be kept on this device (QuotaExceededError); the next visit downloads it again.'],
  catalogTextsMissing: [
    { message: 'catalog-rows-1.bin: bad checksum' },
    "Some of the catalog's texts are not on this device (catalog-rows-1.bin: bad checksum); those books show their title, year and genres only.",
  ],
  embeddingStopped: [{ message: 'worker died' }, 'Embedding the catalog stopped: worker died'],
  backendFailed: [{ backend: 'WebGPU', message: 'device lost', next: 'WASM' }, 'WebGPU failed (device lost); continuing on WASM.'],
  backendFailedWhileTraining: [
    { backend: 'WebGPU', message: 'device lost', next: 'WASM', count: 3 },
    'WebGPU failed while training on your history (device lost); continuing on WASM, keeping the 3 epochs already done.',
  ],
};

const sample = <C extends WarningCode>(code: C) => ({ code, params: SAMPLES[code][0] }) as EngineWarning;

describe('engine warnings in words', () => {
  it('every code has an English and a Chinese sentence', () => {
    expect([...WARNING_CODES].sort()).toEqual(Object.keys(SAMPLES).sort());
    const english: Record<string, string> = en.warning;
    const chinese: Record<string, string> = zhCN.warning;
    for (const code of WARNING_CODES) {
      // A plain key, or the plural forms i18next picks by count.
      const keys = Object.hasOwn(english, code) ? [code] : [`${code}_one`, `${code}_other`];
      for (const key of keys) {
        expect(english[key], `en ${key}`).toEqual(expect.any(String));
        expect(chinese[key], `zh-CN ${key}`).toMatch(/\p{Script=Han}/u);
      }
    }
  });

  it('keep the English wording the engine used, for every code', () => {
    for (const code of WARNING_CODES) expect(formatWarning(sample(code), 'en'), code).toBe(SAMPLES[code][1]);
  });

  it('are Chinese in the Chinese UI, with every detail shown as the engine gave it', () => {
    for (const code of WARNING_CODES) {
      const text = formatWarning(sample(code), 'zh-CN');
      expect(text, code).toMatch(/\p{Script=Han}/u);
      expect(text, code).not.toMatch(/\{\{|\}\}|warning\./);
      for (const value of Object.values(SAMPLES[code][0])) {
        if (typeof value === 'string' || code !== 'prebuiltMismatch') expect(text, code).toContain(String(value));
      }
    }
    expect(formatWarning(sample('prebuiltIgnored'), 'zh-CN')).toBe('书目预先计算的向量未被使用：the file is truncated。');
    expect(formatWarning(sample('prebuiltMismatch'), 'zh-CN')).toContain('0.500');
  });

  it('pick the plural by count in English', () => {
    const rows = (count: number): EngineWarning => ({ code: 'catalogRowsSkipped', params: { count, row: 1, reason: 'id: missing' } });
    expect(formatWarning(rows(1), 'en')).toBe('1 catalog row was skipped because of missing or invalid fields (first: row 1, id: missing).');
    expect(formatWarning({ code: 'historySkipped', params: { count: 4 } }, 'en')).toBe('4 history records could not be read and were skipped.');
    const epochs = (count: number): EngineWarning => ({
      code: 'backendFailedWhileTraining',
      params: { backend: 'WebGL', message: 'lost', next: 'WASM', count },
    });
    expect(formatWarning(epochs(1), 'en')).toMatch(/keeping the 1 epoch already done\.$/);
    expect(formatWarning(epochs(0), 'en')).toMatch(/keeping the 0 epochs already done\.$/);
  });

  it('give the details apart, as written: never read as markup, placeholders or nested keys', () => {
    const hostile = '<img src=x onerror=alert(1)> {{count}} $t(app.name) \uE0000\uE001';
    const parts = warningParts({ code: 'trainingStopped', params: { message: hostile } }, 'zh-CN');
    expect(parts).toEqual(['根据你的历史记录进行的训练已停止：', { detail: hostile }]);
    expect(formatWarning({ code: 'prebuiltIgnored', params: { message: hostile } }, 'en')).toBe(`The precomputed embeddings were ignored: ${hostile}.`);
  });
});

describe('sameWarning (the engine raises each warning once)', () => {
  it('compares the code and every parameter', () => {
    const a: EngineWarning = { code: 'coLikedIgnored', params: { url: '/a', message: 'x' } };
    expect(sameWarning(a, { code: 'coLikedIgnored', params: { message: 'x', url: '/a' } })).toBe(true);
    expect(sameWarning(a, { code: 'coLikedIgnored', params: { url: '/b', message: 'x' } })).toBe(false);
    expect(sameWarning(a, { code: 'prebuiltFileIgnored', params: { url: '/a', message: 'x' } })).toBe(false);
    expect(sameWarning({ code: 'storageFull', params: {} }, { code: 'storageFull', params: {} })).toBe(true);
    const nan: EngineWarning = { code: 'prebuiltMismatch', params: { minCosine: NaN, sampleSize: 3 } };
    expect(sameWarning(nan, { code: 'prebuiltMismatch', params: { minCosine: NaN, sampleSize: 3 } })).toBe(true);
  });
});
