import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { layoutOf } from '../federated/params';
import { seededUniform } from '../random';
import { HybridModel, ModelParamsError } from './hybrid';

/** Items in two topics: each embedding is a topic direction plus noise, normalised. */
function twoTopicCatalog(itemCount = 30, dim = 24) {
  const uniform = seededUniform(11);
  const embeddings = new Float32Array(itemCount * dim);
  for (let i = 0; i < itemCount; i++) {
    const row = Float32Array.from({ length: dim }, () => (uniform() - 0.5) * 0.4);
    row[i % 2 === 0 ? 0 : 1]! += 1;
    const norm = Math.hypot(...row);
    embeddings.set(
      row.map((x) => x / norm),
      i * dim,
    );
  }
  return { itemIds: Array.from({ length: itemCount }, (_, i) => `m${i}`), embeddings, embeddingDim: dim };
}

describe('HybridModel', () => {
  it('scores from text alone: a user vector made of liked items’ W·e prefers the same topic', () => {
    const catalog = twoTopicCatalog();
    const model = new HybridModel({ ...catalog, factors: 6 });
    const user = model.project(catalog.embeddings.subarray(0, catalog.embeddingDim)); // liked item 0 (topic A)
    const scores = model.scoreAll(user);
    let same = 0;
    let other = 0;
    for (let i = 1; i < 30; i++) i % 2 === 0 ? (same += scores[i]!) : (other += scores[i]!);
    expect(same / 14).toBeGreaterThan(other / 15);
  });

  it('round-trips its parameters and refuses bad ones with a message naming the problem, keeping the old ones', () => {
    const catalog = twoTopicCatalog();
    const model = new HybridModel({ ...catalog, factors: 6 });
    const params = model.getParams();
    params.b!.values[3] = 0.5;
    model.setParams(params);
    expect(model.b[3]).toBeCloseTo(0.5);
    for (const name of Object.keys(params)) expect(name).toMatch(/^[A-Za-z][A-Za-z0-9_./:-]*$/);

    const withNaN = model.getParams();
    withNaN.q!.values[7] = Number.NaN;
    expect(() => model.setParams(withNaN)).toThrow(/parameter 'q' has a non-finite value \(NaN\) at index 7/);
    const withInf = model.getParams();
    withInf.W!.values[0] = Infinity;
    expect(() => model.setParams(withInf)).toThrow(ModelParamsError);
    // Finite but huge: every score u·v + b would overflow to ±Infinity and the feed would be empty.
    const withHuge = model.getParams();
    withHuge.b!.values[2] = -3e38;
    expect(() => model.setParams(withHuge)).toThrow(/parameter 'b' has a value \(-3[.\d]*e\+38\) beyond ±10000 at index 2/);

    const fewerItems = new HybridModel({ ...twoTopicCatalog(20), factors: 6 }).getParams();
    expect(() => model.setParams(fewerItems)).toThrow(/the model has 20 items \(parameter 'q'\), the catalog 30/);
    const otherDims = new HybridModel({ ...twoTopicCatalog(30, 16), factors: 6 }).getParams();
    expect(() => model.setParams(otherDims)).toThrow(/16-dimensional embeddings, the encoder gives 24/);
    const otherFactors = new HybridModel({ ...catalog, factors: 4 }).getParams();
    expect(() => model.setParams(otherFactors)).toThrow(/parameter 'W' has shape \[4, 24\], expected \[6, 24\]/);
    expect(() => model.setParams(model.getParams(), ['x', ...catalog.itemIds.slice(1)])).toThrow(/item 0 is 'x' in the model but 'm0'/);
    expect(model.b[3]).toBeCloseTo(0.5); // still the last good parameters
  });
});

describe('HybridModel.prepareItemVectors', () => {
  it('computes, in slices, exactly the vectors itemVectors() computes at once', async () => {
    const catalog = twoTopicCatalog(37);
    const sliced = new HybridModel({ ...catalog, factors: 6 });
    const whole = new HybridModel({ ...catalog, factors: 6 });
    whole.setParams(sliced.getParams());
    let pauses = 0;
    await sliced.prepareItemVectors(async () => void pauses++, 10);
    expect(pauses).toBe(4);
    expect(Array.from(sliced.itemVectors())).toEqual(Array.from(whole.itemVectors()));
  });
});

describe('HybridModel.paramLayout', () => {
  it('is the layout of getParams(), without its copies', () => {
    const model = new HybridModel({ ...twoTopicCatalog(9), factors: 3 });
    expect(model.paramLayout()).toEqual(layoutOf(model.getParams()));
  });
});

describe('HybridModel.restoreProjections', () => {
  it('ranks with kept projections exactly as with computed ones, for this W only', () => {
    const catalog = twoTopicCatalog(23);
    const computed = new HybridModel({ ...catalog, factors: 5 });
    const params = computed.getParams();
    params.q!.values.forEach((_, i, q) => (q[i] = Math.sin(i)));
    computed.setParams(params);
    expect(computed.projectionsIfReady()).toBeNull();
    const user = Float32Array.from({ length: 5 }, (_, f) => f - 2);
    const scores = computed.scoreAll(user);
    const kept = computed.projectionsIfReady();
    expect(kept).not.toBeNull();

    const restored = new HybridModel({ ...catalog, factors: 5 });
    restored.setParams(params);
    expect(restored.itemVectorsReady).toBe(false);
    restored.restoreProjections(Float32Array.from(kept!));
    expect(restored.itemVectorsReady).toBe(true);
    expect(Array.from(restored.scoreAll(user))).toEqual(Array.from(scores));
    // A new W makes them stale: computed again, not reused.
    restored.setParams({ ...params, W: { ...params.W!, values: params.W!.values.map((x) => x * 2) } });
    expect(restored.itemVectorsReady).toBe(false);
    expect(restored.projectionsIfReady()).toBeNull();
    expect(() => restored.restoreProjections(new Float32Array(3))).toThrow(RangeError);
  });
});

describe('HybridModel cached vectors', () => {
  /** v_i = W·e_i + q_i computed from scratch, for comparison. */
  function fromScratch(model: HybridModel): Float32Array {
    const fresh = new HybridModel({
      itemIds: model.itemIds,
      embeddings: Float32Array.from(model.embeddings),
      embeddingDim: model.embeddingDim,
      factors: model.factors,
      W: model.W,
    });
    fresh.q.set(model.q);
    return fresh.itemVectors();
  }

  it('stay equal to a fresh computation through any mix of q changes, embedding changes and a new W', () => {
    const catalog = twoTopicCatalog(12, 8);
    const operation = fc.oneof(
      fc.record({ kind: fc.constant('q' as const), item: fc.integer({ min: 0, max: 11 }), value: fc.float({ min: -2, max: 2, noNaN: true }) }),
      fc.record({ kind: fc.constant('embedding' as const), item: fc.integer({ min: 0, max: 11 }), value: fc.float({ min: -1, max: 1, noNaN: true }) }),
      fc.record({ kind: fc.constant('W' as const), item: fc.integer({ min: 0, max: 11 }), value: fc.float({ min: -1, max: 1, noNaN: true }) }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 12 }), (operations) => {
        const model = new HybridModel({ ...catalog, embeddings: Float32Array.from(catalog.embeddings), factors: 3 });
        model.itemVectors();
        for (const { kind, item, value } of operations) {
          if (kind === 'q') {
            model.q[item * 3 + 1] = value;
            model.invalidate([item]);
          } else if (kind === 'embedding') {
            model.embeddings[item * 8 + 2] = value;
            model.embeddingsChanged([item]);
          } else {
            const W = Float32Array.from(model.W);
            W[item] = value;
            model.W = W; // replaced, as training does: noticed without a call
          }
          const expected = fromScratch(model);
          const actual = model.itemVectors();
          for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i]!, 5);
        }
      }),
      { numRuns: 100 },
    );
  });
});
