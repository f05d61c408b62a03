/**
 * What the engine reads of a catalog by item index, whatever holds it (issue 21): `CatalogIndex` over
 * item objects (catalogs up to 50,000 items) or `CatalogColumns` (core/catalog-columns.ts, typed arrays
 * for a catalog of a million). Engine modules move to this interface one by one; `feed.ts`, `search.ts`,
 * `storage-policy.ts` and `prebuilt.ts` still read CatalogIndex's arrays (docs/scale.md).
 */
export interface CatalogView {
  readonly size: number;
  /** The catalog index of an id, or undefined. */
  indexOf(id: string): number | undefined;
  title(index: number): string;
  /** The 16-hex-digit hash of the item's encoder text (the key of vectors and the cache). */
  textHash(index: number): string;
}
