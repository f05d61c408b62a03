/**
 * `npm run bench -- scale --browser …`: in headless Chromium instead (cli/scale-browser.ts).
 * `npm run bench -- scale --catalog-memory …`: the catalog's own memory at scale (cli/bench-scale-catalog.ts).
 * `npm run bench -- scale [--sizes 100000,1000000] [--users 100] [--queries 30] [--candidates 100,200,500,1000]
 *   [--cases feed-random,feed-real,text-real,text-random] [--text-pq-max N] [--json FILE]`
 *
 * Issue 21's index in Node, single thread: synthetic catalogs of 100,000 and 1,000,000 items, the
 * two-stage search of src/core/index against the exact brute force over the same scores. Cases:
 * - feed-random: model item vectors v_i (d = 32, the shipped model's size) and biases b_i drawn from a
 *   seeded Gaussian, users too: no structure at all, the hard case.
 * - feed-real: the shipped goodbooks model's v_i = W·e_i + q_i and b_i (public/catalog), replicated to
 *   the size with small seeded perturbations; users are the mean of 5 random items' vectors.
 * - text-real: 512-d text vectors recombined from the shipped goodbooks embeddings (normalise(e_j +
 *   0.5·e_k + noise)), stored int8 as the app stores them; queries recombined the same way (the
 *   query path is a cosine against every item).
 * - text-random: seeded random unit 512-d vectors (no structure: nothing to find; only at 100k).
 * Titles are recombined from goodbooks and MovieLens titles for the record (text would take hours to
 * embed: no vector here comes from them). Everything is seeded: reruns give the same recall.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { gaussianSource, seededUniform } from '../src/core/random';
import { decodeShippedGlobal } from '../src/core/model/shipped-global';
import { decodePrebuilt } from '../src/core/prebuilt-embeddings';
import { quantizeRows } from '../src/core/quantize';
import { topK } from '../src/core/topk';
import { matVec } from '../src/core/vector';
import { encodePq, trainPq } from '../src/core/index/pq';
import { floatRows, int8Rows, type RowSource } from '../src/core/index/rows';
import { encodeSign, signCodebook } from '../src/core/index/sign';
import { dotScorer, pqIndex, recall, rescore, signCascadeIndex, signIndex, type CodeIndex, type ExactScorer } from '../src/core/index/two-stage';
import { wasmHammingIndex, wasmPqIndex, wasmSignIndex } from '../src/core/index/wasm-index';

// `--catalog-memory`: the catalog's own memory at scale, before any vector (cli/bench-scale-catalog.ts).
if (process.argv.includes('--catalog-memory')) {
  await import('./bench-scale-catalog.ts');
  process.exit(0);
}
// `--browser`: the same index in headless Chromium's worker, vectors in OPFS (cli/scale-browser.ts).
if (process.argv.includes('--browser')) {
  process.argv = process.argv.filter((arg) => arg !== '--browser');
  await import('./scale-browser.ts');
  process.exit(0);
}

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    users: { type: 'string', default: '100' },
    queries: { type: 'string', default: '30' },
    candidates: { type: 'string', default: '100,200,500,1000' },
    cases: { type: 'string', default: 'feed-random,feed-real,text-real,text-random' },
    /** PQ of 512-d rows costs n·512·256 multiply-adds to encode: above this size it is left out. */
    'text-pq-max': { type: 'string', default: '100000' },
    methods: { type: 'string' },
    json: { type: 'string' },
  },
});
const sizes = args.sizes.split(',').map(Number);
const userCount = Number(args.users);
const queryCount = Number(args.queries);
const candidateCounts = args.candidates.split(',').map(Number).sort((a, b) => a - b);
const cases = args.cases.split(',');
const methodFilter = args.methods ? new Set(args.methods.split(',')) : null;
const K = 10;
const FEED_DIM = 32;

interface Row {
  case: string;
  items: number;
  method: string;
  candidates: number;
  recall: number;
  minRecall: number;
  stageOneP50: number;
  stageOneP95: number;
  totalP50: number;
  totalP95: number;
  totalWallP50: number;
  totalWallP95: number;
  bruteP50: number;
  bruteP95: number;
  codeBytes: number;
  buildSeconds: number;
}
const rows: Row[] = [];

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
};

// ---- titles, for the record --------------------------------------------------------------------
async function titles(count: number): Promise<string[]> {
  const books = (await readFile('../shared/data/goodbooks-10k/books.csv', 'utf8')).split('\n').slice(1);
  const movies = (await readFile('../shared/data/ml-100k/u.item', 'latin1')).split('\n');
  // goodbooks' `title` is column 10 of a CSV with quoted fields; MovieLens' is field 1, "Title (year)".
  const csvField = (line: string, column: number) => [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)][column]?.[1]?.replace(/^"|"$/g, '').replace(/""/g, '"');
  const pool = [
    ...books.map((line) => csvField(line, 10)).filter((t): t is string => Boolean(t)),
    ...movies.map((line) => line.split('|')[1]?.replace(/ \(\d{4}\)$/, '')).filter((t): t is string => Boolean(t)),
  ];
  const uniform = seededUniform(99);
  return Array.from({ length: count }, () => {
    const a = pool[Math.floor(uniform() * pool.length)]!.split(' ');
    const b = pool[Math.floor(uniform() * pool.length)]!.split(' ');
    return [...a.slice(0, Math.ceil(a.length / 2)), ...b.slice(Math.floor(b.length / 2))].join(' ');
  });
}

// ---- catalogs ------------------------------------------------------------------------------------
interface Case {
  name: string;
  dim: number;
  source: RowSource;
  bias?: Float32Array;
  queries: Float32Array[];
  exact: (query: Float32Array) => ExactScorer;
  /** Today's path: every item scored, top-10 (matVec + topK). */
  brute: (query: Float32Array, out: Float32Array) => number[];
  methods: string[];
}

const feedMethods = ['pq8', 'pq16', 'sign128', 'sign256', 'hamming256'];

function feedCase(name: string, vectors: Float32Array, bias: Float32Array, queries: Float32Array[]): Case {
  return {
    name,
    dim: FEED_DIM,
    source: floatRows(vectors, FEED_DIM),
    bias,
    queries,
    exact: (user) => dotScorer(vectors, FEED_DIM, user, bias),
    brute: (user, out) => topK(matVec(vectors, FEED_DIM, user, out, bias), K),
    methods: [...feedMethods, ...[...(methodFilter ?? [])].filter((m) => m.endsWith('-wasm') && !feedMethods.includes(m))],
  };
}

function feedRandom(n: number): Case {
  const normal = gaussianSource(seededUniform(1000 + n));
  const vectors = Float32Array.from({ length: n * FEED_DIM }, () => normal());
  // Scores u·v have sd ≈ 1 (|u| ≈ 1); biases sd 0.5: taste leads, popularity counts.
  const bias = Float32Array.from({ length: n }, () => 0.5 * normal());
  const users = Array.from({ length: userCount }, () => Float32Array.from({ length: FEED_DIM }, () => normal() / Math.sqrt(FEED_DIM)));
  return feedCase('feed-random', vectors, bias, users);
}

async function feedReal(n: number): Promise<Case> {
  const emb = decodePrebuilt(new Uint8Array(await readFile('public/catalog/goodbooks-10k.use-lite-512.emb')));
  const { params } = await decodeShippedGlobal(new Uint8Array(await readFile('public/catalog/goodbooks-10k.hybrid-use-lite-512-d32_1.global')));
  const W = params.W!.values;
  const q = params.q!.values;
  const b = params.b!.values;
  const base = b.length;
  const D = emb.dimension;
  const baseVectors = new Float32Array(base * FEED_DIM);
  const e = new Float32Array(D);
  for (let i = 0; i < base; i++) {
    int8Rows(emb.codes, emb.scales, D).row(i, e);
    matVec(W, D, e, baseVectors.subarray(i * FEED_DIM, (i + 1) * FEED_DIM));
    for (let f = 0; f < FEED_DIM; f++) baseVectors[i * FEED_DIM + f]! += q[i * FEED_DIM + f]!;
  }
  let variance = 0;
  for (const x of baseVectors) variance += x * x;
  const sd = Math.sqrt(variance / baseVectors.length);
  let biasVariance = 0;
  for (const x of b) biasVariance += x * x;
  const biasSd = Math.sqrt(biasVariance / base);
  const uniform = seededUniform(2000 + n);
  const normal = gaussianSource(uniform);
  // Copy c of item j: v_j + 0.1·sd·g, b_j + 0.1·sd_b·g (copy 0 is the real item).
  const vectors = new Float32Array(n * FEED_DIM);
  const bias = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const j = i % base;
    const noise = i < base ? 0 : 0.1;
    for (let f = 0; f < FEED_DIM; f++) vectors[i * FEED_DIM + f] = baseVectors[j * FEED_DIM + f]! + noise * sd * normal();
    bias[i] = b[j]! + noise * biasSd * normal();
  }
  const users = Array.from({ length: userCount }, () => {
    const u = new Float32Array(FEED_DIM);
    for (let l = 0; l < 5; l++) {
      const j = Math.floor(uniform() * base);
      for (let f = 0; f < FEED_DIM; f++) u[f]! += baseVectors[j * FEED_DIM + f]! / 5;
    }
    return u;
  });
  return feedCase('feed-real', vectors, bias, users);
}

function textCase(name: string, n: number, dim: number, make: (out: Float32Array) => void, query: () => Float32Array): Case {
  // Stored as the app stores text vectors: int8 with one scale per row, built in chunks (1M × 512 floats would be 2 GB).
  const codes = new Int8Array(n * dim);
  const scales = new Float32Array(n);
  const chunk = 10_000;
  for (let from = 0; from < n; from += chunk) {
    const block = Array.from({ length: Math.min(chunk, n - from) }, () => {
      const v = new Float32Array(dim);
      make(v);
      return v;
    });
    const q = quantizeRows(block, dim);
    codes.set(q.codes, from * dim);
    scales.set(q.scales, from);
  }
  const source = int8Rows(codes, scales, dim);
  const exact = (vector: Float32Array): ExactScorer => (items, out) => {
    for (let c = 0; c < items.length; c++) {
      const at = items[c]! * dim;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let t = 0; t < dim; t += 4) {
        s0 += vector[t]! * codes[at + t]!;
        s1 += vector[t + 1]! * codes[at + t + 1]!;
        s2 += vector[t + 2]! * codes[at + t + 2]!;
        s3 += vector[t + 3]! * codes[at + t + 3]!;
      }
      out[c] = (s0 + s1 + (s2 + s3)) * scales[items[c]!]!;
    }
  };
  return {
    name,
    dim,
    source,
    queries: Array.from({ length: queryCount }, query),
    exact,
    brute: (vector, out) => {
      const scorer = exact(vector);
      const all = Array.from({ length: n }, (_, i) => i);
      const scores = new Float64Array(n);
      scorer(all, scores);
      for (let i = 0; i < n; i++) out[i] = scores[i]!;
      return topK(out, K);
    },
    methods: ['sign512', 'hamming512', ...[...(methodFilter ?? [])].filter((m) => m.startsWith('cascade') || m.endsWith('-wasm')), ...(n <= Number(args['text-pq-max']) ? ['pq64'] : [])],
  };
}

const unit = (v: Float32Array) => {
  let s = 0;
  for (const x of v) s += x * x;
  const norm = Math.sqrt(s) || 1;
  for (let t = 0; t < v.length; t++) v[t] = v[t]! / norm;
  return v;
};

async function textReal(n: number): Promise<Case> {
  const emb = decodePrebuilt(new Uint8Array(await readFile('public/catalog/goodbooks-10k.use-lite-512.emb')));
  const D = emb.dimension;
  const base = emb.scales.length;
  const real = new Float32Array(base * D);
  for (let i = 0; i < base; i++) int8Rows(emb.codes, emb.scales, D).row(i, real.subarray(i * D, (i + 1) * D));
  const uniform = seededUniform(3000 + n);
  const normal = gaussianSource(uniform);
  const recombine = (out: Float32Array) => {
    const j = Math.floor(uniform() * base);
    const k = Math.floor(uniform() * base);
    // Noise of norm ≈ 0.3 against a unit vector: each item is near the real texts, none a copy.
    for (let t = 0; t < D; t++) out[t] = real[j * D + t]! + 0.5 * real[k * D + t]! + (0.3 / Math.sqrt(D)) * normal();
    unit(out);
  };
  return textCase('text-real', n, D, recombine, () => {
    const v = new Float32Array(D);
    recombine(v);
    return v;
  });
}

function textRandom(n: number): Case {
  const normal = gaussianSource(seededUniform(4000 + n));
  const make = (out: Float32Array) => {
    for (let t = 0; t < out.length; t++) out[t] = normal();
    unit(out);
  };
  return textCase('text-random', n, 512, make, () => {
    const v = new Float32Array(512);
    make(v);
    return v;
  });
}

// ---- indices -------------------------------------------------------------------------------------
// A method name ending in -wasm: the same codes, stage one by src/core/index/wasm-scan.ts.
function build(method: string, c: Case): CodeIndex {
  const wasm = method.endsWith('-wasm');
  const base = wasm ? method.slice(0, -'-wasm'.length) : method;
  const pq = /^pq(\d+)$/.exec(base);
  if (pq) {
    const book = trainPq(c.source, { subspaces: Number(pq[1]), sample: 20_000, iterations: 10, seed: 7 });
    const codes = encodePq(book, c.source);
    return wasm ? wasmPqIndex(book, codes, c.bias) : pqIndex(book, codes, c.bias);
  }
  // cascadeB-C-P: sign codes of B bits behind a Hamming pass over their first C bits keeping P per mille.
  const cascade = /^cascade(\d+)-(\d+)-(\d+)$/.exec(base);
  if (cascade) {
    const book = signCodebook(c.dim, Number(cascade[1]), 7);
    const keep = Math.ceil((Number(cascade[3]) / 1000) * c.source.count);
    const options = { coarseBits: Number(cascade[2]), keep };
    const codes = encodeSign(book, c.source);
    return wasm ? wasmSignIndex(book, codes, c.bias, options) : signCascadeIndex(book, codes, options, c.bias);
  }
  // hammingcutB-N-wasm: Hamming over B bits scoring only the ~N nearest by the distance histogram.
  const cut = /^hammingcut(\d+)-(\d+)$/.exec(base);
  if (cut && wasm) {
    const book = signCodebook(c.dim, Number(cut[1]), 7);
    return wasmHammingIndex(book, encodeSign(book, c.source), c.bias, Number(cut[2]));
  }
  const sign = /^(sign|hamming)(\d+)$/.exec(base);
  if (sign) {
    const book = signCodebook(c.dim, Number(sign[2]), 7);
    const codes = encodeSign(book, c.source);
    if (wasm) return sign[1] === 'hamming' ? wasmHammingIndex(book, codes, c.bias) : wasmSignIndex(book, codes, c.bias);
    return signIndex(book, codes, c.bias, sign[1] === 'hamming');
  }
  throw new Error(`unknown method ${method}`);
}

/** Wall and CPU milliseconds of f. CPU time (process.cpuUsage) counts only this process's work: on a machine shared with other jobs it is the figure that means something; wall time includes waiting for a core. */
function time<T>(f: () => T): [T, { wall: number; cpu: number }] {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = f();
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return [value, { wall, cpu: (used.user + used.system) / 1000 }];
}

interface Samples {
  wall: number[];
  cpu: number[];
}
const samples = (): Samples => ({ wall: [], cpu: [] });
const add = (into: Samples, ...parts: { wall: number; cpu: number }[]) => {
  into.wall.push(parts.reduce((sum, part) => sum + part.wall, 0));
  into.cpu.push(parts.reduce((sum, part) => sum + part.cpu, 0));
};

async function run(c: Case, n: number): Promise<void> {
  const scratch = new Float32Array(n);
  // The exact top-10 of every query, and today's brute-force latency.
  const truths: number[][] = [];
  const brute = samples();
  for (const [position, query] of c.queries.entries()) {
    const [truth, took] = time(() => c.brute(query, scratch));
    truths.push(truth);
    if (position > 0) add(brute, took); // the first run warms V8 up
  }
  for (const method of c.methods) {
    if (methodFilter && !methodFilter.has(method)) continue;
    const [index, built] = time(() => build(method, c));
    const stageOne = candidateCounts.map(samples);
    const total = candidateCounts.map(samples);
    const recalls = candidateCounts.map((): number[] => []);
    for (const [position, query] of c.queries.entries()) {
      const exact = c.exact(query);
      // The two stages of twoStageSearch, timed apart: the scan once per query, then for each
      // candidate count the candidate heap (stage one's end) and the exact rescoring (stage two).
      // A WASM index scans into its own memory (index.scratch): no copy, as twoStageSearch uses it.
      // An index that selects its candidates itself (CodeIndex.select) is timed per candidate count, scan included.
      const approximate = index.scratch ?? scratch;
      const [, scan] = index.select ? [undefined, { wall: 0, cpu: 0 }] : time(() => index.stageOne(query, approximate));
      candidateCounts.forEach((candidates, j) => {
        const [kept, heap] = time(() => (index.select ? index.select(query, candidates) : topK(approximate, candidates)));
        const [result, second] = time(() => rescore(kept, exact, K));
        if (position === 0) return;
        add(stageOne[j]!, scan, heap);
        add(total[j]!, scan, heap, second);
        recalls[j]!.push(recall(truths[position]!, result.items));
      });
    }
    candidateCounts.forEach((candidates, j) => {
      const row: Row = {
        case: c.name,
        items: n,
        method,
        candidates,
        recall: recalls[j]!.reduce((a, b) => a + b, 0) / recalls[j]!.length,
        minRecall: Math.min(...recalls[j]!),
        stageOneP50: percentile(stageOne[j]!.cpu, 0.5),
        stageOneP95: percentile(stageOne[j]!.cpu, 0.95),
        totalP50: percentile(total[j]!.cpu, 0.5),
        totalP95: percentile(total[j]!.cpu, 0.95),
        totalWallP50: percentile(total[j]!.wall, 0.5),
        totalWallP95: percentile(total[j]!.wall, 0.95),
        bruteP50: percentile(brute.cpu, 0.5),
        bruteP95: percentile(brute.cpu, 0.95),
        codeBytes: index.bytes,
        buildSeconds: built.cpu / 1000,
      };
      rows.push(row);
      print(row);
    });
  }
}

const fmt = (x: number, digits = 1) => x.toFixed(digits);
function print(r: Row): void {
  console.log(
    `| ${r.case} | ${r.items.toLocaleString('en')} | ${r.method} | ${r.candidates} | ${fmt(r.recall, 3)} (min ${fmt(r.minRecall, 1)}) | ${fmt(r.stageOneP50)} / ${fmt(r.stageOneP95)} | ${fmt(r.totalP50)} / ${fmt(r.totalP95)} | ${fmt(r.totalWallP50)} / ${fmt(r.totalWallP95)} | ${fmt(r.bruteP50)} / ${fmt(r.bruteP95)} | ${fmt(r.codeBytes / 2 ** 20)} | ${fmt(r.buildSeconds)} |`,
  );
}

console.log(`# scale bench — ${new Date().toISOString()}, Node ${process.version}, ${cpus()[0]?.model ?? '?'} × ${cpus().length}, load ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log(`users (feed) ${userCount}, queries (text) ${queryCount}; k = ${K}; the first query of each row is a warm-up, not counted`);
console.log('');
console.log('Latencies are CPU milliseconds of this process (process.cpuUsage) except the wall column; build: CPU seconds (train + encode).');
console.log('');
console.log('| case | items | method | candidates | recall@10 (min) | stage one p50 / p95 | total p50 / p95 | total wall p50 / p95 | brute force p50 / p95 | codes MiB | build s |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const n of sizes) {
  const list = await titles(n);
  if (n === sizes[0]) console.log(`<!-- titles: ${list.length} recombined, e.g. "${list[0]}", "${list[1]}", "${list[2]}" -->`);
  for (const name of cases) {
    if (name === 'text-random' && n > 100_000) continue;
    const c = name === 'feed-random' ? feedRandom(n) : name === 'feed-real' ? await feedReal(n) : name === 'text-real' ? await textReal(n) : textRandom(n);
    await run(c, n);
  }
}
if (args.json) await writeFile(args.json, JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2));
