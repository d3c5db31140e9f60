/**
 * Reading a password for `user add` / `user passwd`: from stdin with --password-stdin (scripts),
 * else from an interactive prompt without echo, only when stdin is a terminal.
 */
import {MailboxError} from '../errors.js'

export async function readPasswordFromStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  const password = text.split(/\r?\n/)[0] ?? ''
  if (!password) throw new MailboxError('invalid', 'no password on stdin')
  return password
}

function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const {stdin, stderr} = process
    stderr.write(question)
    stdin.setRawMode(true)
    stdin.resume()
    let value = ''
    const done = (err?: Error) => {
      stdin.setRawMode(false)
      stdin.pause()
      stdin.off('data', onData)
      stderr.write('\n')
      err ? reject(err) : resolve(value)
    }
    const onData = (data: Buffer) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done()
        if (ch === '\u0003') return done(new MailboxError('invalid', 'cancelled'))
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1)
        else if (ch >= ' ') value += ch
      }
    }
    stdin.on('data', onData)
  })
}

export async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) return readPasswordFromStdin()
  if (!process.stdin.isTTY) throw new MailboxError('invalid', 'no password given: use --password-stdin, or run in a terminal to be prompted')
  const first = await promptHidden('Password: ')
  const second = await promptHidden('Retype password: ')
  if (first !== second) throw new MailboxError('invalid', 'passwords do not match')
  return first
}
