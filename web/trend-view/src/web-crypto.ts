/** Stands in for isomorphic-webcrypto (see vite.config.ts): the browser's own Web Crypto. */
export default globalThis.crypto;
