/**
 * Blob reference counting moved to ../store/lmdb-blobs.ts (the mail slice of issue #16). This
 * re-export remains for ../queue/ops.ts only, which the queue slice moves behind `store.queue`;
 * delete it then.
 */
export {addBlobRef, releaseBlob} from '../store/lmdb-blobs.js'
