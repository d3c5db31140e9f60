/**
 * Creating outbound queue entries: moved to ../store/lmdb-queue.ts with the rest of the queue's
 * LMDB code; re-exported here for the delivery transaction that calls it.
 */
export {enqueueInTxn} from '../store/lmdb-queue.js'
