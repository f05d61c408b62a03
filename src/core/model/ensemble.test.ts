import { describe, expect, it } from 'vitest';
import { seededUniform } from '../random';
import { concatModels, concatUsers } from './ensemble';
import { HybridModel } from './hybrid';
import { userFromHistory } from './train';

const n = 7;
const D = 8;
const uniform = seededUniform(3);
const random = (length: number) => Float32Array.from({ length }, () => uniform() - 0.5);
const embeddings = random(n * D);
const itemIds = Array.from({ length: n }, (_, i) => `i${i}`);

function member(d: number): HybridModel {
  const model = new HybridModel({ itemIds, embeddings, embeddingDim: D, factors: d, W: random(d * D) });
  model.q = random(n * d);
  model.b = random(n);
  model.invalidate();
  return model;
}

describe('concatModels / concatUsers', () => {
  it("scores Σ λ_k · member k's scores with one scoreAll", () => {
    const members = [member(2), member(3), member(2)];
    const weights = [0.5, 1, 0.25];
    const users = members.map((m) => random(4 * m.factors));
    const model = concatModels(members.map((m, k) => ({ model: m, weight: weights[k]! })));
    expect(model.factors).toBe(7);
    const joined = concatUsers(
      members.map((m, k) => ({ vectors: users[k]!, factors: m.factors, weight: weights[k]! })),
      4,
    );
    for (let u = 0; u < 4; u++) {
      const scores = model.scoreAll(joined.subarray(u * 7, (u + 1) * 7));
      for (let i = 0; i < n; i++) {
        const expected = members.reduce((sum, m, k) => sum + weights[k]! * m.score(users[k]!.subarray(u * m.factors, (u + 1) * m.factors), i), 0);
        expect(scores[i]).toBeCloseTo(expected, 5);
      }
    }
  });

  it('keeps the encoder form: userFromHistory over concatenated y tables is the concatenated user vector', () => {
    const [y1, y2] = [random(n * 2), random(n * 3)];
    const items = [0, 3, 5];
    const weights = [1, 2, 1];
    const joined = userFromHistory(
      concatUsers(
        [
          { vectors: y1, factors: 2, weight: 0.5 },
          { vectors: y2, factors: 3, weight: 2 },
        ],
        n,
      ),
      5,
      items,
      weights,
      1,
    );
    const expected = [
      ...Array.from(userFromHistory(y1, 2, items, weights, 1), (x) => 0.5 * x),
      ...Array.from(userFromHistory(y2, 3, items, weights, 1), (x) => 2 * x),
    ];
    expected.forEach((x, f) => expect(joined[f]).toBeCloseTo(x, 6));
  });

  it('rejects members of another catalog and an empty ensemble', () => {
    const other = new HybridModel({ itemIds, embeddings: random(n * D), embeddingDim: D, factors: 2, W: random(2 * D) });
    expect(() => concatModels([{ model: member(2) }, { model: other }])).toThrow(/share/);
    expect(() => concatModels([])).toThrow(/at least one/);
    expect(() => concatUsers([{ vectors: random(5), factors: 2 }], 3)).toThrow(/expected/);
  });
});
