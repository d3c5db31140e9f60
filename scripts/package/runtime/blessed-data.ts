/**
 * blessed reads its terminfo/termcap fallbacks and BigText fonts from `__dirname/../usr`. In the
 * single executable they are one SEA asset, `blessed-usr.json` ({relative path: base64}); the
 * first call puts them in the cache dir and returns that dir (the build rewrites blessed's
 * `__dirname + '/../usr/'` to a call of this).
 */
import {getAsset} from 'node:sea'
import {assetId, withMaterialized, type FileSet} from './asset-cache.js'

let usrDir: string | undefined

export function blessedUsrDir(): string {
  if (usrDir === undefined) {
    const encoded = JSON.parse(getAsset('blessed-usr.json', 'utf8') as string) as Record<string, string>
    const files: FileSet = {}
    for (const [name, b64] of Object.entries(encoded)) files[name] = Buffer.from(b64, 'base64')
    usrDir = withMaterialized('blessed terminal data', assetId('blessed-usr.json'), files, (dir) => dir)
  }
  return usrDir
}
