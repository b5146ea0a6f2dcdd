/**
 * Joins byte chunks into one buffer (the chunk itself when there is one);
 * `alloc` makes the buffer (Node passes Buffer.allocUnsafe, which takes small
 * ones from its pool instead of a zeroed allocation of their own).
 */
export function concatBytes(chunks: Uint8Array[], size: number, alloc?: (size: number) => Uint8Array): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = alloc !== undefined ? alloc(size) : new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
