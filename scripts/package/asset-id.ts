/**
 * The id of an asset's cache dir (runtime/asset-cache.ts): sha256 over the names and contents of
 * the files it holds, 16 hex. Computed at build time and built in, so a start needs no hashing.
 */
import {createHash} from 'node:crypto'

export function assetDirId(files: Record<string, Uint8Array>): string {
  const h = createHash('sha256')
  for (const name of Object.keys(files).sort()) h.update(name).update('\0').update(files[name]!).update('\0')
  return h.digest('hex').slice(0, 16)
}
