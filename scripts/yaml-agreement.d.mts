// Types of scripts/yaml-agreement.mjs for the tests that share its comparison.
import type { FastFile } from '../src/dsl/load-fast.js';

export type YamlPath = Array<string | number>;
export function compareWithYaml(text: string, fastLoad: (text: string) => FastFile | undefined): { taken: boolean; problem?: string };
export function nodes(node: unknown): Array<{ path: YamlPath; start: number; key?: boolean; block?: boolean }>;
