// What the browser tests share: bounded waits and Debian's Chromium as they start it.

import { chromium } from 'playwright-core';

/** Debian's Chromium (never downloaded), or OMEGA_CHROMIUM. */
export const CHROMIUM = process.env.OMEGA_CHROMIUM || '/usr/bin/chromium';

/** Rejects when `promise` has not settled within `ms`. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Starts headless Chromium as every browser test runs it. */
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // real host candidates instead of mDNS names, which nothing resolves in the namespace
      '--disable-features=WebRtcHideLocalIpsWithMdns'],
  });
}
