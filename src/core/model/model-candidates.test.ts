import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HybridModel } from './hybrid';
import { ItemOverrides } from './item-overrides';
import { HeadVectors, modelCandidates, textQuery } from './model-candidates';
import { PoolModel } from './pool-model';
import { referenceModelCandidates } from './testing/like-reference';

const n = 50;
const D = 12;
const d = 4;
const HEAD = 20;

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
}

const random = seeded(3);
const rows = Array.from({ length: n }, () => {
  const row = Float32Array.from({ length: D }, () => random());
  const norm = Math.hypot(...row);
  return row.map((x) => x / norm);
});
const ids = Array.from({ length: n }, (_, i) => `item-${i}`);
const popularity = Float32Array.from({ length: n }, (_, i) => ((i * 17) % n) / n);
/** The head: items 30…49, listed in the file in reverse order. */
const head = Array.from({ length: HEAD }, (_, r) => n - 1 - r);

function poolModel(): PoolModel {
  const params = new HybridModel({ itemIds: head.map((i) => ids[i]!), embeddings: new Float32Array(HEAD * D), embeddingDim: D, factors: d }).getParams();
  params.W!.values.set(Float32Array.from({ length: d * D }, () => random()));
  params.q!.values.set(Float32Array.from({ length: HEAD * d }, () => random()));
  params.b!.values.set(Float32Array.from({ length: HEAD }, () => random()));
  const model = new PoolModel(
    params,
    head.map((i) => ids[i]!),
  );
  model.fitPrior((id) => popularity[ids.indexOf(id)]);
  return model;
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, t) => sum + x * b[t]!, 0);

const indexOf = (id: string) => {
  const at = ids.indexOf(id);
  return at < 0 ? undefined : at;
};

describe("the model's candidates", () => {
  it("score every item as PoolModel.over's HybridModel does: the head with its q_i, the rest through Wᵀu and the prior", async () => {
    const model = poolModel();
    const heads = await HeadVectors.build(model, indexOf, (indices) => indices.map((i) => rows[i]), { chunk: 7 });
    expect([...heads.items]).toEqual([...head].sort((a, b) => a - b));
    const user = Float32Array.from({ length: d }, () => random());
    const all = Array.from({ length: n }, (_, i) => i);
    const reference = model.over(
      all,
      (i) => rows[i]!,
      (i) => ids[i]!,
      (i) => popularity[i]!,
    );
    const expected = reference.scoreAll(user);
    // A search that returns every item outside the head by z·e_i: the candidates are then the exact top k.
    const z = textQuery(model, user);
    const search = (query: Float32Array, k: number, exclude: (index: number) => boolean) => {
      expect(query).toEqual(z);
      const items = all.filter((i) => !exclude(i));
      const scores = items.map((i) => rows[i]!.reduce((sum, x, t) => sum + x * query[t]!, 0));
      return { items: items.slice(0, k), scores: scores.slice(0, k) };
    };
    const found = modelCandidates({ model, head: heads, user, search, popularity: (i) => popularity[i]!, exclude: (i) => i === 3, k: n, textCandidates: n });
    expect(found.items).not.toContain(3);
    expect(found.items).toHaveLength(n - 1);
    found.items.forEach((item, c) => expect(found.scores[c]).toBeCloseTo(expected[item]!, 4));
    const order = [...found.scores];
    expect(order).toEqual([...order].sort((a, b) => b - a));
  });

  it('ask the index nothing while u is zero, and score the head and the popular items by their biases', async () => {
    const model = poolModel();
    const heads = await HeadVectors.build(model, indexOf, (indices) => indices.map((i) => rows[i]));
    let asked = 0;
    const found = modelCandidates({
      model,
      head: heads,
      user: new Float32Array(d),
      search: () => {
        asked++;
        return { items: [], scores: [] };
      },
      popularity: (i) => popularity[i]!,
      exclude: () => false,
      k: 5,
      textCandidates: 10,
      alsoScore: { items: [0, 1, 2], rowOf: (i) => rows[i] },
    });
    expect(asked).toBe(0);
    expect(found.items).toHaveLength(5);
    for (const [c, item] of found.items.entries()) {
      const row = head.indexOf(item);
      expect(found.scores[c]).toBeCloseTo(row >= 0 ? model.headVector(row, undefined, new Float32Array(d)) : model.priorBias(popularity[item]!), 5);
    }
  });

  it('counts a head row without a stored text row by its q_i alone, and leaves out ids the catalog lacks', async () => {
    const model = poolModel();
    const heads = await HeadVectors.build(
      model,
      (id) => (id === ids[49] ? undefined : indexOf(id)),
      (indices) => indices.map(() => undefined),
    );
    expect(heads.items).not.toContain(49);
    const user = Float32Array.from({ length: d }, () => random());
    const scores = heads.scores(user);
    heads.items.forEach((item, r) => {
      const q = new Float32Array(d);
      const b = model.headVector(head.indexOf(item), undefined, q);
      expect(scores[r]).toBeCloseTo(b + q.reduce((sum, x, k) => sum + x * user[k]!, 0), 5);
    });
  });

  it("score the items with the device's own q_i, b_i by those, in the head or not, as PoolModel.over does", async () => {
    const model = poolModel();
    const heads = await HeadVectors.build(model, indexOf, (indices) => indices.map((i) => rows[i]));
    const user = Float32Array.from({ length: d }, () => random());
    const all = Array.from({ length: n }, (_, i) => i);
    const search = (query: Float32Array, k: number, exclude: (index: number) => boolean) => {
      const items = all.filter((i) => !exclude(i));
      return { items, scores: items.map((i) => rows[i]!.reduce((sum, x, t) => sum + x * query[t]!, 0)) };
    };
    const options = { model, head: heads, user, search, popularity: (i: number) => popularity[i]!, exclude: () => false, k: n, textCandidates: n };
    const before = modelCandidates(options);
    // Item 5 (outside the head) and item 40 (in it) get rows of their own: 5 far up, 40 far down.
    model.overrides = new ItemOverrides(d);
    model.overrides.set(
      ids[5]!,
      Float32Array.from(user, (x) => 2 * x),
      3,
    );
    model.overrides.set(
      ids[40]!,
      Float32Array.from(user, (x) => -2 * x),
      -3,
    );
    const own = { items: [5, 40], rowOf: (i: number) => rows[i], idOf: (i: number) => ids[i]! };
    const after = modelCandidates({ ...options, own });
    const expected = model
      .over(
        all,
        (i) => rows[i]!,
        (i) => ids[i]!,
        (i) => popularity[i]!,
      )
      .scoreAll(user);
    after.items.forEach((item, c) => expect(after.scores[c]).toBeCloseTo(expected[item]!, 4));
    expect(after.items[0]).toBe(5);
    expect(after.items.at(-1)).toBe(40);
    expect(before.items.indexOf(5)).toBeGreaterThan(0);
    expect(before.items.indexOf(40)).toBeLessThan(n - 1);
  });

  it("give stop 39's items, scores and order (the Map's), whatever the exclusions, finds, popular and own items", async () => {
    const model = poolModel();
    const heads = await HeadVectors.build(model, indexOf, (indices) => indices.map((i) => rows[i]));
    const item = fc.integer({ min: 0, max: n - 1 });
    fc.assert(
      fc.property(
        fc.record({
          user: fc.array(fc.float({ min: -2, max: 2, noNaN: true }), { minLength: d, maxLength: d }),
          excluded: fc.uniqueArray(item, { maxLength: 15 }),
          found: fc.array(item, { maxLength: 30 }),
          popular: fc.array(item, { maxLength: 10 }),
          own: fc.uniqueArray(item, { maxLength: 8 }),
          k: fc.integer({ min: 1, max: n + 5 }),
          // Ties: every score rounded to a coarse step, so that equal scores are common.
          coarse: fc.boolean(),
        }),
        ({ user, excluded, found, popular, own, k, coarse }) => {
          const u = Float32Array.from(user);
          model.overrides = new ItemOverrides(d);
          for (const index of own)
            model.overrides.set(
              ids[index]!,
              Float32Array.from(u, (x) => x * ((index % 3) - 1)),
              (index % 5) - 2,
            );
          const round = (x: number) => (coarse ? Math.round(x) : x);
          const search = (query: Float32Array, count: number, exclude: (index: number) => boolean) => {
            const items = found.filter((i) => !exclude(i)).slice(0, count);
            return { items, scores: items.map((i) => round(dot(query, rows[i]!))) };
          };
          const options = {
            model,
            head: heads,
            user: u,
            search,
            popularity: (i: number) => (coarse ? 0 : popularity[i]!),
            exclude: (i: number) => excluded.includes(i),
            k,
            textCandidates: 20,
            alsoScore: { items: popular, rowOf: (i: number) => (i % 7 === 0 ? undefined : rows[i]) },
            own: { items: own, rowOf: (i: number) => (i % 11 === 0 ? undefined : rows[i]), idOf: (i: number) => ids[i]! },
          };
          expect(modelCandidates(options)).toEqual(referenceModelCandidates(options));
        },
      ),
      { numRuns: 300, seed: 40 },
    );
    model.overrides = undefined;
  });
});
