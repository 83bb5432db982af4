/**
 * Damages real mail the way broken clients, gateways and attackers do, reproducibly: every choice comes
 * from a seeded generator, so a seed and an index name one input exactly.
 */

/** A small, fast, seedable generator (mulberry32): the same seed gives the same inputs on every machine. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [0, below). */
  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** The seed of one input: inputs are independent of each other, so any one can be replayed alone. */
export function inputSeed(runSeed: number, index: number): number {
  return (Math.imul(runSeed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
}

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');

/** Where the top-level header ends (the blank line), or -1. */
function blankLine(raw: Buffer): { at: number; length: number } | null {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, length: 4 };
  return lf >= 0 ? { at: lf, length: 2 } : null;
}

function headerLines(raw: Buffer): string[] {
  const end = blankLine(raw)?.at ?? raw.length;
  return raw.toString('latin1', 0, end).split(/\r?\n(?![ \t])/);
}

function insertAt(raw: Buffer, at: number, piece: Buffer): Buffer {
  return Buffer.concat([raw.subarray(0, at), piece, raw.subarray(at)]);
}

/** A position just after a line break in the header, where a new header line can go. */
function headerLineStart(raw: Buffer, rng: Prng): number {
  const end = blankLine(raw)?.at ?? raw.length;
  const starts = [0];
  for (let at = raw.indexOf('\n'); at >= 0 && at < end; at = raw.indexOf('\n', at + 1)) starts.push(at + 1);
  return rng.pick(starts);
}

const charsets = [
  'utf-8',
  'us-ascii',
  'iso-8859-1',
  'windows-1252',
  'iso-8859-15',
  'koi8-r',
  'shift_jis',
  'euc-jp',
  'iso-2022-jp',
  'gb2312',
  'gb18030',
  'big5',
  'euc-kr',
  'utf-16',
  'utf-16le',
  'utf-7',
  'utf-32',
  'x-unknown',
  'unicode-1-1-utf-7',
  '',
  '"',
  'utf-8"; charset="iso-8859-1',
  'ks_c_5601-1987',
  'x-mac-roman',
  'cp1251',
];

const encodings = ['7bit', '8bit', 'binary', 'base64', 'quoted-printable', 'x-uuencode', 'bogus', ''];

function randomBytes(rng: Prng, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let index = 0; index < length; index++) bytes[index] = rng.int(256);
  return bytes;
}

/** What a mutation may use: other messages to splice in, and how much it may add. */
export interface MutationContext {
  donors: readonly Buffer[];
  /** The most bytes one mutation adds (huge lines, repeated parts, long address lists). */
  maxInsert: number;
}

/** One kind of damage, named for the report. */
export interface Mutation {
  name: string;
  apply(raw: Buffer, rng: Prng, context: MutationContext): Buffer;
}

export const mutations: readonly Mutation[] = [
  {
    name: 'byte-flips',
    apply(raw, rng) {
      const copy = Buffer.from(raw);
      const flips = rng.between(1, 12);
      for (let index = 0; index < flips && copy.length > 0; index++)
        copy[rng.int(copy.length)] = rng.int(256);
      return copy;
    },
  },
  {
    name: 'truncation',
    apply(raw, rng) {
      return raw.subarray(0, rng.int(raw.length + 1));
    },
  },
  {
    name: 'header-duplication',
    apply(raw, rng, { maxInsert }) {
      const lines = headerLines(raw).filter((line) => line.includes(':'));
      if (lines.length === 0) return raw;
      const line = rng.pick(lines);
      const many = Math.max(2, Math.floor(maxInsert / (line.length + 2)));
      const copies = rng.chance(0.1) ? rng.between(2, Math.min(many, 400)) : rng.between(1, 3);
      return insertAt(raw, headerLineStart(raw, rng), latin1(`${line}\r\n`.repeat(copies)));
    },
  },
  {
    name: 'boundary-damage',
    apply(raw, rng, { maxInsert }) {
      const boundary = /boundary\s*=\s*"?([^";\r\n]+)"?/i.exec(raw.toString('latin1'))?.[1];
      if (!boundary)
        return insertAt(raw, headerLineStart(raw, rng), latin1('Content-Type: multipart/mixed\r\n'));
      const text = raw.toString('latin1');
      const marker = `--${boundary}`;
      const positions: number[] = [];
      for (let at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, at + 1)) positions.push(at);
      const at = positions.length > 0 ? rng.pick(positions) : 0;
      switch (rng.int(5)) {
        case 0: // a boundary line removed
          return latin1(text.slice(0, at) + text.slice(at + marker.length));
        case 1: // the closing delimiter lost
          return latin1(text.replace(`${marker}--`, ''));
        case 2: // a character of one boundary line changed
          return latin1(text.slice(0, at + 3) + String.fromCharCode(33 + rng.int(90)) + text.slice(at + 4));
        case 3: // the declared boundary changed, the body not
          return latin1(text.replace(/boundary\s*=\s*"?[^";\r\n]+"?/i, `boundary="${boundary}x"`));
        default: {
          // One part repeated many times.
          const next = text.indexOf(marker, at + 1);
          const part = text.slice(at, next >= 0 ? next : undefined);
          const most = Math.max(2, Math.min(200, Math.floor(maxInsert / Math.max(part.length, 1))));
          return latin1(text.slice(0, at) + part.repeat(rng.between(2, most)) + text.slice(at));
        }
      }
    },
  },
  {
    name: 'huge-line',
    apply(raw, rng, { maxInsert }) {
      const length = rng.between(Math.min(5_000, maxInsert), maxInsert);
      const unit = rng.pick(['A', 'xy ', '=', '=\r\n', '\t', 'é', '=?utf-8?B?w6k=?= ', '<a@b>', ',']);
      const line = latin1(unit.repeat(Math.ceil(length / unit.length)).slice(0, length));
      if (rng.chance(0.5)) {
        const name = rng.pick([
          'Subject: ',
          'To: ',
          'References: ',
          'X-Long: ',
          'From: ',
          'Content-Type: text/plain; a=',
        ]);
        return insertAt(raw, headerLineStart(raw, rng), Buffer.concat([latin1(name), line, latin1('\r\n')]));
      }
      return insertAt(raw, rng.int(raw.length + 1), line);
    },
  },
  {
    name: 'random-charset',
    apply(raw, rng) {
      const charset = rng.pick(charsets);
      const text = raw.toString('latin1');
      if (/charset\s*=/i.test(text) && rng.chance(0.6))
        return latin1(
          text.replace(
            /charset\s*=\s*"?[^";\r\n\s]*"?/gi,
            () => `charset="${rng.pick(charsets) || charset}"`,
          ),
        );
      const word = `=?${charset}?${rng.pick(['B', 'Q', 'b', 'q', 'X'])}?${randomBytes(rng, rng.between(0, 40)).toString(rng.chance(0.5) ? 'base64' : 'latin1')}?=`;
      const name = rng.pick(['Subject', 'From', 'To', 'Cc', 'Reply-To']);
      const header = name === 'Subject' ? `Subject: ${word} x` : `${name}: ${word} <jane@acme.example>`;
      return insertAt(raw, headerLineStart(raw, rng), latin1(`${header}\r\n`));
    },
  },
  {
    name: 'nul-bytes',
    apply(raw, rng) {
      let result = raw;
      const count = rng.between(1, 20);
      for (let index = 0; index < count; index++)
        result = insertAt(result, rng.int(result.length + 1), Buffer.alloc(rng.between(1, 4)));
      return result;
    },
  },
  {
    name: 'blank-line-deleted',
    apply(raw) {
      const blank = blankLine(raw);
      if (!blank) return raw;
      return Buffer.concat([
        raw.subarray(0, blank.at + blank.length / 2),
        raw.subarray(blank.at + blank.length),
      ]);
    },
  },
  {
    name: 'transfer-encoding',
    apply(raw, rng) {
      const text = raw.toString('latin1');
      const encoding = rng.pick(encodings);
      if (/content-transfer-encoding\s*:/i.test(text))
        return latin1(
          text.replace(/content-transfer-encoding\s*:[^\r\n]*/gi, `Content-Transfer-Encoding: ${encoding}`),
        );
      return insertAt(raw, headerLineStart(raw, rng), latin1(`Content-Transfer-Encoding: ${encoding}\r\n`));
    },
  },
  {
    name: 'line-endings',
    apply(raw, rng) {
      const text = raw.toString('latin1');
      switch (rng.int(4)) {
        case 0:
          return latin1(text.replace(/\r\n/g, '\n'));
        case 1:
          return latin1(text.replace(/\r?\n/g, '\r'));
        case 2:
          return latin1(text.replace(/\r?\n/g, '\r\r\n'));
        default:
          return latin1(text.replace(/\r?\n/g, () => rng.pick(['\r\n', '\n', '\r', '\n\r'])));
      }
    },
  },
  {
    name: 'header-removed',
    apply(raw, rng) {
      const name = rng.pick(['From', 'Message-ID', 'Content-Type', 'Date', 'Subject', 'To', 'MIME-Version']);
      return latin1(
        raw
          .toString('latin1')
          .replace(new RegExp(`^${name}:[^\\r\\n]*(\\r?\\n[ \\t][^\\r\\n]*)*\\r?\\n`, 'im'), ''),
      );
    },
  },
  {
    name: 'address-damage',
    apply(raw, rng, { maxInsert }) {
      const value = rng.pick([
        'jane',
        '@',
        '<>',
        '"Jane <jane@acme.example>',
        'undisclosed-recipients:;',
        'group: jane@acme.example, bob@acme.example;',
        'jane@acme.example (comment (nested) comment',
        '=?utf-8?B?SmFuZQ==?= <jane@@acme.example>',
        Array.from(
          { length: rng.between(10, Math.max(10, Math.floor(maxInsert / 24))) },
          (_, index) => `user${index}@acme.example`,
        ).join(', '),
        'jane@acme.example, jane@acme.example, <JANE@ACME.EXAMPLE>',
        'postmaster',
        'support@msp.example',
        'tom@msp.example',
        '"\\"\\\\\\"" <a"b@c>',
      ]);
      const name = rng.pick(['From', 'To', 'Cc', 'Reply-To', 'Sender']);
      const text = raw.toString('latin1');
      const pattern = new RegExp(`^${name}:[^\\r\\n]*`, 'im');
      if (pattern.test(text) && rng.chance(0.7))
        return latin1(text.replace(pattern, () => `${name}: ${value}`));
      return insertAt(raw, headerLineStart(raw, rng), latin1(`${name}: ${value}\r\n`));
    },
  },
  {
    name: 'nesting',
    apply(raw, rng) {
      const depth = rng.between(2, 60);
      let head = '';
      let tail = '';
      for (let level = 0; level < depth; level++) {
        head += `Content-Type: multipart/mixed; boundary="n${level}"\r\n\r\n--n${level}\r\n`;
        tail = `\r\n--n${level}--\r\n${tail}`;
      }
      const blank = blankLine(raw);
      const headers = blank ? raw.subarray(0, blank.at + blank.length / 2) : raw;
      const body = blank ? raw.subarray(blank.at + blank.length) : Buffer.alloc(0);
      const inner = Buffer.concat([
        latin1(head),
        latin1('Content-Type: text/plain\r\n\r\n'),
        body,
        latin1(tail),
      ]);
      return Buffer.concat([
        headers,
        latin1('MIME-Version: 1.0\r\n'),
        inner.subarray(inner.indexOf('Content-Type:')),
      ]);
    },
  },
  {
    name: 'splice',
    apply(raw, rng, { donors }) {
      const donor = rng.pick(donors);
      const from = rng.int(donor.length + 1);
      const piece = donor.subarray(from, from + rng.between(1, 2_000));
      return insertAt(raw, rng.int(raw.length + 1), piece);
    },
  },
  {
    name: 'subject-noise',
    apply(raw, rng) {
      const pieces = [
        '[Ticket#0000042]',
        '[ ticket # 107 ]',
        'RE: ',
        'AW: ',
        'Undeliverable: ',
        'Automatic reply: ',
        '=?iso-8859-1?Q?Fr\xf6sche?=',
        '\x1b$B%a!<%k\x1b(B',
        '=?ISO-2022-JP?B?GyRCTCRDIyVhITwlaxsoQg==?=',
        'Ticket#' + '9'.repeat(rng.between(1, 40)),
        '\xff\xfe',
        '=?',
        '?=',
      ];
      let subject = '';
      const count = rng.between(1, 8);
      for (let index = 0; index < count; index++) subject += rng.pick(pieces);
      const text = raw.toString('latin1');
      if (/^subject:/im.test(text))
        return latin1(text.replace(/^subject:[^\r\n]*/im, () => `Subject: ${subject}`));
      return insertAt(raw, headerLineStart(raw, rng), latin1(`Subject: ${subject}\r\n`));
    },
  },
];

/** Gives the message its own Message-ID, so that it is processed instead of recognised as a duplicate. */
export function withFreshMessageId(raw: Buffer, messageId: string): Buffer {
  const text = raw.toString('latin1');
  const pattern = /^message-id:[^\r\n]*/im;
  if (pattern.test(text)) return latin1(text.replace(pattern, () => `Message-ID: <${messageId}>`));
  return Buffer.concat([latin1(`Message-ID: <${messageId}>\r\n`), raw]);
}

/** One fuzz input: a fixture, usually under its own Message-ID, with one to three kinds of damage. */
export function mutatedInput(
  fixtures: readonly { name: string; raw: Buffer }[],
  runSeed: number,
  index: number,
  maxInsert: number,
): { raw: Buffer; description: string } {
  const rng = new Prng(inputSeed(runSeed, index));
  const fixture = rng.pick(fixtures);
  let raw = fixture.raw;
  // Most inputs get their own Message-ID; the rest exercise the duplicate path with damaged copies.
  if (rng.chance(0.85)) raw = withFreshMessageId(raw, `fuzz-${runSeed}-${index}@fuzz.example`);
  const applied: string[] = [];
  const context = { donors: fixtures.map((donor) => donor.raw), maxInsert };
  const count = rng.between(1, 3);
  for (let step = 0; step < count; step++) {
    const mutation = rng.pick(mutations);
    raw = mutation.apply(raw, rng, context);
    applied.push(mutation.name);
  }
  return { raw, description: `${fixture.name} + ${applied.join(' + ')}` };
}
