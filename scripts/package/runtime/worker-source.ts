/**
 * Worker threads of the single executable: a SEA has no worker file on disk, so the build
 * bundles each worker script on its own into a SEA asset, and the pool that starts it gets its
 * source here, to run with `new Worker(source, {eval: true})` (the build rewrites the `new Worker`
 * call; a bundled worker needs nothing but built-in modules).
 */
import {getAsset} from 'node:sea'

const sources = new Map<string, string>()

export function workerSource(asset: string): string {
  let source = sources.get(asset)
  if (source === undefined) sources.set(asset, (source = getAsset(asset, 'utf8') as string))
  return source
}
