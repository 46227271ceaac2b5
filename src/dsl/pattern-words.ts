/**
 * What the schema's string patterns mean, in words: `validate`'s messages and the editor schema's
 * `errorMessage` (what yaml-language-server shows instead of the raw regex) both read them here, so
 * the two say the same thing. A pattern a step type declares for itself carries its own
 * `errorMessage` next to it; a pattern known to neither gets one made from its description.
 */
import { DURATION_PATTERN } from './duration.js';
import { SIZE_PATTERN } from './size.js';
import { EXPRESSION_STRING_PATTERN, ID_PATTERN, NAME_PATTERN, PERCENT_PATTERN } from './schema-core.js';

export interface PatternWords {
  /** What a matching value is, with an article: "a duration". */
  noun: string;
  /** How to write one, said to whoever got it wrong: "use e.g. 250ms, 30s, 5m, 1h30m". */
  hint: string;
  /** Examples for a field's description in an editor: "e.g. 30s, 5m". */
  example?: string;
}

export const PATTERN_WORDS: Readonly<Record<string, PatternWords>> = {
  [DURATION_PATTERN]: { noun: 'a duration', hint: 'use e.g. 250ms, 30s, 5m, 1h30m', example: 'e.g. 250ms, 30s, 5m, 1h30m' },
  [ID_PATTERN]: { noun: 'an id', hint: "lowercase letters, digits and _, words joined by '-', starting with a letter", example: 'e.g. stop-app' },
  [NAME_PATTERN]: { noun: 'a name', hint: "letters, digits, _ and '-' between them", example: 'e.g. primary_db' },
  [SIZE_PATTERN]: { noun: 'a size', hint: 'a number with a unit (B, KB, KiB, MB, MiB, GB, GiB), e.g. 512KiB', example: 'e.g. 512KiB, 1MiB' },
  [EXPRESSION_STRING_PATTERN]: { noun: 'a ${{ }} expression', hint: 'one whole ${{ expr }}, with nothing around it' },
  [PERCENT_PATTERN]: { noun: 'a percentage', hint: 'use e.g. 25% or 12.5%, at most 100%', example: 'e.g. 25%' },
  '^[0-9]+$': { noun: 'a whole number', hint: 'digits only' },
};

/**
 * The editor message of a schema node with a `pattern`: "Invalid duration: use e.g. 250ms, 30s, 5m,
 * 1h30m." It also stands for a wrong type on that node (yaml-language-server shows `errorMessage`
 * for every failure of the node), so it says what is expected rather than what went wrong.
 */
export function patternErrorMessage(pattern: string, description: string | undefined): string {
  const words = PATTERN_WORDS[pattern];
  if (words) return `Expected ${words.noun}: ${words.hint}.`;
  // A pattern nobody put into words yet: its field's description says what is expected.
  const said = (description ?? '').trim().replace(/\.$/, '');
  return said ? `Expected: ${said}.` : 'This value is not in the expected form.';
}
