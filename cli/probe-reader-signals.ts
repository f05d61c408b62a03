/**
 * Probe: the weights of the reader signals rankFeed blends after the first like (blendReaderSignals in
 * src/core/model/ranking.ts): z(model) + α·z(item-kNN co-likes) + β·z(genre affinity), swept over α and β
 * on two kinds of reader, without the feed's rules (series, author cap, MMR), so it is fast:
 *  - real readers (goodbooks ratings-v1.csv): the validation users of the 80/10/10 split (VAL=1; the test
 *    users otherwise, only to report, never to choose), leave-last-like-out, u fitted by newtonScorer
 *    (the exact maximiser of the device's objective) on the shipped global model; HR@10;
 *  - simulated readers: 5 per genre with ≥ 100 books, 5 likes among the genre's 100 most read (the product
 *    bench's seeds); precision@20 for the genre.
 * The item-kNN here counts the train readers' likes plus each evaluated reader's own (as the product
 * bench's item-kNN row); the shipped file (npm run co-liked) counts the train readers only.
 *
 *   VAL=1 GA=1 N=1000 NB=100 AL=0,0.125,0.25,0.5 BE=0,0.25,0.5,0.75 npx tsx cli/probe-reader-signals.ts
 * (GA=1: genre affinity as the second signal; without it, the content profile's cosine.)
 */
import { readFile } from 'node:fs/promises';
import { parseGoodbooksRatings, rowsPerUser, splitGoodbooksUsers } from '../src/core/eval/goodbooks';
import { readerCases, newtonScorer, type ReaderCase } from '../src/core/eval/held-out';
import { itemKnnScorer } from '../src/core/eval/baselines';
import { seededUniform } from '../src/core/random';
import { HybridModel } from '../src/core/model/hybrid';
import { decodeShippedGlobal } from '../src/core/model/shipped-global';
import { decodePrebuilt, prebuiltRow } from '../src/core/prebuilt-embeddings';
import { topK } from '../src/core/topk';

const catalog = JSON.parse(await readFile('public/catalog/goodbooks-10k.json', 'utf8')) as { items: { id: string; title: string; popularity?: number; genres?: string[] }[] };
const items = catalog.items;
const n = items.length;
const indexById = new Map(items.map((it, i) => [it.id, i]));
const emb = decodePrebuilt(new Uint8Array(await readFile('public/catalog/goodbooks-10k.use-lite-512.emb')));
const dim = emb.dimension;
const E = new Float32Array(n * dim);
for (let i = 0; i < n; i++) E.set(prebuiltRow(emb, i), i * dim);
const g = await decodeShippedGlobal(new Uint8Array(await readFile('public/catalog/goodbooks-10k.hybrid-use-lite-512-d32_1.global')));
const model = new HybridModel({ itemIds: items.map((i) => i.id), embeddings: E, embeddingDim: dim, factors: g.header.factors, W: g.params.W!.values as Float32Array });
model.setParams(g.params);
const table = parseGoodbooksRatings(await readFile('../shared/data/goodbooks-10k/ratings-v1.csv', 'utf8'));
const split = splitGoodbooksUsers(table);
const rows = rowsPerUser(table);
const order = Int32Array.from(process.env.VAL ? split.validation : split.test);
const random = seededUniform(2026);
for (let i = order.length - 1; i > 0; i--) { const j = Math.floor(random() * (i + 1)); [order[i], order[j]] = [order[j]!, order[i]!]; }
const N = Number(process.env.N ?? 500);
const cases = readerCases(table, rows, [...order], indexById).slice(0, N);
const users: number[] = []; const books: number[] = [];
split.train.forEach((user, u) => { for (const row of rows[user]!) { const it = indexById.get(table.books[row]!); if (it !== undefined && table.ratings[row]! >= 4) { users.push(u); books.push(it); } } });
const base = split.train.length;
const extraUsers = [...users]; const extraBooks = [...books];
cases.forEach((c, k) => c.history.forEach((e) => e.kind === 'like' && (extraUsers.push(base + k), extraBooks.push(e.item))));
// simulated readers
const genreBooks = new Map<string, number[]>();
items.forEach((it, i) => (it.genres ?? []).forEach((gg) => genreBooks.set(gg, [...(genreBooks.get(gg) ?? []), i])));
const genres = [...genreBooks.entries()].filter(([, b]) => b.length >= 100).sort((a, b) => a[0].localeCompare(b[0]));
const sims: { genre: string; likes: number[] }[] = [];
genres.forEach(([genre, bks], gi) => {
  const popular = [...bks].sort((a, b) => (items[b]!.popularity ?? 0) - (items[a]!.popularity ?? 0)).slice(0, 100);
  for (let r = 0; r < 5; r++) { const rnd = seededUniform(1000 * gi + r + 1); const likes: number[] = []; while (likes.length < 5) { const p = popular[Math.floor(rnd() * popular.length)]!; if (!likes.includes(p)) likes.push(p); } sims.push({ genre, likes }); }
});
const simBase = base + cases.length;
sims.forEach((s, k) => s.likes.forEach((it) => (extraUsers.push(simBase + k), extraBooks.push(it))));
const t0 = performance.now();
const knn = itemKnnScorer({ userCount: simBase + sims.length, itemCount: n, users: Int32Array.from(extraUsers), items: Int32Array.from(extraBooks) }, Number(process.env.NB ?? 100));
console.error(`knn built ${((performance.now() - t0) / 1000).toFixed(0)} s`);
const newton = newtonScorer(model);
function z(x: Float32Array, mask: (i: number) => boolean): Float32Array { let s = 0, s2 = 0, c = 0; for (let i = 0; i < x.length; i++) if (mask(i)) { s += x[i]!; s2 += x[i]! * x[i]!; c++; } const m = s / c; const sd = Math.sqrt(Math.max(1e-12, s2 / c - m * m)); return Float32Array.from(x, (v) => (v - m) / sd); }
const gsets = items.map((it) => new Set(it.genres ?? []));
function genreAff(likes: number[]): Float32Array { const out = new Float32Array(n); for (let i = 0; i < n; i++) { let s = 0; for (const l of likes) { let inter = 0; for (const x of gsets[l]!) if (gsets[i]!.has(x)) inter++; const uni = gsets[l]!.size + gsets[i]!.size - inter; s += uni ? inter / uni : 0; } out[i] = s / likes.length; } return out; }
function content(likes: number[]): Float32Array { const p = new Float32Array(dim); for (const l of likes) for (let t = 0; t < dim; t++) p[t]! += E[l * dim + t]!; const out = new Float32Array(n); for (let i = 0; i < n; i++) { let s = 0; for (let t = 0; t < dim; t++) s += E[i * dim + t]! * p[t]!; out[i] = s; } return out; }
const alphas = (process.env.AL ?? "0,0.125,0.25,0.5").split(",").map(Number);
const betas = (process.env.BE ?? "0,0.25,0.5,0.75").split(",").map(Number);
const key = (a: number, b: number) => `a${a} b${b}`;
const hr = new Map<string, number>();
for (const [k, c] of cases.entries()) {
  const likes = c.history.filter((e) => e.kind === 'like').map((e) => e.item);
  const rated = new Set(c.rated);
  const mask = (i: number) => !rated.has(i) || i === c.heldOut;
  const m = z(newton(c), mask); const kn = z(knn(base + k), mask); const ct = z(process.env.GA ? genreAff(likes) : content(likes), mask);
  for (const a of alphas) for (const b of betas) {
    const s = new Float32Array(n);
    for (let i = 0; i < n; i++) s[i] = mask(i) ? (a >= 1000 ? kn[i]! : m[i]! + a * kn[i]! + b * ct[i]!) : -Infinity;
    const top = topK(s, 10);
    if (top.includes(c.heldOut)) hr.set(key(a, b), (hr.get(key(a, b)) ?? 0) + 1);
  }
}
const prec = new Map<string, number>();
for (const [k, s0] of sims.entries()) {
  const liked = new Set(s0.likes);
  const mask = (i: number) => !liked.has(i);
  const fake = { history: s0.likes.map((item) => ({ kind: 'like', item })), heldOut: -1, rated: s0.likes } as unknown as ReaderCase;
  const m = z(newton(fake), mask); const kn = z(knn(simBase + k), mask); const ct = z(process.env.GA ? genreAff(s0.likes) : content(s0.likes), mask);
  for (const a of alphas) for (const b of betas) {
    const s = new Float32Array(n);
    for (let i = 0; i < n; i++) s[i] = mask(i) ? (a >= 1000 ? kn[i]! : m[i]! + a * kn[i]! + b * ct[i]!) : -Infinity;
    const top = topK(s, 20);
    prec.set(key(a, b), (prec.get(key(a, b)) ?? 0) + top.filter((i) => items[i]!.genres?.includes(s0.genre)).length / 20);
  }
}
for (const a of alphas) for (const b of betas) console.log(`${key(a, b).padEnd(12)} HR@10 ${((hr.get(key(a, b)) ?? 0) / cases.length).toFixed(3)}  genreP@20 ${((prec.get(key(a, b)) ?? 0) / sims.length).toFixed(3)}`);
