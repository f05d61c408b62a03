/**
 * The PostgreSQL pool's warm-up (postgres.ts WARM_UP_SQL): a session that ran it reads megabyte-sized bytea back without
 * the page faults of an mmap per buffer. Runs when AGGREGATOR_TEST_DATABASE_URL is set and the server is a local process
 * this test can read in /proc (CI's throwaway cluster); skipped otherwise.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openPostgres } from './postgres';
import type { SqlRunner } from './sql';

const PG_URL = process.env.AGGREGATOR_TEST_DATABASE_URL;
const ROWS = 12;

/** The backend's minor page faults (/proc/PID/stat field 10), or undefined when it is not a local postgres process. */
function minorFaults(pid: number): number | undefined {
  if (!existsSync(`/proc/${pid}/stat`) || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('postgres')) return undefined;
  return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[7]);
}

/** Stores ROWS uploads of 0.5 MB in a temporary table, then reads them back as the store does: the faults of the reads. */
async function readBackFaults(q: SqlRunner): Promise<number | undefined> {
  const [{ pid }] = (await q.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')) as [{ pid: number }];
  await q.query('CREATE TEMP TABLE warm_probe (id integer PRIMARY KEY, b bytea)');
  for (let i = 0; i < ROWS; i++) await q.query('INSERT INTO warm_probe VALUES ($1, $2)', [i, new Uint8Array(randomBytes(499_584))]);
  const before = minorFaults(pid);
  for (let i = 0; i < ROWS; i++) await q.query(`SELECT encode(b, 'base64') AS b FROM warm_probe WHERE id = $1`, [i]);
  const after = minorFaults(pid);
  await q.query('DROP TABLE warm_probe');
  return before === undefined || after === undefined ? undefined : after - before;
}

describe.skipIf(!PG_URL)('the PostgreSQL pool', () => {
  it('warms each new session up: reading 0.5 MB values back takes a fraction of a cold session’s page faults', async (ctx) => {
    const db = await openPostgres(PG_URL!);
    const cold = new pg.Client({ connectionString: PG_URL });
    await cold.connect();
    try {
      const warmFaults = await db.transaction(readBackFaults);
      const coldFaults = await readBackFaults({ query: async (text, params = []) => (await cold.query(text, [...params])).rows });
      if (warmFaults === undefined || coldFaults === undefined) return ctx.skip();
      // cold: ≈ 250 faults a read (an mmap'd buffer each time); warm: ≈ none once the heap has grown
      expect(coldFaults).toBeGreaterThan(ROWS * 50);
      expect(warmFaults).toBeLessThan(coldFaults / 4);
    } finally {
      await cold.end();
      await db.close();
    }
  }, 60_000);
});
