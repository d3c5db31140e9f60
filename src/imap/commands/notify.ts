/** tag NOTIFY SET [STATUS] event-groups | NOTIFY NONE (RFC 5465); see ../notify.ts */
import {Notifications, parseNotify} from '../notify.js'
import type {CommandHandler} from '../session.js'

export const NOTIFY: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    const spec = parseNotify(args)
    if (!spec) {
      session.setNotifications(undefined)
      return 'NOTIFY completed'
    }
    const notifications = new Notifications(spec, session.options.limits.maxNotifyPending)
    session.setNotifications(notifications)
    if (spec.status) for (const line of await notifications.all(session)) session.write(line)
    return 'NOTIFY completed'
  },
}
