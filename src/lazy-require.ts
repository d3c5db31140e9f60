/**
 * A dependency loaded at its first use, synchronously, instead of when the module naming it is
 * loaded: for heavy dependencies of modules that every command loads but few commands run.
 * The store's schema migrations, run by every open, reach MIME analysis (libmime and its
 * charset tables, ~15 ms) and DKIM key generation (node:crypto); `user list` runs neither.
 * Where the caller can wait, a dynamic import() at the point of use does the same job; this is
 * for synchronous code.
 *
 * In the single executable, whose require() knows only built-in modules, the build turns each
 * call into a plain require() of the same name, which esbuild bundles (lazyRequireRewrites in
 * scripts/package/esbuild-plugins.ts): so the name must be a string literal.
 */
import {createRequire} from 'node:module'

export const lazyRequire: <T>(name: string) => T = createRequire(import.meta.url)
