/**
 * Per-group clipping: each group of tensors is clipped to its own norm C_g with Σ C_g² = C², so the
 * whole delta still has L2 norm ≤ C and the Gaussian mechanism's sensitivity (and ε) is unchanged.
 * Why: one global clip lets the tensor with the most coordinates (q: items × d) take most of the norm,
 * while the per-item biases b carry most of the signal that survives averaging; giving b a fixed
 * share of C raises its signal-to-noise ratio (per-layer clipping, McMahan et al. 2018, "Learning
 * differentially private recurrent language models").
 */
import { clipToNorm } from '../../src/core/federated/delta';
import { paramNames, type ParamSet } from '../../src/core/federated/params';

/** Group name → its share of C² (shares must sum to 1); every tensor must belong to exactly one group. */
export type ClipShares = Readonly<Record<string, number>>;

export function parseClipShares(text: string): ClipShares {
  const shares: Record<string, number> = {};
  for (const part of text.split(',')) {
    const [names, share] = part.split(':');
    if (!names || share === undefined || !(Number(share) > 0)) throw new RangeError(`bad clip share '${part}' (expected names:share, e.g. b:0.5)`);
    shares[names.trim()] = Number(share);
  }
  const total = Object.values(shares).reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) > 1e-9) throw new RangeError(`clip shares must sum to 1 (got ${total})`);
  return shares;
}

/**
 * Clips each group (key "W+q" means tensors W and q together) to C·√share. Returns the clipped set and
 * the norm of the whole delta before clipping.
 */
export function clipByGroups(delta: ParamSet, clipNorm: number, shares: ClipShares): { clipped: ParamSet; norm: number } {
  const out: ParamSet = {};
  let squared = 0;
  const covered = new Set<string>();
  for (const [group, share] of Object.entries(shares)) {
    const names = group.split('+');
    const part: ParamSet = {};
    for (const name of names) {
      if (!delta[name]) throw new RangeError(`clip group '${group}' names '${name}', which the delta does not have`);
      if (covered.has(name)) throw new RangeError(`'${name}' is in two clip groups`);
      covered.add(name);
      part[name] = delta[name]!;
    }
    const { clipped, norm } = clipToNorm(part, clipNorm * Math.sqrt(share));
    squared += norm * norm;
    Object.assign(out, clipped);
  }
  const missing = paramNames(delta).filter((name) => !covered.has(name));
  if (missing.length > 0) throw new RangeError(`no clip group for ${missing.join(', ')}`);
  return { clipped: out, norm: Math.sqrt(squared) };
}
