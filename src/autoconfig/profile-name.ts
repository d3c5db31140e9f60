/** a profile's file name, as Safari and Finder show it: `alice-at-example-com.mobileconfig` (letters, digits, `-` and `_` only: safe in a header and on every file system) */
export const profileFileName = (address: string): string => `${address.replace(/@/g, '-at-').replace(/[^\w-]+/g, '-')}.mobileconfig`
