/**
 * A real yaml-language-server (the devDependency, the server behind VS Code's YAML extension, yamlls
 * in Neovim, …) spawned over stdio and driven as an editor would: LSP JSON-RPC through
 * vscode-jsonrpc, documents opened with their text, completion / hover asked at a position,
 * diagnostics collected from `textDocument/publishDiagnostics`. Positions are LSP's: 0-based line
 * and UTF-16 character.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node.js';

export interface LspPosition {
  line: number;
  character: number;
}
export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}
export interface LspDiagnostic {
  range: LspRange;
  message: string;
  severity?: number;
  source?: string;
}
export interface LspCompletionItem {
  label: string;
  kind?: number;
  insertText?: string;
  documentation?: string | { kind: string; value: string };
}
export interface LspHover {
  contents: { kind: string; value: string } | string;
  range?: LspRange;
}

export interface YamlLs {
  pid: number;
  /** Opens (or replaces) a document; resolves with its diagnostics once the server has checked it. */
  open(path: string, text: string, languageId?: string): Promise<LspDiagnostic[]>;
  completion(path: string, pos: LspPosition): Promise<LspCompletionItem[]>;
  hover(path: string, pos: LspPosition): Promise<LspHover | null>;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);
const SERVER = require.resolve('yaml-language-server/bin/yaml-language-server');

export interface YamlLsOptions {
  /** The workspace folder (`rootUri`): relative schema paths in `schemas` resolve against it. */
  root: string;
  /** `yaml.schemas`, as in VS Code's settings.json: schema path or URL → globs of the files it is for. */
  schemas: Record<string, string[]>;
}

/** Starts the server with these `yaml.schemas` settings (what docs/editors.md tells editors to set), validation, hover and completion on. */
export async function startYamlLs(opts: YamlLsOptions): Promise<YamlLs> {
  const child: ChildProcess = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const conn: MessageConnection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const waiting = new Map<string, (d: LspDiagnostic[]) => void>();
  conn.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: LspDiagnostic[]; version?: number }) => {
    // yaml-language-server sends no version: the latest change of the document is the one answered.
    const done = waiting.get(p.uri);
    if (done) {
      waiting.delete(p.uri);
      done(p.diagnostics);
    }
  });
  // The server asks its client for settings and registrations; answer as VS Code would.
  const settings = {
    yaml: {
      validate: true,
      hover: true,
      completion: true,
      format: { enable: false },
      schemaStore: { enable: false },
      schemas: opts.schemas,
    },
  };
  conn.onRequest('workspace/configuration', (p: { items: { section?: string }[] }) =>
    p.items.map((i) => (i.section ? (settings as Record<string, unknown>)[i.section.split('.')[0]] ?? null : settings)),
  );
  conn.onRequest('client/registerCapability', () => null);
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.onNotification(() => {});
  conn.listen();

  await conn.sendRequest('initialize', {
    processId: process.pid,
    rootUri: pathToFileURL(opts.root).href,
    workspaceFolders: [{ uri: pathToFileURL(opts.root).href, name: 'workspace' }],
    capabilities: {
      workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: false } },
      textDocument: {
        completion: { completionItem: { snippetSupport: true, documentationFormat: ['markdown', 'plaintext'] } },
        hover: { contentFormat: ['markdown', 'plaintext'] },
        publishDiagnostics: { versionSupport: true },
      },
    },
    initializationOptions: {},
  });
  await conn.sendNotification('initialized', {});
  await conn.sendNotification('workspace/didChangeConfiguration', { settings });

  const versions = new Map<string, number>();
  const uriOf = (path: string) => pathToFileURL(path).href;
  const timeout = <T>(p: Promise<T>, what: string): Promise<T> =>
    Promise.race([
      p,
      new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`yaml-language-server: no ${what} within 20 s; stderr: ${stderr}`)), 20_000).unref()),
    ]);

  return {
    pid: child.pid!,
    async open(path, text, languageId = 'yaml') {
      const uri = uriOf(path);
      const version = (versions.get(uri) ?? 0) + 1;
      versions.set(uri, version);
      const diagnostics = new Promise<LspDiagnostic[]>((resolve) => waiting.set(uri, resolve));
      if (version === 1) {
        await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version, text } });
      } else {
        await conn.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
      }
      return timeout(diagnostics, `diagnostics for ${path}`);
    },
    async completion(path, position) {
      const r = await timeout(conn.sendRequest<{ items: LspCompletionItem[] } | LspCompletionItem[] | null>('textDocument/completion', { textDocument: { uri: uriOf(path) }, position }), 'completion');
      return Array.isArray(r) ? r : (r?.items ?? []);
    },
    async hover(path, position) {
      return timeout(conn.sendRequest<LspHover | null>('textDocument/hover', { textDocument: { uri: uriOf(path) }, position }), 'hover');
    },
    async stop() {
      try {
        await timeout(conn.sendRequest('shutdown'), 'shutdown answer');
        await conn.sendNotification('exit');
      } catch {
        // The process is killed below either way.
      }
      conn.dispose();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 2_000).unref();
        await exited;
      }
    },
  };
}
