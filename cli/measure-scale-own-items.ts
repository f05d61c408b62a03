/**
 * `npx tsx cli/measure-scale-own-items.ts [--likes 2100] [--pool 1000] [--runs 200]`
 *
 * The cost of the device's own q_i, b_i at scale (core/model/item-overrides.ts, engine/scale-model.ts) in
 * Node, over a seeded pool of `pool` random 512-d rows and a head of 1,000 of them (d = 32):
 *   - the online step of one Like with the pairs' q_i, b_i moving (updateItems, as ScaleModel steps now)
 *     against u alone (stop 38's step), on the same pool model, alternated;
 *   - ScaleModel.rank after each new Like (u's step, the items' rows kept, the pool's model and feed),
 *     up to `likes` Likes: past ITEM_OVERRIDE_CAP the cap evicts;
 *   - what a write of u and the items' rows costs before IndexedDB: the values, the ids' JSON and a
 *     structured clone of both (IndexedDB clones what it stores) with the cap full.
 * Prints medians and p95 with the load average.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { CatalogItem } from '../src/core/catalog';
import { onlineStep } from '../src/core/model/bpr';
import { HybridModel } from '../src/core/model/hybrid';
import { modelIdFor } from '../src/core/model/identity';
import { ITEM_OVERRIDE_CAP, ItemOverrides } from '../src/core/model/item-overrides';
import { encodeShippedGlobal } from '../src/core/model/shipped-global';
import { gaussianSource, seededUniform } from '../src/core/random';
import type { StoredEvent } from '../src/storage/db';
import { MemoryStorage } from '../src/storage/memory';
import { ScaleModel } from '../src/engine/scale-model';

const { values } = parseArgs({
  options: { likes: { type: 'string', default: '2100' }, pool: { type: 'string', default: '1000' }, runs: { type: 'string', default: '200' } },
});
const likes = Number(values.likes);
const poolSize = Number(values.pool);
const runs = Number(values.runs);
const D = 512;
const d = 32;
const HEAD = 1000;
// Items: the pool, then the liked ones (each Like names an item of its own, so the rows kept grow to the cap).
const n = poolSize + likes;
const normal = gaussianSource(seededUniform(5));
const rows = Array.from({ length: n }, () => {
  const row = Float32Array.from({ length: D }, () => normal());
  const norm = Math.hypot(...row);
  return row.map((x) => x / norm);
});
const items: CatalogItem[] = Array.from({ length: n }, (_, i) => ({ id: `i${i}`, title: `Item ${i}`, text: '', genres: ['fiction'] }));
const popularity = Float32Array.from({ length: n }, (_, i) => ((i * 31) % 97) / 97);
const indexOf = (id: string) => Number(id.slice(1));

const stats = (times: number[]) => {
  const sorted = [...times].sort((a, b) => a - b);
  return `median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} ms, p95 ${sorted[Math.floor(sorted.length * 0.95)]!.toFixed(2)} ms (${sorted.length})`;
};
const load = () => loadavg()[0]!.toFixed(1);

async function openModel(): Promise<ScaleModel> {
  const ids = Array.from({ length: HEAD }, (_, i) => `i${i}`);
  const embeddings = new Float32Array(HEAD * D);
  ids.forEach((_, c) => embeddings.set(rows[c]!, c * D));
  const global = new HybridModel({ itemIds: ids, embeddings, embeddingDim: D, factors: d });
  global.q = Float32Array.from(global.q, () => 0.05 * normal());
  global.b = Float32Array.from(global.b, () => 0.1 * normal());
  const info = { modelId: modelIdFor('enc'), catalogFingerprint: 'bench', readers: 1, description: 'bench' };
  const bytes = await encodeShippedGlobal(info, global.getParams(), ids);
  const { model, problem } = await ScaleModel.open({
    storage: new MemoryStorage(),
    load: () => Promise.resolve({ bytes, source: 'bench.global' }),
    encoderId: 'enc',
    embeddingDim: D,
    catalog: { indexOf, popularity },
  });
  if (!model) throw new Error(problem ?? 'no model');
  return model;
}

const scale = await openModel();
console.log(`load ${load()} at start; pool ${poolSize}, head ${HEAD}, D ${D}, d ${d}, cap ${ITEM_OVERRIDE_CAP}`);

// 1. The step alone, alternated: u alone against u with the pairs' q_i, b_i.
const pool = Array.from({ length: poolSize }, (_, i) => i);
const poolModel = scale.model.over(
  pool,
  (i) => rows[i]!,
  (i) => items[i]!.id,
  (i) => popularity[i]!,
);
poolModel.itemVectors();
const random = seededUniform(3);
const context = () => ({
  skipped: Array.from({ length: 20 }, () => Math.floor(random() * poolSize)),
  recentPositives: [],
  randomUnseen: Array.from({ length: 16 }, () => Math.floor(random() * poolSize)),
});
const uAlone: number[] = [];
const withItems: number[] = [];
for (let run = 0; run < runs; run++) {
  for (const updateItems of run % 2 === 0 ? [false, true] : [true, false]) {
    const user = Float32Array.from({ length: d }, () => 0.1 * normal());
    const item = Math.floor(random() * poolSize);
    const c = context();
    const others = [...new Set([...c.skipped, ...c.randomUnseen])].filter((other) => other !== item);
    const started = performance.now();
    if (updateItems) {
      // As ScaleModel's step: the negatives' rows saved and put back, the item's kept.
      const saved = others.map((other) => ({ q: poolModel.q.slice(other * d, (other + 1) * d), b: poolModel.b[other]! }));
      onlineStep(poolModel, user, { kind: 'like', item }, c, { updateItems: true });
      others.forEach((other, k) => {
        poolModel.q.set(saved[k]!.q, other * d);
        poolModel.b[other] = saved[k]!.b;
      });
      poolModel.invalidate(others);
      scale.overrides.set(items[item]!.id, poolModel.q.subarray(item * d, (item + 1) * d), poolModel.b[item]!);
    } else onlineStep(poolModel, user, { kind: 'like', item }, c, { updateItems: false });
    (updateItems ? withItems : uAlone).push(performance.now() - started);
  }
}
scale.overrides.clear();
console.log(`step of one Like, u alone (stop 38): ${stats(uAlone)}`);
console.log(`step of one Like, u and the pairs' q_i, b_i (stop 39): ${stats(withItems)}; load ${load()}`);

// 2. ScaleModel.rank after each new Like, the rows kept growing to the cap.
const events: StoredEvent[] = [];
const rankTimes: number[] = [];
const request = { k: 20, exclude: new Set<number>(), anchors: [] };
for (let like = 0; like < likes; like++) {
  const item = poolSize + like;
  events.push({ id: like + 1, kind: 'like', itemId: items[item]!.id, at: like + 1 });
  request.exclude.add(item);
  const started = performance.now();
  scale.rank([...pool, item], { items, popularity, profile: null, rowOf: (i) => rows[i], events, indexOf }, request);
  rankTimes.push(performance.now() - started);
  if (like === 99) console.log(`ScaleModel.rank after each of the first 100 Likes: ${stats(rankTimes)}; load ${load()}`);
}
console.log(
  `ScaleModel.rank after each of ${likes} Likes: ${stats(rankTimes)}; last 100: ${stats(rankTimes.slice(-100))}; rows kept ${scale.overrides.size}; load ${load()}`,
);
await scale.saved();

// 3. A write's values with the cap full, before IndexedDB's own work.
const full = new ItemOverrides(d);
for (let i = 0; i < ITEM_OVERRIDE_CAP; i++)
  full.set(
    `goodreads-${1_000_000 + i}`,
    Float32Array.from({ length: d }, () => normal()),
    normal(),
  );
const writeTimes: number[] = [];
let bytes = 0;
for (let run = 0; run < 50; run++) {
  const started = performance.now();
  const record = { values: full.values(), key: JSON.stringify(full.ids()) };
  structuredClone(record);
  writeTimes.push(performance.now() - started);
  bytes = record.values.byteLength + record.key.length;
}
console.log(
  `a write's values with ${ITEM_OVERRIDE_CAP} rows (${(bytes / 1024).toFixed(0)} KB), values + JSON + structured clone: ${stats(writeTimes)}; load ${load()}`,
);
