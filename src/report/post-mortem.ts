/**
 * The sections of the DR guide's "Incident Report Template" that only people can write, kept as
 * headed places with the template's own prompts, so a report is the post-mortem's first draft.
 */
const TODO = '_To be written._';

/** `## Root Cause Analysis`: the template puts it right after the timeline. */
export function rootCauseSection(): string[] {
  return ['## Root Cause Analysis', '', `**Root Cause**: ${TODO}`, '', '**Contributing Factors**:', `1. ${TODO}`, ''];
}

/** Action Items, Lessons Learned and Prevention Measures: the template's closing sections. */
export function postMortemSections(): string[] {
  return [
    '## Action Items',
    '',
    '| Item | Owner | Priority | Due Date | Status |',
    '| --- | --- | --- | --- | --- |',
    `| ${TODO} |  |  |  | Open |`,
    '',
    '## Lessons Learned',
    '',
    '**What Went Well**:',
    `- ${TODO}`,
    '',
    '**What Needs Improvement**:',
    `- ${TODO}`,
    '',
    '## Prevention Measures',
    '',
    `1. ${TODO}`,
    '',
  ];
}
