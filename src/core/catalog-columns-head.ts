/**
 * A columns catalog's head (issue 21): a small JSON file the publisher writes beside `<catalog>.columns`
 * (`<catalog>.head.json`, cli/build-shards.ts writeCatalogShards). It names the columns file it goes with
 * (the payload's SHA-256, the ids' fingerprint, the file's length) and carries the most popular items
 * (id, title, year, genres), a few KB. A device reads it
 *  - on a first visit, before the columns (57 MB at 1,000,000 items): the first feed is its popular
 *    items, shown while the columns download and are checked;
 *  - on a returning visit, after the first feed from the columns it kept (storage/opfs-columns.ts): a
 *    head naming other columns means the catalog changed on the server, and the new columns are fetched.
 * Every field is checked (`parseColumnsHead`); a head that does not check is ignored with its reason.
 */
import { describeIssues, z } from './schema';
import { MAX_LABEL_LENGTH } from './catalog';
import type { CatalogColumns } from './catalog-columns';

export const HEAD_FORMAT = 'private-recs-catalog-head';
export const HEAD_VERSION = 1;
/** Popular items the publisher puts in the head: a feed and a few pages of it. */
export const HEAD_ITEMS = 100;
const MAX_HEAD_ITEMS = 1000;

const label = z.string().check(
  z.minLength(1),
  z.maxLength(200),
  z.refine((value) => value.trim() === value, 'has spaces around it'),
);

const headSchema = z.object({
  format: z.literal(HEAD_FORMAT),
  version: z.int().check(z.positive()),
  name: z.string().check(z.minLength(1), z.maxLength(200)),
  itemCount: z.int().check(z.positive()),
  catalogFingerprint: z.string().check(z.regex(/^[0-9a-f]{16}$/, 'must be 16 hex digits')),
  payloadSha256: z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')),
  columnsBytes: z.int().check(z.positive()),
  popular: z
    .array(
      z.object({
        id: label,
        title: z.string().check(z.minLength(1), z.maxLength(2000)),
        year: z.optional(z.int().check(z.gte(-5000), z.lte(3000))),
        genres: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(MAX_LABEL_LENGTH))).check(z.maxLength(50))),
      }),
    )
    .check(z.maxLength(MAX_HEAD_ITEMS)),
});

export type ColumnsHead = z.infer<typeof headSchema>;

export class HeadError extends Error {
  override name = 'HeadError';
}

/** Where the head of the columns file at `columnsUrl` lives: `<catalog>.columns` → `<catalog>.head.json`. */
export function columnsHeadUrl(columnsUrl: string): string {
  return columnsUrl.replace(/\.columns(?=[?#]|$)/i, '.head.json');
}

/** The head of a columns file: its identity (`columnsFile`: the file's bytes) and its `count` most popular items. */
export function encodeColumnsHead(columns: CatalogColumns, columnsFile: number, count = HEAD_ITEMS): Uint8Array {
  const order = Array.from({ length: columns.size }, (_, i) => i);
  const popularity = columns.rawPopularity;
  // Most popular first (none = −1 last), ties by catalog order: the order the engine's popularity feed takes.
  order.sort((a, b) => popularity[b]! - popularity[a]! || a - b);
  const popular = order.slice(0, count).map((i) => {
    const year = columns.year(i);
    const genres = columns.genres(i);
    return { id: columns.id(i), title: columns.title(i), ...(year === undefined ? {} : { year }), ...(genres.length > 0 ? { genres } : {}) };
  });
  const head: ColumnsHead = {
    format: HEAD_FORMAT,
    version: HEAD_VERSION,
    name: columns.header.name,
    itemCount: columns.size,
    catalogFingerprint: columns.fingerprint,
    payloadSha256: columns.header.payloadSha256,
    columnsBytes: columnsFile,
    popular,
  };
  return new TextEncoder().encode(JSON.stringify(headSchema.parse(head)));
}

/** Parses and checks a head; a HeadError naming why it cannot be used. */
export function parseColumnsHead(bytes: Uint8Array, source = 'catalog head'): ColumnsHead {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new HeadError(`${source}: not JSON`);
  }
  const version = (value as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version > HEAD_VERSION)
    throw new HeadError(`${source}: version ${version} is newer than this app reads (${HEAD_VERSION})`);
  const parsed = headSchema.safeParse(value);
  if (!parsed.success) throw new HeadError(`${source}: ${describeIssues(parsed.error)}`);
  const ids = new Set(parsed.data.popular.map((item) => item.id));
  if (ids.size !== parsed.data.popular.length) throw new HeadError(`${source}: an id appears twice among its popular items`);
  return parsed.data;
}
