/** The capture actor: answers `capture.fault` from the stored fault-injection rules (`store.capture`, ./rules.ts). */
import type {Actor, Bus} from '../bus.js'
import type {MailboxStore} from '../store/backend.js'
import {parseReply} from './rules.js'

export class CaptureActor implements Actor {
  readonly name = 'capture'
  private unregister?: () => void

  constructor(
    private readonly bus: Bus,
    private readonly store: MailboxStore,
  ) {}

  async start(): Promise<void> {
    this.unregister = this.bus.handle('capture.fault', async ({stage, recipients}) => {
      const rule = await this.store.capture.takeFault(stage, recipients)
      return rule ? parseReply(rule.reply) : null
    })
  }

  async stop(): Promise<void> {
    this.unregister?.()
  }
}
