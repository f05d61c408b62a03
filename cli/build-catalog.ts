/**
 * Regenerates the embedded default catalog from goodbooks-10k's books.csv (CC BY-SA 4.0).
 *   npm run catalog -- [--books PATH] [--out PATH]
 * Cover-image URLs point to a third-party host and are dropped: the app makes no request off its origin.
 *
 * With --embeddings, also precomputes the catalog's embeddings with the app's encoder code and writes
 * them next to it (<catalog>.<model id>.emb, a build artefact, not committed; see cli/build-embeddings):
 *   npm run catalog -- --embeddings [--encoder use-lite-512] [--catalog PATH]
 * --catalog embeds an existing catalog JSON as it is, without regenerating anything from the CSV.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse/sync';
import { CATALOG_FORMAT, CATALOG_VERSION, parseCatalog, type CatalogItem } from '../src/core/catalog';
import { USE_LITE_ID } from '../src/engine/encoder-ids';
import { buildPrebuiltEmbeddings, describeBuilt, loadNodeEncoder, progressPrinter } from './build-embeddings';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    books: { type: 'string', default: join(root, '..', 'shared', 'data', 'goodbooks-10k', 'books.csv') },
    out: { type: 'string', default: join(root, 'public', 'catalog', 'goodbooks-10k.json') },
    embeddings: { type: 'boolean', default: false },
    encoder: { type: 'string', default: USE_LITE_ID },
    catalog: { type: 'string' },
  },
});

/** goodbooks uses MARC-style three-letter codes; the app uses BCP 47. */
const LANGUAGE_CODES: Record<string, string> = {
  eng: 'en', ara: 'ar', fre: 'fr', ind: 'id', spa: 'es', ger: 'de', jpn: 'ja', per: 'fa', por: 'pt',
  pol: 'pl', nor: 'no', dan: 'da', fil: 'fil', ita: 'it', vie: 'vi', tur: 'tr', swe: 'sv', rum: 'ro', rus: 'ru',
};

interface BookRow {
  book_id: string;
  authors: string;
  original_publication_year: string;
  original_title: string;
  title: string;
  language_code: string;
  ratings_count: string;
}

function toItem(row: BookRow): CatalogItem {
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
  const built = await buildPrebuiltEmbeddings({ catalogPath, encoder, onProgress: progressPrinter(`embeddings (${encoder.id})`) });
  console.log(describeBuilt(built));
}

async function writeCatalog(): Promise<void> {
  const rows = parse(await readFile(values.books!, 'utf8'), { columns: true, skip_empty_lines: true }) as BookRow[];
  const catalog = {
    format: CATALOG_FORMAT,
    version: CATALOG_VERSION,
    name: 'goodbooks-10k',
    license: 'CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/)',
    attribution:
      'Derived from goodbooks-10k by Zygmunt Zając (2017), CC BY-SA 4.0. Changes: selected fields, language codes mapped to BCP 47, text field composed for the encoder, cover-image URLs removed.',
    items: rows.map(toItem),
  };
  const checked = parseCatalog(catalog);
  if (checked.skipped.length > 0) throw new Error(`${checked.skipped.length} rows failed validation: ${JSON.stringify(checked.skipped.slice(0, 3))}`);
  // One item per line: diffs of a regenerated catalog stay readable.
  const body = catalog.items.map((item) => JSON.stringify(item)).join(',\n');
  const { items: _items, ...header } = catalog;
  await writeFile(values.out!, `${JSON.stringify(header).slice(0, -1)},"items":[\n${body}\n]}\n`);
  console.log(`catalog: ${checked.items.length} items written to ${values.out}`);
}
