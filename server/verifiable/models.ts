/**
 * The leader's collections for the app (docs/secure-aggregation.md "Verifiable mode in the app"): what a device
 * needs before it encodes (the collection open now, the model it starts from, the noise, the rotation seed), and
 * the model published after each collection — base + the decoded mean of the accepted reports, a federated global
 * file as the masked mode's service publishes, which devices import through "Import model update"'s path.
 *
 * One collection is open at a time; its id is its base model's (core/secagg/verifiable-app.ts collectionId), so a
 * collection ends when it publishes a model and the next one starts from that model. The leader refuses a report
 * uploaded for another collection than the open one (its delta is relative to another base).
 */
import { flatten } from '../../src/core/federated/params';
import { appVerifiableTask, collectionId, collectionRotationSeed, type AppVerifiableTask, type VerifiableNoise } from '../../src/core/secagg/verifiable-app';
import { decodeVerifiableSum } from '../../src/core/secagg/verifiable/encode';
import { averagedModel, parseGlobalModel, type GlobalModel } from '../base-model';
import { NotYet } from '../errors';
import type { VerifiableStore } from './store';

/** GET /v1/verifiable/collection. */
export interface CollectionInfo {
  collectionId: string;
  modelId: string;
  catalogFingerprint: string;
  baseModelSha256: string;
  /** Floats in the shared delta (W, q, b and the ranker), before padding. */
  deltaLength: number;
  clipNorm: number;
  noiseMultiplier: number;
  bits: number;
  /** base64url. */
  rotationSeed: string;
}

const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');

export class CollectionModels {
  private constructor(
    private readonly store: VerifiableStore,
    private readonly taskId: string,
    readonly noise: VerifiableNoise,
    readonly task: AppVerifiableTask,
    private base: GlobalModel,
    private published: { collection: string; sha256: string; publishedAt: Date; file: Uint8Array } | undefined,
  ) {}

  /** The task for this starting model (what main.ts gives both aggregators' proofs). */
  static taskFor(start: GlobalModel, noise: VerifiableNoise): AppVerifiableTask & { deltaLength: number } {
    const deltaLength = flatten(start.params).length;
    return { ...appVerifiableTask(deltaLength, noise), deltaLength };
  }

  /** The newest stored model (a restart goes on from it), else `start`, stored as the first base. */
  static async open(store: VerifiableStore, taskId: string, start: GlobalModel, noise: VerifiableNoise, now = new Date()): Promise<CollectionModels> {
    const latest = await store.latestModel(taskId);
    if (!latest) await store.insertModel(taskId, { collection: null, sha256: start.header.payloadSha256, file: start.file, contributors: 0, publishedAt: now });
    const base = latest ? await parseGlobalModel(latest.file, 'the stored model') : start;
    const published = latest?.collection
      ? { collection: latest.collection, sha256: latest.sha256, publishedAt: latest.publishedAt, file: latest.file }
      : undefined;
    return new CollectionModels(store, taskId, noise, CollectionModels.taskFor(base, noise), base, published);
  }

  current(): CollectionInfo {
    const sha = this.base.header.payloadSha256;
    return {
      collectionId: collectionId(sha),
      modelId: this.base.header.modelId,
      catalogFingerprint: this.base.header.catalogFingerprint,
      baseModelSha256: sha,
      deltaLength: flatten(this.base.params).length,
      clipNorm: this.noise.clipNorm,
      noiseMultiplier: this.noise.noiseMultiplier,
      bits: this.task.params.bits,
      rotationSeed: b64(collectionRotationSeed(sha)),
    };
  }

  /** The newest published model; 404 before the first collection (the starting model is what devices hold). */
  latest(): { round: string; sha256: string; publishedAt: string; file: Uint8Array } {
    if (!this.published) throw new NotYet('no collection has published a model yet');
    const { collection, sha256, publishedAt, file } = this.published;
    return { round: collection, sha256, publishedAt: publishedAt.toISOString(), file };
  }

  /** Decodes the collected sum (÷ γ_v, inverse rotation), adds its mean to the base, stores and opens the next collection. */
  async publish(sum: Float64Array, reports: number, now = new Date()): Promise<{ collection: string; sha256: string }> {
    const info = this.current();
    const deltaSum = decodeVerifiableSum(sum, this.task.settings, collectionRotationSeed(info.baseModelSha256), info.deltaLength);
    const model = await averagedModel(this.base, deltaSum, reports, `collection ${info.collectionId}'s model`);
    const file = model.file;
    await this.store.insertModel(this.taskId, {
      collection: info.collectionId,
      sha256: model.header.payloadSha256,
      file,
      contributors: reports,
      publishedAt: now,
    });
    this.base = model;
    this.published = { collection: info.collectionId, sha256: model.header.payloadSha256, publishedAt: now, file };
    return { collection: info.collectionId, sha256: model.header.payloadSha256 };
  }
}
