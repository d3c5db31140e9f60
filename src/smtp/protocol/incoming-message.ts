/**
 * One message in the DATA phase, as the onData hook sees it: `ondata` gets the (dot-unstuffed)
 * content in pieces as it arrives, `onend` fires once the final dot came, `onabort` when the
 * message will not be completed (over the size limit: the layer reads on to the end and refuses it
 * with 552 5.3.4 itself; or the connection died). After `onabort`, nothing else fires.
 * `pause()`/`resume()` stop and restart reading from the client (TCP backpressure, for the memory
 * budget); the idle timeout does not run while paused.
 */
export class IncomingMessage {
  /** content bytes so far */
  bytes = 0
  ondata: (piece: Buffer) => void = noop
  onend: () => void = noop
  onabort: (err: Error) => void = noop

  constructor(private readonly flow: {pause(): void; resume(): void}) {}

  pause(): void {
    this.flow.pause()
  }

  resume(): void {
    this.flow.resume()
  }
}

function noop(): void {}
