/**
 * Evaluation splits. Each returns interaction row indices for training and the held-out truth, so a
 * test can check that nothing held out leaks into training.
 */
import { seededUniform, type Uniform } from '../random';
import { rowsByUser, type InteractionData } from './data';

export interface Split {
  /** Row indices of the interactions used for training. */
  train: number[];
  /** Held-out row indices. */
  test: number[];
}

/** Python's round(): halves go to the even neighbour (what the Recommenders splitter uses). */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Microsoft Recommenders' python_stratified_split (filter_by="user", min_rating=1): per user, the
 * rows in a random order; the first round(ratio·count) go to train, the rest to test. Our random
 * order comes from a seeded sfc32, not numpy's, so the split is the same procedure, not the same rows.
 */
export function stratifiedSplit(data: InteractionData, ratio = 0.75, seed = 42): Split {
  const uniform = seededUniform(seed);
  const train: number[] = [];
  const test: number[] = [];
  for (const rows of rowsByUser(data, data.userIds.length)) {
    const keyed = rows.map((row) => ({ row, key: uniform() })).sort((a, b) => a.key - b.key);
    const cut = roundHalfEven(ratio * keyed.length);
    keyed.forEach(({ row }, rank) => (rank < cut ? train : test).push(row));
  }
  return { train, test };
}

/** Per-user split by time: the earliest `ratio` of each user's interactions train, the rest test. */
export function temporalSplit(data: InteractionData, ratio = 0.8): Split {
  const train: number[] = [];
  const test: number[] = [];
  for (const rows of rowsByUser(data, data.userIds.length)) {
    const sorted = [...rows].sort((a, b) => data.times[a]! - data.times[b]! || a - b);
    const cut = Math.max(1, Math.round(ratio * sorted.length));
    sorted.forEach((row, rank) => (rank < cut ? train : test).push(row));
  }
  return { train, test };
}

export interface LeaveOneOutSplit extends Split {
  /** Per test row (same order as `test`): 99 (or `negatives`) items the user never interacted with. */
  candidates: Int32Array[];
}

/**
 * Neural Collaborative Filtering's leave-one-out: each user's latest interaction is the test item,
 * ranked among `negatives` items the user never interacted with (sampled with a fixed seed).
 */
export function leaveOneOutSplit(data: InteractionData, negatives = 99, seed = 42): LeaveOneOutSplit {
  const uniform = seededUniform(seed);
  const itemCount = data.itemIds.length;
  const train: number[] = [];
  const test: number[] = [];
  const candidates: Int32Array[] = [];
  for (const rows of rowsByUser(data, data.userIds.length)) {
    if (rows.length < 2) {
      train.push(...rows);
      continue;
    }
    const latest = rows.reduce((best, row) => (data.times[row]! > data.times[best]! || (data.times[row] === data.times[best] && row > best) ? row : best));
    for (const row of rows) if (row !== latest) train.push(row);
    test.push(latest);
    const interacted = new Set(rows.map((row) => data.items[row]!));
    candidates.push(sampleUnseen(interacted, itemCount, negatives, uniform));
  }
  return { train, test, candidates };
}

function sampleUnseen(interacted: Set<number>, itemCount: number, count: number, uniform: Uniform): Int32Array {
  const chosen = new Set<number>();
  const available = itemCount - interacted.size;
  const want = Math.min(count, available);
  while (chosen.size < want) {
    const item = Math.floor(uniform() * itemCount);
    if (!interacted.has(item)) chosen.add(item);
  }
  return Int32Array.from(chosen);
}

export interface ColdItemSplit extends Split {
  /** Items removed from training entirely. */
  coldItems: Int32Array;
}

/** Holds out `fraction` of the items (seeded): every interaction with them is test, none is train. */
export function coldItemSplit(data: InteractionData, fraction = 0.1, seed = 42): ColdItemSplit {
  const uniform = seededUniform(seed);
  const itemCount = data.itemIds.length;
  const order = Array.from({ length: itemCount }, (_, i) => ({ i, key: uniform() })).sort((a, b) => a.key - b.key);
  const coldItems = Int32Array.from(order.slice(0, Math.round(fraction * itemCount)), (x) => x.i).sort();
  const cold = new Set(coldItems);
  const train: number[] = [];
  const test: number[] = [];
  data.items.forEach((item, row) => (cold.has(item) ? test : train).push(row));
  return { train, test, coldItems };
}

/** The interactions of a subset of rows, as a new data set over the same users and items. */
export function subset(data: InteractionData, rows: readonly number[]): InteractionData {
  return {
    userIds: data.userIds,
    itemIds: data.itemIds,
    itemTexts: data.itemTexts,
    users: Int32Array.from(rows, (r) => data.users[r]!),
    items: Int32Array.from(rows, (r) => data.items[r]!),
    values: Float32Array.from(rows, (r) => data.values[r]!),
    times: Float64Array.from(rows, (r) => data.times[r]!),
  };
}
