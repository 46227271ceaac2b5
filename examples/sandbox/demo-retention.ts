/**
 * A year of dated backups for the retention drill, and what a 7-daily/4-weekly/12-monthly policy
 * must keep of them, worked out by hand (not by the runbook's code). Objects are put in shuffled
 * order, so S3's last-modified says nothing about their dates: the runbook must read the keys.
 */
// The SDK's Node-22 notice is not for someone running the demo (the CLI silences it too).
import '../../src/util/quiet-sdk-warning.js';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Sandbox } from './sandbox.js';
import { s3ClientConfig } from './services/s3.js';

const FULL = 'postgresql/full/';
const MANIFESTS = 'postgresql/manifests/';

/** A daily 02:00 backup from `first` to `last`, a second one at 14:00 on the last three days. */
export const RETENTION_FIXTURE = {
  first: '2024-01-01',
  last: '2025-01-17',
  undated: `${FULL}manual-before-upgrade.dump`,
  /** Newest of each of the 7 latest days, 4 latest ISO weeks (Mon–Sun), 12 latest months. */
  keep: [
    // daily: 17, 16, 15 (their 14:00 backups), 14, 13, 12, 11 January 2025
    '20250117T140000Z', '20250116T140000Z', '20250115T140000Z', '20250114T020000Z', '20250113T020000Z', '20250112T020000Z', '20250111T020000Z',
    // weekly: weeks of 13 Jan (17th) and 6 Jan (12th) are kept already; 30 Dec–5 Jan → 5th; 23–29 Dec → 29th
    '20250105T020000Z', '20241229T020000Z',
    // monthly: January 2025 is kept already; the last day of Dec 2024 … Feb 2024 (a leap year)
    '20241231T020000Z', '20241130T020000Z', '20241031T020000Z', '20240930T020000Z', '20240831T020000Z', '20240731T020000Z',
    '20240630T020000Z', '20240531T020000Z', '20240430T020000Z', '20240331T020000Z', '20240229T020000Z',
  ].map((stamp) => `${FULL}${stamp}.dump`),
};

/** Every dump key of the fixture (dated ones), oldest first. */
export function fixtureDumpKeys(): string[] {
  const keys: string[] = [];
  const last = Date.parse(`${RETENTION_FIXTURE.last}T00:00:00Z`);
  for (let t = Date.parse(`${RETENTION_FIXTURE.first}T00:00:00Z`); t <= last; t += 86_400_000) {
    const day = new Date(t).toISOString().slice(0, 10).replaceAll('-', '');
    keys.push(`${FULL}${day}T020000Z.dump`);
    if (last - t < 3 * 86_400_000) keys.push(`${FULL}${day}T140000Z.dump`);
  }
  return keys;
}

/** Manifests exist for the 2025 backups only (older ones predate manifests). */
export function fixtureManifestKeys(): string[] {
  return fixtureDumpKeys()
    .filter((k) => k.startsWith(`${FULL}2025`))
    .map((k) => k.replace(FULL, MANIFESTS).replace(/\.dump$/, '.json'));
}

/** Put the fixture into the sandbox's bucket (small bodies, shuffled order). Returns the object count. */
export async function putDatedBackups(sb: Sandbox): Promise<number> {
  const client = new S3Client(s3ClientConfig(sb.s3));
  const keys = shuffle([...fixtureDumpKeys(), ...fixtureManifestKeys(), RETENTION_FIXTURE.undated]);
  try {
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const key = keys[next++];
        await client.send(new PutObjectCommand({ Bucket: sb.bucket, Key: key, Body: `backup ${key}\n` }));
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  } finally {
    client.destroy();
  }
  return keys.length;
}

/** Deterministic shuffle (seeded LCG), so a failing drill can be replayed. */
function shuffle<T>(items: T[]): T[] {
  let seed = 42;
  for (let i = items.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
