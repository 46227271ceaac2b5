/**
 * A minimal XML well-formedness checker for the JUnit tests (no new packages): declaration, elements
 * with quoted attributes, text with only the five predefined entities or character references,
 * properly nested. Returns the element tree.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = '[A-Za-z_:][-A-Za-z0-9_:.]*';
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function parseXml(xml: string): XmlElement {
  let pos = 0;
  const decl = /^<\?xml[^?]*\?>\s*/.exec(xml);
  if (decl) pos = decl[0].length;
  const root: XmlElement = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  while (pos < xml.length) {
    const lt = xml.indexOf('<', pos);
    const text = xml.slice(pos, lt < 0 ? xml.length : lt);
    if (text) {
      if (stack.length === 1 && text.trim()) throw new Error(`text outside the root element at ${pos}`);
      stack[stack.length - 1].text += decode(text, pos);
    }
    if (lt < 0) break;
    const close = new RegExp(`^</(${NAME})\\s*>`).exec(xml.slice(lt));
    if (close) {
      const open = stack.pop();
      if (!open || open.name !== close[1]) throw new Error(`</${close[1]}> at ${lt} closes <${open?.name}>`);
      pos = lt + close[0].length;
      continue;
    }
    const tag = new RegExp(`^<(${NAME})((?:\\s+${NAME}\\s*=\\s*"[^"<]*")*)\\s*(/?)>`).exec(xml.slice(lt));
    if (!tag) throw new Error(`malformed markup at ${lt}: ${xml.slice(lt, lt + 40)}`);
    const attrs: Record<string, string> = {};
    for (const m of tag[2].matchAll(new RegExp(`(${NAME})\\s*=\\s*"([^"<]*)"`, 'g'))) {
      if (m[1] in attrs) throw new Error(`duplicate attribute ${m[1]} at ${lt}`);
      attrs[m[1]] = decode(m[2], lt);
    }
    const el: XmlElement = { name: tag[1], attrs, children: [], text: '' };
    if (stack.length === 1 && root.children.length) throw new Error('more than one root element');
    stack[stack.length - 1].children.push(el);
    if (!tag[3]) stack.push(el);
    pos = lt + tag[0].length;
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1].name}>`);
  if (root.children.length !== 1) throw new Error('no root element');
  return root.children[0];
}

function decode(text: string, at: number): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/.test(text)) throw new Error(`control character in text at ${at}`);
  return text.replace(/&([^;&\s]*);?/g, (m, name: string) => {
    if (!m.endsWith(';')) throw new Error(`bare '&' at ${at}`);
    if (name in ENTITIES) return ENTITIES[name];
    if (/^#\d+$/.test(name)) return String.fromCodePoint(Number(name.slice(1)));
    if (/^#x[0-9a-fA-F]+$/.test(name)) return String.fromCodePoint(parseInt(name.slice(2), 16));
    throw new Error(`unknown entity &${name}; at ${at}`);
  });
}

export function findAll(el: XmlElement, name: string): XmlElement[] {
  return el.children.flatMap((c) => (c.name === name ? [c, ...findAll(c, name)] : findAll(c, name)));
}
