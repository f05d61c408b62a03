/** PostgreSQL by connection string (production), through `pg`'s pool. */
import pg from 'pg';
import type { SqlDatabase, SqlRunner, SqlValue } from './sql';

export async function openPostgres(connectionString: string): Promise<SqlDatabase> {
  const pool = new pg.Pool({ connectionString, max: 4 });
  // Fail at start-up, with the server's own message, rather than at the first device's request.
  const probe = await pool.connect();
  probe.release();
  const runner = (q: pg.Pool | pg.PoolClient): SqlRunner => ({
    async query<Row extends object>(text: string, params: readonly SqlValue[] = []) {
      return (await q.query<Row & pg.QueryResultRow>(text, [...params])).rows;
    },
  });
  return {
    kind: 'postgres',
    ...runner(pool),
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(runner(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
