/**
 * What the engine's modules share: the catalog, its vectors, the history and the content profile,
 * the item on a host's screen, and the engine's lifetime. Each module owns its own state besides.
 */
import { CatalogIndex } from '../core/catalog-index';
import { buildProfile, EMPTY_PROFILE, type ContentProfile } from '../core/profile';
import type { StoredEvent } from '../storage/db';
import { DEFAULT_DIVERSITY, type EngineConfig } from './api';
import type { EngineDeps } from './deps';
import { genreEmbedding } from './genres';
import { SnapshotHub } from './snapshot';
import type { EngineCatalog } from './catalog-scale';
import type { ScalePath } from './scale';
import { userPause } from './user-pause';
import { CatalogVectors } from './vectors';

export class EngineState {
  readonly view = new SnapshotHub();
  readonly vectors = new CatalogVectors();
  config!: EngineConfig;
  /** A catalog too large for one matrix (engine/scale.ts): its rows in OPFS, its pool from the index. */
  scale: ScalePath | undefined;
  /** The catalog: item objects (CatalogIndex), or a large catalog's columns (engine/catalog-scale.ts). */
  catalog: EngineCatalog = new CatalogIndex([]);
  events: StoredEvent[] = [];
  profile: ContentProfile = EMPTY_PROFILE;
  /** Items whose embedding the history needs now; embedded before the rest. */
  urgent: number[] = [];
  /** Widget mode: catalog index of the item on the host's screen (see Engine.setContext). */
  contextIndex: number | undefined;
  /** 0 = most relevant first, 1 = as varied as possible. */
  diversity = DEFAULT_DIVERSITY;
  /** When the last like, dislike or click arrived (performance.now()); see userPause. */
  lastUserEventAt = Number.NEGATIVE_INFINITY;
  /** Aborted once the data is erased (here or in another tab): every run stops, nothing more is written. */
  private readonly lifetime = new AbortController();

  constructor(readonly deps: EngineDeps) {}

  get stopped(): boolean {
    return this.lifetime.signal.aborted;
  }

  stop(): void {
    this.lifetime.abort();
  }

  /**
   * The catalog held whole (every item, text and hash in memory): what the modules of the small path
   * read (the embedding pass, a change of text model, BM25, the model's item list). A columns catalog
   * (at scale) has no such arrays: those modules are not run there.
   */
  get catalogIndex(): CatalogIndex {
    if (!(this.catalog instanceof CatalogIndex)) throw new Error('This catalog is too large to be held whole on this device');
    return this.catalog;
  }

  rebuildProfile(): void {
    this.profile = buildProfile(
      this.events,
      (id) => {
        const index = this.catalog.indexOf(id);
        return index === undefined ? undefined : this.vectors.rows[index];
      },
      (genre) => genreEmbedding(this.catalog, this.vectors.rows, genre),
    );
  }

  /** Resolves once no like, dislike or click has arrived for `ms` (idle time for heavy, deferrable work). */
  userPause(ms: number): Promise<void> {
    return userPause(this, ms);
  }
}
