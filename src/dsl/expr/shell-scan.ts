/**
 * A bash lexer just deep enough to tell, for each `${{ }}` of a script, the quoting context it sits
 * in (spec §12). It follows bash's lexical states: unquoted words, '…', "…", $'…', $"…", `…`,
 * $( ), $(( )), ${ }, comments, and heredoc bodies (quoted or not). Each placeholder gets one of:
 *
 * - `word`: unquoted, becomes "${VAR}" (one word, never split or globbed);
 * - `double` (inside "…") and `heredoc` (an unquoted heredoc body): becomes ${VAR}, expanded there;
 * - `comment`: inside a comment, harmless either way;
 * - `unsafe`: a context where no reference to a variable keeps the value data: inside single
 *   quotes, $'…', a quoted heredoc, ${ } or arithmetic (bash evaluates the value of a variable in
 *   $(( )), (( )), $[ ], array subscripts, `let`, `declare -i` and `[[ -eq ]]` as an expression,
 *   `a[$(cmd)]` included), right after `$` or `\`, or as a heredoc delimiter.
 *
 * Where this lexer could be wrong about bash, the choice of replacement keeps it harmless: "${VAR}"
 * read inside single quotes or a comment is inert text, and inside double quotes a plain ${VAR}.
 */
import { UNSAFE, type ShellContext, type Tok, type Unsafe } from './shell-contexts.js';
import { collectHeredocBody, readHeredocDelimiter, type Heredoc } from './shell-heredoc.js';

export type { ShellContext, Tok } from './shell-contexts.js';

/** The context of every placeholder, by index. */
export function scanShell(src: Tok[]): ShellContext[] {
  const out: ShellContext[] = [];
  new Scanner(src, out, new Set()).command(false);
  return out;
}

const ARITH_TESTS = new Set(['-eq', '-ne', '-lt', '-le', '-gt', '-ge']);
// After these words the next word starts a command again (`then [[ … ]]`, `do let …`).
const RESERVED = new Set(['then', 'do', 'else', 'elif', 'if', 'while', 'until', '!', '{', 'time', 'exec', 'command', 'builtin']);
const DECLARE = new Set(['declare', 'local', 'typeset', 'readonly', 'export']);
// Commands that parse an argument again as shell code.
const REPARSE = new Set(['eval', 'trap']);
const INTEGER_FLAG = /^-[a-zA-Z]*i/;

/** The word being read and the simple command it belongs to. */
interface Words {
  text: string;
  /** Unclosed unquoted `[` in this word: a placeholder there is an array subscript (arithmetic). */
  brackets: number;
  /** Words of the simple command so far. */
  words: string[];
  /** Open `[[ … ]]`: its placeholders, and whether it compares numbers. */
  test?: { placeholders: number[]; arithmetic: boolean };
}

class Scanner {
  private i = 0;
  private heredocs: Heredoc[] = [];

  constructor(
    private readonly src: Tok[],
    private readonly out: ShellContext[],
    /** Names declared with `declare -i` (or local/typeset -i) so far: assigning to them is arithmetic. */
    private readonly integers: Set<string>,
  ) {}

  private mark(p: number, ctx: ShellContext): void {
    this.out[p] = ctx;
  }

  private unsafe(p: number, why: Unsafe): void {
    this.mark(p, { kind: 'unsafe', ...why });
  }

  /**
   * Commands until the end, or (inside `$( )`) until its closing `)`. Words are tracked only as far as
   * the contexts above need: command words, `[[`, `case`, brackets.
   */
  command(inSubstitution: boolean): void {
    const w: Words = { text: '', brackets: 0, words: [] };
    let depth = 0;
    let cases = 0;
    const endWord = () => {
      if (w.text === '' && !w.words.length) return;
      const word = w.text;
      if (word !== '') {
        if (word === '[[' && w.words.length === 0) w.test = { placeholders: [], arithmetic: false };
        else if (w.test && ARITH_TESTS.has(word)) w.test.arithmetic = true;
        else if (w.test && word === ']]') {
          if (w.test.arithmetic) for (const p of w.test.placeholders) this.unsafe(p, UNSAFE.test);
          w.test = undefined;
        }
        if (w.words.length === 0 && word === 'case') cases++;
        if (word === 'esac' && cases > 0) cases--;
        if (RESERVED.has(word) && w.words.length === 0) {
          /* the next word is a command word again */
        } else w.words.push(word);
      }
      w.text = '';
      w.brackets = 0;
    };
    const endCommand = () => {
      endWord();
      const [cmd, ...args] = w.words;
      if (cmd !== undefined && DECLARE.has(cmd) && args.some((a) => INTEGER_FLAG.test(a))) {
        for (const a of args) if (!a.startsWith('-')) this.integers.add(a.replace(/[=[].*$/, ''));
      }
      w.words = [];
    };
    while (this.i < this.src.length) {
      const t = this.src[this.i];
      if (typeof t === 'number') {
        this.placeholder(t, w, 'word');
        this.i++;
        continue;
      }
      const next = this.src[this.i + 1];
      switch (t) {
        case ' ':
        case '\t':
          endWord();
          this.i++;
          break;
        case '\n':
          endCommand();
          this.i++;
          this.readHeredocs();
          break;
        case ';':
        case '&':
        case '|':
          endCommand();
          this.i++;
          break;
        case '(':
          if (w.text === '' && next === '(') {
            this.i += 2;
            this.balanced('(', ')', 2, UNSAFE.arith);
            endWord();
            break;
          }
          endCommand();
          depth++;
          this.i++;
          break;
        case ')':
          if (inSubstitution && depth === 0 && cases === 0) {
            endCommand();
            this.i++;
            return;
          }
          if (depth > 0) depth--;
          endCommand();
          this.i++;
          break;
        case '#':
          if (w.text === '') this.comment();
          else {
            w.text += t;
            this.i++;
          }
          break;
        case '\\':
          this.backslash(w);
          break;
        case "'":
          this.i++;
          this.until("'", UNSAFE.single, false);
          w.text += "''";
          break;
        case '"':
          this.i++;
          this.double(w);
          w.text += '""';
          break;
        case '`':
          this.backtick(w, false);
          w.text += '``';
          break;
        case '$':
          this.dollar(w, false);
          break;
        case '<':
          if (next === '<' && this.src[this.i + 2] !== '<') {
            endWord();
            this.i += 2;
            this.heredocOperator();
          } else {
            endWord();
            this.i += next === '<' ? 3 : 1;
          }
          break;
        case '>':
          endWord();
          this.i++;
          break;
        case '[':
          w.text += t;
          w.brackets++;
          this.i++;
          break;
        case ']':
          w.text += t;
          if (w.brackets > 0) w.brackets--;
          this.i++;
          break;
        default:
          w.text += t;
          this.i++;
      }
    }
    endCommand();
  }

  private placeholder(p: number, w: Words, kind: 'word' | 'double'): void {
    w.text += '\0';
    if (w.brackets > 0) return this.unsafe(p, UNSAFE.subscript);
    const cmd = w.words[0];
    if (cmd !== undefined && REPARSE.has(cmd)) return this.unsafe(p, UNSAFE.reparse);
    if (cmd === 'let' || (cmd !== undefined && DECLARE.has(cmd) && w.words.some((x) => INTEGER_FLAG.test(x)))) return this.unsafe(p, UNSAFE.let);
    const assigned = /^([A-Za-z_]\w*)\+?=/.exec(w.text)?.[1];
    if (assigned !== undefined && this.integers.has(assigned)) return this.unsafe(p, UNSAFE.let);
    this.mark(p, { kind });
    w.test?.placeholders.push(p);
  }

  private backslash(w: Words): void {
    const next = this.src[this.i + 1];
    if (typeof next === 'number') this.unsafe(next, UNSAFE.backslash);
    else if (next !== '\n' && next !== undefined) w.text += next;
    this.i += 2;
  }

  private comment(): void {
    while (this.i < this.src.length && this.src[this.i] !== '\n') {
      const t = this.src[this.i];
      if (typeof t === 'number') this.mark(t, { kind: 'comment' });
      this.i++;
    }
  }

  /** Up to the closing `close` (single quotes, or $'…' with backslash escapes): every placeholder unsafe. */
  private until(close: string, where: Unsafe, escapes: boolean): void {
    while (this.i < this.src.length) {
      const t = this.src[this.i];
      if (typeof t === 'number') this.unsafe(t, where);
      else if (t === close) {
        this.i++;
        return;
      } else if (escapes && t === '\\') {
        const next = this.src[this.i + 1];
        if (typeof next === 'number') this.unsafe(next, where);
        this.i++;
      }
      this.i++;
    }
  }

  /** Inside "…", from after the opening quote to after the closing one. */
  private double(w: Words): void {
    while (this.i < this.src.length) {
      const t = this.src[this.i];
      if (typeof t === 'number') {
        this.placeholder(t, w, 'double');
        this.i++;
      } else if (t === '"') {
        this.i++;
        return;
      } else if (t === '\\') {
        const next = this.src[this.i + 1];
        if (typeof next === 'number') this.unsafe(next, UNSAFE.backslash);
        this.i += 2;
      } else if (t === '$') this.dollar(w, true);
      else if (t === '`') this.backtick(w, true);
      else this.i++;
    }
  }

  /** At a `$`: what follows decides (substitution, arithmetic, parameter, $'…', $"…" or a plain `$x`). */
  private dollar(w: Words, quoted: boolean): void {
    const next = this.src[this.i + 1];
    if (typeof next === 'number') {
      this.unsafe(next, UNSAFE.dollar);
      w.text += '$\0';
      this.i += 2;
      return;
    }
    if (next === '(' && this.src[this.i + 2] === '(') {
      this.i += 3;
      this.balanced('(', ')', 2, UNSAFE.arith);
    } else if (next === '(') {
      this.i += 2;
      this.command(true);
    } else if (next === '{') {
      this.i += 2;
      this.balanced('{', '}', 1, UNSAFE.param);
    } else if (next === '[') {
      this.i += 2;
      this.balanced('[', ']', 1, UNSAFE.arith);
    } else if (next === "'" && !quoted) {
      this.i += 2;
      this.until("'", UNSAFE.ansi, true);
    } else if (next === '"' && !quoted) {
      this.i += 2;
      this.double(w);
    } else {
      this.i++;
    }
    w.text += '$x';
  }

  /**
   * Up to the bracket that closes `depth` open ones; every placeholder inside is unsafe. Quotes and
   * backslashes are skipped so a quoted bracket does not count.
   */
  private balanced(open: string, close: string, depth: number, where: Unsafe): void {
    let quote: string | undefined;
    while (this.i < this.src.length && depth > 0) {
      const t = this.src[this.i++];
      if (typeof t === 'number') {
        this.unsafe(t, where);
        continue;
      }
      if (t === '\\') {
        const next = this.src[this.i];
        if (typeof next === 'number') this.unsafe(next, where);
        this.i++;
      } else if (quote) {
        if (t === quote) quote = undefined;
      } else if (t === "'" || t === '"' || t === '`') quote = t;
      else if (t === open) depth++;
      else if (t === close) depth--;
    }
  }

  /**
   * `…`: bash takes the text up to the next unescaped backquote, removes the backslash before
   * `$`, `` ` ``, `\` (and `"` inside double quotes), and parses the result as a command.
   */
  private backtick(w: Words, quoted: boolean): void {
    this.i++;
    const inner: Tok[] = [];
    while (this.i < this.src.length) {
      const t = this.src[this.i];
      if (t === '`') {
        this.i++;
        break;
      }
      if (t === '\\') {
        const next = this.src[this.i + 1];
        if (next === '$' || next === '`' || next === '\\' || (quoted && next === '"')) {
          inner.push(next);
          this.i += 2;
          continue;
        }
      }
      inner.push(t);
      this.i++;
    }
    new Scanner(inner, this.out, this.integers).command(false);
    void w;
  }

  /** After `<<` or `<<-`: the delimiter word; its body starts after the end of this line. */
  private heredocOperator(): void {
    const { heredoc, next } = readHeredocDelimiter(this.src, this.i, (p) => this.unsafe(p, UNSAFE.delimiter));
    this.heredocs.push(heredoc);
    this.i = next;
  }

  /** At the start of a line after `<<EOF` operators: their bodies, in order. */
  private readHeredocs(): void {
    const pending = this.heredocs;
    this.heredocs = [];
    for (const h of pending) {
      const { body, next } = collectHeredocBody(this.src, this.i, h);
      this.i = next;
      if (h.quoted) {
        for (const t of body) if (typeof t === 'number') this.unsafe(t, UNSAFE.quotedHeredoc);
      } else new Scanner(body, this.out, this.integers).heredocBody();
    }
  }

  /** An unquoted heredoc body: like double quotes, except that `"` is an ordinary character. */
  private heredocBody(): void {
    const w: Words = { text: '', brackets: 0, words: [] };
    while (this.i < this.src.length) {
      const t = this.src[this.i];
      if (typeof t === 'number') {
        this.mark(t, { kind: 'heredoc' });
        this.i++;
      } else if (t === '\\') {
        const next = this.src[this.i + 1];
        if (typeof next === 'number') this.unsafe(next, UNSAFE.backslash);
        this.i += 2;
      } else if (t === '$') this.dollar(w, true);
      else if (t === '`') this.backtick(w, false);
      else this.i++;
    }
  }
}
