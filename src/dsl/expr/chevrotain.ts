/**
 * chevrotain, loaded from the single-file bundle it ships (`lib/chevrotain.mjs`). Its package entry
 * pulls in ~650 lodash-es modules (~300 ms at start-up, most of `runbook validate`'s time); the
 * bundle is the same code in one file (~20 ms). The exports map hides it, so it is found next to
 * the entry. Types still come from the package.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Chevrotain from 'chevrotain';

const entry = createRequire(import.meta.url).resolve('chevrotain');
const bundle = join(dirname(entry), '..', 'chevrotain.mjs');
const lib = (await import(pathToFileURL(bundle).href)) as typeof Chevrotain;

export const { EmbeddedActionsParser, EOF, createToken, Lexer } = lib;
export type { CstNode, ILexingError, IOrAlt, IParserErrorMessageProvider, IRecognitionException, IToken, OrMethodOpts, ParserMethod, TokenType } from 'chevrotain';
