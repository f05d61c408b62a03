/**
 * A large catalog's row shards kept on the device (issue 21): one file per shard in the catalog's OPFS
 * directory (`catalog-rows-<n>.bin`, the bytes the publisher wrote), opened with sync handles, so the
 * worker reads one item's row (its text, byline, tags) with one read and never holds a million texts.
 *
 * A shard is checked whole (core/catalog-rows decodeRowShard: checksum, every row against the columns)
 * before it is written. On a later start only its header and row table are read back and checked against
 * the columns, not its SHA-256 (15 MB a shard, every start); each row is checked again when it is read
 * (its id and text hash those of the columns), so a file damaged on disk costs the rows it damages.
 */
import type { CatalogColumns } from '../core/catalog-columns';
import { decodeRowShard, readRowShardLayout, RowsError, StoredRows, type RowShardLayout } from '../core/catalog-rows';
import type { SyncDirectory, SyncFile } from './opfs-vectors';

export const rowFileName = (shard: number) => `catalog-rows-${shard}.bin`;
/** The header (≤ 64 KiB), its framing and the row table of a full shard: what a start reads of each file. */
const prefixBytes = (rowsPerShard: number) => 64 * 1024 + 16 + 4 * rowsPerShard;

export interface RefusedRowFile {
  shard: number;
  message: string;
}

export class CatalogRowFiles {
  readonly rows: StoredRows;
  private readonly files = new Map<number, SyncFile>();

  private constructor(
    private readonly directory: SyncDirectory,
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
    const refused: RefusedRowFile[] = [];
    const per = columns.header.rowShardItems;
    for (let shard = 0; shard * per < columns.size; shard++) {
      const file = await directory.open(rowFileName(shard), false);
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

  /** Bytes on disk, for the Privacy panel. */
  get bytes(): number {
    let total = 0;
    for (const file of this.files.values()) total += file.getSize();
    return total;
  }

  close(): void {
    for (const file of this.files.values()) file.close();
    this.files.clear();
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
