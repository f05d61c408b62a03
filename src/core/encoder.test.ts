import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { embedInLengthSortedRuns } from './encoder';

describe('embedInLengthSortedRuns', () => {
  it('embeds every text once, in runs of at most runSize texts of ascending length, and answers in the order of the texts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ maxLength: 40 }), { maxLength: 60 }), fc.integer({ min: 1, max: 16 }), async (texts, runSize) => {
        const runs: string[][] = [];
        // A fake model whose vector names its text: [position of the text in its run's input, run number, length].
        const vectors = await embedInLengthSortedRuns(texts, runSize, async (run) => {
          runs.push([...run]);
          return run.map((text, k) => new Float32Array([k, runs.length - 1, text.length]));
        });
        expect(vectors).toHaveLength(texts.length);
        // Each answer is the vector made for its own text.
        vectors.forEach((vector, i) => expect(runs[vector[1]!]![vector[0]!]).toBe(texts[i]));
        expect(runs.flat().sort()).toEqual([...texts].sort());
        for (const run of runs) expect(run.length).toBeLessThanOrEqual(runSize);
        // Runs go shortest first, so a run's texts are of similar length.
        const lengths = runs.flat().map((text) => text.length);
        if (texts.length > runSize) expect(lengths).toEqual([...lengths].sort((a, b) => a - b));
      }),
    );
  });
});
