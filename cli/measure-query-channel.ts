/**
 * `npx tsx cli/measure-query-channel.ts [FILE.emb]`: the query channel's variants on the shipped catalog
 * (docs/benchmarks.md, "The query channel: what was measured"): cosine, BM25, fixed blends, pseudo-relevance
 * feedback (books × α), the name-likeness rule, and the gate × query share with popularity as taste, on the
 * shared query set and the development set (cli/data/dev-queries-goodbooks.json), plus 10 name queries.
 * Vectors from the precomputed file (texts = encoderText, as the app embeds them); judged as the queries' README says.
 */
import { readFile } from 'node:fs/promises';
import { Bm25Index, lexicalWeightForQuery } from '../src/core/lexical';
import { loadNodeEncoder } from './build-embeddings';
import { USE_LITE_ID } from '../src/engine/encoder-ids';
import { encoderText } from '../src/core/item-text';
import { textHash } from '../src/core/hash';
import { decodePrebuilt, prebuiltRow, prebuiltRowsByHash } from '../src/core/prebuilt-embeddings';
import { expandQuery } from '../src/core/query-blend';
const embPath = process.argv[2] ?? 'public/catalog/goodbooks-10k.use-lite-512.emb';
interface Book { id: string; title: string; text: string; byline?: string; popularity?: number; genres?: string[]; tags?: string[] }
interface JudgedQuery { query: string; relevant_genres: string[] }
const catalog = JSON.parse(await readFile('public/catalog/goodbooks-10k.json', 'utf8')) as { items: Book[] };
const items = catalog.items; const n = items.length;
const texts: string[] = items.map((it) => encoderText(it));
const file = decodePrebuilt(new Uint8Array(await readFile(embPath)));
const byHash = prebuiltRowsByHash(file);
const emb = new Float32Array(n * 512); let missing = 0;
texts.forEach((t, i) => { const r = byHash.get(textHash(t)); if (r === undefined) { missing++; return; } emb.set(prebuiltRow(file, r), i * 512); });
console.log('missing rows', missing, 'example text:', texts[0]);
const genres = new Map<string, string[]>();
for (const line of (await readFile('../shared/data/goodbooks-10k/book_genres.csv', 'utf8')).split(/\r?\n/).slice(1)) { const [id, g] = line.split(','); if (id && g) genres.set(id, g.split('|')); }
const logs = items.map((it) => Math.log1p(it.popularity ?? 0)); const maxLog = Math.max(...logs);
const pop = Float32Array.from(logs, (v) => v / maxLog);
const bm25 = Bm25Index.build(texts);
const encoder = await loadNodeEncoder(USE_LITE_ID);
function ndcg(order: number[], rel: (i: number) => boolean) { let dcg = 0, idcg = 0, hits = 0; for (let r = 0; r < 10; r++) { idcg += 1 / Math.log(r + 2); if (rel(order[r]!)) { dcg += 1 / Math.log(r + 2); hits++; } } return [dcg / idcg, hits / 10]; }
function top(s: ArrayLike<number>, k = 10) { return Array.from({ length: n }, (_, i) => i).sort((a, b) => s[b]! - s[a]!).slice(0, k); }
function z(x: Float32Array) { let m = 0; for (const v of x) m += v; m /= x.length; let s = 0; for (const v of x) s += (v - m) ** 2; s = Math.sqrt(s / x.length) || 1; return x.map((v) => (v - m) / s); }
function cosAll(v: Float32Array) { const c = new Float32Array(n); for (let i = 0; i < n; i++) { let s = 0; for (let t = 0; t < 512; t++) s += emb[i * 512 + t]! * v[t]!; c[i] = s; } return c; }
for (const f of ['../shared/benchmarks/queries-goodbooks.json', 'cli/data/dev-queries-goodbooks.json']) {
  const qs = JSON.parse(await readFile(f, 'utf8')).queries;
  const vecs = await encoder.embedBatch(qs.map((q: JudgedQuery) => q.query), 'query');
  const V: Record<string, number[][]> = {}; const add = (k: string, m: number[]) => (V[k] ??= []).push(m);
  qs.forEach((q: JudgedQuery, qi: number) => {
    const rel = (i: number) => (genres.get(items[i]!.id) ?? []).some((g) => q.relevant_genres.includes(g));
    const cos = cosAll(vecs[qi]!); const lex = bm25.normalizedScore(q.query);
    add('popularity', ndcg(top(pop), rel)); add('semantic', ndcg(top(cos), rel)); add('lexical', ndcg(top(lex), rel));
    for (const w of [0.05, 0.1, 0.2, 0.35]) add(`sem+lex w=${w}`, ndcg(top(cos.map((c, i) => (1 - w) * c + w * lex[i]!)), rel));
    const wq = lexicalWeightForQuery(q.query, ['en'], bm25.bestMatchCoverage(q.query)); add('rule: lexical weight', [wq, 0]);
    for (const m of [10, 30, 50]) for (const a of [0.5, 1, 2]) add(`feedback m=${m} a=${a}`, ndcg(top(cosAll(expandQuery(vecs[qi]!, { matrix: emb, dim: 512 }, m, a))), rel));
    const prf = cosAll(expandQuery(vecs[qi]!, { matrix: emb, dim: 512 }));
    for (const w of [0.05, 0.1]) add(`feedback+lex w=${w}`, ndcg(top(prf.map((c, i) => (1 - w) * c + w * lex[i]!)), rel));
    add('feedback+lex by rule', ndcg(top(prf.map((c, i) => (1 - wq) * c + wq * lex[i]!)), rel));
    const relScore = prf.map((c, i) => (1 - wq) * c + wq * lex[i]!);
    for (const G of [1, 2, 3]) for (const sh of [0.5, 0.7, 0.85, 1]) { const g = top(relScore, 20 * G); const zr = z(Float32Array.from(g, (i) => relScore[i]!)), zp = z(Float32Array.from(g, (i) => pop[i]!));
      add(`gate ${G}x20, share ${sh} (taste=popularity)`, ndcg(g.map((i, c) => [i, sh * zr[c]! + (1 - sh) * zp[c]!] as const).sort((x, y) => y[1] - x[1]).map((x) => x[0]), rel)); }
  });
  console.log('\n' + f);
  for (const [k, ms] of Object.entries(V)) { const m = (j: number) => ms.reduce((s, x) => s + x[j]!, 0) / ms.length; console.log(`| ${k} | ${m(0).toFixed(3)} | ${m(1).toFixed(3)} |`); }
}

// Name queries (an author or a series typed as the query), judged by the byline/title containing the name.
const names: [string, (i: number) => boolean][] = [
  ['stephen king', (i) => /stephen king/i.test(items[i]!.byline ?? '')], ['agatha christie', (i) => /agatha christie/i.test(items[i]!.byline ?? '')],
  ['jane austen', (i) => /jane austen/i.test(items[i]!.byline ?? '')], ['neil gaiman books', (i) => /neil gaiman/i.test(items[i]!.byline ?? '')],
  ['terry pratchett', (i) => /terry pratchett/i.test(items[i]!.byline ?? '')], ['harry potter', (i) => /harry potter/i.test(items[i]!.title)],
  ['discworld', (i) => /discworld/i.test(items[i]!.title)], ['malcolm gladwell', (i) => /malcolm gladwell/i.test(items[i]!.byline ?? '')],
  ['nicholas sparks', (i) => /nicholas sparks/i.test(items[i]!.byline ?? '')], ['the wheel of time', (i) => /wheel of time/i.test(items[i]!.title)],
];
const nv = await encoder.embedBatch(names.map(([q]) => q), 'query');
const R: Record<string, number[]> = {};
names.forEach(([q, rel], k) => {
  const cos = cosAll(nv[k]!); const lex = bm25.normalizedScore(q); const wq = lexicalWeightForQuery(q, ['en'], bm25.bestMatchCoverage(q));
  const prf = cosAll(expandQuery(nv[k]!, { matrix: emb, dim: 512 }));
  const p = (s: ArrayLike<number>) => top(s).filter(rel).length / 10;
  (R.semantic ??= []).push(p(cos)); (R['feedback'] ??= []).push(p(prf)); (R['feedback+lex by rule'] ??= []).push(p(prf.map((c, i) => (1 - wq) * c + wq * lex[i]!)));
  (R['lexical'] ??= []).push(p(lex)); (R['rule weight'] ??= []).push(wq);
});
console.log('\nname queries (P@10: books by that author / of that series)');
for (const [k, v] of Object.entries(R)) console.log(`| ${k} | ${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(3)} | ${v.map((x) => x.toFixed(2)).join(' ')}`);
