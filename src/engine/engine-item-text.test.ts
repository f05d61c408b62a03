import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { SentenceEncoder } from '../core/encoder';
import { encoderText } from '../core/item-text';
import { startTestEngine, WordCountEncoder, type TestItem } from './testing/harness';

/** Books whose titles say nothing the test encoder knows: only their genres do. */
const BOOKS: (TestItem & { genres: string[] })[] = [
  { id: 'a', title: 'First quiet tale', genres: ['dragon', 'magic'], popularity: 10 },
  { id: 'b', title: 'Second quiet tale', genres: ['dragon', 'wizard'], popularity: 20 },
  { id: 'c', title: 'Third quiet tale', genres: ['space', 'robot'], popularity: 90 },
  { id: 'd', title: 'Fourth quiet tale', genres: ['robot', 'planet'], popularity: 80 },
];

describe('the engine reads each item’s encoder text', () => {
  it('embeds the text with the genres, so genres alone carry a like to a similar book; feed items carry the genres', async () => {
    const read: string[] = [];
    const inner = new WordCountEncoder();
    const encoder: SentenceEncoder = {
      id: inner.id,
      dimension: inner.dimension,
      embedBatch: async (texts) => (read.push(...texts), inner.embedBatch(texts)),
    };
    const harness = await startTestEngine(BOOKS, { feedSize: 3, overrides: { loadEncoder: async () => encoder } });
    await harness.until((s) => s.embedding?.active === false && s.embedding.done === BOOKS.length);
    expect(new Set(read)).toEqual(new Set(BOOKS.map((book) => encoderText({ text: book.title, genres: book.genres }))));
    expect(read[0]).toMatch(/^\w+ quiet tale\. Genres: /);

    await harness.engine.record('like', 'a');
    const feed = harness.latest().feed;
    // The other dragon book first, though the robot books are far more popular.
    expect(feed[0]).toMatchObject({ id: 'b', genres: ['dragon', 'wizard'] });
    expect(feed.find((item) => item.id === 'c')?.genres).toEqual(['space', 'robot']);
  });
});
