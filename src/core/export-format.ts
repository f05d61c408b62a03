/**
 * "Export my data": one JSON file with the whole history, the settings and the personal model.
 * Versioned and validated with zod; a file from a newer version is refused, a malformed one
 * changes nothing (validation happens before any write).
 *
 *   { "format": "private-recs-export", "version": 1, "exportedAt": "2026-11-24T10:00:00.000Z",
 *     "events":   [ { "kind": "like", "itemId": "42", "at": 1795514528169 } ],   // oldest first
 *                 // kinds: view, click, like, dislike, and genre (a genre chosen in "What do you like to
 *                 // read?": itemId is the genre's name; one the catalog lacks is kept, and ignored)
 *     "settings": { "<name>": <string | number | boolean | null, or a list of them> },
 *     "weights":  [ { "name": "…", "version": 1, "shape": [n, d], "values": [ … ] } ] }
 */
import { z } from './schema';
import { EVENT_KINDS, type FeedbackEvent } from './events';
import { firstOutOfRangeWeight, isImportableEventTime, MAX_ABS_WEIGHT } from './limits';

export const EXPORT_FORMAT = 'private-recs-export';
export const EXPORT_VERSION = 1;
/** Larger files are refused before parsing: a real history is far smaller, and parsing is not free. */
export const MAX_EXPORT_BYTES = 50 * 1024 * 1024;

const eventSchema = z.object({
  kind: z.enum(EVENT_KINDS),
  itemId: z.string().check(z.minLength(1), z.maxLength(200)),
  // A date the History panel can show: 1e20 is a finite number, and `new Date(1e20)` an Invalid Date.
  at: z.number().check(z.refine((at) => isImportableEventTime(at), { error: 'the time must lie between 2000-01-01 and tomorrow' })),
});

const weightSchema = z
  .object({
    name: z.string().check(z.minLength(1), z.maxLength(200)),
    version: z.int().check(z.nonnegative()),
    shape: z.array(z.int().check(z.nonnegative())).check(z.maxLength(8)),
    values: z.array(z.number()),
  })
  .check(
    z.refine((w) => w.values.length === w.shape.reduce((a, b) => a * b, 1), { error: 'values do not match shape' }),
    // Bounded so that the model's scores stay finite (see core/limits.ts).
    z.refine((w) => firstOutOfRangeWeight(w.values) < 0, { error: `a value lies beyond ±${MAX_ABS_WEIGHT}` }),
  );

/**
 * Settings are flat, named scalars (or lists of them). Arbitrary nested JSON would let a hand-made
 * file smuggle keys such as "__proto__" through validation; nothing the app stores needs nesting.
 */
const settingNameSchema = z.string().check(z.regex(/^[A-Za-z][\w.-]{0,99}$/));
const settingScalarSchema = z.union([z.string().check(z.maxLength(10_000)), z.number(), z.boolean(), z.null()]);
export const settingValueSchema = z.union([settingScalarSchema, z.array(settingScalarSchema).check(z.maxLength(1000))]);

const exportSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  version: z.literal(EXPORT_VERSION),
  exportedAt: z.string().check(z.maxLength(40)),
  events: z.array(eventSchema),
  settings: z.record(settingNameSchema, settingValueSchema),
  weights: z.array(weightSchema),
});

export type ExportedWeight = z.infer<typeof weightSchema>;
export type UserDataExport = z.infer<typeof exportSchema>;

export class ImportError extends Error {
  override name = 'ImportError';
}

export function serializeExport(data: Omit<UserDataExport, 'format' | 'version'>): string {
  return JSON.stringify({ format: EXPORT_FORMAT, version: EXPORT_VERSION, ...data });
}

/** Parses and validates an export file's text; throws ImportError with a message for people. */
export function parseExport(text: string): UserDataExport {
  if (text.length > MAX_EXPORT_BYTES) {
    throw new ImportError(`The file is ${(text.length / 1e6).toFixed(0)} MB; an export is never larger than 50 MB.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ImportError('The file is not a complete JSON document (truncated or not an export).');
  }
  const header = z.object({ format: z.literal(EXPORT_FORMAT), version: z.number() }).safeParse(value);
  if (!header.success) throw new ImportError('This is not a Private Recs data export.');
  if (header.data.version > EXPORT_VERSION) {
    throw new ImportError(
      `The file was exported by a newer version of the app (format ${header.data.version}); this one reads format ${EXPORT_VERSION}. Update the app first.`,
    );
  }
  const parsed = exportSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ImportError(`The file is damaged or was edited: ${issue.path.join('.')}: ${issue.message}.`);
  }
  return parsed.data;
}

/** Identity of an event for merging: the same thing done to the same item at the same moment. */
export function eventKey(event: FeedbackEvent): string {
  return `${event.kind}\u0000${event.itemId}\u0000${event.at}`;
}
