/** The embedded default: PGlite (PostgreSQL compiled to WASM), in memory or in a data directory. */
import { PGlite } from '@electric-sql/pglite';
import type { SqlDatabase, SqlRunner, SqlValue } from './sql';

/**
 * bytea in and out as hex text through Node's native codec: PGlite's own JS conversion was the service's
 * largest cost in the 1,000-device benchmark (a masked vector is 4 bytes per entry).
 */
const BYTEA = 17;
const byteaCodec = {
  serializers: { [BYTEA]: (value: Uint8Array) => `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}` },
  parsers: { [BYTEA]: (text: string) => new Uint8Array(Buffer.from(text.slice(2), 'hex')) },
};

export async function openPglite(dataDir?: string): Promise<SqlDatabase> {
  const db = await PGlite.create(dataDir ? { dataDir, ...byteaCodec } : byteaCodec);
  const runner = (q: Pick<PGlite, 'query'>): SqlRunner => ({
    async query<Row extends object>(text: string, params: readonly SqlValue[] = []) {
      return (await q.query<Row>(text, [...params])).rows;
    },
  });
  return {
    kind: 'pglite',
    ...runner(db),
    transaction: (work) => db.transaction((tx) => work(runner(tx))),
    close: () => db.close(),
  };
}
