/**
 * An in-process SMTP server on 127.0.0.1 (a free port) that reads and discards each message, for
 * tests of the foreman with real QueueActors: `onMessage` hears each one's recipients, and the
 * reply to DATA waits `holdMs()` (a slow destination).
 */
import {SMTPServer} from 'smtp-server'

export interface SmtpSink {
  port: number
  close(): Promise<void>
}

export async function startSmtpSink(options: {onMessage?: (rcptTo: string[]) => void; holdMs?: () => number} = {}): Promise<SmtpSink> {
  const sink = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    disableReverseLookup: true,
    onData(stream, session, callback) {
      stream.resume()
      stream.on('end', () => {
        options.onMessage?.(session.envelope.rcptTo.map((r) => r.address))
        setTimeout(callback, options.holdMs?.() ?? 0)
      })
    },
  })
  const port = await new Promise<number>((resolve) => sink.listen(0, '127.0.0.1', () => resolve((sink.server.address() as {port: number}).port)))
  return {
    port,
    close: async () => {
      for (const c of (sink as unknown as {connections: Set<{_socket: {destroy(): void}}>}).connections) c._socket.destroy()
      await new Promise<void>((resolve) => sink.close(() => resolve()))
    },
  }
}
