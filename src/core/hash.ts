/**
 * Content hash of an item's text: the embedding cache key, so an edited text is re-embedded.
 * Two 32-bit FNV-1a passes with different offsets give 64 bits: synchronous and fast enough to
 * hash a 100,000-item catalog on every start (SHA-256 through crypto.subtle is async per call and
 * costs far more here); collisions among 10^5 texts are ~10^-10 likely.
 */
export function textHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    a = Math.imul(a ^ code, 0x01000193);
    b = Math.imul(b ^ code, 0x01000193) ^ (b >>> 13);
  }
  return hex64(a, b);
}

/**
 * Content hash of a float array's bits (FNV-1a over its 32-bit words, two passes as textHash): which
 * parameters a cache was derived from. Sees -0 and 0, or two NaN payloads, as different: a cache
 * is then recomputed, never wrongly reused.
 */
export function floatsHash(values: Float32Array): string {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    a = Math.imul(a ^ word, 0x01000193);
    b = Math.imul(b ^ word, 0x01000193) ^ (b >>> 13);
  }
  return hex64(a, b);
}

/** The two 32-bit lanes of textHash and floatsHash as 16 hex digits. */
function hex64(a: number, b: number): string {
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}
