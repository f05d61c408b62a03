/** The embedded default: PGlite (PostgreSQL compiled to WASM), in memory or in a data directory. */
import { PGlite } from '@electric-sql/pglite';
import type { SqlDatabase, SqlRunner, SqlValue } from './sql';

export async function openPglite(dataDir?: string): Promise<SqlDatabase> {
  const db = await PGlite.create(dataDir ? { dataDir } : {});
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
