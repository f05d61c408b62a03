/**
 * The catalog format: what a publisher (this app, a host page, a file the user picks) hands the engine.
 * Every row is validated on its own so one bad row never costs the rest of the catalog.
 */
import { describeIssues, z } from './schema';

export const CATALOG_FORMAT = 'private-recs-catalog';
export const CATALOG_VERSION = 1;

/** A trimmed string of min..max characters. */
const trimmed = (min: number, max: number) => z.string().check(z.trim(), z.minLength(min), z.maxLength(max));

/**
 * Bounds of the descriptive fields. These come from hosts (the widget's page, a file the user picks)
 * and only ever describe an item, so a bad value there costs the value, never the row: entries that
 * are not strings are dropped, long ones cut, lists capped. Markup is kept as the characters it is;
 * the UI renders these only as text, and the encoder reads them as text.
 */
export const MAX_LABELS = 50;
export const MAX_LABEL_LENGTH = 100;
export const MAX_DESCRIPTION_LENGTH = 20_000;
/**
 * A catalog's bounds, checked before the work that grows with them: the text's length before JSON.parse,
 * the row count before any row is validated. The shipped catalog is 3 MB for 10,000 books; the engine
 * keeps a vector of up to 1024 floats per row, so 200,000 rows is already most of a tab's memory.
 */
export const MAX_CATALOG_CHARS = 128 * 1024 * 1024;
export const MAX_CATALOG_ITEMS = 200_000;

/** A string trimmed and cut to `max` characters (cut first, so a 1 MB string is not trimmed whole). */
function clip(value: string, max: number): string {
  const start = value.trimStart();
  return (start.length > max ? start.slice(0, max) : start).trimEnd();
}

/** A short list of labels (genres, tags): strings only, trimmed, cut, de-duplicated, capped; [] for anything else. */
export function cleanLabels(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const labels: string[] = [];
  for (const entry of value) {
    if (labels.length >= MAX_LABELS) break;
    if (typeof entry !== 'string') continue;
    const label = clip(entry, MAX_LABEL_LENGTH);
    if (label !== '' && !labels.includes(label)) labels.push(label);
  }
  return labels;
}

/** A description: a string trimmed and cut to MAX_DESCRIPTION_LENGTH; undefined for anything else or blank. */
export function cleanDescription(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const description = clip(value, MAX_DESCRIPTION_LENGTH);
  return description === '' ? undefined : description;
}

/** Labels as the item keeps them: a field that held nothing usable is left out, not kept as []. */
const labelsField = z.optional(
  z.pipe(
    z.unknown(),
    z.transform((value) => {
      const labels = cleanLabels(value);
      return labels.length > 0 ? labels : undefined;
    }),
  ),
);

/** One recommendable item. `text` is what the encoder embeds; `title` is what people see. */
export const catalogItemSchema = z.object({
  id: z.pipe(z.union([trimmed(1, 200), z.int().check(z.nonnegative())]), z.transform(String)),
  title: trimmed(1, 500),
  text: trimmed(1, 20_000),
  byline: z.optional(trimmed(0, 500)),
  /** Genre names ("fantasy", "young-adult"), shown on cards and read by the encoder. */
  genres: labelsField,
  /** Other short labels (subjects, shelves), read by the encoder. */
  tags: labelsField,
  /** A blurb or summary, read by the encoder (the first part of it: see core/item-text). */
  description: z.optional(z.pipe(z.unknown(), z.transform(cleanDescription))),
  language: z.optional(trimmed(2, 35)),
  year: z.optional(z.int().check(z.gte(-5000), z.lte(3000))),
  /** Any non-negative measure of how many people engaged with the item (ratings, sales, views). */
  popularity: z.optional(z.number().check(z.nonnegative())),
});

export type CatalogItem = z.infer<typeof catalogItemSchema>;

const catalogHeaderSchema = z.object({
  format: z.literal(CATALOG_FORMAT),
  version: z.int().check(z.positive()),
  name: trimmed(1, 200),
  license: z.optional(z.string().check(z.maxLength(500))),
  attribution: z.optional(z.string().check(z.maxLength(2000))),
  items: z.array(z.unknown()).check(z.maxLength(MAX_CATALOG_ITEMS, { error: `a catalog holds at most ${MAX_CATALOG_ITEMS.toLocaleString('en')} items` })),
});

export interface SkippedRow {
  /** 0-based position in the `items` array. */
  row: number;
  reason: string;
}

export interface Catalog {
  name: string;
  license?: string;
  attribution?: string;
  items: CatalogItem[];
  /** Rows that were dropped, with why; shown to the user as a warning. */
  skipped: SkippedRow[];
}

/** A catalog that cannot be used at all (as opposed to one with a few bad rows). */
export class CatalogError extends Error {
  override name = 'CatalogError';
}

const ITEM_KEYS: ReadonlySet<string> = new Set(['id', 'title', 'text', 'byline', 'genres', 'tags', 'description', 'language', 'year', 'popularity']);

const trimmedWithin = (value: unknown, min: number, max: number): value is string =>
  typeof value === 'string' && value.length >= min && value.length <= max && value === value.trim();

/** Labels already as cleanLabels gives them back (and not empty, which the schema leaves out). */
const cleanLabelList = (value: unknown): value is string[] =>
  Array.isArray(value) &&
  value.length >= 1 &&
  value.length <= MAX_LABELS &&
  value.every((label, i) => trimmedWithin(label, 1, MAX_LABEL_LENGTH) && value.indexOf(label) === i);

/**
 * The row as catalogItemSchema would output it, when the row is already in that form (known fields
 * only, strings already trimmed and within their lengths, numbers in range); undefined otherwise, and
 * the schema decides. Why by hand: on a returning visit the worker validates 10,000 rows before the
 * first feed, and zod, in a fresh worker under a CSP without eval, took 100–170 ms of it; this check
 * takes a few. Property-tested to accept only rows the schema accepts, with the schema's output.
 */
export function canonicalItem(raw: unknown): CatalogItem | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const row = raw as Record<string, unknown>;
  for (const key in row) if (!ITEM_KEYS.has(key)) return undefined;
  const { id, title, text, byline, genres, tags, description, language, year, popularity } = row;
  if (!(trimmedWithin(id, 1, 200) || (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0))) return undefined;
  if (!trimmedWithin(title, 1, 500) || !trimmedWithin(text, 1, 20_000)) return undefined;
  if (byline !== undefined && !trimmedWithin(byline, 0, 500)) return undefined;
  if (language !== undefined && !trimmedWithin(language, 2, 35)) return undefined;
  if (genres !== undefined && !cleanLabelList(genres)) return undefined;
  if (tags !== undefined && !cleanLabelList(tags)) return undefined;
  if (description !== undefined && !trimmedWithin(description, 1, MAX_DESCRIPTION_LENGTH)) return undefined;
  if (year !== undefined && !(typeof year === 'number' && Number.isSafeInteger(year) && year >= -5000 && year <= 3000)) return undefined;
  if (popularity !== undefined && !(typeof popularity === 'number' && Number.isFinite(popularity) && popularity >= 0)) return undefined;
  return {
    id: String(id),
    title,
    text,
    ...(byline !== undefined ? { byline } : {}),
    ...(genres !== undefined ? { genres: [...genres] } : {}),
    ...(tags !== undefined ? { tags: [...tags] } : {}),
    ...(description !== undefined ? { description } : {}),
    ...(language !== undefined ? { language } : {}),
    ...(year !== undefined ? { year } : {}),
    ...(popularity !== undefined ? { popularity } : {}),
  };
}

/**
 * Validates a parsed JSON value as a catalog. Bad rows are skipped and listed; a catalog with a bad
 * header, a newer version, or no usable row at all throws a CatalogError with a message for people.
 */
export function parseCatalog(input: unknown): Catalog {
  const header = catalogHeaderSchema.safeParse(input);
  if (!header.success) {
    throw new CatalogError(`This is not a catalog file (${describeIssues(header.error)}).`);
  }
  if (header.data.version > CATALOG_VERSION) {
    throw new CatalogError(`The catalog is format version ${header.data.version}; this app reads up to version ${CATALOG_VERSION}.`);
  }
  const items: CatalogItem[] = [];
  const skipped: SkippedRow[] = [];
  const seen = new Set<string>();
  header.data.items.forEach((raw, row) => {
    const canonical = canonicalItem(raw);
    const parsed = canonical ? { success: true as const, data: canonical } : catalogItemSchema.safeParse(raw);
    if (!parsed.success) {
      skipped.push({ row, reason: describeIssues(parsed.error) });
    } else if (seen.has(parsed.data.id)) {
      skipped.push({ row, reason: `duplicate id "${parsed.data.id}"` });
    } else {
      seen.add(parsed.data.id);
      items.push(parsed.data);
    }
  });
  if (items.length === 0) {
    throw new CatalogError(
      header.data.items.length === 0
        ? 'The catalog has no items.'
        : `None of the catalog's ${header.data.items.length} rows is valid (first problem: ${skipped[0]?.reason}).`,
    );
  }
  return {
    name: header.data.name,
    license: header.data.license,
    attribution: header.data.attribution,
    items,
    skipped,
  };
}

/** Parses catalog text (JSON); syntax errors become a CatalogError too. */
export function parseCatalogText(text: string): Catalog {
  if (text.length > MAX_CATALOG_CHARS) {
    throw new CatalogError(
      `The catalog is ${(text.length / 2 ** 20).toFixed(0)} MB of text; this app reads catalogs of up to ${MAX_CATALOG_CHARS / 2 ** 20} MB.`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CatalogError(`The catalog is not valid JSON (${(error as Error).message}).`);
  }
  return parseCatalog(value);
}

/** A one-line summary of skipped rows, for the warning banner. */
export function describeSkipped(skipped: readonly SkippedRow[]): string | undefined {
  if (skipped.length === 0) return undefined;
  const first = skipped[0]!;
  const noun = skipped.length === 1 ? 'row was' : 'rows were';
  return `${skipped.length} catalog ${noun} skipped because of missing or invalid fields (first: row ${first.row + 1}, ${first.reason}).`;
}
