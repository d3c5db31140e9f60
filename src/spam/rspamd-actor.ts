/**
 * The rspamd actor: answers `rspamd.check` (src/spam/rspamd-types.ts) for the end-of-DATA
 * decision with rspamd's verdict, or, when rspamd does not answer within its timeout or fails,
 * with `failed` set, so the caller fails open. Every check is published (`rspamd.checked`: the
 * metrics count actions and failures); a failure is logged with the queue id.
 */
import type {Actor, Bus} from '../bus.js'
import type {Logger} from '../log.js'
import type {RspamdClient} from './rspamd.js'
import type {RspamdCheckReply, RspamdCheckRequest} from './rspamd-types.js'

export class RspamdActor implements Actor {
  readonly name = 'rspamd'
  private unregister?: () => void

  constructor(
    private readonly bus: Bus,
    private readonly client: RspamdClient,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.unregister = this.bus.handle('rspamd.check', (req) => this.check(req))
  }

  async stop(): Promise<void> {
    this.unregister?.()
    this.client.close()
  }

  async check(req: RspamdCheckRequest): Promise<RspamdCheckReply> {
    const started = performance.now()
    const seconds = () => (performance.now() - started) / 1000
    try {
      const reply = await this.client.check(req)
      this.bus.publish('rspamd.checked', {action: reply.action, seconds: seconds()})
      this.log.debug({queueId: req.queueId, action: reply.action, score: reply.score, required: reply.required, symbols: reply.symbols}, 'rspamd verdict')
      return reply
    } catch (err) {
      const failed = (err as Error).message
      this.bus.publish('rspamd.checked', {action: 'failed', failed, seconds: seconds()})
      this.log.warn({queueId: req.queueId, err: failed}, 'rspamd check failed: the message is taken without its verdict')
      return {action: 'no action', score: 0, required: 0, symbols: [], failed}
    }
  }
}
