/**
 * The root oclif plugin of the single executable. oclif normally finds commands on the file
 * system (the manifest's `relativePath`s, then `import()` of each file); the executable has no
 * such files, so this plugin serves the same manifest (embedded at build time, so `--help` and
 * command listings work) and loads each command class from the bundle on first use. It is
 * handed to `Config.load({plugins})`, oclif's documented way to provide plugins pre-loaded.
 */
import type {Command, Interfaces} from '@oclif/core'

/** command id -> the bundled command module's class, required lazily (esbuild keeps it lazy) */
export type CommandTable = Record<string, () => Command.Class>

export class BundledPlugin implements Interfaces.Plugin {
  readonly _base: string
  readonly alias: string
  readonly name: string
  readonly version: string
  readonly commands: Command.Loadable[]
  readonly commandsDir = undefined
  readonly hasManifest = true
  readonly hooks = {}
  readonly isRoot = true
  readonly moduleType = 'commonjs' as const
  readonly options: Interfaces.PluginOptions
  readonly type = 'core'
  readonly valid = true

  constructor(
    readonly root: string,
    readonly pjson: Interfaces.PJSON,
    private readonly manifest: Interfaces.Manifest,
    private readonly table: CommandTable,
  ) {
    this.name = this.alias = pjson.name
    this.version = pjson.version
    this._base = `${this.name}@${this.version}`
    this.options = {root, isRoot: true, pjson}
    this.commands = Object.entries(manifest.commands).map(([id, cached]) => ({
      ...cached,
      load: () => this.findCommand(id, {must: true}),
    }))
  }

  get commandIDs(): string[] {
    return Object.keys(this.manifest.commands)
  }

  get topics(): Interfaces.Topic[] {
    return Object.entries(this.pjson.oclif.topics ?? {}).map(([name, topic]) => ({...topic, name}))
  }

  async load(): Promise<void> {}

  findCommand(id: string, opts: {must: true}): Promise<Command.Class>
  findCommand(id: string, opts?: {must: boolean}): Promise<Command.Class> | undefined
  findCommand(id: string, opts?: {must: boolean}): Promise<Command.Class> | undefined {
    const load = this.table[id]
    if (!load) {
      if (opts?.must) return Promise.reject(new Error(`command ${id} not found`))
      return undefined
    }
    const cmd = load()
    cmd.id = id
    cmd.plugin = this
    return Promise.resolve(cmd)
  }
}
