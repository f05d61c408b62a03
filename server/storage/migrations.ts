/**
 * The schema, in one place for both databases: an ordered list of migrations, each applied once in
 * its own transaction and recorded in schema_migrations. Append new ones; never edit an applied one.
 *
 * What the tables may hold is the service's privacy contract: public keys, encrypted shares (only
 * their recipients can open them), masked vectors (uniformly random on their own), Shamir shares
 * revealed in the unmask phase, the survivors' signatures over the survivor lists (consistency round), published
 * global models, and the log of refused requests. There is
 * no column for a plaintext update (server/test asserts this on the live schema).
 */
import type { SqlDatabase } from './sql';

export const MIGRATIONS: readonly { version: number; name: string; sql: readonly string[] }[] = [
  {
    version: 1,
    name: 'rounds, devices, protocol messages, models, refusals',
    sql: [
      `CREATE TABLE models (
        id serial PRIMARY KEY,
        round_id text,
        sha256 text NOT NULL,
        file bytea NOT NULL,
        contributors integer NOT NULL,
        published_at timestamptz NOT NULL
      )`,
      `CREATE TABLE rounds (
        id text PRIMARY KEY,
        seq integer NOT NULL UNIQUE,
        phase text NOT NULL CHECK (phase IN ('keys', 'shares', 'masked', 'unmask', 'done', 'abandoned')),
        base_model_id integer NOT NULL REFERENCES models(id),
        cohort_target integer NOT NULL,
        min_cohort integer NOT NULL,
        phase_seconds double precision NOT NULL,
        noise jsonb NOT NULL,
        rotation_seed bytea NOT NULL,
        delta_length integer NOT NULL,
        vector_length integer NOT NULL,
        params jsonb,
        deadline timestamptz,
        deadlines jsonb NOT NULL,
        survivors jsonb,
        dropped jsonb,
        outcome text,
        published_model_id integer REFERENCES models(id),
        opened_at timestamptz NOT NULL,
        closed_at timestamptz
      )`,
      `CREATE TABLE devices (
        round_id text NOT NULL REFERENCES rounds(id),
        idx integer NOT NULL,
        token_sha256 bytea NOT NULL UNIQUE,
        encryption_public_key bytea NOT NULL,
        mask_public_key bytea NOT NULL,
        seed_commitment bytea NOT NULL,
        registered_at timestamptz NOT NULL,
        PRIMARY KEY (round_id, idx),
        UNIQUE (round_id, encryption_public_key),
        UNIQUE (round_id, mask_public_key)
      )`,
      // One row per device and phase it answered: the replay guard and the phase's answer count.
      `CREATE TABLE submissions (
        round_id text NOT NULL,
        idx integer NOT NULL,
        phase text NOT NULL CHECK (phase IN ('shares', 'masked', 'unmask')),
        received_at timestamptz NOT NULL,
        PRIMARY KEY (round_id, idx, phase),
        FOREIGN KEY (round_id, idx) REFERENCES devices(round_id, idx)
      )`,
      `CREATE TABLE shares (
        round_id text NOT NULL,
        from_idx integer NOT NULL,
        to_idx integer NOT NULL,
        ciphertext bytea NOT NULL,
        PRIMARY KEY (round_id, from_idx, to_idx),
        FOREIGN KEY (round_id, from_idx) REFERENCES devices(round_id, idx),
        FOREIGN KEY (round_id, to_idx) REFERENCES devices(round_id, idx)
      )`,
      `CREATE TABLE masked_vectors (
        round_id text NOT NULL,
        idx integer NOT NULL,
        vector bytea NOT NULL,
        PRIMARY KEY (round_id, idx),
        FOREIGN KEY (round_id, idx) REFERENCES devices(round_id, idx)
      )`,
      `CREATE TABLE unmask_shares (
        round_id text NOT NULL,
        from_idx integer NOT NULL,
        of_idx integer NOT NULL,
        kind text NOT NULL CHECK (kind IN ('seed', 'key')),
        share bytea NOT NULL,
        PRIMARY KEY (round_id, from_idx, of_idx, kind),
        FOREIGN KEY (round_id, from_idx) REFERENCES devices(round_id, idx)
      )`,
      `CREATE TABLE refusals (
        id serial PRIMARY KEY,
        at timestamptz NOT NULL,
        round_id text,
        device_idx integer,
        method text NOT NULL,
        path text NOT NULL,
        status integer NOT NULL,
        message text NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    name: 'the consistency round: signing keys, phase consistency, survivor signatures',
    sql: [
      // A round in flight was opened by devices without signing keys: it could never pass the new phase, so it is
      // abandoned here (its messages purged) and the service opens the next round when it starts.
      `UPDATE rounds SET phase = 'abandoned', outcome = 'abandoned when the service was upgraded to the consistency round (devices now sign the survivor lists)',
        deadline = NULL, closed_at = now() WHERE phase NOT IN ('done', 'abandoned')`,
      `DELETE FROM shares`,
      `DELETE FROM masked_vectors`,
      `DELETE FROM unmask_shares`,
      // Null only for devices of rounds closed before this migration; the service requires it at registration.
      `ALTER TABLE devices ADD COLUMN signing_public_key bytea`,
      `ALTER TABLE devices ADD CONSTRAINT devices_round_signing_key UNIQUE (round_id, signing_public_key)`,
      `ALTER TABLE rounds DROP CONSTRAINT rounds_phase_check`,
      `ALTER TABLE rounds ADD CONSTRAINT rounds_phase_check CHECK (phase IN ('keys', 'shares', 'masked', 'consistency', 'unmask', 'done', 'abandoned'))`,
      `ALTER TABLE submissions DROP CONSTRAINT submissions_phase_check`,
      `ALTER TABLE submissions ADD CONSTRAINT submissions_phase_check CHECK (phase IN ('shares', 'masked', 'signature', 'unmask'))`,
      `CREATE TABLE survivor_signatures (
        round_id text NOT NULL,
        idx integer NOT NULL,
        signature bytea NOT NULL,
        PRIMARY KEY (round_id, idx),
        FOREIGN KEY (round_id, idx) REFERENCES devices(round_id, idx)
      )`,
    ],
  },
];

/** Applies the migrations the database lacks, oldest first; returns the versions applied now. */
export async function migrate(db: SqlDatabase, migrations: readonly (typeof MIGRATIONS)[number][] = MIGRATIONS): Promise<number[]> {
  await db.query(`CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const applied: number[] = [];
  for (const migration of migrations) {
    const done = await db.transaction(async (tx) => {
      // Two services starting on one PostgreSQL database: the second waits, then sees the row.
      await tx.query('SELECT pg_advisory_xact_lock(20260001)');
      const rows = await tx.query<{ version: number }>('SELECT version FROM schema_migrations WHERE version = $1', [migration.version]);
      if (rows.length > 0) return false;
      for (const statement of migration.sql) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      return true;
    });
    if (done) applied.push(migration.version);
  }
  return applied;
}
