/**
 * The catalog format: what a publisher (this app, a host page, a file the user picks) hands the engine.
 * Every row is validated on its own so one bad row never costs the rest of the catalog.
 */
import { z } from 'zod';

export const CATALOG_FORMAT = 'private-recs-catalog';
export const CATALOG_VERSION = 1;

/** One recommendable item. `text` is what the encoder embeds; `title` is what people see. */
export const catalogItemSchema = z.object({
  id: z.union([z.string().trim().min(1).max(200), z.number().int().nonnegative()]).transform(String),
  title: z.string().trim().min(1).max(500),
  text: z.string().trim().min(1).max(20_000),
  byline: z.string().trim().max(500).optional(),
  tags: z.array(z.string().trim().min(1).max(100)).max(100).optional(),
  language: z.string().trim().min(2).max(35).optional(),
  year: z.number().int().min(-5000).max(3000).optional(),
  /** Any non-negative measure of how many people engaged with the item (ratings, sales, views). */
  popularity: z.number().finite().nonnegative().optional(),
});

export type CatalogItem = z.infer<typeof catalogItemSchema>;

const catalogHeaderSchema = z.object({
  format: z.literal(CATALOG_FORMAT),
  version: z.number().int().positive(),
  name: z.string().trim().min(1).max(200),
  license: z.string().max(500).optional(),
  attribution: z.string().max(2000).optional(),
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

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
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
    const parsed = catalogItemSchema.safeParse(raw);
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
