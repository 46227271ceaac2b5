/**
 * `runbook validate --format github|sarif`: the diagnostics as GitHub Actions workflow commands
 * (annotations on the pull request) or as a SARIF 2.1.0 log for code-scanning UIs.
 */
import { relative, sep } from 'node:path';
import type { Diagnostic } from '../dsl/errors.js';
import { isError, sortDiagnostics } from '../dsl/errors.js';

export interface FileResult {
  file: string;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

// Workflow-command escaping (actions/toolkit's command.ts): data escapes %, CR, LF; properties also : and ,.
const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** `::error file=…,line=…,col=…,title=CODE::message` a diagnostic. */
export function githubAnnotations(results: FileResult[]): string {
  const lines: string[] = [];
  for (const d of sortDiagnostics(results.flatMap((r) => [...r.errors, ...r.warnings]))) {
    const props = [`file=${escapeProperty(d.file ?? '')}`];
    if (d.line !== undefined) props.push(`line=${d.line}`);
    if (d.col !== undefined) props.push(`col=${d.col}`);
    props.push(`title=${escapeProperty(`runbook ${d.code}`)}`);
    lines.push(`::${isError(d) ? 'error' : 'warning'} ${props.join(',')}::${escapeData(d.message)}`);
  }
  return lines.map((l) => l + '\n').join('');
}

const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

/** A SARIF 2.1.0 log: one run, one rule per diagnostic code, one result per diagnostic. */
export function sarifLog(results: FileResult[], version: string, cwd = process.cwd()): object {
  const diags = sortDiagnostics(results.flatMap((r) => [...r.errors, ...r.warnings]));
  const codes = [...new Set(diags.map((d) => d.code))].sort();
  const uri = (file: string) => {
    const rel = relative(cwd, file) || file;
    const path = rel.split(sep).join('/');
    return encodeURI(path);
  };
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'runbook',
            version,
            informationUri: 'https://runbook.dev/docs/dsl',
            rules: codes.map((id) => ({ id, name: id, shortDescription: { text: `runbook validation: ${id}` } })),
          },
        },
        originalUriBaseIds: { SRCROOT: { uri: pathToUri(cwd) } },
        artifacts: [...new Set(results.map((r) => r.file))].map((f) => ({ location: { uri: uri(f), uriBaseId: 'SRCROOT' } })),
        results: diags.map((d) => ({
          ruleId: d.code,
          ruleIndex: codes.indexOf(d.code),
          level: isError(d) ? 'error' : 'warning',
          message: { text: d.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: uri(d.file ?? ''), uriBaseId: 'SRCROOT' },
                ...(d.line !== undefined ? { region: { startLine: d.line, ...(d.col !== undefined ? { startColumn: d.col } : {}) } } : {}),
              },
            },
          ],
        })),
        columnKind: 'utf16CodeUnits',
      },
    ],
  };
}

function pathToUri(dir: string): string {
  const withSlash = dir.endsWith('/') ? dir : `${dir}/`;
  return `file://${encodeURI(withSlash.split(sep).join('/'))}`;
}
