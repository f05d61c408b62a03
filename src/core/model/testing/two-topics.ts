import { seededUniform } from '../../random';
import { HybridModel } from '../hybrid';
import type { TrainingData } from '../train';

/**
 * Training data for the trainers' tests: 12 users, 20 items in two topics; even users like topic A
 * (even items), odd users topic B; items 16–19 are never seen. `model()` makes a fresh HybridModel.
 */
export function twoTopicTraining() {
  const uniform = seededUniform(21);
  const itemCount = 20;
  const dim = 16;
  const embeddings = new Float32Array(itemCount * dim);
  for (let i = 0; i < itemCount; i++) {
    const row = Float32Array.from({ length: dim }, () => (uniform() - 0.5) * 0.5);
    row[i % 2]! += 1;
    const norm = Math.hypot(...row);
    embeddings.set(
      row.map((x) => x / norm),
      i * dim,
    );
  }
  const users: number[] = [];
  const items: number[] = [];
  for (let u = 0; u < 12; u++) {
    for (let i = u % 2; i < 16; i += 2) {
      if (uniform() < 0.7) {
        users.push(u);
        items.push(i);
      }
    }
  }
  const data: TrainingData = { userCount: 12, users: Int32Array.from(users), items: Int32Array.from(items), weights: new Float32Array(users.length).fill(1) };
  const model = () => new HybridModel({ itemIds: Array.from({ length: itemCount }, (_, i) => `i${i}`), embeddings, embeddingDim: dim, factors: 4 });
  return { data, model };
}
