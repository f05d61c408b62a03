/** PostgreSQL by connection string (production), through `pg`'s pool. */
import pg from 'pg';
import type { SqlDatabase, SqlRunner, SqlValue } from './sql';

/**
 * Run once on each new connection, before its first query: the backend allocates and frees one 24 MiB value. On a
 * server with glibc (PostgreSQL's usual Linux build) that free raises the backend's malloc thresholds for the session
 * (glibc's dynamic mmap threshold: mmap_threshold = 24 MiB, trim_threshold = 48 MiB), so that the megabyte-sized
 * buffers of the service's bytea (a report's upload, its output share, the base64 text read back) come from the heap
 * instead of an mmap/munmap (and ≈ 1,000 page faults) each time. Measured (docs/secure-aggregation.md "Stop 40: the
 * 1,000-device round repeated (SVC)"): reading a 0.5 MB upload back as base64 took the backend 9 ms of CPU without it,
 * 1.8 ms with it, on every row, not only the first; an insert 1.6 → 1.4 ms. It is what stop 38's GLIBC_TUNABLES did for
 * the whole server, done by the client for its own sessions. The cost: one 24 MiB allocation per connection (≈ 10 ms),
 * and a backend may keep up to 48 MiB of freed heap instead of returning it (4 connections a service). Elsewhere (another
 * C library) it is one query that does nothing.
 */
export const WARM_UP_SQL = `SELECT length(repeat('x', ${24 * 2 ** 20}))`;

export async function openPostgres(connectionString: string): Promise<SqlDatabase> {
  const pool = new pg.Pool({ connectionString, max: 4 });
  // queued on the new client before any other query; a failure is ignored (the session stays as it was)
  pool.on('connect', (client) => void client.query(WARM_UP_SQL).catch(() => undefined));
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
