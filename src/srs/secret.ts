/**
 * The SRS key: `store.settings.secret('srs')`, made once per installation and shared by every
 * process and node (so a bounce reaching another node reverses), asked of the store once per
 * store handle. A failed read is not kept: the next caller asks again.
 */
import type {SettingsStore} from '../store/backend.js'

export const SRS_SECRET_NAME = 'srs'

const cached = new WeakMap<object, Promise<Buffer>>()

export function srsSecret(store: {settings: SettingsStore}): Promise<Buffer> {
  let secret = cached.get(store)
  if (!secret) {
    secret = store.settings.secret(SRS_SECRET_NAME)
    cached.set(store, secret)
    secret.catch(() => cached.delete(store))
  }
  return secret
}
