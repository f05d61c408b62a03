/**
 * Which encoder text reads best? Semantic-only query ranking with the app's USE Lite encoder in Node,
 * on a fixed random subset of the default catalog, for a few candidate forms of the item text:
 *   npx tsx cli/measure-item-text.ts [--sample 2000] [--seed 7] [--forms a,b,…] [--queries FILE] [--json FILE]
 *   npx tsx cli/measure-item-text.ts --from-emb     # all 10,000 books, vectors from the shipped .emb file
 *   … --only-judged                                 # only books with genres in book_genres.csv
 * Judged as ../shared/benchmarks/README.md says: an item is relevant when its genres in
 * book_genres.csv include one of the query's relevant_genres (books without genres there are not
 * relevant); binary relevance, natural-log discount, ideal = 10 relevant. Every form embeds the same
 * subset (seeded), so the forms differ only in their text. Embedding takes ~1 min per form per 2,000
 * books on 2 cores.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseCatalogText, type CatalogItem } from '../src/core/catalog';
import { seededUniform, shuffleInPlace } from '../src/core/random';
import { textHash } from '../src/core/hash';
import { encoderText, readableLabel } from '../src/core/item-text';
import { decodePrebuilt, prebuiltEmbeddingsUrl, prebuiltRow } from '../src/core/prebuilt-embeddings';
import { USE_LITE_ID } from '../src/engine/encoder-ids';
import { loadNodeEncoder } from './build-embeddings';
import { GOODBOOKS_DIR, readGoodbooks } from './data/goodbooks';
import { PROJECT_ROOT, SHARED_DIR } from './model-paths';

const { values } = parseArgs({
  options: {
    sample: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '7' },
    forms: { type: 'string' },
    catalog: { type: 'string', default: join(PROJECT_ROOT, 'public', 'catalog', 'goodbooks-10k.json') },
    queries: { type: 'string', default: join(SHARED_DIR, 'benchmarks', 'queries-goodbooks.json') },
    json: { type: 'string' },
    /** Score the whole catalog with the shipped precomputed vectors (the encoderText form) instead. */
    'from-emb': { type: 'boolean', default: false },
    /**
     * Rank only the books that have genres in book_genres.csv (what the judge can see): shows what the
     * books with genres derived from shelves (judged not relevant whatever they are) cost the figure.
     */
    'only-judged': { type: 'boolean', default: false },
  },
});

const words = (labels: readonly string[] | undefined, max = 8) => (labels ?? []).slice(0, max).map(readableLabel);
/** "a, b and c" */
const listed = (items: readonly string[]) => (items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

/** The candidate forms: what the encoder would read for an item. */
const FORMS: Record<string, (item: CatalogItem) => string> = {
  /** Before this change: title (with series and original title) by author. */
  'title-author': (item) => item.text,
  /** The probe: genres as a labelled list. */
  'genres-list': (item) => encoderText({ text: item.text, genres: item.genres }),
  /** Genres as a sentence a reader would write. */
  'genres-sentence': (item) => {
    const genres = words(item.genres);
    return genres.length ? `${item.text}. A ${listed(genres)} book.` : item.text;
  },
  /** The probe as it was written: genre names as spelled in the data ("young-adult"). */
  'genres-raw': (item) => (item.genres?.length ? `${item.text}. Genres: ${item.genres.slice(0, 8).join(', ')}` : item.text),
  /** The sentence, then the cleaned shelves (tags) as a list. */
  'sentence-tags': (item) => {
    const genres = words(item.genres);
    const tags = words(item.tags);
    const sentence = genres.length ? `${item.text}. A ${listed(genres)} book.` : `${item.text}.`;
    return tags.length ? `${sentence} Tags: ${tags.join(', ')}.` : genres.length ? sentence : item.text;
  },
  /** Only the first 3 genres (the most used), as a list. */
  'genres-top3': (item) => encoderText({ text: item.text, genres: item.genres?.slice(0, 3) }),
  /** Genres and the cleaned shelves (tags), as labelled lists: what core/item-text composes. */
  'genres-tags': (item) => encoderText(item),
};

interface Query {
  query: string;
  relevant_genres: string[];
}

const queries = (JSON.parse(await readFile(values.queries!, 'utf8')) as { queries: Query[] }).queries;
const catalog = parseCatalogText(await readFile(values.catalog!, 'utf8'));
const judged = (await readGoodbooks(GOODBOOKS_DIR)).genres;
const order = Int32Array.from(catalog.items, (_, i) => i);
shuffleInPlace(order, seededUniform(Number(values.seed)));
const subset = Array.from(order.subarray(0, Number(values.sample)), (i) => catalog.items[i]!);
const formNames = values['from-emb'] ? ['shipped-emb'] : values.forms ? values.forms.split(',') : Object.keys(FORMS);
if (values['from-emb']) subset.splice(0, subset.length, ...catalog.items);
if (values['only-judged']) subset.splice(0, subset.length, ...subset.filter((item) => (judged.get(item.id) ?? []).length > 0));

const encoder = await loadNodeEncoder(USE_LITE_ID);
const queryVectors = await encoder.embedBatch(queries.map((q) => q.query), 'query');
const idealDcg = Array.from({ length: 10 }, (_, i) => 1 / Math.log(i + 2)).reduce((a, b) => a + b, 0);

const results: Record<string, { 'nDCG@10': number; 'P@10': number; perQuery: { query: string; 'nDCG@10': number; 'P@10': number }[]; example: string }> = {};
for (const form of formNames) {
  const compose = form === 'shipped-emb' ? encoderText : FORMS[form];
  if (!compose) throw new Error(`unknown form "${form}" (known: ${Object.keys(FORMS).join(', ')})`);
  const texts = subset.map(compose);
  const started = performance.now();
  const vectors: Float32Array[] = [];
  if (form === 'shipped-emb') {
    const bytes = await readFile(prebuiltEmbeddingsUrl(values.catalog!, USE_LITE_ID));
    const file = decodePrebuilt(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const rowOf = new Map(file.textHashes.map((hash, row) => [hash, row]));
    for (const text of texts) {
      const row = rowOf.get(textHash(text));
      if (row === undefined) throw new Error(`the .emb file lacks "${text}": rebuild it (npm run catalog -- --embeddings)`);
      vectors.push(prebuiltRow(file, row));
    }
  } else {
    for (let start = 0; start < texts.length; start += 32) vectors.push(...(await encoder.embedBatch(texts.slice(start, start + 32), 'passage')));
  }
  const perQuery = queries.map((query, q) => {
    const scores = vectors.map((vector) => dot(vector, queryVectors[q]!));
    const top = scores.map((score, i) => ({ score, i })).sort((a, b) => b.score - a.score).slice(0, 10);
    const relevant = top.map(({ i }) => (judged.get(subset[i]!.id) ?? []).some((genre) => query.relevant_genres.includes(genre)));
    const dcg = relevant.reduce((sum, rel, rank) => sum + (rel ? 1 / Math.log(rank + 2) : 0), 0);
    return { query: query.query, 'nDCG@10': dcg / idealDcg, 'P@10': relevant.filter(Boolean).length / 10 };
  });
  const mean = (key: 'nDCG@10' | 'P@10') => perQuery.reduce((sum, row) => sum + row[key], 0) / perQuery.length;
  results[form] = { 'nDCG@10': mean('nDCG@10'), 'P@10': mean('P@10'), perQuery, example: texts[0]! };
  console.log(`${form.padEnd(16)} nDCG@10 ${mean('nDCG@10').toFixed(3)}  P@10 ${mean('P@10').toFixed(3)}  (${((performance.now() - started) / 1000).toFixed(0)} s)  e.g. "${texts[0]}"`);
}

console.log(`\n${subset.length} books (seed ${values.seed}), ${queries.length} queries; per query nDCG@10:`);
console.log(['query'.padEnd(44), ...formNames.map((f) => f.slice(0, 15).padStart(16))].join(''));
queries.forEach((query, q) => console.log([query.query.slice(0, 43).padEnd(44), ...formNames.map((f) => results[f]!.perQuery[q]!['nDCG@10'].toFixed(3).padStart(16))].join('')));
const base = formNames[0]!;
if (formNames.length === 1) console.log('(one form: no comparison)');
for (const form of formNames.slice(1)) {
  const wins = queries.filter((_, q) => results[form]!.perQuery[q]!['nDCG@10'] > results[base]!.perQuery[q]!['nDCG@10'] + 1e-9).length;
  const losses = queries.filter((_, q) => results[form]!.perQuery[q]!['nDCG@10'] < results[base]!.perQuery[q]!['nDCG@10'] - 1e-9).length;
  console.log(`${form} vs ${base}: better on ${wins}, worse on ${losses} of ${queries.length} queries`);
}
if (values.json) await writeFile(values.json, JSON.stringify({ sample: subset.length, seed: Number(values.seed), queries: queries.length, results }, null, 1));

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}
