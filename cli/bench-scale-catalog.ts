/**
 * `npm run bench -- scale --catalog-memory [--sizes 100000,1000000] [--description N]`: what the catalog
 * itself costs in the worker at scale (issue 21), before any vector: the fetched JSON text, the parsed
 * value, the validated items (core/catalog.ts), the engine's CatalogIndex (encoder texts, titles, hashes,
 * ids, popularity) and the BM25 index over the texts (core/lexical.ts), each measured as V8's used heap
 * after a full GC, in this process (Node's V8: the same object and string layouts as Chromium's worker).
 *
 * The catalog is synthetic, shaped like the shipped goodbooks one (id, title, text, byline, genres, tags,
 * language, year, popularity): titles and bylines recombined from goodbooks rows, `--description N`
 * characters of recombined text added to each item's text (a shop's product description; 0 = none, as
 * the shipped catalog). parseCatalog refuses more than MAX_CATALOG_ITEMS rows, so above that the rows
 * are validated in slices of that size: the items are the same objects it would return.
 *
 * `--engine N`: the real Engine (Node, fake IndexedDB, the test encoder) started on an N-item catalog
 * at scale, its compute backend held back: the heap over the base once the first feed is shown (what the
 * start-up keeps while a phone's backend starts: the catalog's JSON text must not be among it), then
 * once the backend is up.
 */
// `--engine` runs the Engine on IndexedDB in memory (as the unit tests do).
import 'fake-indexeddb/auto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MAX_CATALOG_CHARS, MAX_CATALOG_ITEMS, parseCatalog, type CatalogItem } from '../src/core/catalog';
import { CatalogIndex } from '../src/core/catalog-index';
import { Bm25Index } from '../src/core/lexical';
import { seededUniform } from '../src/core/random';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    description: { type: 'string', default: '0' },
    'catalog-memory': { type: 'boolean' },
    engine: { type: 'string' },
    columns: { type: 'boolean' },
  },
});
const sizes = args.sizes.split(',').map(Number);
const descriptionChars = Number(args.description);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MiB = 2 ** 20;
function heap(): number {
  gc();
  gc();
  return getHeapStatistics().used_heap_size;
}

interface SourceRow {
  title: string;
  byline: string;
  genres?: string[];
  tags?: string[];
  language?: string;
  year?: number;
  popularity: number;
}

const shipped = JSON.parse(await readFile('public/catalog/goodbooks-10k.json', 'utf8')) as { items: SourceRow[] };
const words = shipped.items.flatMap((row) => row.title.split(' '));

/** Rows of the shipped catalog with recombined titles, bylines and descriptions. */
function syntheticItems(n: number): CatalogItem[] {
  const uniform = seededUniform(n);
  const pick = <T>(list: readonly T[]) => list[Math.floor(uniform() * list.length)]!;
  return Array.from({ length: n }, (_, i) => {
    const a = pick(shipped.items);
    const b = pick(shipped.items);
    const title = [...a.title.split(' ').slice(0, 3), ...b.title.split(' ').slice(-3)].join(' ');
    const byline = pick(shipped.items).byline;
    let description = '';
    while (description.length < descriptionChars) description += `${pick(words)} `;
    const text = `${title} by ${byline}${descriptionChars > 0 ? `. ${description.slice(0, descriptionChars).trim()}` : ''}`;
    return {
      id: `p${i}`,
      title,
      text,
      byline,
      ...(a.genres ? { genres: a.genres } : {}),
      ...(a.tags ? { tags: a.tags } : {}),
      ...(a.language ? { language: a.language } : {}),
      ...(a.year ? { year: a.year } : {}),
      popularity: Math.max(1, Math.round(a.popularity * uniform())),
    };
  });
}

/** The catalog's JSON text of syntheticItems(n). */
function catalogText(n: number): string {
  return JSON.stringify({ format: 'private-recs-catalog', version: 1, name: `synthetic ${n}`, items: syntheticItems(n) });
}

/** parseCatalog over slices of MAX_CATALOG_ITEMS rows (its bound), concatenated. */
function parseInSlices(value: { items: unknown[] }): CatalogItem[] {
  const out: CatalogItem[] = [];
  for (let at = 0; at < value.items.length; at += MAX_CATALOG_ITEMS) {
    const slice = parseCatalog({ ...value, items: value.items.slice(at, at + MAX_CATALOG_ITEMS) });
    for (const item of slice.items) out.push(item);
  }
  return out;
}

const mib = (bytes: number) => (bytes / MiB).toFixed(1);

if (args.columns) {
  const { columnsMemory } = await import('./bench-scale-columns');
  await columnsMemory(sizes, syntheticItems, heap);
  process.exit(0);
}
if (args.engine) {
  const { memoryDirectory } = await import('../src/storage/opfs-vectors');
  const { startTestEngine, testCatalog } = await import('../src/engine/testing/harness');
  const n = Number(args.engine);
  // A dash outside Latin-1: the text is two bytes a character, as most real catalogs' are.
  const items = Array.from({ length: n }, (_, i) => ({
    id: `i${i}`,
    title: `A fairly ordinary book title — volume ${i} of the long series about dragons and wizards`,
    popularity: 1000 + (i % 997),
  }));
  const chars = testCatalog(items).length;
  const base = heap();
  const dirs = new Map<string, Map<string, Uint8Array>>();
  let backendReady!: () => void;
  const backend = new Promise<void>((resolve) => (backendReady = resolve));
  const harness = await startTestEngine(items, {
    waitForStart: false,
    overrides: {
      selectBackend: async () => {
        await backend;
        return { name: 'cpu', label: 'CPU', skipped: [] };
      },
      scaleStorage: {
        directory: async (path) => {
          const key = path.join('/');
          if (!dirs.has(key)) dirs.set(key, new Map());
          return memoryDirectory(dirs.get(key)!);
        },
        removeAll: async () => dirs.clear(),
        fetch: (async () => new Response('none published', { status: 404 })) as typeof fetch,
      },
      fetchBytes: async () => undefined,
    },
  });
  await harness.until((snapshot) => snapshot.phase === 'ready' && snapshot.feed.length > 0, 300_000);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const pending = heap();
  backendReady();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const ready = heap();
  console.log(
    `engine at scale, ${n.toLocaleString('en-US')} items, catalog text ${mib(chars)} M chars: heap over base ${mib(pending - base)} MiB with the first feed shown and the backend starting, ${mib(ready - base)} MiB once it is up`,
  );
  process.exit(0);
}
const rows: string[] = [];
for (const n of sizes) {
  const base = heap();
  let text: string | undefined = catalogText(n);
  const chars = text.length;
  const afterText = heap();
  let value: { items: unknown[] } | undefined = JSON.parse(text) as { items: unknown[] };
  const afterParse = heap();
  let items: CatalogItem[] | undefined = parseInSlices(value);
  const afterItems = heap();
  const index = new CatalogIndex(items);
  items = undefined;
  const afterIndex = heap();
  const bm25Started = performance.now();
  const bm25 = Bm25Index.build(index.texts);
  const bm25Ms = performance.now() - bm25Started;
  const afterBm25 = heap();
  // What stays once the start-up is over: the text and the raw JSON value dropped.
  text = undefined;
  value = undefined;
  const kept = heap();
  const keptIndex = kept - base - (afterBm25 - afterIndex);
  rows.push(
    `| ${n.toLocaleString('en-US')} | ${descriptionChars} | ${mib(chars)}${chars > MAX_CATALOG_CHARS ? ' (over the limit)' : ''} | ${mib(afterText - base)} | ${mib(afterParse - afterText)} | ` +
      `${mib(afterItems - afterParse)} | ${mib(afterIndex - afterItems)} | ${mib(afterBm25 - afterIndex)} (${(bm25Ms / 1000).toFixed(1)} s) | ${mib(afterBm25 - base)} | ${mib(keptIndex)} + ${mib(afterBm25 - afterIndex)} = ${mib(kept - base)} |`,
  );
  // Keep both alive to here, so the figures above are what they hold.
  if (index.size === 0 || !bm25) throw new Error('unreachable');
}

console.log(`catalog memory (V8 used heap after full GC, MiB), node ${process.version}, ${new Date().toISOString()}`);
console.log(
  '| items | description chars | JSON text (M chars) | the text | JSON.parse value | validated items | CatalogIndex (+ texts, titles, hashes, ids) | BM25 | peak over base | kept: index + BM25 |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
