/**
 * The base of every `mailbox` command: the `--data-dir` flag (env MAILBOX_DATA_DIR, default
 * ./data), the store opened once per run and closed after it, and one mapping of errors:
 * a MailboxError is one `Error: …` line per problem on stderr and exit code 1; oclif's own usage errors
 * keep exit code 2. Commands stay thin: parse flags, call `src/`, print or return data.
 */
import {resolve} from 'node:path'
import {Command, Flags} from '@oclif/core'
import {isMailboxError} from '../errors.js'
import {openStore, type Store} from '../store/store.js'

export abstract class MailboxCommand extends Command {
  static override baseFlags = {
    'data-dir': Flags.string({
      summary: 'Data directory (the LMDB store, TLS files, control socket).',
      env: 'MAILBOX_DATA_DIR',
      default: './data',
      helpGroup: 'GLOBAL',
    }),
  }

  static override enableJsonFlag = true
  private opened?: Store

  protected openStore(dataDir: string, options: {readOnly?: boolean} = {}): Store {
    this.opened ??= openStore(resolve(dataDir), options)
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
