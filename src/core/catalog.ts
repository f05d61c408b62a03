/**
 * The catalog format: what a publisher (this app, a host page, a file the user picks) hands the engine.
 * Every row is validated on its own so one bad row never costs the rest of the catalog.
 */
import { describeIssues, z } from './schema';

export const CATALOG_FORMAT = 'private-recs-catalog';
export const CATALOG_VERSION = 1;

/** A trimmed string of min..max characters. */
const trimmed = (min: number, max: number) => z.string().check(z.trim(), z.minLength(min), z.maxLength(max));

/** One recommendable item. `text` is what the encoder embeds; `title` is what people see. */
export const catalogItemSchema = z.object({
  id: z.pipe(z.union([trimmed(1, 200), z.int().check(z.nonnegative())]), z.transform(String)),
  title: trimmed(1, 500),
  text: trimmed(1, 20_000),
  byline: z.optional(trimmed(0, 500)),
  tags: z.optional(z.array(trimmed(1, 100)).check(z.maxLength(100))),
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
  items: z.array(z.unknown()),
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

const ITEM_KEYS: ReadonlySet<string> = new Set(['id', 'title', 'text', 'byline', 'tags', 'language', 'year', 'popularity']);

const trimmedWithin = (value: unknown, min: number, max: number): value is string =>
  typeof value === 'string' && value.length >= min && value.length <= max && value === value.trim();

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
  const { id, title, text, byline, tags, language, year, popularity } = row;
  if (!(trimmedWithin(id, 1, 200) || (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0))) return undefined;
  if (!trimmedWithin(title, 1, 500) || !trimmedWithin(text, 1, 20_000)) return undefined;
  if (byline !== undefined && !trimmedWithin(byline, 0, 500)) return undefined;
  if (language !== undefined && !trimmedWithin(language, 2, 35)) return undefined;
  if (tags !== undefined && !(Array.isArray(tags) && tags.length <= 100 && tags.every((tag) => trimmedWithin(tag, 1, 100)))) return undefined;
  if (year !== undefined && !(typeof year === 'number' && Number.isSafeInteger(year) && year >= -5000 && year <= 3000)) return undefined;
  if (popularity !== undefined && !(typeof popularity === 'number' && Number.isFinite(popularity) && popularity >= 0)) return undefined;
  return {
    id: String(id),
    title,
    text,
    ...(byline !== undefined ? { byline } : {}),
    ...(tags !== undefined ? { tags: [...(tags as string[])] } : {}),
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
    throw new CatalogError(
      `The catalog is format version ${header.data.version}; this app reads up to version ${CATALOG_VERSION}.`,
    );
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
