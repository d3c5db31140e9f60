/**
 * Creating outbound queue entries: moved to ../store/lmdb-enqueue.ts with the rest of the queue's
 * LMDB code; re-exported here for the delivery transaction that calls it.
 */
export {enqueueInTxn} from '../store/lmdb-enqueue.js'
