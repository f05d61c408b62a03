/**
 * `npm run bench -- product [--only queries,readers,real,explanations,import] [--queries FILE]
 *   [--readers-per-genre N] [--real-users N] [--diversity X] [--emb FILE] [--json FILE]`
 *
 * Quality of the product a reader opens: the shipped goodbooks catalog, through the app's own engine
 * (src/engine/engine.ts, not a re-implementation) running in Node: the real catalog file, the real
 * Storage on fake-indexeddb, USE Lite on TF.js WASM as the browser runs it without WebGPU, and the
 * catalog's precomputed vectors (public/catalog/<catalog>.<model>.emb, verified by the engine on a
 * sample as in the browser) so nothing re-embeds 10,000 books. Sections (issue 19, "Benchmark"):
 *
 * - queries: nDCG@10 and P@10 of the feed's top 10 for each query of FILE with an empty history (the
 *   app), next to popularity order, BM25 alone and the query's cosine alone; plus the same queries
 *   asked by a reader whose likes are of another genre (taste must not push relevant books out).
 * - readers: per genre with ≥ 100 books, readers who like 5 random popular books of it (fixed seeds):
 *   genre precision@20 of the feed, and the feed's largest share of one author and of one series.
 * - real: goodbooks test readers (80/10/10 user split, src/core/eval/goodbooks.ts): their ratings
 *   ≥ 4 but the last as likes, ≤ 2 as "Not interested", the engine's own fine-tune, then the held-out
 *   book's rank among every book they have not rated; next to popularity, item-kNN and the shipped
 *   global model with u fitted centrally (core/eval/held-out.ts deviceScorer).
 * - explanations: over the readers' feeds, the share of "Because you liked X" naming the liked book
 *   with the largest part of u·v_i, recomputed here from the model's u and v.
 * - import: export → erase → import, overlap of the top 10 before and after.
 */
import 'fake-indexeddb/auto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { SentenceEncoder } from '../src/core/encoder';
import { availableEncoders } from '../src/core/encoder-registry';
import { itemKnnScorer } from '../src/core/eval/baselines';
import { parseGoodbooksRatings, rowsPerUser, splitGoodbooksUsers } from '../src/core/eval/goodbooks';
import { deviceScorer, evaluateCases, likeCounts, readerCases, type HeldOutMetrics } from '../src/core/eval/held-out';
import { seededUniform } from '../src/core/random';
import { Bm25Index } from '../src/core/lexical';
import { HybridModel } from '../src/core/model/hybrid';
import { coLikedScores, coLikedSimilarity, coLikedUrl, decodeCoLiked, type CoLikedNeighbours } from '../src/core/model/co-liked';
import { catalogFingerprint } from '../src/core/model/identity';
import { rankFeed, type FeedRequest } from '../src/core/model/ranking';
import { CO_LIKED_WEIGHT } from '../src/core/model/score-blend';
import { popularityScores } from '../src/core/rank';
import { decodeShippedGlobal, shippedGlobalUrl } from '../src/core/model/shipped-global';
import { modelIdFor } from '../src/core/model/identity';
import { prebuiltEmbeddingsUrl } from '../src/core/prebuilt-embeddings';
import { queryRelevance } from '../src/core/query-blend';
import { topK } from '../src/core/topk';
import type { EngineSnapshot, FeedItem } from '../src/engine/api';
import { toOption } from '../src/engine/encoder-catalog';
import { USE_LITE_ID } from '../src/engine/encoder-ids';
import { Engine, type EngineDeps } from '../src/engine/engine';
import { IndexedDbStore } from '../src/storage/db';
import { PersonalModel, type RankInputs } from '../src/engine/personal-model';
import { loadNodeEncoder } from './build-embeddings';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: 'queries,readers,explanations,import,real' },
    queries: { type: 'string', default: '../shared/benchmarks/queries-goodbooks.json' },
    catalog: { type: 'string', default: 'public/catalog/goodbooks-10k.json' },
    /** A precomputed-vectors file to serve instead of the one beside the catalog (development). */
    emb: { type: 'string' },
    ratings: { type: 'string', default: '../shared/data/goodbooks-10k/ratings-v1.csv' },
    genres: { type: 'string', default: '../shared/data/goodbooks-10k/book_genres.csv' },
    'readers-per-genre': { type: 'string', default: '20' },
    'real-users': { type: 'string', default: '1500' },
    /** Which readers the real section draws from: 'test' (the figures we report) or 'validation' (for choosing settings). */
    split: { type: 'string', default: 'test' },
    /** The Diversity slider for every section (default: the app's own default, 0.3), to see what MMR costs. */
    diversity: { type: 'string' },
    json: { type: 'string' },
  },
});

const sections = new Set(args.only!.split(',').map((s) => s.trim()));
const FEED_SIZE = 20; // the app's (src/ui/engine-boot.ts)
const CATALOG_URL = '/catalog/goodbooks-10k.json';
const catalogPath = resolve(args.catalog!);
const catalogText = await readFile(catalogPath, 'utf8');
const catalogJson = JSON.parse(catalogText) as { items: { id: string; title: string; byline?: string; popularity?: number; genres?: string[] }[] };
const items = catalogJson.items;
const indexById = new Map(items.map((item, index) => [item.id, index]));

/** Genres per catalog item: the catalog's own field when it has one, else the data set's book_genres.csv. */
async function readGenres(): Promise<{ genres: string[][]; source: string }> {
  if (items.some((item) => Array.isArray(item.genres) && item.genres.length > 0)) {
    return { genres: items.map((item) => item.genres ?? []), source: 'the catalog' };
  }
  const byId = new Map<string, string[]>();
  for (const line of (await readFile(args.genres!, 'utf8')).split(/\r?\n/).slice(1)) {
    const [id, list] = line.split(',');
    if (id && list) byId.set(id, list.split('|').filter(Boolean));
  }
  return { genres: items.map((item) => byId.get(item.id) ?? []), source: args.genres! };
}
/** Judging uses the data set's genres file (queries README): the catalog's field may be cleaned differently. */
async function judgedGenres(file: string): Promise<string[][]> {
  const byId = new Map<string, string[]>();
  for (const line of (await readFile(file, 'utf8')).split(/\r?\n/).slice(1)) {
    const [id, list] = line.split(',');
    if (id && list) byId.set(id, list.split('|').filter(Boolean));
  }
  return items.map((item) => byId.get(item.id) ?? []);
}

// ---------------------------------------------------------------------------------------------------
// The engine, as the app runs it (deps as src/engine/testing/harness.ts, with the real files)

const encoder: SentenceEncoder = await loadNodeEncoder(USE_LITE_ID);
const useLiteOption = toOption(availableEncoders(undefined)[0]!);
const publicDir = dirname(dirname(catalogPath)); // public/

async function fetchBytes(url: string): Promise<Uint8Array | undefined> {
  if (args.emb && url === prebuiltEmbeddingsUrl(CATALOG_URL, USE_LITE_ID)) return new Uint8Array(await readFile(args.emb));
  const path = join(publicDir, url);
  return existsSync(path) ? new Uint8Array(await readFile(path)) : undefined;
}

interface RunningEngine {
  engine: Engine;
  latest(): EngineSnapshot;
  until(predicate: (snapshot: EngineSnapshot) => boolean, timeoutMs: number, what: string): Promise<EngineSnapshot>;
  databaseName: string;
}

let databases = 0;

async function openEngine(feedSize: number, databaseName = `bench-product-${++databases}-${Date.now()}`): Promise<RunningEngine> {
  let latest: EngineSnapshot | undefined;
  const waiters: { predicate: (s: EngineSnapshot) => boolean; resolve: (s: EngineSnapshot) => void }[] = [];
  const deps: EngineDeps = {
    openStorage: (options) => IndexedDbStore.open(databaseName, options),
    eraseEverything: () =>
      new Promise<void>((done, fail) => {
        const request = indexedDB.deleteDatabase(databaseName);
        request.onsuccess = () => done();
        request.onerror = () => fail(request.error);
      }),
    measureStorage: async () => ({ appCaches: { count: 0, bytes: 0 }, workerForeignRequests: 0 }),
    estimateStorage: async () => undefined,
    broadcast: () => {},
    onTabMessage: () => {},
    selectBackend: async () => ({ name: 'wasm', label: 'WASM', skipped: [] }),
    fallBackFrom: async () => {
      throw new Error('no other backend in the bench');
    },
    loadEncoder: async () => encoder,
    listEncoders: async () => [useLiteOption],
    loadEncoderById: async (id) => {
      throw new Error(`only USE Lite in the bench (asked for ${id})`);
    },
    fetchText: async (url) => {
      if (url === CATALOG_URL) return catalogText;
      throw new Error(`not served in the bench: ${url}`);
    },
    fetchBytes,
    now: () => Date.now(),
  };
  const engine = new Engine(deps);
  await engine.start({ catalogUrl: CATALOG_URL, encoderUrl: '/models/use-lite/', feedSize }, (snapshot) => {
    latest = snapshot;
    for (const waiter of [...waiters]) {
      if (waiter.predicate(snapshot)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(snapshot);
      }
    }
  });
  const until = (predicate: (s: EngineSnapshot) => boolean, timeoutMs: number, what: string) =>
    latest && predicate(latest)
      ? Promise.resolve(latest)
      : new Promise<EngineSnapshot>((done, fail) => {
          const timer = setTimeout(() => fail(new Error(`timed out waiting for ${what}`)), timeoutMs);
          waiters.push({ predicate, resolve: (s) => (clearTimeout(timer), done(s)) });
        });
  const running: RunningEngine = { engine, latest: () => latest!, until, databaseName };
  // Settled: every book has its vector (the file's, checked) and the on-device model ranks.
  await until(
    (s) => s.phase === 'error' || (s.phase === 'ready' && s.training !== undefined && !s.embedding?.active && s.prebuilt?.state !== 'checking'),
    20 * 60_000,
    'the engine to settle',
  );
  if (latest!.phase === 'error') throw new Error(`the engine failed: ${latest!.error}`);
  return running;
}

/** The engine's private state the bench reads (never writes): the model, vectors and texts it ranks with. */
interface EngineInsides {
  readonly personal?: { model: HybridModel; user: Float32Array };
  readonly embeddingMatrix: Float32Array;
  readonly embeddingDimension: number;
  readonly texts: readonly string[];
  readonly fineTuning?: Promise<void>;
  /** The fine-tune the engine schedules when the reader pauses, run now (its pending timer cleared). */
  fineTuneNow(): Promise<void>;
}

/** Where those live among the engine's modules (src/engine/parts.ts), past their `private`. */
interface EngineModules {
  parts?: {
    state: { vectors: { matrix: Float32Array; dimension: number }; catalog: { texts: string[] } };
    model: { personal?: { model: HybridModel; user: Float32Array }; fineTuneTimer?: ReturnType<typeof setTimeout>; fineTuning?: Promise<void>; fineTune(): Promise<void> };
  };
}

function insides(engine: Engine): EngineInsides {
  const parts = (engine as unknown as EngineModules).parts;
  // Fails loudly when the engine's modules move, instead of reading undefined halfway through a run.
  if (!parts?.state?.vectors || !parts.state.catalog || !parts.model) throw new Error('bench-product: the engine no longer has the modules it reads (src/engine/parts.ts); update EngineModules');
  const { state, model } = parts;
  return {
    get personal() {
      return model.personal;
    },
    get embeddingMatrix() {
      return state.vectors.matrix;
    },
    get embeddingDimension() {
      return state.vectors.dimension;
    },
    get texts() {
      return state.catalog.texts;
    },
    get fineTuning() {
      return model.fineTuning;
    },
    fineTuneNow: async () => {
      clearTimeout(model.fineTuneTimer);
      await model.fineTune();
    },
  };
}

/**
 * The fine-tune the engine schedules for when the reader pauses (FINE_TUNE_IDLE_MS), run now: the same
 * code, without waiting 2.5 s of wall time per reader.
 */
async function fineTuneNow(engine: Engine): Promise<void> {
  await insides(engine).fineTuneNow();
}

async function resetHistory(running: RunningEngine): Promise<void> {
  await running.engine.setQuery('');
  await running.engine.deleteEventsBetween(0, Number.MAX_SAFE_INTEGER);
  await fineTuneNow(running.engine);
}

async function likeAll(running: RunningEngine, likes: readonly number[], dislikes: readonly number[] = []): Promise<void> {
  const t0 = performance.now();
  for (const index of likes) await running.engine.record('like', items[index]!.id);
  for (const index of dislikes) await running.engine.record('dislike', items[index]!.id);
  const t1 = performance.now();
  await fineTuneNow(running.engine);
  if (process.env.BENCH_PROFILE) console.error(`  ${likes.length + dislikes.length} events ${(t1 - t0).toFixed(0)} ms, fine-tune ${(performance.now() - t1).toFixed(0)} ms`);
}

/** Runs `f` with the model's ranker ordering by its score feature alone (a diagnosis: what the ranker's other features do). */
function withScoreOnlyRanker<T>(model: HybridModel, f: () => T): T {
  const logit = model.ranker.logit;
  model.ranker.logit = (x) => x[0]!;
  try {
    return f();
  } finally {
    model.ranker.logit = logit;
  }
}

const feedIndices = (feed: readonly FeedItem[]) => feed.map((item) => indexById.get(item.id)!);

// ---------------------------------------------------------------------------------------------------
// Metrics

function ndcgAt10(ranked: readonly number[], relevant: (index: number) => boolean): { ndcg: number; precision: number } {
  let dcg = 0;
  let ideal = 0;
  let hits = 0;
  for (let r = 0; r < 10; r++) {
    ideal += 1 / Math.log(r + 2);
    const index = ranked[r];
    if (index !== undefined && relevant(index)) {
      dcg += 1 / Math.log(r + 2);
      hits++;
    }
  }
  return { ndcg: dcg / ideal, precision: hits / 10 };
}

const mean = (values: readonly number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN);
const round = (x: number) => Math.round(x * 1000) / 1000;

// Series and authors: D's detector (src/core/series.ts) when it is there, else the title pattern alone.
interface SeriesAndAuthors {
  series: (index: number) => string | undefined;
  author: (index: number) => string | undefined;
  source: string;
}
async function seriesAndAuthors(): Promise<SeriesAndAuthors> {
  try {
    const module = (await import('../src/core/series')) as { seriesIndexFor?: (items: readonly { title: string; byline?: string; popularity?: number }[]) => { group: Int32Array; author: Int32Array } };
    if (module.seriesIndexFor) {
      const index = module.seriesIndexFor(items);
      return {
        series: (i) => (index.group[i]! >= 0 ? `g${index.group[i]}` : undefined),
        author: (i) => (index.author[i]! >= 0 ? `a${index.author[i]}` : undefined),
        source: 'src/core/series.ts',
      };
    }
  } catch {
    // not written yet: the title pattern below
  }
  return {
    series: (i) => /\(([^()#]+?),?\s*#[\d.]/.exec(items[i]!.title)?.[1]?.trim().toLowerCase(),
    author: (i) => items[i]!.byline?.split(',')[0]?.trim().toLowerCase(),
    source: 'the "(Series, #n)" title pattern (src/core/series.ts not there)',
  };
}

function maxShare(feed: readonly number[], key: (index: number) => string | undefined): number {
  const counts = new Map<string, number>();
  for (const index of feed.slice(0, 20)) {
    const k = key(index);
    if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return Math.max(0, ...counts.values()) / 20;
}

// ---------------------------------------------------------------------------------------------------

const results: Record<string, unknown> = {};
const tables: string[] = [];
const notes: string[] = [];
const started = performance.now();
const { genres: catalogGenres, source: genreSource } = await readGenres();
console.error(`catalog: ${items.length} books from ${catalogPath}; genres from ${genreSource}`);

const appPopularity = popularityScores(items.map((item) => ({ ...item, text: item.title })));

/** The shipped co-liked neighbours the engine reads (public/catalog/<catalog>.co-liked), when present. */
async function readCoLiked(): Promise<CoLikedNeighbours | undefined> {
  const bytes = await fetchBytes(coLikedUrl(CATALOG_URL));
  return bytes && decodeCoLiked(bytes, { catalogFingerprint: catalogFingerprint(items.map((item) => item.id)), itemCount: items.length });
}

let main: RunningEngine | undefined;
async function mainEngine(): Promise<RunningEngine> {
  if (!main) {
    const t = performance.now();
    main = await openEngine(FEED_SIZE);
    if (args.diversity !== undefined) await main.engine.setDiversity(Number(args.diversity));
    const s = main.latest();
    console.error(`engine settled in ${((performance.now() - t) / 1000).toFixed(0)} s: prebuilt ${s.prebuilt ? `${s.prebuilt.state} (${s.prebuilt.rows} rows)` : 'none'}, model from ${s.training?.globalSource}`);
    notes.push(`vectors: ${s.prebuilt ? `precomputed file, ${s.prebuilt.state} by the engine (min cosine ${s.prebuilt.minCosine?.toFixed(4)})` : 'embedded by the engine (no precomputed file)'}; model: ${s.training?.globalSource}`);
  }
  return main;
}

// Simulated readers are shared by the readers and explanations sections.
interface SimulatedFeed {
  genre: string;
  likes: number[];
  feed: FeedItem[];
  user: Float32Array;
  vectors: Float32Array;
  factors: number;
  /** s(u,i) + 0.1·popularity for every item: the feed's model score, whose sd sets its unit (rankFeed's blend). */
  feedModelScores: Float32Array;
}
let simulated: SimulatedFeed[] | undefined;

async function simulateReaders(): Promise<SimulatedFeed[]> {
  if (simulated) return simulated;
  const running = await mainEngine();
  const perGenre = Number(args['readers-per-genre']);
  const counts = new Map<string, number[]>();
  catalogGenres.forEach((list, index) => list.forEach((genre) => counts.set(genre, [...(counts.get(genre) ?? []), index])));
  const genres = [...counts.entries()].filter(([, books]) => books.length >= 100).sort((a, b) => a[0].localeCompare(b[0]));
  simulated = [];
  const t = performance.now();
  for (const [g, [genre, books]] of genres.entries()) {
    // "Popular books of the genre": its 100 most read.
    const popular = [...books].sort((a, b) => (items[b]!.popularity ?? 0) - (items[a]!.popularity ?? 0)).slice(0, 100);
    for (let r = 0; r < perGenre; r++) {
      const random = seededUniform(1000 * g + r + 1);
      const likes: number[] = [];
      while (likes.length < 5) {
        const pick = popular[Math.floor(random() * popular.length)]!;
        if (!likes.includes(pick)) likes.push(pick);
      }
      const t0 = performance.now();
      await resetHistory(running);
      const t1 = performance.now();
      await likeAll(running, likes);
      if (process.env.BENCH_PROFILE) console.error(`reader: reset ${(t1 - t0).toFixed(0)} ms, likes+fine-tune ${(performance.now() - t1).toFixed(0)} ms`);
      const personal = insides(running.engine).personal!;
      const scores = personal.model.scoreAll(personal.user);
      const feedModelScores = Float32Array.from(scores, (score, i) => score + 0.1 * appPopularity[i]!);
      simulated.push({ genre, likes, feed: running.latest().feed, user: Float32Array.from(personal.user), vectors: personal.model.itemVectors(), factors: personal.model.factors, feedModelScores });
    }
    console.error(`readers: ${genre} done (${((performance.now() - t) / 1000).toFixed(0)} s)`);
  }
  await resetHistory(running);
  return simulated;
}

if (sections.has('queries')) {
  const running = await mainEngine();
  const file = JSON.parse(await readFile(args.queries!, 'utf8')) as { genres_file?: string; queries: { query: string; relevant_genres: string[] }[] };
  // The file names its genres file relative to the repository (its README); --genres otherwise.
  const judged = await judgedGenres(file.genres_file && existsSync(file.genres_file) ? file.genres_file : args.genres!);
  const inner = insides(running.engine);
  const matrix = inner.embeddingMatrix;
  const dim = inner.embeddingDimension;
  const bm25 = Bm25Index.build(inner.texts);
  const popularityOrder = topK(Float32Array.from(items, (item) => Math.log1p(item.popularity ?? 0)), 10);
  const rows: Record<string, { ndcg: number; precision: number }[]> = { app: [], popularity: [], lexical: [], semantic: [], 'semantic+feedback': [], 'app, reader of another genre': [] };
  const perQuery: Record<string, unknown>[] = [];
  await resetHistory(running);
  for (const { query, relevant_genres: wanted } of file.queries) {
    const relevant = (index: number) => judged[index]!.some((genre) => wanted.includes(genre));
    await running.engine.setQuery(query);
    const app = ndcgAt10(feedIndices(running.latest().feed), relevant);
    const [vector] = await encoder.embedBatch([query], 'query');
    const cosines = new Float32Array(items.length);
    for (let i = 0; i < items.length; i++) {
      let sum = 0;
      for (let t = 0; t < dim; t++) sum += matrix[i * dim + t]! * vector![t]!;
      cosines[i] = sum;
    }
    const semantic = ndcgAt10(topK(cosines, 10), relevant);
    const lexical = ndcgAt10(topK(bm25.normalizedScore(query), 10), relevant);
    const feedback = ndcgAt10(topK(queryRelevance({ vector: vector! }, { matrix, dim }).relevance, 10), relevant);
    const popularity = ndcgAt10(popularityOrder, relevant);
    rows.app!.push(app);
    rows.popularity!.push(popularity);
    rows.lexical!.push(lexical);
    rows.semantic!.push(semantic);
    rows['semantic+feedback']!.push(feedback);
    perQuery.push({ query, app: round(app.ndcg), 'app P@10': round(app.precision), popularity: round(popularity.ndcg), lexical: round(lexical.ndcg), semantic: round(semantic.ndcg), 'semantic+feedback': round(feedback.ndcg) });
  }
  await running.engine.setQuery('');
  // The same queries from a reader whose five likes are popular books of a genre the query does not
  // want: the feed must still answer the query (taste reorders relevant books, it does not replace them).
  const contrary = ['fantasy', 'romance', 'science-fiction'];
  for (const [q, { query, relevant_genres: wanted }] of file.queries.entries()) {
    const relevant = (index: number) => judged[index]!.some((genre) => wanted.includes(genre));
    const other = contrary.find((genre) => !wanted.includes(genre))!;
    const books = items.map((_, i) => i).filter((i) => catalogGenres[i]!.includes(other) && !relevant(i));
    const popular = books.sort((a, b) => (items[b]!.popularity ?? 0) - (items[a]!.popularity ?? 0)).slice(0, 50);
    const random = seededUniform(77 + q);
    const likes: number[] = [];
    while (likes.length < 5) {
      const pick = popular[Math.floor(random() * popular.length)]!;
      if (!likes.includes(pick)) likes.push(pick);
    }
    await resetHistory(running);
    await likeAll(running, likes);
    await running.engine.setQuery(query);
    const withTaste = ndcgAt10(feedIndices(running.latest().feed), relevant);
    rows['app, reader of another genre']!.push(withTaste);
    (perQuery[q] as Record<string, unknown>)['app, reader of another genre'] = round(withTaste.ndcg);
  }
  await resetHistory(running);
  const summary = Object.fromEntries(Object.entries(rows).map(([name, values]) => [name, { 'nDCG@10': round(mean(values.map((v) => v.ndcg))), 'P@10': round(mean(values.map((v) => v.precision))) }]));
  results.queries = { ...summary, file: args.queries, count: file.queries.length, perQuery };
  tables.push(
    [`### Queries (${file.queries.length}, ${basename(args.queries!)}; empty history unless said)`, '', '| ranking | nDCG@10 | P@10 |', '|---|---:|---:|', ...Object.entries(summary).map(([name, m]) => `| ${name} | ${m['nDCG@10'].toFixed(3)} | ${m['P@10'].toFixed(3)} |`), '',
      '| query | app | pop. | lexical | semantic | sem.+feedback | app, other-genre reader |', '|---|---:|---:|---:|---:|---:|---:|',
      ...perQuery.map((p) => `| ${p.query} | ${p.app} | ${p.popularity} | ${p.lexical} | ${p.semantic} | ${p['semantic+feedback']} | ${p['app, reader of another genre']} |`)].join('\n'),
  );
  console.error(`queries done (${((performance.now() - started) / 1000).toFixed(0)} s)`);
}

if (sections.has('readers')) {
  const feeds = await simulateReaders();
  const detector = await seriesAndAuthors();
  const precision = feeds.map(({ genre, feed }) => feedIndices(feed).slice(0, 20).filter((i) => catalogGenres[i]!.includes(genre)).length / 20);
  const authorShares = feeds.map(({ feed }) => maxShare(feedIndices(feed), detector.author));
  const seriesShares = feeds.map(({ feed }) => maxShare(feedIndices(feed), detector.series));
  const genres = [...new Set(feeds.map((f) => f.genre))];
  const perGenre = genres.map((genre) => {
    const at = feeds.map((f, i) => (f.genre === genre ? i : -1)).filter((i) => i >= 0);
    return { genre, 'precision@20': round(mean(at.map((i) => precision[i]!))), 'max author share': round(Math.max(...at.map((i) => authorShares[i]!))), 'max series share': round(Math.max(...at.map((i) => seriesShares[i]!))) };
  });
  results.readers = {
    'genre_precision@20': round(mean(precision)),
    'max_author_share@20': round(Math.max(...authorShares)),
    'max_series_share@20': round(Math.max(...seriesShares)),
    'mean_max_author_share@20': round(mean(authorShares)),
    'mean_max_series_share@20': round(mean(seriesShares)),
    readers: feeds.length,
    genres: genres.length,
    seriesDetection: detector.source,
    perGenre,
  };
  tables.push(
    [`### Simulated readers (${genres.length} genres × ${Number(args['readers-per-genre'])} readers, 5 likes each; series: ${detector.source})`, '',
      `genre precision@20 ${round(mean(precision))}; max author share ${round(Math.max(...authorShares))} (mean over feeds ${round(mean(authorShares))}); max series share ${round(Math.max(...seriesShares))} (mean ${round(mean(seriesShares))})`, '',
      '| genre | precision@20 | max author share | max series share |', '|---|---:|---:|---:|', ...perGenre.map((p) => `| ${p.genre} | ${p['precision@20']} | ${p['max author share']} | ${p['max series share']} |`)].join('\n'),
  );
}

if (sections.has('explanations')) {
  const feeds = await simulateReaders();
  // The fine-tune's weights of the liked books, most recent first (core/model/train.ts USER_SOFTMAX_DEFAULTS.recency;
  // written out here on purpose, so a change there shows up as a disagreement rather than passing silently).
  const HALF_LIFE = 10;
  const FLOOR = 0.25;
  let named = 0;
  let faithful = 0;
  let withWhy = 0;
  // The feed's score after likes is units.model·s(u,i) + units.coLiked·Σ_j sim(j,i) + … (rankFeed):
  // each unit is the weight over its input's sd across the catalog, recomputed here.
  const coLiked = await readCoLiked();
  const sd = (values: Float32Array) => {
    const m = values.reduce((a, b) => a + b, 0) / values.length;
    return Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / values.length);
  };
  for (const { likes, feed, user, vectors, factors: d, feedModelScores } of feeds) {
    const modelUnit = 1 / sd(feedModelScores);
    const coUnit = coLiked ? CO_LIKED_WEIGHT / sd(coLikedScores(coLiked, likes, new Float32Array(items.length))) : 0;
    const anchors = [...likes].reverse(); // most recent first
    const weights = anchors.map((_, k) => FLOOR + (1 - FLOOR) * 2 ** (-k / HALF_LIFE));
    // u ≈ κ·Σ_j w_j v_j (least squares in κ); item j's part of u·v_i is κ·w_j·(v_j·v_i).
    const z = new Float64Array(d);
    anchors.forEach((a, j) => {
      for (let f = 0; f < d; f++) z[f]! += weights[j]! * vectors[a * d + f]!;
    });
    let uz = 0;
    let zz = 0;
    for (let f = 0; f < d; f++) [uz, zz] = [uz + user[f]! * z[f]!, zz + z[f]! * z[f]!];
    const kappa = zz > 0 ? uz / zz : 0;
    for (const item of feed) {
      if (item.why) withWhy++;
      // The label: why[0] when the engine gives contributions, else the reason's words.
      const first = item.why?.[0];
      const likedId = first?.kind === 'liked' ? first.itemId : undefined;
      const title = likedId === undefined ? /^Because you liked “(.+)”$/.exec(item.reason)?.[1] : undefined;
      if (likedId === undefined && title === undefined) continue;
      named++;
      const i = indexById.get(item.id)!;
      let best = -1;
      let bestPart = Number.NEGATIVE_INFINITY;
      anchors.forEach((a, j) => {
        let dot = 0;
        for (let f = 0; f < d; f++) dot += vectors[a * d + f]! * vectors[i * d + f]!;
        const part = modelUnit * kappa * weights[j]! * dot + (coLiked ? coUnit * coLikedSimilarity(coLiked, a, i) : 0);
        if (part > bestPart) [bestPart, best] = [part, a];
      });
      if (best >= 0 && (likedId !== undefined ? items[best]!.id === likedId : items[best]!.title === title)) faithful++;
    }
  }
  results.explanations = { faithful: named ? round(faithful / named) : null, named, feedItems: feeds.reduce((n, f) => n + f.feed.length, 0), itemsWithWhy: withWhy };
  tables.push(`### Explanations\n\n"Because you liked X" on ${named} of ${feeds.reduce((n, f) => n + f.feed.length, 0)} feed items; X is the liked book with the largest part of u·v_i (u ≈ κ·Σ w_j v_j, recomputed here) for ${faithful} of them (faithful ${named ? round(faithful / named) : 'n/a'}).`);
}

if (sections.has('import')) {
  const running = await openEngine(FEED_SIZE);
  const fantasy = items.map((_, i) => i).filter((i) => catalogGenres[i]!.includes('mystery')).sort((a, b) => (items[b]!.popularity ?? 0) - (items[a]!.popularity ?? 0));
  await likeAll(running, [fantasy[0]!, fantasy[3]!, fantasy[7]!, fantasy[12]!, fantasy[20]!], [fantasy[1]!]);
  const before = feedIndices(running.latest().feed).slice(0, 10);
  const exported = await running.engine.exportData();
  await running.engine.eraseAll();
  const after = await openEngine(FEED_SIZE, running.databaseName);
  const erasedFeed = feedIndices(after.latest().feed).slice(0, 10);
  await after.engine.importData(exported);
  // Whatever the engine does after an import (a restore, or a refit it schedules) is left to it: wait
  // past its idle delay and for any fine-tune in flight, without starting one.
  await new Promise((done) => setTimeout(done, 4000));
  while (insides(after.engine).fineTuning) await insides(after.engine).fineTuning;
  const restored = feedIndices(after.latest().feed).slice(0, 10);
  const overlap = restored.filter((i) => before.includes(i)).length;
  results.import = { 'overlap@10': overlap / 10, sameOrder: restored.every((i, k) => before[k] === i), afterEraseOverlap: erasedFeed.filter((i) => before.includes(i)).length / 10 };
  tables.push(`### Export → erase → import\n\noverlap@10 of the feed before and after: ${overlap}/10 (same order: ${results.import && (results.import as { sameOrder: boolean }).sameOrder}); a fresh feed after the erase shared ${erasedFeed.filter((i) => before.includes(i)).length}/10.`);
}

if (sections.has('real')) {
  const running = await mainEngine();
  const globalUrl = shippedGlobalUrl(CATALOG_URL, modelIdFor(USE_LITE_ID));
  const globalBytes = await fetchBytes(globalUrl);
  const globalSource = running.latest().training?.globalSource ?? '';
  if (!globalBytes && !process.env.BENCH_REAL_WITHOUT_GLOBAL) {
    results.readers_real = { missing: `no shipped global model at public${globalUrl}: the device path would start from text alone, so no figure` };
    tables.push(`### Real readers\n\nNot measured: no shipped global model (public${globalUrl}).`);
  } else {
    const table = parseGoodbooksRatings(await readFile(args.ratings!, 'utf8'));
    const split = splitGoodbooksUsers(table);
    const rows = rowsPerUser(table);
    // A fixed sample of the test readers (the split's test users only; never trained on).
    if (args.split !== 'test' && args.split !== 'validation') throw new Error(`--split must be test or validation, not ${args.split}`);
    const order = Int32Array.from(args.split === 'validation' ? split.validation : split.test);
    const random = seededUniform(2026);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const cases = readerCases(table, rows, [...order], indexById).slice(0, Number(args['real-users']));
    const inner = insides(running.engine);
    const central = new HybridModel({ itemIds: items.map((item) => item.id), embeddings: inner.embeddingMatrix, embeddingDim: inner.embeddingDimension, factors: inner.personal!.model.factors });
    // BENCH_REAL_WITHOUT_GLOBAL (a check of this section's mechanics only): the text-only model both ways.
    if (globalBytes) central.setParams((await decodeShippedGlobal(globalBytes, globalUrl)).params);
    const popularity = likeCounts(table, rows, split.train, indexById, items.length);
    // item-kNN over the training readers' likes plus each test reader's own history (not the held-out book).
    const users: number[] = [];
    const books: number[] = [];
    split.train.forEach((user, u) => {
      for (const row of rows[user]!) {
        const item = indexById.get(table.books[row]!);
        if (item !== undefined && table.ratings[row]! >= 4) {
          users.push(u);
          books.push(item);
        }
      }
    });
    cases.forEach((reader, c) => reader.history.forEach((event) => event.kind === 'like' && (users.push(split.train.length + c), books.push(event.item))));
    const knn = itemKnnScorer({ userCount: split.train.length + cases.length, itemCount: items.length, users: Int32Array.from(users), items: Int32Array.from(books) });
    const baseline: Record<string, HeldOutMetrics> = {
      popularity: await evaluateCases(cases, () => popularity),
      'item-knn': await evaluateCases(cases, (_, c) => knn(split.train.length + c)),
      central: await evaluateCases(cases, deviceScorer(central)),
    };
    // The app: the engine's own events, fine-tune and feed (the app's 20 books). The feed excludes what
    // was liked or dismissed; books rated 3 stars are dropped from it here, as they are not candidates
    // either (the held-out book then counts among at most 20 − their number).
    const appEngine = running;
    let hits = 0;
    let ndcg = 0;
    const t = performance.now();
    // BENCH_REAL_DIAG=1: the same feed re-ranked without parts of the pipeline, to see what each costs.
    const diagnose = Boolean(process.env.BENCH_REAL_DIAG);
    let lastInputs: RankInputs | undefined;
    if (diagnose) {
      const rank = PersonalModel.prototype.rank;
      PersonalModel.prototype.rank = function (this: PersonalModel, inputs: RankInputs) {
        lastInputs = inputs;
        return rank.call(this, inputs);
      };
    }
    const variants: Record<string, (inputs: RankInputs, personal: { model: HybridModel; user: Float32Array }) => number[]> = {
      'no series/author rules': (inputs, p) => rankFeed({ ...inputs, model: p.model, user: p.user, series: undefined } as FeedRequest).map((f) => f.index),
      'no author cap (series rule kept)': (inputs, p) => rankFeed({ ...inputs, model: p.model, user: p.user, series: inputs.series && { ...inputs.series, author: new Int32Array(inputs.series.author.length).fill(-1) } } as FeedRequest).map((f) => f.index),
      'no series rule (author cap kept)': (inputs, p) => rankFeed({ ...inputs, model: p.model, user: p.user, series: inputs.series && { ...inputs.series, group: new Int32Array(inputs.series.group.length).fill(-1) } } as FeedRequest).map((f) => f.index),
      'no MMR': (inputs, p) => rankFeed({ ...inputs, model: p.model, user: p.user, diversity: 0 } as FeedRequest).map((f) => f.index),
      'score only (no ranker)': (inputs, p) => withScoreOnlyRanker(p.model, () => rankFeed({ ...inputs, model: p.model, user: p.user } as FeedRequest).map((f) => f.index)),
      'score only, no rules, no MMR': (inputs, p) => withScoreOnlyRanker(p.model, () => rankFeed({ ...inputs, model: p.model, user: p.user, series: undefined, diversity: 0 } as FeedRequest).map((f) => f.index)),
    };
    const variantHits = new Map<string, number>();
    for (const [c, reader] of cases.entries()) {
      await resetHistory(appEngine);
      await likeAll(appEngine, reader.history.filter((e) => e.kind === 'like').map((e) => e.item), reader.history.filter((e) => e.kind === 'dislike').map((e) => e.item));
      const rated = new Set(reader.rated);
      const ranked = feedIndices(appEngine.latest().feed).filter((i) => i === reader.heldOut || !rated.has(i));
      const rank = ranked.indexOf(reader.heldOut);
      if (rank >= 0 && rank < 10) {
        hits++;
        ndcg += 1 / Math.log2(rank + 2);
      }
      if (diagnose && lastInputs && inner.personal) {
        for (const [name, variant] of Object.entries(variants)) {
          const order = variant(lastInputs, inner.personal).filter((i) => i === reader.heldOut || !rated.has(i));
          const r = order.indexOf(reader.heldOut);
          if (r >= 0 && r < 10) variantHits.set(name, (variantHits.get(name) ?? 0) + 1);
          // The books the series rule cost: what the reader liked of the series, and what stood for it.
          const series = lastInputs.series;
          if (name === 'no series rule (author cap kept)' && r >= 0 && r < 10 && !(rank >= 0 && rank < 10) && series) {
            const group = series.group[reader.heldOut]!;
            const likedHere = group < 0 ? [] : reader.history.filter((e) => e.kind === 'like' && series.group[e.item] === group).map((e) => `${items[e.item]!.title}`);
            const shown = ranked.slice(0, 10).filter((i) => group >= 0 && series.group[i] === group).map((i) => items[i]!.title);
            const ratedHere = group < 0 ? [] : [...reader.rated].filter((i) => series.group[i] === group && i !== reader.heldOut).map((i) => items[i]!.title);
            console.error(`series cost: held out "${items[reader.heldOut]!.title}" (group ${group}, role ${series.role[reader.heldOut]}) liked [${likedHere.join(' | ')}] rated [${ratedHere.join(' | ')}] shown instead [${shown.join(' | ')}] app rank ${rank}`);
          }
        }
      }
      if ((c + 1) % 50 === 0) console.error(`real readers: ${c + 1}/${cases.length} (${((performance.now() - t) / 1000).toFixed(0)} s)`);
    }
    if (diagnose) for (const name of Object.keys(variants)) console.error(`diagnosis: ${name}: HR@10 ${((variantHits.get(name) ?? 0) / cases.length).toFixed(3)}`);
    const app = { 'HR@10': hits / cases.length, 'NDCG@10': ndcg / cases.length, readers: cases.length };
    const all = { app, ...baseline };
    results.readers_real = { ...Object.fromEntries(Object.entries(all).map(([name, m]) => [name, { 'HR@10': round(m['HR@10']), 'NDCG@10': round(m['NDCG@10']) }])), readers: cases.length, testReaders: split.test.length, globalModel: globalSource };
    tables.push(
      [`### Real readers (${cases.length} of ${split.test.length} test readers, a fixed sample; leave-last-like-out)`, '', '| ranking | HR@10 | NDCG@10 |', '|---|---:|---:|', ...Object.entries(all).map(([name, m]) => `| ${name} | ${m['HR@10'].toFixed(3)} | ${m['NDCG@10'].toFixed(3)} |`)].join('\n'),
    );
  }
}

const seconds = Math.round((performance.now() - started) / 1000);
console.log(`## Product bench (${new Date().toISOString().slice(0, 10)}, ${seconds} s)\n`);
for (const note of notes) console.log(`- ${note}`);
console.log('');
console.log(tables.join('\n\n'));
const json = { ...results, seconds };
console.log('\n```json\n' + JSON.stringify(Object.fromEntries(Object.entries(json).map(([k, v]) => [k, stripDetail(v)])), null, 1) + '\n```');
if (args.json) {
  await mkdir(dirname(resolve(args.json)), { recursive: true });
  await writeFile(args.json, JSON.stringify(json, null, 1));
}
process.exit(0);

/** The JSON printed on stdout leaves out the per-query and per-genre rows (the --json file has them). */
function stripDetail(value: unknown): unknown {
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'perQuery' && key !== 'perGenre'));
}
