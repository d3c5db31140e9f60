/**
 * A message refused by its only recipient's Sieve script (`reject`/`ereject`, RFC 5429 §2.1):
 * thrown by the delivery before anything is stored; the SMTP front-end answers 550 5.7.1 with
 * the script's reason at the end of DATA.
 */
export class SieveRejected extends Error {
  constructor(readonly reason: string) {
    super(reason)
  }
}
