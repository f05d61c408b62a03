/** Loading the app's models in Node from disk (tests, benchmarks, catalog builds): no network. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UseLiteEncoder } from '../src/engine/use-lite';
import { useLiteSourceDir } from './model-paths';

interface ModelJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/** Reads a TF.js graph model (model.json + shards) from a directory into memory. */
export async function loadGraphModelFromDir(dir: string): Promise<tf.GraphModel> {
  const modelJson = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as ModelJson;
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
  const shards = await Promise.all(
    modelJson.weightsManifest.flatMap((group) => group.paths).map((path) => readFile(join(dir, path))),
  );
  const weightData = Buffer.concat(shards);
  const buffer = weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength);
  return tf.loadGraphModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData: buffer }));
}

export async function loadUseLiteFromDisk(dir = useLiteSourceDir()): Promise<UseLiteEncoder> {
  const vocabulary = JSON.parse(await readFile(join(dir, 'vocab.json'), 'utf8')) as Parameters<typeof UseLiteEncoder.fromParts>[1];
  return UseLiteEncoder.fromParts(await loadGraphModelFromDir(dir), vocabulary);
}
