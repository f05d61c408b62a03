/**
 * Independent check of "near": the test embeds feed items itself, in Node, with the same real USE
 * Lite weights (not through the app), so a ranking bug in the app cannot also fool the measurement.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { readFileSync } from 'node:fs';
import { loadUseLiteFromDisk } from '../cli/node-models';
import { dot } from '../src/core/vector';
import type { UseLiteEncoder } from '../src/engine/use-lite';

interface CatalogRow {
  title: string;
  text: string;
}

const catalog = (JSON.parse(readFileSync('public/catalog/goodbooks-10k.json', 'utf8')) as { items: CatalogRow[] }).items;
const textByTitle = new Map(catalog.map((item) => [item.title, item.text]));
let encoder: Promise<UseLiteEncoder> | undefined;

async function embedTitles(titles: string[]): Promise<Float32Array[]> {
  encoder ??= tf.setBackend('wasm').then(() => loadUseLiteFromDisk());
  return (await encoder).embedBatch(titles.map((title) => textByTitle.get(title) ?? title));
}

/** How many of `titles` are within `threshold` cosine of at least one of `anchors`. */
export async function countNear(titles: string[], anchors: string[], threshold: number): Promise<number> {
  const [anchorVectors, vectors] = await Promise.all([embedTitles(anchors), embedTitles(titles)]);
  return vectors.filter((v) => anchorVectors.some((a) => dot(a, v) >= threshold)).length;
}

/** Mean cosine similarity of the query to each title: how well a feed matches a search. */
export async function meanSimilarityToText(titles: string[], text: string): Promise<number> {
  encoder ??= tf.setBackend('wasm').then(() => loadUseLiteFromDisk());
  const [[query], vectors] = await Promise.all([(await encoder).embedBatch([text]), embedTitles(titles)]);
  return vectors.reduce((sum, v) => sum + dot(query!, v), 0) / vectors.length;
}

/** Mean pairwise cosine distance (1 − cos) between the titles: the spread of a list. */
export async function meanPairwiseDistance(titles: string[]): Promise<number> {
  const vectors = await embedTitles(titles);
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < vectors.length; i++) {
    for (let j = i + 1; j < vectors.length; j++, pairs++) sum += 1 - dot(vectors[i]!, vectors[j]!);
  }
  return sum / pairs;
}
