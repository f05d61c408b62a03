/**
 * A seeded text index for the scale search's tests: `n` unit vectors around `clusters` Gaussian centres (the
 * centres drawn first from `normal`, then each row's noise, so a test drawing more from `normal` afterwards gets
 * the same values as before), their int8 rows in a VectorStore (read from "OPFS", or held in memory), the
 * publisher's sign codes over them, and a ScaleSearch over both.
 */
import { encodeIndexFile, textSignBits } from '../../core/index/codes-file';
import { int8Rows } from '../../core/index/rows';
import { encodeSign, signCodebook } from '../../core/index/sign';
import { quantizeRows } from '../../core/quantize';
import { normalized } from '../../core/vector';
import { memoryDirectory, VectorStore } from '../../storage/opfs-vectors';
import { ScaleSearch, textIndexFrom } from '../scale-index';

export async function clusteredSearch(options: {
  n: number;
  dim: number;
  clusters: number;
  /** The noise's scale around each centre. */
  spread: number;
  normal: () => number;
  /** How a row is made unit length (default core/vector's normalized). */
  unit?: (vector: Float32Array) => Float32Array;
  modelId?: string;
  catalogFingerprint?: string;
  /** Rows held in memory (VectorStore.holdMemory) instead of read from storage. */
  held?: boolean;
}) {
  const { n, dim, clusters, spread, normal, unit = normalized, modelId = 'm', catalogFingerprint = 'fp', held = false } = options;
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: dim }, () => normal()));
  const vectors = Array.from({ length: n }, (_, i) => unit(centres[i % clusters]!.map((x) => x + spread * normal())));
  const { codes, scales } = quantizeRows(vectors, dim);
  /** Each row as the store holds it (its int8 codes times its scale). */
  const rows = Array.from({ length: n }, (_, i) => Float32Array.from(codes.subarray(i * dim, (i + 1) * dim), (c) => c * scales[i]!));
  const identity = { modelId, catalogFingerprint, totalItems: n, dimension: dim };
  const store = await VectorStore.open(memoryDirectory(), identity, held ? undefined : 0);
  store.writeRows(0, codes, scales);
  /** Whether holdMemory took the rows (asked only when `held`). */
  const heldInMemory = held ? await store.holdMemory() : false;
  const book = signCodebook(dim, textSignBits(dim), 7);
  const file = await encodeIndexFile(
    { vectors: 'text', modelId, catalogFingerprint },
    { kind: 'sign', codebook: book, codes: encodeSign(book, int8Rows(codes, scales, dim)) },
  );
  const index = await textIndexFrom(file, { modelId, catalogFingerprint, count: n });
  return { centres, codes, scales, rows, store, heldInMemory, index, search: new ScaleSearch({ text: { index, rows: store } }) };
}
