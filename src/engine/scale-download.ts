/**
 * One publisher file downloaded into a `.part` file of OPFS, resumable (issue 21): the vector shards
 * (engine/shard-fetch.ts) and a columns catalog's row shards (engine/catalog-rows-fetch.ts) both come
 * through here.
 *  - Where a ledger says an earlier visit stopped (`PartLedger.partial`), the bytes kept are continued with
 *    a Range request (If-Range: the validator of the first response); a server that answers 200 instead,
 *    or another range, or a changed file sends it again from its first byte.
 *  - The ledger follows the bytes (every 1 MB and when a request ends), so a cut connection, a closed tab
 *    or a reload resumes from about there.
 *  - A request that receives nothing for `stallMs` (the response's headers, or the next bytes of its body)
 *    is aborted and asked again from the bytes kept; after STALL_TRIES such requests in a row with no byte
 *    between them the download stops with a StallError (the next visit resumes it). Without this, a
 *    connection that goes silent (a phone changing networks, a proxy that drops it without a reset) left
 *    the download waiting for ever: no error, and the status line frozen on the last byte received.
 */
import type { PartialShard, SyncDirectory, SyncFile } from '../storage/opfs-vectors';
import { errorMessage } from './util';

/** No byte for this long: the request is dropped and asked again from the bytes kept. */
export const STALL_MS = 30_000;
/** Requests in a row that stalled with no byte between them before the download gives up for this visit. */
export const STALL_TRIES = 3;

/** Where a download in progress is recorded (the vector store's ledger, the row files' own). */
export interface PartLedger {
  readonly partial: PartialShard | undefined;
  setPartial(partial: PartialShard | undefined): void;
}

export class HttpError extends Error {
  override name = 'HttpError';
}

/**
 * A storage call of the browser between two shards (OPFS opening or removing a file, a shard's check and
 * store) that has not settled after this long: the run stops with a StallError naming it, instead of a
 * status line frozen for ever (docs/scale.md, "The stall seen again").
 */
export const STORAGE_CALL_MS = 60_000;

/** `promise`, or a StallError naming `what` once `ms` pass without it settling. */
export async function withinTime<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StallError(`${what} did not finish in ${Math.round(ms / 1000)} s; the download goes on at the next visit`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * How long the first open of a `.part` file may take before it is asked again: an open takes milliseconds;
 * in Chromium the one that never answers cost the whole STORAGE_CALL_MS (two 100k runs of stop 35 took
 * 70 s instead of 9 s to download, then went on with the second open).
 */
export const PART_OPEN_MS = 10_000;

/**
 * A `.part` file opened for writing, asked a second time when the first open does not settle in `ms`:
 * Chromium's `createSyncAccessHandle` (or the `getFileHandle` before it) was seen to never answer once
 * in about five runs of e2e/scale-columns.spec.ts, between two shards (docs/scale.md, "The stall named").
 * A first open that settles late is closed at once (sync handles are exclusive).
 */
async function openPart(directory: SyncDirectory, name: string, ms: number): Promise<SyncFile | undefined> {
  const first = directory.open(name, true);
  try {
    return await withinTime(first, Math.min(ms, PART_OPEN_MS), `Opening ${name}`);
  } catch (error) {
    if (!(error instanceof StallError)) throw error;
    console.warn(errorMessage(error), '(asked again)');
    void first.then(
      (file) => file?.close(),
      () => undefined,
    );
    return await withinTime(directory.open(name, true), ms, `Opening ${name} again`);
  }
}

/** The server sent nothing for too long, STALL_TRIES times: the bytes kept stay for the next visit. */
export class StallError extends Error {
  override name = 'StallError';
}

export interface PartDownload {
  url: string;
  /** The shard's number (the ledger's record says which shard its bytes are of). */
  shard: number;
  directory: SyncDirectory;
  /** The `.part` file's name in `directory`. */
  partName: string;
  ledger: PartLedger;
  fetch: typeof fetch;
  signal?: AbortSignal;
  /** Default STALL_MS. */
  stallMs?: number;
  /** Default STORAGE_CALL_MS. */
  storageMs?: number;
  /**
   * Checks the file's first bytes as they arrive: true once checked, false while too few have arrived;
   * throws to refuse the file (the download stops there).
   */
  checkHead?: (head: Uint8Array) => boolean;
  /**
   * The file's full size, once a response tells it (Content-Length, Content-Range), before its body is
   * read; a rejection (a quota refusal) stops the download there.
   */
  onSize?: (bytes: number) => Promise<void> | void;
  /** n bytes more (or fewer: kept bytes dropped) of the file; `network`: received now, not kept from before. */
  onBytes: (n: number, network: boolean) => void;
}

const HEAD_BYTES = 64 * 1024;

/** The file's bytes, whole (checked by the caller), from the bytes kept before and the network. */
export async function downloadPart(d: PartDownload): Promise<Uint8Array> {
  const stallMs = d.stallMs ?? STALL_MS;
  const part = (await openPart(d.directory, d.partName, d.storageMs ?? STORAGE_CALL_MS))!;
  try {
    const previous = d.ledger.partial?.shard === d.shard ? d.ledger.partial : undefined;
    let have = previous && part.getSize() >= previous.bytes ? previous.bytes : 0;
    let validator = previous?.validator;
    part.truncate(have);
    const save = () => {
      part.flush();
      d.ledger.setPartial({ shard: d.shard, bytes: have, ...(validator ? { validator } : {}) });
    };
    let headChecked = !d.checkHead;
    const checkHead = () => {
      if (headChecked) return;
      const head = new Uint8Array(Math.min(part.getSize(), HEAD_BYTES));
      part.read(head, { at: 0 });
      headChecked = d.checkHead!(head);
    };
    if (have > 0) checkHead();

    /** One request from `have` to the end; `alive` re-arms the stall timer. */
    const receive = async (signal: AbortSignal, alive: () => void) => {
      const request = (from: number) => {
        const headers: Record<string, string> = {};
        if (from > 0) {
          headers.Range = `bytes=${from}-`;
          if (validator) headers['If-Range'] = validator;
        }
        return d.fetch(d.url, { headers, signal });
      };
      const restart = () => {
        // The bytes kept cannot be continued: the server ignored the range, sent another one, or the
        // file changed (If-Range). They are dropped and the file comes from its first byte.
        d.onBytes(-have, false);
        have = 0;
        part.truncate(0);
        headChecked = !d.checkHead;
      };
      let response = await request(have);
      alive();
      if (have > 0 && response.status === 206 && rangeStart(response) !== have) {
        void response.body?.cancel().catch(() => undefined);
        restart();
        response = await request(0);
        alive();
      }
      if (response.status === 200 && have > 0) restart();
      if (!(response.status === 200 || (response.status === 206 && have > 0))) {
        void response.body?.cancel().catch(() => undefined);
        throw new HttpError(`${d.url}: HTTP ${response.status}`);
      }
      validator = response.headers.get('ETag') ?? response.headers.get('Last-Modified') ?? validator;
      const reader = response.body?.getReader();
      try {
        const size = fullSize(response, have);
        if (size !== undefined) await d.onSize?.(size);
        if (!reader) return;
        let sinceSave = 0;
        for (;;) {
          const { done, value } = await reader.read();
          alive();
          if (done) break;
          part.write(value, { at: have });
          have += value.length;
          sinceSave += value.length;
          d.onBytes(value.length, true);
          checkHead();
          if (sinceSave >= 1 << 20) {
            save();
            sinceSave = 0;
          }
        }
      } catch (error) {
        // Not awaited: a stream that stalled may not answer its cancel either.
        void reader?.cancel().catch(() => undefined);
        throw error;
      }
    };

    let stalls = 0;
    for (;;) {
      d.signal?.throwIfAborted();
      const attempt = new AbortController();
      const forward = () => attempt.abort(d.signal?.reason);
      d.signal?.addEventListener('abort', forward);
      let stalled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const alive = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          stalled = true;
          attempt.abort(new StallError(`${d.url}: nothing received for ${Math.round(stallMs / 1000)} s`));
        }, stallMs);
      };
      const before = have;
      try {
        alive();
        await receive(attempt.signal, alive);
        break;
      } catch (error) {
        if (have > 0) save();
        if (!stalled || d.signal?.aborted) throw error;
        stalls = have > before ? 1 : stalls + 1;
        if (stalls >= STALL_TRIES) {
          throw new StallError(
            `${d.url}: nothing received for ${Math.round(stallMs / 1000)} s, ${STALL_TRIES} times; the download goes on from here at the next visit`,
          );
        }
        // Asked again from the bytes kept.
      } finally {
        clearTimeout(timer);
        d.signal?.removeEventListener('abort', forward);
      }
    }
    save();
    const bytes = new Uint8Array(part.getSize());
    part.read(bytes, { at: 0 });
    return bytes;
  } finally {
    part.close();
  }
}

function rangeStart(response: Response): number {
  return Number(/^bytes (\d+)-/.exec(response.headers.get('Content-Range') ?? '')?.[1]);
}

/** The whole file's size from a response starting at byte `from`, when the response says it. */
function fullSize(response: Response, from: number): number | undefined {
  const total = /\/(\d+)$/.exec(response.headers.get('Content-Range') ?? '')?.[1];
  if (total !== undefined) return Number(total);
  const length = plainBodyLength(response);
  return length === undefined ? undefined : from + length;
}

/** The body's bytes as the response's Content-Length says, unless the body is encoded (the header then counts the encoded bytes). */
export function plainBodyLength(response: Response): number | undefined {
  const length = response.headers.get('Content-Length');
  return length === null || response.headers.get('Content-Encoding') ? undefined : Number(length);
}

/** Where a run of shard downloads stands (`downloadShards`), after every chunk. */
export interface ShardRunProgress {
  /** The shard being received (−1 once all are done). */
  shard: number;
  /** Shards of this run stored so far. */
  stored: number;
  /** Bytes of this run's shards: received so far (resumed bytes included) and expected in all. */
  bytesDone: number;
  bytesTotal: number;
  /** Bytes per second over this run's network bytes; undefined until a second has passed. */
  bytesPerSecond?: number;
  secondsLeft?: number;
}

/**
 * The shards of one kind (vector shards, row shards) a run downloads, and what differs between kinds:
 * where each goes, how its first bytes and its whole are checked and stored, what counts as a refusal.
 */
export interface ShardRun {
  /** The shards to download, in order. */
  shards: readonly number[];
  url(shard: number): string;
  directory: SyncDirectory;
  partName(shard: number): string;
  ledger: PartLedger;
  fetch: typeof fetch;
  signal?: AbortSignal;
  stallMs?: number;
  /** Default STORAGE_CALL_MS. */
  storageMs?: number;
  now?: () => number;
  /** As PartDownload.checkHead. */
  checkHead(shard: number, head: Uint8Array): boolean;
  /**
   * A shard's size before its response says it (the vector shards' are known from the plan): the
   * progress's total, and the bytes a stored or refused shard counts for. Without it the total is the
   * sizes the responses said, the shards not seen yet counted at their average.
   */
  plannedBytes?(shard: number): number;
  /** A shard's full size from its response's headers (`at`: its place in `shards`); a rejection stops the run. */
  onSize?(shard: number, size: number, at: number): Promise<void> | void;
  /** Checks the whole shard and stores it; a refusal (`refused`) skips it, any other error stops the run. */
  store(shard: number, bytes: Uint8Array, at: number): Promise<void>;
  /** Whether an error of `store` or of the download refuses this shard only (damage, HTTP error). */
  refused(error: unknown): error is Error;
  onRefused(shard: number, error: Error): void;
  onProgress?(progress: ShardRunProgress): void;
}

/**
 * Downloads `run.shards` one at a time through `downloadPart` (resumed bytes, stalls, the ledger) and
 * stores each; the progress counts resumed bytes as done and network bytes for the rate. A refused shard
 * is skipped (its `.part` removed); an abort, a quota refusal or a stall rejects, keeping the bytes for
 * the next visit. The vector shards (shard-fetch.ts) and the row shards (catalog-rows-fetch.ts) both run here.
 */
export async function downloadShards(run: ShardRun): Promise<{ fetched: number[]; refused: number[]; bytesReceived: number }> {
  const now = run.now ?? (() => performance.now());
  const result = { fetched: [] as number[], refused: [] as number[], bytesReceived: 0 };
  const partial = run.ledger.partial;
  const resumedBytes = (shard: number) => (partial?.shard === shard ? partial.bytes : 0);
  /** Full sizes of the shards whose responses said it (when nothing is planned). */
  const sizes = new Map<number, number>();
  const planned = run.plannedBytes;
  const plannedTotal = planned ? run.shards.reduce((sum, shard) => sum + planned(shard), 0) : 0;
  const bytesTotal = () => {
    if (planned) return plannedTotal;
    if (sizes.size === 0) return 0;
    const known = [...sizes.values()].reduce((sum, size) => sum + size, 0);
    return Math.round(known + ((run.shards.length - sizes.size) * known) / sizes.size);
  };
  let bytesDone = run.shards.reduce((sum, shard) => sum + resumedBytes(shard), 0);
  let received = 0;
  const started = now();
  const report = (shard: number) => {
    const total = bytesTotal();
    if (total === 0) return;
    const seconds = (now() - started) / 1000;
    const rate = seconds >= 1 && received > 0 ? received / seconds : undefined;
    run.onProgress?.({
      shard,
      stored: result.fetched.length,
      bytesDone: Math.min(bytesDone, total),
      bytesTotal: total,
      ...(rate ? { bytesPerSecond: rate, secondsLeft: Math.max(0, total - bytesDone) / rate } : {}),
    });
  };
  if (run.shards.length > 0) report(run.shards[0]!);

  for (const [at, shard] of run.shards.entries()) {
    run.signal?.throwIfAborted();
    // Where this shard's bytes start in the progress (its resumed bytes are already in bytesDone).
    const base = bytesDone - resumedBytes(shard);
    const counted = () => planned?.(shard) ?? sizes.get(shard) ?? 0;
    try {
      const bytes = await downloadPart({
        url: run.url(shard),
        shard,
        directory: run.directory,
        partName: run.partName(shard),
        ledger: run.ledger,
        fetch: run.fetch,
        ...(run.signal ? { signal: run.signal } : {}),
        ...(run.stallMs !== undefined ? { stallMs: run.stallMs } : {}),
        ...(run.storageMs !== undefined ? { storageMs: run.storageMs } : {}),
        checkHead: (head) => run.checkHead(shard, head),
        onSize: async (size) => {
          sizes.set(shard, size);
          await run.onSize?.(shard, size, at);
        },
        onBytes: (n, network) => {
          bytesDone += n;
          if (network) {
            received += n;
            result.bytesReceived += n;
          }
          report(shard);
        },
      });
      sizes.set(shard, bytes.length);
      const storageMs = run.storageMs ?? STORAGE_CALL_MS;
      await withinTime(run.store(shard, bytes, at), storageMs, `Checking and storing ${run.url(shard)}`);
      if (run.ledger.partial?.shard === shard) run.ledger.setPartial(undefined);
      await withinTime(run.directory.remove(run.partName(shard)), storageMs, `Removing ${run.partName(shard)}`);
      result.fetched.push(shard);
      // Counted at its planned (or actual) size once stored, so the done bytes meet the total at the end.
      bytesDone = base + counted();
      report(shard);
    } catch (error) {
      if (run.signal?.aborted || !run.refused(error)) throw error;
      result.refused.push(shard);
      run.onRefused(shard, error);
      run.ledger.setPartial(undefined);
      await run.directory.remove(run.partName(shard)).catch(() => undefined);
      bytesDone = base + counted();
    }
  }
  report(-1);
  return result;
}
