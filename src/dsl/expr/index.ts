/** The expression language of spec §3: parse, evaluate, templates, shell quoting, secret masking. */
export type { BinaryOp, Expr, UnaryOp } from './ast.js';
export { ROOTS } from './ast.js';
export { ExprError, type ExprErrorCode } from './errors.js';
export { evaluate, type Scope } from './evaluate.js';
export { FUNCTIONS } from './functions.js';
export { parseExpression } from './parse.js';
export { references, type Reference } from './references.js';
export { isSensitiveHeader, SecretMasker } from './secret-masker.js';
export { formEncode, secretForms } from './secret-forms.js';
export { envPrelude, SHELL_VALUE_PREFIX, shellDisplay, shellPlaceholders, shellQuote, shellQuoteMessage, shellScript, type ShellPlaceholder, type ShellScript } from './shell-quote.js';
export { scanShell, type ShellContext, type Tok } from './shell-scan.js';
export {
  hasExpressions,
  isWholeExpression,
  parseBareExpression,
  parseTemplate,
  renderShellTemplate,
  renderUrlTemplate,
  renderTemplate,
  type RenderOptions,
  type TemplatePart,
} from './template.js';
export { stringifyValue, UNKNOWN } from './values.js';
export { encodeUrlValue, renderUrl, urlContexts, type UrlContext } from './url-quote.js';
