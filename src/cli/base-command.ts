/**
 * The base of every `mailbox` command: the `--data-dir` flag (env MAILBOX_DATA_DIR, default
 * ./data) and the `--store` flag (env MAILBOX_STORE: a postgres:// URL instead of the data dir's
 * LMDB store), the store opened once per run and closed after it, and one mapping of errors:
 * a MailboxError is one `Error: …` line per problem on stderr and exit code 1; oclif's own usage errors
 * keep exit code 2. Commands stay thin: parse flags, call `src/`, print or return data.
 */
import {resolve} from 'node:path'
import {Command, Flags, type Interfaces} from '@oclif/core'
import {isMailboxError} from '../errors.js'
import type {MailboxStore} from '../store/backend.js'
import {openStoreBackend} from '../store/open.js'

/** oclif's parser output types, as its `parse` declares them (not exported by name) */
type FlagOutput = {[name: string]: any}
type ArgOutput = {[name: string]: any}

export abstract class MailboxCommand extends Command {
  static override baseFlags = {
    'data-dir': Flags.string({
      summary: 'Data directory (the LMDB store, TLS files, control socket).',
      env: 'MAILBOX_DATA_DIR',
      default: './data',
      helpGroup: 'GLOBAL',
    }),
    store: Flags.string({
      summary: 'The store: a postgres:// URL shared by several nodes (default: the LMDB store in the data dir).',
      env: 'MAILBOX_STORE',
      helpGroup: 'GLOBAL',
    }),
  }

  static override enableJsonFlag = true
  private opened?: MailboxStore
  /** --store as parsed (commands parse their flags before they open the store) */
  private storeUrl: string | undefined

  protected override async parse<F extends FlagOutput, B extends FlagOutput, A extends ArgOutput>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    const parsed = await super.parse(options, argv)
    this.storeUrl = (parsed.flags as {store?: string}).store
    return parsed
  }

  /**
   * Opens the store: the PostgreSQL one of --store (MAILBOX_STORE), else the data dir's LMDB
   * store. Only the commands that write a store's first records (`domain add`; `serve` opens its
   * own) pass `create`: every other one refuses a dir without a store (`Error: no mailbox store in
   * DIR …`, exit 1) and creates nothing there, so a typo in `--data-dir` never shows an empty table.
   */
  protected async openStore(dataDir: string, options: {readOnly?: boolean; create?: boolean} = {}): Promise<MailboxStore> {
    this.opened ??= await openStoreBackend({dataDir: resolve(dataDir), store: this.storeUrl, readOnly: options.readOnly ?? false, create: options.create ?? false})
    return this.opened
  }

  /** Prints human output unless --json was given (oclif then prints what run() returns). */
  protected say(text: string): void {
    if (!this.jsonEnabled()) this.log(text)
  }

  protected override async catch(err: Error & {exitCode?: number}): Promise<unknown> {
    if (isMailboxError(err)) {
      // one `Error:` line per problem (a config file can have several), each greppable
      process.stderr.write(err.message.split('\n').map((line) => `Error: ${line}\n`).join(''))
      this.exit(1)
    }
    return super.catch(err)
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    if (this.opened) await this.opened.close()
    return super.finally(err)
  }
}
