/**
 * The dashboard tests' browser: the Debian chromium driven by playwright-core, headless, with its own
 * temp profile. Without chromium the tests skip with a line naming the package, except under CI=true
 * where it is an error. SONDE_SCREENSHOTS=1 sets SHOTS, where the tests write docs/screenshots/*.png.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI === 'true') throw new Error(`${CHROMIUM} missing: install the Debian package chromium`);
/** For `test(..., { skip })`: false, or why the browser tests cannot run here. */
export const skipWithoutChromium: string | false = haveChromium ? false : `${CHROMIUM} not found (install the Debian package chromium)`;
export const SHOTS = process.env.SONDE_SCREENSHOTS === '1' ? join(process.cwd(), 'docs', 'screenshots') : undefined;

export interface TestBrowser {
  readonly ctx: BrowserContext;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Launches chromium on a fresh temp profile, 1400 px wide (and creates SHOTS when set). */
export async function launchBrowser(height = 1000): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'sonde-chromium-'));
  const removeProfile = (): void => rmSync(profile, { recursive: true, force: true });
  let ctx: BrowserContext;
  try {
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height },
    });
  } catch (err) {
    removeProfile();
    throw err;
  }
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  return {
    ctx,
    async close() {
      await ctx.close();
      removeProfile();
    },
  };
}
