/**
 * A large catalog's row shards kept on the device (issue 21): one file per shard in the catalog's OPFS
 * directory (`catalog-rows-<n>.bin`, the bytes the publisher wrote), opened with sync handles, so the
 * worker reads one item's row (its text, byline, tags) with one read and never holds a million texts.
 *
 * A shard is checked whole (core/catalog-rows decodeRowShard: checksum, every row against the columns)
 * before it is written. On a later start only its header and row table are read back and checked against
 * the columns, not its SHA-256 (15 MB a shard, every start); each row is checked again when it is read
 * (its id and text hash those of the columns), so a file damaged on disk costs the rows it damages.
 *
 * A download in progress (engine/catalog-rows-fetch.ts) keeps its bytes in `catalog-rows-<n>.part` and
 * how far it got in `catalog-rows.partial.json` (shard, bytes, the response's validator), so the next
 * visit continues it with a Range request.
 */
import type { CatalogColumns } from '../core/catalog-columns';
import { decodeRowShard, readRowShardLayout, RowsError, StoredRows, type RowShardLayout } from '../core/catalog-rows';
import type { PartialShard, SyncDirectory, SyncFile } from './opfs-vectors';

export const rowFileName = (shard: number) => `catalog-rows-${shard}.bin`;
/** A row shard's bytes received so far (engine/scale-download.ts), until it is checked and stored. */
export const rowPartName = (shard: number) => `catalog-rows-${shard}.part`;
/** Which row shard's download was in progress and how far it got (JSON of a PartialShard). */
const PARTIAL_FILE = 'catalog-rows.partial.json';
/** The header (≤ 64 KiB), its framing and the row table of a full shard: what a start reads of each file. */
const prefixBytes = (rowsPerShard: number) => 64 * 1024 + 16 + 4 * rowsPerShard;

export interface RefusedRowFile {
  shard: number;
  message: string;
}

export class CatalogRowFiles {
  readonly rows: StoredRows;
  private readonly files = new Map<number, SyncFile>();
  private partialRecord: PartialShard | undefined;
  private partialFile: SyncFile | undefined;

  private constructor(
    /** The catalog's row directory (the downloads write their `.part` files into it). */
    readonly directory: SyncDirectory,
    readonly columns: CatalogColumns,
  ) {
    this.rows = new StoredRows(columns);
  }

  /**
   * Opens the shards stored before. A file whose header or table does not fit these columns (another
   * catalog version) or that is shorter than its table says (cut by an eviction or a crash) is removed
   * and listed in `refused`: it is downloaded again.
   */
  static async open(directory: SyncDirectory, columns: CatalogColumns): Promise<{ store: CatalogRowFiles; refused: RefusedRowFile[] }> {
    const store = new CatalogRowFiles(directory, columns);
    // Kept open once there (a download was in progress); created by the first download (`startDownloads`).
    store.partialFile = await directory.open(PARTIAL_FILE, false);
    store.partialRecord = store.partialFile && parsePartial(store.partialFile);
    const refused: RefusedRowFile[] = [];
    const per = columns.header.rowShardItems;
    // Every file asked for at once: each open is a round trip to the browser's storage (20 in turn took
    // ~0.6 s of a returning visit at 1,000,000 items). One that fails (another tab holds it) fails the
    // open, with the others closed again.
    const opening = await Promise.allSettled(Array.from({ length: store.shards }, (_, shard) => directory.open(rowFileName(shard), false)));
    const failed = opening.find((result) => result.status === 'rejected');
    if (failed) {
      for (const result of opening) if (result.status === 'fulfilled') result.value?.close();
      store.partialFile?.close();
      throw failed.reason;
    }
    for (const [shard, result] of opening.entries()) {
      const file = (result as PromiseFulfilledResult<SyncFile | undefined>).value;
      if (!file) continue;
      try {
        const head = new Uint8Array(Math.min(file.getSize(), prefixBytes(per)));
        file.read(head, { at: 0 });
        const layout = readRowShardLayout(head, columns, shard, rowFileName(shard));
        const size = layout.rowsStart + (layout.ends[layout.ends.length - 1] ?? 0);
        if (file.getSize() !== size) throw new RowsError('truncated', `${rowFileName(shard)}: ${file.getSize()} bytes stored, its table describes ${size}`);
        store.add(layout, file);
      } catch (error) {
        file.close();
        await directory.remove(rowFileName(shard)).catch(() => undefined);
        refused.push({ shard, message: error instanceof Error ? error.message : String(error) });
      }
    }
    return { store, refused };
  }

  /** Checks a downloaded shard whole and stores it; a RowsError (nothing written) when it cannot be used. */
  async store(shard: number, bytes: Uint8Array): Promise<void> {
    const layout = await decodeRowShard(bytes, this.columns, shard, rowFileName(shard));
    this.files.get(shard)?.close();
    this.files.delete(shard);
    const file = (await this.directory.open(rowFileName(shard), true))!;
    file.truncate(0);
    file.write(bytes, { at: 0 });
    file.flush();
    this.add(layout, file);
  }

  has(shard: number): boolean {
    return this.rows.has(shard);
  }

  /** Shards in all (the columns' items in slices of the header's rowShardItems). */
  get shards(): number {
    return Math.ceil(this.columns.size / this.columns.header.rowShardItems);
  }

  /** The row shard download in progress at the last visit's end (its bytes in rowPartName(shard)). */
  get partial(): PartialShard | undefined {
    return this.partialRecord;
  }

  /** Before the first download: the file where `setPartial` records how far a download got. */
  async startDownloads(): Promise<void> {
    this.partialFile ??= (await this.directory.open(PARTIAL_FILE, true))!;
  }

  /** Records how far a row shard's download got (undefined: none in progress); written at once. */
  setPartial(partial: PartialShard | undefined): void {
    this.partialRecord = partial;
    const file = this.partialFile;
    if (!file) return;
    const bytes = partial ? new TextEncoder().encode(JSON.stringify(partial)) : new Uint8Array(0);
    file.truncate(0);
    file.write(bytes, { at: 0 });
    file.flush();
  }

  /** Bytes on disk (stored shards and the bytes of one in progress), for the Privacy panel. */
  get bytes(): number {
    let total = this.partialRecord?.bytes ?? 0;
    for (const file of this.files.values()) total += file.getSize();
    return total;
  }

  close(): void {
    for (const file of this.files.values()) file.close();
    this.files.clear();
    this.partialFile?.close();
    this.partialFile = undefined;
  }

  private add(layout: RowShardLayout, file: SyncFile): void {
    this.files.set(layout.header.shard, file);
    this.rows.add(layout, (offset, length) => {
      const buffer = new Uint8Array(length);
      const read = file.read(buffer, { at: offset });
      return read === length ? buffer : buffer.subarray(0, read);
    });
  }
}

/** The partial record kept in `file`, if it is one (anything else: no download in progress). */
function parsePartial(file: SyncFile): PartialShard | undefined {
  if (file.getSize() === 0 || file.getSize() > 4096) return undefined;
  const bytes = new Uint8Array(file.getSize());
  file.read(bytes, { at: 0 });
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as Partial<PartialShard> | null;
    if (!value || !Number.isInteger(value.shard) || !Number.isInteger(value.bytes) || value.shard! < 0 || value.bytes! < 0) return undefined;
    return { shard: value.shard!, bytes: value.bytes!, ...(typeof value.validator === 'string' ? { validator: value.validator } : {}) };
  } catch {
    return undefined;
  }
}
