/**
 * The esbuild plugins that turn the compiled CLI (dist/) into one CommonJS script a Node SEA can
 * run: a SEA's `require` only loads built-in modules, so everything else is either bundled or
 * replaced here. Each replacement names the exact file it rewrites and fails the build when the
 * text it expects is gone (a dependency update then breaks the build, not the binary).
 */
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join, relative} from 'node:path'
import type {Metafile, Plugin} from 'esbuild'

const RUNTIME = join(import.meta.dirname, 'runtime')

/** `mailbox:commands` (lazy command table), `mailbox:manifest`, `mailbox:pjson`, built from the repo. */
export function embeddedCli(repo: string): Plugin {
  const manifest = JSON.parse(readFileSync(join(repo, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}
  const pjson = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as Record<string, unknown>
  const {name, version, description, oclif, dependencies} = pjson
  const sources: Record<string, string> = {
    commands:
      'exports.COMMANDS = {\n' +
      Object.entries(manifest.commands)
        // require() inside a function: esbuild wraps each ESM module so it runs on first call,
        // so `--version` does not evaluate blessed, mailparser and the rest
        .map(([id]) => `  ${JSON.stringify(id)}: () => require(${JSON.stringify(compiledCommand(repo, id))}).default,`)
        .join('\n') +
      '\n}\n',
    manifest: `module.exports = ${JSON.stringify(manifest)}`,
    pjson: `module.exports = ${JSON.stringify({name, version, description, oclif, dependencies})}`,
  }
  return {
    name: 'mailbox-embedded-cli',
    setup(build) {
      build.onResolve({filter: /^mailbox:/}, (args) => ({path: args.path.slice('mailbox:'.length), namespace: 'mailbox'}))
      build.onLoad({filter: /.*/, namespace: 'mailbox'}, (args) => ({contents: sources[args.path], loader: 'js', resolveDir: repo}))
    },
  }
}

/**
 * dist/commands/<id>.js. Not the manifest's relativePath: a manifest written with NODE_ENV=test or
 * development (oclif's dev mode) points at the TypeScript sources instead.
 */
function compiledCommand(repo: string, id: string): string {
  const file = join(repo, 'dist', 'commands', ...id.split(':')) + '.js'
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build`)
  return file
}

/** node-gyp-build(-optional-packages) -> the SEA asset loader, per add-on package. */
export function nativeAddons(assetOf: (importer: string) => string | undefined): Plugin {
  return {
    name: 'mailbox-native-addons',
    setup(build) {
      build.onResolve({filter: /^node-gyp-build(-optional-packages)?$/}, (args) => {
        const asset = assetOf(args.importer)
        if (!asset) return {errors: [{text: `no SEA asset for a native add-on loaded by ${args.importer}`}]}
        return {path: asset, namespace: 'native-addon'}
      })
      build.onLoad({filter: /.*/, namespace: 'native-addon'}, (args) => ({
        contents: `const {loadNativeAddon} = require(${JSON.stringify(join(RUNTIME, 'native-addon.ts'))})\nmodule.exports = () => loadNativeAddon(${JSON.stringify(args.path)})\n`,
        loader: 'js',
        resolveDir: RUNTIME,
      }))
      // optional speed-ups whose absence their users handle (msgpackr falls back to pure JS);
      // source-map-support is tried by a dependency in a try/catch; typescript (9 MB, two
      // thirds of the bundle, which every start loads) by oclif in a try/catch, only to read
      // the tsconfig of a plugin run from its TypeScript sources, which the binary has none of
      build.onResolve({filter: /^(msgpackr-extract|source-map-support|typescript)$/}, (args) => ({path: args.path, namespace: 'absent'}))
      build.onLoad({filter: /.*/, namespace: 'absent'}, (args) => ({
        contents: `throw new Error(${JSON.stringify(`${args.path} is not part of the single executable`)})`,
        loader: 'js',
      }))
    },
  }
}

type Rewrite = {file: RegExp; from: RegExp | string; to: string; count?: number}

/** Text rewrites of named dependency files; the build fails when one no longer applies. */
export function rewrites(list: Rewrite[]): Plugin {
  return {
    name: 'mailbox-rewrites',
    setup(build) {
      build.onLoad({filter: /\.js$/}, (args) => {
        const mine = list.filter((r) => r.file.test(args.path))
        if (!mine.length) return undefined
        let text = readFileSync(args.path, 'utf8')
        for (const r of mine) {
          const pattern = typeof r.from === 'string' ? new RegExp(r.from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g') : r.from
          const hits = text.match(pattern)?.length ?? 0
          if (hits !== (r.count ?? 1)) {
            return {errors: [{text: `${relative(process.cwd(), args.path)}: expected ${r.count ?? 1} of ${String(r.from)}, found ${hits}: the dependency changed, review the rewrite`}]}
          }
          text = text.replace(pattern, () => r.to)
        }
        return {contents: text, loader: 'js', resolveDir: dirname(args.path)}
      })
    },
  }
}

/** blessed: a static widget table instead of `require('./widgets/' + file)`, and its usr/ data from the SEA. */
export function blessedRewrites(blessedDir: string): Rewrite[] {
  const widgets = readFileSync(join(blessedDir, 'lib', 'widget.js'), 'utf8')
  const classes = [...(widgets.match(/widget\.classes = \[([^\]]*)\]/)?.[1] ?? '').matchAll(/'(\w+)'/g)].map((m) => m[1]!.toLowerCase())
  if (classes.length < 20) throw new Error('blessed/lib/widget.js: widget class list not found')
  const table = `({${classes.map((c) => `${JSON.stringify(c)}: () => require('./widgets/${c}')`).join(', ')}})[file]()`
  const usr = `require(${JSON.stringify(join(RUNTIME, 'blessed-data.ts'))}).blessedUsrDir() + '/`
  return [
    {file: /blessed[\\/]lib[\\/]widget\.js$/, from: "require('./widgets/' + file)", to: table},
    {file: /blessed[\\/]lib[\\/]tput\.js$/, from: "__dirname + '/../usr/", to: usr, count: 4},
    {file: /blessed[\\/]lib[\\/]widgets[\\/]bigtext\.js$/, from: "__dirname + '/../../usr/", to: usr, count: 2},
  ]
}

/**
 * Packages whose ESM build runs code made by direct `eval` that names the module's top-level
 * variables (ordered-binary's string decoder reads `position`): bundled as ESM, esbuild renames
 * those variables and the eval'd code silently reads the wrong ones (lmdb key reads loop). Their
 * CommonJS builds keep their names inside a function wrapper, so those are bundled instead.
 */
export function commonJsBuildsOf(packages: string[]): Plugin {
  const filter = new RegExp(`^(${packages.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`)
  return {
    name: 'mailbox-commonjs-builds',
    setup(build) {
      build.onResolve({filter}, (args) => ({path: createRequire(args.importer).resolve(args.path)}))
    },
  }
}

/** The bundled ESM files that call `eval(` directly (not a method named eval): each needs commonJsBuildsOf (above). */
export function esmWithDirectEval(metafile: Metafile, cwd: string): string[] {
  return Object.entries(metafile.inputs)
    .filter(([path, input]) => input.format === 'esm' && /(^|[^.\w])eval\((?![^)]*\)\s*\{)/m.test(readFileSync(join(cwd, path), 'utf8')))
    .map(([path]) => path)
}

/** Worker threads started from a file, run from a bundled SEA asset instead (runtime/worker-source.ts). */
export function workerRewrites(workers: {pool: RegExp; call: string; asset: string}[]): Rewrite[] {
  const source = (asset: string) => `require(${JSON.stringify(join(RUNTIME, 'worker-source.ts'))}).workerSource(${JSON.stringify(asset)})`
  return workers.map(({pool, call, asset}) => {
    // `new Worker(FILE, {` -> `new Worker(<source>, {eval: true, `
    const m = /^new Worker\((\w+), \{$/.exec(call)
    if (!m) throw new Error(`unexpected worker call ${call}`)
    return {file: pool, from: call, to: `new Worker(${source(asset)}, {eval: true, `}
  })
}

/**
 * src/lazy-require.ts: each `lazyRequire('name')` of the compiled sources as `require('name')`,
 * which esbuild bundles and, inside the function calling it, runs at the call (the SEA's own
 * require knows only built-ins). A call whose name is not a string literal fails the build.
 */
export function lazyRequireRewrites(distSrc: string): Rewrite[] {
  const list: Rewrite[] = []
  for (const file of readdirSync(distSrc, {recursive: true, encoding: 'utf8'}).filter((f) => f.endsWith('.js') && f !== 'lazy-require.js')) {
    const text = readFileSync(join(distSrc, file), 'utf8')
    const calls = text.match(/\blazyRequire\(/g)?.length ?? 0
    if (!calls) continue
    const literal = [...text.matchAll(/\blazyRequire\(('[^'\\]+'|"[^"\\]+")\)/g)].map((m) => m[1]!)
    if (literal.length !== calls) throw new Error(`${join(distSrc, file)}: lazyRequire() with a name that is not a string literal`)
    const path = new RegExp(`${join(distSrc, file).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
    for (const name of new Set(literal)) {
      list.push({file: path, from: `lazyRequire(${name})`, to: `require(${name})`, count: literal.filter((n) => n === name).length})
    }
  }
  return list
}
