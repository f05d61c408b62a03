/**
 * `npx tsx cli/measure-scale-like.ts [--items 100000] [--sessions 12] [--likes 6] [--warm 2] [--out feeds.json] [--seed 1] [--profile p.cpuprofile]`
 *
 * A Like with the recommendation model open at catalog scale (issue 21; docs/scale.md "Stop 40: the Like
 * with the model open"), in Node: the catalog of e2e/scale-columns.spec.ts (its titles, bylines and
 * popularity; random but fixed 512-d rows in 100 groups, int8 in a memory VectorStore, held in memory up to
 * the engine's limit as at 100,000 items, read from the store at 1,000,000), its text index (sign codes, the
 * engine's stage one: textIndexFrom, WASM where Node runs it) and the spec's global model (a head of 10,000
 * items, W random but fixed: engine/testing/scale-head-fixture.ts). Each Like: the liked item joins the
 * history, the content profile moves (applyEvent), the pool is what ScalePath.pool takes (the profile's 500
 * nearest by the text index, the 300 most popular, the history), and ScaleModel.rank ranks it with the
 * model's own candidates (the head scored, the Wᵀu search, the popular items, the device's own rows) as
 * engine/scale-model.ts asks for them. The next Like likes the new feed's first item not liked yet.
 *
 * Math.random is seeded (the online step's random negatives), so two builds of the code give comparable
 * feeds: `--out` writes every Like's feed (ids and scores) as JSON, for a comparison of old and new code.
 * `--profile`: a CPU profile of the timed Likes. `--recall`: the model's text search's recall@100 against the exact
 * top by z·e_i. `--likes-from`: like the items another run's --out liked.
 * Prints the rank's time (the model's step: ScaleModel.rank) per Like after `warm` Likes: median and p95.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import type { CatalogItem } from '../src/core/catalog';
import { encodeIndexFile, textSignBits } from '../src/core/index/codes-file';
import { mostPopular } from '../src/core/index/pool-rank';
import { int8Rows } from '../src/core/index/rows';
import { encodeSign, signCodebook } from '../src/core/index/sign';
import { HeadVectors } from '../src/core/model/model-candidates';
import { applyEvent, EMPTY_PROFILE, type ContentProfile } from '../src/core/profile';
import { gaussianSource, seededUniform } from '../src/core/random';
import type { RankRequest } from '../src/core/recommender';
import { topK } from '../src/core/topk';
import { normalized } from '../src/core/vector';
import type { StoredEvent } from '../src/storage/db';
import { MemoryStorage } from '../src/storage/memory';
import { memoryDirectory, VectorStore } from '../src/storage/opfs-vectors';
import { ScaleSearch, textIndexFrom, TEXT_CANDIDATES } from '../src/engine/scale-index';
import { MODEL_TEXT_CANDIDATES, ScaleModel, type ModelSearch } from '../src/engine/scale-model';
import { partnerHeadFile } from '../src/engine/testing/scale-head-fixture';
import { clusteredInt8Rows } from './clustered-rows';

// Absent from the code before stop 40 (the bench runs on both for an A/B): the model's stage one read ahead.
const modelSearch = await import('../src/engine/scale-model-search').catch(() => undefined);
const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '100000' },
    sessions: { type: 'string', default: '12' },
    likes: { type: 'string', default: '6' },
    warm: { type: 'string', default: '2' },
    out: { type: 'string' },
    seed: { type: 'string', default: '1' },
    profile: { type: 'string' },
    'no-read-ahead': { type: 'boolean', default: false },
    'likes-from': { type: 'string' },
    recall: { type: 'boolean', default: false },
  },
});
const n = Number(values.items);
const sessions = Number(values.sessions);
const likes = Number(values.likes);
const warm = Number(values.warm);
const readAhead = !values['no-read-ahead'];
/** `--recall`: the model's text search's recall@RECALL_AT against the exact top by z·e_i over every row (slow). */
const recall = values.recall;
const RECALL_AT = 100;
const recalls: number[] = [];
/** `--likes-from feeds.json`: like the items another run liked (its --out), so that two codes' feeds compare Like for Like. */
const likesFrom = values['likes-from'] ? (JSON.parse(readFileSync(values['likes-from'], 'utf8')) as { session: number; like: number }[]) : undefined;
const D = 512;
const GROUPS = 100;
const HEAD = 10_000;
const POPULAR = 300;
const ADJECTIVES = ['Quiet', 'Amber', 'Hidden', 'Northern', 'Silver', 'Broken', 'Gentle', 'Crimson', 'Last', 'Wild', 'Distant', 'Golden', 'Secret'];
const NOUNS = ['River', 'Garden', 'Harbour', 'Winter', 'Letters', 'Orchard', 'Lantern', 'Mountain', 'Voyage', 'Kingdom', 'Mirror', 'Meadow', 'Compass', 'Tide'];
const load = () => loadavg()[0]!.toFixed(1);

// Math.random seeded: the online step's negatives (ScaleModel.context) are then the same in every run.
const random = seededUniform(Number(values.seed));
Math.random = random;

const started = performance.now();
const uniform = seededUniform(5);
const items: CatalogItem[] = Array.from({ length: n }, (_, i) => {
  const title = `G${i % GROUPS}-${i} ${ADJECTIVES[i % 13]} ${NOUNS[Math.floor(i / 13) % 14]}`;
  return { id: `s${i}`, title, text: `${title}, a story`, byline: `Writer ${i % 5003}`, popularity: 1000 + Math.floor(1000 * uniform()) };
});
const logs = items.map((item) => Math.log1p(item.popularity!));
const maxLog = logs.reduce((a, b) => Math.max(a, b), 0);
const popularity = Float32Array.from(logs, (x) => x / maxLog);
const normal = gaussianSource(seededUniform(21));
const { codes, scales } = clusteredInt8Rows(n, D, GROUPS, 0.8, normal);
const store = await VectorStore.open(memoryDirectory(), { modelId: 'm', catalogFingerprint: 'f', totalItems: n, dimension: D });
store.writeRows(0, codes, scales);
const held = await store.holdMemory();
const book = signCodebook(D, textSignBits(D), 7);
const file = await encodeIndexFile(
  { vectors: 'text', modelId: 'm', catalogFingerprint: 'f' },
  { kind: 'sign', codebook: book, codes: encodeSign(book, int8Rows(codes, scales, D)) },
);
const search = new ScaleSearch({ text: { index: await textIndexFrom(file, { modelId: 'm', catalogFingerprint: 'f', count: n }), rows: store } });
const indexOf = (id: string) => {
  const index = Number(id.slice(1));
  return Number.isInteger(index) && index >= 0 && index < n ? index : undefined;
};

// The engine's rows (CatalogVectors.rows): one array per item read, kept.
const rows: (Float32Array | undefined)[] = new Array(n);
const readOne = (indices: readonly number[]) => {
  const wanted = indices.filter((index) => !rows[index]).sort((a, b) => a - b);
  if (wanted.length === 0) return;
  const c = new Int8Array(wanted.length * D);
  const s = new Float32Array(wanted.length);
  store.readRows(wanted, c, s);
  wanted.forEach((index, k) => (rows[index] = Float32Array.from(c.subarray(k * D, (k + 1) * D), (x) => x * s[k]!)));
};
/** z·e_i of row i as the int8 row holds it. */
const dotInt8 = (z: Float32Array, i: number) => {
  let sum = 0;
  for (let t = 0; t < D; t++) sum += z[t]! * codes[i * D + t]!;
  return sum * scales[i]!;
};
const popular = mostPopular(popularity, POPULAR);
readOne(popular);

const headFile = await partnerHeadFile({
  encoderId: 'use-lite',
  embeddingDim: D,
  ids: Array.from({ length: Math.min(n, HEAD) }, (_, i) => `s${i}`),
  partners: [],
});
const { model: first, problem } = await ScaleModel.open({
  storage: new MemoryStorage(),
  load: () => Promise.resolve({ bytes: headFile, source: 'bench.global' }),
  encoderId: 'use-lite',
  embeddingDim: D,
  catalog: { indexOf, popularity },
});
if (!first) throw new Error(problem ?? 'no model');
first.head = await HeadVectors.build(first.model, indexOf, (indices) => {
  readOne(indices);
  return indices.map((index) => rows[index]);
});
const candidates: ModelSearch = {
  search: (query, k, exclude, stageOne) => {
    const found =
      stageOne && modelSearch
        ? modelSearch.searchFromStageOne(search, store, stageOne, query, k, exclude, (index) => rows[index])
        : search.query(query, k, exclude, undefined, (index) => rows[index]);
    if (recall) {
      // The exact top RECALL_AT by z·e_i over the rows, among the items this search could return.
      const exact = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
      for (let i = 0; i < n; i++) if (!exclude(i)) exact[i] = dotInt8(query, i);
      const truth = topK(exact, RECALL_AT);
      const got = new Set(found.items.slice(0, RECALL_AT));
      recalls.push(truth.filter((i) => got.has(i)).length / truth.length);
    }
    return found;
  },
  loadRows: (indices) => readOne(indices),
  popular,
};
console.log(`setup ${((performance.now() - started) / 1000).toFixed(1)} s: ${n} items, rows held ${held}, head ${HEAD}; load ${load()}`);

const rankTimes: number[] = [];
const likeTimes: number[] = [];
/** The rank's CPU time (process.cpuUsage: less moved by the machine's other work than the clock). */
const rankCpu: number[] = [];
const feeds: { session: number; like: number; feed: { id: string; score: number; reason: string }[] }[] = [];
// `--profile file.cpuprofile`: V8's CPU profile of the sessions after the warm ones (their timed Likes: rank and pool).
const session = values.profile ? new Session() : undefined;
session?.connect();
for (let visit = 0; visit < sessions; visit++) {
  if (session && visit === warm) {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
  }
  // A reader of their own: no history, so the first rank forgets the last visit's u and rows (ScaleModel.learn);
  // the model stays open, with what it keeps from rank to rank (the rows' W·e_i, the pairs' cosines), as in a tab.
  const scale = first;
  const events: StoredEvent[] = [];
  let profile: ContentProfile = EMPTY_PROFILE;
  const liked = new Set<number>();
  const request: RankRequest & { liked: Set<number>; exclude: Set<number> } = { k: 20, exclude: new Set(), anchors: [], liked, diversity: 0.3 };
  // The first Like: a popular item (the first feed is the head's popular items), another each visit.
  let next = popular[visit % popular.length]!;
  for (let like = 0; like < likes; like++) {
    next = likesFrom?.[visit * likes + like]?.like ?? next;
    // The read-ahead while the last feed was on screen: the model's text search's stage one for the u a like of
    // the card would make (ScaleModelSlot.stageOneAhead, stop 40), its candidates' rows.
    const predicted = readAhead ? (scale as { predictLike?: ScaleModel['predictLike'] }).predictLike?.(next, events, indexOf) : undefined;
    const ahead = predicted?.some((x) => x !== 0) && modelSearch ? modelSearch.stageOneAhead(search, D, predicted, MODEL_TEXT_CANDIDATES) : [];
    readOne(ahead);
    const t0 = performance.now();
    events.push({ id: like + 1, kind: 'like', itemId: items[next]!.id, at: like + 1 });
    liked.add(next);
    request.exclude.add(next);
    request.anchors = [{ index: next, kind: 'like' }, ...request.anchors];
    readOne([next]);
    profile = applyEvent(profile, 'like', rows[next]!);
    const direction = normalized(profile.vector!);
    const pool = new Set<number>([...popular, ...liked]);
    for (const item of search.query(direction, TEXT_CANDIDATES, undefined, undefined, (index) => rows[index]).items) pool.add(item);
    readOne([...pool]);
    // The read-ahead (engine/scale-readahead.ts) read this pool's rows while the feed was on screen, and with the
    // model open projects them through W (PoolModel.prepare, stop 40; absent from older code).
    if (readAhead) (scale.model as { prepare?: (rows: Float32Array[]) => number }).prepare?.([...pool, ...ahead].flatMap((index) => rows[index] ?? []));
    const t1 = performance.now();
    const cpu = process.cpuUsage();
    const feed = scale.rank([...pool], { items, popularity, profile: direction, rowOf: (index) => rows[index], events, indexOf, candidates }, request);
    const t2 = performance.now();
    const used = process.cpuUsage(cpu);
    if (!feed) throw new Error('no feed');
    // The spec's first Like opens the model; its five Likes after that are timed.
    if (visit >= warm && like > 0) {
      rankTimes.push(t2 - t1);
      rankCpu.push((used.user + used.system) / 1000);
      likeTimes.push(t2 - t0);
    }
    feeds.push({ session: visit, like: next, feed: feed.map((r) => ({ id: items[r.index]!.id, score: r.score, reason: r.reason })) });
    next = feed.find((r) => !liked.has(r.index))?.index ?? popular.find((index) => !liked.has(index))!;
  }
}
if (session) writeFileSync(values.profile!, JSON.stringify((await session.post('Profiler.stop')).profile));
const stats = (times: number[]) => {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(1);
  return `median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms (${sorted.length})`;
};
console.log(
  `ScaleModel.rank per Like (Likes 2–${likes} of visits ${warm + 1}–${sessions}): ${stats(rankTimes)}; CPU ${stats(rankCpu)}; with the pool: ${stats(likeTimes)}; load ${load()}`,
);
if (recall)
  console.log(
    `the model's text search: recall@${RECALL_AT} mean ${(recalls.reduce((a, b) => a + b, 0) / recalls.length).toFixed(3)}, min ${Math.min(...recalls).toFixed(2)} (${recalls.length} searches)`,
  );
if (values.out) writeFileSync(values.out, JSON.stringify(feeds));
