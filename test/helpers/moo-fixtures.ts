// test/fixtures/moo/moocore.json (written by test/fixtures/moo/make_fixtures.py): moocore's values
// for fronts too large for the brute-force oracles. Tests skip, saying why, when it is absent.
import { existsSync, readFileSync } from 'node:fs';

export type MinimiseFlag = boolean | boolean[];

export interface MoocoreFixtures {
  moocore: string;
  conventions: Record<string, string>;
  hypervolume: { name: string; m: number; n: number; minimise: MinimiseFlag; ref: number[]; points: number[][]; hypervolume: number; outside: number; nondominated: number; moocoreSeconds: number }[];
  contributions: { name: string; m: number; n: number; minimise: MinimiseFlag; ref: number[]; points: number[][]; contributions: number[]; contributionsIgnoreDominated: number[]; hypervolume: number }[];
  /** ranks are 1-based (moocore's 0-based rank + 1), for paretoRanks(points, { minimise }). */
  paretoRanks: { name: string; m: number; n: number; minimise: MinimiseFlag; points: number[][]; ranks: number[]; fronts: number }[];
}

export const MOOCORE_FIXTURE = 'test/fixtures/moo/moocore.json';

/** The fixtures, or null (with the reason printed once) when the file is absent. */
export function loadMoocoreFixtures(): MoocoreFixtures | null {
  if (!existsSync(MOOCORE_FIXTURE)) {
    console.warn(`skipping the moocore fixture tests: ${MOOCORE_FIXTURE} is absent (run test/fixtures/moo/make_fixtures.py to record it)`);
    return null;
  }
  return JSON.parse(readFileSync(MOOCORE_FIXTURE, 'utf8')) as MoocoreFixtures;
}
