/**
 * The aggregation service's records, as SQL written once for both databases (sql.ts). Every method
 * takes the runner to use, so the round logic can group writes into one transaction where a phase
 * changes (or a device's message and its replay guard are stored together).
 */
import { bytes, type SqlDatabase, type SqlRunner } from './sql';

export const PHASES = ['keys', 'shares', 'masked', 'consistency', 'unmask', 'done', 'abandoned'] as const;
export type Phase = (typeof PHASES)[number];
/** What a device sends after registering, each at most once: shares, its masked vector, its signature over the survivor lists, its unmask shares. */
export type AnswerPhase = 'shares' | 'masked' | 'signature' | 'unmask';

export interface RoundRecord<Noise, Params> {
  id: string;
  seq: number;
  phase: Phase;
  baseModelId: number;
  cohortTarget: number;
  minCohort: number;
  phaseSeconds: number;
  noise: Noise;
  rotationSeed: Uint8Array;
  deltaLength: number;
  vectorLength: number;
  /** Fixed when the keys phase closes (cohort size known). */
  params: Params | null;
  /** When the current phase closes at the latest; null while a keys phase waits for its first device. */
  deadline: Date | null;
  /** Each phase's deadline as it was set, ISO strings. */
  deadlines: Partial<Record<Phase, string>>;
  /** Devices whose masked vectors are in the sum (fixed when the masked phase closes). */
  survivors: number[] | null;
  /** Devices that sent shares but no masked vector: their pairwise masks are removed at decode. */
  dropped: number[] | null;
  /** Why the round was abandoned, or a summary of the decoded one. */
  outcome: string | null;
  publishedModelId: number | null;
  openedAt: Date;
  closedAt: Date | null;
}

export interface DeviceRecord {
  index: number;
  encryptionPublicKey: Uint8Array;
  maskPublicKey: Uint8Array;
  seedCommitment: Uint8Array;
  /** Ed25519 key for the consistency round (null only for devices of rounds closed before migration 2). */
  signingPublicKey: Uint8Array | null;
}

export interface ModelRecord {
  id: number;
  roundId: string | null;
  sha256: string;
  file: Uint8Array;
  contributors: number;
  publishedAt: Date;
}

export interface Refusal {
  at: Date;
  roundId: string | null;
  deviceIndex: number | null;
  method: string;
  path: string;
  status: number;
  message: string;
}

interface RoundRow {
  id: string;
  seq: number;
  phase: Phase;
  base_model_id: number;
  cohort_target: number;
  min_cohort: number;
  phase_seconds: number;
  noise: unknown;
  rotation_seed: Uint8Array;
  delta_length: number;
  vector_length: number;
  params: unknown;
  deadline: Date | null;
  deadlines: Partial<Record<Phase, string>>;
  survivors: number[] | null;
  dropped: number[] | null;
  outcome: string | null;
  published_model_id: number | null;
  opened_at: Date;
  closed_at: Date | null;
}

function toRound<Noise, Params>(row: RoundRow): RoundRecord<Noise, Params> {
  return {
    id: row.id,
    seq: row.seq,
    phase: row.phase,
    baseModelId: row.base_model_id,
    cohortTarget: row.cohort_target,
    minCohort: row.min_cohort,
    phaseSeconds: row.phase_seconds,
    noise: row.noise as Noise,
    rotationSeed: bytes(row.rotation_seed),
    deltaLength: row.delta_length,
    vectorLength: row.vector_length,
    params: (row.params ?? null) as Params | null,
    deadline: row.deadline ? new Date(row.deadline) : null,
    deadlines: row.deadlines,
    survivors: row.survivors,
    dropped: row.dropped,
    outcome: row.outcome,
    publishedModelId: row.published_model_id,
    openedAt: new Date(row.opened_at),
    closedAt: row.closed_at ? new Date(row.closed_at) : null,
  };
}

const ROUND_COLUMNS = `id, seq, phase, base_model_id, cohort_target, min_cohort, phase_seconds, noise, rotation_seed, delta_length,
  vector_length, params, deadline, deadlines, survivors, dropped, outcome, published_model_id, opened_at, closed_at`;

/** What may change on a round after it opens. */
export type RoundUpdate<Params> = Partial<Pick<RoundRecord<unknown, Params>, 'phase' | 'noise' | 'params' | 'deadline' | 'deadlines' | 'survivors' | 'dropped' | 'outcome' | 'publishedModelId' | 'closedAt'>>;

const UPDATE_COLUMNS: Record<keyof RoundUpdate<unknown>, { column: string; json?: boolean }> = {
  phase: { column: 'phase' },
  noise: { column: 'noise', json: true },
  params: { column: 'params', json: true },
  deadline: { column: 'deadline' },
  deadlines: { column: 'deadlines', json: true },
  survivors: { column: 'survivors', json: true },
  dropped: { column: 'dropped', json: true },
  outcome: { column: 'outcome' },
  publishedModelId: { column: 'published_model_id' },
  closedAt: { column: 'closed_at' },
};

interface DeviceRow {
  idx: number;
  encryption_public_key: Uint8Array;
  mask_public_key: Uint8Array;
  seed_commitment: Uint8Array;
  signing_public_key: Uint8Array | null;
}

function toDevice(row: DeviceRow): DeviceRecord {
  return {
    index: row.idx,
    encryptionPublicKey: bytes(row.encryption_public_key),
    maskPublicKey: bytes(row.mask_public_key),
    seedCommitment: bytes(row.seed_commitment),
    signingPublicKey: row.signing_public_key === null ? null : bytes(row.signing_public_key),
  };
}

/** True when `error` is PostgreSQL's unique_violation (the same in pg and PGlite). */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

export class Store {
  constructor(readonly db: SqlDatabase) {}

  async insertModel(tx: SqlRunner, model: Omit<ModelRecord, 'id'>): Promise<number> {
    const [row] = await tx.query<{ id: number }>(
      'INSERT INTO models (round_id, sha256, file, contributors, published_at) VALUES ($1, $2, $3, $4, $5) RETURNING id',
      [model.roundId, model.sha256, model.file, model.contributors, model.publishedAt],
    );
    return row!.id;
  }

  async model(tx: SqlRunner, id: number): Promise<ModelRecord | undefined> {
    const [row] = await tx.query<{ id: number; round_id: string | null; sha256: string; file: Uint8Array; contributors: number; published_at: Date }>(
      'SELECT id, round_id, sha256, file, contributors, published_at FROM models WHERE id = $1',
      [id],
    );
    return row && { id: row.id, roundId: row.round_id, sha256: row.sha256, file: bytes(row.file), contributors: row.contributors, publishedAt: new Date(row.published_at) };
  }

  /** The newest model: the last round's published one, or the base model (round_id null) before any round decoded. */
  async latestModel(tx: SqlRunner): Promise<ModelRecord | undefined> {
    const [row] = await tx.query<{ id: number }>('SELECT id FROM models ORDER BY id DESC LIMIT 1');
    return row && this.model(tx, row.id);
  }

  async insertRound<Noise, Params>(tx: SqlRunner, round: RoundRecord<Noise, Params>): Promise<void> {
    await tx.query(
      `INSERT INTO rounds (${ROUND_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
      [
        round.id, round.seq, round.phase, round.baseModelId, round.cohortTarget, round.minCohort, round.phaseSeconds,
        JSON.stringify(round.noise), round.rotationSeed, round.deltaLength, round.vectorLength,
        round.params === null ? null : JSON.stringify(round.params), round.deadline, JSON.stringify(round.deadlines),
        round.survivors === null ? null : JSON.stringify(round.survivors), round.dropped === null ? null : JSON.stringify(round.dropped),
        round.outcome, round.publishedModelId, round.openedAt, round.closedAt,
      ],
    );
  }

  async round<Noise, Params>(tx: SqlRunner, id: string): Promise<RoundRecord<Noise, Params> | undefined> {
    const [row] = await tx.query<RoundRow>(`SELECT ${ROUND_COLUMNS} FROM rounds WHERE id = $1`, [id]);
    return row && toRound<Noise, Params>(row);
  }

  /** The newest round (the open one, or the last closed one while none is open). */
  async currentRound<Noise, Params>(tx: SqlRunner): Promise<RoundRecord<Noise, Params> | undefined> {
    const [row] = await tx.query<RoundRow>(`SELECT ${ROUND_COLUMNS} FROM rounds ORDER BY seq DESC LIMIT 1`);
    return row && toRound<Noise, Params>(row);
  }

  async updateRound<Params>(tx: SqlRunner, id: string, update: RoundUpdate<Params>): Promise<void> {
    const sets: string[] = [];
    const values: (string | number | Date | null)[] = [];
    for (const [key, value] of Object.entries(update) as [keyof RoundUpdate<Params>, unknown][]) {
      const { column, json } = UPDATE_COLUMNS[key];
      values.push(json ? (value === null ? null : JSON.stringify(value)) : (value as string | number | Date | null));
      sets.push(`${column} = $${values.length}`);
    }
    if (sets.length === 0) return;
    values.push(id);
    await tx.query(`UPDATE rounds SET ${sets.join(', ')} WHERE id = $${values.length}`, values);
  }

  async insertDevice(tx: SqlRunner, roundId: string, device: DeviceRecord & { signingPublicKey: Uint8Array; tokenSha256: Uint8Array; registeredAt: Date }): Promise<void> {
    await tx.query(
      `INSERT INTO devices (round_id, idx, token_sha256, encryption_public_key, mask_public_key, seed_commitment, signing_public_key, registered_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [roundId, device.index, device.tokenSha256, device.encryptionPublicKey, device.maskPublicKey, device.seedCommitment, device.signingPublicKey, device.registeredAt],
    );
  }

  async deviceCount(tx: SqlRunner, roundId: string): Promise<number> {
    const [row] = await tx.query<{ n: number }>('SELECT count(*)::integer AS n FROM devices WHERE round_id = $1', [roundId]);
    return row!.n;
  }

  /** The device a bearer token belongs to in this round, if any. */
  async deviceByToken(tx: SqlRunner, roundId: string, tokenSha256: Uint8Array): Promise<number | undefined> {
    const [row] = await tx.query<{ idx: number }>('SELECT idx FROM devices WHERE round_id = $1 AND token_sha256 = $2', [roundId, tokenSha256]);
    return row?.idx;
  }

  /** The round a token belongs to (to tell "wrong round" from "unknown token"). */
  async tokenRound(tx: SqlRunner, tokenSha256: Uint8Array): Promise<string | undefined> {
    const [row] = await tx.query<{ round_id: string }>('SELECT round_id FROM devices WHERE token_sha256 = $1', [tokenSha256]);
    return row?.round_id;
  }

  async keyInUse(tx: SqlRunner, roundId: string, encryptionPublicKey: Uint8Array, maskPublicKey: Uint8Array): Promise<boolean> {
    const rows = await tx.query(
      'SELECT 1 FROM devices WHERE round_id = $1 AND (encryption_public_key = $2 OR mask_public_key = $3 OR encryption_public_key = $3 OR mask_public_key = $2) LIMIT 1',
      [roundId, encryptionPublicKey, maskPublicKey],
    );
    return rows.length > 0;
  }

  /** Every device of a round with its token hash (the service's in-memory view at start and after a phase change). */
  async deviceTokens(tx: SqlRunner, roundId: string): Promise<(DeviceRecord & { tokenSha256: Uint8Array })[]> {
    const rows = await tx.query<DeviceRow & { token_sha256: Uint8Array }>(
      'SELECT idx, token_sha256, encryption_public_key, mask_public_key, seed_commitment, signing_public_key FROM devices WHERE round_id = $1 ORDER BY idx',
      [roundId],
    );
    return rows.map((row) => ({ ...toDevice(row), tokenSha256: bytes(row.token_sha256) }));
  }

  async devices(tx: SqlRunner, roundId: string): Promise<DeviceRecord[]> {
    const rows = await tx.query<DeviceRow>(
      'SELECT idx, encryption_public_key, mask_public_key, seed_commitment, signing_public_key FROM devices WHERE round_id = $1 ORDER BY idx',
      [roundId],
    );
    return rows.map(toDevice);
  }

  async insertSignature(tx: SqlRunner, roundId: string, index: number, signature: Uint8Array): Promise<void> {
    await tx.query('INSERT INTO survivor_signatures (round_id, idx, signature) VALUES ($1, $2, $3)', [roundId, index, signature]);
  }

  /** The survivors' signatures over the survivor lists, by device index. */
  async signatures(tx: SqlRunner, roundId: string): Promise<{ from: number; signature: Uint8Array }[]> {
    const rows = await tx.query<{ idx: number; signature: Uint8Array }>('SELECT idx, signature FROM survivor_signatures WHERE round_id = $1 ORDER BY idx', [roundId]);
    return rows.map((row) => ({ from: row.idx, signature: bytes(row.signature) }));
  }

  async insertSubmission(tx: SqlRunner, roundId: string, index: number, phase: AnswerPhase, at: Date): Promise<void> {
    await tx.query('INSERT INTO submissions (round_id, idx, phase, received_at) VALUES ($1, $2, $3, $4)', [roundId, index, phase, at]);
  }

  async hasAnswered(tx: SqlRunner, roundId: string, index: number, phase: AnswerPhase): Promise<boolean> {
    const rows = await tx.query('SELECT 1 FROM submissions WHERE round_id = $1 AND idx = $2 AND phase = $3', [roundId, index, phase]);
    return rows.length > 0;
  }

  /** Devices that answered `phase`, ascending. */
  async answered(tx: SqlRunner, roundId: string, phase: AnswerPhase): Promise<number[]> {
    const rows = await tx.query<{ idx: number }>('SELECT idx FROM submissions WHERE round_id = $1 AND phase = $2 ORDER BY idx', [roundId, phase]);
    return rows.map((row) => row.idx);
  }

  async insertShares(tx: SqlRunner, roundId: string, from: number, shares: readonly { to: number; ciphertext: Uint8Array }[]): Promise<void> {
    // Multi-row inserts of at most 200 rows (800 parameters): one round trip per device for any neighbour degree used here.
    for (let start = 0; start < shares.length; start += 200) {
      const chunk = shares.slice(start, start + 200);
      const values: (string | number | Uint8Array)[] = [roundId, from];
      const tuples = chunk.map(({ to, ciphertext }) => {
        values.push(to, ciphertext);
        return `($1, $2, $${values.length - 1}, $${values.length})`;
      });
      await tx.query(`INSERT INTO shares (round_id, from_idx, to_idx, ciphertext) VALUES ${tuples.join(', ')}`, values);
    }
  }

  /** Shares addressed to `to`, from the devices whose shares were accepted. */
  async sharesTo(tx: SqlRunner, roundId: string, to: number): Promise<{ from: number; to: number; ciphertext: Uint8Array }[]> {
    const rows = await tx.query<{ from_idx: number; ciphertext: Uint8Array }>(
      'SELECT from_idx, ciphertext FROM shares WHERE round_id = $1 AND to_idx = $2 ORDER BY from_idx',
      [roundId, to],
    );
    return rows.map((row) => ({ from: row.from_idx, to, ciphertext: bytes(row.ciphertext) }));
  }

  async insertMasked(tx: SqlRunner, roundId: string, index: number, vector: Uint8Array): Promise<void> {
    await tx.query('INSERT INTO masked_vectors (round_id, idx, vector) VALUES ($1, $2, $3)', [roundId, index, vector]);
  }

  /** The masked vectors of `indices`, `batch` at a time (so a decode holds a few vectors in memory, not the cohort's). */
  async *maskedVectors(tx: SqlRunner, roundId: string, indices: readonly number[], batch = 16): AsyncGenerator<{ index: number; vector: Uint8Array }> {
    for (let start = 0; start < indices.length; start += batch) {
      const chunk = indices.slice(start, start + batch);
      const rows = await tx.query<{ idx: number; vector: Uint8Array }>(
        'SELECT idx, vector FROM masked_vectors WHERE round_id = $1 AND idx = ANY($2::integer[]) ORDER BY idx',
        [roundId, `{${chunk.join(',')}}`],
      );
      for (const row of rows) yield { index: row.idx, vector: bytes(row.vector) };
    }
  }

  async insertUnmask(tx: SqlRunner, roundId: string, from: number, shares: readonly { of: number; kind: 'seed' | 'key'; share: Uint8Array }[]): Promise<void> {
    for (let start = 0; start < shares.length; start += 150) {
      const chunk = shares.slice(start, start + 150);
      const values: (string | number | Uint8Array)[] = [roundId, from];
      const tuples = chunk.map(({ of, kind, share }) => {
        values.push(of, kind, share);
        return `($1, $2, $${values.length - 2}, $${values.length - 1}, $${values.length})`;
      });
      await tx.query(`INSERT INTO unmask_shares (round_id, from_idx, of_idx, kind, share) VALUES ${tuples.join(', ')}`, values);
    }
  }

  async unmaskShares(tx: SqlRunner, roundId: string): Promise<{ from: number; of: number; kind: 'seed' | 'key'; share: Uint8Array }[]> {
    const rows = await tx.query<{ from_idx: number; of_idx: number; kind: 'seed' | 'key'; share: Uint8Array }>(
      'SELECT from_idx, of_idx, kind, share FROM unmask_shares WHERE round_id = $1 ORDER BY from_idx, kind, of_idx',
      [roundId],
    );
    return rows.map((row) => ({ from: row.from_idx, of: row.of_idx, kind: row.kind, share: bytes(row.share) }));
  }

  /**
   * Deletes a closed round's protocol messages (shares, masked vectors, signatures, unmask shares): nothing of
   * them is needed once the sum is decoded or the round abandoned, and nothing kept is safer.
   */
  async purgeMessages(tx: SqlRunner, roundId: string): Promise<void> {
    for (const table of ['shares', 'masked_vectors', 'survivor_signatures', 'unmask_shares']) await tx.query(`DELETE FROM ${table} WHERE round_id = $1`, [roundId]);
  }

  async insertRefusal(tx: SqlRunner, refusal: Refusal): Promise<void> {
    await tx.query(
      'INSERT INTO refusals (at, round_id, device_idx, method, path, status, message) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [refusal.at, refusal.roundId, refusal.deviceIndex, refusal.method, refusal.path, refusal.status, refusal.message],
    );
  }

  async refusals(tx: SqlRunner): Promise<Refusal[]> {
    const rows = await tx.query<{ at: Date; round_id: string | null; device_idx: number | null; method: string; path: string; status: number; message: string }>(
      'SELECT at, round_id, device_idx, method, path, status, message FROM refusals ORDER BY id',
    );
    return rows.map((row) => ({ at: new Date(row.at), roundId: row.round_id, deviceIndex: row.device_idx, method: row.method, path: row.path, status: row.status, message: row.message }));
  }
}
