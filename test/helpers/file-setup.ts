/** Runs before every test file (vitest.config.ts `setupFiles`): the helpers' cleanups at its end (./file-end.ts). */
import {afterAll} from 'vitest'
import {runFileEnd} from './file-end.js'

afterAll(runFileEnd)
