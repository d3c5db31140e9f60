/**
 * THREAD and UID THREAD (RFC 5256 §3): `THREAD algorithm charset search-key…` with the
 * ORDEREDSUBJECT and REFERENCES algorithms, over the messages SEARCH's criteria select.
 */
import {ParseError} from '../parser.js'
import {formatThreads, orderedSubject, referencesThreads} from '../sort/thread.js'
import type {CommandHandler} from '../session.js'
import {sortables} from './sort.js'

export const THREAD_ALGORITHMS = {ORDEREDSUBJECT: orderedSubject, REFERENCES: referencesThreads}

export const THREAD: CommandHandler = {
  states: ['selected'],
  holdsExpunges: true,
  async run(session, {args, uid}) {
    const name = args.atom('threading algorithm').toUpperCase()
    const algorithm = THREAD_ALGORITHMS[name as keyof typeof THREAD_ALGORITHMS]
    if (!algorithm) throw new ParseError(`THREAD: unknown algorithm ${name.slice(0, 30)}`)
    const messages = await sortables(session, args)
    if (!messages) return
    const threads = formatThreads(algorithm(messages), uid ? (m) => m.record.uid : (m) => m.seq)
    session.write(`* THREAD${threads ? ' ' + threads : ''}\r\n`)
  },
}
