/** The server's replies on a raw SMTP socket, as the scripted clients of the tests and benches read them. */
import type {Socket} from 'node:net'

/**
 * Calls `reply` with each complete reply's last line (a multi-line reply's `250-…` lines are
 * skipped), in order; `reply` returning true stops reading the lines already received.
 */
export function onReplies(socket: Socket, reply: (line: string) => boolean | void): void {
  let buffered = ''
  socket.on('data', (d) => {
    buffered += d.toString()
    let nl
    while ((nl = buffered.indexOf('\r\n')) >= 0) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 2)
      if (line[3] === '-') continue
      if (reply(line)) return
    }
  })
}
