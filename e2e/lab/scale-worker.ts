/**
 * Issue 21's lab worker (e2e/lab/scale.html; tests and benchmarks only, not part of the app): the
 * two-stage index of src/core/index in a real dedicated worker, with the full vectors in OPFS
 * (storage/opfs-vectors.ts) read for the candidates only, as the engine will run it.
 *  - build(): a synthetic catalog streamed in chunks of 10,000 rows: each chunk's int8 rows go to OPFS,
 *    its codes stay in memory, and the exact top-10 of every query is kept as the chunks pass (the brute
 *    force over the same int8 scores, without ever holding all rows). Cases as cli/bench-scale.ts:
 *    feed-random (d = 32, Gaussian v_i, users and biases b_i) and text-real (512-d, recombined from the
 *    shipped goodbooks USE vectors: normalise(e_j + 0.5·e_k + noise of norm 0.3)).
 *  - measure(): per query, stage one (JS or WASM), the candidate heap, the candidates' rows read from
 *    OPFS through the sync access handle, exact rescoring: wall milliseconds on the worker's clock.
 *  - fetchShards()/readRows(): the shard fetcher against a server the test controls.
 */
import * as Comlink from 'comlink';
import { gaussianSource, seededUniform } from '../../src/core/random';
import { decodePrebuilt } from '../../src/core/prebuilt-embeddings';
import { quantizeRows } from '../../src/core/quantize';
import { decodeIndexFile, encodeIndexFile, type IndexContents } from '../../src/core/index/codes-file';
import { encodePq, trainPq, type PqCodebook } from '../../src/core/index/pq';
import { int8Rows } from '../../src/core/index/rows';
import { encodeSign, signCodebook, type SignCodebook, type SignCodes } from '../../src/core/index/sign';
import {
  heldInt8Scorer,
  int8Buffers,
  int8Scorer,
  pqIndex,
  recall,
  rescore,
  signCascadeIndex,
  signIndex,
  stageOneTop,
  type CodeIndex,
  type HeldInt8Rows,
} from '../../src/core/index/two-stage';
import { wasmHammingIndex, wasmPqIndex, wasmSignIndex } from '../../src/core/index/wasm-index';
import { wasmScanSupported } from '../../src/core/index/wasm-scan';
import { opfsDirectory, removeOpfsDirectory, VectorStore, type VectorIdentity } from '../../src/storage/opfs-vectors';
import { fetchShards, QuotaError, type ShardProgress } from '../../src/engine/shard-fetch';
import type { CatalogItem } from '../../src/core/catalog';
import { mostPopular, recommendOver } from '../../src/core/index/pool-rank';
import { applyEvent, EMPTY_PROFILE } from '../../src/core/profile';
import { normalized } from '../../src/core/vector';
import { ScaleSearch, TEXT_CANDIDATES } from '../../src/engine/scale-index';
import { POPULAR_POOL } from '../../src/engine/scale';

export type LabCase = 'feed-random' | 'text-real';

export interface BuildOptions {
  case: LabCase;
  items: number;
  queries: number;
  /** Methods to build indexes for: pq16, pq16-wasm (feed); sign512, hamming512, cascade512-256-50 and their -wasm (text). */
  methods: string[];
}

export interface BuildReport {
  case: LabCase;
  items: number;
  buildMs: number;
  codesBytes: Record<string, number>;
  opfsBytes: number;
}

export interface LikeRow {
  items: number;
  method: string;
  likes: number;
  /** Pool size (items re-scored exactly), median. */
  pool: number;
  stageOneP50: number;
  readP50: number;
  rankP50: number;
  totalP50: number;
  totalP95: number;
}

export interface MeasureRow {
  case: LabCase;
  items: number;
  method: string;
  candidates: number;
  recall: number;
  minRecall: number;
  stageOneP50: number;
  stageOneP95: number;
  readP50: number;
  /** OPFS read calls per query (a call serves neighbouring rows together; 0 with the rows in memory). */
  readCallsP50: number;
  /**
   * Where the candidates' rows came from: OPFS, or the VectorStore's copy in memory (catalogs up to 64 MiB of rows),
   * scored where they lie ('memory', the engine's ScaleSearch since stop 38) or copied into the scorer's buffers first
   * ('copy', stop 37's way).
   */
  rows: RowsFrom;
  totalP50: number;
  totalP95: number;
}

export type RowsFrom = 'opfs' | 'memory' | 'copy';

interface Built {
  options: BuildOptions;
  dim: number;
  store: VectorStore;
  bias?: Float32Array;
  queries: Float32Array[];
  truths: number[][];
  indexes: Map<string, CodeIndex>;
  pq?: { book: PqCodebook; codes: Uint8Array };
  sign?: { book: SignCodebook; codes: SignCodes };
}

const K = 10;
const identityOf = (name: LabCase, items: number, dim: number): VectorIdentity => ({
  modelId: name === 'feed-random' ? 'lab-feed-d32' : 'lab-text-512',
  catalogFingerprint: `${name}-${items}`,
  totalItems: items,
  dimension: dim,
});

async function writeFile(name: LabCase, file: string, bytes: Uint8Array): Promise<void> {
  const handle = (await (await opfsDirectory(directoryOf(name))).open(file, true))!;
  try {
    handle.truncate(0);
    handle.write(bytes, { at: 0 });
    handle.flush();
  } finally {
    handle.close();
  }
}

async function readFile(name: LabCase, file: string): Promise<Uint8Array> {
  const handle = await (await opfsDirectory(directoryOf(name))).open(file, false);
  if (!handle) throw new Error(`${file} is not stored for ${name}`);
  try {
    const bytes = new Uint8Array(handle.getSize());
    handle.read(bytes, { at: 0 });
    return bytes;
  } finally {
    handle.close();
  }
}
const CHUNK = 10_000;
const built = new Map<LabCase, Built>();
const directoryOf = (name: LabCase) => ['scale-lab', name];

/** The exact top-10 of each query, kept as chunks of rows pass (a bounded list per query). */
class RunningTop {
  private readonly best: { item: number; score: number }[][];
  constructor(queries: number) {
    this.best = Array.from({ length: queries }, () => []);
  }
  add(query: number, item: number, score: number): void {
    const list = this.best[query]!;
    if (list.length === K && !(score > list[K - 1]!.score || (score === list[K - 1]!.score && item < list[K - 1]!.item))) return;
    list.push({ item, score });
    list.sort((a, b) => b.score - a.score || a.item - b.item);
    if (list.length > K) list.pop();
  }
  items(): number[][] {
    return this.best.map((list) => list.map((entry) => entry.item));
  }
}

function unit(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const norm = Math.sqrt(s) || 1;
  for (let t = 0; t < v.length; t++) v[t] = v[t]! / norm;
  return v;
}

async function textBase(): Promise<{ real: Float32Array; D: number; base: number }> {
  const response = await fetch('/catalog/goodbooks-10k.use-lite-512.emb');
  if (!response.ok) throw new Error(`the goodbooks vectors: HTTP ${response.status}`);
  const emb = decodePrebuilt(new Uint8Array(await response.arrayBuffer()));
  const D = emb.dimension;
  const base = emb.scales.length;
  const real = new Float32Array(base * D);
  const rows = int8Rows(emb.codes, emb.scales, D);
  for (let i = 0; i < base; i++) rows.row(i, real.subarray(i * D, (i + 1) * D));
  return { real, D, base };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function indexFor(method: string, b: Built): CodeIndex {
  const wasm = method.endsWith('-wasm');
  const name = wasm ? method.slice(0, -'-wasm'.length) : method;
  if (name.startsWith('pq')) {
    const { book, codes } = b.pq!;
    return wasm ? wasmPqIndex(book, codes, b.bias) : pqIndex(book, codes, b.bias);
  }
  const { book, codes } = b.sign!;
  const cascade = /^cascade(\d+)-(\d+)-(\d+)$/.exec(name);
  if (cascade) {
    const options = { coarseBits: Number(cascade[2]), keep: Math.ceil((Number(cascade[3]) / 1000) * b.options.items) };
    return wasm ? wasmSignIndex(book, codes, b.bias, options) : signCascadeIndex(book, codes, options, b.bias);
  }
  const cut = /^hammingcut\d+-(\d+)$/.exec(name);
  if (cut && wasm) return wasmHammingIndex(book, codes, b.bias, Number(cut[1]));
  if (name.startsWith('hamming')) return wasm ? wasmHammingIndex(book, codes, b.bias) : signIndex(book, codes, b.bias, true);
  return wasm ? wasmSignIndex(book, codes, b.bias) : signIndex(book, codes, b.bias);
}

/**
 * fetch whose first response body fails after `limit` bytes, as a lost connection does (a test's route
 * can only answer with a whole body). Later requests are untouched.
 */
function cutFetch(limit: number): typeof fetch {
  let used = false;
  return async (input, init) => {
    const response = await fetch(input, init);
    if (used || !response.body) return response;
    used = true;
    const reader = response.body.getReader();
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent >= limit) {
          controller.error(new TypeError('network connection lost (simulated by the test)'));
          await reader.cancel();
          return;
        }
        const { done, value } = await reader.read();
        if (done) return controller.close();
        const part = value.subarray(0, limit - sent);
        sent += part.length;
        controller.enqueue(part);
      },
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

const lab = {
  wasmScanSupported,

  async build(options: BuildOptions): Promise<BuildReport> {
    const started = performance.now();
    const n = options.items;
    await lab.drop(options.case);
    await removeOpfsDirectory(directoryOf(options.case));
    const isFeed = options.case === 'feed-random';
    const text = isFeed ? undefined : await textBase();
    const dim = isFeed ? 32 : text!.D;
    const uniform = seededUniform((isFeed ? 1000 : 3000) + n);
    const normal = gaussianSource(uniform);
    const make = (out: Float32Array) => {
      if (isFeed) {
        for (let t = 0; t < dim; t++) out[t] = normal();
        return;
      }
      const { real, base } = text!;
      const j = Math.floor(uniform() * base);
      const k = Math.floor(uniform() * base);
      for (let t = 0; t < dim; t++) out[t] = real[j * dim + t]! + 0.5 * real[k * dim + t]! + (0.3 / Math.sqrt(dim)) * normal();
      unit(out);
    };
    const queries = Array.from({ length: options.queries }, () => {
      const q = new Float32Array(dim);
      if (isFeed) for (let t = 0; t < dim; t++) q[t] = normal() / Math.sqrt(dim);
      else make(q);
      return q;
    });
    const bias = isFeed ? new Float32Array(n) : undefined;
    const identity = identityOf(options.case, n, dim);
    const store = await VectorStore.open(await opfsDirectory(directoryOf(options.case)), identity);
    const b: Built = { options, dim, store, ...(bias ? { bias } : {}), queries, truths: [], indexes: new Map() };
    const wantsPq = options.methods.some((m) => m.startsWith('pq'));
    const wantsSign = options.methods.some((m) => !m.startsWith('pq'));
    const pqCodes = wantsPq ? new Uint8Array(n * 16) : undefined;
    const signBook = wantsSign ? signCodebook(dim, 512, 7) : undefined;
    const signCodes: SignCodes | undefined = signBook ? { codes: new Uint8Array(n * 64), scales: new Float32Array(n), norms: new Float32Array(n) } : undefined;
    const top = new RunningTop(queries.length);
    let pqBook: PqCodebook | undefined;
    for (let from = 0; from < n; from += CHUNK) {
      const count = Math.min(CHUNK, n - from);
      const block = Array.from({ length: count }, () => {
        const v = new Float32Array(dim);
        make(v);
        return v;
      });
      if (bias) for (let r = 0; r < count; r++) bias[from + r] = 0.5 * normal();
      const { codes, scales } = quantizeRows(block, dim);
      store.writeRows(from, codes, scales);
      const rows = int8Rows(codes, scales, dim);
      if (pqCodes) {
        // The codebook learns from the first chunk (10,000 rows; the rows are i.i.d.).
        pqBook ??= trainPq(rows, { subspaces: 16, sample: count, iterations: 10, seed: 7 });
        pqCodes.set(encodePq(pqBook, rows), from * 16);
      }
      if (signBook && signCodes) {
        const s = encodeSign(signBook, rows);
        signCodes.codes.set(s.codes, from * 64);
        signCodes.scales.set(s.scales, from);
        signCodes.norms.set(s.norms, from);
      }
      // The exact scores of this chunk for every query: the brute force over the same int8 rows, with
      // the sums in int8Scorer's order (so a candidate's exact score equals the truth's, ties included).
      queries.forEach((query, q) => {
        for (let r = 0; r < count; r++) {
          const at = r * dim;
          let s0 = 0;
          let s1 = 0;
          let s2 = 0;
          let s3 = 0;
          for (let t = 0; t + 3 < dim; t += 4) {
            s0 += query[t]! * codes[at + t]!;
            s1 += query[t + 1]! * codes[at + t + 1]!;
            s2 += query[t + 2]! * codes[at + t + 2]!;
            s3 += query[t + 3]! * codes[at + t + 3]!;
          }
          top.add(q, from + r, (s0 + s1 + (s2 + s3)) * scales[r]! + (bias ? bias[from + r]! : 0));
        }
      });
    }
    store.markDone(0);
    b.truths = top.items();
    if (pqBook && pqCodes) b.pq = { book: pqBook, codes: pqCodes };
    if (signBook && signCodes) b.sign = { book: signBook, codes: signCodes };
    const codesBytes: Record<string, number> = {};
    for (const method of options.methods) {
      const index = indexFor(method, b);
      b.indexes.set(method, index);
      codesBytes[method] = index.bytes;
    }
    built.set(options.case, b);
    return { case: options.case, items: n, buildMs: performance.now() - started, codesBytes, opfsBytes: store.bytes };
  },

  /**
   * Stores the codes `method` needs as a codes file (core/index/codes-file.ts) and the queries with their
   * exact top-10 beside the rows in OPFS, for load() in a later visit.
   */
  async save(name: LabCase, method: string): Promise<number> {
    const b = built.get(name);
    if (!b) throw new Error(`${name} is not built`);
    const identity = identityOf(name, b.options.items, b.dim);
    const contents: IndexContents = method.startsWith('pq')
      ? { kind: 'pq', codebook: b.pq!.book, codes: b.pq!.codes }
      : { kind: 'sign', codebook: b.sign!.book, codes: b.sign!.codes };
    if (b.bias) contents.bias = b.bias;
    const file = await encodeIndexFile(
      { vectors: name === 'feed-random' ? 'model' : 'text', modelId: identity.modelId, catalogFingerprint: identity.catalogFingerprint },
      contents,
    );
    await writeFile(name, 'index.bin', file);
    await writeFile(
      name,
      'queries.json',
      new TextEncoder().encode(JSON.stringify({ items: b.options.items, dim: b.dim, method, queries: b.queries.map((q) => Array.from(q)), truths: b.truths })),
    );
    return file.length;
  },

  /** A returning visit: the codes file and the queries read from OPFS, the index built from them, the rows left in OPFS. */
  async load(name: LabCase): Promise<{ method: string; loadMs: number; codesBytes: number }> {
    const started = performance.now();
    await lab.drop(name);
    const saved = JSON.parse(new TextDecoder().decode(await readFile(name, 'queries.json'))) as {
      items: number;
      dim: number;
      method: string;
      queries: number[][];
      truths: number[][];
    };
    const identity = identityOf(name, saved.items, saved.dim);
    const contents = await decodeIndexFile(await readFile(name, 'index.bin'), {
      vectors: name === 'feed-random' ? 'model' : 'text',
      modelId: identity.modelId,
      catalogFingerprint: identity.catalogFingerprint,
      count: saved.items,
    });
    const store = await VectorStore.open(await opfsDirectory(directoryOf(name)), identity);
    const b: Built = {
      options: { case: name, items: saved.items, queries: saved.queries.length, methods: [saved.method] },
      dim: saved.dim,
      store,
      // A copy: a view would keep the whole decoded payload (the codes' first copy) alive.
      ...(contents.bias ? { bias: new Float32Array(contents.bias) } : {}),
      queries: saved.queries.map((q) => Float32Array.from(q)),
      truths: saved.truths,
      indexes: new Map(),
      ...(contents.kind === 'pq' ? { pq: { book: contents.codebook, codes: contents.codes } } : { sign: { book: contents.codebook, codes: contents.codes } }),
    };
    const index = indexFor(saved.method, b);
    b.indexes.set(saved.method, index);
    built.set(name, b);
    lab.keepOnly(name, [saved.method]);
    return { method: saved.method, loadMs: performance.now() - started, codesBytes: index.bytes };
  },

  /**
   * `where`: the rows read from OPFS (the copy in memory released), or from memory (none when the catalog's rows are
   * too large to hold): scored in place (`memory`, two-stage.ts heldInt8Scorer) or copied out first (`copy`).
   */
  async measure(name: LabCase, method: string, candidates: number[], where: RowsFrom = 'opfs'): Promise<MeasureRow[]> {
    const b = built.get(name);
    const index = b?.indexes.get(method);
    if (!b || !index) throw new Error(`${name} / ${method} is not built`);
    if (where === 'opfs') b.store.releaseMemory();
    else if (!(await b.store.holdMemory())) return [];
    // The store's copy, where this build's VectorStore gives it (storage/opfs-vectors.ts heldRows).
    const heldRows = where === 'memory' ? (b.store as { readonly heldRows?: HeldInt8Rows | undefined }).heldRows : undefined;
    if (where === 'memory' && !heldRows) return [];
    const scratch = new Float32Array(index.count);
    const reader = (items: readonly number[], codes: Int8Array, scales: Float32Array) => b.store.readRows(items, codes, scales);
    // The engine's ScaleSearch reuses its row buffers across queries: so does the lab.
    const buffers = int8Buffers();
    const rows: MeasureRow[] = [];
    for (const count of candidates) {
      const stageOne: number[] = [];
      const reads: number[] = [];
      const calls: number[] = [];
      const totals: number[] = [];
      const recalls: number[] = [];
      b.queries.forEach((query, q) => {
        const t0 = performance.now();
        const kept = stageOneTop(index, query, Math.max(K, count), undefined, scratch);
        const t1 = performance.now();
        let readMs = 0;
        const calls0 = b.store.fileReads;
        const exact = heldRows
          ? heldInt8Scorer(heldRows, b.dim, query, b.bias)
          : int8Scorer(
              (items, c, s) => {
                const r0 = performance.now();
                reader(items, c, s);
                readMs += performance.now() - r0;
              },
              b.dim,
              query,
              b.bias,
              buffers,
            );
        const result = rescore(kept, exact, K);
        const t2 = performance.now();
        if (q === 0) return; // a warm-up
        stageOne.push(t1 - t0);
        reads.push(readMs);
        calls.push(b.store.fileReads - calls0);
        totals.push(t2 - t0);
        recalls.push(recall(b.truths[q]!, result.items));
      });
      rows.push({
        case: name,
        items: b.options.items,
        method,
        candidates: count,
        recall: recalls.reduce((s, r) => s + r, 0) / recalls.length,
        minRecall: Math.min(...recalls),
        stageOneP50: percentile(stageOne, 0.5),
        stageOneP95: percentile(stageOne, 0.95),
        readP50: percentile(reads, 0.5),
        readCallsP50: percentile(calls, 0.5),
        rows: where,
        totalP50: percentile(totals, 0.5),
        totalP95: percentile(totals, 0.95),
      });
    }
    return rows;
  },

  /**
   * A like re-ranking the feed as the engine does at scale (engine/feed.ts, engine/scale.ts): the liked
   * row read from OPFS into the content profile, the pool (the most popular, the index's nearest to the
   * taste, the history), the pool's rows read from OPFS (those not read before), and the content ranker
   * over the pool (core/index/pool-rank.ts), feed of 20. The candidates' rows read for stage two are kept. Each like is the previous feed's first item.
   * Without the IndexedDB write and the message to the page. Popularity: seeded, nearly flat.
   */
  likeToFeed(name: LabCase, method: string, likes: number): LikeRow {
    const b = built.get(name);
    const index = b?.indexes.get(method);
    if (!b || !index || name !== 'text-real') throw new Error(`${name} / ${method} is not built (text-real only)`);
    const n = b.options.items;
    const dim = b.dim;
    const uniform = seededUniform(77);
    const popularity = Float32Array.from({ length: n }, () => 0.9 + 0.1 * uniform());
    // The catalog's items as the ranker reads them, made on access (a million objects are not the point here).
    const items = new Proxy([] as CatalogItem[], {
      get: (target, key) =>
        key === 'length'
          ? n
          : typeof key === 'string' && /^\d+$/.test(key)
            ? { id: `i${key}`, title: `Item ${key}`, text: `Item ${key}` }
            : Reflect.get(target, key),
    });
    const search = new ScaleSearch({ text: { index, rows: b.store } });
    const popular = mostPopular(popularity, POPULAR_POOL);
    const rows: (Float32Array | undefined)[] = new Array(n);
    const read = (wanted: number[]) => {
      const missing = wanted.filter((i) => !rows[i]);
      if (missing.length === 0) return;
      const codes = new Int8Array(missing.length * dim);
      const scales = new Float32Array(missing.length);
      b.store.readRows(missing, codes, scales);
      missing.forEach((item, c) => (rows[item] = Float32Array.from(codes.subarray(c * dim, (c + 1) * dim), (x) => x * scales[c]!)));
    };
    let profile = EMPTY_PROFILE;
    const marked = new Set<number>();
    let next = popular[0]!;
    const stageOne: number[] = [];
    const reads: number[] = [];
    const ranks: number[] = [];
    const totals: number[] = [];
    const pools: number[] = [];
    for (let like = 0; like <= likes; like++) {
      const t0 = performance.now();
      marked.add(next);
      read([next]);
      profile = applyEvent(profile, 'like', rows[next]!);
      const direction = normalized(profile.vector!);
      // The candidates' rows read for the exact scores are kept (as the engine's RowSink does).
      const keep = (read: readonly number[], codes: Int8Array, scales: Float32Array) =>
        read.forEach((item, c) => (rows[item] ??= Float32Array.from(codes.subarray(c * dim, (c + 1) * dim), (x) => x * scales[c]!)));
      const found = search.query(direction, TEXT_CANDIDATES, (i) => marked.has(i), keep).items;
      const t1 = performance.now();
      const pool = [...new Set([...popular, ...found, ...marked])];
      read(pool);
      const t2 = performance.now();
      const feed = recommendOver(
        {
          items,
          embeddings: rows,
          popularity,
          profile,
          exclude: marked,
          anchors: [...marked].reverse().map((i) => ({ index: i, kind: 'like' as const })),
          liked: marked,
          diversity: 0.3,
        },
        pool,
        20,
        true,
      );
      const t3 = performance.now();
      next = feed[0]!.index;
      if (like === 0) continue; // a warm-up
      stageOne.push(t1 - t0);
      reads.push(t2 - t1);
      ranks.push(t3 - t2);
      totals.push(t3 - t0);
      pools.push(pool.length);
    }
    return {
      items: n,
      method,
      likes,
      pool: percentile(pools, 0.5),
      stageOneP50: percentile(stageOne, 0.5),
      readP50: percentile(reads, 0.5),
      rankP50: percentile(ranks, 0.5),
      totalP50: percentile(totals, 0.5),
      totalP95: percentile(totals, 0.95),
    };
  },

  /** Keeps only these methods' indexes (and the codes they need) of a case: what the engine would hold. */
  keepOnly(name: LabCase, methods: string[]): void {
    const b = built.get(name);
    if (!b) return;
    for (const method of [...b.indexes.keys()]) if (!methods.includes(method)) b.indexes.delete(method);
    // The WASM kinds copied the codes into their own memory: the JS arrays go when no JS index needs them.
    const js = [...b.indexes.keys()].filter((m) => !m.endsWith('-wasm'));
    if (!js.some((m) => m.startsWith('pq'))) delete b.pq;
    if (!js.some((m) => !m.startsWith('pq'))) delete b.sign;
  },

  async drop(name: LabCase): Promise<void> {
    const b = built.get(name);
    if (!b) return;
    b.store.close();
    built.delete(name);
  },

  async removeFiles(name: LabCase): Promise<void> {
    await lab.drop(name);
    await removeOpfsDirectory(directoryOf(name));
  },

  /** A garbage collection before a memory measurement (Chromium with --js-flags=--expose-gc). */
  collect(): boolean {
    const gc = (globalThis as unknown as { gc?: () => void }).gc;
    gc?.();
    return Boolean(gc);
  },

  // ---- shards (e2e/scale-storage.spec.ts) ----
  async fetchShards(
    params: { catalogUrl: string; identity: VectorIdentity; perShard: number; quota?: { usage: number; quota: number }; cutAfterBytes?: number },
    onProgress?: (progress: ShardProgress) => void,
  ): Promise<{
    fetched: number[];
    present: number[];
    refused: { shard: number; reason: string }[];
    bytesReceived: number;
    rebuilt?: string;
    error?: string;
    quota?: boolean;
  }> {
    const store = await VectorStore.open(await opfsDirectory(['scale-lab', 'shards']), params.identity);
    try {
      const result = await fetchShards({
        catalogUrl: params.catalogUrl,
        expected: {
          modelId: params.identity.modelId,
          catalogFingerprint: params.identity.catalogFingerprint,
          totalItems: params.identity.totalItems,
          dimension: params.identity.dimension,
        },
        store,
        perShard: params.perShard,
        ...(params.cutAfterBytes !== undefined ? { fetch: cutFetch(params.cutAfterBytes) } : {}),
        ...(params.quota ? { estimate: async () => params.quota! } : {}),
        ...(onProgress ? { onProgress } : {}),
      });
      return { ...result, refused: result.refused.map((r) => ({ shard: r.shard, reason: r.reason })), ...(store.rebuilt ? { rebuilt: store.rebuilt } : {}) };
    } catch (error) {
      return {
        fetched: [],
        present: [],
        refused: [],
        bytesReceived: 0,
        error: String(error),
        quota: error instanceof QuotaError,
        ...(store.rebuilt ? { rebuilt: store.rebuilt } : {}),
      };
    } finally {
      store.close();
    }
  },

  async readRows(identity: VectorIdentity, items: number[]): Promise<{ codes: number[]; scales: number[] }> {
    const store = await VectorStore.open(await opfsDirectory(['scale-lab', 'shards']), identity);
    try {
      const codes = new Int8Array(items.length * identity.dimension);
      const scales = new Float32Array(items.length);
      store.readRows(items, codes, scales);
      return { codes: Array.from(codes), scales: Array.from(scales) };
    } finally {
      store.close();
    }
  },

  /** Removes one file of the shard store, as a browser's eviction would. */
  async evict(file: string): Promise<void> {
    const dir = await opfsDirectory(['scale-lab', 'shards']);
    await dir.remove(file);
  },
};

export type ScaleLab = typeof lab;
Comlink.expose(lab);
