/**
 * Regenerates the embedded default catalog from goodbooks-10k (CC BY-SA 4.0): books.csv for the books,
 * book_genres.csv for their genres, book_tags.csv + tags.csv (readers' shelves) for their tags.
 *   npm run catalog -- [--data DIR] [--books PATH] [--out PATH]
 * Cover-image URLs point to a third-party host and are dropped: the app makes no request off its origin.
 *
 * genres: the book's Goodreads genres (book_genres.csv, most used first), without "books" (a shelf,
 * not a genre); for a book with none there (931 of 10,000), the genres its readers' shelves map onto
 * (core/shelves: cleaned shelves → the same genre names). tags: up to MAX_TAGS of the book's most
 * telling cleaned shelves that say more than its genres ("dystopia", "magic", "vampires").
 *
 * With --embeddings, also precomputes the catalog's embeddings with the app's encoder code and writes
 * them next to it (<catalog>.<model id>.emb; see cli/build-embeddings). The default catalog's USE Lite
 * file is committed (public/catalog/goodbooks-10k.use-lite-512.emb); rebuild it after any change to
 * the catalog or to core/item-text (about 6 minutes on 2 cores):
 *   npm run catalog -- --embeddings [--encoder use-lite-512] [--catalog PATH]
 * --catalog embeds an existing catalog JSON as it is, without regenerating anything from the CSV.
 * A catalog of more than --shard-items items (default 50,000), or any with --shards, gets shards of that
 * many items and a text index instead of one .emb (cli/build-shards.ts, docs/scale.md).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CATALOG_FORMAT, CATALOG_VERSION, parseCatalog, parseCatalogText, type CatalogItem } from '../src/core/catalog';
import { SHARD_ITEMS } from '../src/core/index/shards';
import { cleanShelves, genresFromLabels, isGenreLabel, type Label } from '../src/core/shelves';
import { USE_LITE_ID } from '../src/engine/encoder-ids';
import { buildPrebuiltEmbeddings, describeBuilt, loadNodeEncoder, progressPrinter } from './build-embeddings';
import { buildShardedEmbeddings } from './build-shards';
import { authorsOf, GOODBOOKS_DIR, readGoodbooks, type BookRow } from './data/goodbooks';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    data: { type: 'string', default: GOODBOOKS_DIR },
    books: { type: 'string' },
    out: { type: 'string', default: join(root, 'public', 'catalog', 'goodbooks-10k.json') },
    embeddings: { type: 'boolean', default: false },
    encoder: { type: 'string', default: USE_LITE_ID },
    catalog: { type: 'string' },
    /** Catalogs of more items than this get shards and a text index instead of one .emb (issue 21; cli/build-shards.ts). */
    'shard-items': { type: 'string', default: String(SHARD_ITEMS) },
    /** Shards whatever the catalog's size. */
    shards: { type: 'boolean', default: false },
  },
});

/** goodbooks uses MARC-style three-letter codes; the app uses BCP 47. */
const LANGUAGE_CODES: Record<string, string> = {
  eng: 'en', ara: 'ar', fre: 'fr', ind: 'id', spa: 'es', ger: 'de', jpn: 'ja', per: 'fa', por: 'pt',
  pol: 'pl', nor: 'no', dan: 'da', fil: 'fil', ita: 'it', vie: 'vi', tur: 'tr', swe: 'sv', rum: 'ro', rus: 'ru',
};

/** Tags a book keeps: the few most telling shelves (the encoder reads up to 8; cards show genres). */
const MAX_TAGS = 5;
/** book_genres.csv's "books" is Goodreads' catch-all shelf, not a genre: not shown, not read. */
const NOT_GENRES = new Set(['books']);

function toItem(row: BookRow, genres: string[], tags: string[]): CatalogItem {
  const year = Number.parseFloat(row.original_publication_year);
  const code = row.language_code.trim();
  const language = code === '' || code === 'mul' ? undefined : (LANGUAGE_CODES[code] ?? code);
  const allAuthors = row.authors.split(',').map((a) => a.trim()).filter(Boolean);
  // A few anthologies list dozens of contributors; people read the first few.
  const authors = allAuthors.length > 6 ? `${allAuthors.slice(0, 5).join(', ')} and others` : allAuthors.join(', ');
  const original = row.original_title.trim();
  const title = row.title.trim();
  // The encoder sees the full title (series included: it says a lot about the book), the original
  // title when it differs, and the author line.
  const withOriginal = original && !title.toLowerCase().includes(original.toLowerCase()) ? `${title} (${original})` : title;
  const text = authors ? `${withOriginal} by ${authors}` : withOriginal;
  return {
    id: row.book_id,
    title,
    text,
    byline: authors || undefined,
    ...(genres.length > 0 ? { genres } : {}),
    ...(tags.length > 0 ? { tags } : {}),
    language,
    year: Number.isFinite(year) ? Math.trunc(year) : undefined,
    popularity: Number.parseInt(row.ratings_count, 10) || 0,
  };
}

if (values.catalog === undefined) await writeCatalog();
if (values.embeddings || values.catalog !== undefined) {
  const catalogPath = values.catalog ?? values.out!;
  console.log(`embeddings: loading ${values.encoder}…`);
  const encoder = await loadNodeEncoder(values.encoder!);
  const perShard = Number(values['shard-items']);
  const itemCount = parseCatalogText(await readFile(catalogPath, 'utf8')).items.length;
  if (values.shards || itemCount > perShard) {
    const built = await buildShardedEmbeddings({ catalogPath, encoder, perShard, onProgress: progressPrinter(`embeddings (${encoder.id}, shards of ${perShard})`) });
    console.log(`embeddings: ${built.count} rows in ${built.shards.length} shards (${built.shards[0]} …) and the text index ${built.indexPath}, ${(built.bytes / 1024 / 1024).toFixed(1)} MB in all`);
  } else {
    const built = await buildPrebuiltEmbeddings({ catalogPath, encoder, onProgress: progressPrinter(`embeddings (${encoder.id})`) });
    console.log(describeBuilt(built));
  }
}

async function writeCatalog(): Promise<void> {
  const goodbooks = await readGoodbooks(values.data!, values.books ?? join(values.data!, 'books.csv'));
  const rows = goodbooks.books;
  const genreNames = goodbooks.genreNames.filter((genre) => !NOT_GENRES.has(genre));
  const labels = cleanShelves(
    rows.map((row) => ({ id: row.book_id, title: row.title, authors: authorsOf(row), shelves: goodbooks.shelves.get(row.book_id) ?? [] })),
    genreNames,
  );
  let derived = 0;
  const items = rows.map((row) => {
    const telling: Label[] = labels.get(row.book_id) ?? [];
    let genres = (goodbooks.genres.get(row.book_id) ?? []).filter((genre) => !NOT_GENRES.has(genre));
    if (genres.length === 0) {
      genres = genresFromLabels(telling, genreNames);
      if (genres.length > 0) derived++;
    }
    // One tag per first word: "pulitzer" says what "pulitzer-prize" and "pulitzer-prize-winners" would.
    const firstWords = new Set<string>();
    const tags = telling
      .filter((label) => !isGenreLabel(label.name, genreNames))
      .filter((label) => {
        const first = label.name.split('-')[0]!;
        return !firstWords.has(first) && firstWords.add(first);
      })
      .slice(0, MAX_TAGS)
      .map((label) => label.name);
    return toItem(row, genres, tags);
  });
  const catalog = {
    format: CATALOG_FORMAT,
    version: CATALOG_VERSION,
    name: 'goodbooks-10k',
    license: 'CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/)',
    attribution:
      'Derived from goodbooks-10k by Zygmunt Zając (2017), CC BY-SA 4.0. Changes: selected fields, language codes mapped to BCP 47, text field composed for the encoder, cover-image URLs removed, genres from its book_genres.csv (the catch-all "books" removed; for books without, derived from readers\' shelves), tags chosen from its readers\' shelves (book_tags.csv) after removing noise and merging near-duplicates.',
    items,
  };
  const checked = parseCatalog(catalog);
  if (checked.skipped.length > 0) throw new Error(`${checked.skipped.length} rows failed validation: ${JSON.stringify(checked.skipped.slice(0, 3))}`);
  // One item per line: diffs of a regenerated catalog stay readable.
  const body = catalog.items.map((item) => JSON.stringify(item)).join(',\n');
  const { items: _items, ...header } = catalog;
  await writeFile(values.out!, `${JSON.stringify(header).slice(0, -1)},"items":[\n${body}\n]}\n`);
  const withGenres = items.filter((item) => item.genres).length;
  const withTags = items.filter((item) => item.tags).length;
  console.log(`catalog: ${checked.items.length} items written to ${values.out} (${withGenres} with genres, ${derived} of them from shelves; ${withTags} with tags)`);
}
