/**
 * Every form in which the tool itself may write a secret's value: raw, JSON-escaped,
 * percent-encoded (encodeURIComponent, and the WHATWG URL serialiser's own sets for the path, query,
 * userinfo and fragment), form-encoded (URLSearchParams, space as `+`), and base64 / base64url — also
 * the stable middle of the value's base64 when it sits at any byte offset inside a longer encoded
 * text (e.g. `user:password` in a Basic header). The masker and the chunked-output sink both use this
 * one list, so what one masks the other holds back.
 */

// WHATWG URL percent-encode sets (https://url.spec.whatwg.org/#percent-encoded-bytes), beyond C0 controls and non-ASCII.
const FRAGMENT = ' "<>`';
const QUERY = ' "#<>';
const SPECIAL_QUERY = `${QUERY}'`;
const PATH = `${QUERY}?\`{}^`;
const USERINFO = `${PATH}/:;=@[\\]|`;
const COMPONENT = `${USERINFO}$%&+,`;

function percentEncode(s: string, set: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (code > 0x1f && code < 0x7f && !set.includes(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** application/x-www-form-urlencoded as URLSearchParams writes it (space → `+`). */
export function formEncode(s: string): string {
  return new URLSearchParams([['', s]]).toString().slice(1);
}

const toUrlSafe = (b64: string) => b64.replaceAll('+', '-').replaceAll('/', '_');

/**
 * The base64 characters fully determined by the secret's bytes when it starts `offset` (0–2) bytes
 * into the encoded data: the characters that also depend on neighbouring bytes are cut off.
 */
function base64Middle(bytes: Buffer, offset: number): string {
  const b64 = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
  const from = Math.ceil((8 * offset) / 6);
  const to = Math.floor((8 * (offset + bytes.length)) / 6);
  return b64.slice(from, to);
}

// Shorter base64 fragments than this would mask ordinary words in logs.
const MIN_BASE64_FRAGMENT = 4;

export function secretForms(secrets: Iterable<string>): string[] {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (s === '') continue;
    forms.add(s);
    forms.add(JSON.stringify(s).slice(1, -1));
    forms.add(encodeURIComponent(s));
    // The URL parser drops tabs and newlines from its input before encoding the rest.
    const parsed = s.replace(/[\t\n\r]/g, '');
    for (const set of [FRAGMENT, QUERY, SPECIAL_QUERY, PATH, USERINFO, COMPONENT]) {
      forms.add(percentEncode(s, set));
      const encoded = percentEncode(parsed, set);
      if (encoded.length >= 4) forms.add(encoded);
    }
    forms.add(formEncode(s));
    const bytes = Buffer.from(s, 'utf8');
    const whole = bytes.toString('base64');
    for (const b64 of [whole, whole.replace(/=+$/, '')]) {
      forms.add(b64);
      forms.add(toUrlSafe(b64));
    }
    for (const offset of [0, 1, 2]) {
      const middle = base64Middle(bytes, offset);
      if (middle.length < MIN_BASE64_FRAGMENT) continue;
      forms.add(middle);
      forms.add(toUrlSafe(middle));
    }
  }
  forms.delete('');
  return [...forms];
}
