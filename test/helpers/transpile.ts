/**
 * Transpile some of our TS modules (those importing only Node built-ins and each other) into a
 * folder, so a child `node` process can run the real code in crash and race tests.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';

export function buildModules(outDir: string, files: string[]): void {
  for (const file of files) {
    const source = readFileSync(join(import.meta.dirname, '../../src', file), 'utf8');
    const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
    const out = join(outDir, file.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
  writeFileSync(join(outDir, 'package.json'), '{"type":"module"}');
}
