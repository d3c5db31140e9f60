/** Bytes handed from one thread to another by moving their memory rather than copying it. */

/**
 * `bytes` as a view of all of an ArrayBuffer that may be moved (postMessage's transfer list): `bytes`
 * itself when it has its memory to itself (nothing copied), else a copy. Moving the ArrayBuffer of
 * a Buffer that is a view into more (one of Node's small-Buffer pool slabs, a larger message) would
 * move, or fail to move, memory that others use.
 */
export function movable(bytes: Uint8Array): Uint8Array {
  const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
  return own ? bytes : new Uint8Array(bytes)
}

/** a Buffer over all of `bytes` (a moved message), without a copy */
export const bufferOf = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** `pieces` joined into memory of its own, so it can be moved without another copy */
export function joinedMovable(pieces: Uint8Array[]): Buffer {
  const joined = Buffer.allocUnsafeSlow(pieces.reduce((n, piece) => n + piece.byteLength, 0))
  let at = 0
  for (const piece of pieces) {
    joined.set(piece, at)
    at += piece.byteLength
  }
  return joined
}
