/**
 * The one SQL seam of the aggregation service: both databases (PGlite, embedded, and PostgreSQL by
 * connection string) implement this small interface, and everything above it (migrations.ts,
 * store.ts) is the same SQL text for both. Parameters are `$1`-style; bytea travels as Uint8Array.
 */

export type SqlValue = string | number | boolean | null | Uint8Array | Date;

export interface SqlRunner {
  /** Runs one statement and returns its rows. */
  query<Row extends object>(text: string, params?: readonly SqlValue[]): Promise<Row[]>;
}

export interface SqlDatabase extends SqlRunner {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `work` in one transaction (BEGIN … COMMIT; ROLLBACK when it throws). */
  transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * A large bytea read as `encode(column, 'base64')`: both drivers receive results as text, and hex (their default for
 * bytea) is twice the bytes on the wire and a slower decode than base64 (PostgreSQL's lines of 76 characters: Node's
 * decoder skips the newlines). pg's binary result mode is no way round it: pg-protocol 1.x decodes every field as UTF-8.
 */
export function fromBase64(value: unknown): Uint8Array {
  if (typeof value !== 'string') throw new TypeError(`expected base64 text, got ${typeof value}`);
  const buffer = Buffer.from(value, 'base64');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** bytea comes back as a Buffer from pg and a Uint8Array from PGlite: one plain Uint8Array for callers. */
export function bytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`expected bytea, got ${typeof value}`);
}
