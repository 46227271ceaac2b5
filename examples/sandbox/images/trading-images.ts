/**
 * The sandbox's "trading service" images, built through the Podman harness (busybox + scripts):
 * good releases answer `{"status":"UP","version":"…"}` on /actuator/health; the broken release
 * logs a startup exception and answers DOWN. Every image carries the same valid configuration in
 * /config/application.conf; configuration errors are injected into a container, not an image.
 */
import type { DockerApi } from '../services/docker.js';
import { BROKEN_BUILD_LOG, GOOD_CONFIG, START_SCRIPT, VALIDATE_CONFIG_SCRIPT } from './trading-app-scripts.js';

export { BROKEN_CONFIG, GOOD_CONFIG } from './trading-app-scripts.js';

export const TRADING_IMAGE_REPO = 'trademaster/trading-service';

/** The releases the sandbox knows: the one before last, the last good one (blue), the broken deployment (green). */
export const RELEASES = { previous: '1.4.1', stable: '1.4.2', broken: '1.5.0' } as const;

export const BROKEN_RELEASES: readonly string[] = [RELEASES.broken];

/** `trademaster/trading-service:<version>`. */
export function tradingImage(version: string): string {
  return `${TRADING_IMAGE_REPO}:${version}`;
}

/** The files of one release's image (besides busybox). */
export function tradingImageFiles(version: string, broken = BROKEN_RELEASES.includes(version)): Record<string, string> {
  return {
    '/app/VERSION': `${version}\n`,
    '/app/start': START_SCRIPT,
    '/app/validate-config': VALIDATE_CONFIG_SCRIPT,
    '/config/application.conf': GOOD_CONFIG,
    ...(broken ? { '/app/BROKEN': BROKEN_BUILD_LOG } : {}),
  };
}

/**
 * Make sure the images of `versions` (default: every release above) exist; returns their names.
 * Cheap when they already do (the harness compares a digest of the files).
 */
export async function ensureTradingImages(
  api: Pick<DockerApi, 'ensureImage'>,
  versions: readonly string[] = Object.values(RELEASES),
): Promise<string[]> {
  // One at a time: podman import is CPU-bound and these machines have two cores.
  for (const v of versions) await api.ensureImage(tradingImage(v), tradingImageFiles(v));
  return versions.map(tradingImage);
}
