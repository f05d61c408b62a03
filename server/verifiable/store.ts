/**
 * The verifiable mode's tables (one aggregator's own database: the leader and the helper each have one). They
 * hold each report's upload to THIS aggregator (its additive share and the proof's share, or the helper's seeds:
 * uniformly random on their own), the verification's outcome with this aggregator's output share, the
 * aggregate shares it released, and the refusal log. Never a device's vector: that needs both databases.
 * Versions from 1001, so that they never meet the masked mode's migrations (storage/migrations.ts).
 */
import { migrate } from '../storage/migrations';
import { openPglite } from '../storage/pglite';
import { openPostgres } from '../storage/postgres';
import { bytes, fromBase64, type SqlDatabase, type SqlRunner } from '../storage/sql';

export const VERIFIABLE_MIGRATIONS = [
  {
    version: 1001,
    name: 'verifiable mode: reports, collections, refusals',
    sql: [
      `CREATE TABLE vdaf_reports (
        task_id text NOT NULL,
        nonce bytea NOT NULL,
        upload bytea NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected', 'collected')),
        output_share bytea,
        reason text,
        received_at timestamptz NOT NULL,
        decided_at timestamptz,
        PRIMARY KEY (task_id, nonce)
      )`,
      `CREATE TABLE vdaf_collections (
        id serial PRIMARY KEY,
        task_id text NOT NULL,
        reports integer NOT NULL,
        aggregate_share bytea NOT NULL,
        created_at timestamptz NOT NULL
      )`,
      `CREATE TABLE vdaf_refusals (
        id serial PRIMARY KEY,
        at timestamptz NOT NULL,
        method text NOT NULL,
        path text NOT NULL,
        status integer NOT NULL,
        message text NOT NULL
      )`,
    ],
  },
  {
    version: 1002,
    name: 'verifiable mode: the models the leader published (the app task, server/verifiable/models.ts)',
    sql: [
      `CREATE TABLE vdaf_models (
        id serial PRIMARY KEY,
        task_id text NOT NULL,
        collection text,
        sha256 text NOT NULL,
        file bytea NOT NULL,
        contributors integer NOT NULL,
        published_at timestamptz NOT NULL
      )`,
    ],
  },
] as const;

/** A global model the leader started from (collection null) or published after collecting `collection`. */
export interface StoredModel {
  collection: string | null;
  sha256: string;
  file: Uint8Array;
  contributors: number;
  publishedAt: Date;
}

/**
 * Opens and migrates this aggregator's database. PGlite **in memory** (no URL, no data directory: `npm run aggregator`'s
 * default) keeps its reports' table UNLOGGED: its write-ahead log lives in the process's memory too (Emscripten's MEMFS),
 * and it grew by every byte stored (≈ 1.35 MB a report at the W, q, b length on Field64, never recycled in a
 * collection: PGlite's single-user backend checkpoints only by size or time) — for a crash recovery that cannot happen,
 * since the database dies with the process. A data directory or PostgreSQL keeps it logged (durable).
 */
export async function openVerifiableDatabase(options: { url?: string | undefined; dataDir?: string | undefined }): Promise<SqlDatabase> {
  if (options.url && !/^postgres(ql)?:\/\//.test(options.url)) throw new Error('--database takes a postgres:// or postgresql:// connection string');
  const db = options.url ? await openPostgres(options.url) : await openPglite(options.dataDir);
  try {
    await migrate(db, VERIFIABLE_MIGRATIONS);
    if (!options.url && !options.dataDir) await db.query('ALTER TABLE vdaf_reports SET UNLOGGED');
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}

/**
 * PGlite runs no autovacuum: an erased upload's bytes (decide, expirePending) stay in the reports' TOAST table until a
 * VACUUM marks them free, and every output share written after it would grow the table (in memory, for PGlite without
 * a data directory: stop 38's leader held 5.3 GB at 1,000 devices). The store vacuums the reports' table once this many
 * bytes of uploads were erased since the last time (PostgreSQL's autovacuum does it there: never on PostgreSQL).
 */
export const PGLITE_VACUUM_AFTER_BYTES = 64 * 2 ** 20;

/** Output shares read back per query when a collection was not summed in memory (≈ 1 MB each at the W, q, b length). */
const READ_BACK_BATCH = 16;

/**
 * A list of nonces as ONE text parameter (hex, comma-separated) and its SQL test: the same text for pg and PGlite, which
 * bind array parameters differently.
 */
const hexList = (nonces: readonly Uint8Array[]) => nonces.map(nonceHex).join(',');
const IN_NONCES = (param: string) => `nonce IN (SELECT decode(h, 'hex') FROM unnest(string_to_array(${param}, ',')) AS h)`;

/** A report's nonce as hex: the key of the services' sets of nonces (service.ts) and of the lists above. */
export function nonceHex(nonce: Uint8Array): string {
  return Buffer.from(nonce.buffer, nonce.byteOffset, nonce.byteLength).toString('hex');
}

export type ReportStatus = 'pending' | 'accepted' | 'rejected' | 'collected';

export class VerifiableStore {
  /** The size of the last upload stored (one task a service: every upload to this aggregator has it): what an erasure frees. */
  private uploadBytes = 0;
  private erasedSinceVacuum = 0;
  private vacuuming: Promise<void> | undefined;
  /** VACUUMs run so far (PGlite only; PGLITE_VACUUM_AFTER_BYTES). */
  vacuums = 0;

  constructor(
    readonly db: SqlDatabase,
    /** Erased upload bytes between two VACUUMs of the reports' table; Infinity: never (PostgreSQL, whose autovacuum does it). */
    private readonly vacuumAfterBytes = db.kind === 'pglite' ? PGLITE_VACUUM_AFTER_BYTES : Infinity,
  ) {}

  /** false: a report with this nonce exists already (a replay). */
  async insertReport(taskId: string, nonce: Uint8Array, upload: Uint8Array, at: Date): Promise<boolean> {
    const rows = await this.db.query<{ nonce: unknown }>(
      `INSERT INTO vdaf_reports (task_id, nonce, upload, status, received_at) VALUES ($1, $2, $3, 'pending', $4) ON CONFLICT DO NOTHING RETURNING nonce`,
      [taskId, nonce, upload, at],
    );
    this.uploadBytes = upload.length;
    return rows.length === 1;
  }

  /** `reports` uploads were erased: a VACUUM once enough bytes are (one at a time; its failure fails no decision). */
  private async erased(reports: number): Promise<void> {
    if (!Number.isFinite(this.vacuumAfterBytes) || reports === 0) return;
    this.erasedSinceVacuum += reports * this.uploadBytes;
    if (this.erasedSinceVacuum < this.vacuumAfterBytes || this.vacuuming) return;
    this.erasedSinceVacuum = 0;
    this.vacuuming = this.db
      .query('VACUUM vdaf_reports')
      .then(() => void this.vacuums++)
      .catch(() => undefined)
      .finally(() => (this.vacuuming = undefined));
    await this.vacuuming;
  }

  /** The upload (≈ 1 MB to the leader at the W, q, b length: read as base64, storage/sql.ts fromBase64) and the status. */
  async report(taskId: string, nonce: Uint8Array): Promise<{ upload: Uint8Array; status: ReportStatus } | undefined> {
    const [row] = await this.db.query<{ upload: unknown; status: ReportStatus }>(
      `SELECT encode(upload, 'base64') AS upload, status FROM vdaf_reports WHERE task_id = $1 AND nonce = $2`,
      [taskId, nonce],
    );
    return row && { upload: fromBase64(row.upload), status: row.status };
  }

  async pendingNonces(taskId: string, limit: number): Promise<Uint8Array[]> {
    const rows = await this.db.query<{ nonce: unknown }>(
      `SELECT nonce FROM vdaf_reports WHERE task_id = $1 AND status = 'pending' ORDER BY received_at, nonce LIMIT $2`,
      [taskId, limit],
    );
    return rows.map((r) => bytes(r.nonce));
  }

  async acceptedNonces(taskId: string): Promise<Uint8Array[]> {
    const rows = await this.db.query<{ nonce: unknown }>(`SELECT nonce FROM vdaf_reports WHERE task_id = $1 AND status = 'accepted' ORDER BY nonce`, [taskId]);
    return rows.map((r) => bytes(r.nonce));
  }

  /**
   * Records the decision; only a pending report changes (false: it was not pending here), or with `from` including
   * 'accepted', an accepted one not yet collected too (the helper, when the leader lost its answer). The upload is erased
   * (an empty bytea) either way, once decided it is not read again: a rejected report keeps nothing but its nonce
   * (replays stay refused), the decision and its reason; an accepted one its output share.
   */
  async decide(
    taskId: string,
    nonce: Uint8Array,
    outcome: { accepted: true; outputShare: Uint8Array } | { accepted: false; reason: string },
    at: Date,
    from: readonly ('pending' | 'accepted')[] = ['pending'],
  ): Promise<boolean> {
    const rows = await this.db.query<{ nonce: unknown }>(
      `UPDATE vdaf_reports SET status = $3, output_share = $4, reason = $5, decided_at = $6, upload = '\\x'::bytea
       WHERE task_id = $1 AND nonce = $2 AND (status = 'pending' OR (status = 'accepted' AND $7::boolean)) RETURNING nonce`,
      [
        taskId,
        nonce,
        outcome.accepted ? 'accepted' : 'rejected',
        outcome.accepted ? outcome.outputShare : null,
        outcome.accepted ? null : outcome.reason,
        at,
        from.includes('accepted'),
      ],
    );
    await this.erased(rows.length);
    return rows.length === 1;
  }

  /** Rejects (erasing the upload) every report still pending that arrived before `before`; how many. */
  async expirePending(taskId: string, before: Date, reason: string, at: Date): Promise<number> {
    const rows = await this.db.query<{ nonce: unknown }>(
      `UPDATE vdaf_reports SET status = 'rejected', reason = $3, decided_at = $4, upload = '\\x'::bytea
       WHERE task_id = $1 AND status = 'pending' AND received_at < $2 RETURNING nonce`,
      [taskId, before, reason, at],
    );
    await this.erased(rows.length);
    return rows.length;
  }

  /**
   * Marks these accepted reports collected and stores their aggregate share, in one transaction: one UPDATE for the
   * whole list (it locks the rows; any report not accepted here fails it, nothing changes). `aggregate` is this
   * aggregator's sum: with `summed` it already holds exactly these reports' output shares (added as they were
   * accepted, service.ts RunningSum) and only `finish()` is called; else each stored output share is read back
   * (base64, a batch at a time) and handed to `add`. `aggregate.finish()` is the aggregate share stored and returned.
   */
  async collect(
    taskId: string,
    nonces: readonly Uint8Array[],
    aggregate: { add: (share: Uint8Array) => void; finish: () => Uint8Array },
    at: Date,
    summed = false,
  ): Promise<Uint8Array> {
    return this.db.transaction(async (tx: SqlRunner) => {
      const marked = await tx.query<{ nonce: unknown }>(
        `UPDATE vdaf_reports SET status = 'collected' WHERE task_id = $1 AND status = 'accepted' AND ${IN_NONCES('$2')} RETURNING nonce`,
        [taskId, hexList(nonces)],
      );
      if (marked.length !== nonces.length) {
        const done = new Set(marked.map((r) => nonceHex(bytes(r.nonce))));
        const missing = nonces.map(nonceHex).find((hex) => !done.has(hex));
        if (missing === undefined) throw new Error('the list names a report twice');
        const [row] = await tx.query<{ status: ReportStatus }>('SELECT status FROM vdaf_reports WHERE task_id = $1 AND nonce = $2', [
          taskId,
          Buffer.from(missing, 'hex'),
        ]);
        throw new Error(`report ${missing} is ${row ? row.status : 'unknown'} here, not accepted`);
      }
      if (!summed)
        for (let i = 0; i < nonces.length; i += READ_BACK_BATCH) {
          const batch = nonces.slice(i, i + READ_BACK_BATCH);
          const rows = await tx.query<{ share: unknown }>(
            `SELECT encode(output_share, 'base64') AS share FROM vdaf_reports WHERE task_id = $1 AND ${IN_NONCES('$2')}`,
            [taskId, hexList(batch)],
          );
          if (rows.length !== batch.length) throw new Error(`${batch.length - rows.length} collected report(s) have no output share here`);
          for (const row of rows) aggregate.add(fromBase64(row.share));
        }
      const share = aggregate.finish();
      await tx.query('INSERT INTO vdaf_collections (task_id, reports, aggregate_share, created_at) VALUES ($1, $2, $3, $4)', [
        taskId,
        nonces.length,
        share,
        at,
      ]);
      return share;
    });
  }

  async counts(taskId: string): Promise<Record<ReportStatus, number>> {
    const rows = await this.db.query<{ status: ReportStatus; n: number | string }>(
      'SELECT status, count(*) AS n FROM vdaf_reports WHERE task_id = $1 GROUP BY status',
      [taskId],
    );
    const out: Record<ReportStatus, number> = { pending: 0, accepted: 0, rejected: 0, collected: 0 };
    for (const r of rows) out[r.status] = Number(r.n);
    return out;
  }

  async insertModel(taskId: string, model: StoredModel): Promise<void> {
    await this.db.query('INSERT INTO vdaf_models (task_id, collection, sha256, file, contributors, published_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      taskId,
      model.collection,
      model.sha256,
      model.file,
      model.contributors,
      model.publishedAt,
    ]);
  }

  /** The newest model of the task (the starting one until a collection publishes). */
  async latestModel(taskId: string): Promise<StoredModel | undefined> {
    const [row] = await this.db.query<{ collection: string | null; sha256: string; file: unknown; contributors: number; published_at: Date | string }>(
      'SELECT collection, sha256, file, contributors, published_at FROM vdaf_models WHERE task_id = $1 ORDER BY id DESC LIMIT 1',
      [taskId],
    );
    return (
      row && {
        collection: row.collection,
        sha256: row.sha256,
        file: bytes(row.file),
        contributors: Number(row.contributors),
        publishedAt: new Date(row.published_at),
      }
    );
  }

  async logRefusal(entry: { at: Date; method: string; path: string; status: number; message: string }): Promise<void> {
    await this.db.query('INSERT INTO vdaf_refusals (at, method, path, status, message) VALUES ($1, $2, $3, $4, $5)', [
      entry.at,
      entry.method,
      entry.path,
      entry.status,
      entry.message,
    ]);
  }
}
