/**
 * Baselines for the quality bench, scored over the whole catalog for one user at a time:
 * popularity (interaction counts) and item-kNN (cosine between items' user sets).
 */

export type UserScorer = (user: number) => Float32Array;

export interface TrainInteractions {
  userCount: number;
  itemCount: number;
  users: Int32Array;
  items: Int32Array;
}

export function popularityScorer(data: TrainInteractions): UserScorer {
  const counts = new Float32Array(data.itemCount);
  for (const item of data.items) counts[item]!++;
  return () => Float32Array.from(counts);
}

/**
 * Item-kNN: sim(i,j) = |U_i ∩ U_j| / sqrt(|U_i|·|U_j|) keeping each item's `neighbours` most similar
 * items; score(u,j) = Σ_{i ∈ history(u)} sim(i,j).
 */
export function itemKnnScorer(data: TrainInteractions, neighbours = 100): UserScorer {
  const { itemCount, userCount } = data;
  const history: number[][] = Array.from({ length: userCount }, () => []);
  const seenPairs = new Set<number>();
  data.users.forEach((user, k) => {
    const key = user * itemCount + data.items[k]!;
    if (seenPairs.has(key)) return;
    seenPairs.add(key);
    history[user]!.push(data.items[k]!);
  });
  const degree = new Float32Array(itemCount);
  for (const items of history) for (const item of items) degree[item]!++;
  const co = new Float32Array(itemCount * itemCount);
  for (const items of history) {
    for (const a of items) for (const b of items) if (a !== b) co[a * itemCount + b]!++;
  }
  const similarity = new Float32Array(itemCount * itemCount);
  const row = new Float32Array(itemCount);
  for (let a = 0; a < itemCount; a++) {
    for (let b = 0; b < itemCount; b++) {
      const c = co[a * itemCount + b]!;
      row[b] = c > 0 ? c / Math.sqrt(degree[a]! * degree[b]!) : 0;
    }
    // Keep the strongest `neighbours` similarities of item a.
    const threshold = kthLargest(row, neighbours);
    for (let b = 0; b < itemCount; b++) if (row[b]! >= threshold && row[b]! > 0) similarity[a * itemCount + b] = row[b]!;
  }
  return (user) => {
    const scores = new Float32Array(itemCount);
    for (const i of history[user] ?? []) {
      const offset = i * itemCount;
      for (let j = 0; j < itemCount; j++) scores[j]! += similarity[offset + j]!;
    }
    return scores;
  };
}

function kthLargest(values: Float32Array, k: number): number {
  if (k >= values.length) return -Infinity;
  const sorted = Float32Array.from(values).sort();
  return sorted[values.length - k]!;
}
