import { describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../cli/data/tf-node';
import type { CatalogItem } from '../core/catalog';
import { HybridModel } from '../core/model/hybrid';
import { modelIdFor } from '../core/model/identity';
import { encodeShippedGlobal } from '../core/model/shipped-global';
import { MemoryStorage } from '../storage/memory';
import type { StoredEvent } from '../storage/db';
import { HeadVectors } from '../core/model/model-candidates';
import { SCALE_ITEMS, SCALE_USER, ScaleModel, type ModelSearch } from './scale-model';

const n = 120;
const D = 48;
const d = 32;
const HEAD = 50;
let state = 11;
const random = () => {
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  return state / 2 ** 32 - 0.5;
};
const rows = Array.from({ length: n }, () => {
  const row = Float32Array.from({ length: D }, () => random());
  const norm = Math.hypot(...row);
  return row.map((x) => x / norm);
});
const items: CatalogItem[] = Array.from({ length: n }, (_, i) => ({ id: `b${i}`, title: `Book ${i}`, text: `t${i}`, genres: ['fiction'] }));
const popularity = Float32Array.from({ length: n }, (_, i) => (i % 10) / 10);
const catalog = { indexOf: (id: string) => (id.startsWith('b') ? Number(id.slice(1)) : undefined), popularity };

async function globalFile(): Promise<Uint8Array> {
  const ids = Array.from({ length: HEAD }, (_, i) => `b${i * 2}`);
  const embeddings = new Float32Array(HEAD * D);
  ids.forEach((_, c) => embeddings.set(rows[c * 2]!, c * D));
  const model = new HybridModel({ itemIds: ids, embeddings, embeddingDim: D, factors: d });
  model.q = Float32Array.from(model.q, () => random() * 0.1);
  model.b = Float32Array.from(model.b, () => random() * 0.2);
  return encodeShippedGlobal(
    { modelId: modelIdFor('enc'), catalogFingerprint: 'publisher', readers: 3, description: 'trained on 3 readers' },
    model.getParams(),
    ids,
  );
}

async function open(storage: MemoryStorage, bytes: Uint8Array, overrideCap?: number): Promise<ScaleModel> {
  const { model, problem } = await ScaleModel.open({
    storage,
    load: () => Promise.resolve({ bytes, source: 'g.global' }),
    encoderId: 'enc',
    embeddingDim: D,
    catalog,
    ...(overrideCap ? { overrideCap } : {}),
  });
  expect(problem).toBeUndefined();
  return model!;
}

const pool = Array.from({ length: 60 }, (_, i) => i + 10);
const inputs = (events: StoredEvent[]) => ({ items, popularity, profile: null, rowOf: (i: number) => rows[i], events, indexOf: catalog.indexOf });
const like = (item: number, at: number): StoredEvent => ({ id: at, kind: 'like', itemId: `b${item}`, at });
const event = (kind: StoredEvent['kind'], item: number, at: number): StoredEvent => ({ id: at, kind, itemId: `b${item}`, at });

/** The model over `list` (the pool model the feed ranks by), each item with its row, id and popularity. */
const overItems = (model: ScaleModel, list: readonly number[]) =>
  model.model.over(
    list,
    (i) => rows[i]!,
    (i) => items[i]!.id,
    (i) => popularity[i]!,
  );

/** u·v_i + b_i of `item` with the device's own row (as the model has it) and with the global model's alone. */
function ownAndGlobal(model: ScaleModel, item: number): { own: number; global: number } {
  const v = new Float32Array(d);
  const score = () => model.model.itemVector(`b${item}`, rows[item]!, popularity[item]!, v) + model.user.reduce((sum, x, k) => sum + x * v[k]!, 0);
  const own = score();
  model.model.overrides = undefined;
  const global = score();
  model.model.overrides = model.overrides;
  return { own, global };
}

describe('ScaleModel', () => {
  it('a Like moves u toward the liked item’s v and up the feed; u is stored and restored without stepping again', async () => {
    const storage = new MemoryStorage();
    const bytes = await globalFile();
    const model = await open(storage, bytes);
    const request = { k: 10, exclude: new Set<number>(), anchors: [] };
    const before = model.rank(pool, inputs([]), request)!;
    expect(before).toHaveLength(10);
    expect([...model.user].every((x) => x === 0)).toBe(true);
    // The item the model ranks lowest in the pool, and its v (head or text alone).
    const liked = 63;
    const vOf = () => overItems(model, [liked]).itemVectors();
    const above = () => {
      const scores = overItems(model, pool).scoreAll(model.user);
      return scores.filter((score) => score > scores[pool.indexOf(liked)]!).length;
    };
    const aboveBefore = above();
    const events = [like(liked, 1000)];
    const request2 = { ...request, exclude: new Set([liked]), anchors: [{ index: liked, kind: 'like' as const }], liked: new Set([liked]) };
    model.rank(pool, inputs(events), request2);
    const v = vOf();
    expect(model.user.reduce((sum, x, f) => sum + x * v[f]!, 0)).toBeGreaterThan(0);
    expect(above()).toBeLessThan(aboveBefore);
    const afterOne = Float32Array.from(model.user);
    // Ranking again with the same history steps no further.
    model.rank(pool, inputs(events), request2);
    expect([...model.user]).toEqual([...afterOne]);
    await model.saved();
    const stored = (await storage.listWeights()).find((weight) => weight.name === SCALE_USER)!;
    expect(stored.key).toBe(`${model.globalId} 1 1000`);
    const again = await open(storage, bytes);
    expect([...again.user]).toEqual([...afterOne]);
    again.rank(pool, inputs(events), request2);
    expect([...again.user]).toEqual([...afterOne]);
  });

  it('replays from zero when the history no longer starts with what u learned (a deleted event)', async () => {
    const storage = new MemoryStorage();
    const model = await open(storage, await globalFile());
    const request = { k: 5, exclude: new Set<number>(), anchors: [] };
    model.rank(pool, inputs([like(20, 1), like(30, 2)]), request);
    expect(model.user.some((x) => x !== 0)).toBe(true);
    model.rank(pool, inputs([]), request);
    expect([...model.user].every((x) => x === 0)).toBe(true);
    await model.saved();
    expect((await storage.listWeights()).find((weight) => weight.name === SCALE_USER)?.key).toBe(`${model.globalId} 0 0`);
  });

  it('opens nothing without a file, and names the problem of a file that lists no ids', async () => {
    const storage = new MemoryStorage();
    expect(await ScaleModel.open({ storage, load: () => Promise.resolve(undefined), encoderId: 'enc', embeddingDim: D, catalog })).toEqual({});
    const model = new HybridModel({
      itemIds: ['b0', 'b1'],
      embeddings: new Float32Array(2 * D).fill(0.1),
      embeddingDim: D,
      factors: d,
      W: new Float32Array(d * D),
    });
    const bytes = await encodeShippedGlobal({ modelId: modelIdFor('enc'), catalogFingerprint: 'x', readers: 1, description: 'x' }, model.getParams());
    const { problem } = await ScaleModel.open({
      storage,
      load: () => Promise.resolve({ bytes, source: 'g.global' }),
      encoderId: 'enc',
      embeddingDim: D,
      catalog,
    });
    expect(problem).toMatch(/does not list its items by id/);
  });

  it("keeps the touched items' own q_i, b_i: a click raises the item's score, a dislike lowers it; stored with u, restored to the bit, not learned again", async () => {
    const storage = new MemoryStorage();
    const bytes = await globalFile();
    const model = await open(storage, bytes);
    const request = { k: 10, exclude: new Set<number>(), anchors: [] };
    // 15 and 25 are outside the head (q = 0, the prior's b), 20 is in it.
    const events = [event('like', 20, 1), event('click', 15, 2), event('dislike', 25, 3)];
    model.rank(pool, inputs(events), request);
    expect(new Set(model.overrides.ids())).toEqual(new Set(['b20', 'b15', 'b25']));
    const clicked = ownAndGlobal(model, 15);
    expect(clicked.own).toBeGreaterThan(clicked.global);
    const disliked = ownAndGlobal(model, 25);
    expect(disliked.own).toBeLessThan(disliked.global);
    const liked = ownAndGlobal(model, 20);
    expect(liked.own).toBeGreaterThan(liked.global);
    // The pool's model (what the feed ranks by) scores the clicked item by its own row.
    const inPool = overItems(model, [15, 25]);
    expect(inPool.score(model.user, 0)).toBeCloseTo(clicked.own, 5);
    expect(inPool.score(model.user, 1)).toBeCloseTo(disliked.own, 5);
    await model.saved();
    const weights = await storage.listWeights();
    const u = weights.find((weight) => weight.name === SCALE_USER)!;
    const stored = weights.find((weight) => weight.name === SCALE_ITEMS)!;
    expect(stored.shape).toEqual([3, d + 1]);
    expect(stored.key).toBe(`${u.key}\n${JSON.stringify(model.overrides.ids())}`);
    const again = await open(storage, bytes);
    expect(again.overrides.ids()).toEqual(model.overrides.ids());
    expect(again.overrides.values()).toEqual(model.overrides.values());
    expect([...again.user]).toEqual([...model.user]);
    again.rank(pool, inputs(events), request);
    expect(again.overrides.values()).toEqual(model.overrides.values());
    expect([...again.user]).toEqual([...model.user]);
    expect(ownAndGlobal(again, 15)).toEqual(clicked);
  });

  it('keeps at most the cap, the item touched longest ago evicted; a stored u without its items is replayed', async () => {
    const storage = new MemoryStorage();
    const bytes = await globalFile();
    const model = await open(storage, bytes, 2);
    const events = [like(11, 1), like(13, 2), like(17, 3)];
    model.rank(pool, inputs(events), { k: 5, exclude: new Set<number>(), anchors: [] });
    expect(model.overrides.ids()).toEqual(['b13', 'b17']);
    await model.saved();
    expect((await storage.listWeights()).find((weight) => weight.name === SCALE_ITEMS)!.shape).toEqual([2, d + 1]);
    // The items' rows stored under another key (a write of u alone, as before stop 39): u is not restored.
    const items = (await storage.listWeights()).find((weight) => weight.name === SCALE_ITEMS)!;
    await storage.putWeights([{ ...items, key: `other\n[]` }]);
    const again = await open(storage, bytes, 2);
    expect([...again.user].every((x) => x === 0)).toBe(true);
    expect(again.overrides.size).toBe(0);
  });

  it("fine-tunes u over the whole history by the softmax objective, the pool and the history's items its normaliser; stored with the same key", async () => {
    await useNodeBackend('cpu');
    const storage = new MemoryStorage();
    const model = await open(storage, await globalFile());
    const events = [like(12, 1), like(14, 2), event('click', 16, 3), event('dislike', 18, 4)];
    model.rank(pool, inputs(events), { k: 5, exclude: new Set<number>(), anchors: [] });
    await model.saved();
    const online = Float32Array.from(model.user);
    const own = model.overrides.values();
    // The history's softmax likelihood over the pool, by u (the device's own rows in v_i and b_i).
    const logLikelihood = (user: Float32Array) => {
      const scores = overItems(model, pool).scoreAll(user);
      const max = Math.max(...scores);
      const log = Math.log(scores.reduce((sum, x) => sum + Math.exp(x - max), 0)) + max;
      return [12, 14, 16].reduce((sum, i) => sum + scores[pool.indexOf(i)]! - log, 0);
    };
    const losses = await model.fineTune(pool, { ...inputs(events) }, { epochs: 20 });
    expect(losses).toHaveLength(20);
    expect(losses!.at(-1)!).toBeLessThan(losses![0]!);
    expect([...model.user]).not.toEqual([...online]);
    expect(logLikelihood(model.user)).toBeGreaterThan(logLikelihood(online));
    // q_i and b_i are left as they are (u alone is trained); u is stored under the key of the same history.
    expect(model.overrides.values()).toEqual(own);
    const stored = (await storage.listWeights()).find((weight) => weight.name === SCALE_USER)!;
    expect(stored.key).toBe(`${model.globalId} 4 4`);
    expect([...stored.values]).toEqual([...model.user]);
    expect(await model.fineTune(pool, inputs([event('dislike', 18, 4)]))).toBeUndefined();
  }, 60_000);

  it("takes the read-ahead's predicted Wᵀu for its text search's stage one on a like of the predicted item only, on top of the u it started from", async () => {
    const model = await open(new MemoryStorage(), await globalFile());
    model.head = await HeadVectors.build(model.model, catalog.indexOf, (indices) => indices.map((i) => rows[i]));
    const asked: (Float32Array | undefined)[] = [];
    const candidates: ModelSearch = {
      search: (query, k, exclude, stageOne) => {
        asked.push(stageOne);
        const found = Array.from({ length: n }, (_, i) => i).filter((i) => !exclude(i));
        return { items: found.slice(0, k), scores: found.slice(0, k).map((i) => rows[i]!.reduce((sum, x, t) => sum + x * query[t]!, 0)) };
      },
      loadRows: () => {},
      popular: [],
    };
    const request = { k: 10, exclude: new Set<number>(), anchors: [] };
    const events = [like(20, 1)];
    model.rank(pool, { ...inputs(events), candidates }, request);
    const random = Math.random;
    let draws = 0;
    Math.random = () => (draws++, random());
    const predicted = model.predictLike(30, events, catalog.indexOf);
    Math.random = random;
    expect(predicted).toBeDefined();
    // Its own seeded negatives: the Like's step draws the same from Math.random as without a prediction.
    expect(draws).toBe(0);
    expect(model.predictLike(30, events, catalog.indexOf)).toBe(predicted);
    expect(model.predictLike(n + 5, events, catalog.indexOf)).toBeUndefined(); // not in the last rank's pool
    events.push(like(30, 2));
    model.rank(pool, { ...inputs(events), candidates }, request);
    expect(asked.at(-1)).toBe(predicted);
    // A like of another item: Wᵀu's own stage one.
    model.predictLike(50, events, catalog.indexOf);
    events.push(like(40, 3));
    model.rank(pool, { ...inputs(events), candidates }, request);
    expect(asked.at(-1)).toBeUndefined();
    // A prediction made before a reset (the history changed under it) is not taken.
    const changed = [like(21, 1), like(22, 2)];
    model.predictLike(22, events, catalog.indexOf);
    model.rank(pool, { ...inputs(changed), candidates }, request);
    expect(asked.at(-1)).toBeUndefined();
  });
});
