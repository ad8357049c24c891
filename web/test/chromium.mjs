// Launches Debian's Chromium through playwright-core (never a downloaded
// browser). Loopback only: every host name but 127.0.0.1 fails to resolve.
// WebRTC between pages on 127.0.0.1 needs, besides the flag below, a network
// namespace with only `lo` (scripts/netns-run.sh) and camera/microphone
// permission (so Chromium offers host candidates instead of mDNS names).
import { existsSync } from 'node:fs';
import os from 'node:os';
import { chromium } from 'playwright-core';

export const chromiumPath = process.env.YZ_CHROMIUM ?? '/usr/bin/chromium';

export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
  '--allow-loopback-in-peer-connection',
];

export async function launchChromium() {
  if (!existsSync(chromiumPath)) {
    throw new Error(`no Chromium at ${chromiumPath}: apt-get install chromium (or set YZ_CHROMIUM)`);
  }
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
}

// A browser context whose pages may open WebRTC on loopback (host candidates).
export async function webrtcContext(browser, origin) {
  const context = await browser.newContext();
  await context.grantPermissions(['camera', 'microphone'], { origin });
  return context;
}

// Why Chromium cannot open WebRTC DataChannels between pages here, or null.
// Root outside the namespace is an error (the test scripts should have used
// it); a non-root user cannot create one, so those tests are skipped.
export function webrtcUnavailable() {
  const interfaces = Object.keys(os.networkInterfaces());
  if (interfaces.length === 1 && interfaces[0] === 'lo') return null;
  const why = `network interfaces ${interfaces.join(', ')}: Chromium WebRTC on loopback needs a namespace with only lo`;
  if (process.getuid?.() === 0) {
    throw new Error(`${why}; run the browser tests through web/scripts/netns-run.sh (npm run test:browser does)`);
  }
  return `${why}, and creating one needs root`;
}
