import { describe, expect, it } from 'vitest';
import { easeNeighbours, easeWeights, likeGram } from '../src/core/model/ease';
import { seededUniform } from '../src/core/random';
import { easeWithNumpy, numpyAvailable } from './ease-numpy';

// .ci/run installs python3-numpy, so CI runs this; a machine without it says so and skips.
describe.skipIf(!numpyAvailable())('EASE through numpy (the publisher build)', () => {
  it('gives the TypeScript reference\'s neighbours and weights', async () => {
    const random = seededUniform(29);
    const items = 60;
    // Readers with a taste: each likes a few books from one of three overlapping ranges.
    const likes = Array.from({ length: 400 }, () => {
      const start = Math.floor(random() * 3) * 18;
      return Array.from({ length: 2 + Math.floor(random() * 6) }, () => start + Math.floor(random() * 24));
    });
    const lambda = 3;
    const neighbours = 8;
    const reference = easeNeighbours(easeWeights(likeGram(likes, items), items, lambda), items, neighbours);
    const numpy = await easeWithNumpy(likes, items, lambda, neighbours);
    expect(Array.from(numpy.ids)).toEqual(Array.from(reference.ids));
    numpy.similarities.forEach((s, k) => expect(s).toBeCloseTo(reference.similarities[k]!, 5));
    expect(reference.similarities.some((s) => s > 0)).toBe(true);
  });
});
