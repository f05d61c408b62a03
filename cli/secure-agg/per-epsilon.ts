/**
 * Per-ε settings of the secure-aggregation bench, so that one run covers ε = ∞, 8 and 1 with each ε's own
 * settings (chosen on the validation split, docs/secure-aggregation.md). An ε without an override runs
 * the bench's base settings (its --secure-* flags).
 *
 * Text form (`--secure-per-epsilon`): `EPS:key=value,key=value;EPS:…`, keys shared (tensor names joined
 * by `+`), shrink, rounds, clip, lr; EPS is a number or `inf`.
 */

export type SecureShrink = 'rows' | 'james-stein' | 'none';

export interface SecureRunSettings {
  /** The tensors the devices export (among W, q, b). */
  shared: readonly string[];
  /** The server's denoising: rows (James–Stein per row of q, per tensor for the rest), james-stein (per tensor) or none. */
  shrink: SecureShrink;
  /** Rounds a device joins (K of the accountant: z rises with it). */
  rounds: number;
  /** The clip C of encodeForSum. */
  clipNorm: number;
  serverLearningRate: number;
}

export type EpsilonOverrides = ReadonlyMap<number, Partial<SecureRunSettings>>;

/**
 * The default overrides, chosen on the validation split with the sum's noise simulated (docs/secure-aggregation.md,
 * "ε = 1: its own settings" and "One run"): at ε = 1 and 2 q's rows are mostly noise, so those ε export W and b
 * only, with one James–Stein factor per tensor, over 4 rounds (validation NDCG@10 ε = 1: 0.2402 against 0.1904 with
 * q; ε = 2: 0.2733 against 0.2586). From ε = 4 up the base (W, q, b, row shrinkage, 5 rounds) wins (ε = 4: 0.3088
 * against 0.2906).
 */
export const DEFAULT_PER_EPSILON = '1:shared=W+b,shrink=james-stein,rounds=4;2:shared=W+b,shrink=james-stein,rounds=4';

const TENSORS = ['W', 'q', 'b'];

function parseEpsilon(text: string): number {
  const t = text.trim();
  if (t === 'inf') return Infinity;
  const value = Number(t);
  if (!(value > 0) || t === '') throw new RangeError(`per-ε settings: "${text}" is not a positive ε or inf`);
  return value;
}

function positive(key: string, text: string): number {
  const value = Number(text);
  if (!(value > 0 && Number.isFinite(value))) throw new RangeError(`per-ε settings: ${key} must be a positive number, got "${text}"`);
  return value;
}

/** Parses the text form; an empty text gives no overrides. Unknown keys, bad values and a repeated ε are refused. */
export function parsePerEpsilon(text: string): Map<number, Partial<SecureRunSettings>> {
  const out = new Map<number, Partial<SecureRunSettings>>();
  for (const entry of text
    .split(';')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const colon = entry.indexOf(':');
    if (colon < 0) throw new RangeError(`per-ε settings: "${entry}" has no "ε:" prefix`);
    const epsilon = parseEpsilon(entry.slice(0, colon));
    if (out.has(epsilon)) throw new RangeError(`per-ε settings: ε = ${epsilon} is given twice`);
    const settings: { -readonly [K in keyof SecureRunSettings]?: SecureRunSettings[K] } = {};
    for (const pair of entry
      .slice(colon + 1)
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const [key, value, ...rest] = pair.split('=').map((s) => s.trim());
      if (value === undefined || rest.length) throw new RangeError(`per-ε settings: "${pair}" is not key=value`);
      if (key === 'shared') {
        const names = value.split('+').map((n) => n.trim());
        if (!names.length || !names.every((n) => TENSORS.includes(n)) || new Set(names).size !== names.length) {
          throw new RangeError(`per-ε settings: shared takes distinct names among W, q, b joined by "+", got "${value}"`);
        }
        settings.shared = names;
      } else if (key === 'shrink') {
        if (value !== 'rows' && value !== 'james-stein' && value !== 'none')
          throw new RangeError(`per-ε settings: shrink is rows, james-stein or none, got "${value}"`);
        settings.shrink = value;
      } else if (key === 'rounds') {
        const rounds = positive(key, value);
        if (!Number.isInteger(rounds)) throw new RangeError(`per-ε settings: rounds must be an integer, got "${value}"`);
        settings.rounds = rounds;
      } else if (key === 'clip') settings.clipNorm = positive(key, value);
      else if (key === 'lr') settings.serverLearningRate = positive(key, value);
      else throw new RangeError(`per-ε settings: unknown key "${key}" (shared, shrink, rounds, clip, lr)`);
    }
    out.set(epsilon, settings);
  }
  return out;
}

/** The settings one ε runs with: its override over the base; row shrinkage needs q in the export. */
export function settingsForEpsilon(epsilon: number, base: SecureRunSettings, overrides: EpsilonOverrides): SecureRunSettings {
  const settings = { ...base, ...overrides.get(epsilon) };
  if (settings.shrink === 'rows' && !settings.shared.includes('q')) throw new RangeError(`ε = ${epsilon}: shrink rows needs q among the exported tensors`);
  return settings;
}

/** One line for the report: what this ε ran with. */
export function describeSettings(s: SecureRunSettings): string {
  return `export ${s.shared.join(', ')}, ${s.rounds} rounds, C = ${s.clipNorm}, server lr ${s.serverLearningRate}, shrink ${s.shrink}`;
}
