/** `mailbox user profile`: a user's Apple configuration profile, with what serve would advertise. */
import {isIP} from 'node:net'
import {normalizeAddress} from '../address.js'
import type {ServeConfig} from '../config.js'
import {MailboxError} from '../errors.js'
import type {MailboxStore} from '../store/backend.js'
import {appleProfile, type AppleProfile} from './mobileconfig.js'
import {clientSettingsOf, type ClientSettings} from './settings.js'

export interface UserProfile extends AppleProfile {
  address: string
  settings: ClientSettings
}

/** a profile for users only: an alias or an unknown address has no account to set up */
export async function userProfile(store: MailboxStore, config: Pick<ServeConfig, 'hostname' | 'ports' | 'clientSettings'>, input: string): Promise<UserProfile> {
  const address = normalizeAddress(input)
  if (!(await store.directory.user(address))) throw new MailboxError('not-found', `no user ${address}: a profile sets up a user's account (mailbox user list shows them)`)
  const settings = clientSettingsOf(config)
  // a bare machine name (the system's, when no config says otherwise) is reachable from nowhere else
  if (!settings.hostname.includes('.') && !isIP(settings.hostname)) {
    throw new MailboxError('invalid', `the host name ${JSON.stringify(settings.hostname)} is not one clients can reach: give --hostname (or hostname / clientSettings.hostname in --config), e.g. mail.${address.split('@')[1]}`)
  }
  return {address, settings, ...appleProfile(address, settings)}
}

export {profileFileName} from './profile-name.js'
