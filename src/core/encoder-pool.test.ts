import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { embedInLengthSortedRuns } from './encoder';
import { EncoderPool, encoderPoolPlan, shareRuns, USER_ACTIVE_MS, type PoolMember } from './encoder-pool';

/** A copy whose vectors are [text length, copy number]; it records the runs it was given, as a real encoder cuts them. */
function fakeCopy(copy: number, options: { id?: string; hold?: Promise<void> } = {}) {
  const runs: string[][] = [];
  const member = {
    id: options.id ?? 'model',
    dimension: 2,
    runs,
    disposed: false,
    async embedBatch(texts: readonly string[]) {
      await options.hold;
      return embedInLengthSortedRuns(texts, 4, async (run) => {
        runs.push([...run]);
        return run.map((text) => Float32Array.from([text.length, copy]));
      });
    },
    dispose() {
      member.disposed = true;
    },
  };
  return member;
}

describe('EncoderPool', () => {
  it('returns one vector per text, in order, whatever the number of copies; each copy gets whole runs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ maxLength: 30 }), { maxLength: 40 }), fc.integer({ min: 1, max: 3 }), async (texts, copies) => {
        const members = Array.from({ length: copies }, (_, copy) => fakeCopy(copy));
        const pool = new EncoderPool<PoolMember>(members[0]!, 4);
        for (const member of members.slice(1)) pool.add(member);
        const vectors = await pool.embedBatch(texts);
        expect(vectors.map((vector) => vector[0])).toEqual(texts.map((text) => text.length));
        // The runs the copies made are the runs one encoder would make: the pool adds no padding.
        const single = fakeCopy(9);
        await single.embedBatch(texts);
        const lengths = (runs: string[][]) =>
          runs
            .filter((run) => run.length > 0)
            .map((run) => run.map((text) => text.length).join(','))
            .sort();
        expect(lengths(members.flatMap((member) => member.runs))).toEqual(lengths(single.runs));
      }),
    );
  });

  it('splits a batch between copies and sends a one-run request to a copy that is free', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const busy = fakeCopy(0, { hold: held });
    const pool = new EncoderPool<PoolMember>(busy, 4);
    pool.add(fakeCopy(1));
    const texts = Array.from({ length: 16 }, (_, i) => 'x'.repeat(i + 1));
    const batch = pool.embedBatch(texts);
    await new Promise((resolve) => setTimeout(resolve, 0)); // copy 1 finishes its share
    // Copy 0 is still on its share of the batch: a query goes to copy 1 and answers at once.
    const query = await pool.embedBatch(['light summer shoes'], 'query');
    expect(query[0]![1]).toBe(1);
    release();
    const vectors = await batch;
    expect(new Set(vectors.map((vector) => vector[1]))).toEqual(new Set([0, 1]));
  });

  it('while the user acts, runs batches on the first copy alone and keeps the other free for a query', async () => {
    let clock = 0;
    let release!: () => void;
    const first = fakeCopy(0, { hold: new Promise<void>((resolve) => (release = resolve)) });
    const pool = new EncoderPool<PoolMember>(first, 4, () => clock);
    pool.add(fakeCopy(1));
    const texts = Array.from({ length: 16 }, (_, i) => 'v'.repeat(i + 1));
    pool.userActive();
    const batch = pool.embedBatch(texts);
    // The batch is all on copy 0 (held): a query goes to copy 1 and answers at once.
    expect((await pool.embedBatch(['a light summer comedy'], 'query'))[0]![1]).toBe(1);
    release();
    expect(new Set((await batch).map((vector) => vector[1]))).toEqual(new Set([0]));
    // Once the user has been still for USER_ACTIVE_MS, both copies share batches again.
    clock += USER_ACTIVE_MS;
    expect(new Set((await pool.embedBatch(texts)).map((vector) => vector[1]))).toEqual(new Set([0, 1]));
  });

  it('grows as copies load, leaves out one that fails, and refuses a copy of another model', async () => {
    const pool = new EncoderPool<PoolMember>(fakeCopy(0), 4);
    const errors: unknown[] = [];
    let starts = 0;
    await pool.grow(
      2,
      async () => (++starts === 1 ? fakeCopy(1) : Promise.reject(new Error('worker failed to start'))),
      (error) => errors.push(error),
    );
    expect(pool.copies.length).toBe(2);
    expect(errors).toHaveLength(1);
    expect((await pool.embedBatch(['a', 'bb'])).map((vector) => vector[0])).toEqual([1, 2]);
    expect(() => pool.add(fakeCopy(2, { id: 'other' }))).toThrow(/cannot join/);
  });

  it('ends every copy on dispose, and a copy that loads afterwards', async () => {
    const first = fakeCopy(0);
    const pool = new EncoderPool<PoolMember>(first, 4);
    let finishLoading!: (member: PoolMember) => void;
    const growing = pool.grow(1, () => new Promise((resolve) => (finishLoading = resolve)));
    pool.dispose();
    const late = fakeCopy(1);
    finishLoading(late);
    await growing;
    expect(first.disposed).toBe(true);
    expect(late.disposed).toBe(true);
    await expect(pool.embedBatch(['a'])).rejects.toThrow(/closed/);
  });

  it('stands by on one copy when another model takes over, and starts the others again when back in use', async () => {
    const started: ReturnType<typeof fakeCopy>[] = [];
    const pool = new EncoderPool<PoolMember>(fakeCopy(0), 4);
    const start = async () => {
      const copy = fakeCopy(started.length + 1);
      started.push(copy);
      return copy;
    };
    await pool.grow(1, start);
    expect(pool.copies.length).toBe(2);
    pool.standBy();
    expect(pool.copies.length).toBe(1);
    expect(started[0]!.disposed).toBe(true);
    // Still answers (a query in its space), on the copy it kept.
    expect((await pool.embedBatch(Array.from({ length: 12 }, () => 'q'))).every((vector) => vector[1] === 0)).toBe(true);
    pool.resume();
    await pool.settled();
    expect(pool.copies.length).toBe(2);
    expect(started).toHaveLength(2);
    expect(started[1]!.disposed).toBe(false);
  });

  it('does not keep a copy that was still loading when the pool stood by, even if it resumed meanwhile', async () => {
    const pool = new EncoderPool<PoolMember>(fakeCopy(0), 4);
    const loads: ((member: PoolMember) => void)[] = [];
    const growing = pool.grow(1, () => new Promise((resolve) => loads.push(resolve)));
    pool.standBy();
    pool.resume(); // starts a copy of its own with the same recipe
    expect(loads).toHaveLength(2);
    const stale = fakeCopy(1);
    const fresh = fakeCopy(2);
    loads[0]!(stale);
    loads[1]!(fresh);
    await growing;
    await pool.settled();
    expect(stale.disposed).toBe(true);
    expect(fresh.disposed).toBe(false);
    expect(pool.copies.length).toBe(2);
  });

  it('ends a copy taken out while it works only when its request has answered', async () => {
    let release!: () => void;
    const busy = fakeCopy(1, { hold: new Promise<void>((resolve) => (release = resolve)) });
    const pool = new EncoderPool<PoolMember>(fakeCopy(0), 4);
    pool.add(busy);
    const batch = pool.embedBatch(Array.from({ length: 16 }, (_, i) => 'w'.repeat(i + 1)));
    pool.standBy();
    expect(busy.disposed).toBe(false);
    release();
    expect(await batch).toHaveLength(16);
    expect(busy.disposed).toBe(true);
  });
});

describe('shareRuns', () => {
  it('balances runs of equal cost and keeps each share in ascending length', () => {
    const texts = Array.from({ length: 32 }, (_, i) => 'y'.repeat(32 - i));
    const shares = shareRuns(texts, 8, 2);
    expect(shares.map((share) => share.length)).toEqual([16, 16]);
    for (const share of shares) {
      const lengths = share.map((index) => texts[index]!.length);
      expect(lengths).toEqual([...lengths].sort((a, b) => a - b));
    }
    expect(shares.flat().sort((a, b) => a - b)).toEqual(texts.map((_, i) => i));
  });

  it('does not split a batch of one run, and uses no more shares than runs', () => {
    expect(shareRuns(['a', 'b', 'c'], 8, 2)).toEqual([[0, 1, 2]]);
    expect(
      shareRuns(
        Array.from({ length: 9 }, () => 'z'),
        8,
        4,
      ),
    ).toHaveLength(2);
  });
});

describe('encoderPoolPlan', () => {
  it('threads where the runtime can, copies where it cannot, within the caps', () => {
    expect(encoderPoolPlan(1, true)).toEqual({ copies: 1, threads: 1 });
    expect(encoderPoolPlan(2, true)).toEqual({ copies: 1, threads: 2 });
    expect(encoderPoolPlan(8, true)).toEqual({ copies: 1, threads: 4 });
    // TF.js, or ONNX Runtime without cross-origin isolation: copies of one thread.
    expect(encoderPoolPlan(1, false)).toEqual({ copies: 1, threads: 1 });
    expect(encoderPoolPlan(2, false)).toEqual({ copies: 2, threads: 1 });
    expect(encoderPoolPlan(8, false)).toEqual({ copies: 2, threads: 1 });
    expect(encoderPoolPlan(Number.NaN, false)).toEqual({ copies: 1, threads: 1 });
    // A device with little memory: one copy.
    expect(encoderPoolPlan(8, false, 2)).toEqual({ copies: 1, threads: 1 });
    expect(encoderPoolPlan(8, false, 8)).toEqual({ copies: 2, threads: 1 });
  });
});
