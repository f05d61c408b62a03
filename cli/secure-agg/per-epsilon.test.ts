import { describe, expect, it } from 'vitest';
import { DEFAULT_PER_EPSILON, describeSettings, parsePerEpsilon, settingsForEpsilon, type SecureRunSettings } from './per-epsilon';

const base: SecureRunSettings = { shared: ['W', 'q', 'b'], shrink: 'rows', rounds: 5, clipNorm: 0.5, serverLearningRate: 120 };

describe('per-ε settings of the secure-aggregation bench', () => {
  it('the defaults give ε = 1 and 2 their validation-chosen settings and leave ε ≥ 4 and ∞ on the base', () => {
    const overrides = parsePerEpsilon(DEFAULT_PER_EPSILON);
    expect(settingsForEpsilon(1, base, overrides)).toEqual({ shared: ['W', 'b'], shrink: 'james-stein', rounds: 4, clipNorm: 0.5, serverLearningRate: 120 });
    expect(settingsForEpsilon(2, base, overrides)).toEqual(settingsForEpsilon(1, base, overrides));
    expect(settingsForEpsilon(4, base, overrides)).toEqual(base);
    expect(settingsForEpsilon(8, base, overrides)).toEqual(base);
    expect(settingsForEpsilon(Infinity, base, overrides)).toEqual(base);
  });

  it('parses every key, several ε and inf', () => {
    const overrides = parsePerEpsilon(' 2:shared=W+b, rounds=3,shrink=james-stein ; inf:clip=0.25,lr=240,shrink=none;16:shared=q ');
    expect([...overrides.keys()]).toEqual([2, Infinity, 16]);
    expect(settingsForEpsilon(2, base, overrides)).toEqual({ ...base, shared: ['W', 'b'], rounds: 3, shrink: 'james-stein' });
    expect(settingsForEpsilon(Infinity, base, overrides)).toEqual({ ...base, clipNorm: 0.25, serverLearningRate: 240, shrink: 'none' });
    expect(settingsForEpsilon(16, base, overrides).shared).toEqual(['q']); // rows shrinkage with q alone is fine
    expect(parsePerEpsilon('').size).toBe(0);
  });

  it('refuses what it cannot run', () => {
    expect(() => parsePerEpsilon('1:shared=W+u')).toThrow(/shared/);
    expect(() => parsePerEpsilon('1:shared=W+W')).toThrow(/distinct/);
    expect(() => parsePerEpsilon('1:rounds=2.5')).toThrow(/integer/);
    expect(() => parsePerEpsilon('1:rounds=0')).toThrow(/positive/);
    expect(() => parsePerEpsilon('1:clip=-1')).toThrow(/positive/);
    expect(() => parsePerEpsilon('1:shrink=median')).toThrow(/shrink/);
    expect(() => parsePerEpsilon('1:epochs=3')).toThrow(/unknown key/);
    expect(() => parsePerEpsilon('1:rounds')).toThrow(/key=value/);
    expect(() => parsePerEpsilon('rounds=3')).toThrow(/prefix/);
    expect(() => parsePerEpsilon('0:rounds=3')).toThrow(/positive ε/);
    expect(() => parsePerEpsilon('1:rounds=3;1:rounds=4')).toThrow(/twice/);
    // Row shrinkage denoises q row by row: an export without q cannot use it.
    expect(() => settingsForEpsilon(1, base, parsePerEpsilon('1:shared=W+b'))).toThrow(/needs q/);
  });

  it('describes a run for the report', () => {
    expect(describeSettings(base)).toBe('export W, q, b, 5 rounds, C = 0.5, server lr 120, shrink rows');
  });
});
