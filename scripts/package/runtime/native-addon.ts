/**
 * Stands in for `node-gyp-build` (argon2) and `node-gyp-build-optional-packages` (lmdb) in the
 * single executable: the add-on comes from the SEA asset of that name, is put in the cache dir
 * (asset-cache.ts) and opened with `process.dlopen()`. Both add-ons are Node-API builds, so the
 * Node 24 runtime of the executable loads the same files as Node 20 does in the clone.
 */
import {join} from 'node:path'
import {getAsset} from 'node:sea'
import {assetId, withMaterialized} from './asset-cache.js'

const loaded = new Map<string, unknown>()

export function loadNativeAddon(asset: string): unknown {
  let exports = loaded.get(asset)
  if (exports === undefined) {
    exports = withMaterialized(asset, assetId(asset), {[asset]: new Uint8Array(getAsset(asset))}, (dir) => {
      const module = {exports: {}}
      process.dlopen(module, join(dir, asset))
      return module.exports
    })
    loaded.set(asset, exports)
  }
  return exports
}
