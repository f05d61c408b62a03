/** Opens and migrates the configured database: PostgreSQL by URL, else PGlite (in a directory, or in memory). */
import { migrate } from './migrations';
import { openPglite } from './pglite';
import { openPostgres } from './postgres';
import type { SqlDatabase } from './sql';

export async function openDatabase(options: { url?: string | undefined; dataDir?: string | undefined }): Promise<SqlDatabase> {
  if (options.url && !/^postgres(ql)?:\/\//.test(options.url)) throw new Error('--database takes a postgres:// or postgresql:// connection string');
  const db = options.url ? await openPostgres(options.url) : await openPglite(options.dataDir);
  try {
    await migrate(db);
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}
