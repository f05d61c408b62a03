import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadUseLiteFromDisk } from '../../cli/node-models';
import type { UseLiteEncoder } from '../engine/use-lite';
import {
  Bm25Index,
  blendQueryScores,
  DEFAULT_LEXICAL_WEIGHT,
  lexicalWeightForQuery,
  NAME_LIKE_COVERAGE,
  nameLikeness,
  tokenize,
  UNKNOWN_SCRIPT_LEXICAL_WEIGHT,
  unknownScriptShare,
} from './lexical';
import { dot } from './vector';

function argmax(scores: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[best]!) best = i;
  return best;
}

describe('tokenize', () => {
  it('splits Chinese and Japanese into words, Latin on spaces, and folds case and width', () => {
    expect(tokenize('一部轻松的喜剧')).toEqual(['一部', '轻松', '的', '喜剧']);
    expect(tokenize('東京の夏休み')).toEqual(['東京', 'の', '夏休み']);
    expect(tokenize('Space Opera, with a STRONG heroine!')).toEqual(['space', 'opera', 'with', 'a', 'strong', 'heroine']);
    expect(tokenize('ＨＡＲＲＹ　Potter')).toEqual(['harry', 'potter']);
    expect(tokenize('  ,;  ')).toEqual([]);
  });
});

describe('Bm25Index', () => {
  const texts = ['harry potter and the stone', 'the hobbit', 'the lord of the rings the the the', 'potter potter potter about clay'];
  const index = Bm25Index.build(texts);

  it('scores only documents sharing a word, rare words above common ones', () => {
    const scores = index.score('hobbit');
    expect(argmax(scores)).toBe(1);
    expect([...scores].filter((s) => s > 0)).toHaveLength(1);
    // "the" is in three documents, "stone" in one: the rare word decides.
    const mixed = index.score('the stone');
    expect(argmax(mixed)).toBe(0);
    expect(index.score('unknownword').every((s) => s === 0)).toBe(true);
  });

  it('saturates term frequency and normalises by length', () => {
    const potter = index.score('potter');
    // Three occurrences beat one, but by less than 3x (k1 saturation).
    expect(potter[3]!).toBeGreaterThan(potter[0]!);
    expect(potter[3]! / potter[0]!).toBeLessThan(3);
  });

  it('normalises the best match to 1 and handles an empty catalog and query', () => {
    const normalized = index.normalizedScore('harry potter');
    expect(Math.max(...normalized)).toBeCloseTo(1, 6);
    expect(index.normalizedScore('').every((s) => s === 0)).toBe(true);
    expect(Bm25Index.build([]).score('anything')).toHaveLength(0);
  });
});

describe('blendQueryScores', () => {
  it('follows the semantic order when no word matches, and lets words break near-ties', () => {
    const semantic = Float32Array.from([0.8, 0.6, 0.79]);
    const none = blendQueryScores(semantic, new Float32Array(3));
    expect([...none].map((_, i) => i).sort((a, b) => none[b]! - none[a]!)).toEqual([0, 2, 1]);
    const lexical = Float32Array.from([0, 0, 1]);
    expect(argmax(blendQueryScores(semantic, lexical))).toBe(2);
    // Weight 0 is the semantic channel alone, 1 the lexical alone.
    expect(argmax(blendQueryScores(semantic, lexical, 0))).toBe(0);
    expect(argmax(blendQueryScores(semantic, lexical, 1))).toBe(2);
  });

  it('ranks items without an embedding by their words alone', () => {
    const blended = blendQueryScores([undefined, 0.1], Float32Array.from([1, 0]));
    expect(blended[0]!).toBeGreaterThan(blended[1]!);
    expect(() => blendQueryScores([0.1], Float32Array.from([0]), 1.5)).toThrow(RangeError);
  });
});

describe('lexicalWeightForQuery', () => {
  it('trusts words more when the query is in a script the encoder does not read', () => {
    expect(unknownScriptShare('一部轻松的喜剧', ['en'])).toBe(1);
    expect(unknownScriptShare('一部轻松的喜剧', ['en', 'zh'])).toBe(0);
    expect(unknownScriptShare('東京の夏休み', ['zh'])).toBeCloseTo(2 / 6, 6);
    expect(unknownScriptShare('1984!', ['en'])).toBe(0);
    expect(unknownScriptShare('Harry 波特', ['*'])).toBe(0);
    expect(lexicalWeightForQuery('一部轻松的喜剧', ['en'])).toBeGreaterThan(lexicalWeightForQuery('Harry 波特', ['en']));
    expect(lexicalWeightForQuery('Harry 波特', ['en'])).toBeGreaterThan(lexicalWeightForQuery('Harry Potter', ['en']));
  });
});

describe('name-like queries (bestMatchCoverage, nameLikeness)', () => {
  const books = [
    'The Hunger Games by Suzanne Collins',
    'It by Stephen King',
    'The Shining by Stephen King',
    'Murder on the Orient Express by Agatha Christie',
    "The Cuckoo's Calling by Robert Galbraith",
  ];
  const index = Bm25Index.build(books);

  it('is 1 for a title or an author, lower for a description of a topic, 0 when nothing matches', () => {
    expect(index.bestMatchCoverage('stephen king')).toBeCloseTo(1, 6);
    expect(index.bestMatchCoverage('The Hunger Games')).toBeCloseTo(1, 6);
    const topic = index.bestMatchCoverage('a murder solved by a clever detective on a train');
    expect(topic).toBeGreaterThan(0);
    expect(topic).toBeLessThan(0.5);
    expect(index.bestMatchCoverage('whodunit')).toBe(0);
    expect(index.bestMatchCoverage('')).toBe(0);
  });

  it('gives the words weight only for name-like queries, never outside [0, 1]', () => {
    expect(nameLikeness(1)).toBe(1);
    expect(nameLikeness(NAME_LIKE_COVERAGE)).toBe(0);
    expect(nameLikeness(0.3)).toBe(0);
    expect(nameLikeness(Number.NaN)).toBe(0);
    const named = lexicalWeightForQuery('stephen king', ['en'], index.bestMatchCoverage('stephen king'));
    const described = 'a murder solved by a clever detective on a train';
    expect(named).toBe(DEFAULT_LEXICAL_WEIGHT);
    expect(lexicalWeightForQuery(described, ['en'], index.bestMatchCoverage(described))).toBe(0);
    // A query the encoder cannot read is matched on its words whatever its coverage.
    expect(lexicalWeightForQuery('一部轻松的喜剧', ['en'], 0)).toBe(UNKNOWN_SCRIPT_LEXICAL_WEIGHT);
    for (const coverage of [0, 0.5, 0.8, 1]) {
      const weight = lexicalWeightForQuery('Harry 波特', ['en'], coverage);
      expect(weight).toBeGreaterThanOrEqual(0);
      expect(weight).toBeLessThanOrEqual(1);
    }
  });
});

describe('lexical channel with the real USE Lite encoder', () => {
  let encoder: UseLiteEncoder;
  beforeAll(async () => {
    await tf.setBackend('wasm');
    encoder = await loadUseLiteFromDisk();
  });

  const catalog = [
    'The Martian: an astronaut stranded on Mars survives with science and humour',
    '沉重的战争历史', // a heavy war history
    '轻松喜剧：夏日假期', // a light comedy: summer holiday
    '红楼梦 古典小说', // Dream of the Red Chamber, a classic novel
    '活着的意义', // the meaning of being alive
    '时间的秩序', // the order of time
    'Ancillary Justice: a space opera with a strong heroine, an AI soldier seeking revenge',
  ];

  it('finds the Chinese comedy that USE Lite cannot tell from a war history', async () => {
    const query = '一部轻松的喜剧'; // "a light comedy"
    const [queryVector, ...items] = await encoder.embedBatch([query, ...catalog]);
    const semantic = items.map((item) => dot(queryVector!, item));
    // USE Lite reads Chinese as unknown tokens: the war history looks at least as close as the comedy.
    expect(semantic[1]!).toBeGreaterThanOrEqual(semantic[2]! - 0.01);
    expect(argmax(semantic)).not.toBe(2);
    const lexical = Bm25Index.build(catalog).normalizedScore(query);
    expect(argmax(blendQueryScores(semantic, lexical, lexicalWeightForQuery(query, ['en'])))).toBe(2);
  });

  it('keeps English queries semantic: the space opera wins on meaning and words together', async () => {
    const query = 'space opera with a strong heroine';
    const [queryVector, ...items] = await encoder.embedBatch([query, ...catalog]);
    const semantic = items.map((item) => dot(queryVector!, item));
    const lexical = Bm25Index.build(catalog).normalizedScore(query);
    expect(argmax(semantic)).toBe(6);
    expect(lexicalWeightForQuery(query, ['en'])).toBe(DEFAULT_LEXICAL_WEIGHT);
    expect(argmax(blendQueryScores(semantic, lexical, lexicalWeightForQuery(query, ['en'])))).toBe(6);
  });
});

describe('Bm25Index.buildInSlices', () => {
  it('builds the same index as build(), pausing between slices', async () => {
    const texts = ['dragon magic', 'space robot', '三体 黑暗森林', 'the dragon king', '', 'robot dragon robot', '一部轻松的喜剧'];
    let pauses = 0;
    const sliced = await Bm25Index.buildInSlices(texts, async () => void pauses++, 2);
    const whole = Bm25Index.build(texts);
    expect(pauses).toBe(4);
    for (const query of ['dragon', 'robot dragon', '黑暗森林', '喜剧', 'nothing']) {
      expect(Array.from(sliced.score(query))).toEqual(Array.from(whole.score(query)));
    }
  });
});
