import {Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {formatTable} from '../../src/cli/table.js'
import {AGE_LABELS, queueShape, type ShapeRow} from '../../src/queue/summary.js'

export default class QueueSummary extends MailboxCommand {
  static override summary = 'Entries waiting for delivery by destination domain and age, like Postfix qshape.'
  static override description =
    'Counts queued, sending and deferred entries (held ones are not counted) per destination domain, in age buckets since each was accepted: 0-5 minutes, 5-10, 10-20, … 640-1280, older. The TOTAL row comes first, then the busiest domains.'
  static override examples = ['<%= config.bin %> queue summary', '<%= config.bin %> queue summary --top 20 --json']
  static override flags = {top: Flags.integer({summary: 'Only the busiest N domains (the total counts all).', min: 1})}

  async run() {
    const {flags} = await this.parse(QueueSummary)
    const shape = await queueShape((await this.openStore(flags['data-dir'])).queue)
    if (flags.top) shape.domains = shape.domains.slice(0, flags.top)
    this.say(
      formatTable<ShapeRow>(
        [shape.total, ...shape.domains],
        [
          {header: 'domain', get: (r) => r.domain},
          {header: 'total', get: (r) => r.total},
          ...AGE_LABELS.map((label, i) => ({header: label.replace('m', ''), get: (r: ShapeRow) => r.ages[i]})),
        ],
      ),
    )
    return shape
  }
}
