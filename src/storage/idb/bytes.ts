/** About how many bytes a stored record takes, whatever shape it is in (damaged records take space too). */

/** Stored bytes of an embeddings record: the int8 codes, the scales and about 16 bytes per text hash; any other shape as JSON. */
export function chunkBytes(chunk: unknown): number {
  const { codes, scales, textHashes } = (chunk ?? {}) as { codes?: unknown; scales?: unknown; textHashes?: unknown };
  if (!ArrayBuffer.isView(codes) || !ArrayBuffer.isView(scales)) return jsonLength(chunk);
  return codes.byteLength + scales.byteLength + (Array.isArray(textHashes) ? textHashes.length * 16 : 0);
}

/** Stored bytes of a weight: its values by their length; any other shape as JSON. */
export function weightBytes(weight: unknown): number {
  const values = (weight as { values?: unknown } | null)?.values;
  return ArrayBuffer.isView(values) ? values.byteLength : jsonLength(weight);
}

/** JSON length of a stored value; 0 for one JSON cannot write (a BigInt, a cycle: IndexedDB stores both). */
export function jsonLength(value: unknown): number {
  try {
    return (JSON.stringify(value ?? null) ?? '').length;
  } catch {
    return 0;
  }
}
