/**
 * Per-group clipping: each group of tensors is clipped to its own norm C_g = C·√share_g with
 * Σ share_g = 1, so the whole delta still has L2 norm ≤ C: the Gaussian mechanism's sensitivity, the
 * noise σ·C on every coordinate and ε are exactly those of one global clip. What changes is where a
 * device's norm budget goes. One global clip lets the tensor with the most coordinates (q: items × d)
 * take most of the norm, although per-item rows average out across devices and drown in the noise;
 * giving the share to the low-dimensional tensor whose update devices agree on (W) raises its
 * signal-to-noise ratio (per-layer clipping, McMahan et al. 2018, "Learning differentially private
 * recurrent language models"). A share of 0 zeroes the group before the noise: its coordinates are
 * still exported, dense, as pure noise, so the file keeps its layout.
 */
import { clipToNorm } from './clip';
import { paramNames, type ParamSet } from './params';

/**
 * Group → its share of C² (shares ≥ 0, summing to 1). A key names tensors joined by '+' ("q+b"); the
 * key '*' collects every tensor no other group names. Every tensor must belong to exactly one group.
 */
export type ClipShares = Readonly<Record<string, number>>;

/** Parses "W:1,*:0" or "W+q:0.5,b:0.5". */
export function parseClipShares(text: string): ClipShares {
  const shares: Record<string, number> = {};
  for (const part of text.split(',')) {
    const [names, share] = part.split(':');
    if (!names || share === undefined || share.trim() === '' || !(Number(share) >= 0)) {
      throw new RangeError(`bad clip share '${part}' (expected names:share, e.g. b:0.5)`);
    }
    shares[names.trim()] = Number(share);
  }
  assertShares(shares);
  return shares;
}

export function assertShares(shares: ClipShares): void {
  const values = Object.values(shares);
  if (values.length === 0) throw new RangeError('clip shares need at least one group');
  if (!values.every((s) => s >= 0 && Number.isFinite(s))) throw new RangeError('clip shares must be finite and non-negative');
  const total = values.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) > 1e-9) throw new RangeError(`clip shares must sum to 1 (got ${total})`);
}

/** Tensor names per group, '*' resolved; throws on a name in two groups, an unknown name or a tensor in none. */
function resolveGroups(delta: ParamSet, shares: ClipShares): [string[], number][] {
  const covered = new Set<string>();
  const groups: [string[], number][] = [];
  for (const [group, share] of Object.entries(shares)) {
    if (group === '*') continue;
    const names = group.split('+').map((n) => n.trim());
    for (const name of names) {
      if (!delta[name]) throw new RangeError(`clip group '${group}' names '${name}', which the delta does not have`);
      if (covered.has(name)) throw new RangeError(`'${name}' is in two clip groups`);
      covered.add(name);
    }
    groups.push([names, share]);
  }
  const rest = paramNames(delta).filter((name) => !covered.has(name));
  if ('*' in shares) {
    if (rest.length > 0) groups.push([rest, shares['*']!]);
  } else if (rest.length > 0) {
    throw new RangeError(`no clip group for ${rest.join(', ')}`);
  }
  return groups;
}

/**
 * Clips each group to C·√share. Returns the clipped set and the norm of the whole delta before
 * clipping (the sum of squares of every group's norm).
 */
export function clipByGroups(delta: ParamSet, clipNorm: number, shares: ClipShares): { clipped: ParamSet; norm: number } {
  assertShares(shares);
  const out: ParamSet = {};
  let squared = 0;
  for (const [names, share] of resolveGroups(delta, shares)) {
    const part: ParamSet = Object.fromEntries(names.map((name) => [name, delta[name]!]));
    if (share === 0) {
      const { norm } = clipToNorm(part, clipNorm); // only for the norm and the NaN check
      squared += norm * norm;
      for (const name of names) out[name] = { shape: [...delta[name]!.shape], values: new Float32Array(delta[name]!.values.length) };
      continue;
    }
    const { clipped, norm } = clipToNorm(part, clipNorm * Math.sqrt(share));
    squared += norm * norm;
    Object.assign(out, clipped);
  }
  return { clipped: out, norm: Math.sqrt(squared) };
}
