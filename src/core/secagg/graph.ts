/**
 * The SecAgg+ neighbour graph (Bell et al., CCS 2020): who exchanges masks and shares with whom in a round.
 *
 * Hand-written (the construction is the protocol's, no package does it): a Harary graph H(k, n) on a seeded random
 * permutation. The n devices are placed on a ring in the order of a permutation drawn by Fisher-Yates from a
 * SHA-256 counter stream seeded by (roundId, n, k), and each is joined to the k/2 devices on either side of it.
 * The graph is k-regular, symmetric and k-connected (removing fewer than k devices leaves it connected), and every
 * party computes the same one from public data. k = n-1 gives the complete graph (classic SecAgg).
 *
 * Caveat, stated in the threat model: the server picks roundId and assigns indices, so a malicious server could
 * steer who neighbours whom; an honest-but-curious one cannot gain from the permutation.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { SecAggError, type RoundParams, validateParams } from './params';

const encoder = new TextEncoder();

/** A deterministic stream of uniform u32 from SHA-256(seed || counter). */
function u32Stream(seed: Uint8Array): () => number {
  let counter = 0;
  let block = new Uint32Array(0);
  let at = 0;
  return () => {
    if (at >= block.length) {
      const input = new Uint8Array(seed.length + 4);
      input.set(seed);
      new DataView(input.buffer).setUint32(seed.length, counter++, true);
      const digest = sha256(input);
      block = new Uint32Array(digest.buffer, digest.byteOffset, 8);
      at = 0;
    }
    return block[at++]!;
  };
}

/** Uniform integer in [0, m) without modulo bias (rejection sampling). */
function below(next: () => number, m: number): number {
  const limit = Math.floor(0x1_0000_0000 / m) * m;
  for (;;) {
    const x = next();
    if (x < limit) return x % m;
  }
}

/** The seeded permutation: position on the ring -> device index. */
export function ringOrder(params: Pick<RoundParams, 'roundId' | 'cohortSize' | 'neighbours'>): number[] {
  const n = params.cohortSize;
  const seed = encoder.encode(`secagg/v1/graph/${params.roundId}/${n}/${params.neighbours}`);
  const next = u32Stream(sha256(seed));
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = below(next, i + 1);
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
  }
  return order;
}

/** Each device's neighbours, sorted ascending; symmetric (j in graph[i] iff i in graph[j]); never contains i itself. */
export function neighbourGraph(params: RoundParams): number[][] {
  return sharedGraph(params).map((list) => [...list]);
}

/**
 * The same graph, computed once per round and shared by every caller in this process (read-only): n lists of k
 * numbers, which a simulation of n devices would otherwise hold n times (320 MB at n = 1,000).
 */
const cache = new Map<string, readonly (readonly number[])[]>();
export function sharedGraph(params: RoundParams): readonly (readonly number[])[] {
  validateParams(params);
  const key = `${params.roundId}/${params.cohortSize}/${params.neighbours}`;
  let graph = cache.get(key);
  if (!graph) {
    graph = build(params);
    if (cache.size >= 8) cache.delete(cache.keys().next().value!);
    cache.set(key, graph);
  }
  return graph;
}

function build(params: RoundParams): number[][] {
  const n = params.cohortSize;
  const k = params.neighbours;
  if (k === n - 1) return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => j).filter((j) => j !== i));
  const order = ringOrder(params);
  const half = k / 2;
  const graph: number[][] = Array.from({ length: n }, () => []);
  for (let p = 0; p < n; p++) {
    const device = order[p]!;
    for (let d = 1; d <= half; d++) {
      graph[device]!.push(order[(p + d) % n]!, order[(p - d + n) % n]!);
    }
  }
  for (const list of graph) list.sort((a, b) => a - b);
  return graph;
}

/** Whether the devices in `members` form one connected piece of the graph (edges between members only). */
export function isConnected(graph: readonly (readonly number[])[], members: readonly number[]): boolean {
  if (members.length === 0) return false;
  const inSet = new Uint8Array(graph.length);
  for (const m of members) {
    if (!Number.isInteger(m) || m < 0 || m >= graph.length) throw new SecAggError(`device ${m} is not in the cohort`);
    inSet[m] = 1;
  }
  const seen = new Uint8Array(graph.length);
  const stack = [members[0]!];
  seen[members[0]!] = 1;
  let count = 1;
  while (stack.length) {
    const v = stack.pop()!;
    for (const w of graph[v]!) {
      if (inSet[w] && !seen[w]) {
        seen[w] = 1;
        count++;
        stack.push(w);
      }
    }
  }
  return count === new Set(members).size;
}
